/* Tier 1: rules with thresholds, and the hysteresis that keeps them from flapping.
 *
 * Each rule has a high mark that raises an alarm and a low mark that holds one already up
 * (a Schmitt trigger); an alarm clears after `clear_windows` windows without even the low
 * mark. The marks are behaviour any IoT device shows the same way, whatever its maker:
 *   - failed TCP openings (SYN never answered, or refused): a client that is working talks
 *     to servers that answer; three new connections in one window that all go unanswered
 *     is a program retrying a dead or blocked peer (a C&C server, a scan target), not a
 *     transient loss, which TCP itself retries inside one connection;
 *   - one destination taking `flood_flows` connections a window (~2/s), most of them
 *     unanswered or one-sided, and not a destination the device is for: a flood (polling a
 *     hub is answered; retrying the device's own dead cloud is an outage);
 *   - flows outside the device's MUD: a wrong destination, whatever their outcome;
 *   - many destinations with mostly failing openings: a scan;
 *   - one flow at `rate_pps` uplink packets/s: a flood inside one 5-tuple. */
#include "analytics/an_int.h"

static uint8_t level_of(double value, double mark)
{
    double l = mark > 0 ? value / mark : 1;
    return l >= 255 ? 255 : l < 1 ? 1 : (uint8_t)l;
}

static void evidence(struct an_verdict *v, enum an_exception e, bool raise, bool hold,
                     uint8_t level, enum an_source src, uint16_t ev)
{
    if (!raise && !hold)
        return;
    if (raise)
        v->raise |= (uint16_t)(1u << e);
    v->hold |= (uint16_t)(1u << e);
    v->ev[e] |= ev;
    if (level > v->level[e]) {
        v->level[e] = level;
        v->source[e] = (uint8_t)src;
    } else if (v->level[e] == 0) {
        v->level[e] = 1;
        v->source[e] = (uint8_t)src;
    }
}

/* Flood evidence about the window's top destination, beyond its count: use is answered
 * (polling a hub 3,000 times is answered 3,000 times), abuse is one-sided and repetitive and
 * far above what the device and its peers do. */
static uint16_t flood_signals(const struct an_config *c, const struct an_device *d,
                              const struct an_features *ft, uint32_t peer_median)
{
    uint16_t ev = 0;
    if (2 * (uint64_t)ft->top_unans >= ft->top_flows && ft->top_flows > 0)
        ev |= AN_EV_UNANSWERED;
    if (10 * (uint64_t)ft->top_same >= 8 * (uint64_t)ft->top_flows && ft->top_flows > 0)
        ev |= AN_EV_IDENTICAL;
    float margin = c->baseline_k * d->mad_flows;
    if (margin < (float)c->baseline_floor)
        margin = (float)c->baseline_floor;
    if (d->learned >= c->warmup_windows && (float)ft->flows_out > d->med_flows + margin)
        ev |= AN_EV_ABOVE_BASELINE;
    if (peer_median && ft->flows_out > (uint64_t)peer_median * c->peer_factor &&
        ft->flows_out >= c->baseline_floor)
        ev |= AN_EV_ABOVE_PEERS;
    return ev;
}

