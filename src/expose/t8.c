/* The T8 service: the registry of live subscriptions, their location watches (which turn
 * network events into MonitoringNotifications), the gate every notification passes before
 * each delivery attempt (subscription alive, consent still granted: expose_nb_decide), the
 * reload of stored subscriptions at start, and housekeeping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "expose/t8_int.h"

#define DONE_GRACE_MS 60000 /* a fulfilled subscription lingers while its last report retries */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t bucket_of(const char *owner)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = owner; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (size_t)(h % T8_BUCKETS);
}

static struct t8_sub **slot(struct t8 *t, const char *owner)
{
    struct t8_sub **p = &t->buckets[bucket_of(owner)];
    while (*p && strcmp((*p)->owner, owner) != 0)
        p = &(*p)->next;
    return p;
}

uint64_t t8_text_hash(const char *text)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = text; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

void t8_change_lock(struct t8 *t)
{
    pthread_mutex_lock(&t->change_mu);
}

void t8_change_unlock(struct t8 *t)
{
    pthread_mutex_unlock(&t->change_mu);
}

static void owner_of(const char *af_id, const char *id, char out[OUTBOUND_OWNER_MAX])
{
    snprintf(out, OUTBOUND_OWNER_MAX, "%s/%s", af_id, id);
}

int t8_sub_add(struct t8 *t, struct t8_sub *s)
{
    pthread_mutex_lock(&t->mu);
    struct t8_sub **p = slot(t, s->owner);
    int rc = IOTSEC_OK;
    if (*p)
        rc = IOTSEC_ERR_CONFLICT;
    else if (t->count >= t->cfg.max_subscriptions)
        rc = IOTSEC_ERR_BUSY;
    else {
        s->next = NULL;
        *p = s;
        t->count++;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

struct t8_sub *t8_sub_take(struct t8 *t, const char *af_id, const char *id)
{
    char owner[OUTBOUND_OWNER_MAX];
    owner_of(af_id, id, owner);
    pthread_mutex_lock(&t->mu);
    struct t8_sub **p = slot(t, owner), *s = *p;
    if (s) {
        *p = s->next;
        t->count--;
    }
    pthread_mutex_unlock(&t->mu);
    return s;
}

bool t8_sub_with(struct t8 *t, const char *af_id, const char *id,
                 void (*fn)(void *ctx, struct t8_sub *s), void *ctx)
{
    char owner[OUTBOUND_OWNER_MAX];
    owner_of(af_id, id, owner);
    pthread_mutex_lock(&t->mu);
    struct t8_sub *s = *slot(t, owner);
    if (s && atomic_load(&s->done))
        s = NULL; /* fulfilled: gone for the AF, lingering only for its last notification */
    if (s)
        fn(ctx, s);
    pthread_mutex_unlock(&t->mu);
    return s != NULL;
}

size_t t8_sub_count_af(struct t8 *t, const char *af_id)
{
    size_t n = 0, len = strlen(af_id);
    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < T8_BUCKETS; b++)
        for (struct t8_sub *s = t->buckets[b]; s; s = s->next)
            n += strncmp(s->owner, af_id, len) == 0 && s->owner[len] == '/';
    pthread_mutex_unlock(&t->mu);
    return n;
}

void t8_sub_free(struct t8 *t, struct t8_sub *s)
{
    if (s == NULL)
        return;
    if (s->watch_id)
        location_unwatch(t->cfg.loc, s->watch_id); /* waits for a report being built */
    loc_area_free_members(&s->req.area);
    json_decref(s->body);
    free(s->body_text);
    memset(s->supi, 0, sizeof(s->supi));
    free(s);
}

/* ---- events -> notifications (on the SBI worker that ingested the event) ---- */

static void on_event(void *ctx, const struct ue_event *ev, const struct location_finding *f)
{
    struct t8_sub *s = ctx;
    struct t8 *t = s->t;
    if (atomic_load(&s->done))
        return;
    int64_t now = wall_ms();
    if (s->req.expire_ms && now >= s->req.expire_ms) {
        atomic_store(&s->done, true);
        return;
    }
    char body[T8_NOTE_MAX];
    int len = 0;
    switch (s->req.type) {
    case T8_LOCATION_REPORTING:
        if (ev->kind == UE_EV_LOCATION_REPORT || f)
            len = t8_location_note(body, sizeof(body), s->self, &s->req, t->cfg.granularity_cap,
                                   s->req.external_id, ev, now, f ? f->cause : NULL);
        break;
    case T8_LOSS_OF_CONNECTIVITY:
        if (ev->kind == UE_EV_LOSS_OF_CONNECTIVITY)
            len = t8_event_note(body, sizeof(body), s->self, s->req.type, &s->req,
                                s->req.external_id, ev->time_ms);
        break;
    case T8_UE_REACHABILITY:
        if ((ev->kind == UE_EV_REACHABILITY && ev->reachability == UE_REACH_REACHABLE) ||
            (ev->kind == UE_EV_CONNECTIVITY_STATE && ev->connected))
            len = t8_event_note(body, sizeof(body), s->self, s->req.type, &s->req,
                                s->req.external_id, ev->time_ms);
        break;
    case T8_NUMBER_OF_UES_IN_AN_AREA:
        break;
    }
    if (len <= 0)
        return;
    atomic_fetch_add(&s->reports, 1);
    if (s->req.max_reports) {
        /* Counted in the store: other instances report events of the same device too. */
        int64_t stored = 0;
        if (t8_store_count_report(t->cfg.store, s->af.af_id, s->id, &stored) != IOTSEC_OK) {
            log_msg(LOG_WARN, NULL, "t8: report of subscription %s not counted: not sent", s->id);
            return;
        }
        if (stored == 0 || stored > s->req.max_reports) {
            atomic_store(&s->done, true); /* fulfilled or ended on another instance */
            return;
        }
        if (stored == s->req.max_reports)
            atomic_store(&s->done, true);
    }
    if (outbound_post(t->notify, s->req.destination, s->owner, body, (size_t)len, NULL) ==
        IOTSEC_OK)
        atomic_fetch_add(&t->reports, 1);
}

int t8_sub_arm(struct t8 *t, struct t8_sub *s)
{
    uint32_t kinds = 0;
    switch (s->req.type) {
    case T8_LOCATION_REPORTING:
        kinds = 1u << UE_EV_LOCATION_REPORT | LOC_WATCH_FINDING;
        break;
    case T8_LOSS_OF_CONNECTIVITY:
        kinds = 1u << UE_EV_LOSS_OF_CONNECTIVITY;
        break;
    case T8_UE_REACHABILITY:
        kinds = 1u << UE_EV_REACHABILITY | 1u << UE_EV_CONNECTIVITY_STATE;
        break;
    case T8_NUMBER_OF_UES_IN_AN_AREA:
        return IOTSEC_ERR_INVALID;
    }
    uint8_t key[LOC_KEY_LEN];
    location_device_key(t->cfg.loc, s->supi, key);
    s->t = t;
    return location_watch(t->cfg.loc, key, kinds, on_event, s, &s->watch_id);
}

/* ---- destinations ---- */

int t8_destination_check(struct t8 *t, const char *af_id, const char *url, const char **why)
{
    struct outbound_rules r = {.http_loopback = t->cfg.allow_http_loopback};
    if (expose_nb_af_destinations(t->cfg.nb, af_id, &r) != IOTSEC_OK) {
        *why = "unknown application function";
        return IOTSEC_ERR_INVALID;
    }
    return outbound_url_check(url, &r, why);
}

/* ---- the gate before each delivery attempt (outbound thread) ---- */

struct gate {
    struct expose_af af;
    char supi[LOC_SUPI_MAX];
    char ext[EXTID_MAX];
    char id[T8_SUB_ID_LEN + 1];
};

static bool gate_copy(struct t8 *t, const char *owner, struct gate *g)
{
    pthread_mutex_lock(&t->mu);
    struct t8_sub *s = *slot(t, owner);
    if (s) {
        g->af = s->af;
        expose_af_fix(&g->af);
        memcpy(g->supi, s->supi, sizeof(g->supi));
        memcpy(g->ext, s->req.external_id, sizeof(g->ext));
        memcpy(g->id, s->id, sizeof(g->id));
    }
    pthread_mutex_unlock(&t->mu);
    return s != NULL;
}

static bool gate(void *ctx, const char *owner, struct outbound_rules *rules)
{
    struct t8 *t = ctx;
    struct gate g;
    if (!gate_copy(t, owner, &g)) {
        atomic_fetch_add(&t->refused_notifications, 1);
        return false; /* deleted: nothing more goes out */
    }
    struct expose_target tg = {.kind = RESOURCE_DEVICE,
                               .supi = g.supi,
                               .external_id = g.ext,
                               .subscription_id = g.id,
                               .owner_af = g.af.af_id,
                               .service = EXPOSE_SVC_MONITORING_EVENT};
    struct authz_result res;
    int rc = expose_nb_decide(t->cfg.nb, &g.af, ACTION_MONITORING_READ, &tg, "notify", &res, NULL);
    memset(g.supi, 0, sizeof(g.supi));
    if (rc != IOTSEC_OK || !res.allow) {
        atomic_fetch_add(&t->refused_notifications, 1);
        return false; /* consent revoked or expired: stop at once */
    }
    /* the AF's allow-list as registered now: the operator may have narrowed it */
    return expose_nb_af_destinations(t->cfg.nb, g.af.af_id, rules) == IOTSEC_OK;
}

/* ---- start: stored subscriptions come back ---- */

/* Registers a stored subscription. At start (forget) one that cannot come back is deleted;
 * in a t8_sync it is only counted (t->sync_failed): another instance may know what this one
 * does not know yet, and the next sync tries again. */
static int load_stored(struct t8 *t, const char *af_id, const char *id, const char *external_id,
                       const char *body_text, bool forget)
{
    json_t *body = json_loads(body_text, 0, NULL);
    struct t8_sub *s = calloc(1, sizeof(*s));
    struct t8_refusal why;
    int rc = body && s ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = t8_decode(body, wall_ms(), t->cfg.allow_http_loopback, &s->req, &why);
    if (rc == IOTSEC_OK)
        rc = expose_nb_resolve_quiet(t->cfg.nb, af_id, external_id, s->supi, sizeof(s->supi));
    if (rc == IOTSEC_OK) {
        snprintf(s->id, sizeof(s->id), "%s", id);
        owner_of(af_id, id, s->owner);
        /* The AF as registered now (a disabled one is kept: every notification is decided
         * again, and denied while it stays disabled); an AF gone from the registry ends its
         * subscriptions. */
        int arc = expose_nb_af_current(t->cfg.nb, af_id, &s->af);
        rc = arc == IOTSEC_ERR_STATE ? IOTSEC_OK : arc;
        expose_af_fix(&s->af);
    }
    if (rc == IOTSEC_OK) {
        snprintf(s->self, sizeof(s->self), "%s", json_string_value(json_object_get(body, "self")));
        s->body = body;
        body = NULL;
        s->stored_hash = t8_text_hash(body_text);
        s->sync_gen = t->sync_gen;
        rc = t8_sub_add(t, s);
    }
    if (rc == IOTSEC_OK && (rc = t8_sub_arm(t, s)) != IOTSEC_OK)
        t8_sub_free(t, t8_sub_take(t, af_id, id));
    else if (rc != IOTSEC_OK) {
        /* expired meanwhile, or its device is no longer known to this AF: forget it */
        log_msg(LOG_INFO, NULL, "t8: stored subscription %s of %s not %s (%s)", id, af_id,
                forget ? "restored" : "taken over yet", iotsec_strerror(rc));
        if (forget)
            t8_store_delete(t->cfg.store, af_id, id);
        else
            t->sync_failed++;
        if (s) {
            loc_area_free_members(&s->req.area);
            json_decref(s->body);
            free(s);
        }
    }
    json_decref(body);
    return IOTSEC_OK;
}

static int load_one(void *ctx, const char *af_id, const char *id, const char *external_id,
                    const char *body_text)
{
    return load_stored(ctx, af_id, id, external_id, body_text, true);
}

int t8_new(const struct t8_config *cfg, struct t8 **out)
{
    *out = NULL;
    struct t8 *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return IOTSEC_ERR_NOMEM;
    t->cfg = *cfg;
    if (t->cfg.k_anonymity == 0)
        t->cfg.k_anonymity = 10;
    if (t->cfg.count_per_minute == 0)
        t->cfg.count_per_minute = 6;
    if (t->cfg.max_subscriptions == 0)
        t->cfg.max_subscriptions = 100000;
    if (t->cfg.max_per_af == 0)
        t->cfg.max_per_af = 1000;
    snprintf(t->root_init, sizeof(t->root_init), "%s", cfg->api_root ? cfg->api_root : "");
    atomic_store(&t->api_root, t->root_init);
    t->cfg.api_root = NULL; /* the caller's string is not kept */
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->change_mu, NULL);
    pthread_mutex_init(&t->rate_mu, NULL);
    struct outbound_config nc = {.queue_max = cfg->notify_queue_max,
                                 .timeout_ms = cfg->notify_timeout_ms,
                                 .backoff_ms = cfg->notify_backoff_ms,
                                 .ca_file = cfg->notify_ca_file,
                                 .rules.http_loopback = cfg->allow_http_loopback,
                                 .check = gate,
                                 .check_ctx = t};
    int rc = outbound_new(&nc, &t->notify);
    if (rc == IOTSEC_OK) /* before the load: a change made meanwhile moves it again */
        rc = store_topic_seq(t->cfg.store, T8_TOPIC, &t->topic_seq);
    if (rc == IOTSEC_OK)
        rc = t8_store_each(t->cfg.store, load_one, t);
    if (rc != IOTSEC_OK) {
        t8_free(t);
        return rc;
    }
    *out = t;
    return IOTSEC_OK;
}

