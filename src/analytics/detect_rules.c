/* Tier 1: rules with thresholds, and the hysteresis that keeps them from flapping.
 *
 * Each rule has a high mark that raises an alarm and a low mark that holds one already up
 * (a Schmitt trigger); an alarm clears after `clear_windows` windows without even the low
 * mark. The marks are behaviour any IoT device shows the same way, whatever its maker:
 *   - failed TCP openings (SYN never answered, or refused): a client that is working talks
 *     to servers that answer; three new connections in one window that all go unanswered
 *     is a program retrying a dead or blocked peer (a C&C server, a scan target), not a
 *     transient loss, which TCP itself retries inside one connection;
 *   - one destination taking `flood_flows` connections a window (~2/s): a flood;
 *   - many destinations with mostly failing openings: a scan;
 *   - one flow at `rate_pps` uplink packets/s: a flood inside one 5-tuple. */
#include "analytics/an_int.h"

static uint8_t level_of(double value, double mark)
{
    double l = mark > 0 ? value / mark : 1;
    return l >= 255 ? 255 : l < 1 ? 1 : (uint8_t)l;
}

static void evidence(struct an_verdict *v, enum an_exception e, bool raise, bool hold,
                     uint8_t level, enum an_source src)
{
    if (!raise && !hold)
        return;
    if (raise)
        v->raise |= (uint16_t)(1u << e);
    v->hold |= (uint16_t)(1u << e);
    if (level > v->level[e]) {
        v->level[e] = level;
        v->source[e] = (uint8_t)src;
    } else if (v->level[e] == 0) {
        v->level[e] = 1;
        v->source[e] = (uint8_t)src;
    }
}

void an_rules_eval(const struct an_config *c, const struct an_device *d,
                   const struct an_features *ft, struct an_verdict *v)
{
    bool scan_wide = ft->distinct_dst >= c->scan_dsts;
    bool scan = (scan_wide && ft->fail_ratio >= 0.5 && ft->tcp_failed >= c->scan_dsts / 2) ||
                ft->distinct_dst >= 4.0 * c->scan_dsts;
    bool fail_high = ft->tcp_failed >= c->fail_raise && !scan;
    bool fail_low = ft->tcp_failed >= c->fail_hold || ft->suspect_hits > 0;
    bool streak = (unsigned)d->raise_streak + 1 >= c->raise_windows;

    evidence(v, AN_EXC_WRONG_DESTINATION_ADDRESS, fail_high && streak, fail_low,
             level_of(ft->tcp_failed, c->fail_raise), AN_SRC_RULE);
    if (fail_high || fail_low)
        v->want_addr[AN_EXC_WRONG_DESTINATION_ADDRESS] = d->win.tcp_failed ? 2 : 0;
    evidence(v, AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, scan && streak,
             scan || (ft->tcp_failed >= c->fail_raise && scan_wide),
             level_of(ft->distinct_dst, c->scan_dsts), AN_SRC_RULE);
    evidence(v, AN_EXC_SUSPICION_OF_DDOS_ATTACK, ft->top_flows >= c->flood_flows,
             ft->top_flows >= c->flood_flows / 4 &&
                 (d->active >> AN_EXC_SUSPICION_OF_DDOS_ATTACK & 1),
             level_of(ft->top_flows, c->flood_flows), AN_SRC_RULE);
    if (ft->top_flows >= c->flood_flows / 4)
        v->want_addr[AN_EXC_SUSPICION_OF_DDOS_ATTACK] = 1;
    evidence(v, AN_EXC_UNEXPECTED_LARGE_RATE_FLOW, ft->rate_flows > 0, ft->rate_flows > 0,
             level_of(ft->rate_flows, 1), AN_SRC_RULE);
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
    bool high =
        (v->raise >> AN_EXC_WRONG_DESTINATION_ADDRESS & 1) || d->win.tcp_failed >= c->fail_raise;
    d->raise_streak = high ? (uint8_t)(d->raise_streak < 255 ? d->raise_streak + 1 : 255) : 0;
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
