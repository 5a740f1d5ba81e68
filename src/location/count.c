/* NUMBER_OF_UES_IN_AN_AREA: counts of devices by last known location, only of the devices
 * the caller may count (consent), withheld below a k-anonymity threshold. */
#include <string.h>

#include "base/err.h"
#include "location/loc_int.h"

struct count_run {
    struct location *loc;
    const struct loc_area *area;
    int64_t since_ms;
    location_count_filter_fn filter;
    void *ctx;
    uint64_t n;
};

static void count_one(void *arg, const uint8_t *key, const struct ue_state *st)
{
    struct count_run *r = arg;
    const char *cause;
    if (st->location_time_ms == 0 || st->location_time_ms < r->since_ms || st->lost)
        return;
    if (!loc_area_contains(r->loc, r->area, st->has_tai, &st->tai, st->has_ncgi, &st->ncgi,
                           &cause))
        return;
    if (r->filter == NULL || r->filter(r->ctx, key))
        r->n++;
}

int location_count_in_area(struct location *loc, const struct loc_area *area, int64_t now_ms,
                           int64_t max_age_ms, location_count_filter_fn filter, void *ctx,
                           unsigned k, uint64_t *count, bool *suppressed)
{
    *count = 0;
    *suppressed = false;
    if (loc_area_validate(area) != IOTSEC_OK || area->kind == LOC_AREA_NONE)
        return IOTSEC_ERR_INVALID;
    struct count_run r = {loc, area, max_age_ms > 0 ? now_ms - max_age_ms : 0, filter, ctx, 0};
    loc_devices_each(loc, count_one, &r);
    if (location_count_suppressed(r.n, k))
        *suppressed = true;
    else
        *count = r.n;
    return IOTSEC_OK;
}
