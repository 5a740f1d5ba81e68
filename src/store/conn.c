/* Opening one connection with the pragmas the store relies on.
 *
 * Every connection: busy_timeout (a lock held by another process or a checkpoint is waited
 * for, not failed at once), cache_size (pages kept in memory), temp_store=MEMORY (sorts and
 * temporary indexes of large imports stay off disk), and no mutex of its own
 * (SQLITE_OPEN_NOMUTEX): each connection is used by one thread only, so SQLite's
 * per-connection locking would be pure cost.
 *
 * The writer also sets journal_mode=WAL (persistent in the file: readers then never block
 * the writer nor the writer them), synchronous (FULL: the WAL is fsynced at every commit),
 * foreign_keys=ON (per connection in SQLite, off by default), and journal_size_limit so that
 * a WAL grown by a bulk import is truncated back at the next checkpoint. Readers open the file
 * read-only: a read path cannot write by mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "store/store_internal.h"

#define WAL_SIZE_LIMIT (64 * 1024 * 1024)

int conn_exec(struct store_conn *conn, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(conn->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        store_set_errmsg("sqlite: %s (code %d) in: %.80s", msg ? msg : sqlite3_errstr(rc), rc, sql);
        sqlite3_free(msg);
        return store_map_sqlite(rc);
    }
    return IOTSEC_OK;
}

static const char *const control_sql[CTL_COUNT] = {
    [CTL_BEGIN] = "BEGIN IMMEDIATE",
    [CTL_COMMIT] = "COMMIT",
    [CTL_SAVEPOINT] = "SAVEPOINT " JOB_SAVEPOINT,
    [CTL_RELEASE] = "RELEASE " JOB_SAVEPOINT,
    [CTL_ROLLBACK_TO] = "ROLLBACK TO " JOB_SAVEPOINT,
};

int conn_control(struct store_conn *conn, enum conn_ctl ctl)
{
    sqlite3_stmt **st = &conn->control[ctl];
    int rc = SQLITE_OK;
    if (*st == NULL)
        rc =
            sqlite3_prepare_v3(conn->db, control_sql[ctl], -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(*st);
    int err = rc == SQLITE_DONE ? IOTSEC_OK : store_error(conn, rc);
    if (*st != NULL)
        sqlite3_reset(*st);
    return err;
}

int conn_set_cache_size(struct store_conn *conn, int kib)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
    return conn_exec(conn, sql);
}

/* Runs a pragma that answers one text row and copies the answer. */
static int pragma_text(struct store_conn *conn, const char *sql, char *out, size_t out_len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(conn->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, out_len, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        }
    }
    int err = rc == SQLITE_OK ? IOTSEC_OK : store_error(conn, rc);
    sqlite3_finalize(st);
    return err;
}

static int set_wal(struct store_conn *conn, const char *path)
{
    char mode[32];
    int err = pragma_text(conn, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
    if (err != IOTSEC_OK)
        return err;
    if (strcasecmp(mode, "wal") != 0) { /* ":memory:", or a VFS without shared memory */
        store_set_errmsg("store: WAL mode unavailable for %s (journal_mode is %s)", path, mode);
        return IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}

static int apply_pragmas(struct store_conn *conn, const char *path, const struct store_options *opt,
                         bool writer)
{
    char sql[160];
    sqlite3_busy_timeout(conn->db, opt->busy_timeout_ms);
    int err = conn_set_cache_size(conn, opt->cache_size_kib);
    if (err == IOTSEC_OK)
        err = conn_exec(conn, "PRAGMA temp_store=MEMORY");
    if (err != IOTSEC_OK || !writer)
        return err;
    err = set_wal(conn, path);
    if (err != IOTSEC_OK)
        return err;
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=%d;",
             opt->synchronous == STORE_SYNC_NORMAL ? "NORMAL" : "FULL", WAL_SIZE_LIMIT);
    return conn_exec(conn, sql);
}

/* Prepare-time check (SQLite calls it once per statement compiled, not per step). */
static int writer_authorizer(void *p, int action, const char *a1, const char *a2,
                             const char *dbname, const char *trigger)
{
    const struct store_conn *conn = p;
    (void)a1, (void)dbname, (void)trigger;
    if (!conn->in_job)
        return SQLITE_OK;
    if (action == SQLITE_TRANSACTION)
        return SQLITE_DENY;
    if (action == SQLITE_SAVEPOINT && a2 != NULL && strcasecmp(a2, JOB_SAVEPOINT) == 0)
        return SQLITE_DENY;
    return SQLITE_OK;
}

int conn_open(const char *path, const struct store_options *opt, bool writer,
              struct store_conn **out)
{
    *out = NULL;
    struct store_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return IOTSEC_ERR_NOMEM;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, &conn->db, flags, NULL);
    if (rc != SQLITE_OK) {
        store_set_errmsg("sqlite: cannot open %s: %s", path,
                         conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc));
        conn_close(conn);
        return rc == SQLITE_NOMEM ? IOTSEC_ERR_NOMEM : IOTSEC_ERR_IO;
    }
    int err = apply_pragmas(conn, path, opt, writer);
    if (err != IOTSEC_OK) {
        conn_close(conn);
        return err;
    }
    if (writer)
        sqlite3_set_authorizer(conn->db, writer_authorizer, conn);
    *out = conn;
    return IOTSEC_OK;
}

void conn_close(struct store_conn *conn)
{
    if (conn == NULL)
        return;
    stmt_cache_clear(&conn->cache);
    for (int i = 0; i < CTL_COUNT; i++)
        sqlite3_finalize(conn->control[i]);
    /* sqlite3_close_v2 rather than close: a statement a caller forgot to finalize does not
     * keep the handle (and its file descriptors) alive in an unusable state. */
    sqlite3_close_v2(conn->db);
    free(conn);
}

sqlite3 *store_conn_db(struct store_conn *conn)
{
    return conn ? conn->db : NULL;
}
