/* Decoding and validation of MonitoringEventSubscription (TS 29.122 §5.3.2.1.2) for the
 * monitoring types we serve. Pure: no I/O, no clock (now is passed). Unknown members are
 * ignored (3GPP forward compatibility); known members of the wrong type or range are refused
 * with the member named in invalidParams. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "expose/t8_int.h"

static int refuse(struct t8_refusal *why, int status, const char *cause, const char *param,
                  const char *detail)
{
    why->status = status;
    why->cause = cause;
    why->param = param;
    why->detail = detail;
    return IOTSEC_ERR_INVALID;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

bool t8_looks_permanent(const char *s)
{
    if (s == NULL)
        return false;
    static const char *const prefixes[] = {"imsi-", "imsi:", "supi-", "suci-", "nai-", "imsi"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncasecmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    /* an IMSI is 14-15 digits (MCC + MNC + MSIN), as a whole or as the local part */
    size_t local = strcspn(s, "@");
    return (local == 14 || local == 15) && all_digits(s, local) && s[local] == '@';
}

static const struct { const char *name; enum t8_type type; } types[] = {
    {"LOCATION_REPORTING", T8_LOCATION_REPORTING},
    {"LOSS_OF_CONNECTIVITY", T8_LOSS_OF_CONNECTIVITY},
    {"UE_REACHABILITY", T8_UE_REACHABILITY},
    {"NUMBER_OF_UES_IN_AN_AREA", T8_NUMBER_OF_UES_IN_AN_AREA},
};

const char *t8_type_name(enum t8_type t)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == t)
            return types[i].name;
    return "UNKNOWN";
}

/* locationArea5G: nwAreaInfo {ncgis | tais}, or one geographicArea (circle or polygon). */
static int decode_area(const json_t *la, struct loc_area *a, struct t8_refusal *why)
{
    const char *param = "locationArea5G";
    if (!json_is_object(la))
        return refuse(why, 400, "MANDATORY_IE_MISSING", param,
                      "NUMBER_OF_UES_IN_AN_AREA needs locationArea5G");
    json_t *nw = json_object_get(la, "nwAreaInfo"), *geo = json_object_get(la, "geographicAreas");
    json_t *wrap = NULL;
    if (nw && !geo) {
        json_t *ncgis = json_object_get(nw, "ncgis"), *tais = json_object_get(nw, "tais");
        if ((ncgis != NULL) == (tais != NULL))
            return refuse(why, 400, "INVALID_MSG_FORMAT", "locationArea5G.nwAreaInfo",
                          "give ncgis or tais (one of them)");
        wrap = ncgis ? json_pack("{s:O}", "cells", ncgis) : json_pack("{s:O}", "tais", tais);
    } else if (geo && !nw && json_is_array(geo) && json_array_size(geo) == 1) {
        json_t *g = json_array_get(geo, 0);
        const char *shape = json_string_value(json_object_get(g, "shape"));
        json_t *pt = json_object_get(g, "point");
        if (shape && strcmp(shape, "POINT_UNCERTAINTY_CIRCLE") == 0 && json_is_object(pt)) {
            json_t *lat = json_object_get(pt, "lat"), *lon = json_object_get(pt, "lon");
            json_t *r = json_object_get(g, "uncertainty");
            if (json_is_number(lat) && json_is_number(lon) && json_is_number(r))
                wrap = json_pack("{s:{s:O, s:O, s:O}}", "circle", "lat", lat, "lon", lon,
                                 "radius", r);
        } else if (shape && strcmp(shape, "POLYGON") == 0) {
            json_t *pl = json_object_get(g, "pointList");
            if (json_is_array(pl) && json_array_size(pl) <= LOC_AREA_MAX)
                wrap = json_pack("{s:O}", "polygon", pl);
        }
        if (wrap == NULL)
            return refuse(why, 400, "INVALID_MSG_FORMAT", "locationArea5G.geographicAreas",
                          "one POINT_UNCERTAINTY_CIRCLE or POLYGON");
    } else {
        return refuse(why, 400, "INVALID_MSG_FORMAT", param,
                      "nwAreaInfo (ncgis or tais) or one geographicArea");
    }
    const char *reason;
    int rc = loc_area_from_json(wrap, a, &reason);
    json_decref(wrap);
    if (rc != IOTSEC_OK)
        return refuse(why, 400, "INVALID_MSG_FORMAT", param, reason);
    return IOTSEC_OK;
}

