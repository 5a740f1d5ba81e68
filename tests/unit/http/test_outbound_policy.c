/* The outbound destination policy, as tables: every refused range (IPv4, IPv6, and the IPv6
 * forms that carry an IPv4 address) judged on the address; allow-lists with prefixes and
 * ports; URLs refused for their syntax (scheme, credentials, zone ids) and for what their
 * host resolves to (IP literals in decimal, octal and hex forms, localhost, a name that only
 * starts with 127.). No network is used: every name here resolves locally or not at all. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/outbound.h"

/* Judges addr on port over https (or http) under rules; *why on refusal. */
static bool judge(const struct outbound_rules *rules, const char *addr, uint16_t port, bool https,
                  const char **why)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, addr, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
    }
    *why = NULL;
    return outbound_addr_allowed(rules, (struct sockaddr *)&ss, port, https, why);
}

static void every_range_refused(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *word; /* word: in the refusal; NULL: allowed */
    } table[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"10.0.0.1", "private"},
        {"10.255.255.255", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"172.15.255.255", NULL},
        {"192.168.1.1", "private"},
        {"192.169.0.1", NULL},
        {"100.64.0.1", "CGNAT"},
        {"100.127.255.255", "CGNAT"},
        {"100.128.0.1", NULL},
        {"169.254.169.254", "link-local"},
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"240.0.0.1", "reserved"},
        {"255.255.255.255", "broadcast"},
        {"8.8.8.8", NULL},
        {"203.0.113.5", NULL},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"fe80::1", "link-local"},
        {"febf::1", "link-local"},
        {"fc00::1", "private"},
        {"fd12:3456::1", "private"},
        {"fec0::1", "private"},
        {"ff02::1", "multicast"},
        {"ff0e::1", "multicast"},
        {"2001:4860:4860::8888", NULL},
        /* IPv4-mapped: judged as the IPv4 address they carry */
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.0.0.1", "private"},
        {"::ffff:172.16.0.1", "private"},
        {"::ffff:192.168.0.1", "private"},
        {"::ffff:100.64.0.1", "CGNAT"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:0.0.0.0", "unspecified"},
        {"::ffff:224.0.0.1", "multicast"},
        {"::ffff:255.255.255.255", "broadcast"},
        {"::ffff:8.8.8.8", NULL},
        /* NAT64 and the deprecated IPv4-compatible form, likewise */
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"64:ff9b::808:808", NULL},
        {"::7f00:1", "loopback"},
        {"::a00:1", "private"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const char *why;
        bool ok = judge(NULL, table[i].addr, 443, true, &why);
        if (ok != (table[i].word == NULL) || (!ok && strstr(why, table[i].word) == NULL))
            fail_msg("%s: %s (%s)", table[i].addr, ok ? "allowed" : "refused", ok ? "" : why);
    }
}

