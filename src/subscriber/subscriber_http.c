/* The admin face of the subscriber capability:
 *   POST   /admin/v1/subscribers                 create (JSON, same keys as an import row)
 *   POST   /admin/v1/subscribers/import          bulk import (text/csv or application/x-ndjson)
 *   GET    /admin/v1/subscribers[?state=&after=&limit=]
 *   GET    /admin/v1/subscribers/{supi}
 *   GET    /admin/v1/subscribers/counts|onboarding|expiring   the fleet's figures (counters)
 *   POST   /admin/v1/subscribers/{supi}/{action} suspend, resume, revoke, activate, rotate;
 *                                                release, quarantine (the policy's operation)
 *   DELETE /admin/v1/subscribers/{supi}
 * Writes go through the store's writer thread; the handler defers and the answer is sent from
 * the writer's completion. Key material is accepted, never returned. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/milenage.h"
#include "http/http.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

#define ROTATE_GRACE_DEFAULT_S (24 * 3600)

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

json_t *subscriber_to_json(const struct subscription *s)
{
    char supi[SUPI_STRING_MAX], amf[5], t[32];
    supi_format(&s->supi, supi, sizeof(supi));
    hex_encode(s->amf, 2, amf);
    json_t *o = json_object();
    json_object_set_new(o, "supi", json_string(supi));
    if (s->gpsi[0])
        json_object_set_new(o, "gpsi", json_string(s->gpsi));
    if (s->owner[0])
        json_object_set_new(o, "owner", json_string(s->owner));
    json_object_set_new(o, "state", json_string(sub_state_name(s->state)));
    json_object_set_new(o, "auth_method", json_string(sub_auth_method_name(s->auth_method)));
    json_object_set_new(o, "algorithm", json_string("milenage"));
    json_object_set_new(o, "amf", json_string(amf));
    json_object_set_new(o, "credential_version", json_integer(s->cred_version));
    if (s->not_after) {
        sub_format_time(s->not_after, t, sizeof(t));
        json_object_set_new(o, "not_after", json_string(t));
    }
    sub_format_time(s->created_at, t, sizeof(t));
    json_object_set_new(o, "created_at", json_string(t));
    sub_format_time(s->updated_at, t, sizeof(t));
    json_object_set_new(o, "updated_at", json_string(t));
    return o;
}

static bool admin_ok(struct http_request *req, const struct sub_admin *admin)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && strcmp(peer->cert_sha256_hex, admin->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static void respond_error(struct http_request *req, int rc, const char *what)
{
    char detail[160];
    int status;
    switch (rc) {
    case IOTSEC_ERR_NOTFOUND:
        status = 404;
        snprintf(detail, sizeof(detail), "%s: no such subscription", what);
        break;
    case IOTSEC_ERR_CONFLICT:
        status = 409;
        snprintf(detail, sizeof(detail), "%s: the SUPI or GPSI exists already", what);
        break;
    case IOTSEC_ERR_STATE:
        status = 409;
        snprintf(detail, sizeof(detail), "%s: not allowed in the subscription's state", what);
        break;
    case IOTSEC_ERR_INVALID:
        status = 400;
        snprintf(detail, sizeof(detail), "%s: invalid input", what);
        break;
    case IOTSEC_ERR_BUSY:
    case IOTSEC_ERR_FULL:
    case IOTSEC_ERR_NOMEM:
        http_respond_error(req, rc, what);
        return;
    default:
        status = 500;
        snprintf(detail, sizeof(detail), "%s failed", what);
        log_msg(LOG_ERROR, http_request_id(req), "%s failed: %s", what, iotsec_strerror(rc));
    }
    http_respond_problem(req, status, NULL, detail, NULL, NULL, 0);
}

/* ---- writes through the writer thread ---- */

