/* The AF's group message API on the northbound face (TS 29.522 MBSGroupMsgDelivery,
 * docs/group.md), through the exposure service (OAuth2 token bound to the AF's certificate,
 * scope "group-message"):
 *   POST   /3gpp-mbs-group-msg/v1/deliveries            MbsGroupMsgDel: one message to a group
 *   GET    /3gpp-mbs-group-msg/v1/deliveries            the AF's deliveries
 *   GET    /3gpp-mbs-group-msg/v1/deliveries/{delRef}   one, with its counts
 *   DELETE /3gpp-mbs-group-msg/v1/deliveries/{delRef}   withdraws the record
 * The AF names the group only by its External Group ID; it may send only with a live consent
 * of the group's owner for the service group-message (the expose consent model), otherwise
 * 403 GROUP_NOT_AUTHORISED, audited. Nothing here carries a local group id or a SUPI: counts
 * only. The status notification (MbsGroupMsgDelStatusNotif) goes to notifUri once every
 * member's request ended. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/rand.h"
#include "expose/northbound.h"
#include "group/group_deliver_int.h"
#include "subscriber/subscriber.h"

#define API "/3gpp-mbs-group-msg/v1"

/* ---- base64 (TS 29.122 Bytes: RFC 4648 §4, padded) ------------------------------------------ */

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict: the standard alphabet, padded to a multiple of 4. IOTSEC_ERR_FULL beyond cap. */
static int b64_decode(const char *in, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 != 0)
        return IOTSEC_ERR_INVALID;
    if (n / 4 * 3 > cap + 2)
        return IOTSEC_ERR_FULL;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = b64_val(in[i + k])) < 0) {
                return IOTSEC_ERR_INVALID;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int k = 0; k < 3 - pad; k++) {
            if (o == cap)
                return IOTSEC_ERR_FULL;
            out[o++] = b[k];
        }
    }
    *out_len = o;
    return IOTSEC_OK;
}

/* ---- answers --------------------------------------------------------------------------- */

static void invalid(struct http_request *req, const char *pointer, const char *reason)
{
    http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", pointer, reason);
}

static void not_authorised(struct http_request *req, const char *detail)
{
    http_respond_problem(req, 403, NULL, detail, "GROUP_NOT_AUTHORISED", NULL, 0);
}

static json_t *delivery_json(struct group_delivery *d, const struct group_delivery_row *r)
{
    int64_t delivered = r->delivered, failed = r->failed;
    group_dlv_counts(d, r->del_ref, &delivered, &failed); /* live, while in flight */
    int64_t pending = r->total - delivered - failed;
    json_t *area = json_loads(r->serv_area, 0, NULL);
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:s, s:s, s:s, s:b}", "afId", r->af_id, "externalGroupId", r->external_id,
        "mbsServArea", area ? area : json_object(), "startTime", r->start_time, "stopTime",
        r->stop_time, "notifUri", r->notif_uri, "delStatus", pending == 0 && failed == 0);
    /* our counts (the schema allows more members): never an identity, local or not */
    json_object_set_new(o, "deliveryCounts",
                        json_pack("{s:I, s:I, s:I, s:I, s:b}", "members", (json_int_t)r->total,
                                  "delivered", (json_int_t)delivered, "pending",
                                  (json_int_t)pending, "failed", (json_int_t)failed, "multicast",
                                  r->multicast));
    return o;
}

/* ---- POST: send one message ------------------------------------------------------------ */

struct target {
    char *url;
    uint32_t leaf;
};

struct send_op {
    struct group_delivery *d;
    struct http_request *req;
    struct expose_af af;
    struct group_delivery_row row;
    uint8_t payload[GROUP_MAX_PAYLOAD];
    size_t payload_len;
    uint8_t msg[GROUP_MAX_PAYLOAD + GROUP_MSG_BATCH_OVERHEAD_MAX];
    size_t msg_len;
    struct group_row g;
    struct target *t;
    size_t nt, cap;
    char mc_dest[64], mc_iface[64];
    struct send_op *next; /* in the delivery module's send queue */
    int rc;               /* this request's outcome in its batch's job */
    bool protected;
};

static void send_free(struct send_op *op)
{
    for (size_t i = 0; i < op->nt; i++)
        free(op->t[i].url);
    free(op->t);
    free(op);
}