static void allow_lists(void **state)
{
    (void)state;
    struct outbound_rules r = {0};
    const char *why;
    assert_int_equal(outbound_allow_parse("127.0.0.0/8, 10.1.0.0/16:8443,[fd00::1]:443,"
                                          "fe80::/10,::ffff:192.168.0.0/112",
                                          &r, &why),
                     IOTSEC_OK);
    assert_int_equal(r.n_allow, 5);
    assert_true(judge(&r, "127.0.0.1", 1, true, &why));
    assert_true(judge(&r, "127.9.9.9", 65535, true, &why));
    assert_true(judge(&r, "::ffff:127.0.0.1", 443, true, &why)); /* mapped: the same host */
    assert_false(judge(&r, "::1", 443, true, &why));             /* not listed */
    assert_true(judge(&r, "10.1.2.3", 8443, true, &why));
    assert_false(judge(&r, "10.1.2.3", 443, true, &why));  /* wrong port */
    assert_false(judge(&r, "10.2.0.1", 8443, true, &why)); /* outside the prefix */
    assert_true(judge(&r, "fd00::1", 443, true, &why));
    assert_false(judge(&r, "fd00::2", 443, true, &why));
    assert_false(judge(&r, "fd00::1", 8443, true, &why));
    assert_true(judge(&r, "fe80::abcd", 8443, true, &why));
    assert_true(judge(&r, "192.168.1.7", 443, true, &why)); /* mapped /112 = IPv4 /16 */
    assert_false(judge(&r, "172.16.0.7", 443, true, &why));
    assert_false(judge(&r, "169.254.169.254", 443, true, &why));
    /* an allow-list never makes plain http acceptable */
    assert_false(judge(&r, "10.1.2.3", 8443, false, &why));
    /* canonical text, read back the same */
    char text[OUTBOUND_ALLOW_TEXT];
    outbound_allow_format(&r, text, sizeof(text));
    assert_string_equal(text, "127.0.0.0/8,10.1.0.0/16:8443,[fd00::1]/128:443,[fe80::]/10,"
                              "192.168.0.0/16");
    struct outbound_rules back = {0};
    assert_int_equal(outbound_allow_parse(text, &back, &why), IOTSEC_OK);
    assert_memory_equal(&back, &r, sizeof(r));
    /* host bits are cleared */
    struct outbound_rules h = {0};
    assert_int_equal(outbound_allow_parse("10.1.2.3/8", &h, &why), IOTSEC_OK);
    outbound_allow_format(&h, text, sizeof(text));
    assert_string_equal(text, "10.0.0.0/8");
    assert_int_equal(outbound_allow_parse("", &h, &why), IOTSEC_OK);
    assert_int_equal(h.n_allow, 1);
    static const char *const bad[] = {
        "10.0.0.1/33",   "10.0.0.1:0",         "10.0.0.1:70000", "[::1]:x",
        "010.0.0.1",     "0x7f.0.0.1",         "2130706433",     "host.example",
        "[::1",          "[::1]/129",          "10.0.0.1/",      "10.0.0.1/8:",
        "10.0.0.1:443x", "::ffff:10.0.0.0/95",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct outbound_rules b = {0};
        if (outbound_allow_parse(bad[i], &b, &why) != IOTSEC_ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
    }
    struct outbound_rules full = {0};
    assert_int_equal(outbound_allow_parse("1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6,"
                                          "1.0.0.7,1.0.0.8,1.0.0.9,1.0.0.10,1.0.0.11,1.0.0.12,"
                                          "1.0.0.13,1.0.0.14,1.0.0.15,1.0.0.16,1.0.0.17",
                                          &full, &why),
                     IOTSEC_ERR_INVALID);
}

/* The lab switch is about addresses: plain http to 127.0.0.0/8 and ::1 only. */
static void lab_switch(void **state)
{
    (void)state;
    struct outbound_rules lab = {.http_loopback = true};
    const char *why;
    assert_true(judge(&lab, "127.0.0.1", 80, false, &why));
    assert_true(judge(&lab, "127.200.0.1", 80, false, &why));
    assert_true(judge(&lab, "::1", 80, false, &why));
    assert_false(judge(&lab, "10.0.0.1", 80, false, &why));
    assert_false(judge(&lab, "8.8.8.8", 80, false, &why));
    assert_non_null(strstr(why, "http"));
    assert_false(judge(NULL, "127.0.0.1", 80, false, &why)); /* no switch: no http at all */
    /* the switch is for http: https to loopback still needs the allow-list */
    assert_false(judge(&lab, "127.0.0.1", 443, true, &why));
}

static void url_syntax(void **state)
{
    (void)state;
    struct outbound_rules lab = {.http_loopback = true};
    struct outbound_target t;
    const char *why;
    assert_int_equal(outbound_url_parse("https://af.example:8443/n?x=1", NULL, &t, &why),
                     IOTSEC_OK);
    assert_string_equal(t.host, "af.example");
    assert_int_equal(t.port, 8443);
    assert_true(t.https);
    assert_int_equal(outbound_url_parse("https://[2001:db8::1]/n", NULL, &t, &why), IOTSEC_OK);
    assert_string_equal(t.host, "2001:db8::1");
    assert_int_equal(t.port, 443);
    assert_int_equal(outbound_url_parse("http://127.attacker.example/", &lab, &t, &why),
                     IOTSEC_OK); /* syntax only: its addresses decide (url_checks) */
    static const struct {
        const char *url, *word;
    } bad[] = {
        {"http://af.example/n", "http"},
        {"http://127.0.0.1/n", "http"},
        {"https://user:pass@af.example/n", "credentials"},
        {"https://user@af.example/n", "credentials"},
        {"https://:pass@af.example/n", "credentials"},
        {"https://af.example@127.0.0.1/n", "credentials"},
        {"https://[fe80::1%25eth0]/n", "zone"},
        {"ftp://af.example/n", "https"},
        {"file:///etc/passwd", "https"},
        {"gopher://af.example/", "https"},
        {"https:///n", "https"},
        {"not a url", "https"},
        {"https://af.example:99999/", "https"},
        {"https://af.example/a b", "https"},
        {"", "https"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (outbound_url_parse(bad[i].url, NULL, &t, &why) != IOTSEC_ERR_INVALID ||
            strstr(why, bad[i].word) == NULL)
            fail_msg("%s: %s", bad[i].url, why ? why : "accepted");
    }
    assert_int_equal(outbound_url_parse("https://u:p@af.example/", &lab, &t, &why),
                     IOTSEC_ERR_INVALID);
}

/* Registration checks: the host is resolved and every address judged. */
static void url_checks(void **state)
{
    (void)state;
    struct outbound_rules none = {0}, lab = {.http_loopback = true}, lo = {0}, lo_port = {0},
                          both = {0};
    const char *why;
    assert_int_equal(outbound_allow_parse("127.0.0.0/8", &lo, &why), IOTSEC_OK);
    assert_int_equal(outbound_allow_parse("127.0.0.1:8443", &lo_port, &why), IOTSEC_OK);
    assert_int_equal(outbound_allow_parse("127.0.0.0/8,::1", &both, &why), IOTSEC_OK);
    const struct {
        const char *url;
        const struct outbound_rules *rules;
        bool ok;
    } table[] = {
        {"https://8.8.8.8/n", &none, true},
        {"https://[2001:4860:4860::8888]/n", &none, true},
        {"https://127.0.0.1:8443/n", &none, false},
        {"https://127.0.0.1:8443/n", &lo, true},
        {"https://127.0.0.1:8443/n", &lo_port, true},
        {"https://127.0.0.1:9443/n", &lo_port, false},
        {"https://[::1]/n", &none, false},
        {"https://[::1]/n", &lo, false},
        {"https://[::ffff:127.0.0.1]/n", &none, false},
        {"https://[::ffff:7f00:1]/n", &none, false},
        {"https://[::ffff:a9fe:a9fe]/latest/meta-data", &none, false},
        {"https://169.254.169.254/latest/meta-data", &none, false},
        {"https://10.0.0.1/n", &none, false},
        {"https://100.64.0.1/n", &none, false},
        {"https://0.0.0.0/n", &none, false},
        {"https://[::]/n", &none, false},
        {"https://224.0.0.1/n", &none, false},
        {"https://255.255.255.255/n", &none, false},
        /* other spellings of 127.0.0.1: the address decides */
        {"https://2130706433/n", &none, false},
        {"https://2130706433/n", &lo, true},
        {"https://0x7f.1/n", &none, false},
        {"https://0x7f.1/n", &lo, true},
        {"https://0177.0.0.1/n", &none, false},
        {"https://017700000001/n", &none, false},
        {"https://127.1/n", &none, false},
        {"https://0x7f000001/n", &none, false},
        /* names: every address they resolve to */
        {"https://localhost:8443/n", &none, false},
        {"https://localhost:8443/n", &both, true},
        {"http://localhost:8080/n", &lab, true},
        {"http://127.0.0.1:8080/n", &lab, true},
        {"http://127.attacker.example/n", &lab, false},
        {"http://10.0.0.1/n", &lab, false},
        {"https://127.0.0.1/n", &lab, false},
        {"https://user:pass@8.8.8.8/n", &none, false},
        {"https://name.invalid/n", &none, false},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int rc = outbound_url_check(table[i].url, table[i].rules, &why);
        if ((rc == IOTSEC_OK) != table[i].ok)
            fail_msg("%s: %s", table[i].url, rc == IOTSEC_OK ? "allowed" : why);
        if (rc != IOTSEC_OK)
            assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_range_refused), cmocka_unit_test(allow_lists),
        cmocka_unit_test(lab_switch),          cmocka_unit_test(url_syntax),
        cmocka_unit_test(url_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