struct admin_op {
    struct sub_op op;
    struct sub_input input;
    struct http_request *req;
    int ok_status;
    const char *what;
    const char *rotation;           /* a rotation's kind, said in the answer; NULL otherwise */
    char actor[HTTP_PRINCIPAL_MAX]; /* who asked, for the event log */
};

static void admin_op_done(void *arg, int rc)
{
    struct admin_op *a = arg;
    if (rc == IOTSEC_ERR_STATE && a->op.result.id != 0) { /* the job loaded the row */
        char detail[160]; /* 409 with the state it is in: the operator knows what to do next */
        snprintf(detail, sizeof(detail), "%s: not allowed while the subscription is %s", a->what,
                 sub_state_name(a->op.result.state));
        http_respond_problem(a->req, 409, NULL, detail, NULL, NULL, 0);
    } else if (rc != IOTSEC_OK)
        respond_error(a->req, rc, a->what);
    else if (a->ok_status == 204)
        http_respond(a->req, 204, NULL, NULL, 0);
    else {
        json_t *o = subscriber_to_json(&a->op.result);
        if (a->rotation)
            json_object_set_new(o, "rotation", json_string(a->rotation));
        http_respond_json(a->req, a->ok_status, o);
    }
    secure_wipe(a, sizeof(*a));
    free(a);
}

static void submit(const struct sub_admin *admin, struct admin_op *a)
{
    a->op.kek = admin->kek;
    a->op.now = now_s();
    const char *who = http_request_principal(a->req);
    snprintf(a->actor, sizeof(a->actor), "%s", who ? who : "admin");
    a->op.actor = a->actor;
    if (a->op.input == NULL)
        a->op.input = &a->input;
    http_request_defer(a->req);
    struct store_job job = {sub_op_run, admin_op_done, a};
    int rc = store_submit(admin->store, &job);
    if (rc != IOTSEC_OK)
        admin_op_done(a, rc);
}

static struct admin_op *admin_op_new(struct http_request *req, enum sub_op_kind kind, int ok_status,
                                     const char *what)
{
    struct admin_op *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "subscriber");
        return NULL;
    }
    a->op.kind = kind;
    a->req = req;
    a->ok_status = ok_status;
    a->what = what;
    return a;
}

/* The body as a NUL-terminated string (malloc'd), or NULL after answering. */
static char *body_string(struct http_request *req)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    char *s = malloc(len + 1);
    if (s == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "subscriber");
        return NULL;
    }
    memcpy(s, body, len);
    s[len] = '\0';
    return s;
}

static void handle_create(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    if (!admin_ok(req, admin))
        return;
    json_t *shape = http_request_json(req); /* 415 / INVALID_MSG_FORMAT like every face */
    if (shape == NULL)
        return;
    json_decref(shape);
    struct admin_op *a = admin_op_new(req, SUB_OP_CREATE, 201, "create");
    char *body = a ? body_string(req) : NULL, err[160];
    if (body == NULL) {
        free(a);
        return;
    }
    int rc = sub_json_row(body, &a->input, err, sizeof(err));
    secure_wipe(body, strlen(body));
    free(body);
    if (rc != IOTSEC_OK) {
        free(a);
        http_respond_problem(req, 400, NULL, err, "MANDATORY_IE_INCORRECT", NULL, 0);
        return;
    }
    submit(admin, a);
}

static int parse_supi_param(struct http_request *req, char out[SUPI_STRING_MAX])
{
    const char *supi = http_request_param(req, "supi");
    struct supi parsed;
    if (supi == NULL || supi_parse(supi, &parsed) != IOTSEC_OK) {
        http_respond_problem(req, 400, NULL, "expected imsi-<digits> or nai-<user>@<realm>", NULL,
                             NULL, 0);
        return IOTSEC_ERR_INVALID;
    }
    supi_format(&parsed, out, SUPI_STRING_MAX);
    return IOTSEC_OK;
}

