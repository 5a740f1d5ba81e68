/* The HTTP server end to end with real clients: HTTP/2 over TLS with and without client
 * certificates, h2c with prior knowledge, HTTP/1.1 over TLS and cleartext, routing and its
 * ProblemDetails, the body limit, peer identity, metrics, and 200 streams multiplexed on one
 * connection. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/http.h"
#include "http_test.h"

static struct test_certs certs;
static struct http_server *srv;
static unsigned mtls_port, tls_port, clear_port, any_port, role_port;

/* A listener role: the certificate carries a SAN URI with the prefix given as user. */
static bool has_uri(const struct http_peer *peer, void *user)
{
    return http_peer_has_san_uri(peer, user);
}

/* ---- handlers ---- */

static void h_hello(struct http_request *req, void *user)
{
    (void)user;
    http_respond_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_echo(struct http_request *req, void *user)
{
    (void)user;
    size_t len;
    const void *body = http_request_body(req, &len);
    const char *ct = http_request_header(req, "Content-Type");
    http_response_header(req, "X-Echo-Len", "yes");
    http_respond(req, 200, ct ? ct : "application/octet-stream", body, len);
}

static void h_auth_data(struct http_request *req, void *user)
{
    (void)user;
    const char *q = http_request_query_param(req, "servingNetworkName");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s?, s:s, s:s, s:i}", "supiOrSuci",
                                http_request_param(req, "supiOrSuci"), "snn", q, "route",
                                http_request_route(req), "query", http_request_query(req), "proto",
                                http_request_protocol(req) == HTTP_PROTO_2 ? 2 : 1));
}

static void h_item(struct http_request *req, void *user)
{
    http_respond_json(
        req, 200,
        json_pack("{s:s, s:s*}", "which", (const char *)user, "id", http_request_param(req, "id")));
}

static void h_whoami(struct http_request *req, void *user)
{
    (void)user;
    const struct http_peer *p = http_request_peer(req);
    http_respond_json(req, 200,
                      json_pack("{s:b, s:b, s:b, s:s*, s:s*, s:b, s:s}", "tls", p->tls, "has_cert",
                                p->has_cert, "verified", p->cert_verified, "cn", p->subject_cn, "fp",
                                p->has_cert ? p->cert_sha256_hex : NULL, "x509", p->cert != NULL,
                                "addr", p->address));
}

static void h_silent(struct http_request *req, void *user)
{
    (void)req;
    (void)user; /* forgets to answer: the server must send 500 */
}

static void h_problem(struct http_request *req, void *user)
{
    (void)user;
    struct http_invalid_param ip[] = {{"/authType", "unknown value"}, {"/x", NULL}};
    http_respond_problem(req, 400, "Bad Request", "authType is invalid", "MANDATORY_IE_INCORRECT",
                         ip, 2);
}

/* The shared answers of every face (body.c). */
static void h_json_body(struct http_request *req, void *user)
{
    (void)user;
    json_t *o = http_request_json(req);
    if (o)
        http_respond_json(req, 200, o);
}

static void h_error(struct http_request *req, void *user)
{
    http_respond_error(req, (int)(intptr_t)user, "saving");
}

/* 200 requests parked until all have arrived (or 2 s passed), then answered by a thread:
 * proves they were in flight together on one connection. */
#define MANY 200
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static struct http_request *parked[MANY];
static int n_parked, max_parked;

static void h_park(struct http_request *req, void *user)
{
    (void)user;
    if (http_request_defer(req) != IOTSEC_OK)
        return; /* cannot happen; the server would answer 500 */
    pthread_mutex_lock(&park_lock);
    if (n_parked < MANY) {
        parked[n_parked++] = req;
        req = NULL;
    }
    if (n_parked > max_parked)
        max_parked = n_parked;
    pthread_cond_signal(&park_cond);
    pthread_mutex_unlock(&park_lock);
    if (req)
        http_respond(req, 503, NULL, NULL, 0);
}

