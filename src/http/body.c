/* One way for every face to read a JSON request body and to answer an error from the layers
 * below: the same statuses, causes (TS 29.500 §5.2.7.2) and headers on the SBI, northbound,
 * admin and device faces, so that a client learns one behaviour. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "http/http_int.h"

/* "application/json", "Application/JSON; charset=utf-8", "application/problem+json": the
 * type/subtype before any parameter, case-insensitively, is want or a "+json" of its type. */
static bool media_type_is(const char *ct, const char *want)
{
    if (ct == NULL)
        return false;
    size_t len = strcspn(ct, ";");
    while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
        len--;
    size_t wlen = strlen(want);
    if (len == wlen && strncasecmp(ct, want, len) == 0)
        return true;
    /* a structured-syntax suffix (RFC 6839): "application/merge-patch+json" is JSON too */
    const char *slash = strchr(want, '/');
    size_t tlen = slash ? (size_t)(slash - want) + 1 : 0;
    return strcmp(want, "application/json") == 0 && len > tlen + 5 &&
           strncasecmp(ct, want, tlen) == 0 && strncasecmp(ct + len - 5, "+json", 5) == 0 &&
           memchr(ct + tlen, '/', len - tlen) == NULL;
}

bool http_request_media_type_is(const struct http_request *req, const char *media_type)
{
    return media_type_is(http_request_header(req, "content-type"), media_type);
}

int http_respond_unsupported_media(struct http_request *req, const char *accepted)
{
    char detail[160];
    snprintf(detail, sizeof(detail), "the body must be %s", accepted);
    http_response_header(req, "Accept-Post", accepted);
    return http_respond_problem(req, 415, NULL, detail, "UNSUPPORTED_MEDIA_TYPE", NULL, 0);
}

static json_t *read_json(struct http_request *req, bool object)
{
    if (!http_request_media_type_is(req, "application/json")) {
        http_respond_unsupported_media(req, "application/json");
        return NULL;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    json_error_t err;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL || (object && !json_is_object(o))) {
        char detail[320];
        if (o == NULL)
            snprintf(detail, sizeof(detail), "the body is not JSON: %s (line %d, column %d)",
                     err.text, err.line, err.column);
        else
            snprintf(detail, sizeof(detail), "the body is JSON but not an object");
        json_decref(o);
        http_respond_problem(req, 400, NULL, detail, "INVALID_MSG_FORMAT", NULL, 0);
        return NULL;
    }
    return o;
}

json_t *http_request_json(struct http_request *req)
{
    return read_json(req, true);
}

json_t *http_request_json_value(struct http_request *req)
{
    return read_json(req, false);
}

int http_respond_invalid(struct http_request *req, int status, const char *cause,
                         const char *pointer, const char *reason)
{
    struct http_invalid_param ip = {pointer, reason};
    return http_respond_problem(req, status, NULL, reason, cause, pointer ? &ip : NULL,
                                pointer ? 1 : 0);
}

int http_respond_unavailable(struct http_request *req, const char *cause, const char *detail,
                             unsigned retry_after_s)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%u", retry_after_s ? retry_after_s : 1);
    http_response_header(req, "Retry-After", ra);
    return http_respond_problem(req, 503, NULL, detail, cause, NULL, 0);
}

int http_respond_error(struct http_request *req, int rc, const char *detail)
{
    char text[200];
    const char *what = detail ? detail : "the request";
    switch (rc) {
    case IOTSEC_ERR_INVALID:
        return http_respond_problem(req, 400, NULL, detail ? detail : "invalid input",
                                    "MANDATORY_IE_INCORRECT", NULL, 0);
    case IOTSEC_ERR_NOTFOUND:
        return http_respond_problem(req, 404, NULL, detail ? detail : "not found", NULL, NULL, 0);
    case IOTSEC_ERR_CONFLICT:
    case IOTSEC_ERR_STATE:
        return http_respond_problem(req, 409, NULL, detail ? detail : iotsec_strerror(rc), NULL,
                                    NULL, 0);
    case IOTSEC_ERR_BUSY:
        snprintf(text, sizeof(text), "%s: the server is busy", what);
        return http_respond_unavailable(req, "NF_CONGESTION", text, 1);
    case IOTSEC_ERR_NOMEM:
        snprintf(text, sizeof(text), "%s: out of memory", what);
        return http_respond_unavailable(req, "NF_CONGESTION", text, 1);
    case IOTSEC_ERR_FULL:
        /* A full disk frees up only when an operator acts: ask for a long pause. */
        snprintf(text, sizeof(text), "%s: the database's storage is full", what);
        return http_respond_unavailable(req, "INSUFFICIENT_RESOURCES", text, 30);
    default:
        snprintf(text, sizeof(text), "%s failed", what);
        return http_respond_problem(req, 500, NULL, text, "SYSTEM_FAILURE", NULL, 0);
    }
}
