/* The location capability's SQL: migration 5, and the durable parts of its state (areas,
 * stationary flags, cell positions). Device states are not stored: the network reports
 * them again, and a restart should not resurrect stale positions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "location/location.h"
#include "store/store.h"

/* Migration 5 (reserved for location). monitoring_subscription belongs to the T8 handlers
 * (src/expose/t8_*): one migration for MONTE, numbered before policy's 6. */
const char LOCATION_MIGRATION_1[] =
    "CREATE TABLE location_area ("
    "  supi TEXT PRIMARY KEY,"
    "  area TEXT NOT NULL," /* loc_area_to_json */
    "  stationary INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE location_cell ("
    "  plmn TEXT NOT NULL,"
    "  nr_cell_id INTEGER NOT NULL CHECK (nr_cell_id BETWEEN 0 AND 68719476735),"
    "  lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),"
    "  lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),"
    "  PRIMARY KEY (plmn, nr_cell_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE monitoring_subscription ("
    "  af_id TEXT NOT NULL,"
    "  subscription_id TEXT NOT NULL,"
    "  external_id TEXT," /* the AF's identifier of the device (never a SUPI) */
    "  consent_id TEXT,"
    "  body TEXT NOT NULL," /* MonitoringEventSubscription as accepted */
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (af_id, subscription_id)"
    ");";

struct area_write {
    const char *supi;
    char *json; /* NULL: delete */
    int stationary;
};

static int area_run(struct store_conn *conn, void *arg)
{
    struct area_write *w = arg;
    struct store_stmt *st;
    const char *sql = w->json ? "INSERT INTO location_area (supi, area, stationary, updated_at) "
                                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(supi) DO UPDATE SET "
                                "area = ?2, stationary = ?3, updated_at = ?4"
                              : "DELETE FROM location_area WHERE supi = ?1";
    int rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->supi, -1);
    if (w->json) {
        store_bind_text(st, 2, w->json, -1);
        store_bind_int(st, 3, w->stationary);
        store_bind_int64(st, 4, (int64_t)time(NULL));
    }
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(conn, s);
}

int location_store_area(struct store *st, const char *supi, const struct loc_area *area)
{
    struct area_write w = {supi, NULL, area ? area->stationary : 0};
    if (area) {
        json_t *o = loc_area_to_json(area);
        w.json = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (w.json == NULL)
            return IOTSEC_ERR_NOMEM;
    }
    int rc = store_write_sync(st, area_run, &w);
    free(w.json);
    return rc;
}

int location_store_area_get(struct store *st, const char *supi, char **json, int64_t *updated_at)
{
    struct store_conn *conn;
    struct store_stmt *s;
    int rc = store_reader_get(st, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT area, updated_at FROM location_area WHERE supi = ?1", &s);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(s, 1, supi, -1);
    int step = store_step(s);
    *json = NULL;
    if (step == STORE_ROW) {
        const char *t = store_col_text(s, 0);
        *json = strdup(t ? t : "{}");
        *updated_at = store_col_int64(s, 1);
        rc = *json ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    } else {
        rc = step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(conn, step);
    }
    store_reset(s);
    return rc;
}

struct cell_write {
    const struct ncgi *cell;
    struct geo_point p;
};

static int cell_run(struct store_conn *conn, void *arg)
{
    struct cell_write *w = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO location_cell (plmn, nr_cell_id, lat, lon) VALUES "
                        "(?1, ?2, ?3, ?4) ON CONFLICT(plmn, nr_cell_id) DO UPDATE SET "
                        "lat = ?3, lon = ?4",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->cell->plmn, -1);
    store_bind_int64(st, 2, (int64_t)w->cell->nr_cell_id);
    store_bind_double(st, 3, w->p.lat);
    store_bind_double(st, 4, w->p.lon);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(conn, s);
}

int location_store_cell(struct store *st, const struct ncgi *cell, struct geo_point p)
{
    struct cell_write w = {cell, p};
    return store_write_sync(st, cell_run, &w);
}

int location_store_load(struct store *st, struct location *loc, size_t *n_areas, size_t *n_cells)
{
    *n_areas = *n_cells = 0;
    struct store_conn *conn;
    struct store_stmt *s = NULL;
    int rc = store_reader_get(st, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT plmn, nr_cell_id, lat, lon FROM location_cell", &s);
    while (rc == IOTSEC_OK && store_step(s) == STORE_ROW) {
        struct ncgi c = {0};
        snprintf(c.plmn, sizeof(c.plmn), "%s", store_col_text(s, 0));
        c.nr_cell_id = (uint64_t)store_col_int64(s, 1);
        struct geo_point p = {store_col_double(s, 2), store_col_double(s, 3)};
        rc = location_set_cell_position(loc, &c, p);
        *n_cells += rc == IOTSEC_OK;
    }
    if (s)
        store_reset(s);
    s = NULL;
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT supi, area FROM location_area", &s);
    while (rc == IOTSEC_OK && store_step(s) == STORE_ROW) {
        const char *supi = store_col_text(s, 0);
        json_t *o = json_loads(store_col_text(s, 1), 0, NULL);
        struct loc_area a;
        const char *why;
        if (o && loc_area_from_json(o, &a, &why) == IOTSEC_OK) {
            rc = location_set_area(loc, supi, &a);
            loc_area_free_members(&a);
            *n_areas += rc == IOTSEC_OK;
        } else {
            rc = IOTSEC_ERR_INVALID; /* a row we wrote ourselves: the database was altered */
        }
        json_decref(o);
    }
    if (s)
        store_reset(s);
    return rc;
}
