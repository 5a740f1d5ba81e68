/* Findings as TS 29.520 AbnormalBehaviour (Nnwdaf_EventsSubscription): the Exception
 * (excepId, excepLevel, excepTrend), ratio, confidence and the AdditionalMeasurement that
 * fits the exception: ddosAttack (the victim), wrgDest, unexpFlowTeps (as a FlowDescription
 * whose UE side is "assigned", so the UE's address never leaves), circums (freq, tm, vol).
 * The device appears only as its pseudonym; supis is left out on purpose: mapping a
 * pseudonym back to a SUPI is the exposure layer's job, for authorised consumers only. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "analytics/analytics.h"
#include "base/hex.h"

static const char *const exc_names[AN_EXC_COUNT] = {
    "UNEXPECTED_UE_LOCATION",      "UNEXPECTED_LONG_LIVE_FLOW",      "UNEXPECTED_LARGE_RATE_FLOW",
    "UNEXPECTED_WAKEUP",           "SUSPICION_OF_DDOS_ATTACK",       "WRONG_DESTINATION_ADDRESS",
    "TOO_FREQUENT_SERVICE_ACCESS", "UNEXPECTED_RADIO_LINK_FAILURES", "PING_PONG_ACROSS_CELLS",
};

const char *an_exception_name(enum an_exception e)
{
    return (unsigned)e < AN_EXC_COUNT ? exc_names[e] : "UNKNOWN";
}

const char *an_evidence_name(unsigned bit)
{
    static const char *const names[AN_EV_COUNT] = {"failed_openings",
                                                   "named_destination",
                                                   "outside_mud",
                                                   "new_destinations",
                                                   "scan",
                                                   "unanswered",
                                                   "identical_requests",
                                                   "above_own_baseline",
                                                   "above_peers",
                                                   "fleet_convergence",
                                                   "large_rate_flow",
                                                   "signalling"};
    return bit < AN_EV_COUNT ? names[bit] : "unknown";
}

static json_t *signal_list(uint16_t bits)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < AN_EV_COUNT; i++)
        if (bits >> i & 1)
            json_array_append_new(a, json_string(an_evidence_name(i)));
    return a;
}

/* The evidence that fired, beside the TS 29.520 object: what a human needs to judge it. */
static json_t *evidence_json(const struct an_finding *f)
{
    const struct an_evidence *e = &f->ev;
    json_t *o = json_pack(
        "{s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "signals", signal_list(e->signals),
        "window_signals", signal_list(e->window), "flows_out", (json_int_t)e->flows_out,
        "tcp_failed", (json_int_t)e->tcp_failed, "failed_to_expected", (json_int_t)e->fail_expected,
        "top_flows", (json_int_t)e->top_flows, "top_unanswered", (json_int_t)e->top_unanswered,
        "top_identical", (json_int_t)e->top_identical, "outside_mud", (json_int_t)e->mud_out,
        "new_destinations", (json_int_t)e->new_dst, "distinct_destinations",
        (json_int_t)e->distinct_dst, "learning", e->learning, "mud", e->mud);
    if (o && e->baseline_flows > 0)
        json_object_set_new(o, "baseline_flows", json_real(e->baseline_flows));
    if (o && e->peer_median)
        json_object_set_new(o, "peers_median_flows", json_integer(e->peer_median));
    if (o && e->fleet_devices)
        json_object_set_new(o, "fleet_devices", json_integer(e->fleet_devices));
    return o;
}

static const char *trend_name(enum an_trend t)
{
    /* "UNKNOW" is the spelling of TS 29.520's ExceptionTrend enumeration. */
    static const char *const names[] = {"UP", "DOWN", "UNKNOW", "STABLE"};
    return (unsigned)t < 4 ? names[t] : "UNKNOW";
}

static const char *source_name(enum an_source s)
{
    static const char *const names[] = {"rule", "baseline", "peers", "fleet"};
    return (unsigned)s < 4 ? names[s] : "rule";
}

static json_t *address_list(const struct an_addr *a)
{
    char text[64];
    an_addr_format(a, text, sizeof(text));
    json_t *list = json_object();
    json_object_set_new(list, an_addr_is_v4(a) ? "ipv4Addrs" : "ipv6Addrs", json_pack("[s]", text));
    return list;
}

/* TS 29.214 FlowDescription (IPFilterRule): remote end "from", the UE as "assigned". */
static json_t *flow_teps(const struct an_finding *f)
{
    char text[64], rule[128];
    an_addr_format(&f->addr, text, sizeof(text));
    if (f->port)
        snprintf(rule, sizeof(rule), "permit out %u from %s %u to assigned", f->proto, text,
                 f->port);
    else
        snprintf(rule, sizeof(rule), "permit out %u from %s to assigned", f->proto, text);
    return json_pack("[{s:s}]", "ipTrafficFilter", rule);
}

static void iso_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "1970-01-01T00:00:00Z");
}

static json_t *measurements(const struct an_finding *f, const char *start)
{
    json_t *m = json_object();
    if (f->has_addr) {
        if (f->exc == AN_EXC_SUSPICION_OF_DDOS_ATTACK)
            json_object_set_new(m, "ddosAttack", address_list(&f->addr));
        else if (f->exc == AN_EXC_WRONG_DESTINATION_ADDRESS)
            json_object_set_new(m, "wrgDest", address_list(&f->addr));
        json_object_set_new(m, "unexpFlowTeps", flow_teps(f));
    }
    json_object_set_new(m, "circums",
                        json_pack("[{s:f,s:s,s:I}]", "freq", f->freq, "tm", start, "vol",
                                  (json_int_t)(f->vol > INT64_MAX ? INT64_MAX : f->vol)));
    return m;
}

char *an_finding_json(const struct an_finding *f)
{
    char dev[33], start[32];
    hex_encode(f->device, 16, dev);
    iso_time(f->window * (int64_t)f->window_s, start, sizeof(start));
    unsigned ratio = f->ratio < 1 ? 1 : f->ratio > 100 ? 100 : f->ratio;
    json_t *excep = json_pack("{s:s,s:I,s:s}", "excepId", an_exception_name(f->exc), "excepLevel",
                              (json_int_t)f->level, "excepTrend", trend_name(f->trend));
    json_t *ab =
        json_pack("{s:o,s:I,s:I,s:o}", "excep", excep, "ratio", (json_int_t)ratio, "confidence",
                  (json_int_t)f->confidence, "addtMeasInfo", measurements(f, start));
    json_t *o =
        json_pack("{s:s,s:I,s:s,s:s,s:o}", "device", dev, "window", (json_int_t)f->window, "start",
                  start, "source", source_name(f->source), "abnormalBehaviour", ab);
    if (o == NULL)
        return NULL;
    json_t *ev = evidence_json(f);
    if (ev)
        json_object_set_new(o, "evidence", ev);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
