/* The T8 MonitoringEvent API (TS 29.122 §5.3.2) on the northbound face:
 *   POST   /3gpp-monitoring-event/v1/{scsAsId}/subscriptions
 *   GET    /3gpp-monitoring-event/v1/{scsAsId}/subscriptions
 *   GET|PUT|PATCH|DELETE /3gpp-monitoring-event/v1/{scsAsId}/subscriptions/{subscriptionId}
 * Each request: the AF authenticated by its bound token (northbound.h), scsAsId = that AF,
 * the device resolved from the AF's external ID within that AF only, the decision (consent)
 * audited; then the work. Answers name the device by the AF's external ID only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/rand.h"
#include "expose/t8_int.h"

#define BASE "/3gpp-monitoring-event/v1/{scsAsId}/subscriptions"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* param: an attribute of the body ("locationArea5G.nwAreaInfo", answered as the JSON
 * Pointer "/locationArea5G/nwAreaInfo"), a path parameter ("scsAsId"), or "" for none. */
static void problem(struct http_request *req, int status, const char *cause, const char *param,
                    const char *detail)
{
    char ptr[128];
    bool in_body =
        param && param[0] && strcmp(param, "scsAsId") != 0 && strcmp(param, "subscriptionId") != 0;
    if (in_body) {
        size_t n = 0;
        ptr[n++] = '/';
        for (const char *p = param; *p && n + 1 < sizeof(ptr); p++)
            ptr[n++] = *p == '.' ? '/' : *p;
        ptr[n] = '\0';
        param = ptr;
    }
    http_respond_invalid(req, status, cause, param && param[0] ? param : NULL, detail);
}

/* Authenticates the AF and checks that the path names it. */
static bool begin(struct t8 *t, struct http_request *req, struct expose_af *af)
{
    if (expose_nb_authenticate(t->cfg.nb, req, EXPOSE_SVC_MONITORING_EVENT, af) != IOTSEC_OK)
        return false;
    const char *scs = http_request_param(req, "scsAsId");
    if (scs == NULL || strcmp(scs, af->af_id) != 0) {
        expose_nb_audit(t->cfg.nb, af, "monitoring.path", "scsAsId", false, "DENY_OTHER_AF_PATH",
                        http_request_id(req));
        problem(req, 403, "SCS_AS_ID_MISMATCH", "scsAsId",
                "scsAsId is not the application server the access token was issued to");
        return false;
    }
    return true;
}

static void refusal(struct http_request *req, const struct t8_refusal *why)
{
    problem(req, why->status, why->cause, why->param, why->detail);
}

/* The destination policy (after the syntax t8_decode checked): 400 naming the member. */
static bool destination_ok(struct t8 *t, struct http_request *req, const char *af_id,
                           struct t8_request *rq)
{
    const char *why;
    if (t8_destination_check(t, af_id, rq->destination, &why) == IOTSEC_OK)
        return true;
    loc_area_free_members(&rq->area);
    problem(req, 400, "INVALID_MSG_FORMAT", "notificationDestination", why);
    return false;
}

static bool count_allowed(struct t8 *t, const char *af_id, int64_t now)
{
    pthread_mutex_lock(&t->rate_mu);
    struct t8_rate *r = NULL, *oldest = &t->rates[0];
    for (size_t i = 0; i < sizeof(t->rates) / sizeof(t->rates[0]) && r == NULL; i++) {
        if (strcmp(t->rates[i].af_id, af_id) == 0)
            r = &t->rates[i];
        else if (t->rates[i].window_ms < oldest->window_ms)
            oldest = &t->rates[i];
    }
    if (r == NULL) {
        r = oldest;
        snprintf(r->af_id, sizeof(r->af_id), "%s", af_id);
        r->window_ms = 0;
    }
    if (now - r->window_ms >= 60000) {
        r->window_ms = now;
        r->n = 0;
    }
    bool ok = r->n < t->cfg.count_per_minute;
    r->n += ok;
    pthread_mutex_unlock(&t->rate_mu);
    return ok;
}

