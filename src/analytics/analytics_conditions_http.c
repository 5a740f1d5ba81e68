/* GET /admin/v1/analytics/conditions: the fleet conditions kept (an outage of a group's
 * endpoint, reported once for the fleet instead of a finding per device), open or closed,
 * by group, a page at a time. Admin only: a condition names the operator's group. */
#include <jansson.h>
#include <stdlib.h>

#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "base/err.h"
#include "http/http.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

static json_t *condition_json(const struct an_condition_row *r)
{
    char first[32], last[32];
    sub_format_time(r->first_seen, first, sizeof(first));
    sub_format_time(r->last_seen, last, sizeof(last));
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:b}", "id",
                          (json_int_t)r->id, "kind", r->kind, "scope", r->scope, "group", r->target,
                          "share_pct", (json_int_t)r->share_pct, "devices", (json_int_t)r->devices,
                          "active", (json_int_t)r->active, "first_seen", first, "last_seen", last,
                          "windows", (json_int_t)r->windows, "open", r->closed_at == 0);
    if (o && r->endpoint[0]) {
        json_t *d = json_pack("{s:s, s:i}", "endpoint", r->endpoint, "port", (int)r->port);
        json_object_set_new(o, "destinations", d ? json_pack("[o]", d) : json_array());
    } else if (o) {
        json_object_set_new(o, "destinations", json_array());
    }
    if (o && r->closed_at) {
        char closed[32];
        sub_format_time(r->closed_at, closed, sizeof(closed));
        json_object_set_new(o, "closed_at", json_string(closed));
    }
    return o;
}

static void list_row(const struct an_condition_row *r, void *ctx)
{
    json_t *o = condition_json(r);
    if (o)
        json_array_append_new(ctx, o);
}

/* ?state=open|closed&group=&since=&after=&limit= */
static void handle_conditions(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!analytics_admin_ok(req, a))
        return;
    static const char *const states[] = {"open", "closed", NULL};
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "state", .type = HTTP_Q_ENUM, .values = states, .reason = "open or closed"},
        {.name = "group",
         .type = HTTP_Q_STR,
         .max = 64,
         .valid = analytics_group_name_ok,
         .reason = "a mapping's group name (1 to 64 printable characters)"},
        {.name = "since",
         .type = HTTP_Q_STR,
         .valid = analytics_since_ok,
         .reason = "RFC 3339 or unix seconds"},
    };
    struct http_qval v[5];
    if (!http_query_parse(req, spec, 5, v))
        return;
    struct an_conditions_query q = {
        .after = v[0].i, .limit = http_query_limit(&v[1]), .target = v[3].s};
    if (v[2].set)
        q.state = v[2].i == 0 ? AN_COND_OPEN : AN_COND_CLOSED;
    int64_t t;
    if (v[4].set)
        q.since = sub_parse_time(v[4].s, &t) == IOTSEC_OK ? t : atoll(v[4].s);
    json_t *arr = json_array();
    struct store *s = analytics_options_get(a)->store;
    int rc = IOTSEC_OK;
    if (s) {
        analytics_flush(a); /* the conditions reported before this request are listed */
        rc = an_store_conditions_list(s, &q, list_row, arr);
    }
    if (arr == NULL || rc != IOTSEC_OK) {
        json_decref(arr);
        http_respond_problem(req, 500, NULL, "the fleet conditions could not be read", NULL, NULL,
                             0);
        return;
    }
    size_t n = json_array_size(arr);
    json_t *next = n ? json_incref(json_object_get(json_array_get(arr, n - 1), "id")) : NULL;
    http_respond_page(req, NULL, arr, q.limit, next); /* "items" only: a new list */
}

int analytics_conditions_routes(struct http_server *srv, struct analytics *a)
{
    return http_server_route(srv, "GET", "/admin/v1/analytics/conditions", handle_conditions, a);
}