static int decode_device(const json_t *body, struct t8_request *rq, struct t8_refusal *why)
{
    json_t *ext = json_object_get(body, "externalId"), *msisdn = json_object_get(body, "msisdn");
    if (json_object_get(body, "externalGroupId") || json_object_get(body, "addedExternalIds"))
        return refuse(why, 400, "INVALID_MSG_FORMAT", "externalGroupId",
                      "group monitoring is not offered: subscribe per device");
    if ((ext != NULL) == (msisdn != NULL))
        return refuse(why, 400, "MANDATORY_IE_MISSING", "externalId",
                      "name the device by externalId (or msisdn), exactly one");
    const json_t *id = ext ? ext : msisdn;
    const char *param = ext ? "externalId" : "msisdn";
    const char *s = json_string_value(id);
    size_t cap = ext ? sizeof(rq->external_id) : sizeof(rq->msisdn);
    if (s == NULL || s[0] == 0 || strlen(s) >= cap)
        return refuse(why, 400, "INVALID_MSG_FORMAT", param, "a non-empty string");
    if (t8_looks_permanent(s))
        return refuse(why, 403, "PERMANENT_IDENTITY_NOT_ALLOWED", param,
                      "permanent identities (SUPI/IMSI) are not accepted on this interface: "
                      "use the external identifier the operator gave you");
    snprintf(ext ? rq->external_id : rq->msisdn, cap, "%s", s);
    return IOTSEC_OK;
}

static int decode_location(const json_t *body, struct t8_request *rq, struct t8_refusal *why)
{
    const char *lt = json_string_value(json_object_get(body, "locationType"));
    if (json_object_get(body, "locationType") && lt == NULL)
        return refuse(why, 400, "INVALID_MSG_FORMAT", "locationType", "a string");
    if (lt == NULL || strcmp(lt, "CURRENT_LOCATION") == 0)
        rq->loc_type = T8_LOC_CURRENT;
    else if (strcmp(lt, "LAST_KNOWN_LOCATION") == 0)
        rq->loc_type = T8_LOC_LAST_KNOWN;
    else if (strcmp(lt, "CURRENT_OR_LAST_KNOWN_LOCATION") == 0)
        rq->loc_type = T8_LOC_CURRENT_OR_LAST_KNOWN;
    else
        return refuse(why, 400, "INVALID_MSG_FORMAT", "locationType",
                      "CURRENT_LOCATION, LAST_KNOWN_LOCATION or CURRENT_OR_LAST_KNOWN_LOCATION");
    const char *acc = json_string_value(json_object_get(body, "accuracy"));
    if (json_object_get(body, "accuracy") && acc == NULL)
        return refuse(why, 400, "INVALID_MSG_FORMAT", "accuracy", "a string");
    if (acc == NULL || strcmp(acc, "CGI_ECGI") == 0)
        rq->accuracy = T8_GRAN_CELL;
    else if (strcmp(acc, "TA_RA") == 0 || strcmp(acc, "PLMN") == 0)
        rq->accuracy = T8_GRAN_TA;
    else
        return refuse(why, 400, "INVALID_MSG_FORMAT", "accuracy", "CGI_ECGI, TA_RA or PLMN");
    return IOTSEC_OK;
}

