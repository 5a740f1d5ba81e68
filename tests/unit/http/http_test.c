/* Test support for the HTTP server: see http_test.h. */
#include "http_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- certificates ---- */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* issuer NULL: self-signed CA. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                       const char *san)
{
    static long serial = 1;
    X509 *cert = X509_new();
    assert_non_null(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"iotsec test", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509 *signer = issuer ? issuer : cert;
    add_ext(cert, signer, NID_subject_key_identifier, "hash");
    if (ca) {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, signer, NID_authority_key_identifier, "keyid");
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, signer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
        if (san)
            add_ext(cert, signer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(cert, issuer_key, EVP_sha256()) > 0);
    return cert;
}

static void write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (cert)
        assert_int_equal(PEM_write_X509(f, cert), 1);
    if (key)
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

void certs_make(struct test_certs *tc)
{
    strcpy(tc->dir, "/tmp/iotsec-http-XXXXXX");
    assert_non_null(mkdtemp(tc->dir));
#define PATH(field, file) snprintf(tc->field, sizeof(tc->field), "%s/" file, tc->dir)
    PATH(ca, "ca.pem");
    PATH(server_cert, "server.pem");
    PATH(server_key, "server.key");
    PATH(client_cert, "client.pem");
    PATH(client_key, "client.key");
    PATH(rogue_cert, "rogue.pem");
    PATH(rogue_key, "rogue.key");
#undef PATH
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
    EVP_PKEY *cli_key = EVP_EC_gen("P-256"), *rca_key = EVP_EC_gen("P-256");
    EVP_PKEY *rogue_key = EVP_EC_gen("P-256");
    assert_true(ca_key && srv_key && cli_key && rca_key && rogue_key);
    X509 *ca = make_cert("Test CA", ca_key, NULL, ca_key, true, NULL);
    X509 *srv =
        make_cert("localhost", srv_key, ca, ca_key, false, "DNS:localhost,IP:127.0.0.1,IP:::1");
    X509 *cli = make_cert("nf-client", cli_key, ca, ca_key, false,
                          "URI:urn:uuid:5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01");
    X509 *rca = make_cert("Rogue CA", rca_key, NULL, rca_key, true, NULL);
    X509 *rogue = make_cert("nf-client", rogue_key, rca, rca_key, false, NULL);
    write_pem(tc->ca, ca, NULL);
    write_pem(tc->server_cert, srv, NULL);
    write_pem(tc->server_key, NULL, srv_key);
    write_pem(tc->client_cert, cli, NULL);
    write_pem(tc->client_key, NULL, cli_key);
    write_pem(tc->rogue_cert, rogue, NULL);
    write_pem(tc->rogue_key, NULL, rogue_key);
    X509_free(ca), X509_free(srv), X509_free(cli), X509_free(rca), X509_free(rogue);
    EVP_PKEY_free(ca_key), EVP_PKEY_free(srv_key), EVP_PKEY_free(cli_key);
    EVP_PKEY_free(rca_key), EVP_PKEY_free(rogue_key);
}

void certs_remove(struct test_certs *tc)
{
    const char *files[] = {tc->ca,         tc->server_cert, tc->server_key, tc->client_cert,
                           tc->client_key, tc->rogue_cert,  tc->rogue_key};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(tc->dir);
}

/* ---- curl ---- */

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    struct fetch *f = user;
    size_t len = size * n;
    char *d = realloc(f->data, f->len + len + 1);
    assert_non_null(d);
    memcpy(d + f->len, p, len);
    f->data = d;
    f->len += len;
    d[f->len] = '\0';
    return len;
}

static void copy_value(char *out, size_t cap, const char *p, size_t len)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    struct fetch *f = user;
    size_t len = size * n;
    if (len > 13 && strncasecmp(p, "x-request-id:", 13) == 0)
        copy_value(f->request_id, sizeof(f->request_id), p + 13, len - 13);
    if (len > 6 && strncasecmp(p, "allow:", 6) == 0)
        copy_value(f->allow, sizeof(f->allow), p + 6, len - 6);
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0)
        copy_value(f->retry_after, sizeof(f->retry_after), p + 12, len - 12);
    return len;
}

void fetch_run(struct fetch *f)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    f->data = NULL;
    f->len = 0;
    f->request_id[0] = f->allow[0] = f->content_type[0] = f->retry_after[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, f->version ? f->version : CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, f->timeout_ms ? f->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (f->ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
    if (f->cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, f->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, f->key);
    }
    if (f->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(f->body_len ? f->body_len : strlen(f->body)));
    }
    if (f->method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, f->method);
    struct curl_slist *hdrs = f->header ? curl_slist_append(NULL, f->header) : NULL;
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    f->rc = curl_easy_perform(c);
    f->status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &f->http_version);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(f->content_type, sizeof(f->content_type), "%s", ct);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
}

void fetch_done(struct fetch *f)
{
    free(f->data);
    f->data = NULL;
}

struct json_t *fetch_json(const struct fetch *f)
{
    json_error_t err;
    assert_non_null(f->data);
    json_t *j = json_loads(f->data, 0, &err);
    if (!j)
        fail_msg("not JSON: %s (%s)", f->data, err.text);
    return j;
}

/* ---- raw sockets ---- */

int raw_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

