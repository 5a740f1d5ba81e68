/* The detectors on synthetic traffic: a quiet meter, a scanner, a flooding bot, a C&C
 * beacon (and the hysteresis that holds and clears its alarm), a fleet with one odd member,
 * a botnet converging on a victim, a device leaving its own baseline, and the window clock. */
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
#define MAXF 4096

struct seen {
    struct an_finding f[MAXF];
    int n;
    int windows, flagged;
    int64_t last_window;
};

static struct seen seen;
static const uint8_t key[32] = "test key for the analytics tests";

static void on_finding(void *arg, const struct an_finding *f)
{
    (void)arg;
    if (seen.n < MAXF)
        seen.f[seen.n++] = *f;
}

static void on_window(void *arg, uint32_t dev, int64_t window, bool flagged)
{
    (void)arg, (void)dev;
    seen.windows++;
    seen.flagged += flagged;
    seen.last_window = window;
}

static struct an_engine *engine(void (*tweak)(struct an_config *))
{
    struct an_config c;
    an_config_default(&c);
    if (tweak)
        tweak(&c);
    memset(&seen, 0, sizeof(seen));
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    assert_non_null(e);
    an_engine_set_callbacks(e, on_finding, on_window, NULL);
    return e;
}

static struct an_addr ip(const char *s)
{
    struct an_addr a;
    assert_int_equal(an_addr_parse(s, strlen(s), &a), IOTSEC_OK);
    return a;
}

static void bind_ue(struct an_engine *e, const char *ue, const char *id, uint32_t group)
{
    struct an_addr a = ip(ue);
    assert_int_equal(an_engine_bind(e, &a, id, group), IOTSEC_OK);
}

/* One flow from ue to dst:port in window w (i-th of the window). */
static void flow(struct an_engine *e, const char *ue, const char *dst, uint16_t port, int w, int i,
                 uint8_t proto, uint8_t outcome)
{
    struct an_flow f;
    memset(&f, 0, sizeof(f));
    f.ts = T0 + 60.0 * w + (double)(i % 5000) * 0.01;
    f.orig = ip(ue);
    f.resp = ip(dst);
    f.orig_port = (uint16_t)(40000 + i % 20000);
    f.resp_port = port;
    f.proto = proto;
    f.outcome = outcome;
    f.orig_pkts = f.resp_pkts = 2;
    f.orig_bytes = f.resp_bytes = 100;
    f.duration = 0.1;
    assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
}

static int count(enum an_exception x, enum an_source src)
{
    int n = 0;
    for (int i = 0; i < seen.n; i++)
        n += seen.f[i].exc == x && seen.f[i].source == src;
    return n;
}

static int count_exc(enum an_exception x)
{
    int n = 0;
    for (int i = 0; i < seen.n; i++)
        n += seen.f[i].exc == x;
    return n;
}

