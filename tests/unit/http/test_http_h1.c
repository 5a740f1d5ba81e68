/* HTTP/1.1 from raw sockets: what curl would never send. Malformed request lines and
 * fields, too many or too large headers, chunked bodies, keep-alive and pipelining, Expect,
 * HEAD, slowloris and idle timeouts, the connection limit, and garbage on the HTTP/2 side:
 * every time the server answers or closes, and keeps serving. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/http.h"
#include "http_test.h"

static struct http_server *srv;
static unsigned port;

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
    http_respond(req, 200, "text/plain", body, len);
}

static struct http_server *start(const struct http_server_config *cfg, unsigned *out_port)
{
    struct http_server *s = http_server_new(cfg);
    assert_non_null(s);
    struct http_listener_config lc = {.bind = "127.0.0.1:0"};
    assert_int_equal(http_server_listen(s, &lc), 0);
    assert_int_equal(http_server_route(s, "GET", "/hello", h_hello, NULL), IOTSEC_OK);
    assert_int_equal(http_server_route(s, "POST", "/echo", h_echo, NULL), IOTSEC_OK);
    assert_int_equal(http_server_start(s), IOTSEC_OK);
    *out_port = http_server_port(s, 0);
    return s;
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct http_server_config cfg = {.workers = 1,
                                     .max_headers = 16,
                                     .max_header_bytes = 4096,
                                     .read_timeout_ms = 300,
                                     .idle_timeout_ms = 600,
                                     .log = test_log};
    srv = start(&cfg, &port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    http_server_free(srv);
    curl_global_cleanup();
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The server still answers a well-formed request on a new connection. */
static void expect_serving(void)
{
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char *r = raw_exchange(port, get, sizeof(get) - 1, 2000, NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "\r\n\r\n{\"hello\":\"world\"}"));
    free(r);
}

/* Sends a request and expects an error with a ProblemDetails body and a closed connection. */
static void expect_error(const char *request, const char *status_line, int status)
{
    char *r = raw_exchange(port, request, strlen(request), 2000, NULL);
    if (strncmp(r, status_line, strlen(status_line)) != 0)
        fail_msg("expected %s, got: %.200s", status_line, r);
    assert_non_null(strstr(r, "content-type: application/problem+json\r\n"));
    assert_non_null(strstr(r, "connection: close\r\n"));
    const char *body = strstr(r, "\r\n\r\n");
    assert_non_null(body);
    json_t *j = json_loads(body + 4, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    json_decref(j);
    free(r);
    expect_serving();
}

static void test_malformed_requests(void **state)
{
    (void)state;
    expect_error("HELLO WORLD\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("\x01\x02garbage\xff\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\r\nBad Name: x\r\nHost: t\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\nHost: t\n\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/9.9\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET hello HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
                 "\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("GET /hel\x7flo HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", 400);
}

static void test_header_limits(void **state)
{
    (void)state;
    char req[8192];
    int n = snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 20; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "X-H%d: %d\r\n", i, i);
    snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    expect_error(req, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 431);

    /* One field that makes the head larger than 4096 bytes, whole or arriving in part. */
    n = snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(req + n, 'a', 5000);
    strcpy(req + n + 5000, "\r\n\r\n");
    expect_error(req, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 431);
    req[n + 4500] = '\0';
    expect_error(req, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 431);
}

/* Sends request on one connection, byte by byte when split, and expects a 200 echo of want. */
static void expect_echo(const char *request, const char *want, bool split)
{
    int fd = raw_connect(port);
    size_t n = strlen(request);
    for (size_t off = 0; off < n;) {
        size_t part = split ? 1 : n - off;
        assert_int_equal(send(fd, request + off, part, 0), (ssize_t)part);
        off += part;
    }
    char *r = raw_read_all(fd, 2000, NULL);
    if (strncmp(r, "HTTP/1.1 200 OK\r\n", 17) != 0)
        fail_msg("expected 200, got: %.200s", r);
    const char *body = strstr(r, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, want);
    free(r);
    close(fd);
}

static void test_chunked_bodies(void **state)
{
    (void)state;
    const char *post = "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    char req[4096];
    /* chunks, an extension, upper-case hex, a trailer field; whole and one byte at a time */
    snprintf(req, sizeof(req),
             "%s5\r\nhello\r\n1;name=v\r\n \r\nA\r\n0123456789\r\n"
             "0\r\nX-Trailer: t\r\n\r\n",
             post);
    expect_echo(req, "hello 0123456789", false);
    expect_echo(req, "hello 0123456789", true);
    snprintf(req, sizeof(req), "%s0\r\n\r\n", post); /* empty */
    expect_echo(req, "", false);
    /* Transfer-Encoding is matched case-insensitively, its value too */
    expect_echo("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                "transfer-encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                "ok", false);

    /* Broken framing: 400 and the connection closes. */
    static const char *const bad[] = {
        "x\r\nhello\r\n0\r\n\r\n",   /* no size */
        "5\r\nhelloXY0\r\n\r\n",     /* no CRLF after the data */
        "5\nhello\r\n0\r\n\r\n",     /* bare LF */
        "-5\r\nhello\r\n0\r\n\r\n",  /* sign */
        "10000000000000000\r\n",     /* 17 hex digits */
        "5 x\r\nhello\r\n0\r\n\r\n", /* junk after the size */
        "0\r\nno colon\r\n\r\n",     /* a bad trailer line */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), "%s%s", post, bad[i]);
        expect_error(req, "HTTP/1.1 400 Bad Request\r\n", 400);
    }
    /* A size line that never ends. */
    char longline[2048];
    memset(longline, '0', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    snprintf(req, sizeof(req), "%s%s", post, longline);
    expect_error(req, "HTTP/1.1 400 Bad Request\r\n", 400);
    /* Past the body limit (1 MiB here), announced by one chunk or reached over several. */
    snprintf(req, sizeof(req), "%s200000\r\n", post);
    expect_error(req, "HTTP/1.1 413 Content Too Large\r\n", 413);
    /* Both framings at once (request smuggling), or chunked under HTTP/1.0. */
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 "HTTP/1.1 400 Bad Request\r\n", 400);
}

