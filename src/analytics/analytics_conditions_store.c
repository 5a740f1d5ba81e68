/* Fleet conditions kept: one row per (kind, scope, target) while it lasts, closed when the
 * fleet recovers. Several instances sharing a database each see part of a fleet (or the same
 * feed): the open row is unique (a partial unique index), so they update one row instead of
 * opening one each, and a close only takes a row nobody saw in that window or later. */
#include <stdio.h>
#include <string.h>

#include "analytics/an_store.h"
#include "base/err.h"

const char ANALYTICS_MIGRATION_CONDITIONS[] =
    "CREATE TABLE an_conditions ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"         /* ENDPOINT_UNREACHABLE */
    "  scope TEXT NOT NULL,"        /* what target names: "group" (a mapping's group) */
    "  target TEXT NOT NULL,"       /* the group's name, never its number */
    "  share_pct INTEGER NOT NULL," /* of the active members, at the last window seen */
    "  devices INTEGER NOT NULL,"   /* members affected, at the last window seen */
    "  active INTEGER NOT NULL,"    /* members active, at the last window seen */
    "  endpoint TEXT,"              /* the destination most of them failed on, if one stood out */
    "  port INTEGER,"
    "  first_seen INTEGER NOT NULL," /* record time, unix seconds: the first window's start */
    "  last_seen INTEGER NOT NULL,"  /* the last window's end */
    "  last_window INTEGER NOT NULL,"
    "  windows INTEGER NOT NULL," /* windows in the condition */
    "  closed_at INTEGER);"       /* NULL while open: the recovered window's start */
    "CREATE UNIQUE INDEX an_conditions_open ON an_conditions(kind, scope, target)"
    " WHERE closed_at IS NULL;"
    "CREATE INDEX an_conditions_target ON an_conditions(target, id);"
    /* the admin findings list filters by the device's group */
    "CREATE INDEX an_mappings_grp ON an_mappings(grp);";

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int rc = store_step(st);
    return rc == STORE_DONE ? IOTSEC_OK : store_error(conn, rc);
}

int an_store_condition_seen(struct store_conn *conn, const struct an_condition_row *r)
{
    struct store_stmt *st;
    int rc = store_stmt(
        conn,
        "INSERT INTO an_conditions(kind, scope, target, share_pct, devices, active, endpoint,"
        " port, first_seen, last_seen, last_window, windows) VALUES (?,?,?,?,?,?,?,?,?,?,?,1)"
        " ON CONFLICT(kind, scope, target) WHERE closed_at IS NULL DO UPDATE SET"
        " share_pct = excluded.share_pct, devices = excluded.devices, active = excluded.active,"
        " endpoint = COALESCE(excluded.endpoint, an_conditions.endpoint),"
        " port = COALESCE(excluded.port, an_conditions.port),"
        " first_seen = CASE WHEN excluded.first_seen < an_conditions.first_seen"
        "   THEN excluded.first_seen ELSE an_conditions.first_seen END,"
        " last_seen = CASE WHEN excluded.last_seen > an_conditions.last_seen"
        "   THEN excluded.last_seen ELSE an_conditions.last_seen END,"
        /* another instance's report of the same window is not one more window */
        " windows = an_conditions.windows + CASE WHEN excluded.last_window >"
        "   an_conditions.last_window THEN 1 ELSE 0 END,"
        " last_window = CASE WHEN excluded.last_window > an_conditions.last_window"
        "   THEN excluded.last_window ELSE an_conditions.last_window END",
        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, r->kind, -1);
    store_bind_text(st, 2, r->scope, -1);
    store_bind_text(st, 3, r->target, -1);
    store_bind_int(st, 4, (int)r->share_pct);
    store_bind_int64(st, 5, r->devices);
    store_bind_int64(st, 6, r->active);
    if (r->endpoint[0]) {
        store_bind_text(st, 7, r->endpoint, -1);
        store_bind_int(st, 8, r->port);
    } else {
        store_bind_null(st, 7);
        store_bind_null(st, 8);
    }
    store_bind_int64(st, 9, r->first_seen);
    store_bind_int64(st, 10, r->last_seen);
    store_bind_int64(st, 11, r->last_window);
    return step_done(conn, st);
}

int an_store_condition_close(struct store_conn *conn, const char *kind, const char *scope,
                             const char *target, int64_t window, int64_t at, bool *closed)
{
    struct store_stmt *st;
    *closed = false;
    int rc = store_stmt(conn,
                        "UPDATE an_conditions SET closed_at = ? WHERE kind = ? AND scope = ? AND"
                        " target = ? AND closed_at IS NULL AND last_window < ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, at);
    store_bind_text(st, 2, kind, -1);
    store_bind_text(st, 3, scope, -1);
    store_bind_text(st, 4, target, -1);
    store_bind_int64(st, 5, window);
    if ((rc = step_done(conn, st)) == IOTSEC_OK)
        *closed = store_changes(conn) > 0;
    return rc;
}

static void read_condition(struct store_stmt *st, struct an_condition_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = store_col_int64(st, 0);
    snprintf(r->kind, sizeof(r->kind), "%s", store_col_text(st, 1));
    snprintf(r->scope, sizeof(r->scope), "%s", store_col_text(st, 2));
    snprintf(r->target, sizeof(r->target), "%s", store_col_text(st, 3));
    r->share_pct = (unsigned)store_col_int(st, 4);
    r->devices = store_col_int64(st, 5);
    r->active = store_col_int64(st, 6);
    const char *endpoint = store_col_text(st, 7);
    snprintf(r->endpoint, sizeof(r->endpoint), "%s", endpoint ? endpoint : "");
    r->port = endpoint ? (uint16_t)store_col_int(st, 8) : 0;
    r->first_seen = store_col_int64(st, 9);
    r->last_seen = store_col_int64(st, 10);
    r->last_window = store_col_int64(st, 11);
    r->windows = store_col_int64(st, 12);
    r->closed_at = store_col_is_null(st, 13) ? 0 : store_col_int64(st, 13);
}

int an_store_conditions_list(struct store *s, const struct an_conditions_query *q,
                             an_condition_row_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT id, kind, scope, target, share_pct, devices, active, endpoint,"
                        " port, first_seen, last_seen, last_window, windows, closed_at"
                        " FROM an_conditions WHERE id > ? AND (? IS NULL OR target = ?) AND"
                        " (? = 0 OR (? = 1 AND closed_at IS NULL) OR"
                        " (? = 2 AND closed_at IS NOT NULL)) AND last_seen >= ?"
                        " ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, q->after);
    if (q->target) {
        store_bind_text(st, 2, q->target, -1);
        store_bind_text(st, 3, q->target, -1);
    } else {
        store_bind_null(st, 2);
        store_bind_null(st, 3);
    }
    for (int i = 4; i <= 6; i++)
        store_bind_int(st, i, (int)q->state);
    store_bind_int64(st, 7, q->since);
    store_bind_int64(st, 8, (int64_t)q->limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct an_condition_row r;
        read_condition(st, &r);
        fn(&r, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
