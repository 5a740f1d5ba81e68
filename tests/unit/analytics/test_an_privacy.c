/* Privacy: pseudonyms (stable, keyed, rotatable), no raw address in a device's state once
 * its window closed, and findings that carry no UE address; and the finding's JSON shape
 * (TS 29.520 AbnormalBehaviour). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/an_int.h"
#include "base/err.h"

static const uint8_t key1[32] = "first pseudonym key, 32 bytes...";
static const uint8_t key2[32] = "second pseudonym key, rotated in";

static void test_pseudonym(void **state)
{
    (void)state;
    uint8_t a[16], b[16], c[16], d[16];
    an_pseudonym(key1, sizeof(key1), "imsi-001010000000001", a);
    an_pseudonym(key1, sizeof(key1), "imsi-001010000000001", b);
    an_pseudonym(key2, sizeof(key2), "imsi-001010000000001", c);
    an_pseudonym(key1, sizeof(key1), "imsi-001010000000002", d);
    assert_memory_equal(a, b, 16);
    assert_memory_not_equal(a, c, 16);
    assert_memory_not_equal(a, d, 16);
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
    return memmem(hay, n, needle, m) != NULL;
}

static struct an_flow flow_to(const char *ue, const char *dst, double ts)
{
    struct an_flow f;
    memset(&f, 0, sizeof(f));
    an_addr_parse(ue, strlen(ue), &f.orig);
    an_addr_parse(dst, strlen(dst), &f.resp);
    f.ts = ts;
    f.proto = AN_PROTO_TCP;
    f.outcome = AN_OUT_FAILED;
    f.resp_port = 6667;
    return f;
}

static void test_no_raw_address_after_window(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    struct an_engine *e = an_engine_new(&c, key1, sizeof(key1));
    assert_non_null(e);
    struct an_addr ue;
    assert_int_equal(an_addr_parse("10.9.8.7", 8, &ue), IOTSEC_OK);
    const char *imsi = "imsi-001010123456789";
    assert_int_equal(an_engine_bind(e, &ue, imsi, 0), IOTSEC_OK);
    const uint8_t ue_raw[4] = {10, 9, 8, 7}, dst_raw[4] = {203, 0, 113, 55};
    for (int i = 0; i < 5; i++) {
        struct an_flow f = flow_to("10.9.8.7", "203.0.113.55", 1700000040.0 + i);
        assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
    }
    const struct an_device *d = an_dev(e, 0);
    const struct an_cold *k = an_cold(e, 0);
    /* During the window the destination is there (for the finding)... */
    assert_true(contains(d, sizeof(*d), dst_raw, 4));
    assert_true(contains(k, sizeof(*k), dst_raw, 4)); /* the failed opening's, apart */
    an_engine_flush(e);
    /* ...and after it, neither address nor the identity is, only the pseudonym. */
    assert_false(contains(d, sizeof(*d), dst_raw, 4));
    assert_false(contains(d, sizeof(*d), ue_raw, 4));
    assert_false(contains(d, sizeof(*d), imsi, strlen(imsi)));
    assert_false(contains(k, sizeof(*k), dst_raw, 4));
    assert_false(contains(k, sizeof(*k), ue_raw, 4));
    assert_false(contains(k, sizeof(*k), imsi, strlen(imsi)));
    uint8_t p[16];
    an_pseudonym(key1, sizeof(key1), imsi, p);
    assert_memory_equal(k->pseudonym, p, 16);
    /* Unbinding forgets the address in the session table too. */
    assert_int_equal(an_engine_unbind(e, &ue), IOTSEC_OK);
    assert_false(contains(e->binds, e->bcap * sizeof(*e->binds), ue_raw, 4));
    assert_int_equal(an_engine_unbind(e, &ue), IOTSEC_ERR_NOTFOUND);
    an_engine_free(e);
}

