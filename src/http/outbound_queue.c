/* The outbound delivery engine: see outbound.h. One thread, one curl multi handle; the queue
 * and the list of transfers in flight are shared with posting threads under one mutex. Every
 * socket a transfer opens goes through open_checked: the address libcurl resolved is judged
 * by the destination policy, and the socket connects to that very address. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "http/outbound.h"

#define DEST_MAX 300

struct item {
    struct item *prev, *next;
    char url[OUTBOUND_URL_MAX];
    char owner[OUTBOUND_OWNER_MAX];
    char dest[DEST_MAX];         /* scheme://host:port: the unit of the per-destination cap */
    struct outbound_rules rules; /* this attempt's: set before it starts */
    char *body;
    size_t len, body_cap;
    void *tag;
    unsigned attempts;
    int64_t due_ms;
    bool cancelled, https;
    bool refused; /* open_checked refused an address of this attempt */
    CURL *easy;
    struct curl_slist *headers;
};

struct list {
    struct item *head, *tail;
    size_t n;
};

#define SCAN_MAX 256 /* items looked at per turn: the event path never waits on a long walk */
#define LINGER_MS                                                                                  \
    20 /* after work, the thread polls every ms for this long before it                            \
        * sleeps and asks posters for a wake-up (a syscall each) */
#define POOL_MAX                                                                                   \
    1024 /* spent items kept for reuse: the poster and the delivery thread would                   \
          * otherwise make glibc grow and trim the heap at every turn (page faults) */

