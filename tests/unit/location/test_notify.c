/* Notification delivery without a network peer: the queue is bounded and drops its oldest,
 * the gate is asked before every attempt (refusal = nothing sent), cancel empties an owner's
 * share, bad destinations are refused at post time, and a refused http to a closed loopback
 * port is retried with backoff, then counted as failed. */
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
#include "expose/notify.h"

static atomic_int asked;
static atomic_bool open_gate;

static bool gate(void *ctx, const char *owner)
{
    (void)ctx;
    (void)owner;
    atomic_fetch_add(&asked, 1);
    return atomic_load(&open_gate);
}

static void wait_for(struct notify *n, uint64_t (*get)(const struct notify_metrics *), uint64_t want)
{
    struct notify_metrics m;
    for (int i = 0; i < 500; i++) {
        notify_metrics_get(n, &m);
        if (get(&m) >= want)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("timed out waiting for %llu", (unsigned long long)want);
}

static uint64_t refused(const struct notify_metrics *m) { return m->dropped_refused; }
static uint64_t failed(const struct notify_metrics *m) { return m->failed; }

static void gate_refuses_and_bad_urls(void **state)
{
    (void)state;
    atomic_store(&asked, 0);
    atomic_store(&open_gate, false);
    struct notify_config c = {.check = gate};
    struct notify *n;
    assert_int_equal(notify_new(&c, &n), IOTSEC_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(notify_post(n, "https://af.example/n", "af/1", "{}", 2), IOTSEC_OK);
    wait_for(n, refused, 10);
    assert_int_equal(atomic_load(&asked), 10);
    /* http is refused unless allowed, and then only on loopback; no credentials */
    assert_int_equal(notify_post(n, "http://127.0.0.1:9/n", "af/1", "{}", 2), IOTSEC_ERR_INVALID);
    assert_int_equal(notify_post(n, "ftp://af.example/n", "af/1", "{}", 2), IOTSEC_ERR_INVALID);
    assert_int_equal(notify_post(n, "https://u@af.example/n", "af/1", "{}", 2),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(notify_post(n, "https:///n", "af/1", "{}", 2), IOTSEC_ERR_INVALID);
    notify_free(n);
}

static void bounded_queue_and_cancel(void **state)
{
    (void)state;
    /* Posts outrun the delivery thread: the queue never holds more than queue_max, the
     * oldest going first, and the poster never waits. */
    atomic_store(&open_gate, false);
    struct notify_config c = {.check = gate, .queue_max = 8};
    struct notify *n;
    assert_int_equal(notify_new(&c, &n), IOTSEC_OK);
    for (int i = 0; i < 5000; i++)
        notify_post(n, "https://af.example/n", i % 2 ? "af/odd" : "af/even", "{}", 2);
    struct notify_metrics m;
    notify_metrics_get(n, &m);
    assert_true(m.in_queue <= 8);
    assert_true(m.queued == 5000);
    notify_cancel(n, "af/odd");
    notify_cancel(n, "af/even");
    notify_metrics_get(n, &m);
    assert_int_equal(m.in_queue, 0);
    /* every notification is accounted for: dropped (full), refused (gate or cancel) */
    for (int i = 0; i < 200 && m.dropped_full + m.dropped_refused < 5000; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        notify_metrics_get(n, &m);
    }
    assert_true(m.dropped_full + m.dropped_refused + m.in_flight == 5000);
    notify_free(n);
}

static void retries_then_fails(void **state)
{
    (void)state;
    atomic_store(&asked, 0);
    atomic_store(&open_gate, true);
    struct notify_config c = {.check = gate, .allow_http_loopback = true, .max_attempts = 3,
                              .backoff_ms = 20, .timeout_ms = 1000};
    struct notify *n;
    assert_int_equal(notify_new(&c, &n), IOTSEC_OK);
    /* port 1 on loopback: connection refused at once */
    assert_int_equal(notify_post(n, "http://127.0.0.1:1/n", "af/1", "{}", 2), IOTSEC_OK);
    wait_for(n, failed, 1);
    struct notify_metrics m;
    notify_metrics_get(n, &m);
    assert_int_equal(m.retries, 2);
    assert_int_equal(atomic_load(&asked), 3); /* the gate before each attempt */
    notify_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gate_refuses_and_bad_urls),
        cmocka_unit_test(bounded_queue_and_cancel),
        cmocka_unit_test(retries_then_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
