/* Webhook delivery: one thread POSTs each queued finding to its URLs with libcurl, a timeout
 * per attempt and a few retries with a doubling pause, then appends the result to the audit
 * ("delivered" or "failed after N attempts") through the store's writer. The queue is
 * bounded: past it a finding is refused (recorded as not delivered), never an unbounded
 * backlog in memory. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "policy/policy_int.h"

struct delivery {
    char supi[ANALYTICS_SUPI_MAX];
    char exception[48];
    char urls[POLICY_MAX_WEBHOOKS][POLICY_URL_MAX];
    unsigned nurls;
    char *body;
};

struct policy_notifier {
    struct store *store;
    pthread_mutex_t mu;
    pthread_cond_t cv, idle;
    struct delivery *q;
    unsigned cap, head, n;
    bool busy, stop;
    unsigned appending; /* audit rows submitted, not yet committed */
    unsigned timeout_ms, attempts;
    pthread_t thread;
};

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p, (void)user;
    return size * n;
}

static bool post_once(const char *url, const char *body, unsigned timeout_ms)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return false;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return cc == CURLE_OK && status >= 200 && status < 300;
}

struct append_job {
    struct policy_record r;
    struct policy_notifier *n;
};

static int run_append(struct store_conn *conn, void *arg)
{
    return policy_store_append(conn, &((struct append_job *)arg)->r);
}

static void done_append(void *arg, int rc)
{
    (void)rc;
    struct append_job *j = arg;
    struct policy_notifier *n = j->n;
    free(j);
    pthread_mutex_lock(&n->mu);
    n->appending--;
    pthread_cond_broadcast(&n->idle);
    pthread_mutex_unlock(&n->mu);
}

static void record(struct policy_notifier *n, const struct delivery *d, const char *outcome)
{
    struct append_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->r.at = (int64_t)time(NULL);
    snprintf(j->r.supi, sizeof(j->r.supi), "%s", d->supi);
    snprintf(j->r.action, sizeof(j->r.action), "notify");
    snprintf(j->r.exception, sizeof(j->r.exception), "%s", d->exception);
    snprintf(j->r.actor, sizeof(j->r.actor), "policy");
    snprintf(j->r.outcome, sizeof(j->r.outcome), "%s", outcome);
    j->n = n;
    struct store_job job = {run_append, done_append, j};
    pthread_mutex_lock(&n->mu);
    n->appending++;
    pthread_mutex_unlock(&n->mu);
    if (store_submit(n->store, &job) != IOTSEC_OK) {
        free(j);
        pthread_mutex_lock(&n->mu);
        n->appending--;
        pthread_mutex_unlock(&n->mu);
    }
}

static void deliver(struct policy_notifier *n, const struct delivery *d)
{
    unsigned ok = 0;
    for (unsigned u = 0; u < d->nurls; u++) {
        unsigned pause_ms = 100;
        for (unsigned a = 0; a < n->attempts; a++) {
            if (post_once(d->urls[u], d->body, n->timeout_ms)) {
                ok++;
                break;
            }
            pthread_mutex_lock(&n->mu);
            bool stop = n->stop;
            pthread_mutex_unlock(&n->mu);
            if (stop || a + 1 == n->attempts)
                break;
            struct timespec ts = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            pause_ms *= 2;
        }
    }
    char outcome[48];
    if (ok == d->nurls)
        snprintf(outcome, sizeof(outcome), "delivered to %u webhook%s", ok, ok == 1 ? "" : "s");
    else
        snprintf(outcome, sizeof(outcome), "failed: %u of %u webhooks", d->nurls - ok, d->nurls);
    record(n, d, outcome);
}

static void *worker(void *arg)
{
    struct policy_notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->n == 0 && !n->stop)
            pthread_cond_wait(&n->cv, &n->mu);
        if (n->stop)
            break;
        struct delivery d = n->q[n->head];
        n->head = (n->head + 1) % n->cap;
        n->n--;
        n->busy = true;
        pthread_mutex_unlock(&n->mu);
        deliver(n, &d);
        free(d.body);
        pthread_mutex_lock(&n->mu);
        n->busy = false;
        if (n->n == 0)
            pthread_cond_broadcast(&n->idle);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

struct policy_notifier *policy_notifier_new(struct store *s, unsigned queue, unsigned timeout_ms,
                                            unsigned attempts)
{
    struct policy_notifier *n = calloc(1, sizeof(*n));
    /* Here, on the thread that starts the daemon: libcurl's global init is not
     * thread-safe, and curl_easy_init would otherwise do it on the delivery thread. */
    if (n == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(n);
        return NULL;
    }
    n->store = s;
    n->cap = queue ? queue : 256;
    n->timeout_ms = timeout_ms ? timeout_ms : 2000;
    n->attempts = attempts ? attempts : 3;
    n->q = calloc(n->cap, sizeof(*n->q));
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    pthread_cond_init(&n->idle, NULL);
    if (n->q == NULL || pthread_create(&n->thread, NULL, worker, n) != 0) {
        free(n->q);
        free(n);
        curl_global_cleanup();
        return NULL;
    }
    return n;
}

void policy_notifier_free(struct policy_notifier *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_mutex_lock(&n->mu);
    while (n->appending > 0) /* their done callbacks use n */
        pthread_cond_wait(&n->idle, &n->mu);
    pthread_mutex_unlock(&n->mu);
    for (unsigned i = 0; i < n->n; i++)
        free(n->q[(n->head + i) % n->cap].body);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    pthread_cond_destroy(&n->idle);
    free(n->q);
    free(n);
    curl_global_cleanup();
}

int policy_notifier_post(struct policy_notifier *n, const char *supi, const char *exception,
                         const char urls[][POLICY_URL_MAX], unsigned nurls, const char *body)
{
    if (nurls == 0)
        return IOTSEC_OK;
    char *copy = strdup(body);
    if (copy == NULL)
        return IOTSEC_ERR_NOMEM;
    pthread_mutex_lock(&n->mu);
    if (n->n == n->cap || n->stop) {
        pthread_mutex_unlock(&n->mu);
        free(copy);
        return IOTSEC_ERR_BUSY;
    }
    struct delivery *d = &n->q[(n->head + n->n) % n->cap];
    memset(d, 0, sizeof(*d));
    snprintf(d->supi, sizeof(d->supi), "%s", supi);
    snprintf(d->exception, sizeof(d->exception), "%s", exception);
    for (unsigned i = 0; i < nurls && i < POLICY_MAX_WEBHOOKS; i++)
        snprintf(d->urls[i], POLICY_URL_MAX, "%s", urls[i]);
    d->nurls = nurls < POLICY_MAX_WEBHOOKS ? nurls : POLICY_MAX_WEBHOOKS;
    d->body = copy;
    n->n++;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return IOTSEC_OK;
}

void policy_notifier_sync(struct policy_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    while (((n->n > 0 || n->busy) && !n->stop) || n->appending > 0)
        pthread_cond_wait(&n->idle, &n->mu);
    pthread_mutex_unlock(&n->mu);
}
