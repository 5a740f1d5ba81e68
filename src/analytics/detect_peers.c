/* Tier 2b: each device against its peers. Thousands of meters of one enrollment run the
 * same firmware on the same schedule, so in any window they look alike; one that sends
 * `peer_factor` times what the group's median member sends is odd, even on its first day
 * (when it has no baseline of its own) and even if it was compromised before we met it.
 *
 * The group's median comes from a log2 histogram of its members' flows in the window, so a
 * group costs 33 counters whatever its size; the median is taken at the top of its bucket,
 * which errs towards not flagging. Groups of fewer than `peer_min` active members (and the
 * "no group" group 0) are not compared. */
#include "analytics/an_int.h"

static unsigned bucket_of(uint32_t flows)
{
    return flows == 0 ? 0 : 32 - (unsigned)__builtin_clz(flows);
}

void an_peers_enter(struct an_group *g)
{
    g->hist[0]++; /* no flows yet: an_peers_grew moves it up */
    g->active++;
}

void an_peers_leave(struct an_group *g, uint32_t flows_out)
{
    g->hist[bucket_of(flows_out)]--;
    g->active--;
}

void an_peers_close(const struct an_config *c, struct an_group *g)
{
    g->median = 0;
    if (g->id != 0 && g->active >= c->peer_min) {
        uint32_t half = (g->active + 1) / 2, seen = 0;
        for (unsigned b = 0; b < 33; b++) {
            seen += g->hist[b];
            if (seen >= half) {
                g->median = b == 0 ? 1 : (b >= 32 ? UINT32_MAX : (1u << b)); /* the top */
                break;
            }
        }
    }
    for (unsigned b = 0; b < 33; b++)
        g->hist[b] = 0;
    g->active = 0;
}

void an_peers_eval(const struct an_config *c, const struct an_group *g,
                   const struct an_features *ft, struct an_verdict *v)
{
    if (g == NULL || g->median == 0)
        return;
    uint64_t limit = (uint64_t)g->median * c->peer_factor;
    if (ft->flows_out < c->baseline_floor || ft->flows_out <= limit)
        return;
    enum an_exception e = AN_EXC_TOO_FREQUENT_SERVICE_ACCESS;
    v->raise |= (uint16_t)(1u << e);
    v->hold |= (uint16_t)(1u << e);
    v->ev[e] |= AN_EV_ABOVE_PEERS;
    if (v->level[e] == 0) {
        uint64_t l = ft->flows_out / limit;
        v->level[e] = l >= 255 ? 255 : l < 1 ? 1 : (uint8_t)l;
        v->source[e] = AN_SRC_PEERS;
    }
}
