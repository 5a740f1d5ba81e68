/* HTTP/1.1 (RFC 9112) on a connection: a small, strict parser and the answer's encoding.
 * One request at a time; pipelined requests wait in the input buffer for their turn.
 * A body comes with Content-Length or chunked (RFC 9112 §7.1; chunk extensions and trailer
 * fields are read and dropped; other transfer codings get 501; both framings at once, 400:
 * the classic request-smuggling ambiguity). Either way the route's body limit holds (413).
 * Anything malformed gets its 4xx with ProblemDetails and the connection closes after the
 * answer: after a framing error nothing that follows can be trusted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "http/http_int.h"

enum { CHUNK_NONE, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER };

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static void set_error(struct h1_head *hi, int status, const char *detail)
{
    if (!hi->error) {
        hi->error = status;
        hi->detail = detail;
    }
}

/* Comma-separated tokens, case-insensitive: "keep-alive, Close". */
static bool has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p += len;
    }
    return false;
}

static void special_field(struct h1_head *hi, const char *name, const char *value)
{
    if (strcmp(name, "content-length") == 0) {
        size_t n = strlen(value);
        if (hi->has_length || n == 0 || n > 18 || strspn(value, "0123456789") != n)
            set_error(hi, 400, "bad or repeated Content-Length");
        hi->has_length = true;
        hi->content_length = strtoull(value, NULL, 10);
    } else if (strcmp(name, "transfer-encoding") == 0) {
        /* Only "chunked" alone: a coding under it (gzip, chunked) we could not undo. */
        if (hi->chunked)
            set_error(hi, 400, "repeated Transfer-Encoding");
        else if (strcasecmp(value, "chunked") != 0)
            set_error(hi, 501, "transfer coding not supported: send chunked or Content-Length");
        hi->chunked = true;
    } else if (strcmp(name, "host") == 0) {
        hi->hosts++;
    } else if (strcmp(name, "connection") == 0) {
        if (has_token(value, "close"))
            hi->close = true;
        else if (has_token(value, "keep-alive"))
            hi->close = false;
    } else if (strcmp(name, "expect") == 0) {
        if (strcasecmp(value, "100-continue") == 0)
            hi->expect_continue = true;
        else
            set_error(hi, 417, "only 100-continue is supported");
    }
}

/* Request line: method SP origin-form SP HTTP/1.x CRLF. Returns the next line or NULL. */
static char *parse_request_line(struct http_request *req, char *p, struct h1_head *hi)
{
    char *m = p;
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == m || p - m > 32 || *p != ' ')
        return NULL;
    *p++ = '\0';
    char *target = p;
    while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (*p != ' ')
        return NULL;
    *p++ = '\0';
    if (strncmp(p, "HTTP/1.1\r\n", 10) == 0)
        hi->close = false;
    else if (strncmp(p, "HTTP/1.0\r\n", 10) == 0)
        hi->close = hi->http10 = true;
    else
        return NULL;
    req->method = m;
    req->is_head = strcmp(m, "HEAD") == 0;
    if (hreq_set_target(req, target) != IOTSEC_OK)
        return NULL;
    return p + 10;
}

/* Field lines up to the empty line: name ":" OWS value OWS CRLF. No obs-fold, no bare CR or
 * LF, no controls. Names are folded to lower case in place; strings are NUL-terminated in
 * place and referenced by the request (the head lives in its arena). */
static bool parse_fields(struct http_request *req, char *p, struct h1_head *hi)
{
    while (!(p[0] == '\r' && p[1] == '\n')) {
        char *name = p;
        while (is_tchar((unsigned char)*p)) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
            p++;
        }
        if (p == name || *p != ':')
            return false;
        size_t nlen = (size_t)(p - name);
        *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        char *value = p, *end = p;
        for (; *p != '\r'; p++) {
            unsigned char ch = (unsigned char)*p;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return false;
            if (ch != ' ' && ch != '\t')
                end = p + 1;
        }
        if (p[1] != '\n')
            return false;
        *end = '\0';
        p += 2;
        special_field(hi, name, value);
        if (hreq_add_header(req, name, nlen, value, (size_t)(end - value), false) != IOTSEC_OK)
            return false;
    }
    return true;
}

