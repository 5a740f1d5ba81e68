/* Decoding of network event reports and of authorised areas: the accepted shapes, and a
 * refusal naming the member for each malformed one (all-or-nothing batches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/err.h"
#include "location/location.h"

#define LOCN "\"location\":{\"nrLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"}," \
             "\"tac\":\"000001\"},\"ncgi\":{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},"       \
             "\"nrCellId\":\"00000001A\"}}}"
#define SUPI "\"supi\":\"imsi-001010000000001\""
#define TS   "\"timeStamp\":\"2026-11-23T07:00:00Z\""

static int decode(const char *body, struct ue_event **evs, size_t *n, char why[128])
{
    return loc_events_decode(body, strlen(body), evs, n, why);
}

static void good_batch(void **state)
{
    (void)state;
    const char *body =
        "{\"notifyCorrelationId\":\"c1\",\"reportList\":["
        "{\"type\":\"LOCATION_REPORT\"," SUPI "," TS "," LOCN "},"
        "{\"type\":\"REGISTRATION_STATE_REPORT\"," SUPI "," TS ",\"rmInfoList\":[{\"rmState\":"
        "\"DEREGISTERED\",\"accessType\":\"3GPP_ACCESS\"}]},"
        "{\"type\":\"CONNECTIVITY_STATE_REPORT\"," SUPI "," TS ",\"cmInfoList\":[{\"cmState\":"
        "\"CONNECTED\",\"accessType\":\"3GPP_ACCESS\"}]},"
        "{\"type\":\"REACHABILITY_REPORT\"," SUPI "," TS ",\"reachability\":\"UNREACHABLE\"},"
        "{\"type\":\"LOSS_OF_CONNECTIVITY\"," SUPI "," TS "},"
        "{\"type\":\"RADIO_LINK_FAILURE_REPORT\"," SUPI "," TS "," LOCN "},"
        "{\"type\":\"PDU_SESSION_REPORT\"," SUPI "," TS ",\"ueIpv4Addr\":\"10.45.0.7\","
        "\"ueIpv6Prefix\":\"2001:db8:1::/64\"}]}";
    struct ue_event *evs;
    size_t n;
    char why[128];
    assert_int_equal(decode(body, &evs, &n, why), IOTSEC_OK);
    assert_int_equal(n, 7);
    assert_int_equal(evs[0].kind, UE_EV_LOCATION_REPORT);
    assert_true(evs[0].has_tai && evs[0].tai.tac == 1 && evs[0].has_ncgi);
    assert_true(evs[0].ncgi.nr_cell_id == 0x1A);
    assert_string_equal(evs[0].ncgi.plmn, "00101");
    assert_true(evs[0].time_ms == 1795417200000LL);
    assert_false(evs[1].registered);
    assert_true(evs[2].connected);
    assert_int_equal(evs[3].reachability, UE_REACH_UNREACHABLE);
    assert_int_equal(evs[4].kind, UE_EV_LOSS_OF_CONNECTIVITY);
    assert_int_equal(evs[5].kind, UE_EV_RADIO_LINK_FAILURE);
    assert_string_equal(evs[6].ue_ipv4, "10.45.0.7");
    assert_string_equal(evs[6].ue_ipv6, "2001:db8:1::/64");
    free(evs);
    /* a bare array is accepted too */
    assert_int_equal(decode("[{\"type\":\"LOSS_OF_CONNECTIVITY\"," SUPI "," TS "}]", &evs, &n,
                            why), IOTSEC_OK);
    assert_int_equal(n, 1);
    free(evs);
}

static void refused(const char *body, const char *member)
{
    struct ue_event *evs = (void *)1;
    size_t n = 99;
    char why[128] = "";
    assert_int_equal(decode(body, &evs, &n, why), IOTSEC_ERR_INVALID);
    assert_null(evs);
    assert_int_equal(n, 0);
    if (member && strstr(why, member) == NULL)
        fail_msg("expected '%s' in '%s'", member, why);
}

