/* Closing a window: every device that was active (or has an alarm up) goes through the
 * three tiers, its alarms settle, findings and per-window verdicts are reported, and its
 * window state is wiped. Two passes, because the peer and fleet tiers need the whole
 * window's tallies before they can judge any one device. */
#include <stdlib.h>
#include <string.h>

#include "analytics/an_int.h"

/* A device votes for a victim when one destination took most of its flows, and many. */
static bool votes(const struct an_config *c, const struct an_window *w)
{
    /* Not for what the device is made to use (its cloud, local discovery): a fleet retrying
     * its own dead endpoint is an outage (detect_outage.c), not a botnet. */
    return w->top_flows >= c->fleet_flows && 2 * (uint64_t)w->top_flows > w->flows_out &&
           2 * (uint32_t)w->top_expl < w->top_flows;
}

static unsigned ratio_of(uint32_t part, uint32_t whole)
{
    if (whole == 0)
        return 100;
    uint64_t r = (100ull * part + whole - 1) / whole;
    return r < 1 ? 1 : r > 100 ? 100 : (unsigned)r;
}

static unsigned involved(const struct an_device *d, enum an_exception x)
{
    const struct an_window *w = &d->win;
    switch (x) {
    case AN_EXC_WRONG_DESTINATION_ADDRESS:
        return ratio_of((uint32_t)w->tcp_failed - w->fail_expl + w->suspect_hits + w->mud_out,
                        w->flows_out);
    case AN_EXC_SUSPICION_OF_DDOS_ATTACK:
        return ratio_of(w->top_flows, w->flows_out);
    case AN_EXC_UNEXPECTED_LARGE_RATE_FLOW:
        return ratio_of(w->rate_flows, w->flows_out);
    default:
        return 100;
    }
}

/* Confidence follows the evidence: fleet convergence, or two independent signals in the
 * device's window, are high (>= 90: the default policy's bar for isolation); one signal
 * raising is 70 (60 for the statistical tiers), an alarm merely held is 50. */
static unsigned confidence_of(const struct an_device *d, const struct an_verdict *v,
                              enum an_exception x, enum an_source src, uint16_t all)
{
    if (src == AN_SRC_FLEET)
        return 95;
    if (!(v->raise >> x & 1))
        return 50;
    if (__builtin_popcount(all & ~(unsigned)AN_EV_NAMED_DST) >= 2)
        return 90;
    (void)d;
    return src == AN_SRC_RULE ? 70 : 60;
}

static void fill_evidence(const struct an_engine *e, const struct an_device *d,
                          const struct an_features *ft, const struct an_verdict *v,
                          enum an_exception x, uint16_t all, struct an_evidence *ev)
{
    ev->signals = v->ev[x];
    ev->window = all;
    ev->flows_out = ft->flows_out;
    ev->tcp_failed = ft->tcp_failed;
    ev->fail_expected = ft->fail_expl;
    ev->top_flows = ft->top_flows;
    ev->top_unanswered = ft->top_unans;
    ev->top_identical = ft->top_same;
    ev->mud_out = ft->mud_out;
    ev->new_dst = ft->new_dst;
    ev->distinct_dst = (uint32_t)(ft->distinct_dst + 0.5);
    ev->baseline_flows = d->learned >= e->cfg.warmup_windows ? d->med_flows : 0;
    ev->peer_median = v->peer_median;
    ev->fleet_devices = v->fleet_devices;
    ev->learning = ft->learning;
    ev->mud = e->groups[d->group].mud != NULL;
}

static void emit(struct an_engine *e, uint32_t idx, const struct an_verdict *v,
                 const struct an_features *ft, uint16_t all, enum an_exception x)
{
    const struct an_device *d = an_dev(e, idx);
    const struct an_cold *cold = an_cold(e, idx);
    const struct an_window *w = &d->win;
    struct an_finding f;
    memset(&f, 0, sizeof(f));
    memcpy(f.device, cold->pseudonym, 16);
    f.window = e->base + e->cur;
    f.window_s = e->cfg.window_s;
    f.exc = x;
    f.source = v->level[x] ? (enum an_source)v->source[x] : AN_SRC_RULE;
    f.level = v->level[x] ? v->level[x] : (d->last_level[x] ? d->last_level[x] : 1);
    unsigned prev = d->last_level[x];
    f.trend = prev == 0        ? AN_TREND_UP
              : f.level > prev ? AN_TREND_UP
              : f.level < prev ? AN_TREND_DOWN
                               : AN_TREND_STABLE;
    f.ratio = involved(d, x);
    f.confidence = confidence_of(d, v, x, f.source, all);
    fill_evidence(e, d, ft, v, x, all, &f.ev);
    static const struct an_addr zero;
    if (v->want_addr[x] == 1 && memcmp(&w->top_dst, &zero, sizeof(zero))) {
        f.has_addr = true, f.addr = w->top_dst, f.port = w->top_port, f.proto = w->top_proto;
    } else if (v->want_addr[x] == 2 && w->fail_hash &&
               memcmp(&cold->fail_dst, &zero, sizeof(zero))) {
        f.has_addr = true, f.addr = cold->fail_dst, f.port = w->fail_port, f.proto = w->fail_proto;
    }
    f.freq = (double)(w->flows_out + w->flows_in) / e->cfg.window_s;
    f.vol = (uint64_t)w->bytes_out + w->bytes_in;
    e->findings++;
    if (e->on_finding)
        e->on_finding(e->cb_arg, &f);
}