/* ---- NUMBER_OF_UES_IN_AN_AREA: counted now, answered at once ---- */

struct keyset {
    struct location *loc;
    uint8_t (*keys)[LOC_KEY_LEN];
    size_t n, cap;
};

static int add_key(void *ctx, const char *supi)
{
    struct keyset *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        if (cap > 4000000)
            return IOTSEC_ERR_BUSY;
        void *p = realloc(k->keys, cap * LOC_KEY_LEN);
        if (p == NULL)
            return IOTSEC_ERR_NOMEM;
        k->keys = p;
        k->cap = cap;
    }
    location_device_key(k->loc, supi, k->keys[k->n++]);
    return IOTSEC_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, LOC_KEY_LEN);
}

static bool consented(void *ctx, const uint8_t key[LOC_KEY_LEN])
{
    struct keyset *k = ctx;
    return bsearch(key, k->keys, k->n, LOC_KEY_LEN, key_cmp) != NULL;
}

static void area_count(struct t8 *t, struct http_request *req, const struct expose_af *af,
                       struct t8_request *rq)
{
    struct expose_target tg = {.kind = RESOURCE_AREA, .service = EXPOSE_SVC_MONITORING_EVENT};
    struct authz_result res;
    if (expose_nb_authorize(t->cfg.nb, req, af, ACTION_MONITORING_SUBSCRIBE, &tg, &res) !=
        IOTSEC_OK)
        return;
    int64_t now = wall_ms();
    if (!count_allowed(t, af->af_id, now)) {
        http_response_header(req, "Retry-After", "60");
        problem(req, 429, "TOO_MANY_REQUESTS", "", "area counts are rate limited per AF");
        return;
    }
    /* Only devices whose owners consented to this AF are counted. */
    struct keyset ks = {.loc = t->cfg.loc};
    int rc = t8_store_consented(t->cfg.store, af->af_id, now / 1000, add_key, &ks);
    uint64_t count = 0;
    bool suppressed = true;
    if (rc == IOTSEC_OK) {
        qsort(ks.keys, ks.n, LOC_KEY_LEN, key_cmp);
        rc = location_count_in_area(t->cfg.loc, &rq->area, now, 0, consented, &ks,
                                    t->cfg.k_anonymity, &count, &suppressed);
    }
    free(ks.keys);
    if (rc != IOTSEC_OK) {
        http_response_header(req, "Retry-After", "5");
        problem(req, 503, NULL, "", "the count is not available now");
        return;
    }
    http_respond_json(req, 200, t8_count_report(count, suppressed, now));
}

/* ---- device subscriptions ---- */

static void random_id(char out[T8_SUB_ID_LEN + 1])
{
    uint8_t b[T8_SUB_ID_LEN / 2];
    crypto_random(b, sizeof(b));
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Resolves and authorises the device of rq for af; on refusal the request is answered. */
static bool device_allowed(struct t8 *t, struct http_request *req, const struct expose_af *af,
                           const struct t8_request *rq, enum action a, const char *sub_id,
                           char supi[LOC_SUPI_MAX])
{
    if (rq->msisdn[0]) {
        expose_nb_audit(t->cfg.nb, af, authz_action_str(a), "msisdn", false,
                        "DENY_MSISDN_NOT_ENABLED", http_request_id(req));
        problem(req, 403, "MSISDN_NOT_ALLOWED", "msisdn",
                "addressing by MSISDN is not enabled for this application server: use the "
                "external identifier");
        return false;
    }
    if (expose_nb_resolve(t->cfg.nb, req, af, rq->external_id, supi, LOC_SUPI_MAX) != IOTSEC_OK)
        return false;
    struct expose_target tg = {.kind = RESOURCE_DEVICE,
                               .supi = supi,
                               .external_id = rq->external_id,
                               .subscription_id = sub_id,
                               .owner_af = a == ACTION_MONITORING_SUBSCRIBE ? NULL : af->af_id,
                               .service = EXPOSE_SVC_MONITORING_EVENT};
    struct authz_result res;
    if (expose_nb_authorize(t->cfg.nb, req, af, a, &tg, &res) != IOTSEC_OK) {
        memset(supi, 0, LOC_SUPI_MAX);
        return false;
    }
    return true;
}

static struct t8_sub *sub_new(struct t8 *t, const struct expose_af *af, const char *id,
                              struct t8_request *rq, const json_t *body, const char *supi)
{
    struct t8_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->owner, sizeof(s->owner), "%s/%s", af->af_id, id);
    s->af = *af;
    expose_af_fix(&s->af);
    s->req = *rq;
    memset(&rq->area, 0, sizeof(rq->area)); /* moved */
    snprintf(s->supi, sizeof(s->supi), "%s", supi);
    snprintf(s->self, sizeof(s->self), "%s/3gpp-monitoring-event/v1/%s/subscriptions/%s",
             atomic_load(&t->api_root), af->af_id, id);
    s->body = json_deep_copy(body);
    if (s->body == NULL) {
        free(s);
        return NULL;
    }
    json_object_del(s->body, "monitoringEventReport"); /* ours to give, not the AF's */
    json_object_set_new(s->body, "self", json_string(s->self));
    return s;
}

