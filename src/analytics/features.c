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

/* Whether the far end answered: a SYN-ACK, a reply datagram, bytes back. A flood is
 * one-sided; polling is answered. */
static bool answered(const struct an_flow *f)
{
    if (f->outcome == AN_OUT_FAILED || f->outcome == AN_OUT_NOREPLY)
        return false;
    return f->outcome == AN_OUT_ESTABLISHED
               ? f->resp_pkts > 0 || f->resp_bytes > 0 || f->proto == AN_PROTO_TCP
               : f->resp_pkts > 0 || f->resp_bytes > 0;
}

/* Misra-Gries with one counter: if one destination has most of the window's flows (a
 * flood, a beacon), it ends up as the candidate. Beside the count: how many of its flows
 * went unanswered, repeated the first one's small request size, or were expected. */
static void track_top(struct an_window *w, const struct an_flow *f, uint32_t h, bool expl)
{
    if (w->top_count == 0 || w->top_hash == h) {
        if (w->top_hash != h || w->top_count == 0) {
            w->top_hash = h;
            w->top_flows = w->top_unans = w->top_same = w->top_expl = 0;
            w->top_size = f->orig_bytes <= 1024 ? (uint16_t)(f->orig_bytes + 1) : 0;
            w->top_dst = f->resp;
            w->top_port = f->resp_port;
            w->top_proto = f->proto;
        }
        w->top_count++;
        w->top_flows++;
        if (!answered(f))
            inc16(&w->top_unans);
        if (w->top_size && f->orig_bytes + 1 == w->top_size)
            inc16(&w->top_same);
        if (expl)
            inc16(&w->top_expl);
    } else {
        w->top_count--;
    }
}

