/* Large answers (3 MB and 16 MB) arrive whole and byte-exact: given at once by the handler
 * or deferred and given by another thread (as the store's writer thread does), over HTTP/2
 * (TLS, ALPN) and HTTP/1.1, to a client that reads as fast as it can and to one that reads
 * slowly (a small socket receive buffer, small reads and a pause), so that the server's output
 * buffer fills, its writes wait for the socket and, over HTTP/2, for the client's WINDOW_UPDATEs.
 *
 * curl grants HTTP/2 windows of 32 MB; a bare nghttp2 client grants 16 KB, so that the
 * server's sending also waits for, and resumes on, WINDOW_UPDATE frames.
 *
 * A stalled answer shows as a curl timeout (20 s) or a short body: no timed assertions. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
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

#define BIG_MAX    (16u << 20)
#define SLOW_AT    (1u << 20) /* the slow reader pauses once, after this many bytes */
#define PAUSE_MS   100
#define UPLOAD_MAX (4u << 20)

static struct test_certs certs;
static char *pattern; /* BIG_MAX bytes no two neighbouring megabytes of which are alike */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static size_t size_param(struct http_request *req)
{
    const char *p = http_request_param(req, "size");
    size_t n = p ? strtoul(p, NULL, 10) : 0;
    return n <= BIG_MAX ? n : 0;
}

/* ---- handlers ---- */

static void h_now(struct http_request *req, void *user)
{
    (void)user;
    http_respond(req, 200, "application/octet-stream", pattern, size_param(req));
}

/* The writer: one thread per deferred request, joined by the test. */
static pthread_t writer;
static bool writer_started;

static void *writer_main(void *arg)
{
    struct http_request *req = arg;
    usleep(10000); /* the worker has gone back to its loop */
    assert_int_equal(http_respond(req, 200, "application/octet-stream", pattern, size_param(req)),
                     IOTSEC_OK);
    return NULL;
}

static void h_later(struct http_request *req, void *user)
{
    (void)user;
    assert_int_equal(http_request_defer(req), IOTSEC_OK);
    assert_int_equal(pthread_create(&writer, NULL, writer_main, req), 0);
    writer_started = true;
}

/* ---- a client that can read slowly ---- */

struct reader {
    bool slow;
    char *data;
    size_t len, cap;
    bool pause_done; /* slow: paused once already (each pause costs curl up to a second) */
    long paused_at;  /* 0: not paused */
    CURL *curl;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct reader *r = user;
    size_t len = size * n;
    if (r->slow && !r->pause_done && r->len >= SLOW_AT) {
        r->pause_done = true;
        r->paused_at = now_ms();
        return CURL_WRITEFUNC_PAUSE; /* curl keeps these bytes and offers them again */
    }
    if (r->len + len > r->cap)
        return 0; /* more than announced: fails the transfer */
    memcpy(r->data + r->len, p, len);
    r->len += len;
    return len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct reader *r = user;
    if (r->paused_at && now_ms() - r->paused_at >= PAUSE_MS) {
        r->paused_at = 0;
        curl_easy_pause(r->curl, CURLPAUSE_CONT);
    }
    return 0;
}

/* A small receive buffer: the kernel pushes back on the server after a few kilobytes. */
static int small_rcvbuf(void *user, curl_socket_t fd, curlsocktype purpose)
{
    (void)user, (void)purpose;
    int size = 16384;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return CURL_SOCKOPT_OK;
}