/* Stores s, registers it, arms its watch; answers on failure. */
static bool sub_start(struct t8 *t, struct http_request *req, struct t8_sub *s)
{
    int rc = t8_store_put(t->cfg.store, s);
    if (rc == IOTSEC_OK && (rc = t8_sub_add(t, s)) == IOTSEC_OK) {
        if ((rc = t8_sub_arm(t, s)) != IOTSEC_OK) {
            t8_sub_take(t, s->af.af_id, s->id);
            t8_store_delete(t->cfg.store, s->af.af_id, s->id);
        }
    }
    if (rc == IOTSEC_OK)
        return true;
    http_response_header(req, "Retry-After", "10");
    problem(req, rc == IOTSEC_ERR_BUSY ? 429 : 503, NULL, "",
            rc == IOTSEC_ERR_BUSY ? "too many subscriptions on this device or in total"
                                  : "the subscription could not be stored");
    t8_sub_free(t, s);
    return false;
}

static json_t *last_known(struct t8 *t, const struct t8_request *rq, const char *supi)
{
    struct ue_state st;
    if (location_state(t->cfg.loc, supi, &st) != IOTSEC_OK)
        memset(&st, 0, sizeof(st));
    return t8_location_report(rq, t->cfg.granularity_cap, rq->external_id, &st, wall_ms(), NULL);
}

static void handle_create(struct http_request *req, void *user)
{
    struct t8 *t = user;
    struct expose_af af;
    if (!begin(t, req, &af))
        return;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    struct t8_request rq;
    struct t8_refusal why;
    if (t8_decode(body, wall_ms(), t->cfg.allow_http_loopback, &rq, &why) != IOTSEC_OK) {
        refusal(req, &why);
        json_decref(body);
        return;
    }
    if (!destination_ok(t, req, af.af_id, &rq)) {
        json_decref(body);
        return;
    }
    if (rq.type == T8_NUMBER_OF_UES_IN_AN_AREA) {
        area_count(t, req, &af, &rq);
        loc_area_free_members(&rq.area);
        json_decref(body);
        return;
    }
    char supi[LOC_SUPI_MAX];
    if (!device_allowed(t, req, &af, &rq, ACTION_MONITORING_SUBSCRIBE, NULL, supi)) {
        json_decref(body);
        return;
    }
    /* One-time requests for a location we already know are answered at once (§5.3.2.1.3). */
    if (rq.type == T8_LOCATION_REPORTING && rq.max_reports == 1 && rq.loc_type != T8_LOC_CURRENT) {
        struct ue_state st;
        if (rq.loc_type == T8_LOC_LAST_KNOWN ||
            location_state(t->cfg.loc, supi, &st) == IOTSEC_OK) {
            http_respond_json(req, 200, last_known(t, &rq, supi));
            memset(supi, 0, sizeof(supi));
            json_decref(body);
            return;
        }
    }
    if (t8_sub_count_af(t, af.af_id) >= t->cfg.max_per_af) {
        http_response_header(req, "Retry-After", "60");
        problem(req, 429, "TOO_MANY_SUBSCRIPTIONS", "",
                "this application server has the "
                "maximum number of subscriptions");
        json_decref(body);
        return;
    }
    char id[T8_SUB_ID_LEN + 1];
    random_id(id);
    struct t8_sub *s = sub_new(t, &af, id, &rq, body, supi);
    json_decref(body);
    if (s == NULL) {
        problem(req, 503, NULL, "", "out of memory");
        return;
    }
    json_t *answer = json_deep_copy(s->body);
    if (rq.loc_type == T8_LOC_CURRENT_OR_LAST_KNOWN && s->req.type == T8_LOCATION_REPORTING) {
        struct ue_state st;
        if (location_state(t->cfg.loc, supi, &st) == IOTSEC_OK)
            json_object_set_new(answer, "monitoringEventReport", last_known(t, &s->req, supi));
    }
    memset(supi, 0, sizeof(supi));
    char self[OUTBOUND_URL_MAX];
    snprintf(self, sizeof(self), "%s", s->self);
    t8_change_lock(t);
    bool started = sub_start(t, req, s);
    t8_change_unlock(t);
    if (!started) {
        json_decref(answer);
        return;
    }
    http_response_header(req, "Location", self);
    http_respond_json(req, 201, answer);
}