void hconn_h1_parse_head(struct http_request *req, const char *bytes, size_t head_len,
                         size_t max_body, struct h1_head *hi)
{
    memset(hi, 0, sizeof(*hi));
    char *head = harena_strndup(&req->arena, bytes, head_len);
    char *fields = head ? parse_request_line(req, head, hi) : NULL;
    if (!fields || !parse_fields(req, fields, hi))
        set_error(hi, 400, fields ? "malformed header field" : "malformed request line");
    if (!hi->error && (hi->http10 ? hi->hosts > 1 : hi->hosts != 1))
        set_error(hi, 400, "exactly one Host header field is required");
    if (!hi->error && hi->chunked && (hi->has_length || hi->http10))
        set_error(hi, 400,
                  hi->http10 ? "HTTP/1.0 has no chunked coding"
                             : "both Content-Length and Transfer-Encoding");
    if (!hi->error && hi->content_length > max_body)
        set_error(hi, 413, "the request body is too large");
    if (!hi->error && req->head_too_large)
        set_error(hi, 431, "too many or too large header fields");
}

/* Starts the request whose head is the first head_len bytes of the input. */
static void start_request(struct http_conn *c, struct http_request *req, size_t head_len)
{
    struct h1_state *h = &c->h1;
    const struct http_server_config *cfg = &c->w->srv->cfg;
    const struct router *rt = &c->w->srv->router;
    struct h1_head hi;
    hconn_h1_parse_head(req, hbuf_begin(&h->in), head_len,
                        hrouter_max_body(rt, cfg->max_body_bytes), &hi);
    hbuf_consume(&h->in, head_len);
    h->scanned = 0;
    if (!hi.error) /* the route's own limit (a bulk import may take more than the face) */
        req->max_body = hrouter_body_limit(rt, req->method, req->path, cfg->max_body_bytes);
    if (!hi.error && hi.content_length > req->max_body)
        set_error(&hi, 413, "the request body is too large");
    h->close_after = h->close_after || hi.close || hi.error;
    if (hi.error) {
        hreq_fail(req, hi.error, hi.detail);
        return;
    }
    h->body_need = hi.content_length;
    h->chunk_phase = hi.chunked ? CHUNK_SIZE : CHUNK_NONE;
    /* An announced length is a claim, not bytes: reserve a bounded part of it. */
    size_t prealloc = h->body_need < HTTP_BODY_PREALLOC ? h->body_need : HTTP_BODY_PREALLOC;
    if (prealloc && hbuf_reserve(&req->body, prealloc) != IOTSEC_OK) {
        h->close_after = true;
        hreq_fail(req, 503, "out of memory");
        return;
    }
    if (hi.expect_continue && (hi.chunked || h->body_need > hbuf_size(&h->in)))
        hbuf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* A head ends with CRLF CRLF; a bare LF would never end one: answer it at once. */
static bool has_bare_lf(const char *p, size_t from, size_t n)
{
    for (const char *q = p + from; (q = memchr(q, '\n', (size_t)(p + n - q))); q++)
        if (q == p || q[-1] != '\r')
            return true;
    return false;
}

/* Answers an unusable head and ends the connection after the answer. */
static void fail_head(struct http_conn *c, int status, const char *detail)
{
    struct h1_state *h = &c->h1;
    struct http_request *req = hreq_new(c);
    if (!req) {
        hconn_kill(c);
        return;
    }
    h->req = req;
    h->close_after = true;
    hbuf_consume(&h->in, hbuf_size(&h->in));
    hreq_fail(req, status, detail);
}

/* Looks for a complete head in the input. Returns true if a request was started. */
static bool next_head(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    size_t max = c->w->srv->cfg.max_header_bytes;
    /* RFC 9112 §2.2: ignore empty lines before a request line. */
    while (hbuf_size(&h->in) >= 2 && memcmp(hbuf_begin(&h->in), "\r\n", 2) == 0) {
        hbuf_consume(&h->in, 2);
        h->scanned = 0;
    }
    const char *p = hbuf_begin(&h->in);
    size_t n = hbuf_size(&h->in), from = h->scanned > 3 ? h->scanned - 3 : 0;
    const char *end = n > from ? memmem(p + from, n - from, "\r\n\r\n", 4) : NULL;
    size_t head_len = end ? (size_t)(end + 4 - p) : n;
    if (has_bare_lf(p, h->scanned, head_len)) {
        fail_head(c, 400, "lines must end with CRLF");
        return true;
    }
    if (head_len > max) {
        fail_head(c, 431, "the request head is too large");
        return true;
    }
    if (!end) {
        h->scanned = n;
        return false;
    }
    struct http_request *req = hreq_new(c);
    if (!req) {
        hconn_kill(c);
        return false;
    }
    h->req = req;
    start_request(c, req, head_len);
    return true;
}

/* Body with Content-Length: 1 when complete, 0 when more is needed, -1 when answered. */
static int take_sized(struct http_conn *c, struct http_request *req)
{
    struct h1_state *h = &c->h1;
    size_t n = hbuf_size(&h->in) < h->body_need ? hbuf_size(&h->in) : h->body_need;
    if (hbuf_append(&req->body, hbuf_begin(&h->in), n) != IOTSEC_OK) {
        h->close_after = true;
        hreq_fail(req, 503, "out of memory");
        return -1;
    }
    hbuf_consume(&h->in, n);
    h->body_need -= n;
    return h->body_need ? 0 : 1;
}

#define CHUNK_LINE_MAX 1024 /* a size line with its extensions, or one trailer field */

/* The next CRLF-terminated line of the input (without CRLF), or NULL when it has not fully
 * arrived. *bad is set for a line that is too long or holds a bare LF or a control. */
static const char *chunk_line(struct h1_state *h, size_t *len, bool *bad)
{
    const char *p = hbuf_begin(&h->in);
    size_t n = hbuf_size(&h->in), limit = n < CHUNK_LINE_MAX ? n : CHUNK_LINE_MAX;
    const char *lf = memchr(p, '\n', limit);
    *bad = false;
    if (!lf) {
        *bad = n >= CHUNK_LINE_MAX;
        return NULL;
    }
    *len = (size_t)(lf - p);
    if (*len == 0 || p[*len - 1] != '\r') {
        *bad = true;
        return NULL;
    }
    (*len)--;
    for (size_t i = 0; i < *len; i++)
        if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            *bad = true;
    return *bad ? NULL : p;
}

/* chunk-size [ chunk-ext ]: 1..15 hex digits (no overflow of size_t), then nothing or BWS
 * and ';' (the extension itself is ignored). */
static bool chunk_size(const char *p, size_t len, size_t *size)
{
    size_t i = 0, v = 0;
    for (; i < len && i < 16; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        v = v << 4 | (size_t)d;
    }
    if (i == 0 || i == 16)
        return false;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) /* BWS before an extension */
        i++;
    if (i < len && p[i] != ';')
        return false;
    *size = v;
    return true;
}

