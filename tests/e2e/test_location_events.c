/* Location management through the real daemon: the core network's event reports on the SBI
 * face (NF certificate only), authorised areas and cell positions on the admin face, the
 * device state the operator sees, malformed reports refused whole, and areas surviving a
 * restart (migration 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fixture.h"

static struct daemon_fixture fx;

#define PLMN "{\"mcc\":\"001\",\"mnc\":\"01\"}"
#define SUPI1 "imsi-001010000000001"

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0 ? -1 : 0;
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
                 const char *body, json_t **out)
{
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st = fixture_request(&fx, who, method, url, body ? "application/json" : NULL, body,
                              body ? strlen(body) : 0, &resp);
    if (out)
        *out = resp && *resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return st;
}

static long report(const char *supi, const char *ts, const char *cell)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"notifyCorrelationId\":\"amf-1\",\"reportList\":[{\"type\":\"LOCATION_REPORT\","
             "\"supi\":\"%s\",\"timeStamp\":\"%s\",\"location\":{\"nrLocation\":{\"tai\":"
             "{\"plmnId\":" PLMN ",\"tac\":\"000001\"},\"ncgi\":{\"plmnId\":" PLMN
             ",\"nrCellId\":\"%s\"}}}}]}",
             supi, ts, cell);
    return call(AS_NF, "POST", fx.sbi, "/namf-evts-notify/v1/ue-events", body, NULL);
}

static bool outside(const char *supi)
{
    char path[128];
    json_t *o = NULL;
    snprintf(path, sizeof(path), "/admin/v1/location/devices/%s", supi);
    assert_int_equal(call(AS_ADMIN, "GET", fx.admin, path, NULL, &o), 200);
    bool r = json_is_true(json_object_get(o, "outsideAuthorisedArea"));
    json_decref(o);
    return r;
}

static void events_and_areas(void **state)
{
    (void)state;
    const char *area = "{\"cells\":[{\"plmnId\":" PLMN ",\"nrCellId\":\"000000010\"}]}";
    json_t *o = NULL;
    assert_int_equal(call(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/areas/" SUPI1, area, &o),
                     200);
    assert_non_null(json_object_get(o, "cells"));
    json_decref(o);
    assert_int_equal(report(SUPI1, "2026-11-23T07:00:00Z", "000000010"), 204);
    assert_false(outside(SUPI1));
    assert_int_equal(report(SUPI1, "2026-11-23T07:00:05Z", "000000011"), 204);
    assert_true(outside(SUPI1));
    /* a device never seen: 404 */
    assert_int_equal(call(AS_ADMIN, "GET", fx.admin,
                          "/admin/v1/location/devices/imsi-001010000000077", NULL, NULL), 404);
}

static void cells_and_circle(void **state)
{
    (void)state;
    const char *cells = "{\"cells\":[{\"plmnId\":" PLMN ",\"nrCellId\":\"000000020\",\"lat\":45.0,"
                        "\"lon\":7.0},{\"plmnId\":" PLMN ",\"nrCellId\":\"000000021\","
                        "\"lat\":45.02,\"lon\":7.0}]}";
    assert_int_equal(call(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/cells", cells, NULL), 200);
    const char *circle = "{\"circle\":{\"lat\":45.0,\"lon\":7.0,\"radius\":1000}}";
    assert_int_equal(call(AS_ADMIN, "PUT", fx.admin,
                          "/admin/v1/location/areas/imsi-001010000000002", circle, NULL), 200);
    assert_int_equal(report("imsi-001010000000002", "2026-11-23T07:00:00Z", "000000020"), 204);
    assert_false(outside("imsi-001010000000002"));
    assert_int_equal(report("imsi-001010000000002", "2026-11-23T07:01:00Z", "000000021"), 204);
    assert_true(outside("imsi-001010000000002"));
}

static void expect_problem(enum client_identity who, const char *method, const char *base,
                           const char *path, const char *body, long status)
{
    json_t *o = NULL;
    long got = call(who, method, base, path, body, &o);
    if (got != status)
        fail_msg("%s %s: got %ld, expected %ld", method, path, got, status);
    if (status >= 400 && status != 404)
        assert_int_equal(json_integer_value(json_object_get(o, "status")), status);
    json_decref(o);
}

static void bad_input(void **state)
{
    (void)state;
    const char *ev = "/namf-evts-notify/v1/ue-events";
    expect_problem(AS_NF, "POST", fx.sbi, ev, "not json", 400);
    expect_problem(AS_NF, "POST", fx.sbi, ev, "{\"reportList\":[]}", 400);
    expect_problem(AS_NF, "POST", fx.sbi, ev,
                   "{\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"supi\":\"imsi-1\","
                   "\"timeStamp\":\"2026-11-23T07:00:00Z\"}]}", 400);
    /* one bad report of two: nothing applied */
    expect_problem(AS_NF, "POST", fx.sbi, ev,
                   "{\"reportList\":[{\"type\":\"LOSS_OF_CONNECTIVITY\",\"supi\":\"imsi-001010000000009\","
                   "\"timeStamp\":\"2026-11-23T07:00:00Z\"},{\"type\":\"BOGUS\"}]}", 400);
    expect_problem(AS_ADMIN, "GET", fx.admin, "/admin/v1/location/devices/imsi-001010000000009",
                   NULL, 404);
    /* the admin face wants the admin certificate: an NF certificate is refused */
    expect_problem(AS_NF, "PUT", fx.admin, "/admin/v1/location/areas/" SUPI1,
                   "{\"stationary\":true}", 403);
    expect_problem(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/areas/not-a-supi",
                   "{\"stationary\":true}", 400);
    expect_problem(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/areas/" SUPI1,
                   "{\"circle\":{\"lat\":45,\"lon\":7,\"radius\":-1}}", 400);
    expect_problem(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/areas/" SUPI1, "{", 400);
    expect_problem(AS_ADMIN, "PUT", fx.admin, "/admin/v1/location/cells", "{\"cells\":[{}]}", 400);
    /* no client certificate at all: the SBI handshake fails */
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx.sbi, ev);
    assert_int_equal(fixture_request(&fx, AS_NOBODY, "POST", url, "application/json", "[]", 2,
                                     NULL), -1);
}

static void areas_survive_restart(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_start(&fx), 0);
    /* the area of SUPI1 (cell 0x10 only) and the cell table are back */
    assert_int_equal(report(SUPI1, "2026-11-23T08:00:00Z", "000000010"), 204);
    assert_false(outside(SUPI1));
    assert_int_equal(report(SUPI1, "2026-11-23T08:00:01Z", "000000012"), 204);
    assert_true(outside(SUPI1));
    assert_int_equal(report("imsi-001010000000002", "2026-11-23T08:00:00Z", "000000020"), 204);
    assert_false(outside("imsi-001010000000002"));
    /* the operator's counters */
    char *metrics = NULL, url[160];
    snprintf(url, sizeof(url), "%s/metrics", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &metrics), 200);
    assert_non_null(strstr(metrics, "iotsec_location_findings_total 1\n"));
    assert_non_null(strstr(metrics, "iotsec_location_events_total{outcome=\"accepted\"} 3\n"));
    free(metrics);
    /* removing the area: no more checks */
    assert_int_equal(call(AS_ADMIN, "DELETE", fx.admin, "/admin/v1/location/areas/" SUPI1, NULL,
                          NULL), 204);
    assert_int_equal(report(SUPI1, "2026-11-23T08:00:02Z", "000000013"), 204);
    assert_false(outside(SUPI1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_and_areas),
        cmocka_unit_test(cells_and_circle),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(areas_survive_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
