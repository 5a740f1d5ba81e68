/* The operator's group API on the admin face (docs/group.md):
 *   POST   /admin/v1/message-groups                      {externalGroupId, owner, capacity?,
 * arity?, confidential?} GET    /admin/v1/message-groups GET    /admin/v1/message-groups/{ext} the
 * group, its members (operator only) POST   /admin/v1/message-groups/{ext}/members        {"supis":
 * [...]} one batch, one rekey DELETE /admin/v1/message-groups/{ext}/members/{supi} Writes are store
 * jobs answered from their done callback. Apart from /admin/v1/groups, the northbound face's named
 * sets of SUPIs for consents (src/expose): a message group is addressed by its External Group ID,
 * which always has an '@', a consent group never. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "group/group_service.h"
#include "http/http.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

#define BATCH_MAX 10000

static bool admin_ok(struct http_request *req, struct group_service *gs)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert &&
        strcmp(peer->cert_sha256_hex, group_service_options(gs)->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static void bad(struct http_request *req, const char *param, const char *reason)
{
    struct http_invalid_param ip = {param, reason};
    http_respond_problem(req, 400, NULL, "invalid request", "INVALID_MSG_FORMAT", &ip, 1);
}

static json_t *row_json(const struct group_row *g)
{
    return json_pack("{s:s, s:I, s:I, s:i, s:i, s:b, s:I, s:I}", "externalGroupId", g->external_id,
                     "localGroupId", (json_int_t)g->ref, "epoch", (json_int_t)g->epoch, "arity",
                     g->arity, "depth", g->depth, "confidential", g->confidential, "members",
                     (json_int_t)g->members, "createdAt", (json_int_t)g->created_at);
}

/* ---- create ---------------------------------------------------------------------------- */

struct create_op {
    struct http_request *req;
    struct group_create gc;
};

static int create_run(struct store_conn *c, void *arg)
{
    return group_create_run(c, &((struct create_op *)arg)->gc);
}

static void create_done(void *arg, int rc)
{
    struct create_op *op = arg;
    if (rc == IOTSEC_OK)
        http_respond_json(op->req, 201, row_json(&op->gc.row));
    else if (rc == IOTSEC_ERR_CONFLICT)
        http_respond_problem(op->req, 409, NULL, "the external group id exists", "GROUP_EXISTS",
                             NULL, 0);
    else
        http_respond_problem(op->req, 500, NULL, "the group could not be created", NULL, NULL, 0);
    free(op);
}

static void submit(struct http_request *req, struct group_service *gs, store_run_fn run,
                   store_done_fn done, void *op)
{
    struct store_job job = {run, done, op};
    if (http_request_defer(req) != IOTSEC_OK) {
        free(op);
        http_respond_problem(req, 503, NULL, "out of memory", NULL, NULL, 0);
        return;
    }
    if (store_submit(group_service_options(gs)->store, &job) != IOTSEC_OK) {
        http_response_header(req, "Retry-After", "1");
        http_respond_problem(req, 503, NULL, "the database is busy", NULL, NULL, 0);
        free(op);
    }
}

static void handle_create(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    if (!admin_ok(req, gs))
        return;
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
    const char *ext = NULL, *owner = NULL;
    json_int_t capacity = 65536, arity = 4;
    int confidential = 1;
    if (doc == NULL ||
        json_unpack(doc, "{s:s, s:s, s?I, s?I, s?b !}", "externalGroupId", &ext, "owner", &owner,
                    "capacity", &capacity, "arity", &arity, "confidential", &confidential) != 0) {
        json_decref(doc);
        bad(req, "body", "{externalGroupId, owner, capacity?, arity?, confidential?}");
        return;
    }
    struct create_op *op = calloc(1, sizeof(*op));
    const char *why = NULL, *param = NULL;
    if (!group_external_id_valid(ext))
        param = "externalGroupId", why = "<id>@<domain>, visible ASCII, at most 128";
    else if (strlen(owner) == 0 || strlen(owner) > GROUP_OWNER_MAX)
        param = "owner", why = "1..64 characters";
    else if (capacity < 1 || capacity > 16777216)
        param = "capacity", why = "1..16777216";
    else if (arity < GROUP_MIN_ARITY || arity > GROUP_MAX_ARITY)
        param = "arity", why = "2..16";
    if (op == NULL || param != NULL) {
        json_decref(doc);
        free(op);
        if (param)
            bad(req, param, why);
        else
            http_respond_problem(req, 503, NULL, "out of memory", NULL, NULL, 0);
        return;
    }
    op->req = req;
    snprintf(op->gc.row.external_id, sizeof(op->gc.row.external_id), "%s", ext);
    snprintf(op->gc.row.owner, sizeof(op->gc.row.owner), "%s", owner);
    op->gc.row.arity = (uint8_t)arity;
    op->gc.row.confidential = confidential != 0;
    op->gc.row.created_at = (int64_t)time(NULL);
    op->gc.capacity = (uint32_t)capacity;
    json_decref(doc);
    submit(req, gs, create_run, create_done, op);
}

