/* The daemon's analytics instance without the daemon: the pseudonym key sealed at rest
 * (created 0600, reopened the same, refused when readable by others or tampered with), its
 * rotation (the SUPI link survives it), batches all or nothing, unmapped flows counted and
 * dropped, session stop unbinding, and the timer closing windows of replayed and of live
 * records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "analytics/an_service.h"
#include "analytics/analytics.h"
#include "analytics/mud.h"
#include "base/err.h"
#include "crypto/seal.h"

#define SUPI "imsi-001010000000042"

static const struct seal_kek kek = {.id = 1, .key = {9, 8, 7}};
static char dir[64], key_path[128];
static int findings;
static uint8_t last_device[16];
static char last_supi[80];
static char last_json[4096];

static void hook(void *arg, const struct an_finding *f, const char *supi, const char *json)
{
    (void)arg;
    snprintf(last_json, sizeof(last_json), "%s", json ? json : "");
    findings++;
    memcpy(last_device, f->device, 16);
    snprintf(last_supi, sizeof(last_supi), "%s", supi ? supi : "");
}

static struct analytics *open_instance(uint32_t rotate_s)
{
    struct analytics_options o = {.window_s = 60, .rotate_s = rotate_s, .key_path = key_path,
                                  .kek = &kek};
    char err[256];
    struct analytics *a = analytics_new(&o, err, sizeof(err));
    if (a)
        analytics_set_finding_hook(a, hook, NULL);
    return a;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/iotsec-an-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(key_path, sizeof(key_path), "%s/analytics.key", dir);
    findings = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A flood from 10.0.0.1 in the window starting at t: 150 flows to one victim. */
static void flood(struct analytics *a, double t)
{
    static char text[150 * 120];
    size_t n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "{\"ts\":%.1f,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.9\","
                              "\"proto\":\"udp\"}\n",
                              t + i * 0.1);
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, n, &r), IOTSEC_OK);
    assert_int_equal(r.counted, 150);
}

static double now_s(void)
{
    return (double)time(NULL);
}

static void test_key_sealed_and_reopened(void **state)
{
    (void)state;
    struct analytics *a = open_instance(0);
    assert_non_null(a);
    struct stat st;
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, "meters"), IOTSEC_OK);
    flood(a, 1700000040);
    analytics_tick(a, now_s() + 61); /* replayed records: the idle timer closes the window */
    assert_true(findings >= 1);
    assert_string_equal(last_supi, SUPI);
    uint8_t first[16];
    memcpy(first, last_device, 16);
    analytics_free(a);

    /* Reopened: the same key, so the same pseudonym. */
    findings = 0;
    a = open_instance(0);
    assert_non_null(a);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    flood(a, 1700000040);
    analytics_tick(a, now_s() + 61);
    assert_true(findings >= 1);
    assert_memory_equal(first, last_device, 16);
    char supi[80];
    assert_int_equal(analytics_supi_of(a, first, supi, sizeof(supi)), IOTSEC_OK);
    assert_string_equal(supi, SUPI);
    analytics_free(a);

    /* Readable by others: refused. Tampered: refused. */
    chmod(key_path, 0644);
    assert_null(open_instance(0));
    chmod(key_path, 0600);
    FILE *f = fopen(key_path, "r+");
    assert_non_null(f);
    fseek(f, -5, SEEK_END);
    fputc('0', f);
    fputc('0', f);
    fclose(f);
    assert_null(open_instance(0));
}

static void test_rotation_keeps_the_link(void **state)
{
    (void)state;
    struct analytics *a = open_instance(60);
    assert_non_null(a);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    flood(a, 1700000040);
    analytics_tick(a, now_s() + 61); /* closes the window and rotates the key */
    assert_true(findings >= 1);
    uint8_t before[16];
    memcpy(before, last_device, 16);
    /* Bound again under the new key: its findings carry a new pseudonym, still linked. */
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    findings = 0;
    flood(a, 1700000040 + 600);
    analytics_tick(a, now_s() + 100); /* before the next rotation (which drops epoch 1) */
    assert_true(findings >= 1);
    assert_memory_not_equal(before, last_device, 16);
    assert_string_equal(last_supi, SUPI);
    char supi[80];
    assert_int_equal(analytics_supi_of(a, before, supi, sizeof(supi)), IOTSEC_OK);
    analytics_free(a);
    /* The file holds epoch 2 now (the rotated key survives a restart). */
    FILE *f = fopen(key_path, "r");
    char line[64];
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_memory_equal(line, "iotsec-analytics-key 1 2 ", 25);
}

static void test_batches_and_mapping(void **state)
{
    (void)state;
    struct analytics *a = open_instance(0);
    assert_non_null(a);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    assert_int_equal(analytics_session(a, "bob", "10.0.0.2", true, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.999", true, NULL), IOTSEC_ERR_INVALID);
    const char *text = "{\"ts\":1700000000,\"src\":\"10.0.0.1\",\"dst\":\"192.0.2.1\"}\n"
                       "{\"ts\":1700000001,\"src\":\"10.9.9.9\",\"dst\":\"192.0.2.1\"}\r\n"
                       "\n";
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, strlen(text), &r), IOTSEC_OK);
    assert_int_equal(r.records, 2);
    assert_int_equal(r.counted, 1);
    assert_int_equal(r.unmapped, 1);
    const char *bad = "{\"ts\":1700000000,\"src\":\"10.0.0.1\",\"dst\":\"192.0.2.1\"}\n"
                      "{\"ts\":\"soon\",\"src\":\"10.0.0.1\",\"dst\":\"192.0.2.1\"}\n";
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, bad, strlen(bad), &r),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(r.bad_line, 2);
    assert_int_equal(r.counted, 0);
    /* Session stop: the address maps to nothing any more. */
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", false, NULL), IOTSEC_OK);
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, strlen(text), &r), IOTSEC_OK);
    assert_int_equal(r.unmapped, 2);
    /* Signalling of a SUPI, and of a bad one. */
    assert_int_equal(analytics_signal(a, SUPI, 1700000002, AN_SIG_RADIO_LINK_FAILURE, "t", "c"),
                     IOTSEC_OK);
    assert_int_equal(analytics_signal(a, "x", 1700000002, AN_SIG_RADIO_LINK_FAILURE, NULL, NULL),
                     IOTSEC_ERR_INVALID);
    analytics_free(a);
}

