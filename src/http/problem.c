/* ProblemDetails (RFC 7807 as profiled by TS 29.571 §5.2.4.1): the body of every error the
 * server or a handler sends, as application/problem+json. */
#include "base/err.h"
#include "http/http_int.h"

static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {425, "Too Early"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *http_status_reason(int status)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "Unknown";
}

/* json_string() yields NULL for invalid UTF-8 and json_object_set_new() then skips the
 * member: a problem without a garbled member beats no problem at all. */
json_t *http_problem_new(int status, const char *title, const char *detail, const char *cause,
                         const struct http_invalid_param *invalid, size_t n_invalid)
{
    json_t *p = json_object();
    if (!p)
        return NULL;
    json_object_set_new(p, "title", json_string(title ? title : http_status_reason(status)));
    json_object_set_new(p, "status", json_integer(status));
    if (detail)
        json_object_set_new(p, "detail", json_string(detail));
    if (cause)
        json_object_set_new(p, "cause", json_string(cause));
    json_t *arr = n_invalid ? json_array() : NULL;
    for (size_t i = 0; arr && i < n_invalid; i++) {
        json_t *ip = json_object();
        if (ip && invalid[i].param)
            json_object_set_new(ip, "param", json_string(invalid[i].param));
        if (ip && invalid[i].reason)
            json_object_set_new(ip, "reason", json_string(invalid[i].reason));
        json_array_append_new(arr, ip);
    }
    if (arr)
        json_object_set_new(p, "invalidParams", arr);
    if (!json_object_get(p, "status")) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int http_respond_problem(struct http_request *req, int status, const char *title,
                         const char *detail, const char *cause,
                         const struct http_invalid_param *invalid, size_t n_invalid)
{
    json_t *p = http_problem_new(status, title, detail, cause, invalid, n_invalid);
    return http_respond_problem_json(req, p);
}

void hproblem_respond(struct http_request *req, int status, const char *detail)
{
    http_respond_problem(req, status, NULL, detail, NULL, NULL, 0);
}