static int add_target(const char *supi, const char *url, uint32_t leaf, bool active, void *ctx)
{
    (void)supi;
    struct send_op *op = ctx;
    if (url[0] == 0 || !active) /* no endpoint (multicast only), or quarantined: nothing */
        return IOTSEC_OK;
    if (op->nt == op->cap) {
        size_t cap = op->cap ? op->cap * 2 : 64;
        void *n = realloc(op->t, cap * sizeof(*op->t));
        if (n == NULL)
            return IOTSEC_ERR_NOMEM;
        op->t = n;
        op->cap = cap;
    }
    if ((op->t[op->nt].url = strdup(url)) == NULL)
        return IOTSEC_ERR_NOMEM;
    op->t[op->nt++].leaf = leaf;
    return IOTSEC_OK;
}

/* ---- the send queue: requests that arrive while the writer is busy share one job, and the
 * messages of one group in it share one signature (alg 2, up to GROUP_BATCH_MAX each) ---- */

#define SEND_QUEUE_FAILED 1 /* not an iotsec_err: no job could be submitted for the queue */

struct send_batch {
    struct group_delivery *d;
    struct send_op *ops; /* taken from the queue by the job's first run (linked by next) */
    bool taken;
};

/* The group lookup of every request (a missing group is that request's 404). */
static int batch_find(struct store_conn *c, struct send_batch *b)
{
    for (struct send_op *op = b->ops; op != NULL; op = op->next) {
        for (size_t k = 0; k < op->nt; k++) /* a retried job starts again */
            free(op->t[k].url);
        op->nt = 0;
        op->protected = false;
        op->g.ref = 0;
        op->rc = group_store_find(c, op->row.external_id, &op->g);
        if (op->rc != IOTSEC_OK && op->rc != IOTSEC_ERR_NOTFOUND)
            return op->rc;
    }
    return IOTSEC_OK;
}

/* One signature per group and up to GROUP_BATCH_MAX messages; an empty group or one with too
 * many senders fails its requests only. */
static int batch_protect(struct store_conn *c, struct send_batch *b)
{
    for (struct send_op *first = b->ops; first != NULL; first = first->next) {
        struct send_op *chunk[GROUP_BATCH_MAX];
        if (first->rc != IOTSEC_OK || first->protected)
            continue;
        struct group_send m[GROUP_BATCH_MAX];
        uint16_t k = 0;
        for (struct send_op *op = first; op != NULL && k < GROUP_BATCH_MAX; op = op->next) {
            if (op->rc != IOTSEC_OK || op->protected || op->g.ref != first->g.ref)
                continue;
            chunk[k] = op;
            m[k++] = (struct group_send){.sender = group_sender_of(op->af.af_id),
                                         .pt = op->payload,
                                         .pt_len = op->payload_len,
                                         .out = op->msg,
                                         .out_max = sizeof(op->msg)};
        }
        uint32_t epoch = 0;
        int rc = group_service_protect_batch(b->d->gs, c, &first->g, m, k, &epoch);
        if (rc != IOTSEC_OK && rc != IOTSEC_ERR_STATE && rc != IOTSEC_ERR_BUSY)
            return rc;
        for (uint16_t j = 0; j < k; j++) {
            chunk[j]->protected = true;
            chunk[j]->rc = rc;
            chunk[j]->msg_len = m[j].out_len;
            chunk[j]->row.epoch = epoch;
        }
    }
    return IOTSEC_OK;
}

/* A protected request's targets, multicast address and delivery record. */
static int send_record(struct store_conn *c, struct send_op *op)
{
    int rc = group_store_targets(c, op->g.ref, add_target, op);
    if (rc != IOTSEC_OK)
        return rc;
    rc = group_store_multicast_get(c, op->g.ref, op->mc_dest, sizeof(op->mc_dest), op->mc_iface,
                                   sizeof(op->mc_iface));
    if (rc == IOTSEC_ERR_NOTFOUND)
        op->mc_dest[0] = 0;
    else if (rc != IOTSEC_OK)
        return rc;
    op->row.multicast = op->mc_dest[0] != 0;
    op->row.total = (int64_t)op->nt;
    return group_store_delivery_insert(c, &op->row);
}

