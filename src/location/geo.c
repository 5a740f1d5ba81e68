/* Geometry of authorised areas: great-circle distance and point in polygon. Pure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "location/location.h"

#define EARTH_RADIUS_M 6371008.8 /* mean radius (IUGG) */
#define DEG            (M_PI / 180.0)
#define EDGE_EPS       1e-9      /* degrees: ~0.1 mm, "on the edge" */

double geo_distance_m(struct geo_point a, struct geo_point b)
{
    double dlat = (b.lat - a.lat) * DEG, dlon = (b.lon - a.lon) * DEG;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(a.lat * DEG) * cos(b.lat * DEG) * sin(dlon / 2) * sin(dlon / 2);
    if (h > 1)
        h = 1;
    return 2 * EARTH_RADIUS_M * asin(sqrt(h));
}

static bool on_segment(struct geo_point p, struct geo_point a, struct geo_point b)
{
    double cross = (b.lon - a.lon) * (p.lat - a.lat) - (b.lat - a.lat) * (p.lon - a.lon);
    if (fabs(cross) > EDGE_EPS)
        return false;
    return p.lon >= fmin(a.lon, b.lon) - EDGE_EPS && p.lon <= fmax(a.lon, b.lon) + EDGE_EPS &&
           p.lat >= fmin(a.lat, b.lat) - EDGE_EPS && p.lat <= fmax(a.lat, b.lat) + EDGE_EPS;
}

bool geo_in_polygon(struct geo_point p, const struct geo_point *poly, size_t n)
{
    if (poly == NULL || n < 3)
        return false;
    bool inside = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        struct geo_point a = poly[i], b = poly[j];
        if (on_segment(p, a, b))
            return true; /* the boundary belongs to the area: a cell on it is authorised */
        if ((a.lat > p.lat) != (b.lat > p.lat)) {
            double x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
            if (p.lon < x)
                inside = !inside;
        }
    }
    return inside;
}

static bool point_ok(struct geo_point p)
{
    return isfinite(p.lat) && isfinite(p.lon) && p.lat >= -90 && p.lat <= 90 && p.lon >= -180 &&
           p.lon <= 180;
}

int loc_area_validate(const struct loc_area *a)
{
    if (a == NULL || a->n > LOC_AREA_MAX)
        return IOTSEC_ERR_INVALID;
    switch (a->kind) {
    case LOC_AREA_NONE:
        return a->stationary && a->n == 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    case LOC_AREA_CELLS:
        if (a->n == 0 || a->cells == NULL)
            return IOTSEC_ERR_INVALID;
        for (size_t i = 0; i < a->n; i++)
            if (a->cells[i].nr_cell_id > LOC_NR_CELL_MAX || strlen(a->cells[i].plmn) < 5)
                return IOTSEC_ERR_INVALID;
        return IOTSEC_OK;
    case LOC_AREA_TAS:
        if (a->n == 0 || a->tas == NULL)
            return IOTSEC_ERR_INVALID;
        for (size_t i = 0; i < a->n; i++)
            if (a->tas[i].tac > 0xFFFFFFu || strlen(a->tas[i].plmn) < 5)
                return IOTSEC_ERR_INVALID;
        return IOTSEC_OK;
    case LOC_AREA_CIRCLE:
        return point_ok(a->center) && isfinite(a->radius_m) && a->radius_m > 0 &&
                       a->radius_m <= 20037508.0 && a->n == 0
                   ? IOTSEC_OK
                   : IOTSEC_ERR_INVALID;
    case LOC_AREA_POLYGON:
        if (a->n < 3 || a->polygon == NULL)
            return IOTSEC_ERR_INVALID;
        for (size_t i = 0; i < a->n; i++)
            if (!point_ok(a->polygon[i]))
                return IOTSEC_ERR_INVALID;
        return IOTSEC_OK;
    }
    return IOTSEC_ERR_INVALID;
}

void loc_area_free_members(struct loc_area *a)
{
    free(a->cells);
    free(a->tas);
    free(a->polygon);
    a->cells = NULL;
    a->tas = NULL;
    a->polygon = NULL;
    a->n = 0;
}

static void *dup(const void *p, size_t n, size_t size, int *rc)
{
    if (p == NULL || n == 0)
        return NULL;
    void *q = malloc(n * size);
    if (q == NULL)
        *rc = IOTSEC_ERR_NOMEM;
    else
        memcpy(q, p, n * size);
    return q;
}

int loc_area_copy(const struct loc_area *src, struct loc_area *dst)
{
    int rc = IOTSEC_OK;
    *dst = *src;
    dst->cells = src->kind == LOC_AREA_CELLS ? dup(src->cells, src->n, sizeof(struct ncgi), &rc)
                                             : NULL;
    dst->tas = src->kind == LOC_AREA_TAS ? dup(src->tas, src->n, sizeof(struct tai), &rc) : NULL;
    dst->polygon = src->kind == LOC_AREA_POLYGON
                       ? dup(src->polygon, src->n, sizeof(struct geo_point), &rc)
                       : NULL;
    if (rc != IOTSEC_OK)
        loc_area_free_members(dst);
    return rc;
}
