/* The query string of an admin list request (src/http/query.c): whatever an operator's script,
 * a browser or an attacker puts after '?', decoded by http_query_parse against a table like the
 * list handlers' (every parameter type: cursor, limit, enum, text with and without an extra
 * check, bounded integer, boolean). The input is the raw query (up to its first NUL).
 * Invariants: an accepted query answered nothing and every value it set is inside its spec (a
 * text value 1..max bytes with no NUL, an integer in bounds, an enum value from the list, a
 * boolean 0 or 1); a refused one was answered exactly once with a 400 INVALID_QUERY_PARAM
 * ProblemDetails that is valid JSON and names the parameter and the reason in invalidParams
 * and in detail (the parameter is the client's own bytes: the answer must still carry it). */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "fuzz_req.h"
#include "http/http_int.h"
#include "http/query.h"

static const char *const states[] = {"pending", "active", "revoked", NULL};

static bool no_space(const char *s)
{
    return strchr(s, ' ') == NULL;
}

static const struct http_qspec spec[] = {
    HTTP_QSPEC_AFTER_ID,
    HTTP_QSPEC_LIMIT,
    {.name = "state",
     .type = HTTP_Q_ENUM,
     .values = states,
     .reason = "pending, active or revoked"},
    {.name = "owner", .type = HTTP_Q_STR, .max = 8, .valid = no_space, .reason = "a name"},
    {.name = "q", .type = HTTP_Q_STR, .reason = "a search text"},
    {.name = "enrollment", .type = HTTP_Q_INT, .min = -5, .max = 99, .reason = "an id"},
    {.name = "revoked", .type = HTTP_Q_BOOL, .reason = "true or false"},
};
#define N (sizeof(spec) / sizeof(spec[0]))

static void check_value(const struct http_qspec *sp, const struct http_qval *v)
{
    FUZZ_CHECK(v->s != NULL);
    switch (sp->type) {
    case HTTP_Q_INT:
        FUZZ_CHECK(v->i >= sp->min && v->i <= sp->max);
        break;
    case HTTP_Q_BOOL:
        FUZZ_CHECK(v->i == 0 || v->i == 1);
        FUZZ_CHECK(strcmp(v->s, v->i ? "true" : "false") == 0);
        break;
    case HTTP_Q_ENUM:
        FUZZ_CHECK(v->i >= 0 && v->i < 3 && strcmp(v->s, sp->values[v->i]) == 0);
        break;
    case HTTP_Q_STR: {
        size_t len = strlen(v->s), max = sp->max > 0 ? (size_t)sp->max : 256;
        FUZZ_CHECK(len >= 1 && len <= max && (sp->valid == NULL || sp->valid(v->s)));
        break;
    }
    }
}

static void check_refusal(struct http_request *req)
{
    FUZZ_CHECK(fuzz_req_status(req) == 400);
    char *answer = fuzz_req_answer(req);
    FUZZ_CHECK(answer != NULL);
    json_t *p = json_loads(answer, 0, NULL);
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(json_integer_value(json_object_get(p, "status")) == 400);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(p, "cause")), "INVALID_QUERY_PARAM") == 0);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    FUZZ_CHECK(detail != NULL && strncmp(detail, "query parameter ", 16) == 0);
    json_t *ips = json_object_get(p, "invalidParams");
    FUZZ_CHECK(json_array_size(ips) == 1);
    json_t *ip = json_array_get(ips, 0);
    const char *param = json_string_value(json_object_get(ip, "param"));
    const char *reason = json_string_value(json_object_get(ip, "reason"));
    FUZZ_CHECK(param != NULL && param[0] != '\0' && reason != NULL && reason[0] != '\0');
    FUZZ_CHECK(strstr(detail, reason) != NULL);
    json_decref(p);
    free(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = fuzz_cstr(data, size);
    struct http_request *req = fuzz_req_new("", 0, NULL);
    req->method = "GET";
    req->query = query;
    struct http_qval v[N];
    if (http_query_parse(req, spec, N, v)) {
        FUZZ_CHECK(fuzz_req_status(req) == 0);
        size_t pairs = 1;
        for (const char *c = query; *c; c++)
            pairs += *c == '&';
        size_t set = 0;
        for (size_t k = 0; k < N; k++)
            if (v[k].set) {
                check_value(&spec[k], &v[k]);
                set++;
            }
        FUZZ_CHECK(set <= pairs);
        size_t limit = http_query_limit(&v[1]);
        FUZZ_CHECK(limit >= 1 && limit <= HTTP_QUERY_LIMIT_MAX);
    } else {
        check_refusal(req);
    }
    fuzz_req_free(req);
    free(query);
    return 0;
}