void t8_free(struct t8 *t)
{
    if (t == NULL)
        return;
    outbound_free(t->notify); /* first: the gate reads the registry */
    for (size_t b = 0; b < T8_BUCKETS; b++)
        for (struct t8_sub *s = t->buckets[b], *n; s; s = n) {
            n = s->next;
            t8_sub_free(t, s);
        }
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->change_mu);
    pthread_mutex_destroy(&t->rate_mu);
    free(t);
}

/* ---- changes made on other instances ---- */

static int sync_row(void *ctx, const char *af_id, const char *id, const char *external_id,
                    const char *body_text)
{
    struct t8 *t = ctx;
    char owner[OUTBOUND_OWNER_MAX];
    owner_of(af_id, id, owner);
    uint64_t h = t8_text_hash(body_text);
    pthread_mutex_lock(&t->mu);
    struct t8_sub *s = *slot(t, owner);
    bool known = s != NULL, same = s && s->stored_hash == h;
    if (same)
        s->sync_gen = t->sync_gen;
    pthread_mutex_unlock(&t->mu);
    if (same)
        return IOTSEC_OK;
    if (known) { /* replaced (PUT/PATCH) elsewhere: the old terms end here too */
        struct t8_sub *old = t8_sub_take(t, af_id, id);
        if (old) {
            outbound_cancel(t->notify, old->owner);
            t8_sub_free(t, old);
        }
    }
    return load_stored(t, af_id, id, external_id, body_text, false);
}