static void handle_show(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    char supi[SUPI_STRING_MAX];
    struct subscription s;
    if (!admin_ok(req, admin) || !http_query_parse(req, NULL, 0, NULL) ||
        parse_supi_param(req, supi) != IOTSEC_OK)
        return;
    int rc = subscriber_get(admin->store, supi, &s);
    if (rc != IOTSEC_OK) {
        respond_error(req, rc, "show");
        return;
    }
    json_t *o = subscriber_to_json(&s), *events = json_array();
    if (subscriber_events_json(admin->store, supi, 20, events) == IOTSEC_OK) /* the last 20 */
        json_object_set_new(o, "events", events);
    else
        json_decref(events);
    http_respond_json(req, 200, o);
}

static bool state_ok(const char *s)
{
    enum sub_state state;
    return sub_state_parse(s, &state) == IOTSEC_OK;
}

/* Subscriptions by state: the store's counters, O(states) (subscriber_count_store.c). */
static void handle_counts(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    if (!admin_ok(req, admin))
        return;
    uint64_t counts[SUB_STATE_COUNT];
    int rc = subscriber_count(admin->store, counts);
    if (rc != IOTSEC_OK) {
        respond_error(req, rc, "counts");
        return;
    }
    json_t *by = json_object();
    json_int_t total = 0;
    for (int i = 0; i < SUB_STATE_COUNT; i++) {
        json_object_set_new(by, sub_state_name((enum sub_state)i),
                            json_integer((json_int_t)counts[i]));
        total += (json_int_t)counts[i];
    }
    http_respond_json(req, 200, json_pack("{s:o, s:I}", "counts", by, "total", total));
}

/* Onboarding over time: subscriptions created per day or per week (7 days), the last bucket
 * ending today (UTC), oldest first; from the per-day counters (O(days)). */
static void handle_onboarding(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    static const char *const buckets[] = {"day", "week", NULL};
    static const struct http_qspec spec[] = {
        {.name = "bucket", .type = HTTP_Q_ENUM, .values = buckets, .reason = "day or week"},
        {.name = "count",
         .type = HTTP_Q_INT,
         .min = 1,
         .max = 366,
         .reason = "buckets to answer, 1..366"},
    };
    struct http_qval q[2];
    if (!admin_ok(req, admin) || !http_query_parse(req, spec, 2, q))
        return;
    bool week = q[0].set && strcmp(q[0].s, "week") == 0;
    size_t n = q[1].set ? (size_t)q[1].i : 30, width = week ? 7 : 1, days = n * width;
    uint64_t *per_day = calloc(days, sizeof(*per_day));
    int64_t first = now_s() / 86400 - (int64_t)days + 1;
    int rc =
        per_day ? subscriber_created_per_day(admin->store, first, days, per_day) : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        free(per_day);
        respond_error(req, rc, "onboarding");
        return;
    }
    json_t *items = json_array();
    json_int_t total = 0;
    for (size_t b = 0; b < n; b++) {
        json_int_t created = 0;
        for (size_t i = 0; i < width; i++)
            created += (json_int_t)per_day[b * width + i];
        char t[32];
        sub_format_time((first + (int64_t)(b * width)) * 86400, t, sizeof(t));
        json_array_append_new(items, json_pack("{s:s, s:I}", "start", t, "created", created));
        total += created;
    }
    free(per_day);
    http_respond_json(req, 200,
                      json_pack("{s:s, s:o, s:I}", "bucket", week ? "week" : "day", "buckets",
                                items, "total", total));
}