static int batch_run(struct store_conn *c, void *arg)
{
    struct send_batch *b = arg;
    struct group_delivery *d = b->d;
    if (!b->taken) { /* what is queued now; later requests make the next job */
        pthread_mutex_lock(&d->mu);
        b->ops = d->sendq;
        d->sendq = d->sendq_tail = NULL;
        d->sendq_job = false;
        pthread_mutex_unlock(&d->mu);
        b->taken = true;
    }
    int rc = batch_find(c, b);
    if (rc == IOTSEC_OK)
        rc = batch_protect(c, b);
    for (struct send_op *op = b->ops; rc == IOTSEC_OK && op != NULL; op = op->next)
        if (op->rc == IOTSEC_OK)
            rc = send_record(c, op);
    return rc;
}

static void send_done(struct send_op *op, int rc);

static void batch_done(void *arg, int rc)
{
    struct send_batch *b = arg;
    struct send_op *op = b->ops;
    if (!b->taken) { /* the job never ran (the store stopped it): its queue is its own */
        pthread_mutex_lock(&b->d->mu);
        op = b->d->sendq;
        b->d->sendq = b->d->sendq_tail = NULL;
        b->d->sendq_job = false;
        pthread_mutex_unlock(&b->d->mu);
        rc = rc != IOTSEC_OK ? rc : SEND_QUEUE_FAILED;
    }
    while (op != NULL) {
        struct send_op *next = op->next;
        send_done(op, rc != IOTSEC_OK ? rc : op->rc);
        op = next;
    }
    free(b);
}

/* Queues op; the first request of an idle queue submits the job that will take them all. */
static void send_enqueue(struct group_delivery *d, struct send_op *op)
{
    pthread_mutex_lock(&d->mu);
    op->next = NULL;
    if (d->sendq_tail)
        d->sendq_tail->next = op;
    else
        d->sendq = op;
    d->sendq_tail = op;
    bool submit = !d->sendq_job;
    d->sendq_job = true;
    pthread_mutex_unlock(&d->mu);
    if (!submit)
        return;
    struct send_batch *b = calloc(1, sizeof(*b));
    int rc = IOTSEC_ERR_NOMEM;
    if (b != NULL) {
        b->d = d;
        struct store_job job = {batch_run, batch_done, b};
        rc = store_submit(d->store, &job);
    }
    if (rc == IOTSEC_OK)
        return;
    free(b);
    /* no job will take the queue: every request in it is answered busy */
    pthread_mutex_lock(&d->mu);
    struct send_op *q = d->sendq;
    d->sendq = d->sendq_tail = NULL;
    d->sendq_job = false;
    pthread_mutex_unlock(&d->mu);
    while (q != NULL) {
        struct send_op *next = q->next;
        send_done(q, SEND_QUEUE_FAILED);
        q = next;
    }
}

/* Committed: one datagram to the multicast group, one request per member endpoint. */
static void fan_out(struct send_op *op)
{
    struct group_delivery *d = op->d;
    if (atomic_load(&d->stopping))
        return; /* the daemon stops: the engine is gone; the record says what was sent */
    if (op->mc_dest[0] &&
        group_multicast_send(op->mc_dest, op->mc_iface, op->msg, op->msg_len) != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "groups: a message could not be multicast");
    struct dlv *v = calloc(1, sizeof(*v));
    size_t len = 0;
    char *body = group_push_body("message", op->msg, op->msg_len, &len);
    if (v == NULL || body == NULL) {
        free(v);
        free(body);
        log_msg(LOG_ERROR, NULL, "groups: out of memory: a delivery was not fanned out");
        return;
    }
    snprintf(v->del_ref, sizeof(v->del_ref), "%s", op->row.del_ref);
    snprintf(v->af_id, sizeof(v->af_id), "%s", op->row.af_id);
    snprintf(v->notif_uri, sizeof(v->notif_uri), "%s", op->row.notif_uri);
    v->total = (int64_t)op->nt;
    v->refs = 1 + (unsigned)op->nt + (op->nt == 0);
    pthread_mutex_lock(&d->mu);
    v->next = d->live;
    d->live = v;
    pthread_mutex_unlock(&d->mu);
    if (op->nt == 0)
        group_delivery_settle(d, v);
    for (size_t i = 0; i < op->nt; i++) {
        char owner[OUTBOUND_OWNER_MAX];
        group_owner_of(op->g.ref, op->t[i].leaf, owner);
        if (outbound_post(d->out, op->t[i].url, owner, body, len, v) != IOTSEC_OK)
            group_dlv_answered(d, v, false);
    }
    free(body);
}

