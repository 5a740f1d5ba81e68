/* The policy's admin face: the policy document, the audit of actions, the open throttles
 * for the UPF, and the operator's release of a quarantined device. Writes are store jobs
 * answered from their done callback (the admin loop never waits on the disk).
 *   GET /admin/v1/policy/actions[?supi=&after=&limit=]   {"actions": [...], "next"}
 *   GET /admin/v1/devices/{supi}/actions[?after=]        (limit 1000 when absent) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "http/http.h"
#include "http/query.h"
#include "policy/policy_int.h"
#include "subscriber/subscriber.h"

static bool admin_ok(struct http_request *req, struct policy_service *ps)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert &&
        strcmp(peer->cert_sha256_hex, policy_service_options(ps)->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                         0);
    return false;
}

static void handle_get_policy(struct http_request *req, void *user)
{
    struct policy p;
    if (!admin_ok(req, user))
        return;
    policy_service_get(user, &p);
    http_respond_json(req, 200, policy_to_json(&p));
}

struct put_op {
    struct http_request *req;
    struct policy_service *ps;
    struct policy policy;
    struct policy_save_job save;
    char *doc;
};

static int put_run(struct store_conn *conn, void *arg)
{
    return policy_store_save(conn, &((struct put_op *)arg)->save);
}

static void put_done(void *arg, int rc)
{
    struct put_op *op = arg;
    if (rc == IOTSEC_OK) {
        policy_service_set(op->ps, &op->policy);
        http_respond_json(op->req, 200, policy_to_json(&op->policy));
    } else {
        http_respond_error(op->req, rc, "saving the policy");
    }
    free(op->doc);
    free(op);
}

static void handle_put_policy(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    json_t *shape = http_request_json(req); /* 415 / INVALID_MSG_FORMAT like every face */
    if (shape == NULL)
        return;
    json_decref(shape);
    size_t len;
    const char *body = http_request_body(req, &len);
    struct put_op *op = calloc(1, sizeof(*op));
    char err[96];
    if (op == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "policy");
        return;
    }
    if (policy_from_json(body, len, &op->policy, err, sizeof(err)) != IOTSEC_OK) {
        /* err is "/pointer: why" or "/pointer": name the member by its JSON Pointer */
        char *why = err[0] == '/' ? strstr(err, ": ") : NULL;
        if (why)
            *why = '\0', why += 2;
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", err[0] == '/' ? err : NULL,
                             why ? why : err);
        free(op);
        return;
    }
    for (unsigned i = 0; i < op->policy.nwebhooks; i++) {
        const char *why;
        if (policy_webhook_check(ps, op->policy.webhooks[i], &why) != IOTSEC_OK) {
            snprintf(err, sizeof(err), "/webhooks/%u", i);
            struct http_invalid_param ip = {err, why};
            http_respond_problem(req, 400, NULL, "webhook destination refused",
                                 "INVALID_MSG_FORMAT", &ip, 1);
            free(op);
            return;
        }
    }
    json_t *canon = policy_to_json(&op->policy);
    op->doc = canon ? json_dumps(canon, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(canon);
    op->req = req;
    op->ps = ps;
    op->save = (struct policy_save_job){op->doc, (int64_t)time(NULL)};
    struct store_job job = {put_run, put_done, op};
    if (op->doc == NULL || http_request_defer(req) != IOTSEC_OK) {
        free(op->doc);
        free(op);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "policy");
        return;
    }
    int src = store_submit(policy_service_options(ps)->store, &job);
    if (src != IOTSEC_OK) {
        http_respond_error(req, src, "saving");
        free(op->doc);
        free(op);
    }
}

static void record_json(const struct policy_record *r, void *ctx)
{
    char at[32];
    sub_format_time(r->at, at, sizeof(at));
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s}", "id", (json_int_t)r->id,
                          "at", at, "supi", r->supi, "action", r->action, "exception",
                          r->exception, "level", (int)r->level, "window", (json_int_t)r->window,
                          "actor", r->actor, "outcome", r->outcome);
    if (r->rate_kbps)
        json_object_set_new(o, "rate_kbps", json_integer(r->rate_kbps));
    if (r->principal[0])
        json_object_set_new(o, "principal", json_string(r->principal));
    if (r->reason[0])
        json_object_set_new(o, "reason", json_string(r->reason));
    if (r->finding_id)
        json_object_set_new(o, "finding_id", json_integer(r->finding_id));
    json_array_append_new(ctx, o);
}

static bool supi_ok(const char *s)
{
    struct supi parsed;
    return supi_parse(s, &parsed) == IOTSEC_OK;
}

