/* See test_t8_sink.h. One connection at a time, "Connection: close": simple and enough. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_t8_sink.h"

/* The connection's bytes, in the clear or through TLS. */
static ssize_t sink_read(SSL *ssl, int c, char *buf, size_t len)
{
    return ssl ? SSL_read(ssl, buf, (int)len) : read(c, buf, len);
}

static void serve(struct sink *s, int c)
{
    SSL *ssl = NULL;
    if (s->tls) {
        struct timeval tv = {2, 0}; /* a handshake that stalls must not stall the sink */
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssl = SSL_new(s->tls);
        if (ssl == NULL || SSL_set_fd(ssl, c) != 1 || SSL_accept(ssl) != 1) {
            SSL_free(ssl);
            close(c);
            return;
        }
    }
    char buf[65536];
    size_t len = 0;
    size_t need = 0;
    char *head_end = NULL;
    while (len < sizeof(buf) - 1) {
        struct pollfd p = {c, POLLIN, 0};
        if ((ssl == NULL || SSL_pending(ssl) == 0) && poll(&p, 1, 2000) <= 0)
            break;
        ssize_t n = sink_read(ssl, c, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
        if (head_end == NULL && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "content-length:");
            need = (size_t)(head_end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (head_end && len >= need)
            break;
    }
    if (head_end && len >= need) {
        pthread_mutex_lock(&s->mu);
        if (s->n < SINK_MAX)
            s->bodies[s->n++] = strdup(head_end + 4);
        pthread_mutex_unlock(&s->mu);
        static const char ok[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
        if ((ssl ? SSL_write(ssl, ok, sizeof(ok) - 1) : write(c, ok, sizeof(ok) - 1)) < 0)
            perror("sink write");
    }
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    close(c);
}

static void *run(void *arg)
{
    struct sink *s = arg;
    while (!s->stop) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (s->hang && s->n_held < 64)
            s->held[s->n_held++] = c; /* never read, never answered */
        else if (s->hang)
            close(c);
        else
            serve(s, c);
    }
    return NULL;
}

static int start(struct sink *s, bool hang, SSL_CTX *tls)
{
    memset(s, 0, sizeof(*s));
    s->hang = hang;
    s->tls = tls;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 64) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%u/notify", tls ? "https" : "http", s->port);
    return pthread_create(&s->thread, NULL, run, s) == 0 ? 0 : -1;
}

int sink_start(struct sink *s, bool hang)
{
    return start(s, hang, NULL);
}

int sink_start_tls(struct sink *s, const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return -1;
    }
    return start(s, false, ctx);
}

void sink_stop(struct sink *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->n_held; i++)
        close(s->held[i]);
    for (int i = 0; i < s->n; i++)
        free(s->bodies[i]);
    pthread_mutex_destroy(&s->mu);
    SSL_CTX_free(s->tls);
}

int sink_wait(struct sink *s, int have, int ms)
{
    for (int waited = 0;; waited += 10) {
        pthread_mutex_lock(&s->mu);
        int n = s->n;
        pthread_mutex_unlock(&s->mu);
        if (n > have || waited >= ms)
            return n;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

char *sink_body(struct sink *s, int i)
{
    pthread_mutex_lock(&s->mu);
    char *b = i < s->n ? strdup(s->bodies[i]) : NULL;
    pthread_mutex_unlock(&s->mu);
    return b;
}
