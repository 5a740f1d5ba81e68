/* HTTPS/1.1 over OpenSSL for the onboarding messages: see onboard_tls.h. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "onboard_tls.h"

#define ANSWER_MAX (256 * 1024) /* the device face answers at most 64 KiB */
#define HEAD_MAX   8192
#define TIMEOUT_S  10

struct onboard_tls_ctx {
    SSL_CTX *ssl;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[256]; /* for Host:, SNI and the certificate check */
    bool host_is_ip;
};

struct onboard_tls {
    struct onboard_transport base;
    bool relay;
    struct onboard_tls_ctx *ctx;
    X509 *cert;
    EVP_PKEY *key;
    SSL *ssl;
    int fd;
};

/* "https://host:port" -> host, port. */
static int parse_url(const char *url, char *host, size_t host_max, char *port, size_t port_max)
{
    if (strncmp(url, "https://", 8) != 0)
        return IOTSEC_ERR_INVALID;
    const char *h = url + 8, *end, *colon;
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end)
            return IOTSEC_ERR_INVALID;
        h++;
        colon = end + 1;
    } else {
        colon = strchr(h, ':');
        end = colon ? colon : h + strcspn(h, "/");
    }
    size_t hl = (size_t)(end - h);
    if (hl == 0 || hl >= host_max)
        return IOTSEC_ERR_INVALID;
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *p = colon && *colon == ':' ? colon + 1 : "443";
    size_t pl = strcspn(p, "/");
    if (pl == 0 || pl >= port_max)
        return IOTSEC_ERR_INVALID;
    memcpy(port, p, pl);
    port[pl] = '\0';
    return IOTSEC_OK;
}

int onboard_tls_ctx_new(const char *base_url, const char *ca_file, struct onboard_tls_ctx **out)
{
    *out = NULL;
    char port[16];
    struct onboard_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return IOTSEC_ERR_NOMEM;
    int rc = parse_url(base_url ? base_url : "", c->host, sizeof(c->host), port, sizeof(port));
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (rc == IOTSEC_OK) {
        hints.ai_flags = AI_NUMERICHOST;
        c->host_is_ip = getaddrinfo(c->host, port, &hints, &ai) == 0;
        hints.ai_flags = 0;
        if (!c->host_is_ip && getaddrinfo(c->host, port, &hints, &ai) != 0)
            rc = IOTSEC_ERR_NOTFOUND;
    }
    if (rc == IOTSEC_OK) {
        memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
        c->addr_len = ai->ai_addrlen;
        c->ssl = SSL_CTX_new(TLS_client_method());
        if (!c->ssl || !SSL_CTX_set_min_proto_version(c->ssl, TLS1_3_VERSION) ||
            SSL_CTX_load_verify_locations(c->ssl, ca_file, NULL) != 1)
            rc = IOTSEC_ERR_CRYPTO;
    }
    if (ai)
        freeaddrinfo(ai);
    if (rc != IOTSEC_OK) {
        onboard_tls_ctx_free(c);
        return rc;
    }
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    /* every connection is a different device: never resume one device's session for another */
    SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET);
    *out = c;
    return IOTSEC_OK;
}

void onboard_tls_ctx_free(struct onboard_tls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ssl);
    free(c);
}

static void disconnect(struct onboard_tls *t)
{
    if (t->ssl) {
        SSL_shutdown(t->ssl); /* best effort close_notify; the answer is already in */
        SSL_free(t->ssl);
        t->ssl = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
}

static int connect_tls(struct onboard_tls *t)
{
    struct onboard_tls_ctx *c = t->ctx;
    t->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0)
        return IOTSEC_ERR_IO;
    struct timeval tv = {.tv_sec = TIMEOUT_S};
    int one = 1;
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(t->fd, (struct sockaddr *)&c->addr, c->addr_len) != 0) {
        disconnect(t);
        return IOTSEC_ERR_IO;
    }
    t->ssl = SSL_new(c->ssl);
    if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1) {
        disconnect(t);
        return IOTSEC_ERR_CRYPTO;
    }
    bool ok = true;
    if (t->cert && t->key)
        ok = SSL_use_certificate(t->ssl, t->cert) == 1 && SSL_use_PrivateKey(t->ssl, t->key) == 1;
    if (c->host_is_ip)
        ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), c->host) == 1;
    else
        ok = ok && SSL_set_tlsext_host_name(t->ssl, c->host) == 1 &&
             SSL_set1_host(t->ssl, c->host) == 1;
    if (!ok || SSL_connect(t->ssl) != 1) {
        ERR_clear_error();
        disconnect(t);
        return IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}

static int write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (w <= 0)
            return IOTSEC_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return IOTSEC_OK;
}

