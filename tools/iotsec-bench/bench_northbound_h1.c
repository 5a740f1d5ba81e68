/* A minimal HTTP/1.1 keep-alive load client over TLS: N connections, one request in flight on
 * each (no pipelining: what a plain HTTPS client library does), epoll on non-blocking
 * sockets, one thread. Responses are framed by Content-Length (our server always sends it);
 * anything else counts as a failure and the connection is dropped. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_northbound.h"

#define BUF_MAX 16384

struct h1 {
    int fd;
    SSL *ssl;
    char req[9000];
    size_t req_len, sent;
    char buf[BUF_MAX];
    size_t have;
    double t0;
    int busy, dead;
};

static SSL_CTX *ctx_new(const struct nb_load *l)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, l->ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, l->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, l->key, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Without read-ahead OpenSSL reads every record in two system calls (header, then body):
     * the client, not the server, was then the bottleneck of HTTP/1.1 on 2 cores. One answer
     * per connection is outstanding, so nothing waits unread in the SSL buffer. */
    SSL_CTX_set_read_ahead(ctx, 1);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    return ctx;
}

/* Blocking connect + handshake, then non-blocking. */
static int h1_open(struct h1 *c, SSL_CTX *ctx, uint16_t port)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1)
        return -1;
    return 0;
}

static void h1_close(struct h1 *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    c->dead = 1;
}

static int h1_send(struct h1 *c)
{
    c->t0 = bench_now();
    c->sent = 0;
    c->have = 0;
    c->busy = 1;
    int n = SSL_write(c->ssl, c->req, (int)c->req_len);
    return n == (int)c->req_len ? 0 : -1; /* small requests go out whole on a loopback socket */
}

/* A complete response in c->buf? 1 = yes (*status set, consumed), 0 = need more, -1 bad. */
static int h1_parse(struct h1 *c, int *status)
{
    c->buf[c->have < BUF_MAX ? c->have : BUF_MAX - 1] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return c->have >= BUF_MAX - 1 ? -1 : 0;
    if (strncmp(c->buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    *status = atoi(c->buf + 9);
    long len = -1;
    for (char *p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, "content-length:", 15) == 0)
            len = atol(p + 17);
    if (len < 0)
        return -1;
    size_t total = (size_t)(end + 4 - c->buf) + (size_t)len;
    if (c->have < total)
        return total >= BUF_MAX ? -1 : 0;
    c->have = 0;
    return 1;
}

int nb_load_h1(const struct sbi_daemon *d, const struct nb_load *l, struct nb_result *r)
{
    memset(r, 0, sizeof(*r));
    SSL_CTX *ctx = ctx_new(l);
    if (ctx == NULL) {
        fprintf(stderr, "northbound: the HTTP/1.1 client cannot load its certificates\n");
        return -1;
    }
    struct h1 *cs = calloc(l->connections, sizeof(*cs));
    struct sbi_hist hist;
    int ep = epoll_create1(0);
    if (cs == NULL || sbi_hist_init(&hist) != 0 || ep < 0) {
        free(cs);
        SSL_CTX_free(ctx);
        return -1;
    }
    unsigned live = 0;
    for (unsigned i = 0; i < l->connections; i++) {
        struct h1 *c = &cs[i];
        c->fd = -1;
        int n = snprintf(c->req, sizeof(c->req),
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%s%s\r\n", l->path, l->port,
                         l->authorization ? "Authorization: " : "",
                         l->authorization ? l->authorization : "", l->authorization ? "\r\n" : "");
        c->req_len = (size_t)n;
        if (h1_open(c, ctx, l->port) != 0) {
            h1_close(c);
            continue;
        }
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        live++;
        if (h1_send(c) != 0)
            h1_close(c), live--;
    }
    if (live == 0) {
        fprintf(stderr, "northbound: no HTTP/1.1 connection\n");
        free(cs);
        close(ep);
        sbi_hist_free(&hist);
        SSL_CTX_free(ctx);
        return -1;
    }
    double start = bench_now(), measure_from = start + l->warmup_s,
           until = measure_from + l->seconds;
    int measuring = 0;
    struct epoll_event evs[64];
    while (live > 0) {
        double now = bench_now();
        if (!measuring && now >= measure_from) {
            measuring = 1;
            sbi_cpu_begin(&r->cpu, d->pid);
        }
        if (now >= until)
            break;
        int n = epoll_wait(ep, evs, 64, 50);
        for (int i = 0; i < n; i++) {
            struct h1 *c = evs[i].data.ptr;
            if (c->dead)
                continue;
            for (;;) {
                int got = SSL_read(c->ssl, c->buf + c->have, (int)(BUF_MAX - 1 - c->have));
                if (got <= 0) {
                    int e = SSL_get_error(c->ssl, got);
                    if (e == SSL_ERROR_WANT_READ)
                        break;
                    r->failed++;
                    h1_close(c), live--;
                    break;
                }
                c->have += (size_t)got;
                int status = 0, p = h1_parse(c, &status);
                if (p == 0)
                    continue;
                double t = bench_now();
                if (p < 0 || status != 200) {
                    r->failed++;
                } else if (measuring && t < until) {
                    r->ok++;
                    sbi_hist_add(&hist, t - c->t0);
                }
                if (p < 0 || h1_send(c) != 0) {
                    h1_close(c), live--;
                }
                break;
            }
        }
    }
    r->elapsed_s = bench_now() - measure_from;
    if (r->elapsed_s > l->seconds)
        r->elapsed_s = l->seconds;
    sbi_cpu_end(&r->cpu, d->pid);
    r->p50_ms = sbi_hist_ms(&hist, 0.5);
    r->p99_ms = sbi_hist_ms(&hist, 0.99);
    for (unsigned i = 0; i < l->connections; i++)
        if (!cs[i].dead)
            h1_close(&cs[i]);
    free(cs);
    close(ep);
    sbi_hist_free(&hist);
    SSL_CTX_free(ctx);
    return 0;
}
