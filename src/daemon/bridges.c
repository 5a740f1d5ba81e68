/* UE events -> analytics; location findings -> policy (see bridges.h). Both callbacks run on
 * the SBI worker that ingested the event, outside the location capability's locks; both
 * targets only queue work, so neither blocks the worker. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "daemon/bridges.h"

struct bridge {
    struct analytics *a;
    struct policy_service *ps;
    uint32_t window_s;
};

/* "00101-1a2b" and "00101-0000001c5": plmn and hex code, enough to tell cells apart (the
 * analytics keep only a keyed hash of them). */
static void cell_names(const struct ue_event *ev, char tai[32], char ncgi[40])
{
    tai[0] = ncgi[0] = '\0';
    if (ev->has_tai)
        snprintf(tai, 32, "%s-%06" PRIx32, ev->tai.plmn, ev->tai.tac);
    if (ev->has_ncgi)
        snprintf(ncgi, 40, "%s-%09" PRIx64, ev->ncgi.plmn, ev->ncgi.nr_cell_id);
}

static void on_ue_event(void *ctx, const struct ue_event *ev)
{
    struct bridge *b = ctx;
    char tai[32], ncgi[40];
    cell_names(ev, tai, ncgi);
    double t = (double)ev->time_ms / 1000.0;
    int rc = IOTSEC_OK;
    switch (ev->kind) {
    case UE_EV_LOCATION_REPORT:
        rc = analytics_signal(b->a, ev->supi, t, AN_SIG_LOCATION_UPDATE, tai, ncgi);
        break;
    case UE_EV_REGISTRATION_STATE:
        if (ev->registered)
            rc = analytics_signal(b->a, ev->supi, t, AN_SIG_REGISTRATION, tai, ncgi);
        break;
    case UE_EV_CONNECTIVITY_STATE: /* CM-IDLE -> CM-CONNECTED: a service request */
        if (ev->connected)
            rc = analytics_signal(b->a, ev->supi, t, AN_SIG_SERVICE_REQUEST, tai, ncgi);
        break;
    case UE_EV_RADIO_LINK_FAILURE:
        rc = analytics_signal(b->a, ev->supi, t, AN_SIG_RADIO_LINK_FAILURE, tai, ncgi);
        break;
    case UE_EV_PDU_SESSION: /* the session's address now belongs to this device */
        if (ev->ue_ipv4[0])
            rc = analytics_session(b->a, ev->supi, ev->ue_ipv4, true, NULL);
        if (rc == IOTSEC_OK && ev->ue_ipv6[0])
            rc = analytics_session(b->a, ev->supi, ev->ue_ipv6, true, NULL);
        break;
    default:
        break;
    }
    if (rc != IOTSEC_OK) /* a full table: the event is still the location's; say so once */
        log_msg(LOG_DEBUG, NULL, "analytics: UE event not counted: %s", iotsec_strerror(rc));
}

static void on_location_finding(void *ctx, const struct location_finding *lf)
{
    struct bridge *b = ctx;
    int64_t t = lf->event->time_ms / 1000;
    struct an_finding f = {.window = t / b->window_s,
                           .window_s = b->window_s,
                           .exc = AN_EXC_UNEXPECTED_UE_LOCATION,
                           .source = AN_SRC_RULE,
                           .level = 1,
                           .trend = AN_TREND_UNKNOWN,
                           .ratio = 100,
                           .confidence = 100};
    memcpy(f.device, lf->device_key, sizeof(f.device) < LOC_KEY_LEN ? sizeof(f.device)
                                                                    : LOC_KEY_LEN);
    /* The webhook's body names the device by the location capability's keyed hash, never by
     * its SUPI; the cause says why. */
    char *base = an_finding_json(&f);
    json_t *o = base ? json_loads(base, 0, NULL) : NULL;
    free(base);
    if (o == NULL)
        return;
    json_object_set_new(o, "cause", json_string(lf->cause));
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* Persisted with the analytics' findings, then to the policy through the same hook. */
    if (json != NULL)
        analytics_report_finding(b->a, &f, lf->event->supi, json);
    free(json);
}

int daemon_bridge_location(struct location *loc, struct analytics *a, struct policy_service *ps,
                           uint32_t window_s)
{
    static struct bridge b; /* one daemon per process */
    b = (struct bridge){.a = a, .ps = ps, .window_s = window_s ? window_s : 60};
    int rc = location_observe(loc, on_ue_event, &b);
    if (rc == IOTSEC_OK)
        rc = location_on_finding(loc, on_location_finding, &b);
    return rc;
}
