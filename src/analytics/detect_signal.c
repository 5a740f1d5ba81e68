/* Signalling detectors: what the control plane sees of a device (TS 23.288 abnormal
 * behaviour exceptions that flows cannot show). Same Schmitt trigger as the rules: a high
 * mark raises, any evidence holds, quiet windows clear (an_rules_settle).
 *   - UNEXPECTED_RADIO_LINK_FAILURES: a fixed meter loses its radio link rarely; three
 *     failures in a window is a jammer, a failing modem or a device being moved about.
 *   - PING_PONG_ACROSS_CELLS: coming back to the cell before last, three times in a window,
 *     is a device on a cell border (or spoofing cells), not a device going somewhere.
 *   - TOO_FREQUENT_SERVICE_ACCESS: twenty registrations and service requests a window is
 *     one every three seconds: a device that cannot sleep (a signalling storm).
 *   - UNEXPECTED_WAKEUP: a device whose learnt baseline says it never wakes up through the
 *     control plane (fewer than one wake-up in twenty windows) suddenly does. */
#include <string.h>

#include "analytics/an_int.h"
#include "base/err.h"

static const char *const kind_names[AN_SIG_COUNT] = {"registration", "service_request",
                                                     "location_update", "radio_link_failure"};

int an_signal_kind_parse(const char *name, enum an_signal_kind *out)
{
    for (int k = 0; name != NULL && k < AN_SIG_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (enum an_signal_kind)k;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_INVALID;
}

static uint8_t level_of(unsigned value, unsigned mark)
{
    unsigned l = mark ? value / mark : 1;
    return (uint8_t)(l >= 255 ? 255 : l < 1 ? 1 : l);
}

static void evidence(struct an_verdict *v, enum an_exception x, bool raise, bool hold,
                     uint8_t level)
{
    if (!raise && !hold)
        return;
    if (raise)
        v->raise |= (uint16_t)(1u << x);
    v->hold |= (uint16_t)(1u << x);
    v->ev[x] |= AN_EV_SIGNALLING;
    if (level > v->level[x]) {
        v->level[x] = level;
        v->source[x] = AN_SRC_RULE;
    }
}

void an_signal_eval(const struct an_config *c, const struct an_device *d, struct an_verdict *v)
{
    const struct an_window *w = &d->win;
    evidence(v, AN_EXC_UNEXPECTED_RADIO_LINK_FAILURES, w->rlf >= c->rlf_raise, w->rlf > 0,
             level_of(w->rlf, c->rlf_raise));
    evidence(v, AN_EXC_PING_PONG_ACROSS_CELLS, w->pingpong >= c->pingpong_raise,
             w->pingpong > 0, level_of(w->pingpong, c->pingpong_raise));
    evidence(v, AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, w->wakeups >= c->access_raise,
             w->wakeups >= c->access_raise / 2 &&
                 (d->active >> AN_EXC_TOO_FREQUENT_SERVICE_ACCESS & 1),
             level_of(w->wakeups, c->access_raise));
    bool sleeper = d->learned >= c->warmup_windows && d->med_wake < 13; /* 0.05 in 8.8 */
    evidence(v, AN_EXC_UNEXPECTED_WAKEUP, sleeper && w->wakeups > 0, w->wakeups > 0 &&
             (d->active >> AN_EXC_UNEXPECTED_WAKEUP & 1), level_of(w->wakeups, 1));
}

void an_signal_learn(struct an_device *d)
{
    /* Called after the baseline counted this window in d->learned: a plain mean while
     * young, then an EWMA with a 1/16 weight. */
    int32_t n = d->learned < 16 ? (d->learned ? d->learned : 1) : 16;
    int32_t m = d->med_wake + ((int32_t)d->win.wakeups * 256 - d->med_wake) / n;
    d->med_wake = (uint16_t)(m < 0 ? 0 : m > UINT16_MAX ? UINT16_MAX : m);
}
