/* The HTTP/2 load client: see h2client.h. nghttp2 runs in "mem" mode (we own the bytes):
 * TLS records are read into one buffer and fed to nghttp2_session_mem_recv(); outgoing
 * frames are coalesced into one buffer before SSL_write() so many small frames share a TLS
 * record and a syscall. Completed streams are queued during mem_recv and their callbacks run
 * after it returns, so a callback may submit the next request safely. */
#include "h2client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IO_BUF (64 * 1024)
#define NO_STREAM (-1)

struct h2c_slot {
    struct h2c *conn;
    int index, next;   /* free list / completion queue link */
    int status;        /* :status, or 0 until one arrives */
    int failed;        /* reset, or closed with an error code */
    int in_use, queued;
    const uint8_t *body;
    size_t body_len, body_off;
    uint8_t *req;      /* the copied request body, max_request bytes */
    char *resp;        /* max_response + 1 bytes */
    size_t resp_len;
    h2c_done_fn done;
    void *user;
    char method[8], ctype[64], path[256], clen[24];
};

struct h2c {
    struct h2c_loop *loop;
    struct h2c *next_conn;
    struct h2c_config cfg;
    int fd, broken, want_out;
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *s;
    char authority[64];
    struct h2c_slot *slots;
    int free_head, done_head, done_tail;
    unsigned nfree;
    const uint8_t *pend; /* the rest of nghttp2's last chunk, valid until the next mem_send */
    size_t pend_len;
    size_t out_len, out_off;
    uint8_t out[IO_BUF], in[IO_BUF];
};

struct h2c_loop {
    int epfd;
    struct h2c *conns;
};

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
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

/* Breaks the connection: every request in flight completes with status 0. */
static void conn_fail(struct h2c *c)
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
                    if (n < 0)
                        return -1;
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
        return -1;
    }
}