/* Credentials expiring soon: live subscriptions whose not_after is within 7, 30, 90 days. */
static void handle_expiring(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    if (!admin_ok(req, admin) || !http_query_parse(req, NULL, 0, NULL))
        return;
    static const int64_t days[3] = {7, 30, 90};
    int64_t within[3];
    uint64_t out[3];
    for (int i = 0; i < 3; i++)
        within[i] = days[i] * 86400;
    int rc = subscriber_expiring(admin->store, now_s(), within, 3, out);
    if (rc != IOTSEC_OK) {
        respond_error(req, rc, "expiring");
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(items, json_pack("{s:I, s:I}", "days", (json_int_t)days[i], "count",
                                               (json_int_t)out[i]));
    http_respond_json(req, 200, json_pack("{s:o}", "within", items));
}

static void list_item(const struct subscription *s, void *ctx)
{
    json_array_append_new(ctx, subscriber_to_json(s));
}

static bool cursor_ok(const char *s)
{
    return s[0] != '\0' && strlen(s) < SUPI_STRING_MAX;
}

/* ?state=&sort=&after=&limit=: keyset pages in creation order (the default; "next" is the last
 * id, a number) or by SUPI either way, or newest first ("next" is then the last row's key, a
 * string). The console's sortable table; the same server-side order whatever the fleet size. */
static void handle_list(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    static const char *const sorts[] = {"created", "-created", "supi", "-supi", NULL};
    static const struct http_qspec spec[] = {
        {.name = "after",
         .type = HTTP_Q_STR,
         .valid = cursor_ok,
         .reason = "a cursor: the \"next\" of the page before"},
        HTTP_QSPEC_LIMIT,
        {.name = "state",
         .type = HTTP_Q_STR,
         .valid = state_ok,
         .reason = "a subscription state (pending_activation, active, suspended, ...)"},
        {.name = "sort",
         .type = HTTP_Q_ENUM,
         .values = sorts,
         .reason = "created, -created, supi or -supi"},
    };
    struct http_qval q[4];
    if (!admin_ok(req, admin) || !http_query_parse(req, spec, 4, q))
        return;
    enum sub_state state = 0;
    if (q[2].set)
        sub_state_parse(q[2].s, &state);
    enum sub_sort sort = SUB_SORT_ID;
    for (int i = 0; q[3].set && sorts[i]; i++)
        if (strcmp(q[3].s, sorts[i]) == 0)
            sort = (enum sub_sort)i;
    size_t limit = http_query_limit(&q[1]);
    json_t *items = json_array();
    char next[SUPI_STRING_MAX];
    int rc = subscriber_list_sorted(admin->store, q[2].set ? (int)state : -1, sort,
                                    q[0].set ? q[0].s : NULL, limit, list_item, items, next,
                                    sizeof(next));
    if (rc != IOTSEC_OK) {
        json_decref(items);
        if (rc == IOTSEC_ERR_INVALID) {
            struct http_invalid_param ip = {"after", "a cursor: the \"next\" of the page before"};
            http_respond_problem(req, 400, NULL,
                                 "query parameter after: not a cursor of this order",
                                 "INVALID_QUERY_PARAM", &ip, 1);
        } else {
            respond_error(req, rc, "list");
        }
        return;
    }
    json_t *cursor =
        sort == SUB_SORT_ID ? json_integer(atoll(next[0] ? next : "0")) : json_string(next);
    http_respond_page(req, "items", items, limit, cursor);
}

/* The operator's new K/OPc from the body {"k", "opc" | "op"} (hex); 400 when absent or bad.
 * Never echoed, never logged. */
static int rotate_keys(struct http_request *req, struct sub_input *in)
{
    char *body = body_string(req);
    if (body == NULL)
        return IOTSEC_ERR_NOMEM;
    json_t *o = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    secure_wipe(body, strlen(body));
    free(body);
    const char *k = json_string_value(json_object_get(o, "k"));
    const char *opc = json_string_value(json_object_get(o, "opc"));
    const char *op = json_string_value(json_object_get(o, "op"));
    int rc = IOTSEC_ERR_INVALID;
    uint8_t op_bytes[16];
    if (k && hex_decode(k, in->keys.k, 16) == 0 && (opc == NULL) != (op == NULL)) {
        if (opc)
            rc = hex_decode(opc, in->keys.opc, 16);
        else if (hex_decode(op, op_bytes, 16) == 0)
            rc = milenage_opc(in->keys.k, op_bytes, in->keys.opc);
    }
    secure_wipe(op_bytes, sizeof(op_bytes));
    json_decref(o); /* jansson's copies of the hex strings are freed, not wiped: see notes */
    if (rc != IOTSEC_OK)
        http_respond_problem(req, 400, NULL,
                             "rotate takes {\"k\", \"opc\" | \"op\"} (32 hex digits each)",
                             "MANDATORY_IE_INCORRECT", NULL, 0);
    return rc;
}

/* rotate: over the air for a device that onboarded (provisioning stages a version the device
 * fetches: the current K stays valid until it confirms); otherwise only with the operator's
 * new K/OPc (a SIM imported or added by hand has no channel: keys nobody knows would lock
 * the SIM out when the grace period ends). */
static void rotate(const struct sub_admin *admin, struct http_request *req, const char *supi)
{
    size_t body_len;
    http_request_body(req, &body_len);
    if (body_len == 0) {
        if (admin->ota_rotate && admin->ota_rotate(admin->ota_ctx, supi, req))
            return;
        struct subscription s;
        int rc = subscriber_get(admin->store, supi, &s);
        if (rc != IOTSEC_OK) {
            respond_error(req, rc, "rotate");
            return;
        }
        http_respond_problem(req, 409, NULL,
                             "this subscription has no over-the-air channel (it never "
                             "onboarded): supply the new K and OPc (iotsecctl subscriber rotate "
                             "SUPI --keys-file FILE)",
                             "NO_OTA_CHANNEL", NULL, 0);
        return;
    }
    struct admin_op *a = admin_op_new(req, SUB_OP_ROTATE, 200, "rotate");
    if (a == NULL)
        return;
    if (rotate_keys(req, &a->input) != IOTSEC_OK) {
        secure_wipe(a, sizeof(*a));
        free(a);
        return;
    }
    a->op.grace_s = ROTATE_GRACE_DEFAULT_S;
    a->rotation = "operator_supplied";
    snprintf(a->op.supi, sizeof(a->op.supi), "%s", supi);
    submit(admin, a);
}

static void handle_action(struct http_request *req, void *user)
{
    static const struct {
        const char *name;
        enum sub_event ev;
    } actions[] = {{"suspend", SUB_EV_SUSPEND},
                   {"resume", SUB_EV_RESUME},
                   {"revoke", SUB_EV_REVOKE},
                   {"activate", SUB_EV_ACTIVATE}};
    const struct sub_admin *admin = user;
    char supi[SUPI_STRING_MAX];
    if (!admin_ok(req, admin) || parse_supi_param(req, supi) != IOTSEC_OK)
        return;
    const char *action = http_request_param(req, "action");
    if (strcmp(action, "rotate") == 0) {
        rotate(admin, req, supi);
        return;
    }
    bool release = strcmp(action, "release") == 0;
    if (release || strcmp(action, "quarantine") == 0) {
        if (admin->operator_action)
            admin->operator_action(admin->operator_ctx, req, supi, !release);
        else
            http_respond_problem(req, 503, NULL, "release and quarantine need the policy", NULL,
                                 NULL, 0);
        return;
    }
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(action, actions[i].name) == 0) {
            struct admin_op *a = admin_op_new(req, SUB_OP_EVENT, 200, actions[i].name);
            if (a == NULL)
                return;
            a->op.event = actions[i].ev;
            snprintf(a->op.supi, sizeof(a->op.supi), "%s", supi);
            submit(admin, a);
            return;
        }
    }
    http_respond_problem(req, 404, NULL,
                         "unknown action (suspend, resume, revoke, activate, release, "
                         "quarantine, rotate)",
                         NULL, NULL, 0);
}