/* Brings the registry in line with the store: subscriptions created, replaced or deleted by
 * other instances. Under change_mu, so no local change is half done meanwhile. One pass over
 * the table, only when T8_TOPIC moved. */
static int t8_sync(struct t8 *t)
{
    t8_change_lock(t);
    t->sync_gen++;
    t->sync_failed = 0;
    int rc = t8_store_each(t->cfg.store, sync_row, t);
    struct t8_sub *gone = NULL;
    if (rc == IOTSEC_OK) {
        pthread_mutex_lock(&t->mu);
        for (size_t b = 0; b < T8_BUCKETS; b++) {
            for (struct t8_sub **p = &t->buckets[b]; *p;) {
                struct t8_sub *s = *p;
                if (s->sync_gen != t->sync_gen && !atomic_load(&s->done)) {
                    *p = s->next; /* deleted elsewhere */
                    t->count--;
                    s->next = gone;
                    gone = s;
                } else {
                    p = &s->next;
                }
            }
        }
        pthread_mutex_unlock(&t->mu);
    }
    t8_change_unlock(t);
    while (gone) {
        struct t8_sub *s = gone;
        gone = s->next;
        outbound_cancel(t->notify, s->owner);
        t8_sub_free(t, s);
    }
    return rc;
}

/* Ends fulfilled (after a grace for their last report's retries) and expired subscriptions,
 * and takes in the changes other instances made. */