static int conn_read(struct h2c *c)
{
    for (;;) {
        int n = SSL_read(c->ssl, c->in, sizeof(c->in));
        if (n > 0) {
            if (nghttp2_session_mem_recv(c->s, c->in, (size_t)n) < 0)
                return -1;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        return -1; /* closed by the peer, or a TLS error */
    }
}

static void conn_service(struct h2c *c, uint32_t events)
{
    if (c->broken)
        return;
    int rc = 0;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        rc = conn_read(c);
    run_completions(c);
    if (rc == 0 && !c->broken)
        rc = conn_flush(c);
    if (rc != 0 || (!c->broken && !nghttp2_session_want_read(c->s) &&
                    !nghttp2_session_want_write(c->s) && c->out_len == c->out_off))
        conn_fail(c);
}

/* ---- the loop ------------------------------------------------------------------------- */

struct h2c_loop *h2c_loop_new(void)
{
    struct h2c_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    return loop;
}

void h2c_loop_free(struct h2c_loop *loop)
{
    if (loop == NULL)
        return;
    while (loop->conns)
        h2c_close(loop->conns);
    close(loop->epfd);
    free(loop);
}

int h2c_loop_run(struct h2c_loop *loop, int timeout_ms)
{
    struct epoll_event ev[16];
    /* Requests submitted outside the loop (or by another connection's callbacks). */
    for (struct h2c *c = loop->conns; c; c = c->next_conn)
        if (!c->broken && nghttp2_session_want_write(c->s) && c->out_off == c->out_len)
            conn_service(c, 0);
    int n = epoll_wait(loop->epfd, ev, 16, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -1;
    for (int i = 0; i < n; i++)
        conn_service(ev[i].data.ptr, ev[i].events);
    int ok = 0;
    for (struct h2c *c = loop->conns; c; c = c->next_conn) {
        if (!c->broken && nghttp2_session_want_write(c->s) && c->out_off == c->out_len)
            conn_service(c, 0);
        ok += !c->broken;
    }
    return ok;
}

/* ---- connecting ----------------------------------------------------------------------- */

static SSL_CTX *tls_ctx(const struct h2c_config *cfg, char *err, size_t len)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
        set_err(err, len, "TLS setup (%s, %s): %s", cfg->cert_file, cfg->ca_file,
                ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static int tcp_connect(const char *host, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct timeval tv = {.tv_sec = 10}; /* the blocking handshake must not hang the bench */
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tls_handshake(struct h2c *c, char *err, size_t len)
{
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->cfg.host) != 1 ||
        SSL_set_fd(c->ssl, c->fd) != 1) {
        set_err(err, len, "TLS: out of memory");
        return -1;
    }
    if (SSL_connect(c->ssl) != 1) {
        set_err(err, len, "TLS handshake with %s: %s", c->authority,
                ERR_reason_error_string(ERR_get_error()));
        return -1;
    }
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
    if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
        set_err(err, len, "%s did not select ALPN h2", c->authority);
        return -1;
    }
    struct timeval none = {0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
        set_err(err, len, "fcntl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int session_new(struct h2c *c)
{
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    int rc = -1;
    if (nghttp2_session_callbacks_new(&cb) == 0 && nghttp2_option_new(&opt) == 0) {
        nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
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

static int slots_new(struct h2c *c)
{
    size_t per = c->cfg.max_request + c->cfg.max_response + 1;
    c->slots = calloc(c->cfg.max_streams, sizeof(*c->slots));
    uint8_t *mem = calloc(c->cfg.max_streams, per);
    if (c->slots == NULL || mem == NULL) {
        free(mem);
        return -1;
    }
    c->free_head = -1, c->done_head = -1, c->done_tail = -1;
    for (int i = (int)c->cfg.max_streams - 1; i >= 0; i--) {
        struct h2c_slot *sl = &c->slots[i];
        sl->conn = c, sl->index = i;
        sl->req = mem + (size_t)i * per;
        sl->resp = (char *)sl->req + c->cfg.max_request;
        sl->next = c->free_head;
        c->free_head = i;
    }
    c->nfree = c->cfg.max_streams;
    return 0;
}

static void conn_free(struct h2c *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    nghttp2_session_del(c->s);
    if (c->slots)
        free(c->slots[0].req);
    free(c->slots);
    free(c);
}

struct h2c *h2c_connect(struct h2c_loop *loop, const struct h2c_config *cfg, char *err,
                        size_t err_len)
{
    struct h2c *c = calloc(1, sizeof(*c));
    if (c == NULL || cfg->max_streams == 0) {
        set_err(err, err_len, "out of memory");
        free(c);
        return NULL;
    }
    c->loop = loop, c->cfg = *cfg, c->fd = -1;
    snprintf(c->authority, sizeof(c->authority), "%s:%u", cfg->host, cfg->port);
    if (slots_new(c) != 0) {
        set_err(err, err_len, "out of memory");
        conn_free(c);
        return NULL;
    }
    if ((c->ctx = tls_ctx(cfg, err, err_len)) == NULL) {
        conn_free(c);
        return NULL;
    }
    if ((c->fd = tcp_connect(cfg->host, cfg->port)) < 0) {
        set_err(err, err_len, "connect to %s: %s", c->authority, strerror(errno));
        conn_free(c);
        return NULL;
    }
    if (tls_handshake(c, err, err_len) != 0) {
        conn_free(c);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (session_new(c) != 0 || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        set_err(err, err_len, "HTTP/2 session setup failed");
        conn_free(c);
        return NULL;
    }
    c->next_conn = loop->conns;
    loop->conns = c;
    conn_service(c, 0); /* the connection preface and SETTINGS */
    return c;
}

void h2c_close(struct h2c *c)
{
    if (c == NULL)
        return;
    conn_fail(c);
    for (struct h2c **p = &c->loop->conns; *p; p = &(*p)->next_conn) {
        if (*p == c) {
            *p = c->next_conn;
            break;
        }
    }
    conn_free(c);
}

void h2c_abort(struct h2c *c)
{
    conn_fail(c);
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

#define NV(n, v, vlen)                                                                         \
    {                                                                                          \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen),                                 \
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                       \
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
    nghttp2_nv nv[] = {NV(":method", sl->method, ml),
                       NV(":scheme", "https", 5),
                       NV(":authority", c->authority, strlen(c->authority)),
                       NV(":path", sl->path, pl),
                       NV("content-length", sl->clen, (size_t)clen),
                       NV("content-type", sl->ctype, cl)};
    size_t n = body ? (ctype ? 6 : 5) : 4;
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

int h2c_submit_ref(struct h2c *c, const char *method, const char *path,
                   const char *content_type, const void *body, size_t len, h2c_done_fn done,
                   void *user)
{
    return submit(c, method, path, content_type, body, len, 0, done, user);
}