struct outbound {
    struct outbound_config cfg;
    pthread_mutex_t mu;
    struct list pending; /* new notifications, oldest first, all due now */
    struct list retry;   /* failed attempts waiting for their backoff */
    struct list inflight;
    atomic_bool idle;  /* the thread sleeps in curl_multi_poll: posts wake it */
    struct item *pool; /* spent items (singly linked by next), under mu */
    size_t n_pool;
    CURLM *multi;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t queued, delivered, failed, refused, dropped_full, stopped, retries;
    atomic_int_fast64_t last_refusal_log_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void list_push(struct list *l, struct item *it)
{
    it->next = NULL;
    it->prev = l->tail;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->n++;
}

static void list_remove(struct list *l, struct item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        l->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        l->tail = it->prev;
    it->prev = it->next = NULL;
    l->n--;
}

static void item_destroy(struct item *it)
{
    free(it->body);
    free(it);
}

/* Ends an item's life: its transfer if any, its owner told how it ended, then back to the
 * pool (or freed past POOL_MAX). */
static void item_end(struct outbound *n, struct item *it, enum outbound_result r)
{
    if (it->easy) {
        curl_multi_remove_handle(n->multi, it->easy);
        curl_easy_cleanup(it->easy);
        it->easy = NULL;
    }
    curl_slist_free_all(it->headers);
    it->headers = NULL;
    atomic_uint_fast64_t *counter[] = {
        [OUTBOUND_DELIVERED] = &n->delivered,  [OUTBOUND_FAILED] = &n->failed,
        [OUTBOUND_REFUSED] = &n->refused,      [OUTBOUND_STOPPED] = &n->stopped,
        [OUTBOUND_DROPPED] = &n->dropped_full, [OUTBOUND_ABANDONED] = NULL};
    if (counter[r])
        atomic_fetch_add(counter[r], 1);
    if (n->cfg.done)
        n->cfg.done(n->cfg.done_ctx, it->tag, r);
    pthread_mutex_lock(&n->mu);
    bool keep = n->n_pool < POOL_MAX;
    if (keep) {
        it->next = n->pool;
        n->pool = it;
        n->n_pool++;
    }
    pthread_mutex_unlock(&n->mu);
    if (!keep)
        item_destroy(it);
}

/* A clean item whose body buffer holds len + 1 bytes. */
static struct item *item_get(struct outbound *n, size_t len)
{
    pthread_mutex_lock(&n->mu);
    struct item *it = n->pool;
    if (it) {
        n->pool = it->next;
        n->n_pool--;
    }
    pthread_mutex_unlock(&n->mu);
    if (it == NULL && (it = calloc(1, sizeof(*it))) == NULL)
        return NULL;
    char *body = it->body;
    size_t cap = it->body_cap;
    memset(it, 0, offsetof(struct item, url)); /* links, not the big buffers */
    it->dest[0] = it->owner[0] = it->url[0] = 0;
    it->body = body;
    it->body_cap = cap;
    it->tag = NULL;
    it->cancelled = it->refused = false;
    it->attempts = 0;
    it->easy = NULL;
    it->headers = NULL;
    if (it->body_cap < len + 1) {
        char *grown = realloc(it->body, len + 1);
        if (grown == NULL) {
            item_destroy(it);
            return NULL;
        }
        it->body = grown;
        it->body_cap = len + 1;
    }
    return it;
}

/* The destination key (scheme://authority) of a url, without a full parse: this runs on the
 * event path for every request. The policy proper is applied at each connection. */
static int fast_dest(const char *url, bool allow_http, char dest[DEST_MAX], bool *https)
{
    *https = strncmp(url, "https://", 8) == 0;
    bool http = strncmp(url, "http://", 7) == 0;
    if (!*https && !(http && allow_http))
        return IOTSEC_ERR_INVALID;
    const char *host = url + (*https ? 8 : 7);
    size_t n = strcspn(host, "/?#");
    if (n == 0 || n >= DEST_MAX - 16 || memchr(host, '@', n) != NULL)
        return IOTSEC_ERR_INVALID;
    snprintf(dest, DEST_MAX, "%s%.*s", *https ? "https://" : "http://", (int)n, host);
    return IOTSEC_OK;
}

int outbound_post(struct outbound *n, const char *url, const char *owner, const char *body,
                  size_t len, void *tag)
{
    char dest[DEST_MAX];
    bool https;
    if (url == NULL || owner == NULL || strlen(url) >= OUTBOUND_URL_MAX ||
        fast_dest(url, n->cfg.rules.http_loopback, dest, &https) != IOTSEC_OK ||
        strlen(owner) >= OUTBOUND_OWNER_MAX)
        return IOTSEC_ERR_INVALID;
    struct item *it = item_get(n, len);
    if (it == NULL)
        return IOTSEC_ERR_NOMEM;
    memcpy(it->dest, dest, strlen(dest) + 1);
    memcpy(it->body, body, len);
    it->body[len] = 0;
    it->len = len;
    it->tag = tag;
    it->https = https;
    memcpy(it->url, url, strlen(url) + 1);
    memcpy(it->owner, owner, strlen(owner) + 1);
    it->due_ms = now_ms();
    struct item *dropped = NULL;
    pthread_mutex_lock(&n->mu);
    if (n->pending.n + n->retry.n >= n->cfg.queue_max) {
        /* the oldest goes: fresh reports matter more than stale ones */
        struct list *from = n->retry.n ? &n->retry : &n->pending;
        dropped = from->head;
        list_remove(from, dropped);
    }
    list_push(&n->pending, it);
    pthread_mutex_unlock(&n->mu);
    atomic_fetch_add(&n->queued, 1);
    if (dropped)
        item_end(n, dropped, OUTBOUND_DROPPED);
    if (atomic_exchange(&n->idle, false))
        curl_multi_wakeup(n->multi); /* a syscall only when the thread is asleep */
    return IOTSEC_OK;
}

void outbound_cancel(struct outbound *n, const char *owner)
{
    struct list gone = {0};
    pthread_mutex_lock(&n->mu);
    struct list *lists[] = {&n->pending, &n->retry};
    for (int l = 0; l < 2; l++)
        for (struct item *it = lists[l]->head, *next; it; it = next) {
            next = it->next;
            if (strcmp(it->owner, owner) == 0) {
                list_remove(lists[l], it);
                list_push(&gone, it);
            }
        }
    for (struct item *it = n->inflight.head; it; it = it->next)
        if (strcmp(it->owner, owner) == 0)
            it->cancelled = true; /* the thread aborts it on its next turn */
    pthread_mutex_unlock(&n->mu);
    for (struct item *it = gone.head, *next; it; it = next) {
        next = it->next;
        item_end(n, it, OUTBOUND_STOPPED);
    }
    curl_multi_wakeup(n->multi);
}

static size_t discard(char *p, size_t size, size_t nmemb, void *u)
{
    (void)p;
    (void)u;
    return size * nmemb; /* the answer's body is not used */
}

/* libcurl's hook for every socket a transfer opens, after resolution: the address it is
 * about to connect to is judged here, so a name that resolves elsewhere later (rebinding) is
 * judged again and the socket never reaches an address that was not checked. */
static curl_socket_t open_checked(void *clientp, curlsocktype purpose,
                                  struct curl_sockaddr *address)
{
    struct item *it = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    const struct sockaddr *sa = &address->addr;
    uint16_t port = sa->sa_family == AF_INET ? ntohs(((const struct sockaddr_in *)sa)->sin_port)
                    : sa->sa_family == AF_INET6
                        ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
                        : 0;
    const char *why = NULL;
    if (!outbound_addr_allowed(&it->rules, sa, port, it->https, &why)) {
        it->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

/* libcurl's hook before each request is sent, on a new connection or a reused one: a kept-alive
 * connection opened when its address was allowed carries no request once the rules no longer
 * allow it (an AF's allow-list withdrawn). */
static int request_checked(void *clientp, char *peer_ip, char *local_ip, int peer_port,
                           int local_port)
{
    (void)local_ip;
    (void)local_port;
    struct item *it = clientp;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, peer_ip, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, peer_ip, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    const char *why = NULL;
    if (peer_port > 0 && peer_port < 65536 &&
        outbound_addr_allowed(&it->rules, (struct sockaddr *)&ss, (uint16_t)peer_port, it->https,
                              &why))
        return CURL_PREREQFUNC_OK;
    it->refused = true;
    return CURL_PREREQFUNC_ABORT;
}

static int start_transfer(struct outbound *n, struct item *it)
{
    it->easy = curl_easy_init();
    it->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (it->easy == NULL || it->headers == NULL)
        return IOTSEC_ERR_NOMEM;
    CURL *e = it->easy;
    curl_easy_setopt(e, CURLOPT_URL, it->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)it->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->headers);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, it->rules.http_loopback ? "https,http" : "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is a new, unchecked URL */
    curl_easy_setopt(e, CURLOPT_PROXY, "");          /* no proxy from the environment: the
                                                      * address checked is the peer's */
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, it);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, request_checked);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, it);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)n->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, it);
    if (n->cfg.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, n->cfg.ca_file);
    return curl_multi_add_handle(n->multi, e) == CURLM_OK ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static size_t dest_inflight(struct outbound *n, const char *dest)
{
    size_t c = 0;
    for (struct item *it = n->inflight.head; it; it = it->next)
        c += strcmp(it->dest, dest) == 0;
    return c;
}

