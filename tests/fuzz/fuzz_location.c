/* UE event reports as the AMF (or a bridge) posts them to /namf-evts-notify/v1/ue-events
 * (loc_events_decode), authorised areas as the admin face takes them (loc_area_from_json), and
 * RFC 3339 times (loc_parse_time). Invariants: decoding is all or nothing, every decoded event
 * passes ue_event_validate, a refusal names the member, a parsed time formats and parses back
 * to itself (to the second: the written form has no fraction). */
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "fuzz.h"
#include "location/location.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ue_event *evs = NULL;
    size_t n = 99;
    char why[128] = "";
    int rc = loc_events_decode(data, size, &evs, &n, why);
    if (rc == IOTSEC_OK) {
        FUZZ_CHECK(n > 0 && evs != NULL);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(ue_event_validate(&evs[i]) == IOTSEC_OK);
    } else {
        FUZZ_CHECK(evs == NULL && n == 0 && why[0] != '\0');
    }
    free(evs);

    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (o != NULL) {
        struct loc_area a;
        const char *bad = NULL;
        if (loc_area_from_json(o, &a, &bad) == IOTSEC_OK) {
            json_t *back = loc_area_to_json(&a);
            struct loc_area again;
            FUZZ_CHECK(back != NULL && loc_area_from_json(back, &again, &bad) == IOTSEC_OK);
            FUZZ_CHECK(again.kind == a.kind);
            loc_area_free_members(&again);
            json_decref(back);
            loc_area_free_members(&a);
        } else {
            FUZZ_CHECK(bad != NULL);
        }
        json_decref(o);
    }

    char *s = fuzz_cstr(data, size);
    int64_t ms = loc_parse_time(s);
    if (ms >= 0) {
        char text[32];
        loc_format_time(ms, text);
        FUZZ_CHECK(loc_parse_time(text) == ms / 1000 * 1000); /* written to the second */
    }
    free(s);
    return 0;
}
