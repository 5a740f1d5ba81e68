/* The analytics faces: flow-record batches on the SBI face (from the UPF or a collector) and
 * on the admin face (iotsecctl analytics ingest), the configured UE address mapping, and the
 * recent findings. Decoding and encoding only; the instance does the work.
 *
 * A batch is all or nothing: it is parsed whole before anything is counted, so a bad line
 * (400, naming the line), too many records or bytes (413), a wrong content type (415) or an
 * unknown format (400) leave the engine untouched. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "base/err.h"
#include "crypto/supi.h"
#include "http/http.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

#define MAX_BODY     (4u << 20) /* per batch; the SBI server's own limit may be lower */
#define MAX_MAPPINGS 10000      /* entries per PUT */

bool analytics_admin_ok(struct http_request *req, struct analytics *a)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert &&
        strcmp(peer->cert_sha256_hex, analytics_options_get(a)->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

/* The media types a batch may come as, and the format each implies (-1: say it with
 * ?format=). */
static const struct {
    const char *type;
    int format;
} media[] = {
    {"application/x-ndjson", AN_FMT_JSONL},
    {"application/jsonl", AN_FMT_JSONL},
    {"application/json-lines", AN_FMT_JSONL},
    {"text/x-zeek-conn", AN_FMT_ZEEK},
    {"text/tab-separated-values", AN_FMT_ZEEK},
    {"text/csv", AN_FMT_IOT23},
    {"text/plain", -1},
    {"application/octet-stream", -1},
};

/* Decides the batch's format from ?format= and Content-Type; answers and returns false
 * when it cannot. */
static bool pick_format(struct http_request *req, enum an_format *fmt)
{
    const char *ct = http_request_header(req, "content-type");
    int implied = -1;
    if (ct != NULL) {
        size_t n = strcspn(ct, "; \t");
        size_t i = 0, count = sizeof(media) / sizeof(media[0]);
        while (i < count && !(strlen(media[i].type) == n && strncasecmp(ct, media[i].type, n) == 0))
            i++;
        if (i == count) {
            http_respond_unsupported_media(req, "application/x-ndjson, text/x-zeek-conn, "
                                                "text/tab-separated-values, text/csv, "
                                                "text/plain");
            return false;
        }
        implied = media[i].format;
    }
    const char *param = http_request_query_param(req, "format");
    if (param != NULL) {
        if (an_format_parse(param, fmt) != IOTSEC_OK) {
            struct http_invalid_param ip = {"format", "one of zeek, iot23, jsonl"};
            http_respond_problem(req, 400, NULL, "unknown format", "INVALID_QUERY_PARAM", &ip, 1);
            return false;
        }
        if (implied >= 0 && (int)*fmt != implied) {
            struct http_invalid_param ip = {"format", "contradicts the Content-Type"};
            http_respond_problem(req, 400, NULL, "the format and the content type disagree",
                                 "INVALID_QUERY_PARAM", &ip, 1);
            return false;
        }
        return true;
    }
    if (implied < 0) {
        struct http_invalid_param ip = {"format", "required with this content type"};
        http_respond_problem(req, 400, NULL, "say which format the batch is in",
                             "MANDATORY_QUERY_PARAM_MISSING", &ip, 1);
        return false;
    }
    *fmt = (enum an_format)implied;
    return true;
}

static void ingest(struct http_request *req, struct analytics *a)
{
    enum an_format fmt;
    if (!pick_format(req, &fmt))
        return;
    size_t len;
    const char *body = http_request_body(req, &len);
    if (len > MAX_BODY) {
        http_respond_problem(req, 413, NULL, "a batch holds at most 4 MiB", NULL, NULL, 0);
        return;
    }
    struct analytics_batch_result r;
    int rc = analytics_ingest_text(a, fmt, body, len, &r);
    if (rc == IOTSEC_ERR_INVALID) {
        char param[32];
        snprintf(param, sizeof(param), "line %zu", r.bad_line);
        struct http_invalid_param ip = {param, "not a valid record"};
        json_t *p = http_problem_new(400, NULL, r.err, "INVALID_MSG_FORMAT", &ip, 1);
        if (p)
            json_object_set_new(p, "line", json_integer((json_int_t)r.bad_line));
        http_respond_problem_json(req, p);
        return;
    }
    if (rc == IOTSEC_ERR_BUSY && r.records == 0) {
        http_respond_problem(req, 413, NULL, r.err, NULL, NULL, 0);
        return;
    }
    if (rc == IOTSEC_ERR_BUSY || rc == IOTSEC_ERR_NOMEM) {
        http_respond_unavailable(req, "INSUFFICIENT_RESOURCES", "the device table is full", 5);
        return;
    }
    if (r.records == 0 && r.err[0]) {
        http_respond_problem(req, 400, NULL, r.err, "INVALID_MSG_FORMAT", NULL, 0);
        return;
    }
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "records", (json_int_t)r.records, "counted",
                          (json_int_t)r.counted, "unmapped", (json_int_t)r.unmapped, "late",
                          (json_int_t)r.late, "findings", (json_int_t)r.findings);
    /* Mostly unmapped: the mapping is missing (a restart before it was persisted, an SMF
     * that never reported the sessions), and the detectors see next to nothing. */
    if (o && r.records > 0 && 2 * r.unmapped > r.records)
        json_object_set_new(o, "warning",
                            json_string("more than half of the batch's records map to no "
                                        "device: map the UE addresses (analytics map, or "
                                        "session events) or nothing is detected"));
    http_respond_json(req, 200, o);
}