static bool dest_has_room(struct outbound *n, const struct list *start, const char *dest)
{
    size_t same = dest_inflight(n, dest);
    for (struct item *s = start->head; s; s = s->next)
        same += strcmp(s->dest, dest) == 0;
    return same < n->cfg.per_dest_inflight;
}

/* Takes due items from l into start, within both caps, looking at SCAN_MAX items at most. */
static void take_due(struct outbound *n, struct list *l, struct list *start, int64_t now,
                     int64_t *next)
{
    size_t scanned = 0;
    for (struct item *it = l->head, *nx; it && scanned < SCAN_MAX; it = nx, scanned++) {
        nx = it->next;
        if (it->due_ms > now) {
            if (it->due_ms < *next)
                *next = it->due_ms;
            continue;
        }
        if (n->inflight.n + start->n >= n->cfg.max_inflight)
            return;
        if (!dest_has_room(n, start, it->dest))
            continue; /* this destination is busy (maybe hanging): others go first */
        list_remove(l, it);
        list_push(start, it);
    }
}

/* Moves due items to start, drops aborted transfers; returns the delay until the next due
 * item (ms, capped), 0 when work is left that could start now. Under the mutex. */
static long schedule(struct outbound *n, struct list *start, struct list *aborted)
{
    int64_t now = now_ms(), next = now + 1000;
    for (struct item *it = n->inflight.head, *nx; it; it = nx) {
        nx = it->next;
        if (it->cancelled) {
            list_remove(&n->inflight, it);
            list_push(aborted, it);
        }
    }
    take_due(n, &n->retry, start, now, &next);
    take_due(n, &n->pending, start, now, &next);
    if (n->pending.n > 0 && n->inflight.n + start->n < n->cfg.max_inflight && start->n > 0)
        return 0; /* more to start at once (e.g. refused by the gate, which frees no slot) */
    return (long)(next - now);
}

