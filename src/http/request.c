/* The request object both protocols fill in, its accessors, and dispatch: route, decode the
 * path parameters, run the handler, and make sure every request gets an answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/err.h"
#include "http/http_int.h"

uint64_t hnow_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct http_request *hreq_new(struct http_conn *c)
{
    struct worker *w = c->w;
    struct http_request *req = w->free_reqs;
    if (req) {
        w->free_reqs = req->qnext;
        w->n_free_reqs--;
    } else {
        req = malloc(sizeof(*req));
        if (!req)
            return NULL;
    }
    /* Everything up to the inline arena; the arena's bytes need no clearing. */
    memset(req, 0, offsetof(struct http_request, arena_mem));
    harena_init(&req->arena, req->arena_mem, sizeof(req->arena_mem));
    req->conn = c;
    hconn_ref(c);
    req->next = c->requests;
    if (c->requests)
        c->requests->prev = req;
    c->requests = req;
    req->method = req->path = req->query = "";
    req->start_us = hnow_us();
    req->max_body = c->w->srv->cfg.max_body_bytes;
    hworker_next_id(w, req->id);
    return req;
}

void hreq_set_phase(struct http_request *req, enum req_phase phase)
{
    bool attached = req->prev || req->conn->requests == req;
    if (attached && req->phase == REQ_HANDLING)
        req->conn->n_handling--;
    if (attached && phase == REQ_HANDLING)
        req->conn->n_handling++;
    req->phase = phase;
}

