/* T8 MonitoringEventSubscription decoding (every malformed body refused with the member
 * named), permanent identities recognised however dressed (destinations: tests/unit/http), and the
 * event path's text notifications equal to the JSON-built ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/err.h"
#include "expose/t8_int.h"

#define NOW 1763881200000LL /* 2025-11-23T07:00:00Z */
#define DEST "\"notificationDestination\":\"https://af.example/notify\""
#define EXT "\"externalId\":\"ab3kq7c2mz5xw4r6t8y9u2i3o4p5a6s7@ext.example\""

static int decode(const char *text, struct t8_request *rq, struct t8_refusal *why)
{
    json_t *o = json_loads(text, 0, NULL);
    int rc = t8_decode(o, NOW, false, rq, why);
    json_decref(o);
    return rc;
}

static void good(void **state)
{
    (void)state;
    struct t8_request rq;
    struct t8_refusal why;
    assert_int_equal(decode("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
                            ",\"maximumNumberOfReports\":3,\"locationType\":"
                            "\"LAST_KNOWN_LOCATION\",\"accuracy\":\"TA_RA\"}", &rq, &why),
                     IOTSEC_OK);
    assert_int_equal(rq.type, T8_LOCATION_REPORTING);
    assert_int_equal(rq.max_reports, 3);
    assert_int_equal(rq.loc_type, T8_LOC_LAST_KNOWN);
    assert_int_equal(rq.accuracy, T8_GRAN_TA);
    assert_int_equal(decode("{\"monitoringType\":\"LOSS_OF_CONNECTIVITY\"," EXT "," DEST
                            ",\"monitorExpireTime\":\"2030-01-01T00:00:00Z\"}", &rq, &why),
                     IOTSEC_OK);
    assert_true(rq.expire_ms == 1893456000000LL && rq.max_reports == 0);
    assert_int_equal(decode("{\"monitoringType\":\"UE_REACHABILITY\"," EXT "," DEST
                            ",\"maximumNumberOfReports\":1,\"reachabilityType\":\"SMS\","
                            "\"someFutureMember\":{\"x\":1}}", &rq, &why), IOTSEC_OK);
    assert_string_equal(rq.reachability_type, "SMS");
    assert_int_equal(decode("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
                            ",\"maximumNumberOfReports\":1,\"locationArea5G\":{\"geographicAreas\""
                            ":[{\"shape\":\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lat\":45,"
                            "\"lon\":7},\"uncertainty\":500}]}}", &rq, &why), IOTSEC_OK);
    assert_int_equal(rq.area.kind, LOC_AREA_CIRCLE);
    loc_area_free_members(&rq.area);
    assert_int_equal(decode("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
                            ",\"maximumNumberOfReports\":1,\"locationArea5G\":{\"nwAreaInfo\":"
                            "{\"ncgis\":[{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},"
                            "\"nrCellId\":\"000000001\"}]}}}", &rq, &why), IOTSEC_OK);
    assert_int_equal(rq.area.kind, LOC_AREA_CELLS);
    loc_area_free_members(&rq.area);
}

static void refused(const char *text, int status, const char *param)
{
    struct t8_request rq;
    struct t8_refusal why;
    if (decode(text, &rq, &why) != IOTSEC_ERR_INVALID)
        fail_msg("accepted: %s", text);
    if (why.status != status || strcmp(why.param, param) != 0)
        fail_msg("%s: got %d %s, want %d %s", text, why.status, why.param, status, param);
    assert_non_null(why.cause);
    assert_non_null(why.detail);
}