static bool learnt_has(const struct an_device *d, uint64_t h)
{
    return an_bloom_test_set((uint8_t *)d->learnt, AN_LEARNT_BITS, h, false);
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

/* What the device is expected to contact: its MUD when its group has one (the maker's word);
 * else what it contacted, answered, during its learning period (by address or by the name
 * it resolved); and local discovery (multicast, broadcast) always. name: filled with the
 * DNS name of the far end when it was looked up (0: none). */
static bool expected(struct an_engine *e, uint32_t idx, const struct an_group *g,
                     const struct an_flow *f, uint64_t far_hash, bool failed, uint32_t *name)
{
    struct an_device *d = an_dev(e, idx);
    uint32_t a32 = (uint32_t)far_hash | 1u;
    for (int i = 0; i < AN_SUSPECTS; i++)
        if (d->suspect[i] == a32)
            return false; /* named by a finding: never expected again, never learnt */
    if (g->mud) {
        *name = e->dns.used ? an_dns_lookup(e, idx, a32, f->ts) : 0;
        return an_mud_permits(e, g->mud, idx, f, true, *name);
    }
    bool learning = d->learned < e->cfg.learn_windows;
    if (!learning && learnt_has(d, far_hash))
        return true;
    if ((failed || learning) && e->dns.used)
        *name = an_dns_lookup(e, idx, a32, f->ts);
    if (learning) {
        /* Learn only while no alarm is up: an infection during onboarding is not taught. */
        if (answered(f) && d->active == 0) {
            an_bloom_test_set(d->learnt, AN_LEARNT_BITS, far_hash, true);
            if (*name)
                an_bloom_test_set(d->learnt, AN_LEARNT_BITS, an_mix64(*name), true);
        }
        return false;
    }
    return *name != 0 && learnt_has(d, an_mix64(*name));
}

void an_features_add(struct an_engine *e, uint32_t idx, const struct an_flow *f, bool outbound,
                     uint64_t far_hash)
{
    struct an_device *d = an_dev(e, idx);
    struct an_group *g = &e->groups[d->group];
    const struct an_config *c = &e->cfg;
    struct an_window *w = &d->win;
    if (!outbound) { /* the device answered: volume only, the far end chose the device */
        w->flows_in++;
        add_sat32(&w->pkts_out, f->resp_pkts);
        add_sat32(&w->pkts_in, f->orig_pkts);
        add_sat32(&w->bytes_out, f->resp_bytes);
        add_sat32(&w->bytes_in, f->orig_bytes);
        return;
    }
    if (an_addr_is_discovery(&f->resp)) {
        /* Its LAN (SSDP, mDNS, DHCP: multicast and broadcast, nobody's victim, no service it
         * uses): volume only, not flows, destinations or targets. */
        add_sat32(&w->pkts_out, f->orig_pkts);
        add_sat32(&w->bytes_out, f->orig_bytes);
        return;
    }
    uint32_t h = (uint32_t)far_hash | 1; /* never 0: 0 marks an empty suspect slot */
    bool tcp_open = f->proto == AN_PROTO_TCP &&
                    (f->outcome == AN_OUT_ESTABLISHED || f->outcome == AN_OUT_FAILED);
    bool failed = tcp_open && f->outcome == AN_OUT_FAILED;
    uint32_t name = 0;
    bool expl = expected(e, idx, g, f, far_hash, failed, &name);
    w->flows_out++;
    add_sat32(&w->pkts_out, f->orig_pkts);
    add_sat32(&w->pkts_in, f->resp_pkts);
    add_sat32(&w->bytes_out, f->orig_bytes);
    add_sat32(&w->bytes_in, f->resp_bytes);
    hll_add(w->hll_dst, AN_DST_HLL_P, far_hash);
    track_top(w, f, h, expl);
    if (d->group != 0)
        an_peers_grew(g, w->flows_out);
    track_known(d, far_hash, g->known);
    if (g->mud && !expl) {
        inc16(&w->mud_out);
        w->fail_hash = h;
        an_cold(e, idx)->fail_dst = f->resp;
        w->fail_port = f->resp_port;
        w->fail_proto = f->proto;
    }
    if (tcp_open) {
        inc16(&w->tcp_open);
        if (failed) {
            inc16(&w->tcp_failed);
            if (expl)
                inc16(&w->fail_expl);
            w->fail_hash = h;
            w->fail_key = name ? name : h;
            an_cold(e, idx)->fail_dst = f->resp;
            w->fail_port = f->resp_port;
            w->fail_proto = AN_PROTO_TCP;
        }
    }
    if (!w->marked && (w->tcp_failed || w->top_flows >= c->fleet_flows)) {
        /* The close's fleet tallies (outage, votes) need this device: list it once. */
        w->marked = 1;
        e->marked[e->nmarked++] = d->touched_at - 1;
    }
    for (int i = 0; i < AN_SUSPECTS; i++)
        if (d->suspect[i] == h)
            inc16(&w->suspect_hits);
    if (f->duration >= LONG_FLOW_S)
        inc16(&w->long_flows);
    /* A flood inside one flow sends: a download's acknowledgements are no flood. */
    if (f->duration >= 1.0 && (double)f->orig_pkts / f->duration >= c->rate_pps &&
        f->orig_bytes > f->resp_bytes)
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
    if (w->flows_out > 0)
        out->distinct_dst = hll_estimate(w->hll_dst, AN_DST_HLL_P);
    out->tcp_open = w->tcp_open;
    out->tcp_failed = w->tcp_failed;
    out->fail_ratio = w->tcp_open ? (double)w->tcp_failed / w->tcp_open : 0;
    out->new_dst = w->new_dst;
    out->suspect_hits = w->suspect_hits;
    out->long_flows = w->long_flows;
    out->rate_flows = w->rate_flows;
    out->top_flows = w->top_flows;
    out->top_unans = w->top_unans;
    out->top_same = w->top_same;
    out->top_expl = w->top_expl;
    out->fail_expl = w->fail_expl;
    out->mud_out = w->mud_out;
}

void an_features_reset(struct an_engine *e, uint32_t idx)
{
    struct an_device *d = an_dev(e, idx);
    /* memset, not field by field: the raw destinations must not outlive the window. The
     * cold one was written only with fail_hash (never 0 then): its line is read only then. */
    if (d->win.fail_hash)
        memset(&an_cold(e, idx)->fail_dst, 0, sizeof(struct an_addr));
    memset(&d->win, 0, sizeof(d->win));
    d->touched_at = 0;
}