static void fleet_verdict(struct an_engine *e, const struct an_device *d,
                          const struct an_features *ft, struct an_verdict *v)
{
    /* Once the crowd has shown the victim, a device sending it a quarter of the voting
     * threshold is part of the attack too (the victim's hysteresis, per device). */
    uint32_t n, join = e->cfg.fleet_flows / 4 > 2 ? e->cfg.fleet_flows / 4 : 2;
    if (ft->top_flows < join || !an_fleet_victim(e->fleet, d->win.top_hash, &n))
        return;
    enum an_exception x = AN_EXC_SUSPICION_OF_DDOS_ATTACK;
    v->raise |= (uint16_t)(1u << x);
    v->hold |= (uint16_t)(1u << x);
    unsigned level = n / e->cfg.fleet_devices;
    v->level[x] = (uint8_t)(level > 255 ? 255 : level < 1 ? 1 : level);
    v->source[x] = AN_SRC_FLEET;
    v->want_addr[x] = 1;
    v->ev[x] |= AN_EV_FLEET;
    v->fleet_devices = n;
}

static void judge(struct an_engine *e, uint32_t idx, bool touched, uint32_t **alarmed, uint32_t *n,
                  uint32_t *cap)
{
    const struct an_config *c = &e->cfg;
    struct an_device *d = an_dev(e, idx);
    struct an_features ft;
    struct an_verdict v;
    memset(&v, 0, sizeof(v));
    const struct an_group *g = &e->groups[d->group];
    if (d->group != 0 && g->outage)
        d->win.fail_expl = d->win.tcp_failed; /* shared by most of its fleet: an outage */
    v.peer_median = d->group != 0 ? g->median : 0;
    an_features_compute(d, &ft);
    ft.learning = d->learned < c->learn_windows;
    an_rules_eval(c, d, &ft, &v);
    an_baseline_eval(c, d, &ft, &v);
    an_signal_eval(c, d, &v);
    if (d->group != 0)
        an_peers_eval(c, &e->groups[d->group], &ft, &v);
    fleet_verdict(e, d, &ft, &v);
    an_rules_settle(c, d, &v);
    if ((d->active >> AN_EXC_WRONG_DESTINATION_ADDRESS & 1) &&
        (d->win.tcp_failed || d->win.mud_out))
        an_rules_remember(d, d->win.fail_hash);
    uint16_t all = 0;
    for (int x = 0; d->active && x < AN_EXC_COUNT; x++) /* most devices: no alarm up */
        if (d->active >> x & 1)
            all |= v.ev[x];
    for (int x = 0; d->active && x < AN_EXC_COUNT; x++)
        if (d->active >> x & 1)
            emit(e, idx, &v, &ft, all, (enum an_exception)x);
    if (touched && e->on_window)
        e->on_window(e->cb_arg, idx, e->base + e->cur, d->active != 0);
    if (touched && d->active == 0) {
        an_baseline_learn(d, &ft);
        an_signal_learn(d);
    }
    if (d->active == 0)
        memset(d->last_level, 0, sizeof(d->last_level));
    for (int x = 0; d->active && x < AN_EXC_COUNT; x++)
        d->last_level[x] = (d->active >> x & 1) ? (v.level[x] ? v.level[x] : 1) : 0;
    if (d->active)
        an_list_push(alarmed, n, cap, idx); /* on NOMEM the alarm clears early: no crash */
    an_features_reset(e, idx);
}

static int by_position(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void an_window_close(struct an_engine *e)
{
    const struct an_config *c = &e->cfg;
    /* The peer histograms were kept as records came (an_peers_grew); what is left before
     * judging anyone are the fleet tallies, and only the marked devices can take part in
     * them: a failed opening (outage) or fleet_flows to one destination (a vote). They are
     * tallied in the order they were touched, as if every touched device were visited. */
    e->closing = true;
    qsort(e->marked, e->nmarked, sizeof(*e->marked), by_position);
    for (uint32_t i = 0; i < e->nmarked; i++) {
        if (i + 8 < e->nmarked) { /* the window's counters and the group: lines 0 and 2 */
            const char *p = (const char *)an_dev(e, e->touched[e->marked[i + 8]]);
            __builtin_prefetch(p);
            __builtin_prefetch(p + 128);
        }
        uint32_t idx = e->touched[e->marked[i]];
        struct an_device *d = an_dev(e, idx);
        if (d->group != 0)
            an_outage_tally(&e->groups[d->group], d, an_cold(e, idx));
        if (votes(c, &d->win))
            an_fleet_tally(e->fleet, d->win.top_hash, &d->win.top_dst);
    }
    e->nmarked = 0;
    for (uint32_t g = 0; g < e->ngroups; g++) {
        an_outage_close(e, &e->groups[g]); /* before the peers' close resets `active` */
        an_peers_close(c, &e->groups[g]);
    }
    an_fleet_close(c, e->fleet);

    uint32_t *alarmed = NULL, n = 0, cap = 0, learners = 0;
    /* Devices with an alarm up but silent this window first: a touched one still has its
     * touched_at here, and is judged with the touched below. */
    for (uint32_t i = 0; i < e->nalarmed; i++)
        if (an_dev(e, e->alarmed[i])->touched_at == 0)
            judge(e, e->alarmed[i], false, &alarmed, &n, &cap);
    for (uint32_t i = 0; i < e->ntouched; i++) {
        if (i + 4 < e->ntouched) { /* the whole state is read: fetch it ahead */
            const char *p = (const char *)an_dev(e, e->touched[i + 4]);
            for (size_t off = 0; off < sizeof(struct an_device); off += 64)
                __builtin_prefetch(p + off, 1);
        }
        judge(e, e->touched[i], true, &alarmed, &n, &cap);
        learners += e->groups[an_dev(e, e->touched[i])->group].mud == NULL;
    }
    e->learners = learners;
    free(e->alarmed);
    e->alarmed = alarmed;
    e->nalarmed = n;
    e->calarmed = cap;
    e->ntouched = 0;
    e->closing = false;
}