static void handle_actions(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "supi", .type = HTTP_Q_STR, .valid = supi_ok, .reason = "a SUPI"},
    };
    struct http_qval q[3];
    if (!http_query_parse(req, spec, 3, q))
        return;
    const char *supi = q[2].s;
    long long a = q[0].i;
    size_t limit = q[1].set ? (size_t)q[1].i : HTTP_QUERY_LIMIT_MAX; /* 1000 before paging */
    json_t *arr = json_array();
    if (policy_store_list(policy_service_options(ps)->store, supi, a, limit, record_json, arr) !=
        IOTSEC_OK) {
        json_decref(arr);
        http_respond_problem(req, 500, NULL, "the audit could not be read", NULL, NULL, 0);
        return;
    }
    size_t n = json_array_size(arr);
    json_t *last = n ? json_object_get(json_array_get(arr, n - 1), "id") : NULL;
    http_respond_page(req, "actions", arr, limit, json_incref(last));
}

static void handle_throttles(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    json_t *arr = json_array();
    policy_store_throttles(policy_service_options(ps)->store, record_json, arr);
    http_respond_json(req, 200, http_list_json("throttles", arr));
}

static void observed_json(const struct policy_observed *o, void *ctx)
{
    json_t *actions = ctx, *a = json_object_get(actions, o->action);
    if (a == NULL) {
        a = json_pack("{s:I,s:I,s:{}}", "findings", (json_int_t)0, "devices", (json_int_t)0,
                      "by_exception");
        json_object_set_new(actions, o->action, a);
    }
    if (o->exception[0] == '\0') {
        json_object_set_new(a, "findings", json_integer(o->findings));
        json_object_set_new(a, "devices", json_integer(o->devices));
    } else {
        json_object_set_new(json_object_get(a, "by_exception"), o->exception,
                            json_integer(o->findings));
    }
}

/* What an observing policy would have done: per action, findings and distinct devices. */
static void handle_observed(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    struct policy p;
    policy_service_get(ps, &p);
    json_t *actions = json_object();
    int rc = policy_store_observed(policy_service_options(ps)->store, observed_json, actions);
    if (rc != IOTSEC_OK) {
        json_decref(actions);
        http_respond_error(req, rc, "reading the observed decisions");
        return;
    }
    http_respond_json(
        req, 200,
        json_pack("{s:s,s:o}", "mode", p.observe ? "observe" : "enforce", "would_have", actions));
}

/* ---- the operator's release and quarantine: one operation for every route ---- */

struct operator_op {
    struct http_request *req;
    struct policy_service *ps;
    struct policy_operator_job job;
};

static int operator_run(struct store_conn *conn, void *arg)
{
    return policy_store_operator(conn, &((struct operator_op *)arg)->job);
}

static void operator_done(void *arg, int rc)
{
    struct operator_op *op = arg;
    const struct policy_operator_job *j = &op->job;
    int sub = j->sub_rc;
    if (rc == IOTSEC_OK && sub == IOTSEC_OK) {
        policy_service_enforce(op->ps, j->supi, j->quarantine);
        http_respond_json(op->req, 200,
                          json_pack("{s:s, s:s, s:s, s:s}", "supi", j->supi, "state",
                                    j->quarantine ? "quarantined" : "active", "principal",
                                    j->principal, "reason", j->reason));
    } else if (sub == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(op->req, 404, NULL, "no such subscription", "USER_NOT_FOUND", NULL,
                             0);
    } else if (sub == IOTSEC_ERR_STATE) {
        http_respond_problem(op->req, 409, NULL,
                             j->quarantine ? "only an active or suspended subscription can be "
                                             "quarantined"
                                           : "the subscription is not quarantined",
                             "INVALID_STATE", NULL, 0);
    } else {
        http_respond_error(op->req, rc != IOTSEC_OK ? rc : sub, "saving the change");
    }
    free(op);
}

/* Printable text of 1..max bytes, no control characters (it goes into the audit and logs). */
static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* {"reason","by"} from the body into the job; answers 400 and returns false when bad. */
static bool operator_body(struct http_request *req, struct policy_operator_job *j)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *o = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : json_object();
    const char *reason = json_string_value(json_object_get(o, "reason"));
    const char *by = json_string_value(json_object_get(o, "by"));
    const char *bad = NULL;
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        bad = "body";
    json_object_foreach(o, k, v)
    {
        if (!bad && strcmp(k, "reason") != 0 && strcmp(k, "by") != 0)
            bad = "body";
    }
    if (!bad && json_object_get(o, "reason") && !text_ok(reason, POLICY_REASON_MAX - 1))
        bad = "reason";
    if (!bad && json_object_get(o, "by") && !text_ok(by, 64))
        bad = "by";
    if (!bad && j->quarantine && reason == NULL)
        bad = "reason"; /* a manual quarantine always says why */
    if (bad) {
        struct http_invalid_param ip = {bad, "{\"reason\": 1..255 printable characters "
                                             "(required to quarantine), \"by\": the operator's "
                                             "name, 1..64}"};
        http_respond_problem(req, 400, NULL, "invalid request", "INVALID_MSG_FORMAT", &ip, 1);
        json_decref(o);
        return false;
    }
    /* Who: the certificate that authenticated (the admin face pins it), and the name the
     * operator gave, if any. */
    const char *fp = http_request_peer(req)->cert_sha256_hex;
    const char *who = http_request_principal(req);
    if (who && strcmp(who, "admin") != 0) { /* an operator's account: the person */
        snprintf(j->principal, sizeof(j->principal), "%s", who);
        snprintf(j->actor, sizeof(j->actor), "%s", who);
    }
    else if (by)
        snprintf(j->principal, sizeof(j->principal), "%s (admin-cert:%.16s)", by, fp);
    else
        snprintf(j->principal, sizeof(j->principal), "admin-cert:%.16s", fp);
    snprintf(j->reason, sizeof(j->reason), "%s", reason ? reason : "no reason given");
    json_decref(o);
    return true;
}