static void test_quiet_meter(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.1", "imsi-001010000000001", 1);
    for (int w = 0; w < 60; w++) {
        flow(e, "10.0.0.1", "198.51.100.1", 5684, w, 0, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
        if (w % 10 == 0)
            flow(e, "10.0.0.1", "192.0.2.123", 123, w, 1, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    }
    an_engine_flush(e);
    assert_int_equal(seen.windows, 60);
    assert_int_equal(seen.flagged, 0);
    assert_int_equal(seen.n, 0);
    an_engine_free(e);
}

static void test_scanner(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.2", "scanner", 0);
    char dst[32];
    for (int i = 0; i < 200; i++) {
        snprintf(dst, sizeof(dst), "100.64.%d.%d", i / 250, i % 250 + 1);
        flow(e, "10.0.0.2", dst, 23, 0, i, AN_PROTO_TCP, AN_OUT_FAILED);
    }
    an_engine_flush(e);
    assert_int_equal(count(AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, AN_SRC_RULE), 1);
    assert_int_equal(count_exc(AN_EXC_WRONG_DESTINATION_ADDRESS), 0); /* a scan, not a C&C */
    assert_int_equal(seen.flagged, 1);
    an_engine_free(e);
}

static void test_flooding_bot(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.3", "bot", 0);
    for (int i = 0; i < 150; i++) {
        flow(e, "10.0.0.3", "203.0.113.10", 80, 0, i, AN_PROTO_UDP, AN_OUT_NOREPLY);
        if (i % 10 == 0) /* some other traffic does not hide it */
            flow(e, "10.0.0.3", "198.51.100.1", 443, 0, i + 1, AN_PROTO_TCP, AN_OUT_ESTABLISHED);
    }
    an_engine_flush(e);
    assert_int_equal(count(AN_EXC_SUSPICION_OF_DDOS_ATTACK, AN_SRC_RULE), 1);
    const struct an_finding *f = &seen.f[0];
    assert_true(f->has_addr);
    char text[64];
    an_addr_format(&f->addr, text, sizeof(text));
    assert_string_equal(text, "203.0.113.10");
    assert_int_equal(f->port, 80);
    assert_true(f->ratio >= 85 && f->ratio <= 100);
    /* unanswered and identical: two independent signals, the policy's bar for isolation */
    assert_int_equal(f->ev.signals, AN_EV_UNANSWERED | AN_EV_IDENTICAL);
    assert_int_equal(f->confidence, 90);
    assert_true(f->ev.top_flows >= 140);
    assert_int_equal(f->ev.top_unanswered, f->ev.top_flows);
    char *json = an_finding_json(f);
    assert_non_null(strstr(json, "\"signals\":[\"unanswered\",\"identical_requests\"]"));
    free(json);
    an_engine_free(e);
}

/* An app polling a hub 3,000 times in a window, every connection answered: use, not abuse. */
static void test_polling_is_not_a_flood(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.3", "app", 0);
    for (int i = 0; i < 3000; i++)
        flow(e, "10.0.0.3", "10.0.0.200", 80, 0, i, AN_PROTO_TCP, AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    assert_int_equal(seen.n, 0);
    assert_int_equal(seen.flagged, 0);
    an_engine_free(e);
}

/* Raise at 3 failed openings, hold while the named destination is contacted, clear after a
 * window without evidence; 2 failures alone raise nothing. */
static void test_cnc_hysteresis(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.4", "beacon", 0);
    for (int i = 0; i < 2; i++)
        flow(e, "10.0.0.4", "185.244.25.235", 6667, 0, i, AN_PROTO_TCP, AN_OUT_FAILED);
    for (int i = 0; i < 3; i++)
        flow(e, "10.0.0.4", "185.244.25.235", 6667, 1, i, AN_PROTO_TCP, AN_OUT_FAILED);
    flow(e, "10.0.0.4", "185.244.25.235", 6667, 2, 0, AN_PROTO_TCP, AN_OUT_ESTABLISHED);
    flow(e, "10.0.0.4", "192.0.2.123", 123, 3, 0, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    assert_int_equal(seen.windows, 4);
    assert_int_equal(seen.flagged, 2); /* windows 1 (raised) and 2 (held) */
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.f[0].exc, AN_EXC_WRONG_DESTINATION_ADDRESS);
    assert_int_equal(seen.f[0].window, (int64_t)(T0 / 60) + 1);
    assert_true(seen.f[0].has_addr);
    assert_int_equal(seen.f[0].confidence, 70); /* one signal: notify-level */
    assert_int_equal(seen.f[0].ev.signals, AN_EV_FAILED);
    assert_int_equal(seen.f[0].trend, AN_TREND_UP);
    assert_int_equal(seen.f[1].window, (int64_t)(T0 / 60) + 2);
    assert_int_equal(seen.f[1].confidence, 50); /* held, not raised */
    char *json = an_finding_json(&seen.f[0]);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"wrgDest\":{\"ipv4Addrs\":[\"185.244.25.235\"]}"));
    free(json);
    an_engine_free(e);
}

static void need_two(struct an_config *c)
{
    c->raise_windows = 2;
    c->clear_windows = 2;
}

static void test_consecutive_windows(void **state)
{
    (void)state;
    struct an_engine *e = engine(need_two);
    bind_ue(e, "10.0.0.5", "beacon2", 0);
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 3; i++)
            flow(e, "10.0.0.5", "66.85.157.90", 443, w, i, AN_PROTO_TCP, AN_OUT_FAILED);
    for (int w = 2; w < 5; w++)
        flow(e, "10.0.0.5", "192.0.2.123", 123, w, 0, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    /* Window 0: one window at the high mark is not enough; 1: raised; 2: quiet 1 of 2,
     * still up; 3: cleared. */
    assert_int_equal(seen.windows, 5);
    assert_int_equal(seen.flagged, 2);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.f[0].window, (int64_t)(T0 / 60) + 1);
    an_engine_free(e);
}