/* A copy: jansson's reference counts are not shared safely between threads. */
static void append_body(void *ctx, struct t8_sub *s)
{
    json_array_append_new(ctx, json_deep_copy(s->body));
}

static void handle_list(struct http_request *req, void *user)
{
    struct t8 *t = user;
    struct expose_af af;
    if (!begin(t, req, &af))
        return;
    /* Only this AF's subscriptions: the registry key starts with the authenticated AF id. */
    json_t *arr = json_array();
    size_t len = strlen(af.af_id);
    pthread_mutex_lock(&t->mu);
    for (size_t b = 0; b < T8_BUCKETS; b++)
        for (struct t8_sub *s = t->buckets[b]; s; s = s->next)
            if (strncmp(s->owner, af.af_id, len) == 0 && s->owner[len] == '/' &&
                !atomic_load(&s->done))
                append_body(arr, s);
    pthread_mutex_unlock(&t->mu);
    if (expose_nb_audit_allow(t->cfg.nb, req, &af, "monitoring.list", "subscriptions",
                              "ALLOW_OWN_LIST") != IOTSEC_OK) {
        json_decref(arr);
        return;
    }
    http_respond_json(req, 200, arr);
}

struct snap {
    struct t8_request rq;
    char supi[LOC_SUPI_MAX];
    json_t *body;
};

static void snap_of(void *ctx, struct t8_sub *s)
{
    struct snap *p = ctx;
    p->rq = s->req;
    memset(&p->rq.area, 0, sizeof(p->rq.area));
    memcpy(p->supi, s->supi, sizeof(p->supi));
    p->body = json_deep_copy(s->body);
}

/* For GET: the serialised body, not a deep copy of the JSON (copy and encoding per request
 * were a fifth of a GET's cost). */
struct text_snap {
    struct t8_request rq;
    char supi[LOC_SUPI_MAX];
    char *text; /* NULL: no memory */
    size_t len;
};

static void text_snap_of(void *ctx, struct t8_sub *s)
{
    struct text_snap *p = ctx;
    p->rq = s->req;
    memset(&p->rq.area, 0, sizeof(p->rq.area));
    memcpy(p->supi, s->supi, sizeof(p->supi));
    if (s->body_text == NULL) { /* under t->mu: made once */
        s->body_text = json_dumps(s->body, JSON_COMPACT);
        s->body_len = s->body_text ? strlen(s->body_text) : 0;
    }
    p->text = s->body_text ? malloc(s->body_len) : NULL;
    if (p->text)
        memcpy(p->text, s->body_text, s->body_len);
    p->len = s->body_len;
}

/* The subscription of the path, of this AF only, given to fn (under the registry's lock);
 * answers 404 when there is none. out is cleared first. */
