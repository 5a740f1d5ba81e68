/* Webhook delivery: each finding's JSON goes to each webhook through the outbound engine
 * (http/outbound.h: the destination policy, bounded queue, retries, timeouts); once every
 * webhook of that finding has answered, failed or been refused, one audit row says how it
 * went ("delivered to 2 webhooks", "failed: 1 of 2 webhooks (1 refused: destination
 * policy)"), appended through the store's writer. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "policy/policy_int.h"

/* One finding's deliveries: the engine's tag of each of its requests. */
struct delivery {
    struct policy_notifier *n;
    char supi[ANALYTICS_SUPI_MAX];
    char exception[48];
    int64_t finding_id; /* the delivery row names the finding too */
    unsigned nurls, left, ok, refused;
    bool abandoned;
};

struct policy_notifier {
    struct store *store;
    struct outbound *out;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned open;      /* deliveries with requests not yet ended */
    unsigned appending; /* audit rows submitted, not yet committed */
};

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

/* Under n->mu. */
static void record(struct policy_notifier *n, const struct delivery *d)
{
    struct append_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->r.at = (int64_t)time(NULL);
    snprintf(j->r.supi, sizeof(j->r.supi), "%s", d->supi);
    snprintf(j->r.action, sizeof(j->r.action), "notify");
    snprintf(j->r.exception, sizeof(j->r.exception), "%s", d->exception);
    snprintf(j->r.actor, sizeof(j->r.actor), "policy");
    j->r.finding_id = d->finding_id;
    /* at most POLICY_MAX_WEBHOOKS each: small numbers (and the compiler can see it) */
    unsigned char ok = (unsigned char)d->ok, all = (unsigned char)d->nurls,
                  refused = (unsigned char)d->refused;
    if (ok == all)
        snprintf(j->r.outcome, sizeof(j->r.outcome), "delivered to %hhu webhook%s", ok,
                 ok == 1 ? "" : "s");
    else if (refused)
        snprintf(j->r.outcome, sizeof(j->r.outcome),
                 "failed: %hhu of %hhu webhooks (%hhu refused: destination policy)",
                 (unsigned char)(all - ok), all, refused);
    else
        snprintf(j->r.outcome, sizeof(j->r.outcome), "failed: %hhu of %hhu webhooks",
                 (unsigned char)(all - ok), all);
    j->n = n;
    struct store_job job = {run_append, done_append, j};
    n->appending++;
    if (store_submit(n->store, &job) != IOTSEC_OK) {
        free(j);
        n->appending--;
    }
}

/* Under n->mu: one request of d ended. */
static void request_ended(struct policy_notifier *n, struct delivery *d)
{
    if (--d->left > 0)
        return;
    if (!d->abandoned) /* at shutdown nothing is recorded: the store is closing */
        record(n, d);
    free(d);
    n->open--;
    pthread_cond_broadcast(&n->idle);
}

static void on_done(void *ctx, void *tag, enum outbound_result r)
{
    struct policy_notifier *n = ctx;
    struct delivery *d = tag;
    pthread_mutex_lock(&n->mu);
    d->ok += r == OUTBOUND_DELIVERED;
    d->refused += r == OUTBOUND_REFUSED;
    d->abandoned |= r == OUTBOUND_ABANDONED;
    request_ended(n, d);
    pthread_mutex_unlock(&n->mu);
}

struct policy_notifier *policy_notifier_new(struct store *s, const struct policy_service_options *o)
{
    struct policy_notifier *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->store = s;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->idle, NULL);
    unsigned timeout = o->notify_timeout_ms ? o->notify_timeout_ms : 2000;
    struct outbound_config c = {.queue_max = o->notify_queue ? o->notify_queue : 256,
                                .max_attempts = o->notify_attempts ? o->notify_attempts : 3,
                                .backoff_ms = 100,
                                .backoff_max_ms = 5000,
                                .timeout_ms = timeout,
                                .connect_timeout_ms = timeout < 2000 ? timeout : 2000,
                                .ca_file = o->webhook_ca_file,
                                .rules = o->webhook_rules,
                                .done = on_done,
                                .done_ctx = n};
    if (outbound_new(&c, &n->out) != IOTSEC_OK) {
        pthread_mutex_destroy(&n->mu);
        pthread_cond_destroy(&n->idle);
        free(n);
        return NULL;
    }
    return n;
}

void policy_notifier_free(struct policy_notifier *n)
{
    if (n == NULL)
        return;
    outbound_free(n->out); /* what is still queued ends, abandoned, through on_done */
    pthread_mutex_lock(&n->mu);
    while (n->appending > 0) /* their done callbacks use n */
        pthread_cond_wait(&n->idle, &n->mu);
    pthread_mutex_unlock(&n->mu);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->idle);
    free(n);
}

int policy_notifier_post(struct policy_notifier *n, const char *supi, const char *exception,
                         int64_t finding_id, const char urls[][POLICY_URL_MAX], unsigned nurls,
                         const char *body)
{
    if (nurls == 0)
        return IOTSEC_OK;
    struct delivery *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return IOTSEC_ERR_NOMEM;
    d->n = n;
    snprintf(d->supi, sizeof(d->supi), "%s", supi);
    snprintf(d->exception, sizeof(d->exception), "%s", exception);
    d->finding_id = finding_id;
    d->nurls = nurls < POLICY_MAX_WEBHOOKS ? nurls : POLICY_MAX_WEBHOOKS;
    d->left = d->nurls + 1; /* + 1 while posting: requests may end before the last is queued */
    char owner[OUTBOUND_OWNER_MAX];
    snprintf(owner, sizeof(owner), "policy/%s", exception);
    pthread_mutex_lock(&n->mu);
    n->open++;
    pthread_mutex_unlock(&n->mu);
    size_t len = strlen(body);
    for (unsigned i = 0; i < d->nurls; i++) {
        if (outbound_post(n->out, urls[i], owner, body, len, d) == IOTSEC_OK)
            continue;
        pthread_mutex_lock(&n->mu); /* not even queued (plain http, no lab switch): failed */
        d->refused++;
        request_ended(n, d);
        pthread_mutex_unlock(&n->mu);
    }
    pthread_mutex_lock(&n->mu);
    request_ended(n, d);
    pthread_mutex_unlock(&n->mu);
    return IOTSEC_OK;
}

void policy_notifier_sync(struct policy_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    while (n->open > 0 || n->appending > 0)
        pthread_cond_wait(&n->idle, &n->mu);
    pthread_mutex_unlock(&n->mu);
}
