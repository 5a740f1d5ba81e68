/* A tiny server on the HTTP library, for test_http_hello and for load measurements:
 *
 *   http_hello [-w workers] [-c h2c-addr] [-t tls-addr -C cert -K key [-A ca]]
 *
 * GET /hello answers {"hello":"world"}; GET /hello/async answers the same through the
 * deferred path (a worker-loop timer of zero delay); GET /json builds and serialises a small
 * object with jansson; POST /echo returns the body; GET /metrics the Prometheus text.
 * It prints "h2c <port>" and "tls <port>" lines, then "ready", and runs until SIGINT or
 * SIGTERM, which stop it gracefully (exit status 0). */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "http/http.h"

static void hello(struct http_request *req, void *user)
{
    (void)user;
    static const char body[] = "{\"hello\":\"world\"}";
    http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

/* What a daemon handler does: build a small JSON object and serialise it. */
static void hello_json(struct http_request *req, void *user)
{
    (void)user;
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:i}", "hello", "world", "id", http_request_id(req),
                                "worker", (int)http_request_worker(req)));
}

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hello(arg, NULL);
}

static void hello_async(struct http_request *req, void *user)
{
    (void)user;
    if (http_request_defer(req) == IOTSEC_OK &&
        event_base_once(http_request_event_base(req), -1, EV_TIMEOUT, answer_later, req, NULL) != 0)
        http_respond(req, 503, NULL, NULL, 0);
}

static void echo(struct http_request *req, void *user)
{
    (void)user;
    size_t len;
    const void *body = http_request_body(req, &len);
    http_respond(req, 200, "application/octet-stream", body, len);
}

static void metrics(struct http_request *req, void *user)
{
    size_t len;
    char *text = http_server_metrics(user, &len);
    if (!text) {
        http_respond_problem(req, 503, NULL, "out of memory", NULL, NULL, 0);
        return;
    }
    http_respond(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

static void log_stderr(void *user, enum http_log_level level, const char *id, const char *msg)
{
    (void)user;
    if (level <= HTTP_LOG_WARNING)
        fprintf(stderr, "http_hello: %s %s\n", id ? id : "-", msg);
}

int main(int argc, char **argv)
{
    struct http_server_config cfg = {.log = log_stderr};
    struct http_listener_config h2c = {0}, tls = {.tls = true};
    int opt;
    while ((opt = getopt(argc, argv, "w:c:t:C:K:A:")) != -1) {
        switch (opt) {
        case 'w':
            cfg.workers = (unsigned)atoi(optarg);
            break;
        case 'c':
            h2c.bind = optarg;
            break;
        case 't':
            tls.bind = optarg;
            break;
        case 'C':
            tls.cert_file = optarg;
            break;
        case 'K':
            tls.key_file = optarg;
            break;
        case 'A':
            tls.ca_file = optarg;
            break;
        default:
            fprintf(stderr, "usage: %s [-w n] [-c addr] [-t addr -C cert -K key [-A ca]]\n",
                    argv[0]);
            return 2;
        }
    }
    /* Block the stop signals before any thread exists; the main thread waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct http_server *srv = http_server_new(&cfg);
    int l_h2c = h2c.bind ? http_server_listen(srv, &h2c) : -1;
    int l_tls = tls.bind ? http_server_listen(srv, &tls) : -1;
    if (!srv || (h2c.bind && l_h2c < 0) || (tls.bind && l_tls < 0) ||
        http_server_route(srv, "GET", "/hello", hello, NULL) != IOTSEC_OK ||
        http_server_route(srv, "GET", "/hello/async", hello_async, NULL) != IOTSEC_OK ||
        http_server_route(srv, "GET", "/json", hello_json, NULL) != IOTSEC_OK ||
        http_server_route(srv, "POST", "/echo", echo, NULL) != IOTSEC_OK ||
        http_server_route(srv, "GET", "/metrics", metrics, srv) != IOTSEC_OK ||
        http_server_start(srv) != IOTSEC_OK) {
        fprintf(stderr, "http_hello: cannot start\n");
        http_server_free(srv);
        return 1;
    }
    if (l_h2c >= 0)
        printf("h2c %u\n", http_server_port(srv, l_h2c));
    if (l_tls >= 0)
        printf("tls %u\n", http_server_port(srv, l_tls));
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    http_server_stop(srv);
    http_server_free(srv);
    return 0;
}
