/* Security evidence that lasts, and operator actions that do what they say (issue 11, items
 * 1-4), against the real daemon:
 *   - a flood -> a finding -> a quarantine; the daemon restarts; the finding is listed with
 *     its evidence, the action names it ("why was this meter cut off?"), the UE address
 *     mappings are still there (flows are counted, not "unmapped"), a late record is counted;
 *   - `subscriber release` (the subscriber route) is the policy's release: audited with who
 *     and why, and the same behaviour quarantines the meter again; a manual quarantine needs
 *     a reason and is audited the same way;
 *   - rotation of a SIM that never onboarded: refused (409) without keys, nothing changed;
 *     with the operator's keys, the new K answers a UE-side AUTN check and the old one does
 *     not, the previous credential kept sealed for its grace period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "base/err.h"
#include "base/hex.h"
#include "fixture.h"
#include "flow_text.h"
#include "usim.h"

#define T0      1700000040 /* replayed record time: a window boundary */
#define VICTIM  "203.0.113.77"
#define K_OLD   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_OLD "cd63cb71954a9f4e48a5994e37a02baf"
#define K_NEW   "00112233445566778899aabbccddeeff"
#define OPC_NEW "0f0e0d0c0b0a09080706050403020100"

static struct daemon_fixture fx;

static void supi_of(int i, char *out, size_t len)
{
    snprintf(out, len, "imsi-0010100000007%02d", i);
}