static void send_done(struct send_op *op, int rc)
{
    struct http_request *req = op->req;
    if (rc != IOTSEC_OK && op->g.ref != 0) /* the sequences it reserved were not committed */
        group_service_forget(op->d->gs, op->g.ref);
    if (rc == IOTSEC_OK) {
        fan_out(op);
        char loc[512];
        snprintf(loc, sizeof(loc), "%s" API "/deliveries/%s", op->d->api_root, op->row.del_ref);
        http_response_header(req, "Location", loc);
        http_respond_json(req, 201, delivery_json(op->d, &op->row));
    } else if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
    } else if (rc == IOTSEC_ERR_STATE) { /* an empty group: no traffic key */
        http_respond_problem(req, 409, NULL, "the group has no members", "GROUP_EMPTY", NULL, 0);
    } else if (rc == IOTSEC_ERR_BUSY) {
        http_respond_problem(req, 409, NULL, "too many senders in this group", "TOO_MANY_SENDERS",
                             NULL, 0);
    } else if (rc == SEND_QUEUE_FAILED) {
        http_respond_unavailable(req, "NF_CONGESTION", "the database is busy", 1);
    } else {
        http_respond_error(req, rc, "the message could not be protected");
    }
    send_free(op);
}

static bool time_ok(json_t *v, char *out, size_t cap)
{
    int64_t t;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) >= cap || sub_parse_time(s, &t) != IOTSEC_OK)
        return false;
    snprintf(out, cap, "%s", s);
    return true;
}

/* The request body into op->row and op->payload; answers and returns false otherwise. */
static bool decode(struct http_request *req, struct send_op *op, json_t *o)
{
    const char *ext = json_string_value(json_object_get(o, "externalGroupId"));
    const char *payload = json_string_value(json_object_get(o, "groupMsgDelPayload"));
    const char *notif = json_string_value(json_object_get(o, "notifUri"));
    const char *af_id = json_string_value(json_object_get(o, "afId"));
    json_t *area = json_object_get(o, "mbsServArea");
    if (ext == NULL || !group_external_id_valid(ext)) {
        invalid(req, "/externalGroupId", "an External Group ID: <id>@<domain>");
        return false;
    }
    if (json_object_get(o, "afId") != NULL && (af_id == NULL || strcmp(af_id, op->af.af_id))) {
        invalid(req, "/afId", "absent, or the AF of the token");
        return false;
    }
    if (!json_is_object(area)) {
        invalid(req, "/mbsServArea", "an MbsServArea object");
        return false;
    }
    char *area_text = json_dumps(area, JSON_COMPACT);
    bool area_ok = area_text != NULL && strlen(area_text) < sizeof(op->row.serv_area);
    if (area_ok)
        snprintf(op->row.serv_area, sizeof(op->row.serv_area), "%s", area_text);
    free(area_text);
    if (!area_ok) {
        invalid(req, "/mbsServArea", "at most 1,000 bytes");
        return false;
    }
    if (!time_ok(json_object_get(o, "startTime"), op->row.start_time, sizeof(op->row.start_time))) {
        invalid(req, "/startTime", "an RFC 3339 date-time");
        return false;
    }
    if (!time_ok(json_object_get(o, "stopTime"), op->row.stop_time, sizeof(op->row.stop_time))) {
        invalid(req, "/stopTime", "an RFC 3339 date-time");
        return false;
    }
    if (payload == NULL) {
        http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", "/groupMsgDelPayload",
                             "the message to deliver (base64)");
        return false;
    }
    int rc = b64_decode(payload, op->payload, sizeof(op->payload), &op->payload_len);
    if (rc == IOTSEC_ERR_FULL) {
        http_respond_problem(req, 413, NULL, "the payload is over 4,096 bytes", "PAYLOAD_TOO_LARGE",
                             NULL, 0);
        return false;
    }
    if (rc != IOTSEC_OK) {
        invalid(req, "/groupMsgDelPayload", "base64 (RFC 4648 section 4, padded)");
        return false;
    }
    struct outbound_rules rules = op->d->cfg.rules;
    const char *why = "an https URL";
    if (notif == NULL || strlen(notif) > OUTBOUND_URL_MAX ||
        expose_nb_af_destinations(op->d->cfg.nb, op->af.af_id, &rules) != IOTSEC_OK ||
        outbound_url_check(notif, &rules, &why) != IOTSEC_OK) {
        invalid(req, "/notifUri", why);
        return false;
    }
    snprintf(op->row.external_id, sizeof(op->row.external_id), "%s", ext);
    snprintf(op->row.notif_uri, sizeof(op->row.notif_uri), "%s", notif);
    return true;
}

