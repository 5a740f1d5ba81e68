/* Answers: the http_respond* family fills in the request's answer, then either hands it to
 * the protocol at once (inside the handler, on the worker) or, for a deferred request,
 * queues it to the request's own worker, whichever thread answers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "http/http_int.h"

#define RESPONSE_FIELD_MAX 8192

/* Set by the server itself, or meaningless (and forbidden) in HTTP/2. */
static const char *const reserved_fields[] = {
    "content-length",    "content-type", "x-request-id",     "connection", "keep-alive",
    "transfer-encoding", "upgrade",      "proxy-connection", "te",
};

static bool valid_name(const char *s, size_t len)
{
    static const char tchar_punct[] = "!#$%&'*+-.^_`|~";
    if (len == 0 || len > 256)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || (ch && strchr(tchar_punct, ch));
        if (!ok)
            return false;
    }
    return true;
}

/* No CR, LF, NUL or other controls but HTAB: nothing that could split a response. */
static bool valid_value(const char *s, size_t len)
{
    if (len > RESPONSE_FIELD_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* Whether the caller may answer now; see the ownership rules in http.h. */
static int answer_allowed(const struct http_request *req)
{
    if (!req)
        return IOTSEC_ERR_INVALID;
    if (req->responded || (!req->deferred && req->phase != REQ_HANDLING))
        return IOTSEC_ERR_STATE;
    return IOTSEC_OK;
}

int http_response_header(struct http_request *req, const char *name, const char *value)
{
    int rc = answer_allowed(req);
    if (rc != IOTSEC_OK)
        return rc;
    if (!name || !value)
        return IOTSEC_ERR_INVALID;
    size_t nlen = strlen(name), vlen = strlen(value);
    if (!valid_name(name, nlen) || !valid_value(value, vlen))
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < sizeof(reserved_fields) / sizeof(reserved_fields[0]); i++)
        if (strcasecmp(name, reserved_fields[i]) == 0)
            return IOTSEC_ERR_INVALID;
    if (req->n_resp_headers == HTTP_MAX_RESPONSE_HEADERS)
        return IOTSEC_ERR_BUSY;
    char *n = harena_strndup(&req->arena, name, nlen);
    const char *v = harena_strndup(&req->arena, value, vlen);
    if (!n || !v)
        return IOTSEC_ERR_NOMEM;
    for (char *p = n; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    req->resp_headers[req->n_resp_headers].name = n;
    req->resp_headers[req->n_resp_headers].value = v;
    req->n_resp_headers++;
    return IOTSEC_OK;
}

void hresp_submit(struct http_request *req)
{
    struct http_conn *c = req->conn;
    struct worker *w = c->w;
    unsigned route = req->route ? req->route->index : w->srv->router.n;
    hmetrics_count(w->metrics, route, req->status, hnow_us() - req->start_us);
    hchange_log(req);
    if (req->status == 500) /* a bug somewhere; 503 and 429 are deliberate */
        hlog(w->srv, HTTP_LOG_WARNING, req->id, "answered 500");
    hreq_set_phase(req, REQ_SENDING);
    c->proto->submit(req);
}

void hresp_finish(struct http_request *req)
{
    req->responded = true;
    if (req->deferred)
        hworker_post(req->conn->w, req);
    else
        hresp_submit(req);
}

/* Answers with a body that is already the request's (in its arena or in owned). */
static int answer(struct http_request *req, int status, const char *content_type, const char *body,
                  size_t len, char *owned)
{
    int rc = answer_allowed(req);
    if (rc == IOTSEC_OK && (status < 200 || status > 599))
        rc = IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK && content_type &&
        (!valid_value(content_type, strlen(content_type)) ||
         !(content_type = harena_strndup(&req->arena, content_type, strlen(content_type)))))
        rc = IOTSEC_ERR_INVALID;
    if (rc != IOTSEC_OK) {
        free(owned);
        return rc;
    }
    req->status = status;
    req->content_type = content_type;
    req->resp_body = body;
    req->resp_len = len;
    req->resp_owned = owned;
    hresp_finish(req);
    return IOTSEC_OK;
}

int http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len)
{
    int rc = answer_allowed(req);
    if (rc != IOTSEC_OK)
        return rc;
    if (len && !body)
        return IOTSEC_ERR_INVALID;
    char *owned = NULL, *copy = NULL;
    if (len) {
        /* Small bodies live in the request's arena: no allocation for the common case. */
        copy = len <= 512 ? harena_chars(&req->arena, len) : NULL;
        if (!copy && !(copy = owned = malloc(len)))
            return IOTSEC_ERR_NOMEM;
        memcpy(copy, body, len);
    }
    return answer(req, status, content_type, copy, len, owned);
}

/* Takes a malloc'd body (freed also on error). If it is missing, answers 500 so that the
 * request does not hang. */
static int answer_owned(struct http_request *req, int status, const char *content_type, char *body)
{
    if (!body) {
        int rc = answer(req, 500, NULL, NULL, 0, NULL);
        return rc == IOTSEC_OK ? IOTSEC_ERR_NOMEM : rc;
    }
    return answer(req, status, content_type, body, strlen(body), body);
}

int http_respond_json_as(struct http_request *req, int status, const char *content_type,
                         json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    return answer_owned(req, status, content_type, text);
}

int http_respond_json(struct http_request *req, int status, json_t *body)
{
    return http_respond_json_as(req, status, "application/json", body);
}

int http_respond_problem_json(struct http_request *req, json_t *problem)
{
    json_t *st = json_object_get(problem, "status");
    int status = json_is_integer(st) ? (int)json_integer_value(st) : 500;
    char *text = problem ? json_dumps(problem, JSON_COMPACT) : NULL;
    json_decref(problem);
    return answer_owned(req, status, "application/problem+json", text);
}

int http_request_defer(struct http_request *req)
{
    if (!req || req->responded || req->deferred || req->phase != REQ_HANDLING)
        return IOTSEC_ERR_STATE;
    req->deferred = true;
    return IOTSEC_OK;
}
