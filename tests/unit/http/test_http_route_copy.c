/* A second face serving another server's routes (http_server_route_copy, as the console serves
 * the admin API) behind its own gate, which names the principal handlers read. Real sockets:
 * h2c prior knowledge and HTTP/1.1 over cleartext. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/http.h"
#include "http_test.h"

static void who(struct http_request *req, void *user)
{
    const char *p = http_request_principal(req);
    char body[96];
    snprintf(body, sizeof(body), "%s %s", (const char *)user, p ? p : "(nobody)");
    http_respond(req, 200, "text/plain", body, strlen(body));
}

/* Names the principal from X-Who; refuses "mallory" itself (403). */
static bool gate(struct http_request *req, void *user)
{
    (void)user;
    const char *w = http_request_header(req, "x-who");
    if (w && strcmp(w, "mallory") == 0) {
        http_respond_problem(req, 403, NULL, "not you", "ROLE", NULL, 0);
        return false;
    }
    if (w && strcmp(w, "toolong") == 0) { /* names that do not fit, or empty, are refused */
        char name[HTTP_PRINCIPAL_MAX + 1];
        memset(name, 'a', HTTP_PRINCIPAL_MAX);
        name[HTTP_PRINCIPAL_MAX] = '\0';
        assert_int_equal(http_request_set_principal(req, name), IOTSEC_ERR_INVALID);
        assert_int_equal(http_request_set_principal(req, ""), IOTSEC_ERR_INVALID);
        return true;
    }
    if (w)
        assert_int_equal(http_request_set_principal(req, w), IOTSEC_OK);
    return true;
}

static void fetch_as(unsigned port, const char *path, const char *header, long version, long status,
                     const char *body)
{
    struct fetch f = {.url = url_of("http", port, path), .header = header, .version = version};
    fetch_run(&f);
    assert_int_equal(f.status, status);
    if (body)
        assert_string_equal(f.data, body);
    fetch_done(&f);
}

static void test_copy_and_gate(void **state)
{
    (void)state;
    struct http_server_config cfg = {.workers = 1, .log = test_log};
    struct http_server *src = http_server_new(&cfg), *dst = http_server_new(&cfg);
    assert_int_equal(http_server_route(src, "GET", "/admin/v1/x", who, "x"), IOTSEC_OK);
    assert_int_equal(http_server_route(src, "POST", "/admin/v1/items/{id}", who, "item"),
                     IOTSEC_OK);
    assert_int_equal(http_server_route(src, "GET", "/other", who, "other"), IOTSEC_OK);
    assert_int_equal(http_server_route_body_limit(src, "POST", "/admin/v1/items/{id}", 10),
                     IOTSEC_OK);
    assert_int_equal(http_server_route(dst, "GET", "/own", who, "own"), IOTSEC_OK);
    assert_int_equal(http_server_route_copy(dst, src, "/admin/"), IOTSEC_OK);
    /* copied already: a second copy conflicts */
    assert_int_equal(http_server_route_copy(dst, src, "/admin/"), IOTSEC_ERR_CONFLICT);
    assert_int_equal(http_server_set_gate(dst, gate, NULL), IOTSEC_OK);
    struct http_listener_config lc = {.bind = "127.0.0.1:0", .tls = false};
    assert_int_equal(http_server_listen(dst, &lc), 0);
    assert_int_equal(http_server_start(dst), IOTSEC_OK);
    assert_int_equal(http_server_route_copy(dst, src, "/"), IOTSEC_ERR_STATE);
    unsigned port = http_server_port(dst, 0);
    long versions[] = {CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, CURL_HTTP_VERSION_1_1};
    for (int v = 0; v < 2; v++) {
        fetch_as(port, "/admin/v1/x", "X-Who: alice", versions[v], 200, "x alice");
        fetch_as(port, "/admin/v1/x", NULL, versions[v], 200, "x (nobody)");
        fetch_as(port, "/admin/v1/x", "X-Who: mallory", versions[v], 403, NULL);
        fetch_as(port, "/admin/v1/x", "X-Who: toolong", versions[v], 200, "x (nobody)");
        fetch_as(port, "/own", "X-Who: bob", versions[v], 200, "own bob");
        fetch_as(port, "/other", NULL, versions[v], 404, NULL); /* not under the prefix */
        /* the copied route keeps its body limit */
        struct fetch big = {.url = url_of("http", port, "/admin/v1/items/7"),
                            .body = "more than ten bytes",
                            .version = versions[v]};
        fetch_run(&big);
        assert_int_equal(big.status, 413);
        fetch_done(&big);
        struct fetch small = {.url = url_of("http", port, "/admin/v1/items/7"),
                              .body = "ten bytes!",
                              .header = "X-Who: carol",
                              .version = versions[v]};
        fetch_run(&small);
        assert_int_equal(small.status, 200);
        assert_string_equal(small.data, "item carol");
        fetch_done(&small);
    }
    http_server_free(dst);
    http_server_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_and_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