/* The value of header name (case-insensitive) in the head (lines ending in CRLF), or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            line += nl + 1;
            while (*line == ' ' || *line == '\t')
                line++;
            return line;
        }
    }
    return NULL;
}

int onboard_http_head_parse(const char *head, long *status, size_t *content_length,
                            uint32_t *retry_after, bool *reusable)
{
    int code = 0;
    char *stop;
    *status = 0;
    *content_length = 0;
    *retry_after = 0;
    *reusable = false;
    if (strncmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
        sscanf(head + 9, "%3d", &code) != 1 || code < 100 || code > 599 ||
        (head[12] != ' ' && head[12] != '\r'))
        return IOTSEC_ERR_INVALID;
    const char *cl = header(head, "Content-Length"), *ra = header(head, "Retry-After");
    const char *conn = header(head, "Connection");
    if (header(head, "Transfer-Encoding"))
        return IOTSEC_ERR_UNSUPPORTED; /* the device face sends Content-Length */
    if (!cl || *cl < '0' || *cl > '9')
        return IOTSEC_ERR_INVALID;
    errno = 0;
    unsigned long long clen = strtoull(cl, &stop, 10);
    if (errno || clen > ANSWER_MAX || (*stop != '\r' && *stop != '\0' && *stop != ' '))
        return IOTSEC_ERR_INVALID;
    unsigned long ra_s = ra && *ra >= '0' && *ra <= '9' ? strtoul(ra, &stop, 10) : 0;
    *retry_after = ra_s > 86400 ? 86400 : (uint32_t)ra_s; /* an HTTP date counts as absent */
    *reusable = head[7] == '1' && !(conn && strncasecmp(conn, "close", 5) == 0);
    *status = code;
    *content_length = (size_t)clen;
    return IOTSEC_OK;
}

/* Reads one answer. *reusable: whether the connection may carry the next request. */
static int read_answer(struct onboard_tls *t, long *status, uint32_t *retry_after, char **answer,
                       size_t *answer_len, bool *reusable)
{
    char *buf = malloc(HEAD_MAX + 1);
    size_t used = 0, clen = 0;
    char *end = NULL;
    if (!buf)
        return IOTSEC_ERR_NOMEM;
    while (!end) {
        if (used == HEAD_MAX)
            goto bad;
        int r = SSL_read(t->ssl, buf + used, (int)(HEAD_MAX - used));
        if (r <= 0)
            goto bad;
        used += (size_t)r;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    end[2] = '\0'; /* the head keeps its last CRLF: header() finds lines by their CRLF */
    long code;
    if (onboard_http_head_parse(buf, &code, &clen, retry_after, reusable) != IOTSEC_OK)
        goto bad;
    size_t head_len = (size_t)(end - buf) + 4, have = used - head_len;
    if (have > clen)
        goto bad; /* no pipelining: more bytes than the answer is a broken peer */
    char *body = malloc(clen + 1);
    if (!body)
        goto bad;
    memcpy(body, buf + head_len, have);
    free(buf);
    while (have < clen) {
        int r = SSL_read(t->ssl, body + have, (int)(clen - have));
        if (r <= 0) {
            free(body);
            return IOTSEC_ERR_IO;
        }
        have += (size_t)r;
    }
    body[clen] = '\0';
    *status = code;
    *answer = body;
    *answer_len = clen;
    return IOTSEC_OK;
bad:
    free(buf);
    return IOTSEC_ERR_IO;
}

int onboard_tls_post(struct onboard_tls *t, const char *path, const char *body, size_t len,
                     long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    *status = 0;
    *retry_after = 0;
    *answer = NULL;
    *answer_len = 0;
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, t->ctx->host, len);
    if (hl <= 0 || (size_t)hl >= sizeof(head))
        return IOTSEC_ERR_INVALID;
    char *req = malloc((size_t)hl + len);
    if (!req)
        return IOTSEC_ERR_NOMEM;
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, body, len);
    int rc = IOTSEC_ERR_IO;
    /* A kept-alive connection the server has closed fails at once: one fresh retry. The
     * requests are idempotent, so a re-send is always safe. */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = !t->ssl;
        if (fresh && (rc = connect_tls(t)) != IOTSEC_OK)
            break;
        bool reusable = false;
        rc = write_all(t->ssl, req, (size_t)hl + len);
        if (rc == IOTSEC_OK)
            rc = read_answer(t, status, retry_after, answer, answer_len, &reusable);
        if (rc != IOTSEC_OK || !reusable)
            disconnect(t);
        if (rc == IOTSEC_OK || fresh)
            break;
    }
    ERR_clear_error();
    free(req);
    return rc;
}

static const char *const DIRECT[] = {"/device/v1/nonce", "/device/v1/onboard", "/device/v1/confirm",
                                     "/device/v1/rotate"};
static const char *const RELAY[] = {"/device/v1/nonce", "/device/v1/relay/onboard",
                                    "/device/v1/relay/confirm", "/device/v1/relay/rotate"};

static int tls_send(struct onboard_transport *tr, enum onboard_op op, const char *body, size_t len,
                    long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    struct onboard_tls *t = (struct onboard_tls *)tr;
    if ((unsigned)op > ONBOARD_OP_ROTATE)
        return IOTSEC_ERR_INVALID;
    return onboard_tls_post(t, (t->relay ? RELAY : DIRECT)[op], body, len, status, retry_after,
                            answer, answer_len);
}

int onboard_tls_new(struct onboard_tls_ctx *c, X509 *cert, EVP_PKEY *key, struct onboard_tls **out)
{
    *out = NULL;
    struct onboard_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return IOTSEC_ERR_NOMEM;
    t->base.send = tls_send;
    t->ctx = c;
    t->cert = cert;
    t->key = key;
    t->fd = -1;
    *out = t;
    return IOTSEC_OK;
}

void onboard_tls_free(struct onboard_tls *t)
{
    if (!t)
        return;
    disconnect(t);
    free(t);
}

struct onboard_transport *onboard_tls_transport(struct onboard_tls *t, bool relay)
{
    t->relay = relay;
    return &t->base;
}