void t8_tick(struct t8 *t)
{
    int64_t seq;
    if (store_topic_seq(t->cfg.store, T8_TOPIC, &seq) == IOTSEC_OK) {
        bool moved = seq != t->topic_seq;
        if ((moved || t->sync_retries > 0) && t8_sync(t) == IOTSEC_OK) {
            t->topic_seq = seq;
            /* one not taken over: again at the next ticks, a bounded number of times */
            t->sync_retries = t->sync_failed == 0 ? 0
                              : moved             ? T8_SYNC_RETRIES
                                                  : t->sync_retries - 1;
        }
    }
    int64_t now = wall_ms();
    struct t8_sub *gone = NULL;
    /* rows of subscriptions that just ended: deleted now, so a restart does not revive them */
    enum { ENDED_MAX = 256 };
    char ended[ENDED_MAX][OUTBOUND_OWNER_MAX];
    size_t n_ended = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < T8_BUCKETS; b++) {
        for (struct t8_sub **p = &t->buckets[b]; *p;) {
            struct t8_sub *s = *p;
            bool expired = s->req.expire_ms && now >= s->req.expire_ms;
            if (expired && !atomic_load(&s->done))
                atomic_store(&s->done, true);
            if (atomic_load(&s->done) && s->done_at_ms == 0 && n_ended < ENDED_MAX) {
                s->done_at_ms = now;
                memcpy(ended[n_ended++], s->owner, OUTBOUND_OWNER_MAX);
            }
            if (s->done_at_ms && now - s->done_at_ms >= DONE_GRACE_MS) {
                *p = s->next;
                t->count--;
                s->next = gone;
                gone = s;
            } else {
                p = &s->next;
            }
        }
    }
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n_ended; i++) {
        char *slash = strchr(ended[i], '/');
        if (slash) {
            *slash = 0;
            t8_store_delete(t->cfg.store, ended[i], slash + 1);
        }
    }
    while (gone) {
        struct t8_sub *s = gone;
        gone = s->next;
        t8_sub_free(t, s);
    }
}