static void request_unlink(struct http_request *req)
{
    struct http_conn *c = req->conn;
    if (req->phase == REQ_HANDLING && (req->prev || c->requests == req))
        c->n_handling--;
    if (req->prev)
        req->prev->next = req->next;
    else if (c->requests == req)
        c->requests = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

void hreq_detach(struct http_request *req)
{
    request_unlink(req);
    req->detached = true;
    atomic_store_explicit(&req->gone, true, memory_order_release);
}

bool http_request_cancelled(const struct http_request *req)
{
    return atomic_load_explicit(&((struct http_request *)req)->gone, memory_order_acquire);
}

void hreq_free(struct http_request *req)
{
    struct http_conn *c = req->conn;
    struct worker *w = c->w;
    request_unlink(req);
    harena_free(&req->arena);
    hbuf_free(&req->body);
    free(req->resp_owned);
    hconn_unref(c);
    if (w->n_free_reqs < HTTP_REQUEST_FREELIST) {
        req->qnext = w->free_reqs;
        w->free_reqs = req;
        w->n_free_reqs++;
    } else {
        free(req);
    }
}

int hreq_add_header(struct http_request *req, const char *name, size_t nlen, const char *value,
                    size_t vlen, bool copy)
{
    const struct http_server_config *cfg = &req->conn->w->srv->cfg;
    /* 32 octets per field: the accounting of SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113). */
    req->header_bytes += nlen + vlen + 32;
    if (req->head_too_large || req->n_headers >= cfg->max_headers ||
        req->header_bytes > cfg->max_header_bytes) {
        req->head_too_large = true;
        return IOTSEC_OK;
    }
    if (req->n_headers == req->cap_headers) {
        unsigned cap = req->cap_headers ? req->cap_headers * 2 : 16;
        struct http_header *h = harena_alloc(&req->arena, cap * sizeof(*h));
        if (!h)
            return IOTSEC_ERR_NOMEM;
        if (req->n_headers)
            memcpy(h, req->headers, req->n_headers * sizeof(*h));
        req->headers = h;
        req->cap_headers = cap;
    }
    struct http_header *h = &req->headers[req->n_headers];
    h->name = copy ? harena_strndup(&req->arena, name, nlen) : name;
    h->value = copy ? harena_strndup(&req->arena, value, vlen) : value;
    if (!h->name || !h->value)
        return IOTSEC_ERR_NOMEM;
    req->n_headers++;
    return IOTSEC_OK;
}

int hreq_set_target(struct http_request *req, char *target)
{
    if (!target || target[0] != '/')
        return IOTSEC_ERR_INVALID;
    char *query = NULL;
    for (char *p = target; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '#')
            return IOTSEC_ERR_INVALID;
        if (ch == '?' && !query)
            query = p;
    }
    req->path = target;
    req->query = "";
    if (query) {
        *query = '\0';
        req->query = query + 1;
    }
    return IOTSEC_OK;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes into the arena; NULL for a bad escape or an encoded NUL. */
static char *pct_decode(struct arena *a, const char *s, size_t len, bool plus_is_space)
{
    char *out = harena_chars(a, len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (len - i < 3)
                return NULL;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return NULL;
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    return out;
}

void hreq_fail(struct http_request *req, int status, const char *detail)
{
    hreq_set_phase(req, REQ_HANDLING);
    hproblem_respond(req, status, detail);
}

static void dispatch_route(struct http_request *req, struct route_match *m)
{
    const struct route *rt = m->route;
    req->route = rt;
    for (unsigned i = 0; i < m->n_params; i++) {
        char *v = pct_decode(&req->arena, m->params[i].raw, m->params[i].len, false);
        if (!v) {
            struct http_invalid_param ip = {m->params[i].name, "bad percent-encoding"};
            http_respond_problem(req, 400, NULL, "malformed path parameter", NULL, &ip, 1);
            return;
        }
        req->params[i].name = m->params[i].name;
        req->params[i].value = v;
    }
    req->n_params = m->n_params;
    const struct http_server *srv = req->conn->w->srv;
    if (srv->gate != NULL && !srv->gate(req, srv->gate_user)) {
        if (!req->responded && !req->deferred)
            hproblem_respond(req, 500, "the request was not answered");
        return;
    }
    rt->handler(req, rt->user);
    if (!req->responded && !req->deferred) {
        hlog(req->conn->w->srv, HTTP_LOG_ERROR, req->id, "handler for %s %s did not answer",
             rt->method, rt->pattern);
        hproblem_respond(req, 500, "the request was not answered");
    }
}

void hreq_dispatch(struct http_request *req)
{
    const struct http_server *srv = req->conn->w->srv;
    hreq_set_phase(req, REQ_HANDLING);
    if (req->head_too_large) {
        hproblem_respond(req, 431, "too many or too large header fields");
        return;
    }
    if (req->body_too_large) {
        hproblem_respond(req, 413, "the request body is too large");
        return;
    }
    if (req->conn->role_refused) {
        http_respond_problem(req, 403, NULL,
                             "the client certificate was not issued for this interface",
                             "CERTIFICATE_ROLE", NULL, 0);
        return;
    }
    struct route_match m;
    int rc = hrouter_match(&srv->router, req->method, req->path, strlen(req->path), &m);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        hproblem_respond(req, 404, "no resource at this path");
    } else if (rc == IOTSEC_ERR_STATE) {
        http_response_header(req, "allow", m.allow);
        hproblem_respond(req, 405, "method not allowed on this resource");
    } else {
        dispatch_route(req, &m);
    }
}

/* ---- accessors ---- */

const char *http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_query(const struct http_request *req)
{
    return req->query;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (unsigned i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

unsigned http_request_header_count(const struct http_request *req)
{
    return req->n_headers;
}

void http_request_header_at(const struct http_request *req, unsigned index, const char **name,
                            const char **value)
{
    const struct http_header *h = index < req->n_headers ? &req->headers[index] : NULL;
    if (name)
        *name = h ? h->name : NULL;
    if (value)
        *value = h ? h->value : NULL;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
    for (unsigned i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

static void parse_query(struct http_request *req)
{
    req->query_parsed = true;
    const char *q = req->query;
    unsigned cap = 0;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    if (!*q || cap >= 256)
        return;
    req->qparams = harena_alloc(&req->arena, (cap + 1) * sizeof(*req->qparams));
    if (!req->qparams)
        return;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        const char *k = pct_decode(&req->arena, q, klen, true);
        const char *v = eq ? pct_decode(&req->arena, eq + 1, len - klen - 1, true) : "";
        if (k && v && *k) {
            req->qparams[req->n_qparams].name = k;
            req->qparams[req->n_qparams].value = v;
            req->n_qparams++;
        }
        q += len + (q[len] == '&');
    }
}

const char *http_request_query_param(struct http_request *req, const char *name)
{
    if (!req->query_parsed)
        parse_query(req);
    for (unsigned i = 0; i < req->n_qparams; i++)
        if (strcmp(req->qparams[i].name, name) == 0)
            return req->qparams[i].value;
    return NULL;
}

const void *http_request_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = hbuf_size(&req->body);
    return req->body.data ? hbuf_begin(&req->body) : "";
}

const char *http_request_id(const struct http_request *req)
{
    return req->id;
}

const char *http_request_route(const struct http_request *req)
{
    return req->route ? req->route->pattern : "";
}

const char *http_request_principal(const struct http_request *req)
{
    return req->principal[0] ? req->principal : NULL;
}

int http_request_set_principal(struct http_request *req, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= sizeof(req->principal))
        return IOTSEC_ERR_INVALID;
    memcpy(req->principal, name, n + 1);
    return IOTSEC_OK;
}

enum http_protocol http_request_protocol(const struct http_request *req)
{
    return req->conn->proto ? req->conn->proto->id : HTTP_PROTO_1_1;
}

unsigned http_request_worker(const struct http_request *req)
{
    return req->conn->w->index;
}

struct event_base *http_request_event_base(const struct http_request *req)
{
    return req->conn->w->base;
}

const struct http_peer *http_request_peer(const struct http_request *req)
{
    return &req->conn->peer;
}