static void test_chunked_over_limit_in_parts(void **state)
{
    (void)state;
    /* 17 chunks of 64 KiB: the 17th passes 1 MiB. */
    size_t chunk = 65536, n = 17;
    size_t cap = 256 + n * (chunk + 16);
    char *req = malloc(cap);
    size_t off = (size_t)snprintf(req, cap,
                                  "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(req + off, cap - off, "%zx\r\n", chunk);
        memset(req + off, 'a', chunk);
        off += chunk;
        memcpy(req + off, "\r\n", 2);
        off += 2;
    }
    req[off] = '\0';
    expect_error(req, "HTTP/1.1 413 Content Too Large\r\n", 413);
    free(req);
}

static void test_unsupported_bodies(void **state)
{
    (void)state;
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
                 "HTTP/1.1 501 Not Implemented\r\n", 501);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 "HTTP/1.1 501 Not Implemented\r\n", 501);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n",
                 "HTTP/1.1 413 Content Too Large\r\n", 413);
    expect_error("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx",
                 "HTTP/1.1 417 Expectation Failed\r\n", 417);
}

static void test_keepalive_and_pipelining(void **state)
{
    (void)state;
    int fd = raw_connect(port);
    static const char two[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                              "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(send(fd, two, sizeof(two) - 1, 0), (ssize_t)sizeof(two) - 1);
    char *r = raw_read_all(fd, 300, NULL); /* shorter than the idle timeout */
    assert_int_equal(count(r, "HTTP/1.1 200 OK\r\n"), 2);
    assert_int_equal(count(r, "x-request-id: "), 2);
    assert_null(strstr(r, "connection: close"));
    assert_non_null(strstr(r, "\r\n\r\nhello"));
    free(r);
    /* Same connection, a body that arrives in two parts. */
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc";
    assert_int_equal(send(fd, head, sizeof(head) - 1, 0), (ssize_t)sizeof(head) - 1);
    usleep(50000);
    assert_int_equal(send(fd, "def", 3, 0), 3);
    r = raw_read_all(fd, 200, NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "\r\n\r\nabcdef"));
    free(r);
    close(fd);
}

static void test_http10_head_expect(void **state)
{
    (void)state;
    static const char v10[] = "GET /hello HTTP/1.0\r\n\r\n";
    char *r = raw_exchange(port, v10, sizeof(v10) - 1, 2000, NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "connection: close\r\n"));
    free(r);

    /* No HEAD route: the GET route answers it, with the GET's headers and no body. */
    static const char head[] = "HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    size_t len;
    r = raw_exchange(port, head, sizeof(head) - 1, 2000, &len);
    assert_non_null(strstr(r, "content-length: 17\r\n"));
    assert_int_equal(strstr(r, "\r\n\r\n") + 4 - r, (long)len); /* no body */
    free(r);

    int fd = raw_connect(port);
    static const char ask[] = "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                              "Content-Length: 4\r\n\r\n";
    assert_int_equal(send(fd, ask, sizeof(ask) - 1, 0), (ssize_t)sizeof(ask) - 1);
    r = raw_read_all(fd, 200, NULL);
    assert_string_equal(r, "HTTP/1.1 100 Continue\r\n\r\n");
    free(r);
    assert_int_equal(send(fd, "body", 4, 0), 4);
    r = raw_read_all(fd, 200, NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "\r\n\r\nbody"));
    free(r);
    close(fd);
}

