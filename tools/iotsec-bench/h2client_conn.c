/* Connecting the HTTP/2 load client: TCP, then a blocking TLS handshake (client certificate,
 * server verified against the CA and its IP address, ALPN h2), then non-blocking from there
 * on; and the teardown. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "h2client_int.h"

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

struct h2c_loop *h2c_loop_new(void)
{
    /* A server may close a socket we are writing to: that must be EPIPE, an error we report,
     * not SIGPIPE, which would kill the benchmark. */
    signal(SIGPIPE, SIG_IGN);
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

static SSL_CTX *tls_ctx(const struct h2c_config *cfg, char *err, size_t len)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
        set_err(err, len, "TLS setup (%s, %s): %s", cfg->cert_file, cfg->ca_file, h2c_tls_reason());
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* one read system call per record, not two (header, body); conn_read() reads until
     * WANT_READ, so nothing is left in the SSL buffer unseen */
    SSL_CTX_set_read_ahead(ctx, 1);
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
        set_err(err, len, "TLS handshake with %s: %s", c->authority, h2c_tls_reason());
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
    if (h2c_session_new(c) != 0 || epoll_ctl(loop->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        set_err(err, err_len, "HTTP/2 session setup failed");
        conn_free(c);
        return NULL;
    }
    c->next_conn = loop->conns;
    loop->conns = c;
    h2c_service(c, 0); /* the connection preface and SETTINGS */
    return c;
}

void h2c_close(struct h2c *c)
{
    if (c == NULL)
        return;
    h2c_fail(c);
    for (struct h2c **p = &c->loop->conns; *p; p = &(*p)->next_conn) {
        if (*p == c) {
            *p = c->next_conn;
            break;
        }
    }
    conn_free(c);
}
