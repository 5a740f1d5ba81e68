/* The bridges the daemon builds between capabilities (src/daemon/bridges.c), through the real
 * daemon: a PDU session report on the SBI face maps the UE's address for the analytics (flows
 * from it then land on the device), and a location outside the device's authorised area
 * reaches the policy as UNEXPECTED_UE_LOCATION (an action recorded for that SUPI). */
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
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fixture.h"

static struct daemon_fixture fx;

#define PLMN "{\"mcc\":\"001\",\"mnc\":\"01\"}"
#define SUPI "imsi-001010000000031"

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    return fixture_add_subscriber(&fx, "{\"supi\":\"" SUPI "\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                                       "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}");
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static long call(enum client_identity who, const char *method, const char *base, const char *path,
                 const char *ct, const char *body, json_t **out)
{
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st = fixture_request(&fx, who, method, url, ct, body, body ? strlen(body) : 0, &resp);
    if (out)
        *out = resp && *resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return st;
}

static long ue_event(const char *report)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"notifyCorrelationId\":\"amf-1\",\"reportList\":[%s]}", report);
    return call(AS_NF, "POST", fx.sbi, "/namf-evts-notify/v1/ue-events", "application/json", body,
                NULL);
}

static void iso_now(char out[32])
{
    time_t t = time(NULL);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static void session_maps_the_address(void **state)
{
    (void)state;
    char ts[32], report[512], flow[256];
    iso_now(ts);
    /* Before the session: the flow maps to nobody. */
    snprintf(flow, sizeof(flow),
             "{\"ts\":%lld,\"src\":\"10.45.0.7\",\"sport\":40000,\"dst\":\"198.51.100.10\","
             "\"dport\":443,\"proto\":\"tcp\",\"out_bytes\":900,\"in_bytes\":2400}\n",
             (long long)time(NULL));
    json_t *r = NULL;
    assert_int_equal(call(AS_NF, "POST", fx.sbi, "/nnwdaf-iotsec/v1/flow-records",
                          "application/x-ndjson", flow, &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "unmapped")), 1);
    json_decref(r);

    snprintf(report, sizeof(report),
             "{\"type\":\"PDU_SESSION_REPORT\",\"supi\":\"" SUPI "\",\"timeStamp\":\"%s\","
             "\"ueIpv4Addr\":\"10.45.0.7\"}",
             ts);
    assert_int_equal(ue_event(report), 204);
    assert_int_equal(call(AS_NF, "POST", fx.sbi, "/nnwdaf-iotsec/v1/flow-records",
                          "application/x-ndjson", flow, &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "unmapped")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "counted")), 1);
    json_decref(r);
}

static void unexpected_location_reaches_the_policy(void **state)
{
    (void)state;
    const char *area = "{\"cells\":[{\"plmnId\":" PLMN ",\"nrCellId\":\"000000010\"}]}";
    assert_int_equal(call(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/areas/" SUPI,
                          "application/json", area, NULL),
                     200);
    char ts[32], report[512];
    iso_now(ts);
    snprintf(report, sizeof(report),
             "{\"type\":\"LOCATION_REPORT\",\"supi\":\"" SUPI "\",\"timeStamp\":\"%s\","
             "\"location\":{\"nrLocation\":{\"tai\":{\"plmnId\":" PLMN ",\"tac\":\"000001\"},"
             "\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"000000099\"}}}}",
             ts);
    assert_int_equal(ue_event(report), 204);
    /* The policy acts through the store's writer: poll its audit for a moment. */
    bool seen = false;
    for (int i = 0; i < 50 && !seen; i++) {
        json_t *a = NULL;
        assert_int_equal(call(AS_ADMIN, "GET", fx.admin, "/admin/v1/policy/actions?supi=" SUPI,
                              NULL, NULL, &a),
                         200);
        char *text = json_dumps(a, JSON_COMPACT);
        seen = text && strstr(text, "UNEXPECTED_UE_LOCATION") != NULL;
        free(text);
        json_decref(a);
        if (!seen)
            usleep(100 * 1000);
    }
    assert_true(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_maps_the_address),
        cmocka_unit_test(unexpected_location_reaches_the_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