static void handle_sbi_ingest(struct http_request *req, void *user)
{
    ingest(req, user);
}

static void handle_admin_ingest(struct http_request *req, void *user)
{
    if (analytics_admin_ok(req, user))
        ingest(req, user);
}

/* One entry of a mapping list, checked; *ip points into the JSON. */
static int check_entry(struct analytics *a, json_t *e, const char **supi, const char **ip,
                       const char **group, const char **reason, const char **field)
{
    const char *v4 = json_string_value(json_object_get(e, "ipv4"));
    const char *v6 = json_string_value(json_object_get(e, "ipv6"));
    json_t *g = json_object_get(e, "group");
    *supi = json_string_value(json_object_get(e, "supi"));
    *group = json_string_value(g);
    struct supi s;
    struct an_addr addr;
    *field = "supi";
    if (!json_is_object(e) || *supi == NULL || supi_parse(*supi, &s) != IOTSEC_OK) {
        *reason = "a SUPI (imsi-... or nai-...) is required";
        return IOTSEC_ERR_INVALID;
    }
    *field = v4 ? "ipv4" : "ipv6";
    *ip = v4 ? v4 : v6;
    if ((v4 == NULL) == (v6 == NULL) || an_addr_parse(*ip, strlen(*ip), &addr) != IOTSEC_OK ||
        an_addr_is_v4(&addr) != (v4 != NULL)) {
        *reason = "exactly one of ipv4 or ipv6, a valid address of that family";
        return IOTSEC_ERR_INVALID;
    }
    *field = "group";
    if (g != NULL && (*group == NULL || strlen(*group) > 64)) {
        *reason = "a string of at most 64 characters";
        return IOTSEC_ERR_INVALID;
    }
    *field = "supi";
    struct subscription sub;
    if (subscriber_get(analytics_options_get(a)->store, *supi, &sub) != IOTSEC_OK) {
        *reason = "no such subscription";
        return IOTSEC_ERR_NOTFOUND;
    }
    return IOTSEC_OK;
}

static void handle_map(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!analytics_admin_ok(req, a))
        return;
    if (!http_request_media_type_is(req, "application/json")) {
        http_respond_unsupported_media(req, "application/json");
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    json_error_t je;
    json_t *list = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > MAX_MAPPINGS) {
        json_decref(list);
        http_respond_problem(req, 400, NULL,
                             "a JSON array of 1 to 10000 {supi, ipv4|ipv6, group} is required",
                             "INVALID_MSG_FORMAT", NULL, 0);
        return;
    }
    /* Every entry is checked before any is applied. */
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *supi, *ip = NULL, *group, *reason, *field;
        int rc = check_entry(a, e, &supi, &ip, &group, &reason, &field);
        if (rc != IOTSEC_OK) {
            char param[48];
            snprintf(param, sizeof(param), "/%zu/%s", i, field);
            struct http_invalid_param p = {param, reason};
            http_respond_problem(
                req, rc == IOTSEC_ERR_NOTFOUND ? 404 : 400, NULL,
                rc == IOTSEC_ERR_NOTFOUND ? "unknown subscription" : "invalid mapping",
                rc == IOTSEC_ERR_NOTFOUND ? "USER_NOT_FOUND" : "MANDATORY_IE_INCORRECT", &p, 1);
            json_decref(list);
            return;
        }
    }
    size_t mapped = 0;
    int rc = IOTSEC_OK;
    json_array_foreach(list, i, e)
    {
        const char *v4 = json_string_value(json_object_get(e, "ipv4"));
        rc = analytics_session(a, json_string_value(json_object_get(e, "supi")),
                               v4 ? v4 : json_string_value(json_object_get(e, "ipv6")), true,
                               json_string_value(json_object_get(e, "group")));
        if (rc != IOTSEC_OK)
            break;
        mapped++;
    }
    json_decref(list);
    if (rc != IOTSEC_OK) {
        char detail[96];
        snprintf(detail, sizeof(detail), "the mapping table is full after %zu entries", mapped);
        http_respond_unavailable(req, "INSUFFICIENT_RESOURCES", detail, 60);
        return;
    }
    analytics_flush(a); /* durable before the answer: a restart keeps them */
    http_respond_json(req, 200, json_pack("{s:I}", "mapped", (json_int_t)mapped));
}

