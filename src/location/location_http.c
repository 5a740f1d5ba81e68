/* The location capability's HTTP: UE event reports on the SBI face (its TLS already requires
 * an NF certificate of the instance CA), and the operator's areas on the admin face. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "http/http.h"
#include "http/query.h"
#include "location/location.h"

static void handle_events(struct http_request *req, void *user)
{
    struct location_http *h = user;
    size_t len, n = 0;
    const void *body = http_request_body(req, &len);
    struct ue_event *evs = NULL;
    char why[128] = "";
    if (!http_request_media_type_is(req, "application/json")) {
        http_respond_unsupported_media(req, "application/json");
        return;
    }
    int rc = loc_events_decode(body, len, &evs, &n, why);
    if (rc != IOTSEC_OK) {
        struct http_invalid_param ip = {why, "missing, malformed or out of range"};
        http_respond_problem(req, rc == IOTSEC_ERR_BUSY ? 413 : 400, NULL,
                             "the event notification is not valid; no report was applied",
                             "MANDATORY_IE_INCORRECT", &ip, 1);
        return;
    }
    /* The notification's fixes, for the history: one background write for all of them. */
    struct location_fix *fixes = h->history ? malloc(n * sizeof(*fixes)) : NULL;
    size_t nfix = 0;
    for (size_t i = 0; i < n; i++) {
        bool is_fix;
        enum loc_fix_check check;
        const char *cause;
        /* validated already; stale ones change nothing */
        location_ingest_fix(h->loc, &evs[i], &is_fix, &check, &cause);
        if (is_fix && fixes) {
            struct location_fix *f = &fixes[nfix++];
            memcpy(f->supi, evs[i].supi, sizeof(f->supi));
            f->time_ms = evs[i].time_ms;
            f->has_tai = evs[i].has_tai;
            f->has_ncgi = evs[i].has_ncgi;
            f->tai = evs[i].tai;
            f->ncgi = evs[i].ncgi;
            f->check = check;
            f->cause = cause;
        }
    }
    location_history_submit(h->history, fixes, nfix);
    free(evs);
    http_respond(req, 204, NULL, NULL, 0);
}

static bool is_admin(struct http_request *req, struct location_http *h)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && strcmp(peer->cert_sha256_hex, h->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static const char *supi_param(struct http_request *req)
{
    const char *supi = http_request_param(req, "supi");
    struct supi s;
    if (supi == NULL || supi_parse(supi, &s) != IOTSEC_OK) {
        struct http_invalid_param ip = {"supi", "imsi-<digits> or nai-<user>@<realm>"};
        http_respond_problem(req, 400, NULL, "not a SUPI", "INVALID_QUERY_PARAM", &ip, 1);
        return NULL;
    }
    return supi;
}

static void handle_area_put(struct http_request *req, void *user)
{
    struct location_http *h = user;
    const char *supi;
    if (!is_admin(req, h) || (supi = supi_param(req)) == NULL)
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    struct loc_area a;
    const char *why = NULL;
    int rc = loc_area_from_json(o, &a, &why);
    json_decref(o);
    if (rc != IOTSEC_OK) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/", why);
        return;
    }
    rc = location_store_area(h->store, supi, &a);
    if (rc == IOTSEC_OK)
        rc = location_set_area(h->loc, supi, &a);
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200, loc_area_to_json(&a));
    else
        http_respond_error(req, rc, "storing the area");
    loc_area_free_members(&a);
}

/* The authorised area as stored (the console's device page draws the device against it). */
static void handle_area_get(struct http_request *req, void *user)
{
    struct location_http *h = user;
    const char *supi;
    if (!is_admin(req, h) || (supi = supi_param(req)) == NULL)
        return;
    char *text = NULL;
    int64_t at = 0;
    int rc = location_store_area_get(h->store, supi, &text, &at);
    json_t *o = rc == IOTSEC_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no authorised area for this device", "AREA_NOT_FOUND",
                             NULL, 0);
    } else if (o == NULL) {
        http_respond_error(req, rc == IOTSEC_OK ? IOTSEC_ERR_IO : rc, "reading the area");
    } else {
        char t[32];
        loc_format_time(at * 1000, t);
        json_object_set_new(o, "updatedAt", json_string(t));
        http_respond_json(req, 200, o);
    }
}

