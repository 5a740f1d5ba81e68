/* T8 MonitoringEventSubscription bodies as an AF sends them (TS 29.122): the body parsed as
 * t8_http.c parses it, then t8_decode with and without the lab loopback switch. Invariants: a
 * refusal is a 4xx with a cause; an accepted request is bounded (a report count or an
 * expiry), names its device one way, and its strings are terminated. */
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "expose/t8_int.h"
#include "fuzz.h"

#define NOW 1763881200000LL /* 2025-11-23T07:00:00Z */

static void decode(const json_t *o, bool loopback)
{
    struct t8_request rq;
    struct t8_refusal why;
    memset(&why, 0, sizeof(why));
    int rc = t8_decode(o, NOW, loopback, &rq, &why);
    if (rc != IOTSEC_OK) {
        FUZZ_CHECK(rc == IOTSEC_ERR_INVALID);
        FUZZ_CHECK(why.status >= 400 && why.status < 500 && why.cause != NULL);
        return;
    }
    FUZZ_CHECK(rq.max_reports > 0 || rq.expire_ms > NOW);
    FUZZ_CHECK(strnlen(rq.destination, sizeof(rq.destination)) < sizeof(rq.destination));
    FUZZ_CHECK(strnlen(rq.external_id, sizeof(rq.external_id)) < sizeof(rq.external_id));
    FUZZ_CHECK(strnlen(rq.msisdn, sizeof(rq.msisdn)) < sizeof(rq.msisdn));
    FUZZ_CHECK((rq.external_id[0] != '\0') != (rq.msisdn[0] != '\0') ||
               rq.type == T8_NUMBER_OF_UES_IN_AN_AREA);
    loc_area_free_members(&rq.area);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL)
        return 0;
    decode(o, false);
    decode(o, true);
    json_decref(o);
    return 0;
}