/* Chunked body, strictly: 1 when complete, 0 when more is needed, -1 when answered (400 for
 * broken framing, 413 past the limit; the connection closes after either). */
static int take_chunked(struct http_conn *c, struct http_request *req)
{
    struct h1_state *h = &c->h1;
    for (;;) {
        size_t len = 0, size;
        bool bad;
        const char *line;
        switch (h->chunk_phase) {
        case CHUNK_SIZE:
            if (!(line = chunk_line(h, &len, &bad)))
                goto more_or_bad;
            if (!chunk_size(line, len, &size))
                goto malformed;
            hbuf_consume(&h->in, len + 2);
            if (size > req->max_body - hbuf_size(&req->body)) {
                h->close_after = true;
                hreq_fail(req, 413, "the request body is too large");
                return -1;
            }
            h->body_need = size;
            h->chunk_phase = size ? CHUNK_DATA : CHUNK_TRAILER;
            break;
        case CHUNK_DATA:
            if (take_sized(c, req) <= 0)
                return req->phase == REQ_RECEIVING ? 0 : -1;
            h->chunk_phase = CHUNK_DATA_END;
            break;
        case CHUNK_DATA_END:
            if (hbuf_size(&h->in) < 2)
                return 0;
            if (memcmp(hbuf_begin(&h->in), "\r\n", 2) != 0)
                goto malformed;
            hbuf_consume(&h->in, 2);
            h->chunk_phase = CHUNK_SIZE;
            break;
        case CHUNK_TRAILER: /* trailer fields are not used: read and dropped */
            if (!(line = chunk_line(h, &len, &bad)))
                goto more_or_bad;
            if (len > 0 && !memchr(line, ':', len))
                goto malformed;
            hbuf_consume(&h->in, len + 2);
            if (len == 0) {
                h->chunk_phase = CHUNK_NONE;
                return 1;
            }
            break;
        default:
            return 1;
        }
        continue;
    more_or_bad:
        if (!bad)
            return 0;
    malformed:
        h->close_after = true;
        hreq_fail(req, 400, "malformed chunked body");
        return -1;
    }
}