static json_t *call(enum client_identity who, const char *method, const char *url, const char *ct,
                    const char *body, size_t len, long *status)
{
    char *out = NULL;
    *status = fixture_request(&fx, who, method, url, ct, body, len, &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static json_t *admin(const char *method, const char *path, const char *body, long want)
{
    char url[512];
    long st;
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    json_t *j = call(AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                     body ? strlen(body) : 0, &st);
    if (st != want)
        fail_msg("%s %s: %ld, want %ld", method, path, st, want);
    return j;
}

static json_t *ingest(const char *text)
{
    char url[256];
    long st;
    snprintf(url, sizeof(url), "%s/nnwdaf-iotsec/v1/flow-records", fx.sbi);
    json_t *j = call(AS_NF, "POST", url, "application/x-ndjson", text, strlen(text), &st);
    assert_int_equal(st, 200);
    return j;
}

static void reading(struct text *t, int meter, double ts)
{
    add_line(t,
             "{\"ts\":%.2f,\"src\":\"10.70.0.%d\",\"sport\":40000,\"dst\":\"198.51.100.10\","
             "\"dport\":443,\"proto\":\"tcp\",\"out_bytes\":900,\"in_bytes\":2400,"
             "\"out_pkts\":8,\"in_pkts\":7,\"outcome\":\"established\"}",
             ts, 10 + meter);
}

/* Meter 0 floods the victim in windows w0..w1-1; one reading of meter 1 closes the last. */
static char *flood(int w0, int w1)
{
    struct text t = {0};
    for (int w = w0; w < w1; w++)
        for (int k = 0; k < 250; k++)
            add_line(&t,
                     "{\"ts\":%.2f,\"src\":\"10.70.0.10\",\"sport\":%d,\"dst\":\"" VICTIM "\","
                     "\"dport\":80,\"proto\":\"udp\",\"out_bytes\":512,\"in_bytes\":0,"
                     "\"out_pkts\":1,\"in_pkts\":0,\"outcome\":\"noreply\"}",
                     T0 + 60.0 * w + k * 0.2, 1024 + k);
    reading(&t, 1, T0 + 60.0 * w1 + 1);
    return t.data;
}

static const char *state_of(const char *supi, char *buf, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
    json_t *s = admin("GET", path, NULL, 200);
    snprintf(buf, len, "%s", json_string_value(json_object_get(s, "state")));
    json_decref(s);
    return buf;
}

static void wait_for_state(const char *supi, const char *want)
{
    char buf[32];
    for (int tries = 0; tries < 100; tries++) {
        if (strcmp(state_of(supi, buf, sizeof(buf)), want) == 0)
            return;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("%s did not become %s", supi, want);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        char supi[32], json[512];
        supi_of(i, supi, sizeof(supi));
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"" K_OLD "\",\"opc\":\"" OPC_OLD "\",\"amf\":\"8000\","
                 "\"sqn\":\"000000000020\"}",
                 supi);
        if (fixture_add_subscriber(&fx, json) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The quarantine action of supi (the first), with its finding, from the device's actions. */
static json_t *quarantine_action(const char *supi, int nth)
{
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/actions", supi);
    json_t *a = admin("GET", path, NULL, 200);
    size_t i;
    json_t *r, *found = NULL;
    json_array_foreach(json_object_get(a, "actions"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "action")), "quarantine") == 0 &&
            nth-- == 0) {
            found = json_incref(r);
            break;
        }
    }
    json_decref(a);
    assert_non_null(found);
    return found;
}

static void test_evidence_survives_a_restart(void **state)
{
    (void)state;
    char supi[32], other[32], path[256];
    supi_of(0, supi, sizeof(supi));
    supi_of(1, other, sizeof(other));
    json_decref(admin("PUT", "/admin/v1/analytics/ue-addresses",
                      "[{\"supi\":\"imsi-001010000000700\",\"ipv4\":\"10.70.0.10\"},"
                      "{\"supi\":\"imsi-001010000000701\",\"ipv4\":\"10.70.0.11\"}]",
                      200));
    char *text = flood(3, 5);
    json_t *r = ingest(text);
    free(text);
    assert_true(json_integer_value(json_object_get(r, "findings")) >= 1);
    assert_null(json_object_get(r, "warning"));
    json_decref(r);
    wait_for_state(supi, "quarantined");
    json_t *q = quarantine_action(supi, 0);
    json_int_t finding_id = json_integer_value(json_object_get(q, "finding_id"));
    assert_true(finding_id > 0);
    json_decref(q);

    /* Restart: nothing of the analytics' memory survives but what was persisted. */
    int status = fixture_stop(&fx, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_start(&fx), 0);

    /* The finding, listed by device and exception, with its evidence. */
    snprintf(path, sizeof(path),
             "/admin/v1/analytics/findings?supi=%s&exception=SUSPICION_OF_DDOS_ATTACK", supi);
    json_t *f = admin("GET", path, NULL, 200);
    json_t *list = json_object_get(f, "items");
    assert_true(json_array_size(list) >= 1);
    /* the deprecated key carries the same array, one release */
    assert_true(json_equal(list, json_object_get(f, "findings")));
    json_t *first = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "id")), finding_id);
    assert_string_equal(json_string_value(json_object_get(first, "supi")), supi);
    assert_string_equal(json_string_value(json_object_get(first, "victim")), VICTIM);
    json_t *fired = json_object_get(first, "fired");
    assert_true(json_integer_value(json_object_get(fired, "level")) >= 2);
    assert_true(json_real_value(json_object_get(fired, "flows_per_s")) > 3.0);
    assert_non_null(json_object_get(first, "abnormalBehaviour")); /* the TS 29.520 object */
    json_decref(f);
    /* Filters: another device's or exception's list does not hold it. */
    snprintf(path, sizeof(path), "/admin/v1/analytics/findings?supi=%s", other);
    f = admin("GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(f, "findings")), 0);
    json_decref(f);
    f = admin("GET", "/admin/v1/analytics/findings?exception=WRONG_DESTINATION_ADDRESS", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(f, "findings")), 0);
    json_decref(f);
    json_decref(admin("GET", "/admin/v1/analytics/findings?since=not-a-time", NULL, 400));

    /* The action names its finding, and the finding's evidence comes with it. */
    q = quarantine_action(supi, 0);
    assert_int_equal(json_integer_value(json_object_get(q, "finding_id")), finding_id);
    json_t *why = json_object_get(q, "finding");
    assert_string_equal(json_string_value(json_object_get(why, "exception")),
                        "SUSPICION_OF_DDOS_ATTACK");
    assert_string_equal(json_string_value(json_object_get(json_object_get(why, "fired"), "victim")),
                        VICTIM);
    json_decref(q);

    /* The mappings survived: counted, not unmapped, no warning; a late record is counted. */
    struct text t = {0};
    reading(&t, 1, T0 + 60.0 * 9 + 1);
    reading(&t, 1, T0 + 60.0 * 8 + 1); /* older than the open window */
    r = ingest(t.data);
    free(t.data);
    assert_int_equal(json_integer_value(json_object_get(r, "counted")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "unmapped")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "late")), 1);
    assert_null(json_object_get(r, "warning"));
    json_decref(r);

    /* Released through the subscriber route: the policy's release, with who and why. */
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/release", supi);
    r = admin("POST", path, "{\"reason\":\"meter inspected on site\",\"by\":\"carol\"}", 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "active");
    json_decref(r);
    snprintf(path, sizeof(path), "/admin/v1/policy/actions?supi=%s", supi);
    json_t *audit = admin("GET", path, NULL, 200);
    json_t *actions = json_object_get(audit, "actions");
    json_t *last = json_array_get(actions, json_array_size(actions) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "release");
    assert_string_equal(json_string_value(json_object_get(last, "reason")),
                        "meter inspected on site");
    assert_non_null(
        strstr(json_string_value(json_object_get(last, "principal")), "carol (admin-cert:"));
    json_decref(audit);

    /* The same behaviour again: quarantined again (the open action was closed). */
    text = flood(10, 12);
    json_decref(ingest(text));
    free(text);
    wait_for_state(supi, "quarantined");
    q = quarantine_action(supi, 1);
    assert_true(json_integer_value(json_object_get(q, "finding_id")) > finding_id);
    json_decref(q);

    /* By hand: a reason is required; audited like the policy's own. */
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/quarantine", other);
    json_decref(admin("POST", path, NULL, 400));
    json_decref(admin("POST", path, "{\"reason\":\"tamper alarm\",\"extra\":1}", 400));
    r = admin("POST", path, "{\"reason\":\"tamper alarm\"}", 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "quarantined");
    json_decref(r);
    json_decref(admin("POST", path, "{\"reason\":\"again\"}", 409));
    snprintf(path, sizeof(path), "/admin/v1/policy/actions?supi=%s", other);
    audit = admin("GET", path, NULL, 200);
    actions = json_object_get(audit, "actions");
    last = json_array_get(actions, json_array_size(actions) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "quarantine");
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "admin");
    assert_string_equal(json_string_value(json_object_get(last, "reason")), "tamper alarm");
    assert_non_null(strstr(json_string_value(json_object_get(last, "principal")), "admin-cert:"));
    json_decref(audit);
}