static void test_fleet_odd_member(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    char ue[32], id[32], dst[32];
    for (int d = 0; d < 20; d++) {
        snprintf(ue, sizeof(ue), "10.1.0.%d", d + 1);
        snprintf(id, sizeof(id), "meter-%d", d);
        bind_ue(e, ue, id, 7);
    }
    for (int w = 0; w < 3; w++)
        for (int d = 0; d < 20; d++) {
            snprintf(ue, sizeof(ue), "10.1.0.%d", d + 1);
            int n = (d == 13 && w == 2) ? 80 : 2;
            for (int i = 0; i < n; i++) {
                snprintf(dst, sizeof(dst), "198.51.100.%d", d == 13 && w == 2 ? i % 40 + 1 : 1);
                flow(e, ue, dst, 5684, w, i, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
            }
        }
    an_engine_flush(e);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.f[0].exc, AN_EXC_TOO_FREQUENT_SERVICE_ACCESS);
    assert_int_equal(seen.f[0].source, AN_SRC_PEERS);
    assert_int_equal(seen.f[0].window, (int64_t)(T0 / 60) + 2);
    uint8_t odd[16];
    an_pseudonym(key, sizeof(key), "meter-13", odd);
    assert_memory_equal(seen.f[0].device, odd, 16);
    an_engine_free(e);
}

/* Ten devices at 30 flows each to one victim: each is below the per-device flood rule,
 * together they are a DDoS, and the finding names the victim. */
static void test_botnet_converges(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    char ue[32], id[32];
    for (int d = 0; d < 12; d++) {
        snprintf(ue, sizeof(ue), "10.2.0.%d", d + 1);
        snprintf(id, sizeof(id), "cam-%d", d);
        bind_ue(e, ue, id, 3);
    }
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 12; d++) {
            snprintf(ue, sizeof(ue), "10.2.0.%d", d + 1);
            bool bot = d < 10 && w == 1;
            for (int i = 0; i < (bot ? 30 : 2); i++)
                flow(e, ue, bot ? "203.0.113.77" : "198.51.100.9", bot ? 80 : 443, w, i,
                     AN_PROTO_TCP, AN_OUT_ESTABLISHED);
        }
    an_engine_flush(e);
    assert_int_equal(count(AN_EXC_SUSPICION_OF_DDOS_ATTACK, AN_SRC_FLEET), 10);
    assert_int_equal(count(AN_EXC_SUSPICION_OF_DDOS_ATTACK, AN_SRC_RULE), 0);
    for (int i = 0; i < seen.n; i++) {
        if (seen.f[i].exc != AN_EXC_SUSPICION_OF_DDOS_ATTACK)
            continue;
        char text[64];
        an_addr_format(&seen.f[i].addr, text, sizeof(text));
        assert_string_equal(text, "203.0.113.77");
        assert_int_equal(seen.f[i].window, (int64_t)(T0 / 60) + 1);
    }
    an_engine_free(e);
}

