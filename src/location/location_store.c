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

/* ---- location history (migration 32) ---- */

/* One row per fix: where (TA and/or cell, NULL when the report had none), when (the network's
 * time), and what the area check said (enum loc_fix_check; cause when outside). Keyed for the
 * one read there is: a device's fixes by time. */
const char LOCATION_MIGRATION_HISTORY[] =
    "CREATE TABLE location_fix ("
    "  id INTEGER PRIMARY KEY,"
    "  supi TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  tai_plmn TEXT,"
    "  tac INTEGER,"
    "  cell_plmn TEXT,"
    "  nr_cell_id INTEGER,"
    "  area_check INTEGER NOT NULL CHECK (area_check BETWEEN 0 AND 2),"
    "  cause TEXT"
    ");"
    "CREATE INDEX location_fix_by_device ON location_fix (supi, time_ms, id);";

#define FIX_COLS     "(supi, time_ms, tai_plmn, tac, cell_plmn, nr_cell_id, area_check, cause)"
#define FIX_NCOLS    8
#define FIX_ROW      "(?, ?, ?, ?, ?, ?, ?, ?)"
#define FIX_ROW_NEXT ", " FIX_ROW
#define FIX_GROUP    8 /* rows per multi-row INSERT: one round trip on PostgreSQL, not eight */

static const char fix_insert_1[] = "INSERT INTO location_fix " FIX_COLS " VALUES " FIX_ROW;
static const char fix_insert_group[] =
    "INSERT INTO location_fix " FIX_COLS " VALUES " FIX_ROW FIX_ROW_NEXT FIX_ROW_NEXT FIX_ROW_NEXT
        FIX_ROW_NEXT FIX_ROW_NEXT FIX_ROW_NEXT FIX_ROW_NEXT;

static void bind_fix(struct store_stmt *st, int base, const struct location_fix *f)
{
    store_bind_text(st, base + 1, f->supi, -1);
    store_bind_int64(st, base + 2, f->time_ms);
    if (f->has_tai) {
        store_bind_text(st, base + 3, f->tai.plmn, -1);
        store_bind_int64(st, base + 4, f->tai.tac);
    } else {
        store_bind_null(st, base + 3);
        store_bind_null(st, base + 4);
    }
    if (f->has_ncgi) {
        store_bind_text(st, base + 5, f->ncgi.plmn, -1);
        store_bind_int64(st, base + 6, (int64_t)f->ncgi.nr_cell_id);
    } else {
        store_bind_null(st, base + 5);
        store_bind_null(st, base + 6);
    }
    store_bind_int(st, base + 7, (int)f->check);
    if (f->cause)
        store_bind_text(st, base + 8, f->cause, -1);
    else
        store_bind_null(st, base + 8);
}

int location_store_fixes(struct store_conn *conn, const struct location_fix *fixes, size_t n)
{
    size_t i = 0;
    while (i < n) {
        bool group = n - i >= FIX_GROUP;
        struct store_stmt *st;
        int rc = store_stmt(conn, group ? fix_insert_group : fix_insert_1, &st);
        if (rc != IOTSEC_OK)
            return rc;
        size_t rows = group ? FIX_GROUP : 1;
        for (size_t r = 0; r < rows; r++)
            bind_fix(st, (int)(r * FIX_NCOLS), &fixes[i + r]);
        int s = store_step(st);
        store_reset(st);
        if (s != STORE_DONE)
            return store_error(conn, s);
        i += rows;
    }
    return IOTSEC_OK;
}