static void malformed(void **state)
{
    (void)state;
    refused("[]", 400, "");
    refused("{}", 400, "monitoringType");
    refused("{\"monitoringType\":7}", 400, "monitoringType");
    refused("{\"monitoringType\":\"ROAMING_STATUS\"," EXT "," DEST ",\"maximumNumberOfReports\":1}",
            400, "monitoringType");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT ",\"maximumNumberOfReports\":1}",
            400, "notificationDestination");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT
            ",\"notificationDestination\":\"http://af.example/n\",\"maximumNumberOfReports\":1}",
            400, "notificationDestination");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT
            ",\"notificationDestination\":\"https://user:pw@af.example/n\","
            "\"maximumNumberOfReports\":1}", 400, "notificationDestination");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST "}", 400,
            "maximumNumberOfReports");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"maximumNumberOfReports\":-1}", 400, "maximumNumberOfReports");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"maximumNumberOfReports\":1.5}", 400, "maximumNumberOfReports");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"monitorExpireTime\":\"2020-01-01T00:00:00Z\"}", 400, "monitorExpireTime");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"monitorExpireTime\":12}", 400, "monitorExpireTime");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," DEST ",\"maximumNumberOfReports\":1}",
            400, "externalId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT ",\"msisdn\":\"4477\"," DEST
            ",\"maximumNumberOfReports\":1}", 400, "externalId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"\"," DEST
            ",\"maximumNumberOfReports\":1}", 400, "externalId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":5," DEST
            ",\"maximumNumberOfReports\":1}", 400, "externalId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\",\"externalGroupId\":\"g@x\"," DEST
            ",\"maximumNumberOfReports\":1}", 400, "externalGroupId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"maximumNumberOfReports\":1,\"locationType\":\"SOMEWHERE\"}", 400, "locationType");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\"," EXT "," DEST
            ",\"maximumNumberOfReports\":1,\"accuracy\":\"CIVIC_ADDR\"}", 400, "accuracy");
    refused("{\"monitoringType\":\"UE_REACHABILITY\"," EXT "," DEST
            ",\"maximumNumberOfReports\":1,\"reachabilityType\":\"VOICE\"}", 400,
            "reachabilityType");
    refused("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
            ",\"maximumNumberOfReports\":1}", 400, "locationArea5G");
    refused("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
            ",\"maximumNumberOfReports\":5,\"locationArea5G\":{}}", 400, "maximumNumberOfReports");
    refused("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," EXT "," DEST
            ",\"maximumNumberOfReports\":1}", 400, "externalId");
    refused("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
            ",\"maximumNumberOfReports\":1,\"locationArea5G\":{\"nwAreaInfo\":{\"tais\":[],"
            "\"ncgis\":[]}}}", 400, "locationArea5G.nwAreaInfo");
    refused("{\"monitoringType\":\"NUMBER_OF_UES_IN_AN_AREA\"," DEST
            ",\"maximumNumberOfReports\":1,\"locationArea5G\":{\"geographicAreas\":[{\"shape\":"
            "\"POINT_UNCERTAINTY_CIRCLE\",\"point\":{\"lat\":95,\"lon\":7},\"uncertainty\":5}]}}",
            400, "locationArea5G");
    /* permanent identities: 403 with a cause naming the problem */
    refused("{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"imsi-001010000000001\","
            DEST ",\"maximumNumberOfReports\":1}", 403, "externalId");
    refused("{\"monitoringType\":\"LOCATION_REPORTING\",\"msisdn\":\"imsi-001010000000001\","
            DEST ",\"maximumNumberOfReports\":1}", 403, "msisdn");
}

static void permanent_ids(void **state)
{
    (void)state;
    assert_true(t8_looks_permanent("imsi-001010000000001"));
    assert_true(t8_looks_permanent("IMSI-001010000000001"));
    assert_true(t8_looks_permanent("imsi001010000000001"));
    assert_true(t8_looks_permanent("001010000000001@ext.example"));
    assert_true(t8_looks_permanent("00101000000001@ext.example"));
    assert_true(t8_looks_permanent("nai-meter@utility.example"));
    assert_true(t8_looks_permanent("suci-0-001-01-0000-0-0-0000000001"));
    assert_false(t8_looks_permanent("ab3kq7c2mz5xw4r6t8y9u2i3o4p5a6s7@ext.example"));
    assert_false(t8_looks_permanent("447700900001"));
    assert_false(t8_looks_permanent("0010100000000012@ext.example")); /* 16 digits */
    assert_false(t8_looks_permanent(NULL));
}