static void *releaser(void *arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&park_lock);
    while (n_parked < MANY)
        if (pthread_cond_timedwait(&park_cond, &park_lock, &until) != 0)
            break;
    int n = n_parked;
    n_parked = 0;
    pthread_mutex_unlock(&park_lock);
    for (int i = 0; i < n; i++)
        http_respond_json(parked[i], 200, json_pack("{s:i}", "n", n));
    return NULL;
}

/* Answers 200 + the index of the worker that runs the request. */
static void h_worker(struct http_request *req, void *user)
{
    (void)user;
    http_respond(req, 200 + (int)http_request_worker(req), NULL, NULL, 0);
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    certs_make(&certs);
    struct http_server_config cfg = {.workers = 2, .max_concurrent_streams = 256, .log = test_log};
    srv = http_server_new(&cfg);
    assert_non_null(srv);
    struct http_listener_config mtls = {.bind = "127.0.0.1:0",
                                        .tls = true,
                                        .cert_file = certs.server_cert,
                                        .key_file = certs.server_key,
                                        .ca_file = certs.ca,
                                        .client_cert_required = true};
    struct http_listener_config tls = mtls;
    tls.client_cert_required = false;
    struct http_listener_config clear = {.bind = "127.0.0.1:0"};
    struct http_listener_config any = mtls;
    any.ca_file = NULL;
    any.client_cert_any = true;
    any.no_resumption = true; /* as on the device face */
    assert_int_equal(http_server_listen(srv, &mtls), 0);
    assert_int_equal(http_server_listen(srv, &tls), 1);
    assert_int_equal(http_server_listen(srv, &clear), 2);
    assert_int_equal(http_server_listen(srv, &any), 3);
    struct http_listener_config role = mtls; /* a role the client certificate lacks */
    role.client_cert_role = has_uri;
    role.client_cert_role_user = "urn:iotsec:other:";
    struct http_listener_config nf_role = mtls; /* ... and one it has */
    nf_role.client_cert_role = has_uri;
    nf_role.client_cert_role_user = "urn:uuid:";
    assert_int_equal(http_server_listen(srv, &role), 4);
    assert_int_equal(http_server_listen(srv, &nf_role), 5);
    assert_int_equal(http_server_route(srv, "GET", "/hello", h_hello, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "POST", "/echo", h_echo, NULL), IOTSEC_OK);
    assert_int_equal(
        http_server_route(srv, "POST",
                          "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data",
                          h_auth_data, NULL),
        IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/items/{id}", h_item, "param"), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/items/special", h_item, "literal"), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "PUT", "/items/{id}", h_item, "put"), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/whoami", h_whoami, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/silent", h_silent, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/problem", h_problem, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "POST", "/json", h_json_body, NULL), IOTSEC_OK);
    assert_int_equal(
        http_server_route(srv, "GET", "/full", h_error, (void *)(intptr_t)IOTSEC_ERR_FULL),
        IOTSEC_OK);
    assert_int_equal(
        http_server_route(srv, "GET", "/busy", h_error, (void *)(intptr_t)IOTSEC_ERR_BUSY),
        IOTSEC_OK);
    assert_int_equal(
        http_server_route(srv, "GET", "/broken", h_error, (void *)(intptr_t)IOTSEC_ERR_IO),
        IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/park", h_park, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(srv, "GET", "/worker", h_worker, NULL), IOTSEC_OK);
    /* Misconfigurations are refused. */
    assert_int_equal(http_server_route(srv, "GET", "/hello", h_hello, NULL), IOTSEC_ERR_CONFLICT);
    assert_int_equal(http_server_route(srv, "GET", "/a/{x}/{x}", h_hello, NULL),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(http_server_route(srv, "GE T", "/a", h_hello, NULL), IOTSEC_ERR_INVALID);
    struct http_listener_config bad = {.bind = "127.0.0.1"};
    assert_int_equal(http_server_listen(srv, &bad), IOTSEC_ERR_INVALID);
    bad.bind = "[::1:0";
    assert_int_equal(http_server_listen(srv, &bad), IOTSEC_ERR_INVALID);
    bad = mtls;
    bad.key_file = certs.client_key; /* does not match the certificate */
    assert_int_equal(http_server_listen(srv, &bad), IOTSEC_ERR_INVALID);

    assert_int_equal(http_server_start(srv), IOTSEC_OK);
    mtls_port = http_server_port(srv, 0);
    tls_port = http_server_port(srv, 1);
    clear_port = http_server_port(srv, 2);
    any_port = http_server_port(srv, 3);
    role_port = http_server_port(srv, 4);
    assert_true(mtls_port && tls_port && clear_port && any_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    http_server_stop(srv);
    http_server_free(srv);
    certs_remove(&certs);
    curl_global_cleanup();
    return 0;
}

static void expect_request_id(const struct fetch *f)
{
    assert_int_equal(strlen(f->request_id), 16);
    assert_int_equal(strspn(f->request_id, "0123456789abcdef"), 16);
}

/* ---- protocols and TLS ---- */

static void test_h2_tls_client_cert(void **state)
{
    (void)state;
    struct fetch f = {.url = url_of("https", mtls_port, "/hello"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key};
    fetch_run(&f);
    assert_int_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_int_equal(f.http_version, CURL_HTTP_VERSION_2_0);
    assert_string_equal(f.content_type, "application/json");
    assert_string_equal(f.data, "{\"hello\":\"world\"}");
    expect_request_id(&f);
    fetch_done(&f);

    char body[10000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    struct fetch p = {.url = url_of("https", mtls_port, "/echo"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key,
                      .body = body,
                      .body_len = sizeof(body),
                      .header = "Content-Type: text/plain"};
    fetch_run(&p);
    assert_int_equal(p.rc, CURLE_OK);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.http_version, CURL_HTTP_VERSION_2_0);
    assert_string_equal(p.content_type, "text/plain");
    assert_int_equal(p.len, sizeof(body));
    assert_memory_equal(p.data, body, sizeof(body));
    fetch_done(&p);
}

static void test_h2c_prior_knowledge(void **state)
{
    (void)state;
    struct fetch f = {.url = url_of("http", clear_port, "/hello"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&f);
    assert_int_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_int_equal(f.http_version, CURL_HTTP_VERSION_2_0);
    assert_string_equal(f.data, "{\"hello\":\"world\"}");
    fetch_done(&f);

    struct fetch p = {.url = url_of("http", clear_port, "/echo"),
                      .body = "ping",
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&p);
    assert_int_equal(p.status, 200);
    assert_string_equal(p.data, "ping");
    fetch_done(&p);
}

static void test_h1_tls_and_cleartext(void **state)
{
    (void)state;
    struct fetch f = {.url = url_of("https", mtls_port, "/hello"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key,
                      .version = CURL_HTTP_VERSION_1_1};
    fetch_run(&f);
    assert_int_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 200);
    assert_int_equal(f.http_version, CURL_HTTP_VERSION_1_1);
    assert_string_equal(f.data, "{\"hello\":\"world\"}");
    expect_request_id(&f);
    fetch_done(&f);

    struct fetch p = {.url = url_of("https", mtls_port, "/echo"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key,
                      .version = CURL_HTTP_VERSION_1_1,
                      .body = "{\"a\":1}",
                      .header = "Content-Type: application/json"};
    fetch_run(&p);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.http_version, CURL_HTTP_VERSION_1_1);
    assert_string_equal(p.data, "{\"a\":1}");
    assert_string_equal(p.content_type, "application/json");
    fetch_done(&p);

    struct fetch c = {.url = url_of("http", clear_port, "/hello"),
                      .version = CURL_HTTP_VERSION_1_1};
    fetch_run(&c);
    assert_int_equal(c.status, 200);
    assert_int_equal(c.http_version, CURL_HTTP_VERSION_1_1);
    fetch_done(&c);
}

static void test_mtls_rejects(void **state)
{
    (void)state;
    /* No client certificate on a listener that requires one. */
    struct fetch f = {.url = url_of("https", mtls_port, "/hello"), .ca = certs.ca};
    fetch_run(&f);
    assert_int_not_equal(f.rc, CURLE_OK);
    assert_int_equal(f.status, 0);
    fetch_done(&f);
    /* A certificate from another CA, on both TLS listeners. */
    unsigned ports[] = {mtls_port, tls_port};
    for (int i = 0; i < 2; i++) {
        struct fetch r = {.url = url_of("https", ports[i], "/hello"),
                          .ca = certs.ca,
                          .cert = certs.rogue_cert,
                          .key = certs.rogue_key};
        fetch_run(&r);
        assert_int_not_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 0);
        fetch_done(&r);
    }
    /* And the server keeps serving. */
    struct fetch ok = {.url = url_of("https", mtls_port, "/hello"),
                       .ca = certs.ca,
                       .cert = certs.client_cert,
                       .key = certs.client_key};
    fetch_run(&ok);
    assert_int_equal(ok.status, 200);
    fetch_done(&ok);
}

static void client_fingerprint(char hex[65])
{
    FILE *fp = fopen(certs.client_cert, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    unsigned char md[32];
    unsigned len = 0;
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &len), 1);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    X509_free(x);
}

static void test_peer_identity(void **state)
{
    (void)state;
    char fp[65];
    client_fingerprint(fp);
    struct fetch f = {.url = url_of("https", mtls_port, "/whoami"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key};
    fetch_run(&f);
    assert_int_equal(f.status, 200);
    json_t *j = fetch_json(&f);
    assert_true(json_is_true(json_object_get(j, "tls")));
    assert_true(json_is_true(json_object_get(j, "has_cert")));
    assert_true(json_is_true(json_object_get(j, "verified")));
    assert_true(json_is_true(json_object_get(j, "x509")));
    assert_string_equal(json_string_value(json_object_get(j, "cn")), "nf-client");
    assert_string_equal(json_string_value(json_object_get(j, "fp")), fp);
    assert_non_null(strstr(json_string_value(json_object_get(j, "addr")), "127.0.0.1:"));
    json_decref(j);
    fetch_done(&f);

    struct fetch o = {.url = url_of("https", tls_port, "/whoami"), .ca = certs.ca};
    fetch_run(&o);
    assert_int_equal(o.status, 200);
    j = fetch_json(&o);
    assert_true(json_is_true(json_object_get(j, "tls")));
    assert_true(json_is_false(json_object_get(j, "has_cert")));
    assert_null(json_object_get(j, "cn"));
    json_decref(j);
    fetch_done(&o);

    struct fetch c = {.url = url_of("http", clear_port, "/whoami"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&c);
    j = fetch_json(&c);
    assert_true(json_is_false(json_object_get(j, "tls")));
    json_decref(j);
    fetch_done(&c);
}

/* A listener with a role: a certificate the CA vouches for but without the role gets 403
 * CERTIFICATE_ROLE on every request, one with it is served. */
static void test_client_cert_role(void **state)
{
    (void)state;
    struct fetch f = {.url = url_of("https", role_port, "/hello"),
                      .ca = certs.ca,
                      .cert = certs.client_cert,
                      .key = certs.client_key};
    fetch_run(&f);
    assert_int_equal(f.status, 403);
    json_t *j = fetch_json(&f);
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "CERTIFICATE_ROLE");
    json_decref(j);
    fetch_done(&f);
    struct fetch ok = {.url = url_of("https", http_server_port(srv, 5), "/hello"),
                       .ca = certs.ca,
                       .cert = certs.client_cert,
                       .key = certs.client_key};
    fetch_run(&ok);
    assert_int_equal(ok.status, 200);
    fetch_done(&ok);
}

/* A client_cert_any listener takes a certificate of any CA (the application judges it:
 * verified is false) and still requires one when told to. */
static void test_any_client_cert(void **state)
{
    (void)state;
    const char *certs_of[][2] = {{certs.rogue_cert, certs.rogue_key},
                                 {certs.client_cert, certs.client_key}};
    for (int i = 0; i < 2; i++) {
        struct fetch f = {.url = url_of("https", any_port, "/whoami"),
                          .ca = certs.ca,
                          .cert = certs_of[i][0],
                          .key = certs_of[i][1]};
        fetch_run(&f);
        assert_int_equal(f.status, 200);
        json_t *j = fetch_json(&f);
        assert_true(json_is_true(json_object_get(j, "has_cert")));
        assert_true(json_is_false(json_object_get(j, "verified")));
        assert_string_equal(json_string_value(json_object_get(j, "cn")), "nf-client");
        json_decref(j);
        fetch_done(&f);
    }
    struct fetch none = {.url = url_of("https", any_port, "/whoami"), .ca = certs.ca};
    fetch_run(&none);
    assert_int_not_equal(none.rc, CURLE_OK);
    fetch_done(&none);
}

/* Whether a fresh TLS 1.3 connection with a client certificate, after one request, holds
 * a session the client could resume (one the server sent a ticket for). */
static bool got_ticket(unsigned port)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_use_certificate_file(ctx, certs.client_cert, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, certs.client_key, SSL_FILETYPE_PEM), 1);
    SSL *ssl = SSL_new(ctx);
    int fd = raw_connect(port);
    assert_int_equal(SSL_set_fd(ssl, fd), 1);
    assert_int_equal(SSL_connect(ssl), 1);
    static const char req[] = "GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(SSL_write(ssl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
    char buf[4096];
    size_t got = 0;
    for (int n; (n = SSL_read(ssl, buf, sizeof(buf))) > 0;) /* tickets come before the answer */
        got += (size_t)n;
    assert_true(got > 0);
    SSL_SESSION *sess = SSL_get1_session(ssl);
    bool resumable = sess && SSL_SESSION_is_resumable(sess);
    SSL_SESSION_free(sess);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    return resumable;
}

/* A listener whose clients never resume (no_resumption: the device face) sends no session
 * ticket, which OpenSSL 3.0 pays for with a re-parse of the client certificate each; the
 * others still do. */
static void test_no_resumption_sends_no_ticket(void **state)
{
    (void)state;
    assert_false(got_ticket(any_port));
    assert_true(got_ticket(tls_port));
}

/* ---- routing and errors ---- */

static void test_path_and_query_params(void **state)
{
    (void)state;
    long versions[] = {CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, CURL_HTTP_VERSION_1_1};
    for (int v = 0; v < 2; v++) {
        struct fetch f = {
            .url = url_of("http", clear_port,
                          "/nudm-ueau/v1/suci-0-001-01-0-0-0-0123%2D4/security-information/"
                          "generate-auth-data?servingNetworkName=5G%3Amnc001.mcc001&x=1"),
            .body = "{}",
            .version = versions[v]};
        fetch_run(&f);
        assert_int_equal(f.status, 200);
        json_t *j = fetch_json(&f);
        assert_string_equal(json_string_value(json_object_get(j, "supiOrSuci")),
                            "suci-0-001-01-0-0-0-0123-4");
        assert_string_equal(json_string_value(json_object_get(j, "snn")), "5G:mnc001.mcc001");
        assert_string_equal(json_string_value(json_object_get(j, "query")),
                            "servingNetworkName=5G%3Amnc001.mcc001&x=1");
        assert_string_equal(json_string_value(json_object_get(j, "route")),
                            "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data");
        assert_int_equal(json_integer_value(json_object_get(j, "proto")), v == 0 ? 2 : 1);
        json_decref(j);
        fetch_done(&f);
    }
    /* A literal segment wins over a parameter, whatever the order of registration. */
    struct fetch lit = {.url = url_of("http", clear_port, "/items/special"),
                        .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&lit);
    assert_string_equal(lit.data, "{\"which\":\"literal\"}");
    fetch_done(&lit);
    struct fetch par = {.url = url_of("http", clear_port, "/items/42"),
                        .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&par);
    assert_string_equal(par.data, "{\"which\":\"param\",\"id\":\"42\"}");
    fetch_done(&par);
    /* A bad escape in a path parameter is a 400. */
    struct fetch bad = {.url = url_of("http", clear_port, "/items/a%zz"),
                        .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&bad);
    assert_int_equal(bad.status, 400);
    json_t *j = fetch_json(&bad);
    json_t *ip = json_array_get(json_object_get(j, "invalidParams"), 0);
    assert_string_equal(json_string_value(json_object_get(ip, "param")), "id");
    json_decref(j);
    fetch_done(&bad);
}

static void expect_problem(const struct fetch *f, int status, const char *title)
{
    assert_int_equal(f->status, status);
    assert_string_equal(f->content_type, "application/problem+json");
    json_t *j = fetch_json(f);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_string_equal(json_string_value(json_object_get(j, "title")), title);
    assert_true(json_is_string(json_object_get(j, "detail")));
    json_decref(j);
    expect_request_id(f);
}

static void test_404_405_problems(void **state)
{
    (void)state;
    long versions[] = {CURL_HTTP_VERSION_2TLS, CURL_HTTP_VERSION_1_1};
    for (int v = 0; v < 2; v++) {
        struct fetch nf = {.url = url_of("https", mtls_port, "/nope"),
                           .ca = certs.ca,
                           .cert = certs.client_cert,
                           .key = certs.client_key,
                           .version = versions[v]};
        fetch_run(&nf);
        expect_problem(&nf, 404, "Not Found");
        fetch_done(&nf);

        struct fetch na = {.url = url_of("https", mtls_port, "/items/7"),
                           .ca = certs.ca,
                           .cert = certs.client_cert,
                           .key = certs.client_key,
                           .method = "DELETE",
                           .version = versions[v]};
        fetch_run(&na);
        expect_problem(&na, 405, "Method Not Allowed");
        assert_string_equal(na.allow, "GET, HEAD, PUT");
        fetch_done(&na);
    }
    /* A handler's own problem, with cause and invalidParams. */
    struct fetch p = {.url = url_of("http", clear_port, "/problem"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&p);
    expect_problem(&p, 400, "Bad Request");
    json_t *j = fetch_json(&p);
    assert_string_equal(json_string_value(json_object_get(j, "cause")), "MANDATORY_IE_INCORRECT");
    json_t *ips = json_object_get(j, "invalidParams");
    assert_int_equal(json_array_size(ips), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ips, 0), "param")),
                        "/authType");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ips, 0), "reason")),
                        "unknown value");
    assert_null(json_object_get(json_array_get(ips, 1), "reason"));
    json_decref(j);
    fetch_done(&p);
    /* A handler that does not answer gets a 500 sent for it. */
    struct fetch s = {.url = url_of("http", clear_port, "/silent"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&s);
    expect_problem(&s, 500, "Internal Server Error");
    fetch_done(&s);
}