static void handle_delete(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    char supi[SUPI_STRING_MAX];
    if (!admin_ok(req, admin) || parse_supi_param(req, supi) != IOTSEC_OK)
        return;
    struct admin_op *a = admin_op_new(req, SUB_OP_DELETE, 204, "delete");
    if (a == NULL)
        return;
    snprintf(a->op.supi, sizeof(a->op.supi), "%s", supi);
    submit(admin, a);
}

/* ---- bulk import: parsed and committed on a thread of its own ---- */

struct import_req {
    const struct sub_admin *admin;
    struct http_request *req;
    bool csv;
};

static pthread_mutex_t imports_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t imports_done = PTHREAD_COND_INITIALIZER;
static unsigned imports_running;

static void import_finished(void)
{
    pthread_mutex_lock(&imports_lock);
    if (--imports_running == 0)
        pthread_cond_broadcast(&imports_done);
    pthread_mutex_unlock(&imports_lock);
}

void subscriber_admin_drain(void)
{
    pthread_mutex_lock(&imports_lock);
    while (imports_running > 0)
        pthread_cond_wait(&imports_done, &imports_lock);
    pthread_mutex_unlock(&imports_lock);
}

static void *import_thread(void *arg)
{
    struct import_req *ir = arg;
    char err[200], detail[260];
    size_t len, imported = 0, bad_line = 0;
    const char *text = http_request_body(ir->req, &len);
    int rc = subscriber_import_text(ir->admin->store, ir->admin->kek, text, len, ir->csv, now_s(),
                                    &imported, &bad_line, err, sizeof(err));
    if (rc == IOTSEC_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "imported", json_integer((json_int_t)imported));
        http_respond_json(ir->req, 200, o);
    } else if (rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_CONFLICT) {
        snprintf(detail, sizeof(detail), "line %zu: %s; nothing imported", bad_line, err);
        http_respond_problem(ir->req, rc == IOTSEC_ERR_CONFLICT ? 409 : 400, NULL, detail,
                             rc == IOTSEC_ERR_CONFLICT ? NULL : "MANDATORY_IE_INCORRECT", NULL, 0);
    } else {
        respond_error(ir->req, rc, "import");
    }
    free(ir);
    import_finished();
    return NULL;
}