/* ---- read ------------------------------------------------------------------------------ */

static void list_one(const struct group_row *g, void *ctx)
{
    json_array_append_new(ctx, row_json(g));
}

static void handle_list(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    if (!admin_ok(req, gs) || !http_query_parse(req, NULL, 0, NULL)) /* takes none */
        return;
    struct store_conn *c;
    json_t *arr = json_array();
    if (store_reader_get(group_service_options(gs)->store, &c) != IOTSEC_OK ||
        group_store_list(c, list_one, arr) != IOTSEC_OK) {
        json_decref(arr);
        http_respond_problem(req, 500, NULL, "the groups could not be read", NULL, NULL, 0);
        return;
    }
    http_respond_json(req, 200, http_list_json("groups", arr));
}

static void member_one(const char *supi, uint32_t leaf, void *ctx)
{
    json_array_append_new(ctx, json_pack("{s:s, s:I}", "supi", supi, "leaf", (json_int_t)leaf));
}

static void handle_show(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    if (!admin_ok(req, gs))
        return;
    struct store_conn *c;
    struct group_row g;
    int rc = store_reader_get(group_service_options(gs)->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_find(c, http_request_param(req, "ext"), &g);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        return;
    }
    json_t *members = json_array();
    if (rc == IOTSEC_OK)
        rc = group_store_members(c, g.ref, member_one, members);
    if (rc != IOTSEC_OK) {
        json_decref(members);
        http_respond_problem(req, 500, NULL, "the group could not be read", NULL, NULL, 0);
        return;
    }
    json_t *o = row_json(&g);
    json_object_set_new(o, "memberList", members);
    http_respond_json(req, 200, o);
}

/* ---- members --------------------------------------------------------------------------- */

struct change_op {
    struct http_request *req;
    struct group_change ch;
    char (*supis)[64];
    const char **ptrs;
};

static int change_run(struct store_conn *c, void *arg)
{
    return group_change_run(c, &((struct change_op *)arg)->ch);
}

static void change_free(struct change_op *op)
{
    free(op->supis);
    free(op->ptrs);
    free(op);
}

static void change_done(void *arg, int rc)
{
    struct change_op *op = arg;
    group_change_finish(&op->ch, rc);
    const char *who = op->ch.failed_supi ? op->ch.failed_supi : "";
    char detail[128];
    if (rc == IOTSEC_OK) {
        http_respond_json(op->req, 200,
                          json_pack("{s:s, s:I, s:I, s:I}", "externalGroupId", op->ch.external_id,
                                    "epoch", (json_int_t)op->ch.epoch, "rekeyWrappedKeys",
                                    (json_int_t)op->ch.rekey_entries, "rekeyBytes",
                                    (json_int_t)op->ch.rekey_bytes));
    } else if (rc == IOTSEC_ERR_NOTFOUND && op->ch.failed_supi == NULL) {
        http_respond_problem(op->req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
    } else if (rc == IOTSEC_ERR_NOTFOUND) {
        snprintf(detail, sizeof(detail), "%s is not a member", who);
        http_respond_problem(op->req, 404, NULL, detail, "MEMBER_NOT_FOUND", NULL, 0);
    } else if (rc == IOTSEC_ERR_CONFLICT) {
        snprintf(detail, sizeof(detail), "%s is already a member", who);
        http_respond_problem(op->req, 409, NULL, detail, "MEMBER_EXISTS", NULL, 0);
    } else if (rc == IOTSEC_ERR_BUSY) {
        http_respond_problem(op->req, 409, NULL, "the group is full", "GROUP_FULL", NULL, 0);
    } else {
        http_respond_problem(op->req, 500, NULL, "the members could not be changed", NULL, NULL, 0);
    }
    change_free(op);
}

static struct change_op *change_new(struct http_request *req, struct group_service *gs, size_t n)
{
    struct change_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    op->supis = calloc(n ? n : 1, sizeof(*op->supis));
    op->ptrs = calloc(n ? n : 1, sizeof(*op->ptrs));
    if (op->supis == NULL || op->ptrs == NULL) {
        change_free(op);
        return NULL;
    }
    op->req = req;
    op->ch.gs = gs;
    op->ch.now = (int64_t)time(NULL);
    snprintf(op->ch.external_id, sizeof(op->ch.external_id), "%s", http_request_param(req, "ext"));
    return op;
}

/* A SUPI that parses and is a subscription; otherwise answers and returns false. */
static bool subscription_ok(struct http_request *req, struct group_service *gs, const char *supi)
{
    struct supi s;
    struct subscription sub;
    if (strlen(supi) >= 64 || supi_parse(supi, &s) != IOTSEC_OK) {
        bad(req, "supis", "a SUPI (imsi-... or nai-...)");
        return false;
    }
    int rc = subscriber_get(group_service_options(gs)->store, supi, &sub);
    if (rc == IOTSEC_OK)
        return true;
    if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "members are subscriptions: no such subscription",
                             "SUBSCRIPTION_NOT_FOUND", NULL, 0);
    else
        http_respond_problem(req, 500, NULL, "the subscription could not be read", NULL, NULL, 0);
    return false;
}