int location_store_fixes_trim(struct store_conn *conn, char cursor[LOC_SUPI_MAX], size_t chunk,
                              unsigned max_fixes, int64_t before_ms, uint64_t *deleted)
{
    *deleted = 0;
    char(*supis)[LOC_SUPI_MAX] = calloc(chunk ? chunk : 1, LOC_SUPI_MAX);
    if (supis == NULL)
        return IOTSEC_ERR_NOMEM;
    struct store_stmt *st;
    size_t n = 0;
    int rc = store_stmt(conn,
                        "SELECT DISTINCT supi FROM location_fix WHERE supi > ?1 ORDER BY supi "
                        "LIMIT ?2",
                        &st);
    if (rc == IOTSEC_OK) {
        store_bind_text(st, 1, cursor, -1);
        store_bind_int64(st, 2, (int64_t)chunk);
        int s;
        while (n < chunk && (s = store_step(st)) == STORE_ROW)
            snprintf(supis[n++], LOC_SUPI_MAX, "%s", store_col_text(st, 0));
        store_reset(st);
        if (n < chunk && s != STORE_DONE)
            rc = store_error(conn, s);
    }
    /* Older than the age limit, or past the max_fixes newest (time, id): one statement per
     * device, on its index range. LIMIT with a huge bound: both engines' spelling of "all". */
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        rc = store_stmt(conn,
                        "DELETE FROM location_fix WHERE supi = ?1 AND (time_ms < ?2 OR id IN "
                        "(SELECT id FROM location_fix WHERE supi = ?1 AND ?3 > 0 "
                        "ORDER BY time_ms DESC, id DESC LIMIT 1000000000 OFFSET ?3))",
                        &st);
        if (rc != IOTSEC_OK)
            break;
        store_bind_text(st, 1, supis[i], -1);
        store_bind_int64(st, 2, before_ms);
        store_bind_int64(st, 3, (int64_t)max_fixes);
        int s = store_step(st);
        store_reset(st);
        if (s != STORE_DONE)
            rc = store_error(conn, s);
        else
            *deleted += (uint64_t)store_changes(conn);
    }
    if (rc == IOTSEC_OK)
        snprintf(cursor, LOC_SUPI_MAX, "%s", n == chunk ? supis[n - 1] : "");
    free(supis);
    return rc;
}

int location_store_fixes_page(struct store *st, const char *supi, int64_t since_ms,
                              int64_t until_ms, int64_t before_time, int64_t before_id,
                              size_t limit, location_fix_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *s;
    int rc = store_reader_get(st, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT id, time_ms, tai_plmn, tac, cell_plmn, nr_cell_id, area_check, "
                        "cause FROM location_fix WHERE supi = ?1 AND time_ms >= ?2 AND "
                        "time_ms < ?3 AND (?5 = 0 OR time_ms < ?4 OR (time_ms = ?4 AND id < ?5)) "
                        "ORDER BY time_ms DESC, id DESC LIMIT ?6",
                        &s);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(s, 1, supi, -1);
    store_bind_int64(s, 2, since_ms);
    store_bind_int64(s, 3, until_ms);
    store_bind_int64(s, 4, before_time);
    store_bind_int64(s, 5, before_id);
    store_bind_int64(s, 6, (int64_t)limit);
    int step;
    while ((step = store_step(s)) == STORE_ROW) {
        struct location_fix f = {.id = store_col_int64(s, 0), .time_ms = store_col_int64(s, 1)};
        snprintf(f.supi, sizeof(f.supi), "%s", supi);
        if ((f.has_tai = !store_col_is_null(s, 2))) {
            snprintf(f.tai.plmn, sizeof(f.tai.plmn), "%s", store_col_text(s, 2));
            f.tai.tac = (uint32_t)store_col_int64(s, 3);
        }
        if ((f.has_ncgi = !store_col_is_null(s, 4))) {
            snprintf(f.ncgi.plmn, sizeof(f.ncgi.plmn), "%s", store_col_text(s, 4));
            f.ncgi.nr_cell_id = (uint64_t)store_col_int64(s, 5);
        }
        f.check = (enum loc_fix_check)store_col_int(s, 6);
        if (!store_col_is_null(s, 7)) {
            snprintf(f.cause_buf, sizeof(f.cause_buf), "%s", store_col_text(s, 7));
            f.cause = f.cause_buf;
        }
        fn(ctx, &f);
    }
    store_reset(s);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