/* A refusal at delivery is worth a log line (the operator must see why nothing arrives), but
 * at most one a second: an AF's events must not flood the log. */
static void log_refusal(struct outbound *n, const struct item *it)
{
    int64_t t = now_ms(), last = atomic_load(&n->last_refusal_log_ms);
    if (t - last >= 1000 && atomic_compare_exchange_strong(&n->last_refusal_log_ms, &last, t))
        log_warn("outbound: a request of %s to %s refused: its address is not allowed "
                 "(allow-list it, or fix the destination)",
                 it->owner, it->dest);
}

static void finish(struct outbound *n, struct item *it, CURLcode res)
{
    long status = 0;
    curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(n->multi, it->easy);
    curl_easy_cleanup(it->easy);
    it->easy = NULL;
    curl_slist_free_all(it->headers);
    it->headers = NULL;
    pthread_mutex_lock(&n->mu);
    list_remove(&n->inflight, it);
    bool ok = res == CURLE_OK && status >= 200 && status < 300;
    bool refused = res != CURLE_OK && it->refused; /* a policy refusal is not retried */
    /* 4xx other than 408/429 will not get better by retrying */
    bool final = ok || refused ||
                 (status >= 400 && status < 500 && status != 408 && status != 429) ||
                 it->attempts >= n->cfg.max_attempts || it->cancelled;
    if (!final) {
        uint64_t delay = (uint64_t)n->cfg.backoff_ms
                         << (it->attempts - 1 < 16 ? it->attempts - 1 : 16);
        if (delay > n->cfg.backoff_max_ms)
            delay = n->cfg.backoff_max_ms;
        it->due_ms = now_ms() + (int64_t)delay;
        list_push(&n->retry, it);
    }
    pthread_mutex_unlock(&n->mu);
    if (refused)
        log_refusal(n, it);
    if (final)
        item_end(n, it,
                 ok              ? OUTBOUND_DELIVERED
                 : refused       ? OUTBOUND_REFUSED
                 : it->cancelled ? OUTBOUND_STOPPED
                                 : OUTBOUND_FAILED);
    else
        atomic_fetch_add(&n->retries, 1);
}

static void start_due(struct outbound *n, struct list *start)
{
    for (struct item *it = start->head, *nx; it; it = nx) {
        nx = it->next;
        list_remove(start, it);
        it->rules = n->cfg.rules;
        if (n->cfg.check && !n->cfg.check(n->cfg.check_ctx, it->owner, &it->rules)) {
            item_end(n, it, OUTBOUND_STOPPED); /* consent revoked, subscription gone */
            continue;
        }
        it->attempts++;
        it->refused = false;
        pthread_mutex_lock(&n->mu);
        list_push(&n->inflight, it);
        pthread_mutex_unlock(&n->mu);
        if (start_transfer(n, it) != IOTSEC_OK) {
            pthread_mutex_lock(&n->mu);
            list_remove(&n->inflight, it);
            pthread_mutex_unlock(&n->mu);
            item_end(n, it, OUTBOUND_FAILED);
        }
    }
}