static void handle_area_delete(struct http_request *req, void *user)
{
    struct location_http *h = user;
    const char *supi;
    if (!is_admin(req, h) || (supi = supi_param(req)) == NULL)
        return;
    int rc = location_store_area(h->store, supi, NULL);
    if (rc == IOTSEC_OK)
        rc = location_set_area(h->loc, supi, NULL);
    if (rc == IOTSEC_OK)
        http_respond(req, 204, NULL, NULL, 0);
    else
        http_respond_error(req, rc, "removing the area");
}

/* The state the operator sees (the admin face is inside: SUPIs are fine here). */
static void handle_state_get(struct http_request *req, void *user)
{
    struct location_http *h = user;
    const char *supi;
    if (!is_admin(req, h) || (supi = supi_param(req)) == NULL)
        return;
    struct ue_state st;
    if (location_state(h->loc, supi, &st) != IOTSEC_OK) {
        http_respond_problem(req, 404, NULL, "no event seen for this device since start",
                             "UE_NOT_FOUND", NULL, 0);
        return;
    }
    char t[32];
    loc_format_time(st.location_time_ms ? st.location_time_ms : st.last_event_ms, t);
    json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b}", "time", t, "registered", st.registered,
                          "connected", st.connected, "lossOfConnectivity", st.lost,
                          "outsideAuthorisedArea", st.outside_area);
    if (st.has_tai)
        json_object_set_new(o, "tai", loc_tai_to_json(&st.tai));
    if (st.has_ncgi)
        json_object_set_new(o, "ncgi", loc_ncgi_to_json(&st.ncgi));
    http_respond_json(req, 200, o);
}

/* {"cells":[{"plmnId":{...},"nrCellId":"...","lat":..,"lon":..}...]} */
static void handle_cells_put(struct http_request *req, void *user)
{
    struct location_http *h = user;
    if (!is_admin(req, h))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    json_t *cells = json_object_get(o, "cells");
    size_t n = json_array_size(cells), done = 0;
    int rc = json_is_array(cells) && n > 0 && n <= 100000 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        json_t *c = json_array_get(cells, i);
        struct loc_area probe;
        const char *why;
        json_t *wrap = json_pack("{s:[O]}", "cells", c);
        rc = loc_area_from_json(wrap, &probe, &why);
        json_decref(wrap);
        json_t *lat = json_object_get(c, "lat"), *lon = json_object_get(c, "lon");
        if (rc == IOTSEC_OK && (!json_is_number(lat) || !json_is_number(lon)))
            rc = IOTSEC_ERR_INVALID;
        if (rc == IOTSEC_OK) {
            struct geo_point p = {json_number_value(lat), json_number_value(lon)};
            rc = location_set_cell_position(h->loc, &probe.cells[0], p);
            if (rc == IOTSEC_OK)
                rc = location_store_cell(h->store, &probe.cells[0], p);
            done += rc == IOTSEC_OK;
        }
        if (rc == IOTSEC_OK || probe.kind == LOC_AREA_CELLS)
            loc_area_free_members(&probe);
    }
    json_decref(o);
    if (rc == IOTSEC_ERR_INVALID) {
        struct http_invalid_param ip = {"/cells", "{plmnId, nrCellId, lat, lon}, 1..100000"};
        http_respond_problem(req, 400, NULL,
                             "invalid cell positions (those before the first "
                             "bad one were applied)",
                             "MANDATORY_IE_INCORRECT", &ip, 1);
    } else if (rc != IOTSEC_OK) {
        http_respond_error(req, rc, "storing cell positions");
    } else {
        http_respond_json(req, 200, json_pack("{s:I}", "cells", (json_int_t)done));
    }
}

static bool time_ok(const char *v)
{
    return loc_parse_time(v) >= 0;
}

/* The cursor: "<time_ms>.<id>" of the last fix of the page before. */
static bool cursor_parse(const char *v, int64_t *t, int64_t *id)
{
    char *end;
    long long a = strtoll(v, &end, 10);
    if (end == v || *end != '.' || a < 0)
        return false;
    const char *b = end + 1;
    long long c = strtoll(b, &end, 10);
    if (end == b || *end != '\0' || c <= 0)
        return false;
    *t = a;
    *id = c;
    return true;
}

static bool cursor_ok(const char *v)
{
    int64_t t, id;
    return cursor_parse(v, &t, &id);
}

static const char *check_name(enum loc_fix_check c)
{
    return c == LOC_FIX_OUTSIDE ? "outside" : c == LOC_FIX_INSIDE ? "inside" : "unrestricted";
}