void policy_operator_request(struct policy_service *ps, struct http_request *req, const char *supi,
                             bool quarantine)
{
    struct supi s;
    if (supi == NULL || supi_parse(supi, &s) != IOTSEC_OK || strlen(supi) >= ANALYTICS_SUPI_MAX) {
        struct http_invalid_param ip = {"supi", "imsi-<digits> or nai-<user@realm>"};
        http_respond_problem(req, 400, NULL, "invalid SUPI", "INVALID_PATH_PARAM", &ip, 1);
        return;
    }
    struct operator_op *op = calloc(1, sizeof(*op));
    if (op == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "policy");
        return;
    }
    op->job.quarantine = quarantine;
    if (!operator_body(req, &op->job)) {
        free(op);
        return;
    }
    if (http_request_defer(req) != IOTSEC_OK) {
        free(op);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "policy");
        return;
    }
    snprintf(op->job.supi, sizeof(op->job.supi), "%s", supi);
    op->req = req;
    op->ps = ps;
    op->job.now = (int64_t)time(NULL);
    struct store_job job = {operator_run, operator_done, op};
    int src = store_submit(policy_service_options(ps)->store, &job);
    if (src != IOTSEC_OK) {
        http_respond_error(req, src, "saving");
        free(op);
    }
}

static void handle_release(struct http_request *req, void *user)
{
    if (admin_ok(req, user))
        policy_operator_request(user, req, http_request_param(req, "supi"), false);
}

static void handle_quarantine(struct http_request *req, void *user)
{
    if (admin_ok(req, user))
        policy_operator_request(user, req, http_request_param(req, "supi"), true);
}

/* Each action of the device with the evidence of the finding it was taken on. */
static void evidence_json(const struct policy_record *r, void *ctx)
{
    struct {
        json_t *arr;
        struct store *store;
    } *c = ctx;
    record_json(r, c->arr);
    if (r->finding_id == 0)
        return;
    json_t *o = json_array_get(c->arr, json_array_size(c->arr) - 1);
    char *text = NULL;
    int rc = analytics_finding_load(c->store, r->finding_id, &text);
    json_t *f = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (f)
        json_object_set_new(o, "finding", f);
    else if (rc == IOTSEC_ERR_NOTFOUND)
        json_object_set_new(o, "finding", json_string("deleted (past the findings' retention)"));
}

static void handle_device_actions(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    static const struct http_qspec spec[] = {HTTP_QSPEC_AFTER_ID};
    struct http_qval q[1];
    const char *supi = http_request_param(req, "supi");
    if (supi == NULL || !supi_ok(supi)) {
        struct http_invalid_param ip = {"supi", "a SUPI"};
        http_respond_problem(req, 400, NULL, "invalid request", "INVALID_PARAM", &ip, 1);
        return;
    }
    if (!http_query_parse(req, spec, 1, q))
        return;
    long long a = q[0].i;
    struct subscription sub;
    struct store *store = policy_service_options(ps)->store;
    if (subscriber_get(store, supi, &sub) != IOTSEC_OK) {
        http_respond_problem(req, 404, NULL, "no such subscription", "USER_NOT_FOUND", NULL, 0);
        return;
    }
    struct {
        json_t *arr;
        struct store *store;
    } c = {json_array(), store};
    if (policy_store_list(store, supi, a, 200, evidence_json, &c) != IOTSEC_OK) {
        json_decref(c.arr);
        http_respond_problem(req, 500, NULL, "the audit could not be read", NULL, NULL, 0);
        return;
    }
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:o}", "supi", supi, "state", sub_state_name(sub.state),
                                "actions", c.arr));
}

int policy_admin_routes(struct http_server *srv, struct policy_service *ps)
{
    int rc = http_server_route(srv, "GET", "/admin/v1/policy", handle_get_policy, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "PUT", "/admin/v1/policy", handle_put_policy, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/policy/actions", handle_actions, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/policy/throttles", handle_throttles, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/policy/observed", handle_observed, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/admin/v1/devices/{supi}/release", handle_release,
                               ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/admin/v1/devices/{supi}/quarantine",
                               handle_quarantine, ps);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/devices/{supi}/actions",
                               handle_device_actions, ps);
    return rc;
}