int t8_decode(const json_t *body, int64_t now_ms, bool allow_http_loopback,
              struct t8_request *rq, struct t8_refusal *why)
{
    memset(rq, 0, sizeof(*rq));
    memset(why, 0, sizeof(*why));
    if (!json_is_object(body))
        return refuse(why, 400, "INVALID_MSG_FORMAT", "", "a MonitoringEventSubscription object");
    json_t *mt = json_object_get(body, "monitoringType");
    const char *mts = json_string_value(mt);
    if (mts == NULL)
        return refuse(why, 400, "MANDATORY_IE_MISSING", "monitoringType", "required, a string");
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(mts, types[i].name) == 0)
            rq->type = types[i].type;
    if (rq->type == 0)
        return refuse(why, 400, "MONITORING_TYPE_NOT_SUPPORTED", "monitoringType",
                      "supported: LOCATION_REPORTING, LOSS_OF_CONNECTIVITY, UE_REACHABILITY, "
                      "NUMBER_OF_UES_IN_AN_AREA");
    const char *dest = json_string_value(json_object_get(body, "notificationDestination"));
    const char *reason;
    if (dest == NULL)
        return refuse(why, 400, "MANDATORY_IE_MISSING", "notificationDestination", "required");
    struct outbound_rules syntax = {.http_loopback = allow_http_loopback};
    struct outbound_target target;
    if (outbound_url_parse(dest, &syntax, &target, &reason) != IOTSEC_OK)
        return refuse(why, 400, "INVALID_MSG_FORMAT", "notificationDestination", reason);
    snprintf(rq->destination, sizeof(rq->destination), "%s", dest);
    json_t *mx = json_object_get(body, "maximumNumberOfReports");
    json_t *exp = json_object_get(body, "monitorExpireTime");
    if (mx == NULL && exp == NULL)
        return refuse(why, 400, "MANDATORY_IE_MISSING", "maximumNumberOfReports",
                      "give maximumNumberOfReports or monitorExpireTime");
    if (mx) {
        json_int_t v = json_integer_value(mx);
        if (!json_is_integer(mx) || v < 1 || v > 1000000)
            return refuse(why, 400, "INVALID_MSG_FORMAT", "maximumNumberOfReports",
                          "an integer from 1 to 1000000");
        rq->max_reports = (unsigned)v;
    }
    if (exp) {
        rq->expire_ms = loc_parse_time(json_string_value(exp));
        if (rq->expire_ms <= 0)
            return refuse(why, 400, "INVALID_MSG_FORMAT", "monitorExpireTime",
                          "an RFC 3339 date-time");
        if (rq->expire_ms <= now_ms)
            return refuse(why, 400, "INVALID_MSG_FORMAT", "monitorExpireTime",
                          "must be in the future");
    }
    json_t *rt = json_object_get(body, "reachabilityType");
    snprintf(rq->reachability_type, sizeof(rq->reachability_type), "DATA");
    if (rt) {
        const char *s = json_string_value(rt);
        if (s == NULL || (strcmp(s, "SMS") != 0 && strcmp(s, "DATA") != 0))
            return refuse(why, 400, "INVALID_MSG_FORMAT", "reachabilityType", "SMS or DATA");
        snprintf(rq->reachability_type, sizeof(rq->reachability_type), "%s", s);
    }
    if (rq->type == T8_NUMBER_OF_UES_IN_AN_AREA) {
        if (json_object_get(body, "externalId") || json_object_get(body, "msisdn"))
            return refuse(why, 400, "INVALID_MSG_FORMAT", "externalId",
                          "an area count names no device");
        if (rq->max_reports != 1)
            return refuse(why, 400, "INVALID_MSG_FORMAT", "maximumNumberOfReports",
                          "area counts are one-time requests: maximumNumberOfReports = 1");
        return decode_area(json_object_get(body, "locationArea5G"), &rq->area, why);
    }
    int rc = decode_device(body, rq, why);
    if (rc == IOTSEC_OK && rq->type == T8_LOCATION_REPORTING)
        rc = decode_location(body, rq, why);
    return rc;
}
