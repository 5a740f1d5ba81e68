/* The outbound delivery engine without a network peer: the queue is bounded and drops its
 * oldest, the check is asked before every attempt (refusal = nothing sent), cancel empties an
 * owner's share, bad URLs are refused at post time, a refused connection is retried with
 * backoff then counted as failed, and an address the policy refuses is refused AT DELIVERY
 * (after resolution, names included), once, without retries, unless the check's rules
 * allow-list it; delivered over https to a real server (HTTP/2, kept alive), a request on the
 * kept-alive connection is refused once its address is no longer allowed. Every accepted
 * request ends exactly once, through the done callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/outbound.h"
#include "http_test.h"

static atomic_int asked;
static atomic_bool open_gate;
static const char *gate_allow; /* allow-list the gate hands out; NULL: the engine's rules */
static atomic_int ended[OUTBOUND_ABANDONED + 1];

static bool gate(void *ctx, const char *owner, struct outbound_rules *rules)
{
    (void)ctx;
    (void)owner;
    atomic_fetch_add(&asked, 1);
    const char *why;
    if (gate_allow)
        assert_int_equal(outbound_allow_parse(gate_allow, rules, &why), IOTSEC_OK);
    return atomic_load(&open_gate);
}

static void on_done(void *ctx, void *tag, enum outbound_result r)
{
    (void)ctx;
    assert_ptr_equal(tag, &asked); /* the tag given to outbound_post comes back */
    atomic_fetch_add(&ended[r], 1);
}

static void reset(bool open, const char *allow)
{
    atomic_store(&asked, 0);
    atomic_store(&open_gate, open);
    gate_allow = allow;
    for (int i = 0; i <= OUTBOUND_ABANDONED; i++)
        atomic_store(&ended[i], 0);
}

static int total_ended(void)
{
    int n = 0;
    for (int i = 0; i <= OUTBOUND_ABANDONED; i++)
        n += atomic_load(&ended[i]);
    return n;
}

