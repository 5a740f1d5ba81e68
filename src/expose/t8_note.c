/* MonitoringNotification bodies written directly as text: the event path builds one per
 * subscription per event, and a generic JSON tree costs ~10x more here. The output is the same
 * document as t8_notification(t8_location_report()) / t8_event_report() (a unit test compares
 * them), and strings are escaped whatever their origin. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "expose/t8_int.h"

struct out {
    char *p;
    size_t cap, len;
    bool overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = true;
    else
        o->len += (size_t)n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s && !o->overflow; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else if (o->len + 1 < o->cap)
            o->p[o->len++] = (char)c, o->p[o->len] = 0;
        else
            o->overflow = true;
    }
    put(o, "\"");
}

static void put_plmn(struct out *o, const char *plmn)
{
    put(o, "{\"mcc\":\"%.3s\",\"mnc\":\"%s\"}", plmn, plmn + 3);
}

static void head(struct out *o, const char *self, enum t8_type type, const char *ext,
                 int64_t event_ms)
{
    char t[32];
    put(o, "{\"subscription\":");
    put_str(o, self);
    put(o, ",\"monitoringEventReports\":[{\"monitoringType\":\"%s\"", t8_type_name(type));
    if (ext && ext[0]) {
        put(o, ",\"externalId\":");
        put_str(o, ext);
    }
    if (event_ms > 0) {
        loc_format_time(event_ms, t);
        put(o, ",\"eventTime\":\"%s\"", t);
    }
}

static int finish(struct out *o)
{
    put(o, "}]}");
    return o->overflow ? -1 : (int)o->len;
}

int t8_location_note(char *buf, size_t cap, const char *self, const struct t8_request *rq,
                     enum t8_granularity gcap, const char *ext, const struct ue_event *ev,
                     int64_t now_ms, const char *exception_cause)
{
    struct out o = {buf, cap, 0, false};
    head(&o, self, T8_LOCATION_REPORTING, ext, ev->time_ms);
    bool cell = rq->accuracy == T8_GRAN_CELL && gcap == T8_GRAN_CELL && ev->has_ncgi;
    int64_t age = (now_ms - ev->time_ms) / 60000;
    put(&o, ",\"locationInfo\":{\"ageOfLocationInfo\":%lld,\"plmnId\":\"%s\"",
        (long long)(age > 0 ? age : 0), ev->has_tai ? ev->tai.plmn : ev->ncgi.plmn);
    if (ev->has_tai)
        put(&o, ",\"trackingAreaId\":\"%06X\"", (unsigned)ev->tai.tac);
    if (cell) {
        put(&o, ",\"cellId\":\"%09llX\"", (unsigned long long)ev->ncgi.nr_cell_id);
        if (ev->has_tai) {
            put(&o, ",\"userLocation\":{\"nrLocation\":{\"tai\":{\"plmnId\":");
            put_plmn(&o, ev->tai.plmn);
            put(&o, ",\"tac\":\"%06X\"},\"ncgi\":{\"plmnId\":", (unsigned)ev->tai.tac);
            put_plmn(&o, ev->ncgi.plmn);
            put(&o, ",\"nrCellId\":\"%09llX\"}}}", (unsigned long long)ev->ncgi.nr_cell_id);
        }
    }
    put(&o, "}");
    if (exception_cause) {
        put(&o, ",\"excepId\":\"%s\",\"excepCause\":", LOC_EXCEPTION_UNEXPECTED_LOCATION);
        put_str(&o, exception_cause);
    }
    return finish(&o);
}

int t8_event_note(char *buf, size_t cap, const char *self, enum t8_type type,
                  const struct t8_request *rq, const char *ext, int64_t event_ms)
{
    struct out o = {buf, cap, 0, false};
    head(&o, self, type, ext, event_ms);
    if (type == T8_UE_REACHABILITY) {
        put(&o, ",\"reachabilityType\":");
        put_str(&o, rq->reachability_type);
    }
    return finish(&o);
}