static bool exception_known(const char *name)
{
    for (int x = 0; x < AN_EXC_COUNT; x++)
        if (strcmp(name, an_exception_name((enum an_exception)x)) == 0)
            return true;
    return false;
}

/* A decimal integer in [min, max]. */
static bool query_int(const char *v, long long min, long long max, long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

static bool supi_ok(const char *s)
{
    struct supi parsed;
    return supi_parse(s, &parsed) == IOTSEC_OK;
}

bool analytics_group_name_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

bool analytics_since_ok(const char *s)
{
    int64_t t;
    long long n;
    return sub_parse_time(s, &t) == IOTSEC_OK || query_int(s, 0, INT64_MAX, &n);
}

/* ?supi=&exception=&since=&group=&enrollment=&after=&limit= ; "next" is the cursor of the following
 * page. */
static void handle_findings(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!analytics_admin_ok(req, a))
        return;
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "supi", .type = HTTP_Q_STR, .valid = supi_ok, .reason = "a SUPI"},
        {.name = "exception",
         .type = HTTP_Q_STR,
         .valid = exception_known,
         .reason = "a TS 29.520 ExceptionId"},
        {.name = "since",
         .type = HTTP_Q_STR,
         .valid = analytics_since_ok,
         .reason = "RFC 3339 or unix seconds"},
        {.name = "group",
         .type = HTTP_Q_STR,
         .max = 64,
         .valid = analytics_group_name_ok,
         .reason = "a mapping's group name (1 to 64 printable characters)"},
        {.name = "enrollment",
         .type = HTTP_Q_STR,
         .max = 64,
         .valid = analytics_group_name_ok,
         .reason = "an enrollment's name or id"},
    };
    struct http_qval v[7];
    if (!http_query_parse(req, spec, 7, v))
        return;
    struct an_findings_query q = {
        .supi = v[2].s, .exception = v[3].s, .group = v[5].s, .enrollment = v[6].s, .limit = 100};
    int64_t t;
    if (v[4].set)
        q.since = sub_parse_time(v[4].s, &t) == IOTSEC_OK ? t : atoll(v[4].s);
    q.after = v[0].i;
    q.limit = http_query_limit(&v[1]);
    json_t *arr;
    if (analytics_findings_list(a, &q, &arr) != IOTSEC_OK) {
        http_respond_problem(req, 500, NULL, "the findings could not be read", NULL, NULL, 0);
        return;
    }
    json_t *o = http_list_json("findings", arr);
    size_t count = json_array_size(arr);
    if (count == q.limit) /* maybe more: the next page starts after the last id */
        json_object_set_new(o, "next",
                            json_incref(json_object_get(json_array_get(arr, count - 1), "id")));
    http_respond_json(req, 200, o);
}

static void handle_stats(struct http_request *req, void *user)
{
    if (analytics_admin_ok(req, user))
        http_respond_json(req, 200, analytics_stats_json(user));
}

int analytics_sbi_routes(struct http_server *srv, struct analytics *a)
{
    return http_server_route(srv, "POST", "/nnwdaf-iotsec/v1/flow-records", handle_sbi_ingest, a);
}

int analytics_admin_routes(struct http_server *srv, struct analytics *a)
{
    int rc =
        http_server_route(srv, "POST", "/admin/v1/analytics/flow-records", handle_admin_ingest, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "PUT", "/admin/v1/analytics/ue-addresses", handle_map, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/analytics/findings", handle_findings, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/analytics/stats", handle_stats, a);
    if (rc == IOTSEC_OK)
        rc = analytics_conditions_routes(srv, a);
    if (rc == IOTSEC_OK && analytics_options_get(a)->store)
        rc = analytics_mud_routes(srv, a);
    return rc;
}