static void wait_ended(int want)
{
    for (int i = 0; i < 1000 && total_ended() < want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (total_ended() < want)
        fail_msg("timed out: %d of %d ended", total_ended(), want);
}

static void gate_refuses_and_bad_urls(void **state)
{
    (void)state;
    reset(false, NULL);
    struct outbound_config c = {.check = gate, .done = on_done};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(outbound_post(n, "https://af.example/n", "af/1", "{}", 2, &asked),
                         IOTSEC_OK);
    wait_ended(10);
    assert_int_equal(atomic_load(&ended[OUTBOUND_STOPPED]), 10);
    assert_int_equal(atomic_load(&asked), 10);
    /* http is refused without the lab switch; no credentials; http(s) only */
    assert_int_equal(outbound_post(n, "http://127.0.0.1:9/n", "af/1", "{}", 2, &asked),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(outbound_post(n, "ftp://af.example/n", "af/1", "{}", 2, &asked),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(outbound_post(n, "https://u@af.example/n", "af/1", "{}", 2, &asked),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(outbound_post(n, "https:///n", "af/1", "{}", 2, &asked), IOTSEC_ERR_INVALID);
    outbound_free(n);
    assert_int_equal(total_ended(), 10); /* refused posts were never accepted */
}

static void bounded_queue_and_cancel(void **state)
{
    (void)state;
    /* Posts outrun the delivery thread: the queue never holds more than queue_max, the
     * oldest going first, and the poster never waits. */
    reset(false, NULL);
    struct outbound_config c = {.check = gate, .queue_max = 8, .done = on_done};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    for (int i = 0; i < 5000; i++)
        outbound_post(n, "https://af.example/n", i % 2 ? "af/odd" : "af/even", "{}", 2, &asked);
    struct outbound_metrics m;
    outbound_metrics_get(n, &m);
    assert_true(m.in_queue <= 8);
    assert_true(m.queued == 5000);
    outbound_cancel(n, "af/odd");
    outbound_cancel(n, "af/even");
    outbound_metrics_get(n, &m);
    assert_int_equal(m.in_queue, 0);
    /* every request is accounted for, once: dropped (full) or stopped (gate or cancel) */
    wait_ended(5000);
    outbound_metrics_get(n, &m);
    assert_int_equal(m.dropped_full + m.stopped, 5000);
    assert_int_equal(atomic_load(&ended[OUTBOUND_DROPPED]), (int)m.dropped_full);
    assert_true(m.dropped_full >= 5000 - 8 - 64);
    outbound_free(n);
    assert_int_equal(total_ended(), 5000);
}

static void retries_then_fails(void **state)
{
    (void)state;
    reset(true, NULL);
    struct outbound_config c = {.check = gate,
                                .rules.http_loopback = true,
                                .max_attempts = 3,
                                .backoff_ms = 20,
                                .timeout_ms = 1000,
                                .done = on_done};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    /* port 1 on loopback: connection refused at once; allowed by the lab switch (http to an
     * address that resolves to loopback, named or not) */
    assert_int_equal(outbound_post(n, "http://127.0.0.1:1/n", "af/1", "{}", 2, &asked), IOTSEC_OK);
    assert_int_equal(outbound_post(n, "http://localhost:1/n", "af/2", "{}", 2, &asked), IOTSEC_OK);
    wait_ended(2);
    struct outbound_metrics m;
    outbound_metrics_get(n, &m);
    assert_int_equal(m.failed, 2);
    assert_int_equal(m.refused, 0);
    assert_int_equal(m.retries, 4);
    assert_int_equal(atomic_load(&asked), 6); /* the gate before each attempt */
    outbound_free(n);
}

/* https to loopback (by address or by name) is refused when the connection is about to be
 * made, once, not retried; the same request goes out when the check's rules allow-list it. */
static void refused_at_delivery(void **state)
{
    (void)state;
    reset(true, NULL);
    struct outbound_config c = {
        .check = gate, .max_attempts = 3, .backoff_ms = 20, .timeout_ms = 1000, .done = on_done};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    static const char *const urls[] = {"https://127.0.0.1:1/n", "https://localhost:1/n",
                                       "https://2130706433:1/n", "https://[::ffff:127.0.0.1]:1/n",
                                       "https://0x7f.1:1/n"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(outbound_post(n, urls[i], "af/1", "{}", 2, &asked), IOTSEC_OK);
    wait_ended(5);
    struct outbound_metrics m;
    outbound_metrics_get(n, &m);
    assert_int_equal(m.refused, 5);
    assert_int_equal(atomic_load(&ended[OUTBOUND_REFUSED]), 5);
    assert_int_equal(m.retries, 0);
    assert_int_equal(atomic_load(&asked), 5);
    outbound_free(n);

    /* allow-listed by the check (an AF's list): now a connection is attempted, refused by
     * the closed port, retried, failed */
    reset(true, "127.0.0.0/8,::1");
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    assert_int_equal(outbound_post(n, "https://localhost:1/n", "af/1", "{}", 2, &asked), IOTSEC_OK);
    wait_ended(1);
    outbound_metrics_get(n, &m);
    assert_int_equal(m.refused, 0);
    assert_int_equal(m.failed, 1);
    assert_int_equal(m.retries, 2);
    outbound_free(n);
}

static void abandoned_at_free(void **state)
{
    (void)state;
    reset(true, NULL);
    struct outbound_config c = {
        .check = gate, .done = on_done, .backoff_ms = 60000, .rules.http_loopback = true};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    assert_int_equal(outbound_post(n, "http://127.0.0.1:1/n", "af/1", "{}", 2, &asked), IOTSEC_OK);
    for (int i = 0; i < 500; i++) { /* first attempt failed, the retry waits a minute */
        struct outbound_metrics m;
        outbound_metrics_get(n, &m);
        if (m.retries == 1)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    outbound_free(n);
    assert_int_equal(atomic_load(&ended[OUTBOUND_ABANDONED]), 1);
    assert_int_equal(total_ended(), 1);
}

/* ---- against a real https server ---- */

static struct test_certs certs;
static atomic_int served;

static void h_sink(struct http_request *req, void *user)
{
    (void)user;
    atomic_fetch_add(&served, 1);
    http_respond(req, 204, NULL, NULL, 0);
}

static void wait_total(int want)
{
    for (int i = 0; i < 500 && total_ended() < want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(total_ended(), want);
}

static void kept_alive_connection_rechecked(void **state)
{
    (void)state;
    certs_make(&certs);
    struct http_server_config sc = {.workers = 1, .log = test_log};
    struct http_server *srv = http_server_new(&sc);
    assert_non_null(srv);
    struct http_listener_config tls = {.bind = "127.0.0.1:0",
                                       .tls = true,
                                       .cert_file = certs.server_cert,
                                       .key_file = certs.server_key};
    assert_int_equal(http_server_listen(srv, &tls), 0);
    assert_int_equal(http_server_route(srv, "POST", "/n", h_sink, NULL), IOTSEC_OK);
    assert_int_equal(http_server_start(srv), IOTSEC_OK);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/n", http_server_port(srv, 0));

    reset(true, "127.0.0.1/32");
    atomic_store(&served, 0);
    struct outbound_config c = {
        .check = gate, .done = on_done, .ca_file = certs.ca, .max_attempts = 2, .backoff_ms = 20};
    struct outbound *n;
    assert_int_equal(outbound_new(&c, &n), IOTSEC_OK);
    for (int i = 1; i <= 3; i++) { /* one after the other: the connection is reused */
        assert_int_equal(outbound_post(n, url, "af/1", "{}", 2, &asked), IOTSEC_OK);
        wait_total(i);
    }
    assert_int_equal(atomic_load(&ended[OUTBOUND_DELIVERED]), 3);
    assert_int_equal(atomic_load(&served), 3);
    /* the allow-list is withdrawn: the next request, on the same kept-alive connection, is
     * refused before it is sent */
    gate_allow = "10.0.0.0/8";
    assert_int_equal(outbound_post(n, url, "af/1", "{}", 2, &asked), IOTSEC_OK);
    wait_total(4);
    assert_int_equal(atomic_load(&ended[OUTBOUND_REFUSED]), 1);
    assert_int_equal(atomic_load(&served), 3);
    outbound_free(n);
    http_server_stop(srv);
    http_server_free(srv);
    certs_remove(&certs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gate_refuses_and_bad_urls),
        cmocka_unit_test(bounded_queue_and_cancel),
        cmocka_unit_test(retries_then_fails),
        cmocka_unit_test(refused_at_delivery),
        cmocka_unit_test(abandoned_at_free),
        cmocka_unit_test(kept_alive_connection_rechecked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