void an_rules_eval(const struct an_config *c, const struct an_device *d,
                   const struct an_features *ft, struct an_verdict *v)
{
    bool scan_wide = ft->distinct_dst >= c->scan_dsts;
    bool scan = (scan_wide && ft->fail_ratio >= 0.5 && ft->tcp_failed >= c->scan_dsts / 2) ||
                ft->distinct_dst >= 4.0 * c->scan_dsts;
    /* Failures to what the device is for (its MUD, its learnt destinations, an endpoint its
     * whole fleet is failing on) are an outage, not a C&C hunt. */
    uint32_t unexp =
        ft->tcp_failed - (ft->fail_expl < ft->tcp_failed ? ft->fail_expl : ft->tcp_failed);
    bool fail_high = unexp >= c->fail_raise && !scan;
    bool mud_high = ft->mud_out >= c->fail_raise && !scan;
    bool fail_low = unexp >= c->fail_hold || ft->suspect_hits > 0 || ft->mud_out > 0;
    bool streak = (unsigned)d->raise_streak + 1 >= c->raise_windows;
    uint16_t wrong = (uint16_t)((ft->mud_out >= c->fail_raise ? AN_EV_MUD : 0) |
                                (fail_high && !ft->mud_out ? AN_EV_FAILED : 0) |
                                (ft->suspect_hits ? AN_EV_NAMED_DST : 0));
    if (ft->mud_out && fail_high && unexp > ft->mud_out)
        wrong |= AN_EV_FAILED; /* failures beside the MUD violations, not the same flows */

    evidence(v, AN_EXC_WRONG_DESTINATION_ADDRESS, (fail_high || mud_high) && streak, fail_low,
             level_of(unexp > ft->mud_out ? unexp : ft->mud_out, c->fail_raise), AN_SRC_RULE,
             wrong);
    if (fail_high || fail_low)
        v->want_addr[AN_EXC_WRONG_DESTINATION_ADDRESS] =
            d->win.tcp_failed || d->win.mud_out ? 2 : 0;
    evidence(v, AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, scan && streak,
             scan || (ft->tcp_failed >= c->fail_raise && scan_wide),
             level_of(ft->distinct_dst, c->scan_dsts), AN_SRC_RULE, scan ? AN_EV_SCAN : 0);
    /* A flood needs more than a count: the target did not answer most of it, and it is not
     * what the device is for (its own cloud retried in a loop is an outage). */
    uint16_t fl = flood_signals(c, d, ft, v->peer_median);
    bool target_expected = 2 * (uint64_t)ft->top_expl >= ft->top_flows && ft->top_flows > 0;
    bool flood = ft->top_flows >= c->flood_flows && (fl & AN_EV_UNANSWERED) && !target_expected;
    evidence(v, AN_EXC_SUSPICION_OF_DDOS_ATTACK, flood,
             ft->top_flows >= c->flood_flows / 4 && !target_expected &&
                 (d->active >> AN_EXC_SUSPICION_OF_DDOS_ATTACK & 1),
             level_of(ft->top_flows, c->flood_flows), AN_SRC_RULE, flood ? fl : 0);
    if (ft->top_flows >= c->flood_flows / 4)
        v->want_addr[AN_EXC_SUSPICION_OF_DDOS_ATTACK] = 1;
    evidence(v, AN_EXC_UNEXPECTED_LARGE_RATE_FLOW, ft->rate_flows > 0, ft->rate_flows > 0,
             level_of(ft->rate_flows, 1), AN_SRC_RULE, ft->rate_flows ? AN_EV_RATE : 0);
}

static unsigned quiet_of(uint32_t q, int e)
{
    return q >> (3 * e) & 7;
}

static uint32_t quiet_set(uint32_t q, int e, unsigned n)
{
    n = n > 7 ? 7 : n;
    return (q & ~(7u << (3 * e))) | n << (3 * e);
}

void an_rules_settle(const struct an_config *c, struct an_device *d, struct an_verdict *v)
{
    bool high = (v->raise >> AN_EXC_WRONG_DESTINATION_ADDRESS & 1) ||
                (uint32_t)(d->win.tcp_failed - d->win.fail_expl) >= c->fail_raise;
    d->raise_streak = high ? (uint8_t)(d->raise_streak < 255 ? d->raise_streak + 1 : 255) : 0;
    if ((v->raise | d->active) == 0)
        return; /* most devices, most windows: nothing raised, nothing up to hold or clear */
    for (int e = 0; e < AN_EXC_COUNT; e++) {
        uint16_t bit = (uint16_t)(1u << e);
        if (v->raise & bit) {
            d->active |= bit;
            d->quiet = quiet_set(d->quiet, e, 0);
        } else if (d->active & bit) {
            if (v->hold & bit) {
                d->quiet = quiet_set(d->quiet, e, 0);
            } else {
                unsigned q = quiet_of(d->quiet, e) + 1;
                d->quiet = quiet_set(d->quiet, e, q);
                if (q >= c->clear_windows) {
                    d->active &= (uint16_t)~bit;
                    d->quiet = quiet_set(d->quiet, e, 0);
                }
            }
        }
    }
}

void an_rules_remember(struct an_device *d, uint32_t dst_hash)
{
    if (dst_hash == 0 || d->suspect[0] == dst_hash)
        return;
    /* Two slots, most recent first: a bot that alternates between two C&C addresses (as the
     * Hakai capture does) keeps both. */
    if (d->suspect[1] == dst_hash) {
        d->suspect[1] = d->suspect[0];
        d->suspect[0] = dst_hash;
        return;
    }
    d->suspect[1] = d->suspect[0];
    d->suspect[0] = dst_hash;
}