static void test_own_baseline(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.6", "tracker", 0);
    for (int w = 0; w < 40; w++)
        for (int i = 0; i < 2 + w % 2; i++)
            flow(e, "10.0.0.6", "198.51.100.5", 5683, w, i, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    assert_int_equal(seen.n, 0);
    for (int i = 0; i < 80; i++) /* 80 > ~2.5 + max(10 MADs, 50) */
        flow(e, "10.0.0.6", i % 2 ? "198.51.100.5" : "198.51.100.6", 5683, 40, i, AN_PROTO_UDP,
             AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    assert_int_equal(count(AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, AN_SRC_BASELINE), 1);
    assert_int_equal(seen.n, 1);
    an_engine_free(e);
}

/* The window clock: a record of a later window closes the open one; an older record is
 * counted into the open window; a long gap clears alarms. */
static void test_window_rollover(void **state)
{
    (void)state;
    struct an_engine *e = engine(NULL);
    bind_ue(e, "10.0.0.7", "clock", 0);
    for (int i = 0; i < 3; i++)
        flow(e, "10.0.0.7", "1.2.3.4", 50, 0, i, AN_PROTO_TCP, AN_OUT_FAILED);
    assert_int_equal(seen.windows, 0);
    flow(e, "10.0.0.7", "192.0.2.1", 53, 1, 0, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    assert_int_equal(seen.windows, 1); /* window 0 closed, flagged */
    assert_int_equal(seen.flagged, 1);
    struct an_flow late;
    memset(&late, 0, sizeof(late));
    late.ts = T0 + 5;
    late.orig = ip("10.0.0.7");
    late.resp = ip("192.0.2.1");
    late.proto = AN_PROTO_UDP;
    struct an_placement p;
    assert_int_equal(an_engine_ingest(e, &late, &p), IOTSEC_OK);
    assert_int_equal(p.window, (int64_t)(T0 / 60) + 1);
    assert_true(p.outbound);
    flow(e, "10.0.0.7", "192.0.2.1", 53, 30, 0, AN_PROTO_UDP, AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    struct an_stats st;
    an_engine_stats(e, &st);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.records, 6);
    assert_int_equal(seen.windows, 3);
    assert_int_equal(seen.flagged, 1); /* window 1 had no evidence: cleared, and 30 too */
    assert_int_equal(seen.last_window, (int64_t)(T0 / 60) + 30);
    /* Bad timestamps and unknown devices. */
    late.ts = -1;
    assert_int_equal(an_engine_ingest(e, &late, NULL), IOTSEC_ERR_INVALID);
    late.ts = T0 + 60 * 31;
    late.orig = ip("11.0.0.1");
    late.resp = ip("8.8.8.8");
    assert_int_equal(an_engine_ingest(e, &late, NULL), AN_NO_DEVICE);
    an_engine_free(e);
}

static void tiny(struct an_config *c)
{
    c->max_devices = 2;
}

static void test_limits_and_config(void **state)
{
    (void)state;
    struct an_engine *e = engine(tiny);
    bind_ue(e, "10.0.0.1", "a", 0);
    bind_ue(e, "10.0.0.2", "b", 0);
    struct an_addr a = ip("10.0.0.3");
    assert_int_equal(an_engine_bind(e, &a, "c", 0), IOTSEC_ERR_BUSY);
    assert_int_equal(an_engine_bind(e, &a, "", 0), IOTSEC_ERR_INVALID);
    an_engine_free(e);
    struct an_config c;
    an_config_default(&c);
    assert_null(an_engine_new(&c, key, 8)); /* short key */
    c.window_s = 0;
    assert_null(an_engine_new(&c, key, sizeof(key)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_meter),       cmocka_unit_test(test_scanner),
        cmocka_unit_test(test_flooding_bot),      cmocka_unit_test(test_polling_is_not_a_flood),
        cmocka_unit_test(test_cnc_hysteresis),    cmocka_unit_test(test_consecutive_windows),
        cmocka_unit_test(test_fleet_odd_member),  cmocka_unit_test(test_botnet_converges),
        cmocka_unit_test(test_own_baseline),      cmocka_unit_test(test_window_rollover),
        cmocka_unit_test(test_limits_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