static void test_slowloris_and_idle(void **state)
{
    (void)state;
    /* A head dripping in byte by byte is cut at the read timeout (300 ms), progress or not. */
    int fd = raw_connect(port);
    static const char drip[] = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
    long t0 = now_ms();
    bool closed = false;
    for (size_t i = 0; i < sizeof(drip) - 1 && !closed; i++) {
        if (send(fd, drip + i, 1, MSG_NOSIGNAL) != 1)
            closed = true;
        usleep(30000);
    }
    size_t len;
    char *r = raw_read_all(fd, 2000, &len);
    long elapsed = now_ms() - t0;
    assert_int_equal(len, 0);
    assert_true(elapsed < 1500);
    free(r);
    close(fd);

    /* Silence right after connecting: closed at the read timeout. */
    fd = raw_connect(port);
    t0 = now_ms();
    r = raw_read_all(fd, 3000, &len);
    elapsed = now_ms() - t0;
    assert_int_equal(len, 0);
    assert_true(elapsed >= 250 && elapsed < 1500);
    free(r);
    close(fd);

    /* Keep-alive connection with nothing to do: closed at the idle timeout (600 ms). */
    fd = raw_connect(port);
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(send(fd, get, sizeof(get) - 1, 0), (ssize_t)sizeof(get) - 1);
    t0 = now_ms();
    r = raw_read_all(fd, 3000, &len);
    elapsed = now_ms() - t0;
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_true(elapsed >= 500 && elapsed < 2000);
    free(r);
    close(fd);
    expect_serving();
}

static void test_http2_garbage(void **state)
{
    (void)state;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    char buf[600];
    unsigned seed = 12345;
    for (int round = 0; round < 60; round++) {
        size_t n = 0;
        if (round % 2 == 0) {
            memcpy(buf, preface, 24);
            n = 24;
            if (round % 4 == 0) { /* a valid empty SETTINGS frame first */
                memcpy(buf + n, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
                n += 9;
            }
        }
        size_t extra = (size_t)(rand_r(&seed) % 500);
        for (size_t i = 0; i < extra; i++)
            buf[n++] = (char)rand_r(&seed);
        char *r = raw_exchange_eof(port, buf, n, 1000);
        free(r);
    }
    /* HEADERS on stream 1 with a header block that is not HPACK. */
    memcpy(buf, preface, 24);
    memcpy(buf + 24, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
    memcpy(buf + 33, "\x00\x00\x04\x01\x05\x00\x00\x00\x01\xff\xff\xff\xff", 13);
    char *r = raw_exchange(port, buf, 46, 1000, NULL);
    free(r);
    expect_serving();
    struct fetch f = {.url = url_of("http", port, "/hello"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&f);
    assert_int_equal(f.status, 200);
    fetch_done(&f);
}

static void test_connection_limit(void **state)
{
    (void)state;
    struct http_server_config cfg = {.workers = 1, .max_connections = 2, .log = test_log};
    unsigned p;
    struct http_server *s = start(&cfg, &p);
    int a = raw_connect(p), b = raw_connect(p);
    usleep(100000);
    int c = raw_connect(p); /* past the limit: closed at once */
    size_t len;
    long t0 = now_ms();
    char *r = raw_read_all(c, 2000, &len);
    assert_int_equal(len, 0);
    assert_true(now_ms() - t0 < 1000);
    free(r);
    close(c);
    char *m = http_server_metrics(s, NULL);
    assert_non_null(strstr(m, "iotsec_http_connections_rejected_total 1\n"));
    assert_non_null(strstr(m, "iotsec_http_connections_open 2\n"));
    free(m);
    close(a);
    close(b);
    usleep(100000);
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    r = raw_exchange(p, get, sizeof(get) - 1, 2000, NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    free(r);
    http_server_free(s);
}

/* An IPv6 listener, if the machine has ::1. */
static void test_ipv6_listener(void **state)
{
    (void)state;
    struct http_server *s = http_server_new(&(struct http_server_config){.workers = 1});
    struct http_listener_config lc = {.bind = "[::1]:0"};
    assert_int_equal(http_server_listen(s, &lc), 0);
    assert_int_equal(http_server_route(s, "GET", "/hello", h_hello, NULL), IOTSEC_OK);
    if (http_server_start(s) != IOTSEC_OK) {
        http_server_free(s);
        skip();
    }
    char url[64];
    snprintf(url, sizeof(url), "http://[::1]:%u/hello", http_server_port(s, 0));
    struct fetch f = {.url = url, .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&f);
    assert_int_equal(f.status, 200);
    fetch_done(&f);
    http_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_unsupported_bodies),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_chunked_over_limit_in_parts),
        cmocka_unit_test(test_keepalive_and_pipelining),
        cmocka_unit_test(test_http10_head_expect),
        cmocka_unit_test(test_slowloris_and_idle),
        cmocka_unit_test(test_http2_garbage),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_ipv6_listener),
    };
    if (getenv("HTTP_TEST_FILTER")) /* e.g. HTTP_TEST_FILTER=test_body_limit */
        cmocka_set_test_filter(getenv("HTTP_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