/* A batch carries the DNS answers its device received: flows to the name its group's MUD
 * permits are expected, the rest is outside the MUD. */
static void test_batch_dns_and_mud(void **state)
{
    (void)state;
    struct analytics *a = open_instance(0);
    assert_non_null(a);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, "plug-x"), IOTSEC_OK);
    const char *doc =
        "{\"ietf-mud:mud\":{\"mud-version\":1,\"mud-url\":\"https://plugx.example/m\","
        "\"last-update\":\"2026-01-01T00:00:00Z\",\"is-supported\":true,"
        "\"from-device-policy\":{\"access-lists\":{\"access-list\":[{\"name\":\"a\"}]}}},"
        "\"ietf-access-control-list:acls\":{\"acl\":[{\"name\":\"a\",\"aces\":{\"ace\":["
        "{\"name\":\"c\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":\"cloud.plugx."
        "example\"}},"
        "\"actions\":{\"forwarding\":\"accept\"}}]}}]}}";
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    assert_int_equal(an_mud_parse(doc, strlen(doc), m, err, sizeof(err)), IOTSEC_OK);
    assert_int_equal(analytics_group_mud(a, "plug-x", m), IOTSEC_OK);
    free(m);
    const char *text =
        "{\"ts\":1700000040,\"src\":\"10.0.0.1\",\"dns\":{\"query\":\"cloud.plugx.example\","
        "\"answers\":[\"198.51.100.7\"],\"ttls\":[300]}}\n"
        "{\"ts\":1700000041,\"src\":\"10.0.0.1\",\"dst\":\"198.51.100.7\",\"dport\":443,"
        "\"proto\":\"tcp\",\"outcome\":\"failed\"}\n"
        "{\"ts\":1700000042,\"src\":\"10.0.0.1\",\"dst\":\"198.51.100.7\",\"dport\":443,"
        "\"proto\":\"tcp\",\"outcome\":\"failed\"}\n"
        "{\"ts\":1700000043,\"src\":\"10.0.0.1\",\"dst\":\"198.51.100.7\",\"dport\":443,"
        "\"proto\":\"tcp\",\"outcome\":\"failed\"}\n";
    struct analytics_batch_result r;
    findings = 0;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, strlen(text), &r), IOTSEC_OK);
    assert_int_equal(r.records, 3); /* flows; the DNS answer is not a flow */
    const char *odd =
        "{\"ts\":1700000100,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.9\",\"dport\":22,"
        "\"proto\":\"tcp\",\"outcome\":\"established\"}\n"
        "{\"ts\":1700000101,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.9\",\"dport\":22,"
        "\"proto\":\"tcp\",\"outcome\":\"established\"}\n"
        "{\"ts\":1700000102,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.9\",\"dport\":22,"
        "\"proto\":\"tcp\",\"outcome\":\"established\"}\n"
        "{\"ts\":1700000170,\"src\":\"10.0.0.1\",\"dst\":\"198.51.100.7\",\"dport\":443,"
        "\"proto\":\"tcp\",\"outcome\":\"established\"}\n";
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, odd, strlen(odd), &r), IOTSEC_OK);
    analytics_flush(a);
    /* the failures to the permitted cloud raised nothing; the three to port 22 did */
    assert_int_equal(findings, 1);
    assert_non_null(strstr(last_json, "\"signals\":[\"outside_mud\"]"));
    assert_non_null(strstr(last_json, "203.0.113.9"));
    analytics_free(a);
}

/* The learning period and the fleet-condition share are configurable, within bounds. */
static void test_thresholds_of_issue_17(void **state)
{
    (void)state;
    char path[160], err[256];
    snprintf(path, sizeof(path), "%s/thresholds.json", dir);
    static const struct {
        const char *doc;
        bool ok;
    } cases[] = {
        {"{\"learn_windows\":1440,\"dns_grace_s\":60,\"outage_pct\":75}", true},
        {"{\"learn_windows\":70000}", false},
        {"{\"outage_pct\":101}", false},
        {"{\"learn_windows\":0}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].doc, f);
        fclose(f);
        struct analytics_options o = {.window_s = 60, .key_path = key_path, .kek = &kek,
                                      .thresholds = path};
        struct analytics *a = analytics_new(&o, err, sizeof(err));
        assert_int_equal(a != NULL, cases[i].ok);
        analytics_free(a);
    }
}

static void test_live_windows_close_on_time(void **state)
{
    (void)state;
    struct analytics *a = open_instance(0);
    assert_non_null(a);
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    double start = 60.0 * (double)(time(NULL) / 60);
    flood(a, start);
    analytics_tick(a, start + 30); /* inside the window: nothing */
    assert_int_equal(findings, 0);
    analytics_tick(a, start + 60.5); /* past its end, within the grace: nothing yet */
    assert_int_equal(findings, 0);
    analytics_tick(a, start + 63); /* past the grace */
    assert_true(findings >= 1);
    analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_sealed_and_reopened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_the_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_and_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_dns_and_mud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thresholds_of_issue_17, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_windows_close_on_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
