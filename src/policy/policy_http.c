/* The policy's admin face: the policy document, the audit of actions, the open throttles
 * for the UPF, and the operator's release of a quarantined device. Writes are store jobs
 * answered from their done callback (the admin loop never waits on the disk). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "http/http.h"
#include "policy/policy_int.h"
#include "subscriber/subscriber.h"

static bool admin_ok(struct http_request *req, struct policy_service *ps)
{
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
        http_respond_problem(req, 400, NULL, err, "MANDATORY_IE_INCORRECT", NULL, 0);
        free(op);
        return;
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
    json_array_append_new(ctx, o);
}

static void handle_actions(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    const char *supi = http_request_query_param(req, "supi");
    const char *after = http_request_query_param(req, "after");
    char *end = NULL;
    long long a = after ? strtoll(after, &end, 10) : 0;
    struct supi s;
    if ((after && (*end != '\0' || a < 0)) || (supi && supi_parse(supi, &s) != IOTSEC_OK)) {
        struct http_invalid_param ip = {after && (*end != '\0' || a < 0) ? "after" : "supi",
                                        "a row id (integer >= 0), or a SUPI"};
        http_respond_problem(req, 400, NULL, "invalid query", "INVALID_QUERY_PARAM", &ip, 1);
        return;
    }
    json_t *arr = json_array();
    if (policy_store_list(policy_service_options(ps)->store, supi, a, 1000, record_json, arr) !=
        IOTSEC_OK) {
        json_decref(arr);
        http_respond_problem(req, 500, NULL, "the audit could not be read", NULL, NULL, 0);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:o}", "actions", arr));
}

static void handle_throttles(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    json_t *arr = json_array();
    policy_store_throttles(policy_service_options(ps)->store, record_json, arr);
    http_respond_json(req, 200, json_pack("{s:o}", "throttles", arr));
}

struct release_op {
    struct http_request *req;
    struct policy_service *ps;
    struct policy_release_job job;
    char supi[SUPI_STRING_MAX];
};

static int release_run(struct store_conn *conn, void *arg)
{
    return policy_store_release(conn, &((struct release_op *)arg)->job);
}

static void release_done(void *arg, int rc)
{
    struct release_op *op = arg;
    int sub = op->job.sub_rc;
    if (rc == IOTSEC_OK && sub == IOTSEC_OK)
        policy_service_enforce(op->ps, op->supi, false);
    if (rc == IOTSEC_OK && sub == IOTSEC_OK)
        http_respond_json(op->req, 200, json_pack("{s:s, s:s}", "supi", op->supi, "state",
                                                  "active"));
    else if (sub == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(op->req, 404, NULL, "no such subscription", "USER_NOT_FOUND", NULL,
                             0);
    else if (sub == IOTSEC_ERR_STATE)
        http_respond_problem(op->req, 409, NULL, "the subscription is not quarantined",
                             "INVALID_STATE", NULL, 0);
    else
        http_respond_error(op->req, rc != IOTSEC_OK ? rc : sub, "saving the release");
    free(op);
}

static void handle_release(struct http_request *req, void *user)
{
    struct policy_service *ps = user;
    if (!admin_ok(req, ps))
        return;
    const char *supi = http_request_param(req, "supi");
    struct supi s;
    if (supi == NULL || supi_parse(supi, &s) != IOTSEC_OK) {
        struct http_invalid_param ip = {"supi", "imsi-<digits> or nai-<user@realm>"};
        http_respond_problem(req, 400, NULL, "invalid SUPI", "INVALID_PATH_PARAM", &ip, 1);
        return;
    }
    struct release_op *op = calloc(1, sizeof(*op));
    if (op == NULL || http_request_defer(req) != IOTSEC_OK) {
        free(op);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "policy");
        return;
    }
    snprintf(op->supi, sizeof(op->supi), "%s", supi);
    op->req = req;
    op->ps = ps;
    op->job = (struct policy_release_job){op->supi, (int64_t)time(NULL), IOTSEC_OK};
    struct store_job job = {release_run, release_done, op};
    int src = store_submit(policy_service_options(ps)->store, &job);
    if (src != IOTSEC_OK) {
        http_respond_error(req, src, "saving");
        free(op);
    }
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
        rc = http_server_route(srv, "POST", "/admin/v1/devices/{supi}/release", handle_release,
                               ps);
    return rc;
}