/* The owner's consent for group-message on this group, decided and audited by the exposure
 * service; then that the consent is the group owner's own. Answers 403 otherwise. */
static bool authorised(struct group_delivery *d, struct http_request *req,
                       const struct expose_af *af, const char *ext, enum action a,
                       const char *owner_af)
{
    struct expose_target t = {.kind = RESOURCE_GROUP,
                              .group_id = ext,
                              .external_id = ext,
                              .owner_af = owner_af,
                              .service = EXPOSE_SVC_GROUP_MESSAGE};
    struct authz_result res;
    char consent[EXPOSE_ID_MAX + 1] = "";
    int rc = expose_nb_decide(d->cfg.nb, af, a, &t, http_request_id(req), &res, consent);
    if (rc != IOTSEC_OK) {
        http_respond_unavailable(req, "NF_CONGESTION", "the authorisation service is busy", 1);
        return false;
    }
    if (!res.allow) {
        char detail[160];
        snprintf(detail, sizeof(detail), "not authorised for this group: %s",
                 authz_reason_str(res.reason));
        not_authorised(req, detail);
        return false;
    }
    /* the consent must be the group owner's: another owner cannot lend a group */
    struct store_conn *c;
    struct group_row g;
    char owner[GROUP_OWNER_MAX + 1] = "";
    rc = store_reader_get(d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_find(c, ext, &g);
    if (rc == IOTSEC_OK && consent[0])
        rc = group_store_consent_owner(c, consent, owner, sizeof(owner));
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        return false;
    }
    if (rc != IOTSEC_OK) {
        http_respond_error(req, rc, "the group could not be read");
        return false;
    }
    if (strcmp(owner, g.owner) != 0) {
        char res_text[GROUP_EXT_ID_MAX + 16];
        snprintf(res_text, sizeof(res_text), "group:%s", ext);
        expose_nb_audit(d->cfg.nb, af, authz_action_str(a), res_text, false,
                        "DENY_CONSENT_NOT_GROUP_OWNER", http_request_id(req));
        not_authorised(req, "not authorised for this group: the consent is not its owner's");
        return false;
    }
    return true;
}

static void post_delivery(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    struct send_op *op = calloc(1, sizeof(*op));
    if (op == NULL) {
        http_respond_unavailable(req, "NF_CONGESTION", "out of memory", 1);
        return;
    }
    op->d = d;
    op->req = req;
    if (expose_nb_authenticate(d->cfg.nb, req, EXPOSE_SVC_GROUP_MESSAGE, &op->af) != IOTSEC_OK) {
        free(op);
        return;
    }
    expose_af_fix(&op->af);
    json_t *o = http_request_json(req);
    if (o == NULL) {
        free(op);
        return;
    }
    bool ok = decode(req, op, o);
    json_decref(o);
    if (!ok || !authorised(d, req, &op->af, op->row.external_id, ACTION_GROUP_MESSAGE_SEND, NULL)) {
        free(op);
        return;
    }
    uint8_t rnd[12];
    if (crypto_random(rnd, sizeof(rnd)) != IOTSEC_OK) {
        free(op);
        http_respond_error(req, IOTSEC_ERR_CRYPTO, NULL);
        return;
    }
    char *p = op->row.del_ref + sprintf(op->row.del_ref, "gmd-");
    for (size_t i = 0; i < sizeof(rnd); i++)
        p += sprintf(p, "%02x", rnd[i]);
    snprintf(op->row.af_id, sizeof(op->row.af_id), "%s", op->af.af_id);
    op->row.created_at = (int64_t)time(NULL);
    if (http_request_defer(req) != IOTSEC_OK) {
        free(op);
        http_respond_unavailable(req, "NF_CONGESTION", "out of memory", 1);
        return;
    }
    send_enqueue(d, op);
}

/* ---- reads, withdrawal ----------------------------------------------------------------- */

/* The AF's own delivery delRef (404 for another AF's: indistinguishable from none), with the
 * group's consent still live. */
