/* Per device, per window features: what one record adds, and what the detectors read at
 * the window's close. Counting is O(1) per record and allocation-free; the record itself is
 * not kept. */
#include <string.h>

#include "analytics/an_int.h"

#define LONG_FLOW_S 3600.0 /* an hour: a "long-lived" flow */

static inline void add_sat32(uint32_t *x, uint64_t v)
{
    uint64_t s = (uint64_t)*x + v;
    *x = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static inline void inc16(uint16_t *x)
{
    if (*x != UINT16_MAX)
        (*x)++;
}

/* Misra-Gries with one counter: if one destination has most of the window's flows (a
 * flood, a beacon), it ends up as the candidate. */
static void track_top(struct an_window *w, const struct an_flow *f, uint32_t h)
{
    if (w->top_count == 0 || w->top_hash == h) {
        if (w->top_hash != h || w->top_count == 0) {
            w->top_hash = h;
            w->top_flows = 0;
            w->top_dst = f->resp;
            w->top_port = f->resp_port;
            w->top_proto = f->proto;
        }
        w->top_count++;
        w->top_flows++;
    } else {
        w->top_count--;
    }
}

/* Destinations never seen by the device nor (for a grouped device) by any of its peers. */
static void track_known(struct an_device *d, uint64_t h, uint8_t *group_known)
{
    bool seen_dev = an_bloom_test_set(d->known, AN_KNOWN_BITS, h, true);
    bool seen_group = group_known && an_bloom_test_set(group_known, AN_GROUP_KNOWN_BITS, h, true);
    if (seen_dev)
        return;
    if (!seen_group)
        inc16(&d->win.new_dst);
    /* A 256-bit filter holds ~40 destinations at a few % false positives; an IoT device has
     * far fewer. Past 64 it is mostly ones: start afresh rather than answer "seen". */
    if (++d->known_n > 64) {
        memset(d->known, 0, sizeof(d->known));
        d->known_n = 0;
    }
}

void an_features_add(struct an_device *d, const struct an_flow *f, bool outbound, uint64_t far_hash,
                     const struct an_config *c, uint8_t *group_known)
{
    struct an_window *w = &d->win;
    if (!outbound) { /* the device answered: volume only, the far end chose the device */
        w->flows_in++;
        add_sat32(&w->pkts_out, f->resp_pkts);
        add_sat32(&w->pkts_in, f->orig_pkts);
        add_sat32(&w->bytes_out, f->resp_bytes);
        add_sat32(&w->bytes_in, f->orig_bytes);
        return;
    }
    uint32_t h = (uint32_t)far_hash | 1; /* never 0: 0 marks an empty suspect slot */
    w->flows_out++;
    add_sat32(&w->pkts_out, f->orig_pkts);
    add_sat32(&w->pkts_in, f->resp_pkts);
    add_sat32(&w->bytes_out, f->orig_bytes);
    add_sat32(&w->bytes_in, f->resp_bytes);
    hll_add(w->hll_dst, AN_DST_HLL_P, far_hash);
    hll_add(w->hll_port, AN_PORT_HLL_P, an_mix64((uint64_t)f->resp_port << 8 | f->proto));
    track_top(w, f, h);
    track_known(d, far_hash, group_known);
    if (f->proto == AN_PROTO_TCP &&
        (f->outcome == AN_OUT_ESTABLISHED || f->outcome == AN_OUT_FAILED)) {
        inc16(&w->tcp_open);
        if (f->outcome == AN_OUT_FAILED) {
            inc16(&w->tcp_failed);
            w->fail_hash = h;
            w->fail_dst = f->resp;
            w->fail_port = f->resp_port;
        }
    }
    for (int i = 0; i < AN_SUSPECTS; i++)
        if (d->suspect[i] == h)
            inc16(&w->suspect_hits);
    if (f->duration >= LONG_FLOW_S)
        inc16(&w->long_flows);
    if (f->duration >= 1.0 && (double)f->orig_pkts / f->duration >= c->rate_pps)
        inc16(&w->rate_flows);
}

void an_features_compute(const struct an_device *d, struct an_features *out)
{
    const struct an_window *w = &d->win;
    memset(out, 0, sizeof(*out));
    out->flows_out = w->flows_out;
    out->flows_in = w->flows_in;
    out->flows = w->flows_out + w->flows_in;
    out->bytes = (uint64_t)w->bytes_out + w->bytes_in;
    if (w->flows_out > 0) {
        out->distinct_dst = hll_estimate(w->hll_dst, AN_DST_HLL_P);
        out->distinct_ports = hll_estimate(w->hll_port, AN_PORT_HLL_P);
    }
    out->tcp_open = w->tcp_open;
    out->tcp_failed = w->tcp_failed;
    out->fail_ratio = w->tcp_open ? (double)w->tcp_failed / w->tcp_open : 0;
    out->new_dst = w->new_dst;
    out->suspect_hits = w->suspect_hits;
    out->long_flows = w->long_flows;
    out->rate_flows = w->rate_flows;
    out->top_flows = w->top_flows;
}

void an_features_reset(struct an_device *d)
{
    /* memset, not field by field: the raw destinations must not outlive the window. */
    memset(&d->win, 0, sizeof(d->win));
    d->window = -1;
}
