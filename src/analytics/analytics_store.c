/* The analytics' SQL: findings kept as evidence (with a retention sweep), and the UE address
 * -> SUPI mappings that must survive a restart. The SUPI of a finding stays in this table
 * (the admin face's list and the policy's "why" read it); the northbound face never does. */
#include <stdio.h>
#include <string.h>

#include "analytics/an_store.h"
#include "base/err.h"

const char ANALYTICS_MIGRATION_1[] =
    /* id is generated (INSERT ... RETURNING id): unique across instances sharing a database;
     * the policy's action rows name it. */
    "CREATE TABLE an_findings ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"           /* detected (wall clock, unix seconds) */
    "  \"window\" INTEGER NOT NULL,"   /* the window's index (quoted: a PostgreSQL keyword) */
    "  window_start INTEGER NOT NULL," /* record time, unix seconds */
    "  exception TEXT NOT NULL,"       /* TS 29.520 ExceptionId */
    "  level INTEGER NOT NULL,"
    "  device TEXT NOT NULL,"    /* the pseudonym (hex) */
    "  supi TEXT,"               /* the mapped SUPI, if any: inside only */
    "  victim TEXT,"             /* the victim or the wrong destination */
    "  evidence TEXT NOT NULL);" /* the finding's JSON and what fired */
    "CREATE INDEX an_findings_supi ON an_findings(supi, id);"
    "CREATE INDEX an_findings_exception ON an_findings(exception, id);"
    "CREATE INDEX an_findings_at ON an_findings(at);"
    /* One row per UE address: an address belongs to one device at a time. */
    "CREATE TABLE an_mappings ("
    "  ip TEXT PRIMARY KEY,"
    "  supi TEXT NOT NULL,"
    "  grp TEXT NOT NULL,"
    "  at INTEGER NOT NULL);";

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int rc = store_step(st);
    return rc == STORE_DONE ? IOTSEC_OK : store_error(conn, rc);
}

static void bind_opt_text(struct store_stmt *st, int i, const char *s)
{
    if (s && s[0])
        store_bind_text(st, i, s, -1);
    else
        store_bind_null(st, i);
}

int an_store_finding_put(struct store_conn *conn, const struct an_finding_row *r, int64_t *id)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO an_findings(at, \"window\", window_start, exception, level,"
                        " device, supi, victim, evidence) VALUES (?,?,?,?,?,?,?,?,?)"
                        " RETURNING id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, r->at);
    store_bind_int64(st, 2, r->window);
    store_bind_int64(st, 3, r->window_start);
    store_bind_text(st, 4, r->exception, -1);
    store_bind_int(st, 5, (int)r->level);
    store_bind_text(st, 6, r->device, -1);
    bind_opt_text(st, 7, r->supi);
    bind_opt_text(st, 8, r->victim);
    store_bind_text(st, 9, r->evidence, -1);
    return store_step_id(conn, st, id);
}

int an_store_findings_sweep(struct store_conn *conn, int64_t before, size_t limit, size_t *deleted)
{
    struct store_stmt *st;
    *deleted = 0;
    int rc = store_stmt(conn,
                        "DELETE FROM an_findings WHERE id IN (SELECT id FROM an_findings"
                        " WHERE at < ? ORDER BY at LIMIT ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, before);
    store_bind_int64(st, 2, (int64_t)limit);
    if ((rc = step_done(conn, st)) == IOTSEC_OK)
        *deleted = (size_t)store_changes(conn);
    return rc;
}

#define FINDING_COLS                                                                               \
    "SELECT id, at, \"window\", window_start, exception, level, device, supi, victim, evidence"    \
    " FROM an_findings "

static void read_finding(struct store_stmt *st, struct an_finding_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = store_col_int64(st, 0);
    r->at = store_col_int64(st, 1);
    r->window = store_col_int64(st, 2);
    r->window_start = store_col_int64(st, 3);
    snprintf(r->exception, sizeof(r->exception), "%s", store_col_text(st, 4));
    r->level = (unsigned)store_col_int(st, 5);
    snprintf(r->device, sizeof(r->device), "%s", store_col_text(st, 6));
    const char *supi = store_col_text(st, 7);
    const char *victim = store_col_text(st, 8);
    snprintf(r->supi, sizeof(r->supi), "%s", supi ? supi : "");
    snprintf(r->victim, sizeof(r->victim), "%s", victim ? victim : "");
    r->evidence = store_col_text(st, 9);
}

int an_store_findings_list(struct store *s, const struct an_findings_query *q, an_finding_row_fn fn,
                           void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        FINDING_COLS "WHERE id > ? AND (? IS NULL OR supi = ?) AND"
                                     " (? IS NULL OR exception = ?) AND at >= ? AND"
                                     /* the device's group: its current mapping's */
                                     " (? IS NULL OR supi IN"
                                     " (SELECT supi FROM an_mappings WHERE grp = ?)) AND"
                                     /* its enrollment: the provisioning's registrations */
                                     " (? IS NULL OR supi IN (SELECT r.supi FROM"
                                     " prov_registrations r JOIN prov_enrollments e"
                                     " ON e.id = r.enrollment_id WHERE r.supi IS NOT NULL AND"
                                     " (e.name = ? OR CAST(e.id AS TEXT) = ?)))"
                                     " ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, q->after);
    bind_opt_text(st, 2, q->supi);
    bind_opt_text(st, 3, q->supi);
    bind_opt_text(st, 4, q->exception);
    bind_opt_text(st, 5, q->exception);
    store_bind_int64(st, 6, q->since);
    bind_opt_text(st, 7, q->group);
    bind_opt_text(st, 8, q->group);
    bind_opt_text(st, 9, q->enrollment);
    bind_opt_text(st, 10, q->enrollment);
    bind_opt_text(st, 11, q->enrollment);
    store_bind_int64(st, 12, (int64_t)q->limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct an_finding_row r;
        read_finding(st, &r);
        fn(&r, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int an_store_finding_get(struct store *s, int64_t id, an_finding_row_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, FINDING_COLS "WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    int step = store_step(st);
    if (step == STORE_ROW) {
        struct an_finding_row r;
        read_finding(st, &r);
        fn(&r, ctx);
        rc = IOTSEC_OK;
    } else {
        rc = step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(conn, step);
    }
    store_reset(st);
    return rc;
}

int an_store_map_put(struct store_conn *conn, const char *supi, const char *ip, const char *group,
                     int64_t at)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO an_mappings(ip, supi, grp, at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT(ip) DO UPDATE SET supi = excluded.supi,"
                        " grp = excluded.grp, at = excluded.at",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, ip, -1);
    store_bind_text(st, 2, supi, -1);
    store_bind_text(st, 3, group ? group : "", -1);
    store_bind_int64(st, 4, at);
    return step_done(conn, st);
}

int an_store_map_del(struct store_conn *conn, const char *supi, const char *ip)
{
    struct store_stmt *st;
    int rc = store_stmt(conn, "DELETE FROM an_mappings WHERE ip = ? AND supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, ip, -1);
    store_bind_text(st, 2, supi, -1);
    return step_done(conn, st);
}

int an_store_map_load(struct store *s, an_map_row_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT supi, ip, grp FROM an_mappings ORDER BY at, ip", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step;
    while ((step = store_step(st)) == STORE_ROW)
        fn(ctx, store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2));
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