static bool own_delivery(struct group_delivery *d, struct http_request *req, struct expose_af *af,
                         struct group_delivery_row *row)
{
    if (expose_nb_authenticate(d->cfg.nb, req, EXPOSE_SVC_GROUP_MESSAGE, af) != IOTSEC_OK)
        return false;
    expose_af_fix(af);
    const char *ref = http_request_param(req, "delRef");
    struct store_conn *c;
    int rc = strlen(ref) < GROUP_DEL_REF_MAX ? store_reader_get(d->store, &c) : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK)
        rc = group_store_delivery_get(c, ref, row);
    if (rc == IOTSEC_OK && strcmp(row->af_id, af->af_id) != 0) {
        expose_nb_audit(d->cfg.nb, af, authz_action_str(ACTION_GROUP_MESSAGE_READ), "delivery",
                        false, "DENY_OTHER_AF_DELIVERY", http_request_id(req));
        rc = IOTSEC_ERR_NOTFOUND;
    }
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such delivery", "RESOURCE_NOT_FOUND", NULL, 0);
        return false;
    }
    if (rc != IOTSEC_OK) {
        http_respond_error(req, rc, "the delivery could not be read");
        return false;
    }
    return authorised(d, req, af, row->external_id, ACTION_GROUP_MESSAGE_READ, af->af_id);
}

static void get_delivery(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    struct expose_af af;
    struct group_delivery_row row;
    if (own_delivery(d, req, &af, &row))
        http_respond_json(req, 200, delivery_json(d, &row));
}

struct list_ctx {
    struct group_delivery *d;
    json_t *arr;
};

static void list_one(const struct group_delivery_row *r, void *ctx)
{
    struct list_ctx *x = ctx;
    json_array_append_new(x->arr, delivery_json(x->d, r));
}

static void get_deliveries(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    struct expose_af af;
    if (expose_nb_authenticate(d->cfg.nb, req, EXPOSE_SVC_GROUP_MESSAGE, &af) != IOTSEC_OK)
        return;
    expose_af_fix(&af);
    struct list_ctx x = {d, json_array()};
    struct store_conn *c;
    int rc = store_reader_get(d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_deliveries_of(c, af.af_id, list_one, &x);
    if (rc != IOTSEC_OK) {
        json_decref(x.arr);
        http_respond_error(req, rc, "the deliveries could not be read");
        return;
    }
    if (expose_nb_audit_allow(d->cfg.nb, req, &af, "group-message.list", "deliveries",
                              "ALLOW_OWN") != IOTSEC_OK) {
        json_decref(x.arr);
        return;
    }
    http_respond_json(req, 200, x.arr);
}

struct del_job {
    const char *del_ref, *af_id;
};

static int del_run(struct store_conn *c, void *arg)
{
    struct del_job *j = arg;
    return group_store_delivery_delete(c, j->del_ref, j->af_id);
}

static void delete_delivery(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    struct expose_af af;
    struct group_delivery_row row;
    if (!own_delivery(d, req, &af, &row))
        return;
    struct del_job j = {row.del_ref, af.af_id};
    int rc = store_write_sync(d->store, del_run, &j);
    if (rc == IOTSEC_OK)
        http_respond(req, 204, NULL, NULL, 0);
    else if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "no such delivery", "RESOURCE_NOT_FOUND", NULL, 0);
    else
        http_respond_error(req, rc, "the delivery could not be withdrawn");
}

void group_delivery_notify(struct group_delivery *d, const struct dlv *v, bool ok)
{
    char owner[OUTBOUND_OWNER_MAX], body[32];
    snprintf(owner, sizeof(owner), "af:%s", v->af_id);
    int n = snprintf(body, sizeof(body), "{\"delStatus\":%s}", ok ? "true" : "false");
    outbound_post(d->out, v->notif_uri, owner, body, (size_t)n, NULL);
}

int group_nb_routes(struct group_delivery *d)
{
    struct expose_nb *nb = d->cfg.nb;
    int rc = expose_nb_route(nb, "POST", API "/deliveries", post_delivery, d);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(nb, "GET", API "/deliveries", get_deliveries, d);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(nb, "GET", API "/deliveries/{delRef}", get_delivery, d);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(nb, "DELETE", API "/deliveries/{delRef}", delete_delivery, d);
    return rc;
}