static void fetch_big(unsigned port, const char *route, size_t size, long version, bool slow)
{
    char path[64];
    snprintf(path, sizeof(path), "/%s/%zu", route, size);
    struct reader r = {.slow = slow, .cap = BIG_MAX};
    r.data = malloc(r.cap);
    assert_non_null(r.data);
    CURL *c = r.curl = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url_of("https", port, path));
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(c, CURLOPT_CAINFO, certs.ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, certs.client_cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, certs.client_key);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (slow) {
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 1024L);
        curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, small_rcvbuf);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &r);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0, got_version = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &got_version);
    curl_easy_cleanup(c);
    if (writer_started) {
        pthread_join(writer, NULL);
        writer_started = false;
    }
    if (rc != CURLE_OK || r.len != size)
        fail_msg("%s %s%s over %s: curl says \"%s\", %zu of %zu bytes", route, path,
                 slow ? " (slow reader)" : "", version == CURL_HTTP_VERSION_1_1 ? "h1" : "h2",
                 curl_easy_strerror(rc), r.len, size);
    assert_int_equal(status, 200);
    assert_int_equal(got_version, version == CURL_HTTP_VERSION_1_1 ? CURL_HTTP_VERSION_1_1
                                                                   : CURL_HTTP_VERSION_2_0);
    assert_memory_equal(r.data, pattern, size);
    free(r.data);
}

/* ---- a bare HTTP/2 client (cleartext, prior knowledge) with a 16 KB stream window ---- */

struct tiny {
    size_t len;
    bool mismatch, closed;
    int status;
    uint32_t error;
};

static int tiny_on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                        size_t len, void *user)
{
    (void)s, (void)flags, (void)stream_id;
    struct tiny *t = user;
    if (t->len + len > BIG_MAX || memcmp(pattern + t->len, data, len) != 0)
        t->mismatch = true;
    t->len += len;
    return 0;
}

static int tiny_on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *user)
{
    (void)s, (void)frame, (void)flags, (void)valuelen;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        ((struct tiny *)user)->status = atoi((const char *)value);
    return 0;
}

static int tiny_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error, void *user)
{
    (void)s, (void)stream_id;
    struct tiny *t = user;
    t->closed = true;
    t->error = error;
    return 0;
}

static void fetch_tiny_window(unsigned port, const char *route, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/%s/%zu", route, size);
    struct tiny t = {0};
    nghttp2_session_callbacks *cb;
    nghttp2_session *s;
    assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, tiny_on_data);
    nghttp2_session_callbacks_set_on_header_callback(cb, tiny_on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, tiny_on_close);
    assert_int_equal(nghttp2_session_client_new(&s, cb, &t), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16384}};
    assert_int_equal(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 1), 0);
    nghttp2_nv nva[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"t", 10, 1, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
    };
    assert_true(nghttp2_submit_request(s, NULL, nva, 4, NULL, NULL) > 0);
    int fd = raw_connect(port), one = 1;
    /* WINDOW_UPDATEs are small: Nagle would hold each until the last one is acknowledged. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    long end = now_ms() + 20000;
    bool dead = false;
    while (!t.closed && !dead && now_ms() < end) {
        const uint8_t *out;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(s, &out)) > 0)
            dead = dead || send(fd, out, (size_t)n, MSG_NOSIGNAL) != n;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (dead || poll(&pfd, 1, (int)(end - now_ms())) <= 0)
            break;
        uint8_t buf[16384];
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        dead = got <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)got) < 0;
    }
    close(fd);
    nghttp2_session_del(s);
    if (writer_started) {
        pthread_join(writer, NULL);
        writer_started = false;
    }
    if (!t.closed || t.error || t.len != size)
        fail_msg("%s with a 16 KB window: %s, error %u, %zu of %zu bytes", path,
                 t.closed ? "closed" : "not closed", t.error, t.len, size);
    assert_int_equal(t.status, 200);
    assert_false(t.mismatch);
}

/* Answers with the number of body bytes it received. */
static void h_sink(struct http_request *req, void *user)
{
    (void)user;
    size_t len = 0;
    http_request_body(req, &len);
    char text[32];
    int n = snprintf(text, sizeof(text), "%zu", len);
    http_respond(req, 200, "text/plain", text, (size_t)n);
}

/* ---- the server: one worker, as the admin face has ---- */