static void process(struct http_conn *c)
{
    struct h1_state *h = &c->h1;
    for (;;) {
        struct http_request *req = h->req;
        if (req && req->phase == REQ_SENDING) {
            hreq_free(req);
            h->req = req = NULL;
        }
        if (req) {
            if (req->phase != REQ_RECEIVING)
                break; /* a handler or the application has it */
            int got = h->chunk_phase == CHUNK_NONE ? take_sized(c, req) : take_chunked(c, req);
            if (got < 0)
                continue; /* answered */
            if (got == 0)
                break;
            c->progress = true;
            hreq_dispatch(req);
            continue;
        }
        if (h->close_after || c->eof || c->graceful || hbuf_size(&h->in) == 0 || !next_head(c))
            break;
    }
    c->in_paused = h->req && hbuf_size(&h->in) > c->w->srv->cfg.max_header_bytes;
}

int hconn_h1_start(struct http_conn *c)
{
    c->proto = &hconn_proto_h1;
    c->state = CONN_OPEN;
    return IOTSEC_OK;
}

static int h1_feed(struct http_conn *c, const uint8_t *data, size_t len)
{
    if (c->h1.close_after)
        return IOTSEC_OK; /* the connection is ending: discard */
    if (hbuf_append(&c->h1.in, data, len) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    process(c);
    return IOTSEC_OK;
}

static int h1_pull(struct http_conn *c)
{
    process(c);
    return IOTSEC_OK;
}

static void put(struct http_buf *b, const char *s, size_t n)
{
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void h1_submit(struct http_request *req)
{
    struct http_conn *c = req->conn;
    struct h1_state *h = &c->h1;
    struct http_buf *out = &c->out;
    int st = req->status;
    bool bodyless = st == 204 || st == 304;
    size_t body = bodyless || req->is_head ? 0 : req->resp_len;
    if (c->graceful)
        h->close_after = true;
    size_t need = 160 + body + (req->content_type ? strlen(req->content_type) : 0);
    for (unsigned i = 0; i < req->n_resp_headers; i++)
        need += strlen(req->resp_headers[i].name) + strlen(req->resp_headers[i].value) + 4;
    if (hbuf_reserve(out, need) != IOTSEC_OK) {
        h->close_after = true;
        hconn_kill(c);
        return;
    }
    char line[96];
    put(out, line,
        (size_t)snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", st, http_status_reason(st)));
    if (req->content_type) {
        put(out, "content-type: ", 14);
        put(out, req->content_type, strlen(req->content_type));
        put(out, "\r\n", 2);
    }
    if (!bodyless)
        put(out, line,
            (size_t)snprintf(line, sizeof(line), "content-length: %zu\r\n", req->resp_len));
    put(out, line, (size_t)snprintf(line, sizeof(line), "x-request-id: %s\r\n", req->id));
    for (unsigned i = 0; i < req->n_resp_headers; i++) {
        const struct http_header *f = &req->resp_headers[i];
        put(out, f->name, strlen(f->name));
        put(out, ": ", 2);
        put(out, f->value, strlen(f->value));
        put(out, "\r\n", 2);
    }
    if (h->close_after)
        put(out, "connection: close\r\n", 19);
    put(out, "\r\n", 2);
    if (body)
        put(out, req->resp_body, body);
}

static bool h1_finished(struct http_conn *c)
{
    return !c->h1.req && (c->h1.close_after || c->eof || c->graceful);
}

static bool h1_receiving(struct http_conn *c)
{
    const struct h1_state *h = &c->h1;
    return h->req ? h->req->phase == REQ_RECEIVING : hbuf_size(&h->in) > 0;
}

static void h1_shutdown(struct http_conn *c)
{
    (void)c; /* c->graceful is set: the next answer says close, and no new request starts */
}

static void h1_destroy(struct http_conn *c)
{
    hbuf_free(&c->h1.in);
    c->h1.req = NULL; /* freed or detached with the connection's other requests */
}

const struct conn_proto hconn_proto_h1 = {
    .feed = h1_feed,
    .pull = h1_pull,
    .submit = h1_submit,
    .finished = h1_finished,
    .receiving = h1_receiving,
    .shutdown = h1_shutdown,
    .destroy = h1_destroy,
    .id = HTTP_PROTO_1_1,
};