/* One 5G AKA challenge for supi checked by a USIM holding k/opc. */
static int usim_check(const char *supi, const char *k_hex, const char *opc_hex)
{
    char url[160], body[256];
    long st;
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"%s\"}", supi,
             fx.snn);
    json_t *ctx = call(AS_NF, "POST", url, "application/json", body, strlen(body), &st);
    assert_int_equal(st, 201);
    json_t *av = json_object_get(ctx, "5gAuthData");
    uint8_t rand[16], autn[16], k[16], opc[16];
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "rand")), rand, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "autn")), autn, 16), 0);
    json_decref(ctx);
    hex_decode(k_hex, k, 16);
    hex_decode(opc_hex, opc, 16);
    struct usim u;
    usim_init(&u, k, opc);
    struct usim_response r;
    int rc = usim_authenticate(&u, rand, autn, fx.snn, strlen(fx.snn), &r);
    usim_wipe(&u);
    return rc;
}

static void test_rotation_needs_a_channel_or_keys(void **state)
{
    (void)state;
    char supi[32], path[160];
    supi_of(2, supi, sizeof(supi));
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/rotate", supi);
    json_t *p = admin("POST", path, NULL, 409);
    assert_string_equal(json_string_value(json_object_get(p, "cause")), "NO_OTA_CHANNEL");
    json_decref(p);
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
    json_t *s = admin("GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(s, "credential_version")), 1);
    json_decref(s);
    assert_int_equal(usim_check(supi, K_OLD, OPC_OLD), USIM_OK); /* nothing changed */

    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/rotate", supi);
    json_decref(admin("POST", path, "{\"k\":\"" K_NEW "\"}", 400));
    json_t *r = admin("POST", path, "{\"k\":\"" K_NEW "\",\"opc\":\"" OPC_NEW "\"}", 200);
    assert_string_equal(json_string_value(json_object_get(r, "rotation")), "operator_supplied");
    assert_int_equal(json_integer_value(json_object_get(r, "credential_version")), 2);
    char *dump = json_dumps(r, 0);
    assert_null(strstr(dump, K_NEW)); /* never echoed */
    assert_null(strstr(dump, OPC_NEW));
    free(dump);
    json_decref(r);
    /* The network now computes with the new K: a USIM holding it accepts the AUTN, one
     * holding the old K refuses it. */
    assert_int_equal(usim_check(supi, K_NEW, OPC_NEW), USIM_OK);
    assert_int_equal(usim_check(supi, K_OLD, OPC_OLD), USIM_MAC_FAILURE);

    /* The previous credential is kept sealed for the grace period (24 h), as rotation
     * always did; the expiry sweep destroys it afterwards. */
    char db[256];
    fixture_db_path(&fx, db, sizeof(db));
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT prev_cred_version, prev_cred IS NOT NULL,"
                                        " prev_cred_until - updated_at FROM subscriptions"
                                        " WHERE supi = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, supi, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    assert_int_equal(sqlite3_column_int64(st, 2), 24 * 3600);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* analytics.findings_retention_days: written by init (90), 0..3650, else the start is refused. */
static void test_retention_setting_checked(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, NULL), 0);
    assert_int_equal(fixture_config_replace(&f, "findings_retention_days: 90",
                                            "findings_retention_days: 3651"),
                     0);
    assert_int_equal(fixture_start(&f), -1);
    int status = fixture_stop(&f, SIGKILL);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    fixture_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence_survives_a_restart),
        cmocka_unit_test(test_rotation_needs_a_channel_or_keys),
        cmocka_unit_test(test_retention_setting_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