static void handle_import(struct http_request *req, void *user)
{
    const struct sub_admin *admin = user;
    if (!admin_ok(req, admin))
        return;
    const char *ct = http_request_header(req, "content-type");
    bool csv = ct && strncmp(ct, "text/csv", 8) == 0;
    bool jsonl = ct && (strncmp(ct, "application/x-ndjson", 20) == 0 ||
                        strncmp(ct, "application/jsonl", 17) == 0);
    if (!csv && !jsonl) {
        http_respond_unsupported_media(req, "text/csv, application/x-ndjson");
        return;
    }
    struct import_req *ir = malloc(sizeof(*ir));
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (ir == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "subscriber");
        return;
    }
    *ir = (struct import_req){admin, req, csv};
    http_request_defer(req);
    pthread_mutex_lock(&imports_lock);
    imports_running++;
    pthread_mutex_unlock(&imports_lock);
    if (pthread_create(&t, &attr, import_thread, ir) != 0) {
        free(ir);
        import_finished();
        http_respond_problem(req, 503, NULL, "cannot start the import", NULL, NULL, 0);
    }
    pthread_attr_destroy(&attr);
}

int subscriber_admin_routes(struct http_server *srv, const struct sub_admin *admin)
{
    void *u = (void *)admin;
    int rc = http_server_route(srv, "POST", "/admin/v1/subscribers", handle_create, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/admin/v1/subscribers/import", handle_import, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/subscribers", handle_list, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/subscribers/{supi}", handle_show, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/subscribers/counts", handle_counts, u);
    if (rc == IOTSEC_OK)
        rc =
            http_server_route(srv, "GET", "/admin/v1/subscribers/onboarding", handle_onboarding, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/subscribers/expiring", handle_expiring, u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/admin/v1/subscribers/{supi}/{action}", handle_action,
                               u);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "DELETE", "/admin/v1/subscribers/{supi}", handle_delete, u);
    return rc;
}
