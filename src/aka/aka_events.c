/* The UDM's AuthEvent resource (TS 29.503 §5.4.2.3 ConfirmAuth, §5.4.2.4 DeleteAuth): a core
 * that keeps its own AUSF reports each authentication result here; iotsec stores it (bounded
 * per SUPI) for the operator's view of a subscription. iotsec's own AUSF reports here too when
 * the AMF cancels a confirmed result. Writes go through the store's writer; the request is
 * answered once the event is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aka/aka_int.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/rand.h"

static const char *const auth_types[] = {"5G_AKA", "EAP_AKA_PRIME", "EAP_TLS", "EAP_TTLS", "NONE"};

/* RFC 3339 date-time as TS 29.571 DateTime: 2026-12-07T17:20:47[.fff](Z|+hh:mm). */
static bool is_date_time(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = s ? strlen(s) : 0;
    if (n < 20 || n >= sizeof(((struct aka_auth_event *)0)->time_stamp))
        return false;
    for (size_t i = 0; i < sizeof(form) - 1; i++)
        if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i])
            return false;
    const char *p = s + sizeof(form) - 1;
    if (*p == '.') {
        const char *d = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return false;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    return (*p == '+' || *p == '-') && strlen(p) == 6 && p[1] >= '0' && p[1] <= '9' &&
           p[2] >= '0' && p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' &&
           p[5] <= '9';
}

/* Decodes an AuthEvent body into ev (answers 400 and returns false on a bad one). */
static bool decode_event(struct http_request *req, json_t *o, struct aka_auth_event *ev)
{
    static const char *const required[] = {"nfInstanceId", "success", "timeStamp", "authType",
                                           "servingNetworkName"};
    char ptr[40];
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (json_object_get(o, required[i]) == NULL) {
            snprintf(ptr, sizeof(ptr), "/%s", required[i]);
            http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", ptr, "a mandatory IE");
            return false;
        }
    const char *nf = json_string_value(json_object_get(o, "nfInstanceId"));
    json_t *success = json_object_get(o, "success");
    const char *ts = json_string_value(json_object_get(o, "timeStamp"));
    const char *type = json_string_value(json_object_get(o, "authType"));
    const char *snn = json_string_value(json_object_get(o, "servingNetworkName"));
    json_t *removal = json_object_get(o, "authRemovalInd");
    const char *bad = NULL, *why = NULL;
    struct snn parsed;
    if (!aka_is_uuid(nf))
        bad = "/nfInstanceId", why = "a UUID";
    else if (!json_is_boolean(success))
        bad = "/success", why = "a boolean";
    else if (!is_date_time(ts))
        bad = "/timeStamp", why = "an RFC 3339 date-time";
    else if (snn == NULL || snn_parse(snn, &parsed) != IOTSEC_OK)
        bad = "/servingNetworkName", why = "5G:mncXXX.mccYYY.3gppnetwork.org[:NID]";
    else if (removal != NULL && !json_is_boolean(removal))
        bad = "/authRemovalInd", why = "a boolean";
    bool known_type = false;
    for (size_t i = 0; type && i < sizeof(auth_types) / sizeof(auth_types[0]); i++)
        known_type = known_type || strcmp(type, auth_types[i]) == 0;
    if (bad == NULL && !known_type)
        bad = "/authType", why = "5G_AKA, EAP_AKA_PRIME, EAP_TLS, EAP_TTLS or NONE";
    if (bad != NULL) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", bad, why);
        return false;
    }
    snprintf(ev->nf_instance_id, sizeof(ev->nf_instance_id), "%s", nf);
    ev->success = json_is_true(success);
    snprintf(ev->time_stamp, sizeof(ev->time_stamp), "%s", ts);
    snprintf(ev->auth_type, sizeof(ev->auth_type), "%s", type);
    snprintf(ev->serving_network, sizeof(ev->serving_network), "%s", snn);
    ev->removed = json_is_true(removal);
    return true;
}

static json_t *event_json(const struct aka_auth_event *ev)
{
    json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:s}", "nfInstanceId", ev->nf_instance_id,
                          "success", ev->success, "timeStamp", ev->time_stamp, "authType",
                          ev->auth_type, "servingNetworkName", ev->serving_network);
    if (o && ev->removed)
        json_object_set_new(o, "authRemovalInd", json_true());
    return o;
}

/* The path's SUPI, canonical, into out (answers 400 and returns false on a bad one). */
static bool path_supi(struct http_request *req, char *out, size_t cap)
{
    struct supi s;
    const char *v = http_request_param(req, "supi");
    if (v == NULL || supi_parse(v, &s) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "supi",
                             "imsi-<digits> or nai-<user>@<realm>");
        return false;
    }
    supi_format(&s, out, cap);
    return true;
}

enum event_op { EVENT_CREATE, EVENT_REMOVE, EVENT_REPORT };

struct event_job {
    struct aka *aka;
    struct http_request *req;
    enum event_op op;
    struct aka_auth_event ev;
};

static int event_run(struct store_conn *conn, void *arg)
{
    struct event_job *job = arg;
    if (job->op == EVENT_REMOVE)
        return aka_event_remove_run(conn, job->ev.supi, job->ev.id);
    return aka_event_insert_run(conn, &job->ev);
}

/* On the writer thread, once the event is durable (or not). */
static void event_done(void *arg, int rc)
{
    struct event_job *job = arg;
    struct http_request *req = job->req;
    if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "no such authentication event for this SUPI",
                             "DATA_NOT_FOUND", NULL, 0);
    else if (rc != IOTSEC_OK)
        http_respond_error(req, rc, "storing the authentication event");
    else if (job->op != EVENT_CREATE)
        http_respond(req, 204, NULL, NULL, 0);
    else {
        char location[512];
        snprintf(location, sizeof(location), "%s/nudm-ueau/v1/%s/auth-events/%s",
                 job->aka->cfg.api_root, job->ev.supi, job->ev.id);
        http_response_header(req, "Location", location);
        http_respond_json(req, 201, event_json(&job->ev));
    }
    free(job);
}