/* The text notification parses to the same document as the JSON-built one. */
static void same_document(const char *text, json_t *expected)
{
    json_error_t err;
    json_t *got = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (got == NULL)
        fail_msg("not JSON: %s (%s)", text, err.text);
    if (!json_equal(got, expected)) {
        char *e = json_dumps(expected, JSON_SORT_KEYS);
        fail_msg("text: %s\nJSON: %s", text, e);
    }
    json_decref(got);
    json_decref(expected);
}

static void notes_match_reports(void **state)
{
    (void)state;
    const char *self = "https://nef/3gpp-monitoring-event/v1/af-1/subscriptions/0a\"b";
    const char *ext = "ab3k@ext.example";
    struct ue_event ev = {.time_ms = NOW - 150000, .kind = UE_EV_LOCATION_REPORT,
                          .has_tai = true, .has_ncgi = true};
    strcpy(ev.tai.plmn, "00101");
    ev.tai.tac = 0xAB;
    strcpy(ev.ncgi.plmn, "001001");
    ev.ncgi.nr_cell_id = 0xABCDEF012ull;
    struct ue_state st = {.known = true, .has_tai = true, .has_ncgi = true, .tai = ev.tai,
                          .ncgi = ev.ncgi, .location_time_ms = ev.time_ms};
    char buf[T8_NOTE_MAX];
    for (int acc = 0; acc < 2; acc++) {
        for (int cap = 0; cap < 2; cap++) {
            for (int exc = 0; exc < 2; exc++) {
                struct t8_request rq = {.type = T8_LOCATION_REPORTING,
                                        .accuracy = (enum t8_granularity)acc};
                const char *cause = exc ? "OUTSIDE_AUTHORISED_AREA" : NULL;
                assert_true(t8_location_note(buf, sizeof(buf), self, &rq,
                                             (enum t8_granularity)cap, ext, &ev, NOW, cause) > 0);
                same_document(buf, t8_notification(self, t8_location_report(
                                                             &rq, (enum t8_granularity)cap, ext,
                                                             &st, NOW, cause)));
            }
        }
    }
    struct t8_request rq = {.type = T8_UE_REACHABILITY};
    strcpy(rq.reachability_type, "DATA");
    assert_true(t8_event_note(buf, sizeof(buf), self, T8_UE_REACHABILITY, &rq, ext, NOW) > 0);
    same_document(buf, t8_notification(self, t8_event_report(T8_UE_REACHABILITY, &rq, ext, NOW)));
    assert_true(t8_event_note(buf, sizeof(buf), self, T8_LOSS_OF_CONNECTIVITY, &rq, ext, NOW) > 0);
    same_document(buf,
                  t8_notification(self, t8_event_report(T8_LOSS_OF_CONNECTIVITY, &rq, ext, NOW)));
    /* too small a buffer is refused, not truncated */
    assert_int_equal(t8_event_note(buf, 40, self, T8_LOSS_OF_CONNECTIVITY, &rq, ext, NOW), -1);
}

static void counts_say_nothing_below_k(void **state)
{
    (void)state;
    json_t *r = t8_count_report(9, true, NOW);
    assert_null(json_object_get(r, "uePerLocationReport"));
    char *s = json_dumps(r, 0);
    assert_null(strstr(s, "9")); /* the time has no 9: the count is nowhere */
    free(s);
    json_decref(r);
    r = t8_count_report(12, false, NOW);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "uePerLocationReport"),
                                                        "ueCount")), 12);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good),
        cmocka_unit_test(malformed),
        cmocka_unit_test(permanent_ids),
        cmocka_unit_test(notes_match_reports),
        cmocka_unit_test(counts_say_nothing_below_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