struct fix_page {
    json_t *items;
    int64_t last_time, last_id;
};

/* RFC 3339 with milliseconds: a device may report several fixes within a second. */
static void fix_time(int64_t ms, char out[40])
{
    char s[32];
    loc_format_time(ms - ms % 1000, s);
    s[strlen(s) - 1] = '\0'; /* the Z */
    snprintf(out, 40, "%s.%03dZ", s, (int)(ms % 1000));
}

static void fix_one(void *ctx, const struct location_fix *f)
{
    struct fix_page *p = ctx;
    char t[40];
    fix_time(f->time_ms, t);
    json_t *o = json_pack("{s:s, s:s, s:b}", "time", t, "areaCheck", check_name(f->check),
                          "outsideAuthorisedArea", f->check == LOC_FIX_OUTSIDE);
    if (f->has_tai)
        json_object_set_new(o, "tai", loc_tai_to_json(&f->tai));
    if (f->has_ncgi)
        json_object_set_new(o, "ncgi", loc_ncgi_to_json(&f->ncgi));
    if (f->cause)
        json_object_set_new(o, "cause", json_string(f->cause));
    json_array_append_new(p->items, o);
    p->last_time = f->time_ms;
    p->last_id = f->id;
}

/* GET /admin/v1/devices/{supi}/locations?since=&until=&after=&limit=: the device's fixes,
 * newest first (since inclusive, until exclusive; RFC 3339). */
static void handle_history(struct http_request *req, void *user)
{
    struct location_http *h = user;
    static const struct http_qspec spec[] = {
        {.name = "after",
         .type = HTTP_Q_STR,
         .max = 48,
         .valid = cursor_ok,
         .reason = "a cursor: the \"next\" of the page before"},
        HTTP_QSPEC_LIMIT,
        {.name = "since",
         .type = HTTP_Q_STR,
         .max = 40,
         .valid = time_ok,
         .reason = "an RFC 3339 time"},
        {.name = "until",
         .type = HTTP_Q_STR,
         .max = 40,
         .valid = time_ok,
         .reason = "an RFC 3339 time"},
    };
    struct http_qval q[4];
    const char *supi;
    if (!is_admin(req, h) || (supi = supi_param(req)) == NULL || !http_query_parse(req, spec, 4, q))
        return;
    int64_t since = q[2].set ? loc_parse_time(q[2].s) : 0;
    int64_t until = q[3].set ? loc_parse_time(q[3].s) : INT64_MAX;
    if (until <= since) {
        struct http_invalid_param ip = {"until", "later than since"};
        http_respond_problem(req, 400, NULL, "an empty time range", "INVALID_QUERY_PARAM", &ip, 1);
        return;
    }
    if (h->device_known && !h->device_known(h->device_known_ctx, supi)) {
        http_respond_problem(req, 404, NULL, "no subscription with this SUPI",
                             "SUBSCRIPTION_NOT_FOUND", NULL, 0);
        return;
    }
    int64_t bt = 0, bid = 0;
    if (q[0].set)
        cursor_parse(q[0].s, &bt, &bid);
    size_t limit = http_query_limit(&q[1]);
    struct fix_page p = {json_array(), 0, 0};
    int rc = location_store_fixes_page(h->store, supi, since, until, bt, bid, limit, fix_one, &p);
    if (rc != IOTSEC_OK) {
        json_decref(p.items);
        http_respond_error(req, rc, "reading the location history");
        return;
    }
    char next[48];
    snprintf(next, sizeof(next), "%lld.%lld", (long long)p.last_time, (long long)p.last_id);
    http_respond_page(req, "items", p.items, limit, json_string(next));
}

int location_sbi_routes(struct http_server *sbi, struct location_http *h)
{
    return http_server_route(sbi, "POST", "/namf-evts-notify/v1/ue-events", handle_events, h);
}

int location_admin_routes(struct http_server *adm, struct location_http *h)
{
    int rc = http_server_route(adm, "PUT", "/admin/v1/location/areas/{supi}", handle_area_put, h);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/location/areas/{supi}", handle_area_get, h);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "DELETE", "/admin/v1/location/areas/{supi}", handle_area_delete,
                               h);
    if (rc == IOTSEC_OK)
        rc =
            http_server_route(adm, "GET", "/admin/v1/location/devices/{supi}", handle_state_get, h);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "PUT", "/admin/v1/location/cells", handle_cells_put, h);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/devices/{supi}/locations", handle_history, h);
    return rc;
}