char *raw_read_all(int fd, int timeout_ms, size_t *out_len)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (out_len)
        *out_len = len;
    return buf;
}

char *raw_exchange(unsigned port, const char *send_buf, size_t len, int timeout_ms, size_t *out_len)
{
    int fd = raw_connect(port);
    if (len)
        assert_int_equal(send(fd, send_buf, len, MSG_NOSIGNAL), (ssize_t)len);
    char *r = raw_read_all(fd, timeout_ms, out_len);
    close(fd);
    return r;
}

void test_log(void *user, enum http_log_level level, const char *request_id, const char *msg)
{
    (void)user;
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (getenv("HTTP_TEST_LOG"))
        fprintf(stderr, "[%s] %s %s\n", names[level], request_id ? request_id : "-", msg);
}

const char *url_of(const char *scheme, unsigned port, const char *path)
{
    static _Thread_local char bufs[4][512];
    static _Thread_local int next;
    char *b = bufs[next++ & 3];
    snprintf(b, sizeof(bufs[0]), "%s://127.0.0.1:%u%s", scheme, port, path);
    return b;
}

char *raw_exchange_eof(unsigned port, const char *send_buf, size_t len, int timeout_ms)
{
    int fd = raw_connect(port);
    if (len)
        assert_int_equal(send(fd, send_buf, len, MSG_NOSIGNAL), (ssize_t)len);
    shutdown(fd, SHUT_WR);
    char *r = raw_read_all(fd, timeout_ms, NULL);
    close(fd);
    return r;
}

/* ---- a bare HTTP/2 client ---- */

struct h2c_stream *h2c_stream(struct h2c *h, int stream_id)
{
    assert_true(stream_id > 0 && stream_id / 2 < H2C_MAX_STREAMS);
    return &h->streams[stream_id / 2];
}

static int h2c_on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                         size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                         void *user)
{
    (void)s, (void)flags;
    struct h2c *h = user;
    if (frame->hd.type == NGHTTP2_HEADERS && namelen == 7 && !memcmp(name, ":status", 7) &&
        frame->hd.stream_id / 2 < H2C_MAX_STREAMS)
        h->streams[frame->hd.stream_id / 2].status = atoi((const char *)value) * (valuelen > 0);
    return 0;
}

static int h2c_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error, void *user)
{
    (void)s;
    struct h2c *h = user;
    if (stream_id / 2 < H2C_MAX_STREAMS) {
        h->streams[stream_id / 2].closed = true;
        h->streams[stream_id / 2].error = error;
    }
    return 0;
}

static int h2c_on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)s;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        ((struct h2c *)user)->goaway = true;
        ((struct h2c *)user)->goaway_error = frame->goaway.error_code;
        ((struct h2c *)user)->goaway_last_stream = frame->goaway.last_stream_id;
    }
    return 0;
}

void h2c_open(struct h2c *h, unsigned port)
{
    memset(h, 0, sizeof(*h));
    h->fd = raw_connect(port);
    nghttp2_session_callbacks *cb;
    assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2c_on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2c_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2c_on_frame);
    nghttp2_session *s;
    assert_int_equal(nghttp2_session_client_new(&s, cb, h), 0);
    nghttp2_session_callbacks_del(cb);
    h->session = s;
    assert_int_equal(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

int h2c_get(struct h2c *h, const char *path)
{
    nghttp2_nv nva[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"t", 10, 1, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
    };
    int id = nghttp2_submit_request(h->session, NULL, nva, 4, NULL, NULL);
    assert_true(id > 0);
    return id;
}

void h2c_reset(struct h2c *h, int stream_id)
{
    assert_int_equal(
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL), 0);
}

/* Appends what the session has to send to *buf. */
static void h2c_collect(struct h2c *h, uint8_t **buf, size_t *len)
{
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(h->session, &data)) > 0) {
        *buf = realloc(*buf, *len + (size_t)n);
        assert_non_null(*buf);
        memcpy(*buf + *len, data, (size_t)n);
        *len += (size_t)n;
    }
}

int h2c_get_reset_burst(struct h2c *h, const char *path, int n)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int first = 0;
    for (int i = 0; i < n; i++) {
        int id = h2c_get(h, path);
        first = first ? first : id;
        h2c_collect(h, &buf, &len); /* the HEADERS first: a queued one would just be dropped */
        h2c_reset(h, id);
        h2c_collect(h, &buf, &len);
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = send(h->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            h->dead = true;
            break;
        }
        off += (size_t)w;
    }
    free(buf);
    return first;
}

void h2c_pump(struct h2c *h, int stream_id, int timeout_ms)
{
    nghttp2_session *s = h->session;
    long end = now_ms() + timeout_ms;
    while (!h->dead) {
        const uint8_t *data;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(s, &data)) > 0)
            if (send(h->fd, data, (size_t)n, MSG_NOSIGNAL) != n) {
                h->dead = true;
                return;
            }
        if (stream_id && h2c_stream(h, stream_id)->closed)
            return;
        long left = end - now_ms();
        struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return;
        uint8_t buf[16384];
        ssize_t got = recv(h->fd, buf, sizeof(buf), 0);
        if (got <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)got) < 0)
            h->dead = true;
    }
}

void h2c_close(struct h2c *h)
{
    nghttp2_session_del(h->session);
    close(h->fd);
}