static void test_body_limit(void **state)
{
    (void)state;
    size_t n = 1024 * 1024 + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    long versions[] = {CURL_HTTP_VERSION_2TLS, CURL_HTTP_VERSION_1_1};
    for (int v = 0; v < 2; v++) {
        struct fetch f = {.url = url_of("https", mtls_port, "/echo"),
                          .ca = certs.ca,
                          .cert = certs.client_cert,
                          .key = certs.client_key,
                          .body = big,
                          .body_len = n,
                          .version = versions[v]};
        fetch_run(&f);
        expect_problem(&f, 413, "Content Too Large");
        fetch_done(&f);
    }
    /* Exactly at the limit is fine. */
    struct fetch ok = {.url = url_of("http", clear_port, "/echo"),
                       .body = big,
                       .body_len = n - 1,
                       .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&ok);
    assert_int_equal(ok.status, 200);
    assert_int_equal(ok.len, n - 1);
    fetch_done(&ok);
    free(big);
}

/* ---- concurrency and metrics ---- */

static unsigned long long metric(const char *text, const char *name)
{
    const char *p = text;
    size_t len = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == text || p[-1] == '\n') && p[len] == ' ')
            return strtoull(p + len + 1, NULL, 10);
        p += len;
    }
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

static void test_many_streams_one_connection(void **state)
{
    (void)state;
    char *m = http_server_metrics(srv, NULL);
    unsigned long long conns_before = metric(m, "iotsec_http_connections_total");
    free(m);
    pthread_t rel;
    max_parked = 0;
    assert_int_equal(pthread_create(&rel, NULL, releaser, NULL), 0);

    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)MANY);
    CURL *easy[MANY];
    for (int i = 0; i < MANY; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url_of("https", mtls_port, "/park"));
        curl_easy_setopt(easy[i], CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(easy[i], CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(easy[i], CURLOPT_CAINFO, certs.ca);
        curl_easy_setopt(easy[i], CURLOPT_SSLCERT, certs.client_cert);
        curl_easy_setopt(easy[i], CURLOPT_SSLKEY, certs.client_key);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(multi, easy[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    int ok = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        long status = 0, version = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_HTTP_VERSION, &version);
        ok += msg->data.result == CURLE_OK && status == 200 && version == CURL_HTTP_VERSION_2_0;
    }
    for (int i = 0; i < MANY; i++) {
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    curl_multi_cleanup(multi);
    pthread_join(rel, NULL);
    assert_int_equal(ok, MANY);
    assert_int_equal(max_parked, MANY); /* all in flight at once */
    m = http_server_metrics(srv, NULL);
    assert_int_equal(metric(m, "iotsec_http_connections_total") - conns_before, 1);
    free(m);
}

static void test_metrics_text(void **state)
{
    (void)state;
    struct fetch f = {.url = url_of("http", clear_port, "/hello"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&f);
    fetch_done(&f);
    size_t len = 0;
    char *m = http_server_metrics(srv, &len);
    assert_non_null(m);
    assert_int_equal(strlen(m), len);
    assert_true(metric(m, "iotsec_http_requests_total{method=\"GET\",route=\"/hello\","
                          "code=\"200\"}") >= 1);
    assert_true(metric(m, "iotsec_http_requests_total{method=\"\",route=\"(unrouted)\","
                          "code=\"404\"}") >= 1);
    assert_true(metric(m, "iotsec_http_request_duration_seconds_count{method=\"GET\","
                          "route=\"/hello\"}") >= 1);
    assert_non_null(strstr(m, "iotsec_http_request_duration_seconds_bucket{method=\"GET\","
                              "route=\"/hello\",le=\"+Inf\"}"));
    assert_non_null(strstr(m, "# TYPE iotsec_http_request_duration_seconds histogram\n"));
    assert_true(metric(m, "iotsec_http_tls_handshake_failures_total") >= 1);
    free(m);
}

/* A few long-lived connections (a 5G core opens few) are spread over the workers, whichever
 * worker accepted them: four connections, two on each worker. */
static void test_connections_spread_over_workers(void **state)
{
    (void)state;
    static struct h2c conns[4];
    int per_worker[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        h2c_open(&conns[i], clear_port);
        int id = h2c_get(&conns[i], "/worker");
        h2c_pump(&conns[i], id, 5000);
        int status = h2c_stream(&conns[i], id)->status;
        assert_true(status == 200 || status == 201);
        per_worker[status - 200]++;
    }
    assert_int_equal(per_worker[0], 2);
    assert_int_equal(per_worker[1], 2);
    for (int i = 0; i < 4; i++)
        h2c_close(&conns[i]);
}

static void expect_cause(struct fetch *f, long status, const char *cause)
{
    fetch_run(f);
    assert_int_equal(f->status, status);
    assert_string_equal(f->content_type, "application/problem+json");
    json_t *j = fetch_json(f);
    const char *c = json_string_value(json_object_get(j, "cause"));
    if (cause == NULL ? c != NULL : c == NULL || strcmp(c, cause) != 0)
        fail_msg("%s: cause %s, expected %s", f->url, c ? c : "(none)", cause ? cause : "(none)");
    json_decref(j);
}

static void test_shared_answers(void **state)
{
    (void)state;
    /* a full disk: 503 with a cause and a long Retry-After; a full queue: 503 + 1 s */
    struct fetch full = {.url = url_of("http", clear_port, "/full"),
                         .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    expect_cause(&full, 503, "INSUFFICIENT_RESOURCES");
    assert_string_equal(full.retry_after, "30");
    fetch_done(&full);
    struct fetch busy = {.url = url_of("http", clear_port, "/busy"),
                         .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    expect_cause(&busy, 503, "NF_CONGESTION");
    assert_string_equal(busy.retry_after, "1");
    fetch_done(&busy);
    struct fetch broken = {.url = url_of("http", clear_port, "/broken"),
                           .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    expect_cause(&broken, 500, "SYSTEM_FAILURE");
    assert_string_equal(broken.retry_after, "");
    fetch_done(&broken);
    /* JSON bodies: media types with parameters or a +json suffix are JSON; others are 415 */
    static const struct {
        const char *header, *body;
        long status;
        const char *cause;
    } cases[] = {
        {"Content-Type: application/json", "{\"a\":1}", 200, NULL},
        {"Content-Type: application/json; charset=utf-8", "{}", 200, NULL},
        {"Content-Type: APPLICATION/JSON", "{}", 200, NULL},
        {"Content-Type: application/merge-patch+json", "{}", 200, NULL},
        {"Content-Type: application/jsonx", "{}", 415, "UNSUPPORTED_MEDIA_TYPE"},
        {"Content-Type: text/json+x", "{}", 415, "UNSUPPORTED_MEDIA_TYPE"},
        {"Content-Type: text/plain", "{}", 415, "UNSUPPORTED_MEDIA_TYPE"},
        {NULL, "{}", 415, "UNSUPPORTED_MEDIA_TYPE"},
        {"Content-Type: application/json", "{", 400, "INVALID_MSG_FORMAT"},
        {"Content-Type: application/json", "[]", 400, "INVALID_MSG_FORMAT"},
        {"Content-Type: application/json", "{\"a\":1,\"a\":2}", 400, "INVALID_MSG_FORMAT"},
        {"Content-Type: application/json", "", 400, "INVALID_MSG_FORMAT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fetch f = {.url = url_of("http", clear_port, "/json"),
                          .method = "POST",
                          .body = cases[i].body,
                          .body_len = strlen(cases[i].body) ? 0 : 1,
                          .header = cases[i].header,
                          .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
        if (!cases[i].body[0]) /* an empty body: send one space, still not JSON */
            f.body = " ";
        if (cases[i].status == 200) {
            fetch_run(&f);
            if (f.status != 200)
                fail_msg("case %zu: %ld", i, f.status);
        } else {
            expect_cause(&f, cases[i].status, cases[i].cause);
        }
        fetch_done(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2_tls_client_cert),
        cmocka_unit_test(test_h2c_prior_knowledge),
        cmocka_unit_test(test_h1_tls_and_cleartext),
        cmocka_unit_test(test_mtls_rejects),
        cmocka_unit_test(test_peer_identity),
        cmocka_unit_test(test_client_cert_role),
        cmocka_unit_test(test_path_and_query_params),
        cmocka_unit_test(test_404_405_problems),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_many_streams_one_connection),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_any_client_cert),
        cmocka_unit_test(test_no_resumption_sends_no_ticket),
        cmocka_unit_test(test_connections_spread_over_workers),
        cmocka_unit_test(test_shared_answers),
    };
    if (getenv("HTTP_TEST_FILTER")) /* e.g. HTTP_TEST_FILTER=test_body_limit */
        cmocka_set_test_filter(getenv("HTTP_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