static struct http_server *server_start_with(unsigned read_timeout_ms)
{
    struct http_server_config cfg = {
        .workers = 1, .read_timeout_ms = read_timeout_ms, .log = test_log};
    struct http_server *srv = http_server_new(&cfg);
    assert_non_null(srv);
    struct http_listener_config tls = {.bind = "127.0.0.1:0",
                                       .tls = true,
                                       .cert_file = certs.server_cert,
                                       .key_file = certs.server_key,
                                       .ca_file = certs.ca};
    struct http_listener_config clear = {.bind = "127.0.0.1:0"};
    assert_int_equal(http_server_listen(srv, &tls), 0);
    assert_int_equal(http_server_listen(srv, &clear), 1);
    assert_int_equal(http_server_route(srv, "GET", "/now/{size}", h_now, NULL), 0);
    assert_int_equal(http_server_route(srv, "GET", "/later/{size}", h_later, NULL), 0);
    assert_int_equal(http_server_route(srv, "POST", "/sink", h_sink, NULL), 0);
    assert_int_equal(http_server_route_body_limit(srv, "POST", "/sink", UPLOAD_MAX), IOTSEC_OK);
    assert_int_equal(http_server_start(srv), IOTSEC_OK);
    return srv;
}

static struct http_server *server_start(void)
{
    return server_start_with(0);
}

static void run_all(long version, bool slow)
{
    struct http_server *srv = server_start();
    unsigned port = http_server_port(srv, 0);
    const size_t sizes[] = {3u << 20, BIG_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fetch_big(port, "now", sizes[i], version, slow);
        fetch_big(port, "later", sizes[i], version, slow);
    }
    http_server_stop(srv);
    http_server_free(srv);
}

static void test_h2(void **state)
{
    (void)state;
    run_all(CURL_HTTP_VERSION_2TLS, false);
}

static void test_h2_slow_reader(void **state)
{
    (void)state;
    run_all(CURL_HTTP_VERSION_2TLS, true);
}

static void test_h2_window_updates(void **state)
{
    (void)state;
    struct http_server *srv = server_start();
    unsigned port = http_server_port(srv, 1);
    fetch_tiny_window(port, "now", 3u << 20);
    fetch_tiny_window(port, "later", BIG_MAX);
    http_server_stop(srv);
    http_server_free(srv);
}

static void test_h1(void **state)
{
    (void)state;
    run_all(CURL_HTTP_VERSION_1_1, false);
}

static void test_h1_slow_reader(void **state)
{
    (void)state;
    run_all(CURL_HTTP_VERSION_1_1, true);
}

/* A pipelined request arrives in two parts while a large answer is read slowly; its second
 * part waits in the server's socket, unread, because the server stops reading while its
 * output is full. That time is the server's, not the client's: the read timer (200 ms here)
 * must not end the connection in the middle of the answer. Both answers arrive, whole. */
static void test_h1_pipelined_behind_slow_answer(void **state)
{
    (void)state;
    struct http_server *srv = server_start_with(200);
    /* The receive buffer is set before connecting, so that the TCP window stays small. */
    int fd = socket(AF_INET, SOCK_STREAM, 0), size = 16384;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)http_server_port(srv, 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char head[] = "GET /now/16777216 HTTP/1.1\r\nHost: t\r\n\r\nGET /now/5 HTTP/1.1\r\nHo";
    const char rest[] = "st: t\r\n\r\n";
    assert_int_equal(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(head) - 1);
    /* Read the first answer's head and 16 MB of body in a few hundred milliseconds (past the
     * read timeout): the server's socket and output buffer stay full meanwhile. */
    size_t cap = BIG_MAX + 65536 * 2;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t len = 0, want = 0;
    bool sent_rest = false;
    long end = now_ms() + 20000;
    while (now_ms() < end && (!want || len < want) && len + 65536 <= cap) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, 65536, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (!sent_rest && len >= SLOW_AT) {
            /* Waits in the server's socket: it reads no more until its output drains. */
            assert_int_equal(send(fd, rest, sizeof(rest) - 1, MSG_NOSIGNAL),
                             (ssize_t)sizeof(rest) - 1);
            sent_rest = true;
        }
        const char *eoh = want ? NULL : memmem(buf, len, "\r\n\r\n", 4);
        if (eoh)
            want = (size_t)(eoh + 4 - buf) + BIG_MAX;
        usleep(1000);
    }
    if (!want || len < want)
        fail_msg("the first answer stopped at %zu of %zu bytes", len, want);
    const char *body = buf + want - BIG_MAX;
    assert_memory_equal(body, pattern, BIG_MAX);
    /* Then the second answer. */
    const char *eoh = NULL;
    end = now_ms() + 5000;
    for (;;) {
        eoh = memmem(buf + want, len - want, "\r\n\r\n", 4);
        if (eoh && len >= (size_t)(eoh + 4 - buf) + 5)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long left = end - now_ms();
        if (len + 65536 > cap || left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            fail_msg("no second answer after %zu bytes: time out", len - want);
        ssize_t n = recv(fd, buf + len, 65536, 0);
        if (n <= 0)
            fail_msg("no second answer after %zu bytes: closed", len - want);
        len += (size_t)n;
    }
    assert_memory_equal(buf + want, "HTTP/1.1 200 ", 13);
    assert_memory_equal(eoh + 4, pattern, 5);
    free(buf);
    close(fd);
    http_server_stop(srv);
    http_server_free(srv);
}

