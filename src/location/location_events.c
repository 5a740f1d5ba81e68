/* Decoding of UE event reports from the core network, modelled on TS 29.518
 * Namf_EventExposure notifications: {"notifyCorrelationId", "reportList": [AmfEventReport]}
 * with type, timeStamp, supi, location.nrLocation.{tai, ncgi}, rmInfoList, cmInfoList,
 * reachability; plus our two reports for analytics: RADIO_LINK_FAILURE_REPORT and
 * PDU_SESSION_REPORT (ueIpv4Addr / ueIpv6Prefix). */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "location/location.h"

static const char *report_one(const json_t *r, struct ue_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(r))
        return "";
    ev->kind = ue_event_kind_from_name(json_string_value(json_object_get(r, "type")));
    if (ev->kind == 0)
        return ".type";
    const char *supi = json_string_value(json_object_get(r, "supi"));
    if (supi == NULL || strlen(supi) >= sizeof(ev->supi))
        return ".supi";
    memcpy(ev->supi, supi, strlen(supi) + 1);
    ev->time_ms = loc_parse_time(json_string_value(json_object_get(r, "timeStamp")));
    if (ev->time_ms <= 0)
        return ".timeStamp";
    json_t *loc = json_object_get(r, "location");
    if (loc) {
        json_t *nr = json_object_get(loc, "nrLocation");
        if (!json_is_object(nr))
            return ".location.nrLocation";
        json_t *tai = json_object_get(nr, "tai"), *ncgi = json_object_get(nr, "ncgi");
        if (tai) {
            json_t *t = json_object_get(tai, "tac");
            uint64_t v = 0;
            const char *s = json_string_value(t);
            size_t n = s ? strlen(s) : 0;
            if (loc_plmn_from_json(json_object_get(tai, "plmnId"), ev->tai.plmn) != IOTSEC_OK ||
                (n != 4 && n != 6) || strspn(s, "0123456789abcdefABCDEF") != n)
                return ".location.nrLocation.tai";
            sscanf(s, "%llx", (unsigned long long *)&v);
            ev->tai.tac = (uint32_t)v;
            ev->has_tai = true;
        }
        if (ncgi) {
            const char *s = json_string_value(json_object_get(ncgi, "nrCellId"));
            unsigned long long v = 0;
            if (loc_plmn_from_json(json_object_get(ncgi, "plmnId"), ev->ncgi.plmn) != IOTSEC_OK ||
                s == NULL || strlen(s) != 9 || strspn(s, "0123456789abcdefABCDEF") != 9)
                return ".location.nrLocation.ncgi";
            sscanf(s, "%llx", &v);
            ev->ncgi.nr_cell_id = v;
            ev->has_ncgi = true;
        }
        if (!ev->has_tai && !ev->has_ncgi)
            return ".location.nrLocation";
    }
    json_t *rm = json_array_get(json_object_get(r, "rmInfoList"), 0);
    if (ev->kind == UE_EV_REGISTRATION_STATE) {
        const char *s = json_string_value(json_object_get(rm, "rmState"));
        if (s == NULL || (strcmp(s, "REGISTERED") != 0 && strcmp(s, "DEREGISTERED") != 0))
            return ".rmInfoList[0].rmState";
        ev->registered = strcmp(s, "REGISTERED") == 0;
    }
    json_t *cm = json_array_get(json_object_get(r, "cmInfoList"), 0);
    if (ev->kind == UE_EV_CONNECTIVITY_STATE) {
        const char *s = json_string_value(json_object_get(cm, "cmState"));
        if (s == NULL || (strcmp(s, "CONNECTED") != 0 && strcmp(s, "IDLE") != 0))
            return ".cmInfoList[0].cmState";
        ev->connected = strcmp(s, "CONNECTED") == 0;
    }
    if (ev->kind == UE_EV_REACHABILITY) {
        const char *s = json_string_value(json_object_get(r, "reachability"));
        if (s && strcmp(s, "REACHABLE") == 0)
            ev->reachability = UE_REACH_REACHABLE;
        else if (s && strcmp(s, "REGULATORY_ONLY") == 0)
            ev->reachability = UE_REACH_REGULATORY_ONLY;
        else if (s && strcmp(s, "UNREACHABLE") == 0)
            ev->reachability = UE_REACH_UNREACHABLE;
        else
            return ".reachability";
    }
    const char *v4 = json_string_value(json_object_get(r, "ueIpv4Addr"));
    const char *v6 = json_string_value(json_object_get(r, "ueIpv6Prefix"));
    unsigned char bin[16];
    if (v4) {
        if (strlen(v4) >= sizeof(ev->ue_ipv4) || inet_pton(AF_INET, v4, bin) != 1)
            return ".ueIpv4Addr";
        memcpy(ev->ue_ipv4, v4, strlen(v4) + 1);
    }
    if (v6) {
        char addr[sizeof(ev->ue_ipv6)];
        size_t n = strcspn(v6, "/");
        if (strlen(v6) >= sizeof(ev->ue_ipv6) || n >= sizeof(addr))
            return ".ueIpv6Prefix";
        memcpy(addr, v6, n);
        addr[n] = 0;
        if (inet_pton(AF_INET6, addr, bin) != 1)
            return ".ueIpv6Prefix";
        memcpy(ev->ue_ipv6, v6, strlen(v6) + 1);
    }
    if (ev->kind == UE_EV_PDU_SESSION && !v4 && !v6)
        return ".ueIpv4Addr";
    if (ue_event_validate(ev) != IOTSEC_OK)
        return ev->kind == UE_EV_LOCATION_REPORT && !loc ? ".location" : ".supi";
    return NULL;
}

int loc_events_decode(const void *body, size_t len, struct ue_event **out, size_t *n,
                      char why[128])
{
    *out = NULL;
    *n = 0;
    json_error_t err;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "reportList");
    const char *name = json_is_array(doc) ? "" : "reportList";
    if (!json_is_array(list) || json_array_size(list) == 0) {
        snprintf(why, 128, "%s", doc ? "reportList: a non-empty array of AmfEventReport"
                                     : "the body is not JSON");
        json_decref(doc);
        return IOTSEC_ERR_INVALID;
    }
    size_t count = json_array_size(list);
    if (count > LOC_BATCH_MAX) {
        snprintf(why, 128, "at most %d reports in one notification", LOC_BATCH_MAX);
        json_decref(doc);
        return IOTSEC_ERR_BUSY;
    }
    struct ue_event *evs = calloc(count, sizeof(*evs));
    int rc = evs ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    for (size_t i = 0; rc == IOTSEC_OK && i < count; i++) {
        const char *bad = report_one(json_array_get(list, i), &evs[i]);
        if (bad) {
            snprintf(why, 128, "%s[%zu]%s", name, i, bad);
            rc = IOTSEC_ERR_INVALID;
        }
    }
    json_decref(doc);
    if (rc != IOTSEC_OK) {
        free(evs);
        return rc;
    }
    *out = evs;
    *n = count;
    return IOTSEC_OK;
}
