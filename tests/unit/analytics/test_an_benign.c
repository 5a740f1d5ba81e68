/* Knowing what a device is for: MUD files (strict parsing, JSON paths in errors), flows judged
 * against them by the names the device resolved, and the benign suite: a generated network of
 * healthy devices doing what naive detectors take for attacks (a cloud outage retried by a
 * whole fleet, an app polling its hub 3,000 times, NTP pools with dead servers, SSDP bursts,
 * firmware downloads, DHCP renewals) must raise nothing at quarantine level and findings in
 * at most 2% of its windows, while a bot among them is still caught and isolated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analytics/analytics.h"
#include "analytics/mud.h"
#include "base/err.h"
#include "benign_gen.h"
#include "policy/policy.h"

static const uint8_t key[32] = "test key for the analytics tests";

/* ---- MUD parsing ---- */

static void test_mud_parses(void **state)
{
    (void)state;
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    const char *doc = benign_mud_plugx();
    assert_int_equal(an_mud_parse(doc, strlen(doc), m, err, sizeof(err)), IOTSEC_OK);
    assert_string_equal(m->url, "https://plugx.example/mud/p1");
    assert_string_equal(m->authority, "plugx.example");
    assert_int_equal(m->n, 7);
    assert_int_equal(m->rule[0].kind, AN_MUD_DNSNAME);
    assert_string_equal(m->rule[0].name, "cloud.plugx.example");
    assert_int_equal(m->rule[0].proto, AN_PROTO_TCP);
    assert_int_equal(m->rule[0].rport_lo, 443);
    assert_int_equal(m->rule[0].rport_hi, 443);
    assert_int_equal(m->rule[0].initiated, 1);
    assert_int_equal(m->rule[1].rport_lo, 8443);
    assert_int_equal(m->rule[3].kind, AN_MUD_NETWORK);
    assert_int_equal(m->rule[4].kind, AN_MUD_LOCAL);
    assert_int_equal(m->rule[6].from_device, 0); /* the to-device ACL */
    free(m);
}