static void test_rekey_carries_state(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    struct an_engine *e = an_engine_new(&c, key1, sizeof(key1));
    struct an_addr a, b;
    an_addr_parse("10.0.0.1", 8, &a);
    an_addr_parse("10.0.0.2", 8, &b);
    assert_int_equal(an_engine_bind(e, &a, "dev-a", 0), IOTSEC_OK);
    assert_int_equal(an_engine_bind(e, &b, "dev-b", 0), IOTSEC_OK);
    assert_int_equal(an_engine_rekey(e, key2, sizeof(key2)), IOTSEC_OK);
    assert_int_equal(an_engine_rekey(e, key2, 4), IOTSEC_ERR_INVALID);
    assert_int_equal(an_engine_bind(e, &a, "dev-a", 0), IOTSEC_OK); /* the next session */
    struct an_stats st;
    an_engine_stats(e, &st);
    assert_int_equal(st.devices, 2); /* the same device, not a new one */
    uint8_t got[16], want[16];
    assert_int_equal(an_engine_device_pseudonym(e, 0, got), IOTSEC_OK);
    an_pseudonym(key2, sizeof(key2), "dev-a", want);
    assert_memory_equal(got, want, 16);
    assert_int_equal(an_engine_device_pseudonym(e, 1, got), IOTSEC_OK);
    an_pseudonym(key1, sizeof(key1), "dev-b", want); /* not bound again: old name */
    assert_memory_equal(got, want, 16);
    assert_int_equal(an_engine_device_pseudonym(e, 2, got), IOTSEC_ERR_NOTFOUND);
    an_engine_free(e);
}

static const char *str_at(json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur =
            json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok)) : json_object_get(cur, tok);
    return json_string_value(cur);
}

static void test_finding_json_shape(void **state)
{
    (void)state;
    struct an_finding f;
    memset(&f, 0, sizeof(f));
    memset(f.device, 0xab, 16);
    f.window = 28333334;
    f.window_s = 60;
    f.exc = AN_EXC_SUSPICION_OF_DDOS_ATTACK;
    f.source = AN_SRC_FLEET;
    f.level = 3;
    f.trend = AN_TREND_UNKNOWN;
    f.ratio = 250; /* clamped to a SamplingRatio */
    f.confidence = 95;
    f.has_addr = true;
    an_addr_parse("2001:db8::77", 12, &f.addr);
    f.port = 80;
    f.proto = AN_PROTO_UDP;
    f.freq = 0.5;
    f.vol = 12345;
    char *s = an_finding_json(&f);
    assert_non_null(s);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(str_at(o, "device"), "abababababababababababababababab");
    assert_string_equal(str_at(o, "source"), "fleet");
    assert_string_equal(str_at(o, "start"), "2023-11-14T22:14:00Z");
    json_t *ab = json_object_get(o, "abnormalBehaviour");
    assert_string_equal(str_at(ab, "excep.excepId"), "SUSPICION_OF_DDOS_ATTACK");
    assert_string_equal(str_at(ab, "excep.excepTrend"), "UNKNOW"); /* the spec's spelling */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(ab, "excep"), "excepLevel")), 3);
    assert_int_equal(json_integer_value(json_object_get(ab, "ratio")), 100);
    assert_int_equal(json_integer_value(json_object_get(ab, "confidence")), 95);
    assert_null(json_object_get(ab, "supis")); /* never: the pseudonym stands in */
    assert_string_equal(str_at(ab, "addtMeasInfo.ddosAttack.ipv6Addrs.0"), "2001:db8::77");
    assert_string_equal(str_at(ab, "addtMeasInfo.unexpFlowTeps.0.ipTrafficFilter"),
                        "permit out 17 from 2001:db8::77 80 to assigned");
    json_t *circ =
        json_array_get(json_object_get(json_object_get(ab, "addtMeasInfo"), "circums"), 0);
    assert_true(json_is_real(json_object_get(circ, "freq")));
    assert_int_equal(json_integer_value(json_object_get(circ, "vol")), 12345);
    assert_string_equal(json_string_value(json_object_get(circ, "tm")), "2023-11-14T22:14:00Z");
    json_decref(o);
    free(s);
    for (int x = 0; x < AN_EXC_COUNT; x++) /* the nine TS 29.520 Exception IDs */
        assert_string_not_equal(an_exception_name((enum an_exception)x), "UNKNOWN");
    assert_string_equal(an_exception_name(AN_EXC_PING_PONG_ACROSS_CELLS), "PING_PONG_ACROSS_CELLS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pseudonym),
        cmocka_unit_test(test_no_raw_address_after_window),
        cmocka_unit_test(test_rekey_carries_state),
        cmocka_unit_test(test_finding_json_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
