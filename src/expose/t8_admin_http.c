/* The operator's view of T8 monitoring subscriptions (the console's Exposure page):
 *   GET /admin/v1/monitoring-subscriptions[?af=&after=&limit=]
 *   -> {"items": [{af_id, subscription_id, external_id?, consent_id?, monitoring_type,
 *                  maximum_number_of_reports?, reports, created_at, expires_at?}], "next"?}
 * The cursor is "<af_id>/<subscription_id>" of the page's last row (subscription ids never
 * hold a '/', so the last one splits it). The admin face is inside: external ids are shown
 * as the AF gave them; the body's notification destination is not (nothing to act on). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "expose/t8.h"
#include "http/http.h"
#include "http/query.h"
#include "subscriber/subscriber.h" /* sub_format_time */

#define CURSOR_MAX 256

static void row_item(void *ctx, const struct t8_row *r)
{
    json_t *o =
        json_pack("{s:s, s:s, s:I}", "af_id", r->af_id ? r->af_id : "", "subscription_id",
                  r->subscription_id ? r->subscription_id : "", "reports", (json_int_t)r->reports);
    if (r->external_id && r->external_id[0])
        json_object_set_new(o, "external_id", json_string(r->external_id));
    if (r->consent_id && r->consent_id[0])
        json_object_set_new(o, "consent_id", json_string(r->consent_id));
    json_t *body = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(body, "monitoringType"));
    json_object_set_new(o, "monitoring_type", json_string(type ? type : ""));
    json_t *max = json_object_get(body, "maximumNumberOfReports");
    if (json_is_integer(max))
        json_object_set_new(o, "maximum_number_of_reports", json_incref(max));
    json_decref(body);
    char t[32];
    sub_format_time(r->created_at, t, sizeof(t));
    json_object_set_new(o, "created_at", json_string(t));
    if (r->expires_at > 0) {
        sub_format_time(r->expires_at, t, sizeof(t));
        json_object_set_new(o, "expires_at", json_string(t));
    }
    json_array_append_new(ctx, o);
}

static bool cursor_ok(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash != NULL && slash != s && slash[1] != '\0';
}

static void handle_list(struct http_request *req, void *user)
{
    struct store *st = user;
    if (http_request_principal(req) == NULL) { /* the face's gate names every admin */
        http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                             0);
        return;
    }
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_LIMIT,
        {.name = "af", .type = HTTP_Q_STR, .max = 128, .reason = "an AF id"},
        {.name = "after",
         .type = HTTP_Q_STR,
         .max = CURSOR_MAX,
         .valid = cursor_ok,
         .reason = "a cursor: the \"next\" of the page before"},
    };
    struct http_qval q[3];
    if (!http_query_parse(req, spec, 3, q))
        return;
    size_t limit = http_query_limit(&q[0]);
    char cursor[CURSOR_MAX + 1] = "";
    const char *after_af = NULL, *after_id = NULL;
    if (q[2].set) {
        snprintf(cursor, sizeof(cursor), "%s", q[2].s);
        char *slash = strrchr(cursor, '/');
        *slash = '\0';
        after_af = cursor, after_id = slash + 1;
    }
    json_t *items = json_array();
    int rc =
        t8_store_list(st, q[1].set ? q[1].s : NULL, after_af, after_id, limit, row_item, items);
    if (rc != IOTSEC_OK) {
        json_decref(items);
        http_respond_error(req, rc, "listing monitoring subscriptions");
        return;
    }
    json_t *next = NULL;
    size_t n = json_array_size(items);
    if (n > 0) {
        json_t *last = json_array_get(items, n - 1);
        char *c = NULL;
        if (asprintf(&c, "%s/%s", json_string_value(json_object_get(last, "af_id")),
                     json_string_value(json_object_get(last, "subscription_id"))) >= 0) {
            next = json_string(c);
            free(c);
        }
    }
    http_respond_page(req, "items", items, limit, next);
}

int t8_admin_routes(struct http_server *adm, struct store *st)
{
    return http_server_route(adm, "GET", "/admin/v1/monitoring-subscriptions", handle_list, st);
}