static void handle_add(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    if (!admin_ok(req, gs))
        return;
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *doc = json_loadb(body ? body : "", len, 0, NULL), *arr = NULL;
    if (doc == NULL || json_unpack(doc, "{s:o !}", "supis", &arr) != 0 || !json_is_array(arr) ||
        json_array_size(arr) == 0 || json_array_size(arr) > BATCH_MAX) {
        json_decref(doc);
        bad(req, "supis", "an array of 1..10000 SUPIs");
        return;
    }
    size_t n = json_array_size(arr);
    struct change_op *op = change_new(req, gs, n);
    if (op == NULL) {
        json_decref(doc);
        http_respond_problem(req, 503, NULL, "out of memory", NULL, NULL, 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL) {
            bad(req, "supis", "an array of SUPI strings");
            goto fail;
        }
        if (!subscription_ok(req, gs, s))
            goto fail;
        snprintf(op->supis[i], sizeof(op->supis[i]), "%s", s);
        op->ptrs[i] = op->supis[i];
    }
    json_decref(doc);
    op->ch.add = op->ptrs;
    op->ch.nadd = n;
    submit(req, gs, change_run, change_done, op);
    return;
fail:
    json_decref(doc);
    change_free(op);
}

static void handle_remove(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    if (!admin_ok(req, gs))
        return;
    const char *supi = http_request_param(req, "supi");
    struct supi s;
    if (strlen(supi) >= 64 || supi_parse(supi, &s) != IOTSEC_OK) {
        bad(req, "supi", "a SUPI (imsi-... or nai-...)");
        return;
    }
    struct change_op *op = change_new(req, gs, 1);
    if (op == NULL) {
        http_respond_problem(req, 503, NULL, "out of memory", NULL, NULL, 0);
        return;
    }
    snprintf(op->supis[0], sizeof(op->supis[0]), "%s", supi);
    op->ptrs[0] = op->supis[0];
    op->ch.remove = op->ptrs;
    op->ch.nremove = 1;
    submit(req, gs, change_run, change_done, op);
}

/* ---- the core's question (SBI face) ------------------------------------------------------ */

/* Is this UE a member of this group? true or false for this SUPI alone: nothing about the
 * other members, their number, or the keys. The SBI face's own client authentication (the
 * instance CA, and NRF tokens when configured) says who may ask. */
static void handle_is_member(struct http_request *req, void *user)
{
    struct group_service *gs = user;
    const char *ext = http_request_param(req, "ext"), *supi = http_request_param(req, "supi");
    struct supi s;
    if (!group_external_id_valid(ext)) {
        bad(req, "ext", "an External Group ID: <id>@<domain>");
        return;
    }
    if (strlen(supi) >= 64 || supi_parse(supi, &s) != IOTSEC_OK) {
        bad(req, "supi", "a SUPI (imsi-... or nai-...)");
        return;
    }
    struct store_conn *c;
    struct group_row g;
    uint32_t leaf;
    int rc = store_reader_get(group_service_options(gs)->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_find(c, ext, &g);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        return;
    }
    if (rc == IOTSEC_OK)
        rc = group_store_member_leaf(c, g.ref, supi, &leaf);
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 500, NULL, "the group could not be read", NULL, NULL, 0);
        return;
    }
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:b, s:I}", "externalGroupId", ext, "supi", supi,
                                "member", rc == IOTSEC_OK, "epoch", (json_int_t)g.epoch));
}

int group_sbi_routes(struct http_server *srv, struct group_service *gs)
{
    return http_server_route(srv, "GET", "/iotsec-group/v1/groups/{ext}/members/{supi}",
                             handle_is_member, gs);
}

int group_admin_routes(struct http_server *srv, struct group_service *gs)
{
    int rc = http_server_route(srv, "POST", "/admin/v1/message-groups", handle_create, gs);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/message-groups", handle_list, gs);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/message-groups/{ext}", handle_show, gs);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/admin/v1/message-groups/{ext}/members", handle_add,
                               gs);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "DELETE", "/admin/v1/message-groups/{ext}/members/{supi}",
                               handle_remove, gs);
    return rc;
}