/* Each bad file is refused with the JSON path of what is wrong. */
static void test_mud_refuses_with_path(void **state)
{
    (void)state;
    const char *good = benign_mud_plugx();
    static const struct {
        const char *from, *to, *path;
    } cases[] = {
        {"\"mud-version\":1", "\"mud-version\":2", "/ietf-mud:mud/mud-version: "},
        {"https://plugx.example/mud/p1", "http://plugx.example/mud/p1", "/ietf-mud:mud/mud-url: "},
        {"\"port\":443}}}", "\"port\":70000}}}",
         "/ietf-access-control-list:acls/acl/0/aces/ace/0/matches/tcp/destination-port/port: "},
        {"\"forwarding\":\"accept\"}},{\"name\":\"cloud8443\"",
         "\"forwarding\":\"drop\"}},{\"name\":\"cloud8443\"",
         "/ietf-access-control-list:acls/acl/0/aces/ace/0/actions: "},
        {"\"name\":\"fr\"}]", "\"name\":\"nope\"}]",
         "/ietf-mud:mud/from-device-policy/access-lists/access-list/0: no ACL named"},
        {"\"protocol\":17},\"udp\"", "\"protocol\":17,\"ttl\":3},\"udp\"",
         "/ietf-access-control-list:acls/acl/0/aces/ace/2/matches/ipv4/ttl: unknown member"},
        {"\"ietf-acldns:dst-dnsname\":\"cloud.plugx.example\",\"protocol\":6},\"tcp\":{\"ietf",
         "\"ietf-acldns:dst-dnsname\":\"cloud..example\",\"protocol\":6},\"tcp\":{\"ietf",
         "/ietf-access-control-list:acls/acl/0/aces/ace/0/matches/ipv4/"
         "ietf-acldns:dst-dnsname: not a DNS name"},
        {"\"ietf-acldns:src-dnsname\"", "\"ietf-acldns:dst-dnsname\"",
         "/ietf-access-control-list:acls/acl/1/aces/ace/0/matches/ipv4/"
         "ietf-acldns:dst-dnsname: the dst end of a to-device ACL is the device itself"},
        {"\"is-supported\":true", "\"is-supported\":\"yes\"", "/ietf-mud:mud/is-supported: "},
    };
    struct an_mud *m = malloc(sizeof(*m));
    char err[256], doc[8192];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *at = strstr(good, cases[i].from);
        assert_non_null(at);
        int n = snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - good), good, cases[i].to,
                         at + strlen(cases[i].from));
        assert_int_equal(an_mud_parse(doc, (size_t)n, m, err, sizeof(err)), IOTSEC_ERR_INVALID);
        if (strncmp(err, cases[i].path, strlen(cases[i].path)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].path);
    }
    assert_int_equal(an_mud_parse("[]", 2, m, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_int_equal(an_mud_parse("{", 1, m, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_int_equal(an_mud_parse("{}", 2, m, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_string_equal(err, "/ietf-mud:mud: required, an object");
    free(m);
}

/* ---- MUD in the engine ---- */

static struct {
    struct an_finding f[64];
    int n;
} seen;

static void on_finding(void *arg, const struct an_finding *f)
{
    (void)arg;
    if (seen.n < 64)
        seen.f[seen.n++] = *f;
}

static struct an_addr ip(const char *s)
{
    struct an_addr a;
    assert_int_equal(an_addr_parse(s, strlen(s), &a), IOTSEC_OK);
    return a;
}

static void tcp(struct an_engine *e, double ts, const char *src, const char *dst, uint16_t port,
                uint8_t outcome)
{
    struct an_flow f = {.ts = ts,
                        .orig = ip(src),
                        .resp = ip(dst),
                        .orig_port = 40000,
                        .resp_port = port,
                        .proto = AN_PROTO_TCP,
                        .outcome = outcome,
                        .orig_pkts = 3,
                        .resp_pkts = 3,
                        .orig_bytes = 300,
                        .resp_bytes = 900};
    assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
}

/* Inside the MUD (by the name the device resolved) is expected, failing or not; outside it
 * is WRONG_DESTINATION_ADDRESS naming the destination, with "outside_mud" as its evidence. */
static void test_mud_judges_flows(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    an_engine_set_callbacks(e, on_finding, NULL, NULL);
    memset(&seen, 0, sizeof(seen));
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    const char *doc = benign_mud_plugx();
    assert_int_equal(an_mud_parse(doc, strlen(doc), m, err, sizeof(err)), IOTSEC_OK);
    uint32_t g = an_group_number("plug-x");
    assert_int_equal(an_engine_set_mud(e, g, m), IOTSEC_OK);
    struct an_addr dev = ip("10.20.0.10"), cloud = ip("198.51.100.10");
    assert_int_equal(an_engine_bind(e, &dev, "imsi-001010000000010", g), IOTSEC_OK);
    double t = BENIGN_T0;
    uint32_t ttl = 300;
    /* the cloud resolved (mixed case and a trailing dot are the same name) */
    assert_int_equal(an_engine_dns(e, &dev, "Cloud.PlugX.example.", &cloud, &ttl, 1, t), IOTSEC_OK);
    /* window 0: the cloud, answered and failing (an outage, not a C&C) */
    for (int i = 0; i < 10; i++)
        tcp(e, t + i, "10.20.0.10", "198.51.100.10", 443,
            i % 2 ? AN_OUT_FAILED : AN_OUT_ESTABLISHED);
    /* window 1: the same address on a port the MUD does not permit, three times */
    for (int i = 0; i < 3; i++)
        tcp(e, t + 60 + i, "10.20.0.10", "198.51.100.10", 22, AN_OUT_ESTABLISHED);
    /* window 2: past the TTL and the grace, the cloud's address is nobody's */
    for (int i = 0; i < 3; i++)
        tcp(e, t + 300 + 600 + 60 + i, "10.20.0.10", "198.51.100.10", 443, AN_OUT_ESTABLISHED);
    an_engine_flush(e);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.f[0].exc, AN_EXC_WRONG_DESTINATION_ADDRESS);
    assert_int_equal(seen.f[0].window, (int64_t)(t / 60) + 1);
    assert_int_equal(seen.f[0].ev.signals, AN_EV_MUD);
    assert_int_equal(seen.f[0].ev.mud_out, 3);
    assert_true(seen.f[0].ev.mud);
    assert_true(seen.f[0].has_addr);
    assert_int_equal(seen.f[0].port, 22);
    assert_true(seen.f[0].confidence < 90); /* one signal: notify, not quarantine */
    assert_int_equal(seen.f[1].window, (int64_t)(t / 60) + 16);
    an_engine_free(e);
    free(m);
}

/* The DNS answers are bounded by time: once the table is full, the expired ones make room
 * before it grows. */
static void test_dns_answers_expire(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    c.dns_grace_s = 0;
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    struct an_addr dev = ip("10.20.0.10"), a[1];
    assert_int_equal(an_engine_bind(e, &dev, "imsi-001010000000010", 0), IOTSEC_OK);
    uint32_t ttl = 30;
    char text[32];
    struct an_stats st;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 700; i++) {
            snprintf(text, sizeof(text), "198.%d.%d.%d", 18 + round, i / 250, i % 250 + 1);
            a[0] = ip(text);
            assert_int_equal(an_engine_dns(e, &dev, "cloud.example", a, &ttl, 1,
                                           BENIGN_T0 + 120.0 * round + i * 0.01),
                             IOTSEC_OK);
        }
        an_engine_stats(e, &st);
        /* 700 live answers need 1024 slots; the second round's 700 replace the first's */
        assert_int_equal(st.dns_bytes, 1024 * 16);
    }
    assert_int_equal(an_engine_dns(e, &dev, "bad..name", a, &ttl, 1, BENIGN_T0), IOTSEC_ERR_INVALID);
    struct an_addr nobody = ip("192.168.77.1");
    assert_int_equal(an_engine_dns(e, &nobody, "x.example", a, &ttl, 1, BENIGN_T0), AN_NO_DEVICE);
    an_engine_free(e);
}

/* A device without MUD or peers: what it contacted, answered, in its learning period is
 * expected later; its cloud failing then is no C&C hunt. Unknown destinations failing are. */
static void test_learning_period(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    c.learn_windows = 5;
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    an_engine_set_callbacks(e, on_finding, NULL, NULL);
    memset(&seen, 0, sizeof(seen));
    struct an_addr dev = ip("10.20.0.25");
    assert_int_equal(an_engine_bind(e, &dev, "imsi-001010000000025", 0), IOTSEC_OK);
    double t = BENIGN_T0;
    for (int w = 0; w < 5; w++)
        tcp(e, t + 60 * w, "10.20.0.25", "198.51.100.40", 443, AN_OUT_ESTABLISHED);
    for (int i = 0; i < 5; i++) /* window 5: its learnt cloud fails */
        tcp(e, t + 300 + i, "10.20.0.25", "198.51.100.40", 443, AN_OUT_FAILED);
    for (int i = 0; i < 5; i++) /* window 6: an address it never had fails */
        tcp(e, t + 360 + i, "10.20.0.25", "203.0.113.99", 443, AN_OUT_FAILED);
    an_engine_flush(e);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.f[0].window, (int64_t)(t / 60) + 6);
    assert_int_equal(seen.f[0].ev.fail_expected, 0);
    an_engine_free(e);
}

/* A firmware download's acknowledgements are no large-rate flow; an uplink flood is. */
static void test_download_is_not_a_flood(void **state)
{
    (void)state;
    struct an_config c;
    an_config_default(&c);
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    an_engine_set_callbacks(e, on_finding, NULL, NULL);
    memset(&seen, 0, sizeof(seen));
    struct an_addr dev = ip("10.20.0.40");
    assert_int_equal(an_engine_bind(e, &dev, "cam", 0), IOTSEC_OK);
    struct an_flow f = {.ts = BENIGN_T0,
                        .duration = 25,
                        .orig = dev,
                        .resp = ip("203.0.113.51"),
                        .orig_port = 43000,
                        .resp_port = 443,
                        .proto = AN_PROTO_TCP,
                        .outcome = AN_OUT_ESTABLISHED,
                        .orig_pkts = 50000,
                        .resp_pkts = 70000,
                        .orig_bytes = 2600000,
                        .resp_bytes = 100000000};
    assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
    f.ts += 60;
    f.orig_bytes = 100000000, f.resp_bytes = 2600000; /* the same rate, sent */
    assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
    an_engine_flush(e);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.f[0].exc, AN_EXC_UNEXPECTED_LARGE_RATE_FLOW);
    assert_int_equal(seen.f[0].window, (int64_t)(BENIGN_T0 / 60) + 1);
    an_engine_free(e);
}