static bool lookup_with(struct t8 *t, struct http_request *req, const struct expose_af *af,
                        void (*fn)(void *ctx, struct t8_sub *s), void *out, size_t size)
{
    const char *id = http_request_param(req, "subscriptionId");
    memset(out, 0, size);
    if (id == NULL || !t8_sub_with(t, af->af_id, id, fn, out)) {
        expose_nb_audit(t->cfg.nb, af, "monitoring.lookup", "subscription", false, "NOT_FOUND",
                        http_request_id(req));
        problem(req, 404, "SUBSCRIPTION_NOT_FOUND", "subscriptionId",
                "no such subscription for this application server");
        return false;
    }
    return true;
}

static bool lookup(struct t8 *t, struct http_request *req, const struct expose_af *af,
                   struct snap *out)
{
    return lookup_with(t, req, af, snap_of, out, sizeof(*out));
}

static bool authorize_existing(struct t8 *t, struct http_request *req, const struct expose_af *af,
                               const struct t8_request *rq, const char *supi, enum action a)
{
    struct expose_target tg = {.kind = RESOURCE_DEVICE,
                               .supi = supi,
                               .external_id = rq->external_id,
                               .subscription_id = http_request_param(req, "subscriptionId"),
                               .owner_af = af->af_id,
                               .service = EXPOSE_SVC_MONITORING_EVENT};
    struct authz_result res;
    return expose_nb_authorize(t->cfg.nb, req, af, a, &tg, &res) == IOTSEC_OK;
}

static void handle_get(struct http_request *req, void *user)
{
    struct t8 *t = user;
    struct expose_af af;
    struct text_snap sn;
    if (!begin(t, req, &af) || !lookup_with(t, req, &af, text_snap_of, &sn, sizeof(sn)))
        return;
    if (authorize_existing(t, req, &af, &sn.rq, sn.supi, ACTION_MONITORING_READ)) {
        if (sn.text)
            http_respond(req, 200, "application/json", sn.text, sn.len);
        else
            problem(req, 503, NULL, "", "out of memory");
    }
    memset(sn.supi, 0, sizeof(sn.supi));
    free(sn.text);
}

static void handle_delete(struct http_request *req, void *user)
{
    struct t8 *t = user;
    struct expose_af af;
    struct snap sn;
    if (!begin(t, req, &af) || !lookup(t, req, &af, &sn))
        return;
    bool ok = authorize_existing(t, req, &af, &sn.rq, sn.supi, ACTION_MONITORING_DELETE);
    memset(sn.supi, 0, sizeof(sn.supi));
    json_decref(sn.body);
    if (!ok)
        return;
    const char *id = http_request_param(req, "subscriptionId");
    t8_change_lock(t);
    struct t8_sub *s = t8_sub_take(t, af.af_id, id);
    t8_store_delete(t->cfg.store, af.af_id, id);
    t8_change_unlock(t);
    if (s) {
        outbound_cancel(t->notify, s->owner); /* nothing more goes out, retries included */
        t8_sub_free(t, s);
    }
    http_respond(req, 204, NULL, NULL, 0);
}

/* PUT and PATCH end here with the new body: same id, new parameters, possibly new device. */
static void replace(struct t8 *t, struct http_request *req, const struct expose_af *af,
                    json_t *body, int status_ok)
{
    const char *id = http_request_param(req, "subscriptionId");
    struct t8_request rq;
    struct t8_refusal why;
    if (t8_decode(body, wall_ms(), t->cfg.allow_http_loopback, &rq, &why) != IOTSEC_OK) {
        refusal(req, &why);
        return;
    }
    if (!destination_ok(t, req, af->af_id, &rq))
        return;
    if (rq.type == T8_NUMBER_OF_UES_IN_AN_AREA) {
        loc_area_free_members(&rq.area);
        problem(req, 400, "INVALID_MSG_FORMAT", "monitoringType",
                "an area count is a one-time request, not a subscription");
        return;
    }
    char supi[LOC_SUPI_MAX];
    if (!device_allowed(t, req, af, &rq, ACTION_MONITORING_MODIFY, id, supi))
        return;
    struct t8_sub *s = sub_new(t, af, id, &rq, body, supi);
    memset(supi, 0, sizeof(supi));
    if (s == NULL) {
        problem(req, 503, NULL, "", "out of memory");
        return;
    }
    t8_change_lock(t);
    struct t8_sub *old = t8_sub_take(t, af->af_id, id);
    if (old) /* reports under the old terms are not sent (the new one has the same owner) */
        outbound_cancel(t->notify, old->owner);
    json_t *answer = json_deep_copy(s->body);
    bool started = sub_start(t, req, s);
    t8_change_unlock(t);
    t8_sub_free(t, old);
    if (!started) {
        json_decref(answer);
        return;
    }
    if (status_ok == 204) {
        json_decref(answer);
        http_respond(req, 204, NULL, NULL, 0);
    } else {
        http_respond_json(req, 200, answer);
    }
}

