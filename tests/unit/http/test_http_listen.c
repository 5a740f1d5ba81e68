/* Listening sockets belong to one server: a second server (or any other socket, even one
 * asking for SO_REUSEPORT) cannot bind a port a server listens on, the refusal is
 * IOTSEC_ERR_ADDRINUSE and leaves the first server serving on all its workers, and the port
 * is closed once the server has stopped. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/http.h"
#include "http_test.h"

/* Answers 200 + the index of the worker that runs the request. */
static void h_worker(struct http_request *req, void *user)
{
    (void)user;
    http_respond(req, 200 + (int)http_request_worker(req), NULL, NULL, 0);
}

/* A cleartext server with two workers on bind; NULL when http_server_start fails (*rc). */
static struct http_server *server_on(const char *bind, int *rc)
{
    struct http_server_config cfg = {.workers = 2, .log = test_log};
    struct http_server *s = http_server_new(&cfg);
    assert_non_null(s);
    struct http_listener_config lc = {.bind = bind};
    assert_int_equal(http_server_listen(s, &lc), 0);
    assert_int_equal(http_server_route(s, "GET", "/worker", h_worker, NULL), IOTSEC_OK);
    *rc = http_server_start(s);
    if (*rc != IOTSEC_OK) {
        http_server_free(s);
        return NULL;
    }
    return s;
}

/* Binds a plain socket to 127.0.0.1:port, with SO_REUSEPORT as a cooperating process would;
 * returns 0 or errno. */
static int bind_reuseport(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int err = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/* Four connections, each answered: two by each worker of the server. */
static void assert_served_by_both_workers(unsigned port)
{
    static struct h2c conns[4];
    int per_worker[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        h2c_open(&conns[i], port);
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

static void test_second_server_on_a_port_is_refused(void **state)
{
    (void)state;
    int rc;
    struct http_server *first = server_on("127.0.0.1:0", &rc);
    assert_non_null(first);
    unsigned port = http_server_port(first, 0);
    assert_true(port > 0);
    char bind[32];
    snprintf(bind, sizeof(bind), "127.0.0.1:%u", port);

    struct http_server *second = server_on(bind, &rc);
    assert_null(second);
    assert_int_equal(rc, IOTSEC_ERR_ADDRINUSE);
    /* nor can a socket that asks to share the port join the first server's accept queue */
    assert_int_equal(bind_reuseport(port), EADDRINUSE);
    /* the wildcard address overlaps too */
    snprintf(bind, sizeof(bind), "0.0.0.0:%u", port);
    assert_null(server_on(bind, &rc));
    assert_int_equal(rc, IOTSEC_ERR_ADDRINUSE);

    /* the first server is untouched, and still spreads connections over its own workers */
    assert_served_by_both_workers(port);
    http_server_free(first);
}

/* Two listeners of one server on one port are a configuration error, not a shared socket. */
static void test_two_listeners_on_one_port_are_refused(void **state)
{
    (void)state;
    int rc;
    struct http_server *probe = server_on("127.0.0.1:0", &rc);
    assert_non_null(probe);
    unsigned port = http_server_port(probe, 0);
    http_server_free(probe); /* a port that was free a moment ago */

    char bind[32];
    snprintf(bind, sizeof(bind), "127.0.0.1:%u", port);
    struct http_server_config cfg = {.workers = 2, .log = test_log};
    struct http_server *s = http_server_new(&cfg);
    struct http_listener_config lc = {.bind = bind};
    assert_int_equal(http_server_listen(s, &lc), 0);
    assert_int_equal(http_server_listen(s, &lc), 1);
    assert_int_equal(http_server_start(s), IOTSEC_ERR_ADDRINUSE);
    http_server_free(s);
}

/* Stopped, the server no longer listens (the last worker to drain closed the socket), and a
 * new server binds the same port at once. */
static void test_port_released_at_stop(void **state)
{
    (void)state;
    int rc;
    struct http_server *first = server_on("127.0.0.1:0", &rc);
    assert_non_null(first);
    unsigned port = http_server_port(first, 0);
    assert_served_by_both_workers(port);
    http_server_stop(first);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);

    char bind[32];
    snprintf(bind, sizeof(bind), "127.0.0.1:%u", port);
    struct http_server *next = server_on(bind, &rc);
    assert_non_null(next);
    assert_int_equal(http_server_port(next, 0), port);
    assert_served_by_both_workers(port);
    http_server_free(next);
    http_server_free(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_server_on_a_port_is_refused),
        cmocka_unit_test(test_two_listeners_on_one_port_are_refused),
        cmocka_unit_test(test_port_released_at_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