static void malformed(void **state)
{
    (void)state;
    refused("", "not JSON");
    refused("{", "not JSON");
    refused("{}", "reportList");
    refused("{\"reportList\":[]}", "reportList");
    refused("{\"reportList\":{}}", "reportList");
    refused("{\"reportList\":[1]}", "reportList[0]");
    refused("{\"reportList\":[{\"type\":\"NOPE\"," SUPI "," TS "}]}", "reportList[0].type");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\"," TS "," LOCN "}]}", ".supi");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"supi\":\"imsi-12\"," TS ","
            LOCN "}]}", ".supi");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\"," SUPI ",\"timeStamp\":\"yesterday\","
            LOCN "}]}", ".timeStamp");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\"," SUPI "," TS "}]}", ".location");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\"," SUPI "," TS ",\"location\":"
            "{\"nrLocation\":{\"ncgi\":{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},"
            "\"nrCellId\":\"XYZ\"}}}}]}", ".location.nrLocation.ncgi");
    refused("{\"reportList\":[{\"type\":\"LOCATION_REPORT\"," SUPI "," TS ",\"location\":"
            "{\"nrLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"1\",\"mnc\":\"01\"},"
            "\"tac\":\"0001\"}}}}]}", ".location.nrLocation.tai");
    refused("{\"reportList\":[{\"type\":\"REACHABILITY_REPORT\"," SUPI "," TS
            ",\"reachability\":\"MAYBE\"}]}", ".reachability");
    refused("{\"reportList\":[{\"type\":\"PDU_SESSION_REPORT\"," SUPI "," TS
            ",\"ueIpv4Addr\":\"10.0.0.300\"}]}", ".ueIpv4Addr");
    refused("{\"reportList\":[{\"type\":\"PDU_SESSION_REPORT\"," SUPI "," TS "}]}",
            ".ueIpv4Addr");
    /* one bad report refuses the whole batch, and says which */
    refused("{\"reportList\":[{\"type\":\"LOSS_OF_CONNECTIVITY\"," SUPI "," TS "},"
            "{\"type\":\"LOSS_OF_CONNECTIVITY\"," SUPI "}]}", "reportList[1].timeStamp");
    /* duplicate member names */
    refused("{\"reportList\":[],\"reportList\":[]}", "not JSON");
}

static void too_many(void **state)
{
    (void)state;
    size_t cap = (LOC_BATCH_MAX + 1) * 128 + 64, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body, cap, "[");
    for (int i = 0; i <= LOC_BATCH_MAX; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"type\":\"LOSS_OF_CONNECTIVITY\","
                                SUPI "," TS "}", i ? "," : "");
    snprintf(body + len, cap - len, "]");
    struct ue_event *evs;
    size_t n;
    char why[128];
    assert_int_equal(decode(body, &evs, &n, why), IOTSEC_ERR_BUSY);
    free(body);
}

static void area_json(void **state)
{
    (void)state;
    static const char *good[] = {
        "{\"cells\":[{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},\"nrCellId\":\"000000010\"}]}",
        "{\"tais\":[{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"001\"},\"tac\":\"00AB\"}]}",
        "{\"circle\":{\"lat\":45,\"lon\":7.5,\"radius\":500},\"stationary\":true}",
        "{\"polygon\":[{\"lat\":0,\"lon\":0},{\"lat\":0,\"lon\":1},{\"lat\":1,\"lon\":1}]}",
        "{\"stationary\":true}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *o = json_loads(good[i], 0, NULL);
        struct loc_area a;
        const char *why;
        assert_int_equal(loc_area_from_json(o, &a, &why), IOTSEC_OK);
        /* the stored form decodes back to the same area */
        json_t *back = loc_area_to_json(&a);
        struct loc_area b;
        assert_int_equal(loc_area_from_json(back, &b, &why), IOTSEC_OK);
        assert_int_equal(a.kind, b.kind);
        assert_int_equal(a.n, b.n);
        assert_int_equal(a.stationary, b.stationary);
        loc_area_free_members(&a);
        loc_area_free_members(&b);
        json_decref(o);
        json_decref(back);
    }
    static const char *bad[] = {
        "[]", "{}", "{\"stationary\":false}", "{\"stationary\":1}",
        "{\"cells\":[]}", "{\"cells\":[{}]}",
        "{\"cells\":[{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},\"nrCellId\":\"10\"}]}",
        "{\"tais\":[{\"plmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"},\"tac\":\"GG01\"}]}",
        "{\"circle\":{\"lat\":45,\"lon\":7.5,\"radius\":0}}",
        "{\"circle\":{\"lat\":95,\"lon\":7.5,\"radius\":10}}",
        "{\"circle\":{\"lat\":\"45\",\"lon\":7.5,\"radius\":10}}",
        "{\"polygon\":[{\"lat\":0,\"lon\":0},{\"lat\":0,\"lon\":1}]}",
        "{\"circle\":{\"lat\":45,\"lon\":7,\"radius\":10},\"tais\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        struct loc_area a;
        const char *why = NULL;
        if (loc_area_from_json(o, &a, &why) != IOTSEC_ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_batch), cmocka_unit_test(malformed), cmocka_unit_test(too_many),
        cmocka_unit_test(area_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