void t8_set_api_root(struct t8 *t, const char *root)
{
    if (t == NULL || atomic_load(&t->api_root) == t->root_bound)
        return; /* once: readers may hold the pointer */
    snprintf(t->root_bound, sizeof(t->root_bound), "%s", root);
    atomic_store(&t->api_root, t->root_bound);
}

int t8_metrics(struct t8 *t, struct strbuf *out)
{
    struct outbound_metrics m;
    outbound_metrics_get(t->notify, &m);
    pthread_mutex_lock(&t->mu);
    size_t subs = t->count;
    pthread_mutex_unlock(&t->mu);
    return strbuf_appendf(
        out,
        "# HELP iotsec_t8_subscriptions Live monitoring event subscriptions.\n"
        "# TYPE iotsec_t8_subscriptions gauge\niotsec_t8_subscriptions %zu\n"
        "# HELP iotsec_t8_notifications_total Monitoring notifications by outcome.\n"
        "# TYPE iotsec_t8_notifications_total counter\n"
        "iotsec_t8_notifications_total{outcome=\"queued\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"delivered\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"failed\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"dropped_queue_full\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"stopped\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"refused_destination\"} %llu\n"
        "iotsec_t8_notifications_total{outcome=\"retried\"} %llu\n",
        subs, (unsigned long long)m.queued, (unsigned long long)m.delivered,
        (unsigned long long)m.failed, (unsigned long long)m.dropped_full,
        (unsigned long long)m.stopped, (unsigned long long)m.refused,
        (unsigned long long)m.retries);
}