/* ---- the benign suite, through the evaluation ---- */

static unsigned decide(void *arg, const struct an_finding *f)
{
    return policy_decide(arg, f->exc, f->level, f->confidence);
}

static json_t *run_suite(unsigned windows, unsigned infect)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(benign_write(tmp, windows, 42, infect), 0);
    rewind(tmp);
    struct an_config c;
    an_config_default(&c);
    struct an_eval *ev = an_eval_new(&c);
    assert_non_null(ev);
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    const char *doc = benign_mud_plugx();
    assert_int_equal(an_mud_parse(doc, strlen(doc), m, err, sizeof(err)), IOTSEC_OK);
    unsigned n;
    const struct benign_device *d = benign_devices(&n);
    for (unsigned i = 0; i < n; i++) {
        struct an_addr a = ip(d[i].addr);
        assert_int_equal(an_eval_add_device(ev, &a, d[i].group, d[i].mud ? m : NULL), IOTSEC_OK);
    }
    free(m);
    static struct policy pol;
    static const char *names[POLICY_ACTION_COUNT];
    policy_default(&pol);
    for (int a = 0; a < POLICY_ACTION_COUNT; a++)
        names[a] = policy_action_name((enum policy_action)a);
    an_eval_set_policy(ev, decide, &pol, names, POLICY_ACTION_COUNT);
    assert_int_equal(an_eval_capture(ev, "benign", tmp, AN_FMT_JSONL), IOTSEC_OK);
    fclose(tmp);
    char *s = an_eval_json(ev);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    free(s);
    an_eval_free(ev);
    return o;
}

