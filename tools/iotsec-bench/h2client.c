/* The HTTP/2 load client: see h2client.h. nghttp2 runs in "mem" mode (we own the bytes):
 * TLS records are read into one buffer and fed to nghttp2_session_mem_recv(); outgoing
 * frames are coalesced into one buffer before SSL_write() so many small frames share a TLS
 * record and a syscall. Completed streams are queued during mem_recv and their callbacks run
 * after it returns, so a callback may submit the next request safely. */
#include <errno.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "h2client_int.h"

void h2c_set_why(struct h2c *c, const char *fmt, ...)
{
    if (c->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
}

const char *h2c_tls_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_get_error());
    return r ? r : "unknown TLS error";
}

/* ---- slots ---------------------------------------------------------------------------- */

static struct h2c_slot *slot_take(struct h2c *c)
{
    if (c->free_head < 0)
        return NULL;
    struct h2c_slot *sl = &c->slots[c->free_head];
    c->free_head = sl->next;
    c->nfree--;
    sl->status = 0, sl->failed = 0, sl->resp_len = 0, sl->body_off = 0, sl->next = -1;
    sl->in_use = 1, sl->queued = 0;
    return sl;
}

static void slot_release(struct h2c *c, struct h2c_slot *sl)
{
    sl->done = NULL;
    sl->in_use = 0, sl->queued = 0;
    sl->next = c->free_head;
    c->free_head = sl->index;
    c->nfree++;
}

static void slot_complete(struct h2c *c, struct h2c_slot *sl)
{
    if (!sl->in_use || sl->queued)
        return;
    sl->queued = 1;
    sl->next = -1;
    if (c->done_tail >= 0)
        c->slots[c->done_tail].next = sl->index;
    else
        c->done_head = sl->index;
    c->done_tail = sl->index;
}

/* Runs the callbacks of completed streams. The slot is free again before its callback
 * runs, so the callback can reuse it; the body stays intact until new data arrives. */
