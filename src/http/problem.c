/* ProblemDetails (RFC 7807 as profiled by TS 29.571 §5.2.4.1): the body of every error the
 * server or a handler sends, as application/problem+json. */
#include "base/err.h"
#include "http/http_int.h"

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
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
