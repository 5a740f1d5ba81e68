/* Tier 2a: each device against its own past. IoT devices are creatures of habit (a meter
 * reports every few minutes to one head-end), so "much more than this device usually does"
 * is a signal that needs no knowledge of the malware.
 *
 * The baseline is a robust running median and MAD (median absolute deviation) per feature,
 * learnt online with a Huber-clipped EWMA: each window moves the median by at most 3 MADs,
 * so one burst cannot drag it, and only windows without an alarm are learnt, so an attack
 * does not become the norm. A window is abnormal when it exceeds median + k MADs AND an
 * absolute floor: MAD is near zero for a device that always sends one flow, and k MADs of
 * nothing would flag a second flow. */
#include <math.h>

#include "analytics/an_int.h"

#define ALPHA 0.0625f /* 1/16: a memory of about 16 active windows */

static bool above(float x, float med, float mad, float k, float floor_)
{
    float margin = k * mad;
    return x > med + (margin > floor_ ? margin : floor_);
}

static uint8_t level(float x, float med, float mad, float k)
{
    float l = (x - med) / (k * (mad > 1 ? mad : 1));
    return l >= 255 ? 255 : l < 1 ? 1 : (uint8_t)l;
}

void an_baseline_eval(const struct an_config *c, const struct an_device *d,
                      const struct an_features *ft, struct an_verdict *v)
{
    if (d->learned < c->warmup_windows)
        return;
    float k = c->baseline_k, x = (float)ft->flows_out;
    if (above(x, d->med_flows, d->mad_flows, k, (float)c->baseline_floor)) {
        enum an_exception e = AN_EXC_TOO_FREQUENT_SERVICE_ACCESS;
        v->raise |= (uint16_t)(1u << e);
        v->hold |= (uint16_t)(1u << e);
        v->ev[e] |= AN_EV_ABOVE_BASELINE;
        if (v->level[e] == 0) {
            v->level[e] = level(x, d->med_flows, d->mad_flows, k);
            v->source[e] = AN_SRC_BASELINE;
        }
    }
    float dst = (float)ft->distinct_dst;
    bool wide = above(dst, d->med_dst, d->mad_dst, k, (float)c->new_dst);
    if (wide && ft->new_dst >= c->new_dst) {
        /* Many destinations at once that neither it nor its peers ever contacted. */
        enum an_exception e = AN_EXC_WRONG_DESTINATION_ADDRESS;
        v->raise |= (uint16_t)(1u << e);
        v->hold |= (uint16_t)(1u << e);
        v->ev[e] |= AN_EV_NEW_DSTS;
        if (v->level[e] == 0) {
            v->level[e] = level(dst, d->med_dst, d->mad_dst, k);
            v->source[e] = AN_SRC_BASELINE;
        }
    }
}

static void learn(float *med, float *mad, float x, uint16_t n)
{
    if (n == 0) {
        *med = x;
        *mad = 1;
        return;
    }
    /* Fast start (a plain mean) for the first windows, then the fixed-memory EWMA. */
    float a = n < 16 ? 1.0f / (float)(n + 1) : ALPHA;
    float dev = x - *med, lim = 3 * (*mad > 1 ? *mad : 1);
    float clipped = dev > lim ? lim : dev < -lim ? -lim : dev;
    *med += a * clipped;
    float ad = fabsf(dev) > lim ? lim : fabsf(dev);
    *mad += a * (ad - *mad);
    if (*mad < 0.5f)
        *mad = 0.5f;
}

void an_baseline_learn(struct an_device *d, const struct an_features *ft)
{
    learn(&d->med_flows, &d->mad_flows, (float)ft->flows_out, d->learned);
    learn(&d->med_dst, &d->mad_dst, (float)ft->distinct_dst, d->learned);
    if (d->learned < UINT16_MAX)
        d->learned++;
}
