/* MonitoringEventReport / MonitoringNotification bodies (TS 29.122 §5.3.2.1). Pure. Devices
 * are named by the AF's external ID only. */
#include <stdio.h>
#include <string.h>

#include "expose/t8_int.h"

static void set_time(json_t *o, const char *name, int64_t ms)
{
    char t[32];
    loc_format_time(ms, t);
    json_object_set_new(o, name, json_string(t));
}

static json_t *report_base(enum t8_type type, const char *external_id, int64_t event_ms)
{
    json_t *r = json_pack("{s:s}", "monitoringType", t8_type_name(type));
    if (external_id && external_id[0])
        json_object_set_new(r, "externalId", json_string(external_id));
    if (event_ms > 0)
        set_time(r, "eventTime", event_ms);
    return r;
}

/* The location at the coarser of the asked accuracy and the operator's cap: a TA-capped
 * report carries no cell anywhere (NrLocation needs a cell, so it is left out too). */
json_t *t8_location_report(const struct t8_request *rq, enum t8_granularity cap,
                           const char *external_id, const struct ue_state *st, int64_t now_ms,
                           const char *exception_cause)
{
    json_t *r = report_base(T8_LOCATION_REPORTING, external_id, st->location_time_ms);
    if (st->location_time_ms == 0) {
        json_object_set_new(r, "locFailureCause", json_string("UNSPECIFIED"));
        return r;
    }
    bool cell = rq->accuracy == T8_GRAN_CELL && cap == T8_GRAN_CELL && st->has_ncgi;
    json_t *li = json_object();
    int64_t age_min = (now_ms - st->location_time_ms) / 60000;
    json_object_set_new(li, "ageOfLocationInfo", json_integer(age_min > 0 ? age_min : 0));
    const char *plmn = st->has_tai ? st->tai.plmn : st->ncgi.plmn;
    json_object_set_new(li, "plmnId", json_string(plmn));
    char buf[16];
    if (st->has_tai) {
        snprintf(buf, sizeof(buf), "%06X", (unsigned)st->tai.tac);
        json_object_set_new(li, "trackingAreaId", json_string(buf));
    }
    if (cell) {
        snprintf(buf, sizeof(buf), "%09llX", (unsigned long long)st->ncgi.nr_cell_id);
        json_object_set_new(li, "cellId", json_string(buf));
        if (st->has_tai)
            json_object_set_new(li, "userLocation",
                                json_pack("{s:{s:o, s:o}}", "nrLocation", "tai",
                                          loc_tai_to_json(&st->tai), "ncgi",
                                          loc_ncgi_to_json(&st->ncgi)));
    }
    json_object_set_new(r, "locationInfo", li);
    if (exception_cause) {
        /* The authorised-area check (TS 29.520 exception), as extension members of the
         * report: the standard report has no place for it, and unknown members are allowed. */
        json_object_set_new(r, "excepId", json_string(LOC_EXCEPTION_UNEXPECTED_LOCATION));
        json_object_set_new(r, "excepCause", json_string(exception_cause));
    }
    return r;
}

json_t *t8_event_report(enum t8_type type, const struct t8_request *rq, const char *external_id,
                        int64_t event_ms)
{
    json_t *r = report_base(type, external_id, event_ms);
    if (type == T8_UE_REACHABILITY)
        json_object_set_new(r, "reachabilityType", json_string(rq->reachability_type));
    return r;
}

json_t *t8_count_report(uint64_t count, bool suppressed, int64_t now_ms)
{
    json_t *r = report_base(T8_NUMBER_OF_UES_IN_AN_AREA, NULL, now_ms);
    if (suppressed) {
        /* Below the privacy threshold nothing is said, not even "few": the standard cause
         * for an area we may not report on, and our reason beside it. */
        json_object_set_new(r, "locFailureCause", json_string("REQUESTED_AREA_NOT_ALLOWED"));
        json_object_set_new(r, "suppressed", json_string("BELOW_K_ANONYMITY_THRESHOLD"));
    } else {
        json_object_set_new(r, "uePerLocationReport",
                            json_pack("{s:I}", "ueCount", (json_int_t)count));
    }
    return r;
}

json_t *t8_notification(const char *self, json_t *report)
{
    return json_pack("{s:s, s:[o]}", "subscription", self, "monitoringEventReports", report);
}
