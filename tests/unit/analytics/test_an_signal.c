/* Signalling detectors: radio link failures, ping-pong across cells, too frequent service
 * access, unexpected wake-up; each with its hysteresis (raise at the high mark, hold on any
 * evidence, clear after a quiet window), and bad events refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/analytics.h"
#include "base/err.h"

#define T0   1700000040.0 /* a window boundary (60 s) */
#define MAXF 1024
#define SUPI "imsi-001010000000042"

static struct an_finding found[MAXF];
static int nfound;
static const uint8_t key[32] = "test key for the analytics tests";

static void on_finding(void *arg, const struct an_finding *f)
{
    (void)arg;
    if (nfound < MAXF)
        found[nfound++] = *f;
}

static struct an_engine *engine(void)
{
    struct an_config c;
    an_config_default(&c);
    c.warmup_windows = 5;
    nfound = 0;
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    assert_non_null(e);
    an_engine_set_callbacks(e, on_finding, NULL, NULL);
    return e;
}

static void sig(struct an_engine *e, int w, int i, enum an_signal_kind k, const char *ncgi)
{
    assert_int_equal(an_engine_signal(e, SUPI, T0 + 60.0 * w + i * 0.1, k, "00101-000001", ncgi),
                     IOTSEC_OK);
}

/* Findings of x about window w (absolute index relative to T0). */
static int in_window(enum an_exception x, int w)
{
    int n = 0;
    for (int i = 0; i < nfound; i++)
        n += found[i].exc == x && found[i].window == (int64_t)(T0 / 60) + w;
    return n;
}

static void test_radio_link_failures(void **state)
{
    (void)state;
    struct an_engine *e = engine();
    sig(e, 0, 0, AN_SIG_RADIO_LINK_FAILURE, "c1"); /* one: nothing */
    sig(e, 1, 0, AN_SIG_RADIO_LINK_FAILURE, "c1");
    sig(e, 1, 1, AN_SIG_RADIO_LINK_FAILURE, "c1");
    sig(e, 1, 2, AN_SIG_RADIO_LINK_FAILURE, "c1"); /* three: raise */
    sig(e, 2, 0, AN_SIG_RADIO_LINK_FAILURE, "c1"); /* one: holds */
    sig(e, 4, 0, AN_SIG_LOCATION_UPDATE, "c1");    /* a quiet window (3) cleared it */
    an_engine_flush(e);
    enum an_exception x = AN_EXC_UNEXPECTED_RADIO_LINK_FAILURES;
    assert_int_equal(in_window(x, 0), 0);
    assert_int_equal(in_window(x, 1), 1);
    assert_int_equal(in_window(x, 2), 1);
    assert_int_equal(in_window(x, 3), 0);
    assert_int_equal(in_window(x, 4), 0);
    an_engine_free(e);
}

static void test_ping_pong(void **state)
{
    (void)state;
    struct an_engine *e = engine();
    /* Moving on (c1 -> c2 -> c3 -> c4) is no ping-pong. */
    sig(e, 0, 0, AN_SIG_LOCATION_UPDATE, "c1");
    sig(e, 0, 1, AN_SIG_LOCATION_UPDATE, "c2");
    sig(e, 0, 2, AN_SIG_LOCATION_UPDATE, "c3");
    sig(e, 0, 3, AN_SIG_LOCATION_UPDATE, "c4");
    /* c4 -> c5 -> c4 -> c5 -> c4: three returns to the cell before last. */
    sig(e, 1, 0, AN_SIG_LOCATION_UPDATE, "c5");
    sig(e, 1, 1, AN_SIG_LOCATION_UPDATE, "c4");
    sig(e, 1, 2, AN_SIG_LOCATION_UPDATE, "c5");
    sig(e, 1, 3, AN_SIG_LOCATION_UPDATE, "c4");
    sig(e, 1, 4, AN_SIG_LOCATION_UPDATE, "c4"); /* the same cell again: not a change */
    an_engine_flush(e);
    assert_int_equal(in_window(AN_EXC_PING_PONG_ACROSS_CELLS, 0), 0);
    assert_int_equal(in_window(AN_EXC_PING_PONG_ACROSS_CELLS, 1), 1);
    an_engine_free(e);
}