/* An upload sent at SPEED bytes/s over VERSION; the answer's status (0: none) and body. */
struct upload {
    long status;
    char body[64];
    size_t len;
};

static size_t upload_collect(char *p, size_t size, size_t n, void *user)
{
    struct upload *u = user;
    size_t take = size * n;
    if (take > sizeof(u->body) - 1 - u->len)
        take = sizeof(u->body) - 1 - u->len;
    memcpy(u->body + u->len, p, take);
    u->len += take;
    return size * n;
}

static void upload(unsigned port, long version, size_t size, curl_off_t speed, struct upload *u)
{
    memset(u, 0, sizeof(*u));
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/sink", port);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(h, CURLOPT_CAINFO, certs.ca);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, pattern);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, speed);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, upload_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &u->status);
    curl_easy_cleanup(h);
}

/* The read timeout (1 s here) bounds how long a request may dribble in, not how long a large
 * one may take: a 4 MB upload at 1 MB/s (a bulk import over a slow link) takes 4 s and is
 * answered, because it moves well past 64 KiB in every second; a 120 KB trickle at 20 KB/s
 * (slowloris) never does and is cut off. */
static void test_long_upload_and_trickle(void **state)
{
    (void)state;
    struct http_server *srv = server_start_with(1000);
    unsigned port = http_server_port(srv, 0);
    const long versions[] = {CURL_HTTP_VERSION_2TLS, CURL_HTTP_VERSION_1_1};
    for (size_t i = 0; i < 2; i++) {
        struct upload u;
        upload(port, versions[i], UPLOAD_MAX, 1 << 20, &u);
        assert_int_equal(u.status, 200);
        char want[32];
        snprintf(want, sizeof(want), "%u", UPLOAD_MAX);
        assert_string_equal(u.body, want);
        upload(port, versions[i], 120u << 10, 20 << 10, &u);
        if (u.status == 200)
            fail_msg("a 20 KB/s trickle was served (HTTP version %ld)", versions[i]);
    }
    http_server_stop(srv);
    http_server_free(srv);
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    certs_make(&certs);
    pattern = malloc(BIG_MAX);
    assert_non_null(pattern);
    for (size_t i = 0; i < BIG_MAX; i++)
        pattern[i] = (char)((i * 131u) ^ (i >> 12) ^ (i >> 20));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(pattern);
    certs_remove(&certs);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2),
        cmocka_unit_test(test_h2_slow_reader),
        cmocka_unit_test(test_h2_window_updates),
        cmocka_unit_test(test_h1),
        cmocka_unit_test(test_h1_slow_reader),
        cmocka_unit_test(test_h1_pipelined_behind_slow_answer),
        cmocka_unit_test(test_long_upload_and_trickle),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
