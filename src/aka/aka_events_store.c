/* The UDM's stored authentication events (TS 29.503 AuthEvent): the SQL. Each SUPI keeps
 * its newest AKA_EVENTS_KEPT events; older ones are dropped in the insert's transaction. */
#include <stdio.h>
#include <string.h>

#include "aka/aka_int.h"
#include "base/err.h"

const char AKA_MIGRATION_2[] = "CREATE TABLE auth_events ("
                               "  id TEXT PRIMARY KEY,"
                               "  supi TEXT NOT NULL,"
                               "  nf_instance_id TEXT NOT NULL,"
                               "  success INTEGER NOT NULL,"
                               "  time_stamp TEXT NOT NULL,"
                               "  auth_type TEXT NOT NULL,"
                               "  serving_network TEXT NOT NULL,"
                               "  auth_removal_ind INTEGER NOT NULL DEFAULT 0,"
                               "  created_ms INTEGER NOT NULL"
                               ");"
                               "CREATE INDEX auth_events_by_supi ON auth_events(supi, created_ms);";

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int aka_event_insert_run(struct store_conn *conn, const struct aka_auth_event *ev)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO auth_events(id, supi, nf_instance_id, success, time_stamp,"
                        " auth_type, serving_network, auth_removal_ind, created_ms)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, ev->id, -1);
    store_bind_text(st, 2, ev->supi, -1);
    store_bind_text(st, 3, ev->nf_instance_id, -1);
    store_bind_int(st, 4, ev->success);
    store_bind_text(st, 5, ev->time_stamp, -1);
    store_bind_text(st, 6, ev->auth_type, -1);
    store_bind_text(st, 7, ev->serving_network, -1);
    store_bind_int(st, 8, ev->removed);
    store_bind_int64(st, 9, ev->created_ms);
    rc = step_done(conn, st);
    if (rc != IOTSEC_OK)
        return rc;
    /* the bound: a core reporting every authentication must not grow the table forever */
    rc = store_stmt(conn,
                    "DELETE FROM auth_events WHERE supi = ? AND id NOT IN"
                    " (SELECT id FROM auth_events WHERE supi = ?"
                    "  ORDER BY created_ms DESC, id DESC LIMIT ?)",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, ev->supi, -1);
    store_bind_text(st, 2, ev->supi, -1);
    store_bind_int(st, 3, AKA_EVENTS_KEPT);
    return step_done(conn, st);
}

int aka_event_remove_run(struct store_conn *conn, const char *supi, const char *id)
{
    struct store_stmt *st;
    int rc = store_stmt(
        conn, "UPDATE auth_events SET auth_removal_ind = 1 WHERE id = ? AND supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, id, -1);
    store_bind_text(st, 2, supi, -1);
    rc = step_done(conn, st);
    if (rc == IOTSEC_OK && store_changes(conn) == 0)
        rc = IOTSEC_ERR_NOTFOUND;
    return rc;
}

static void copy_col(struct store_stmt *st, int col, char *out, size_t cap)
{
    const char *v = store_col_text(st, col);
    snprintf(out, cap, "%s", v ? v : "");
}

int aka_auth_events_list(struct store *s, const char *supi, unsigned limit, aka_auth_event_fn fn,
                         void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT id, nf_instance_id, success, time_stamp, auth_type,"
                        " serving_network, auth_removal_ind, created_ms FROM auth_events"
                        " WHERE supi = ? ORDER BY created_ms DESC, id DESC LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_int(st, 2, (int)limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct aka_auth_event ev = {0};
        copy_col(st, 0, ev.id, sizeof(ev.id));
        copy_col(st, 1, ev.nf_instance_id, sizeof(ev.nf_instance_id));
        ev.success = store_col_int(st, 2) != 0;
        copy_col(st, 3, ev.time_stamp, sizeof(ev.time_stamp));
        copy_col(st, 4, ev.auth_type, sizeof(ev.auth_type));
        copy_col(st, 5, ev.serving_network, sizeof(ev.serving_network));
        ev.removed = store_col_int(st, 6) != 0;
        ev.created_ms = store_col_int64(st, 7);
        snprintf(ev.supi, sizeof(ev.supi), "%s", supi);
        fn(&ev, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