static void test_too_frequent_access(void **state)
{
    (void)state;
    struct an_engine *e = engine();
    for (int i = 0; i < 19; i++) /* 19: below the mark */
        sig(e, 0, i, AN_SIG_SERVICE_REQUEST, "c1");
    for (int i = 0; i < 25; i++)
        sig(e, 1, i, i % 5 ? AN_SIG_SERVICE_REQUEST : AN_SIG_REGISTRATION, "c1");
    for (int i = 0; i < 10; i++) /* half the mark holds an alarm that is up */
        sig(e, 2, i, AN_SIG_SERVICE_REQUEST, "c1");
    for (int i = 0; i < 9; i++) /* below half: quiet, clears */
        sig(e, 3, i, AN_SIG_SERVICE_REQUEST, "c1");
    an_engine_flush(e);
    enum an_exception x = AN_EXC_TOO_FREQUENT_SERVICE_ACCESS;
    assert_int_equal(in_window(x, 0), 0);
    assert_int_equal(in_window(x, 1), 1);
    assert_int_equal(in_window(x, 2), 1);
    assert_int_equal(in_window(x, 3), 0);
    an_engine_free(e);
}

static void test_unexpected_wakeup(void **state)
{
    (void)state;
    struct an_engine *e = engine();
    /* A device that only reports location (never wakes through service requests) for the
     * warm-up, then wakes: flagged once. A device that always wakes is not. */
    for (int w = 0; w < 6; w++) {
        sig(e, w, 0, AN_SIG_LOCATION_UPDATE, "c1");
        assert_int_equal(an_engine_signal(e, "imsi-001010000000099", T0 + 60.0 * w,
                                          AN_SIG_SERVICE_REQUEST, NULL, NULL),
                         IOTSEC_OK);
    }
    assert_int_equal(nfound, 0);
    sig(e, 6, 0, AN_SIG_SERVICE_REQUEST, "c1");
    assert_int_equal(an_engine_signal(e, "imsi-001010000000099", T0 + 360.0,
                                      AN_SIG_SERVICE_REQUEST, NULL, NULL),
                     IOTSEC_OK);
    sig(e, 7, 0, AN_SIG_LOCATION_UPDATE, "c1");
    an_engine_flush(e);
    assert_int_equal(in_window(AN_EXC_UNEXPECTED_WAKEUP, 6), 1);
    assert_int_equal(in_window(AN_EXC_UNEXPECTED_WAKEUP, 7), 0);
    assert_int_equal(nfound, 1); /* the other device: nothing */
    an_engine_free(e);
}

static void test_bad_events(void **state)
{
    (void)state;
    struct an_engine *e = engine();
    assert_int_equal(an_engine_signal(e, "", T0, AN_SIG_REGISTRATION, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(an_engine_signal(e, NULL, T0, AN_SIG_REGISTRATION, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(an_engine_signal(e, SUPI, -1, AN_SIG_REGISTRATION, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(an_engine_signal(e, SUPI, 0.0 / 0.0, AN_SIG_REGISTRATION, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(an_engine_signal(e, SUPI, T0, AN_SIG_COUNT, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    enum an_signal_kind k;
    assert_int_equal(an_signal_kind_parse("radio_link_failure", &k), IOTSEC_OK);
    assert_int_equal(k, AN_SIG_RADIO_LINK_FAILURE);
    assert_int_equal(an_signal_kind_parse("handover", &k), IOTSEC_ERR_INVALID);
    assert_int_equal(an_signal_kind_parse(NULL, &k), IOTSEC_ERR_INVALID);
    an_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_radio_link_failures), cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_too_frequent_access), cmocka_unit_test(test_unexpected_wakeup),
        cmocka_unit_test(test_bad_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