static void submit(struct event_job *job)
{
    struct store_job sj = {event_run, event_done, job};
    http_request_defer(job->req);
    int rc = store_submit(job->aka->store, &sj);
    if (rc != IOTSEC_OK) {
        http_respond_error(job->req, rc, "storing the authentication event");
        free(job);
    }
}

static struct event_job *job_new(struct aka *a, struct http_request *req, enum event_op op)
{
    struct event_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "authentication event");
        return NULL;
    }
    job->aka = a;
    job->req = req;
    job->op = op;
    job->ev.created_ms = aka_now_ms();
    return job;
}

static int new_event_id(char out[AKA_EVENT_ID_LEN + 1])
{
    uint8_t raw[AKA_EVENT_ID_LEN / 2];
    int rc = crypto_random(raw, sizeof(raw));
    if (rc == IOTSEC_OK)
        hex_encode(raw, sizeof(raw), out);
    return rc;
}

void aka_udm_auth_event_create(struct http_request *req, void *user)
{
    struct aka *a = user;
    char supi[SUPI_STRING_MAX];
    if (!path_supi(req, supi, sizeof(supi)))
        return;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    struct event_job *job = job_new(a, req, EVENT_CREATE);
    bool ok = job && decode_event(req, body, &job->ev);
    json_decref(body);
    if (!ok) {
        free(job);
        return;
    }
    struct subscription sub;
    int rc = subscriber_get(a->store, supi, &sub);
    if (rc == IOTSEC_OK)
        rc = new_event_id(job->ev.id);
    if (rc != IOTSEC_OK) {
        if (rc == IOTSEC_ERR_NOTFOUND)
            http_respond_problem(req, 404, NULL, "no subscription for this SUPI", "USER_NOT_FOUND",
                                 NULL, 0);
        else
            http_respond_error(req, rc, "authentication event");
        free(job);
        return;
    }
    snprintf(job->ev.supi, sizeof(job->ev.supi), "%s", supi);
    submit(job);
}

/* TS 29.503 DeleteAuth: a PUT of the AuthEvent with authRemovalInd true marks the result
 * removed (Rel-18 defines no DELETE on this resource). */
void aka_udm_auth_event_remove(struct http_request *req, void *user)
{
    struct aka *a = user;
    char supi[SUPI_STRING_MAX];
    if (!path_supi(req, supi, sizeof(supi)))
        return;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    struct event_job *job = job_new(a, req, EVENT_REMOVE);
    bool ok = job && decode_event(req, body, &job->ev);
    json_decref(body);
    if (ok && !job->ev.removed) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/authRemovalInd",
                             "true: this operation only removes an authentication result");
        ok = false;
    }
    const char *id = http_request_param(req, "authEventId");
    if (ok && (id == NULL || strlen(id) != AKA_EVENT_ID_LEN)) {
        http_respond_problem(req, 404, NULL, "no such authentication event for this SUPI",
                             "DATA_NOT_FOUND", NULL, 0);
        ok = false;
    }
    if (!ok) {
        free(job);
        return;
    }
    snprintf(job->ev.supi, sizeof(job->ev.supi), "%s", supi);
    snprintf(job->ev.id, sizeof(job->ev.id), "%s", id);
    submit(job);
}

void aka_report_removal(struct aka *a, struct http_request *req, const struct auth_ctx *ctx)
{
    struct event_job *job = job_new(a, req, EVENT_REPORT);
    if (job == NULL)
        return;
    struct aka_auth_event *ev = &job->ev;
    snprintf(ev->supi, sizeof(ev->supi), "%s", ctx->supi);
    snprintf(ev->nf_instance_id, sizeof(ev->nf_instance_id), "%s", a->instance_id);
    ev->success = true;
    time_t now = (time_t)(ev->created_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ev->time_stamp, sizeof(ev->time_stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(ev->auth_type, sizeof(ev->auth_type), "%s",
             ctx->kind == AUTH_CTX_5G_AKA ? "5G_AKA" : "EAP_AKA_PRIME");
    snprintf(ev->serving_network, sizeof(ev->serving_network), "%s", ctx->snn);
    ev->removed = true;
    if (new_event_id(ev->id) != IOTSEC_OK) {
        http_respond_error(req, IOTSEC_ERR_CRYPTO, "authentication event");
        free(job);
        return;
    }
    submit(job);
}

/* ---- the admin face ---- */

static void add_event(const struct aka_auth_event *ev, void *ctx)
{
    json_t *o = event_json(ev);
    if (o) {
        json_object_set_new(o, "id", json_string(ev->id));
        json_object_set_new(o, "storedAt", json_integer(ev->created_ms / 1000));
    }
    json_array_append_new(ctx, o);
}

void aka_admin_auth_events(struct http_request *req, void *user)
{
    struct aka *a = user;
    const struct http_peer *peer = http_request_peer(req);
    if (http_request_principal(req) == NULL && /* named by the face's gate (account.h) */
        (!peer->has_cert || strcmp(peer->cert_sha256_hex, a->cfg.admin_cert_sha256) != 0)) {
        http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                             0);
        return;
    }
    char supi[SUPI_STRING_MAX];
    if (!path_supi(req, supi, sizeof(supi)))
        return;
    json_t *list = json_array();
    int rc = list ? aka_auth_events_list(a->store, supi, AKA_EVENTS_KEPT, add_event, list)
                  : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        json_decref(list);
        http_respond_error(req, rc, "listing authentication events");
        return;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "authEvents", list));
}