static void run_completions(struct h2c *c)
{
    while (c->done_head >= 0) {
        struct h2c_slot *sl = &c->slots[c->done_head];
        c->done_head = sl->next;
        if (c->done_head < 0)
            c->done_tail = -1;
        h2c_done_fn done = sl->done;
        void *user = sl->user;
        int status = sl->failed ? 0 : sl->status;
        slot_release(c, sl);
        sl->resp[sl->resp_len] = '\0';
        if (done)
            done(user, status, sl->resp, sl->resp_len);
    }
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------ */

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags, (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7) != 0)
        return 0;
    struct h2c_slot *sl = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (sl == NULL || valuelen != 3)
        return 0;
    int st = 0;
    for (size_t i = 0; i < 3; i++)
        st = st * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
    if (st >= 200) /* a 1xx is informational; the final status follows */
        sl->status = st;
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *user)
{
    (void)flags;
    struct h2c *c = user;
    struct h2c_slot *sl = nghttp2_session_get_stream_user_data(s, stream_id);
    if (sl == NULL)
        return 0;
    size_t room = c->cfg.max_response - sl->resp_len;
    size_t n = len < room ? len : room;
    memcpy(sl->resp + sl->resp_len, data, n);
    sl->resp_len += n;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
    struct h2c *c = user;
    struct h2c_slot *sl = nghttp2_session_get_stream_user_data(s, stream_id);
    if (sl == NULL)
        return 0;
    sl->failed = error_code != NGHTTP2_NO_ERROR || sl->status == 0;
    slot_complete(c, sl);
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)s;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        h2c_set_why(user, "GOAWAY from the server: error code %u, last stream %d, \"%.*s\"",
                    frame->goaway.error_code, frame->goaway.last_stream_id,
                    (int)(frame->goaway.opaque_data_len < 80 ? frame->goaway.opaque_data_len : 80),
                    (const char *)frame->goaway.opaque_data);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
    (void)s, (void)stream_id, (void)user;
    struct h2c_slot *sl = source->ptr;
    size_t left = sl->body_len - sl->body_off;
    size_t n = left < length ? left : length;
    memcpy(buf, sl->body + sl->body_off, n);
    sl->body_off += n;
    if (sl->body_off == sl->body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- I/O ------------------------------------------------------------------------------ */

static void want_out(struct h2c *c, int on)
{
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

void h2c_fail(struct h2c *c)
{
    if (c->broken)
        return;
    c->broken = 1;
    epoll_ctl(c->loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    for (unsigned i = 0; i < c->cfg.max_streams; i++) {
        struct h2c_slot *sl = &c->slots[i];
        if (sl->in_use && !sl->queued) {
            sl->failed = 1;
            slot_complete(c, sl);
        }
    }
    run_completions(c);
}

static void tls_why(struct h2c *c, const char *op, int e)
{
    if (e == SSL_ERROR_ZERO_RETURN)
        h2c_set_why(c, "the server closed the connection (TLS close_notify)");
    else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        h2c_set_why(c, "TLS %s: %s", op,
                    errno ? strerror(errno) : "the server closed the connection");
    else
        h2c_set_why(c, "TLS %s: %s", op, h2c_tls_reason());
}

/* Fills the output buffer from nghttp2 (only when it is empty, so a write that must be
 * retried is retried with the very same bytes), then writes what the socket takes. */
static int conn_flush(struct h2c *c)
{
    for (;;) {
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
            while (c->out_len < IO_BUF) {
                if (c->pend_len == 0) {
                    ssize_t n = nghttp2_session_mem_send(c->s, &c->pend);
                    if (n < 0) {
                        h2c_set_why(c, "HTTP/2 send: %s", nghttp2_strerror((int)n));
                        return -1;
                    }
                    if (n == 0)
                        break;
                    c->pend_len = (size_t)n;
                }
                size_t k = IO_BUF - c->out_len < c->pend_len ? IO_BUF - c->out_len : c->pend_len;
                memcpy(c->out + c->out_len, c->pend, k);
                c->out_len += k, c->pend += k, c->pend_len -= k;
            }
            if (c->out_len == 0) {
                want_out(c, 0);
                return 0;
            }
        }
        errno = 0;
        int n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            want_out(c, e == SSL_ERROR_WANT_WRITE);
            return 0;
        }
        tls_why(c, "write", e);
        return -1;
    }
}

static int conn_read(struct h2c *c)
{
    for (;;) {
        errno = 0;
        int n = SSL_read(c->ssl, c->in, sizeof(c->in));
        if (n > 0) {
            ssize_t rv = nghttp2_session_mem_recv(c->s, c->in, (size_t)n);
            if (rv < 0) {
                h2c_set_why(c, "HTTP/2 receive: %s", nghttp2_strerror((int)rv));
                return -1;
            }
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        tls_why(c, "read", e);
        return -1;
    }
}

void h2c_service(struct h2c *c, uint32_t events)
{
    if (c->broken)
        return;
    int rc = 0;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        rc = conn_read(c);
    run_completions(c);
    if (rc == 0 && !c->broken)
        rc = conn_flush(c);
    if (rc == 0 && !c->broken && !nghttp2_session_want_read(c->s) &&
        !nghttp2_session_want_write(c->s) && c->out_len == c->out_off) {
        h2c_set_why(c, "the HTTP/2 session ended");
        rc = -1;
    }
    if (rc != 0)
        h2c_fail(c);
}

/* ---- the loop ------------------------------------------------------------------------- */

int h2c_loop_run(struct h2c_loop *loop, int timeout_ms)
{
    struct epoll_event ev[16];
    /* Requests submitted outside the loop (or by another connection's callbacks). */
    for (struct h2c *c = loop->conns; c; c = c->next_conn)
        if (!c->broken && nghttp2_session_want_write(c->s) && c->out_off == c->out_len)
            h2c_service(c, 0);
    int n = epoll_wait(loop->epfd, ev, 16, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -1;
    for (int i = 0; i < n; i++)
        h2c_service(ev[i].data.ptr, ev[i].events);
    int ok = 0;
    for (struct h2c *c = loop->conns; c; c = c->next_conn) {
        if (!c->broken && nghttp2_session_want_write(c->s) && c->out_off == c->out_len)
            h2c_service(c, 0);
        ok += !c->broken;
    }
    return ok;
}

int h2c_session_new(struct h2c *c)
{
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    int rc = -1;
    if (nghttp2_session_callbacks_new(&cb) == 0 && nghttp2_option_new(&opt) == 0) {
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
        nghttp2_option_set_no_closed_streams(opt, 1);
        rc = nghttp2_session_client_new2(&c->s, cb, c, opt);
    }
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20}};
    if (rc == 0)
        rc = nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
    if (rc == 0)
        rc = nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
    return rc == 0 ? 0 : -1;
}

void h2c_abort(struct h2c *c)
{
    h2c_set_why(c, "aborted by the client");
    h2c_fail(c);
}

const char *h2c_error(const struct h2c *c)
{
    return c->broken ? c->why : NULL;
}

int h2c_ok(const struct h2c *c)
{
    return !c->broken;
}

unsigned h2c_free_slots(const struct h2c *c)
{
    return c->broken ? 0 : c->nfree;
}

/* ---- requests ------------------------------------------------------------------------- */

#define NV(n, v, vlen)                                                                             \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen),                                     \
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                           \
    }