static void test_benign_suite(void **state)
{
    (void)state;
    json_t *o = run_suite(120, 0);
    json_t *dev = json_object_get(o, "devices");
    unsigned n;
    benign_devices(&n);
    /* judged per device: the router and resolver are not devices */
    assert_int_equal(json_integer_value(json_object_get(dev, "devices")), n);
    /* nothing at quarantine level, findings in at most 2% of the windows */
    json_t *would = json_object_get(dev, "policy_would");
    if (json_object_get(would, "quarantine")) {
        char *s = json_dumps(o, JSON_COMPACT);
        fail_msg("a benign device would be quarantined: %s", s);
    }
    double share = json_real_value(json_object_get(dev, "flagged_window_share"));
    if (share > 0.02) {
        char *s = json_dumps(dev, JSON_COMPACT);
        fail_msg("findings in %.3f of the windows: %s", share, s);
    }
    /* the cloud outage of plug-x is reported once per window as a fleet condition */
    assert_true(json_integer_value(json_object_get(dev, "fleet_conditions")) >= 25);
    json_decref(o);
}

/* The same network with one plug turned bot at window 80: caught within 3 windows and,
 * with two independent signals, isolated; nobody else is. */
static void test_bot_among_benign(void **state)
{
    (void)state;
    json_t *o = run_suite(100, 80);
    json_t *caps = json_object_get(o, "captures");
    json_t *per = json_object_get(json_array_get(caps, 0), "per_device");
    json_t *bot = json_object_get(per, BENIGN_INFECTED);
    assert_non_null(bot);
    json_int_t first = json_integer_value(json_object_get(bot, "first_flagged_window"));
    json_int_t w80 = (json_int_t)(BENIGN_T0 / 60) + 80;
    assert_true(first >= w80 && first <= w80 + 2);
    assert_true(json_integer_value(json_object_get(json_object_get(bot, "policy"), "quarantine")) >=
                1);
    json_t *q = json_object_get(json_object_get(json_object_get(o, "devices"), "policy_would"),
                                "quarantine");
    assert_int_equal(json_integer_value(json_object_get(q, "devices")), 1);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mud_parses),
        cmocka_unit_test(test_mud_refuses_with_path),
        cmocka_unit_test(test_mud_judges_flows),
        cmocka_unit_test(test_learning_period),
        cmocka_unit_test(test_dns_answers_expire),
        cmocka_unit_test(test_download_is_not_a_flood),
        cmocka_unit_test(test_benign_suite),
        cmocka_unit_test(test_bot_among_benign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