static void *run(void *arg)
{
    struct outbound *n = arg;
    int64_t last_work = 0;
    while (!atomic_load(&n->stop)) {
        struct list start = {0}, aborted = {0};
        pthread_mutex_lock(&n->mu);
        long wait = schedule(n, &start, &aborted);
        pthread_mutex_unlock(&n->mu);
        bool worked = start.n > 0 || aborted.n > 0;
        for (struct item *it = aborted.head, *nx; it; it = nx) {
            nx = it->next;
            item_end(n, it, OUTBOUND_STOPPED);
        }
        start_due(n, &start);
        int running = 0;
        curl_multi_perform(n->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            worked = true;
            struct item *it = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
            if (it)
                finish(n, it, msg->data.result);
        }
        if (wait <= 0 && running == 0)
            continue; /* more requests can start now */
        int64_t t = now_ms();
        if (worked)
            last_work = t;
        bool lingering = t - last_work < LINGER_MS;
        if (!lingering)
            atomic_store(&n->idle, true);
        pthread_mutex_lock(&n->mu);
        bool fresh = n->pending.n > 0 && n->inflight.n < n->cfg.max_inflight;
        pthread_mutex_unlock(&n->mu);
        if (!fresh || wait > 0)
            curl_multi_poll(n->multi, NULL, 0,
                            lingering ? 1
                                      : (int)(wait < 1     ? 1
                                              : wait < 200 ? wait
                                                           : 200),
                            NULL);
        atomic_store(&n->idle, false);
    }
    return NULL;
}

int outbound_new(const struct outbound_config *cfg, struct outbound **out)
{
    *out = NULL;
    struct outbound *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    if (cfg)
        n->cfg = *cfg;
    struct outbound_config *c = &n->cfg;
    c->queue_max = c->queue_max ? c->queue_max : 10000;
    c->max_attempts = c->max_attempts ? c->max_attempts : 5;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms : 200;
    c->backoff_max_ms = c->backoff_max_ms ? c->backoff_max_ms : 30000;
    c->timeout_ms = c->timeout_ms ? c->timeout_ms : 5000;
    c->connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 2000;
    c->max_inflight = c->max_inflight ? c->max_inflight : 64;
    c->per_dest_inflight = c->per_dest_inflight ? c->per_dest_inflight : 4;
    /* Here, on the thread that builds the engine: libcurl's global init is not thread-safe,
     * and curl_easy_init would otherwise do it on the delivery thread. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(n);
        return IOTSEC_ERR_NOMEM;
    }
    if (c->ca_file && (c->ca_file = strdup(c->ca_file)) == NULL) {
        curl_global_cleanup();
        free(n);
        return IOTSEC_ERR_NOMEM;
    }
    pthread_mutex_init(&n->mu, NULL);
    n->multi = curl_multi_init();
    if (n->multi == NULL || pthread_create(&n->thread, NULL, run, n) != 0) {
        if (n->multi)
            curl_multi_cleanup(n->multi);
        pthread_mutex_destroy(&n->mu);
        free((char *)c->ca_file);
        curl_global_cleanup();
        free(n);
        return IOTSEC_ERR_NOMEM;
    }
    *out = n;
    return IOTSEC_OK;
}

void outbound_free(struct outbound *n)
{
    if (n == NULL)
        return;
    atomic_store(&n->stop, true);
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
    struct list *all[] = {&n->pending, &n->retry, &n->inflight};
    for (int i = 0; i < 3; i++)
        for (struct item *it = all[i]->head, *nx; it; it = nx) {
            nx = it->next;
            item_end(n, it, OUTBOUND_ABANDONED);
        }
    for (struct item *it = n->pool, *nx; it; it = nx) {
        nx = it->next;
        item_destroy(it);
    }
    curl_multi_cleanup(n->multi);
    pthread_mutex_destroy(&n->mu);
    free((char *)n->cfg.ca_file);
    free(n);
    curl_global_cleanup();
}

void outbound_metrics_get(struct outbound *n, struct outbound_metrics *m)
{
    m->queued = atomic_load(&n->queued);
    m->delivered = atomic_load(&n->delivered);
    m->failed = atomic_load(&n->failed);
    m->refused = atomic_load(&n->refused);
    m->dropped_full = atomic_load(&n->dropped_full);
    m->stopped = atomic_load(&n->stopped);
    m->retries = atomic_load(&n->retries);
    pthread_mutex_lock(&n->mu);
    m->in_queue = n->pending.n + n->retry.n;
    m->in_flight = n->inflight.n;
    pthread_mutex_unlock(&n->mu);
}