static int submit(struct h2c *c, const char *method, const char *path, const char *ctype,
                  const void *body, size_t len, int copy, h2c_done_fn done, void *user)
{
    if (c->broken || done == NULL || (copy && len > c->cfg.max_request))
        return -1;
    struct h2c_slot *sl = slot_take(c);
    if (sl == NULL)
        return -1;
    size_t ml = strlen(method), pl = strlen(path), cl = ctype ? strlen(ctype) : 0;
    if (ml >= sizeof(sl->method) || pl >= sizeof(sl->path) || cl >= sizeof(sl->ctype)) {
        slot_release(c, sl);
        return -1;
    }
    memcpy(sl->method, method, ml + 1), memcpy(sl->path, path, pl + 1);
    if (ctype)
        memcpy(sl->ctype, ctype, cl + 1);
    if (body != NULL && copy)
        memcpy(sl->req, body, len);
    sl->body = copy ? sl->req : body;
    sl->body_len = len;
    int clen = snprintf(sl->clen, sizeof(sl->clen), "%zu", len);
    /* one credential header: a session cookie (the console face) or an Authorization */
    const char *az = c->cfg.cookie ? c->cfg.cookie : c->cfg.authorization;
    nghttp2_nv nv[] = {NV(":method", sl->method, ml),
                       NV(":scheme", "https", 5),
                       NV(":authority", c->authority, strlen(c->authority)),
                       NV(":path", sl->path, pl),
                       NV("authorization", az ? az : "", az ? strlen(az) : 0),
                       NV("content-length", sl->clen, (size_t)clen),
                       NV("content-type", sl->ctype, cl)};
    size_t n = body ? (ctype ? 7 : 6) : 5;
    if (c->cfg.cookie) {
        nv[4].name = (uint8_t *)"cookie";
        nv[4].namelen = 6;
    }
    if (az == NULL) { /* no authorization: slide the rest down over it */
        memmove(&nv[4], &nv[5], 2 * sizeof(nv[0]));
        n--;
    }
    nghttp2_data_provider dp = {.source.ptr = sl, .read_callback = read_body};
    if (nghttp2_submit_request(c->s, NULL, nv, n, body ? &dp : NULL, sl) < 0) {
        slot_release(c, sl);
        return -1;
    }
    sl->done = done, sl->user = user;
    return 0;
}

int h2c_submit(struct h2c *c, const char *method, const char *path, const char *content_type,
               const void *body, size_t len, h2c_done_fn done, void *user)
{
    return submit(c, method, path, content_type, body, len, 1, done, user);
}

int h2c_submit_ref(struct h2c *c, const char *method, const char *path, const char *content_type,
                   const void *body, size_t len, h2c_done_fn done, void *user)
{
    return submit(c, method, path, content_type, body, len, 0, done, user);
}