static void handle_put(struct http_request *req, void *user)
{
    struct t8 *t = user;
    struct expose_af af;
    struct snap sn;
    if (!begin(t, req, &af) || !lookup(t, req, &af, &sn))
        return;
    memset(sn.supi, 0, sizeof(sn.supi));
    json_decref(sn.body);
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    replace(t, req, &af, body, 200);
    json_decref(body);
}

/* JSON Patch (RFC 6902) limited to "replace" of the parameters an AF may change. */
static void handle_patch(struct http_request *req, void *user)
{
    static const char *const paths[] = {"/notificationDestination",
                                        "/maximumNumberOfReports",
                                        "/monitorExpireTime",
                                        "/locationType",
                                        "/accuracy",
                                        "/reachabilityType"};
    struct t8 *t = user;
    struct expose_af af;
    struct snap sn;
    if (!begin(t, req, &af) || !lookup(t, req, &af, &sn))
        return;
    memset(sn.supi, 0, sizeof(sn.supi));
    json_t *patch = http_request_json_value(req); /* a JSON Patch is an array */
    if (patch == NULL) {
        json_decref(sn.body);
        return;
    }
    const char *bad = NULL;
    if (!json_is_array(patch) || json_array_size(patch) == 0 || json_array_size(patch) > 16)
        bad = "a JSON Patch array of 1..16 operations";
    for (size_t i = 0; bad == NULL && i < json_array_size(patch); i++) {
        json_t *op = json_array_get(patch, i);
        const char *o = json_string_value(json_object_get(op, "op"));
        const char *p = json_string_value(json_object_get(op, "path"));
        json_t *v = json_object_get(op, "value");
        size_t k = 0;
        while (p && k < sizeof(paths) / sizeof(paths[0]) && strcmp(p, paths[k]) != 0)
            k++;
        if (o == NULL || strcmp(o, "replace") != 0 || p == NULL ||
            k == sizeof(paths) / sizeof(paths[0]) || v == NULL)
            bad = "only \"replace\" of notificationDestination, maximumNumberOfReports, "
                  "monitorExpireTime, locationType, accuracy, reachabilityType";
        else
            json_object_set(sn.body, p + 1, v);
    }
    json_decref(patch);
    if (bad)
        problem(req, 400, "INVALID_MSG_FORMAT", "", bad);
    else
        replace(t, req, &af, sn.body, 204);
    json_decref(sn.body);
}

int t8_routes(struct t8 *t)
{
    struct {
        const char *method, *pattern;
        http_handler_fn fn;
    } routes[] = {
        {"POST", BASE, handle_create},
        {"GET", BASE, handle_list},
        {"GET", BASE "/{subscriptionId}", handle_get},
        {"PUT", BASE "/{subscriptionId}", handle_put},
        {"PATCH", BASE "/{subscriptionId}", handle_patch},
        {"DELETE", BASE "/{subscriptionId}", handle_delete},
    };
    int rc = IOTSEC_OK;
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(routes) / sizeof(routes[0]); i++)
        rc = expose_nb_route(t->cfg.nb, routes[i].method, routes[i].pattern, routes[i].fn, t);
    return rc;
}
