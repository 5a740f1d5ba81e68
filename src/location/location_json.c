/* JSON forms of the location model: 3GPP PlmnId / Tai / Ncgi (TS 29.571), authorised areas,
 * RFC 3339 times. Strict: a member of the wrong type or range is an error, never a default. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "location/location.h"

static bool digits(const char *s, size_t min, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool hex_value(const char *s, size_t min, size_t max, uint64_t *v)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > max)
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        *v = *v << 4 | (uint64_t)d;
    }
    return true;
}

int loc_plmn_from_json(const json_t *o, char plmn[LOC_PLMN_MAX])
{
    const char *mcc = json_string_value(json_object_get(o, "mcc"));
    const char *mnc = json_string_value(json_object_get(o, "mnc"));
    if (!json_is_object(o) || !digits(mcc, 3, 3) || !digits(mnc, 2, 3))
        return IOTSEC_ERR_INVALID;
    snprintf(plmn, LOC_PLMN_MAX, "%s%s", mcc, mnc);
    return IOTSEC_OK;
}

static json_t *plmn_to_json(const char *plmn)
{
    return json_pack("{s:s%, s:s}", "mcc", plmn, (size_t)3, "mnc", plmn + 3);
}

static int tai_from_json(const json_t *o, struct tai *t)
{
    uint64_t v;
    if (loc_plmn_from_json(json_object_get(o, "plmnId"), t->plmn) != IOTSEC_OK ||
        !hex_value(json_string_value(json_object_get(o, "tac")), 4, 6, &v))
        return IOTSEC_ERR_INVALID;
    t->tac = (uint32_t)v;
    return IOTSEC_OK;
}

static int ncgi_from_json(const json_t *o, struct ncgi *c)
{
    if (loc_plmn_from_json(json_object_get(o, "plmnId"), c->plmn) != IOTSEC_OK ||
        !hex_value(json_string_value(json_object_get(o, "nrCellId")), 9, 9, &c->nr_cell_id))
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

json_t *loc_tai_to_json(const struct tai *t)
{
    char tac[8];
    snprintf(tac, sizeof(tac), "%06X", (unsigned)t->tac);
    return json_pack("{s:o, s:s}", "plmnId", plmn_to_json(t->plmn), "tac", tac);
}

json_t *loc_ncgi_to_json(const struct ncgi *c)
{
    char id[16];
    snprintf(id, sizeof(id), "%09llX", (unsigned long long)c->nr_cell_id);
    return json_pack("{s:o, s:s}", "plmnId", plmn_to_json(c->plmn), "nrCellId", id);
}

static bool number(const json_t *o, const char *name, double *v)
{
    json_t *x = json_object_get(o, name);
    if (!json_is_number(x))
        return false;
    *v = json_number_value(x);
    return true;
}

int loc_area_from_json(const json_t *o, struct loc_area *a, const char **why)
{
    memset(a, 0, sizeof(*a));
    *why = "the area must be an object with one of cells, tais, circle, polygon";
    if (!json_is_object(o))
        return IOTSEC_ERR_INVALID;
    json_t *st = json_object_get(o, "stationary");
    if (st && !json_is_boolean(st)) {
        *why = "stationary must be a boolean";
        return IOTSEC_ERR_INVALID;
    }
    a->stationary = json_is_true(st);
    json_t *cells = json_object_get(o, "cells"), *tais = json_object_get(o, "tais");
    json_t *circle = json_object_get(o, "circle"), *poly = json_object_get(o, "polygon");
    int given = (cells != NULL) + (tais != NULL) + (circle != NULL) + (poly != NULL);
    if (given > 1 || (given == 0 && !a->stationary))
        return IOTSEC_ERR_INVALID;
    json_t *arr = cells ? cells : tais ? tais : poly;
    if (arr && (!json_is_array(arr) || json_array_size(arr) == 0 ||
                json_array_size(arr) > LOC_AREA_MAX)) {
        *why = "cells, tais and polygon are arrays of 1..256 entries";
        return IOTSEC_ERR_INVALID;
    }
    size_t n = arr ? json_array_size(arr) : 0;
    int rc = IOTSEC_OK;
    if (cells) {
        a->kind = LOC_AREA_CELLS;
        *why = "cells[]: {plmnId: {mcc, mnc}, nrCellId: 9 hex digits}";
        if ((a->cells = calloc(n, sizeof(*a->cells))) == NULL)
            rc = IOTSEC_ERR_NOMEM;
        for (size_t i = 0; rc == IOTSEC_OK && i < n; i++)
            rc = ncgi_from_json(json_array_get(cells, i), &a->cells[i]);
    } else if (tais) {
        a->kind = LOC_AREA_TAS;
        *why = "tais[]: {plmnId: {mcc, mnc}, tac: 4 or 6 hex digits}";
        if ((a->tas = calloc(n, sizeof(*a->tas))) == NULL)
            rc = IOTSEC_ERR_NOMEM;
        for (size_t i = 0; rc == IOTSEC_OK && i < n; i++)
            rc = tai_from_json(json_array_get(tais, i), &a->tas[i]);
    } else if (poly) {
        a->kind = LOC_AREA_POLYGON;
        *why = "polygon: 3..256 points {lat, lon} in degrees";
        if ((a->polygon = calloc(n, sizeof(*a->polygon))) == NULL)
            rc = IOTSEC_ERR_NOMEM;
        for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
            json_t *p = json_array_get(poly, i);
            if (!number(p, "lat", &a->polygon[i].lat) || !number(p, "lon", &a->polygon[i].lon))
                rc = IOTSEC_ERR_INVALID;
        }
    } else if (circle) {
        a->kind = LOC_AREA_CIRCLE;
        *why = "circle: {lat, lon, radius} in degrees and metres (radius > 0)";
        if (!number(circle, "lat", &a->center.lat) || !number(circle, "lon", &a->center.lon) ||
            !number(circle, "radius", &a->radius_m))
            rc = IOTSEC_ERR_INVALID;
    }
    a->n = a->kind == LOC_AREA_CIRCLE ? 0 : n;
    if (rc == IOTSEC_OK && loc_area_validate(a) != IOTSEC_OK)
        rc = IOTSEC_ERR_INVALID;
    if (rc != IOTSEC_OK)
        loc_area_free_members(a);
    else
        *why = NULL;
    return rc;
}

json_t *loc_area_to_json(const struct loc_area *a)
{
    json_t *o = json_object(), *arr = NULL;
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "stationary", json_boolean(a->stationary));
    switch (a->kind) {
    case LOC_AREA_CELLS:
        arr = json_array();
        for (size_t i = 0; i < a->n; i++)
            json_array_append_new(arr, loc_ncgi_to_json(&a->cells[i]));
        json_object_set_new(o, "cells", arr);
        break;
    case LOC_AREA_TAS:
        arr = json_array();
        for (size_t i = 0; i < a->n; i++)
            json_array_append_new(arr, loc_tai_to_json(&a->tas[i]));
        json_object_set_new(o, "tais", arr);
        break;
    case LOC_AREA_POLYGON:
        arr = json_array();
        for (size_t i = 0; i < a->n; i++)
            json_array_append_new(arr, json_pack("{s:f, s:f}", "lat", a->polygon[i].lat, "lon",
                                                 a->polygon[i].lon));
        json_object_set_new(o, "polygon", arr);
        break;
    case LOC_AREA_CIRCLE:
        json_object_set_new(o, "circle", json_pack("{s:f, s:f, s:f}", "lat", a->center.lat,
                                                   "lon", a->center.lon, "radius", a->radius_m));
        break;
    case LOC_AREA_NONE:
        break;
    }
    return o;
}

int64_t loc_parse_time(const char *s)
{
    int y, mo, d, h, mi, se, used = 0;
    if (s == NULL || strlen(s) > 40 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 19)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.') {
        int digits_seen = 0, scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, digits_seen++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (digits_seen == 0 || digits_seen > 9)
            return -1;
    }
    int offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n2 = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n2) != 2 || n2 != 5 || oh > 23 || om > 59)
            return -1;
        offset_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return ((int64_t)t - offset_s) * 1000 + ms;
}

void loc_format_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
