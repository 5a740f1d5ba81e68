/* The SQLite backend: opening a connection with the pragmas the store relies on, the writer's
 * transaction statements, errors, and the method table. Opening one connection:
 *
 * Every connection: busy_timeout (a lock held by another process or a checkpoint is waited
 * for, not failed at once), cache_size (pages kept in memory), temp_store=MEMORY (sorts and
 * temporary indexes of large imports stay off disk), and no mutex of its own
 * (SQLITE_OPEN_NOMUTEX): each connection is used by one thread only, so SQLite's
 * per-connection locking would be pure cost. For the same reason the library's memory
 * statistics are off (SQLITE_CONFIG_MEMSTATUS): with them every allocation SQLite makes takes
 * one process-wide mutex, shared by all connections of all threads (8% of the writer's time
 * in a bulk import was that mutex); nothing here reads those statistics.
 *
 * The writer also sets journal_mode=WAL (persistent in the file: readers then never block
 * the writer nor the writer them), synchronous (FULL: the WAL is fsynced at every commit),
 * foreign_keys=ON (per connection in SQLite, off by default), journal_size_limit so that
 * a WAL grown by a bulk import is truncated back at the next checkpoint, and secure_delete
 * (freed cells are zeroed, so a deleted sealed credential does not linger in free pages). Readers
 * open the file read-only: a read path cannot write by mistake. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/err.h"
#include "store/sqlite/sqlite_int.h"

#define WAL_SIZE_LIMIT (64 * 1024 * 1024)

static int sq_exec(struct store_conn *conn, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(sqlite_conn_of(conn)->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int err = sqlite_error(NULL, rc);
        store_set_errmsg("sqlite: %s (code %d) in: %.80s", msg ? msg : sqlite3_errstr(rc), rc, sql);
        sqlite3_free(msg);
        return err;
    }
    return IOTSEC_OK;
}

static const char *const control_sql[CTL_COUNT] = {
    [CTL_BEGIN] = "BEGIN IMMEDIATE",
    [CTL_COMMIT] = "COMMIT",
    [CTL_ROLLBACK] = "ROLLBACK",
    [CTL_SAVEPOINT] = "SAVEPOINT " JOB_SAVEPOINT,
    [CTL_RELEASE] = "RELEASE " JOB_SAVEPOINT,
    [CTL_ROLLBACK_TO] = "ROLLBACK TO " JOB_SAVEPOINT,
};

static int sq_control(struct store_conn *base, enum conn_ctl ctl)
{
    struct sqlite_conn *conn = sqlite_conn_of(base);
    sqlite3_stmt **st = &conn->control[ctl];
    int rc = SQLITE_OK;
    if (*st == NULL)
        rc =
            sqlite3_prepare_v3(conn->db, control_sql[ctl], -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(*st);
    int err = rc == SQLITE_DONE ? IOTSEC_OK : sqlite_error(conn, rc);
    if (*st != NULL)
        sqlite3_reset(*st);
    return err;
}

static bool sq_in_transaction(struct store_conn *conn)
{
    return !sqlite3_get_autocommit(sqlite_conn_of(conn)->db);
}

static int sq_set_cache_size(struct store_conn *conn, int kib)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
    return sq_exec(conn, sql);
}

/* Runs a pragma that answers one text row and copies the answer. */
static int pragma_text(struct sqlite_conn *conn, const char *sql, char *out, size_t out_len)
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
    int err = rc == SQLITE_OK ? IOTSEC_OK : sqlite_error(conn, rc);
    sqlite3_finalize(st);
    return err;
}

static int set_wal(struct sqlite_conn *conn, const char *path)
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

static int apply_pragmas(struct sqlite_conn *conn, const char *path,
                         const struct store_options *opt, bool writer)
{
    char sql[160];
    sqlite3_busy_timeout(conn->db, opt->busy_timeout_ms);
    int err = sq_set_cache_size(&conn->base, opt->cache_size_kib);
    if (err == IOTSEC_OK)
        err = sq_exec(&conn->base, "PRAGMA temp_store=MEMORY");
    if (err != IOTSEC_OK || !writer)
        return err;
    err = set_wal(conn, path);
    if (err != IOTSEC_OK)
        return err;
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=%d;"
             " PRAGMA secure_delete=ON;",
             opt->synchronous == STORE_SYNC_NORMAL ? "NORMAL" : "FULL", WAL_SIZE_LIMIT);
    return sq_exec(&conn->base, sql);
}

/* Prepare-time check (SQLite calls it once per statement compiled, not per step). */
static int writer_authorizer(void *p, int action, const char *a1, const char *a2,
                             const char *dbname, const char *trigger)
{
    const struct sqlite_conn *conn = p;
    (void)a1, (void)dbname, (void)trigger;
    if (!conn->base.in_job)
        return SQLITE_OK;
    if (action == SQLITE_TRANSACTION)
        return SQLITE_DENY;
    if (action == SQLITE_SAVEPOINT && a2 != NULL && strcasecmp(a2, JOB_SAVEPOINT) == 0)
        return SQLITE_DENY;
    return SQLITE_OK;
}

static void sq_conn_close(struct store_conn *base)
{
    struct sqlite_conn *conn = sqlite_conn_of(base);
    for (int i = 0; i < CTL_COUNT; i++)
        sqlite3_finalize(conn->control[i]);
    /* sqlite3_close_v2 rather than close: a statement a caller forgot to finalize does not
     * keep the handle (and its file descriptors) alive in an unusable state. */
    sqlite3_close_v2(conn->db);
    free(conn);
}

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* Before the library's first use in the process (after it, sqlite3_config refuses). */
static void library_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

static int sq_conn_open(const char *path, const struct store_options *opt, bool writer,
                        struct store_conn **out)
{
    *out = NULL;
    pthread_once(&library_once, library_setup);
    struct sqlite_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return IOTSEC_ERR_NOMEM;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, &conn->db, flags, NULL);
    if (rc != SQLITE_OK) {
        store_set_errmsg("sqlite: cannot open %s: %s", path,
                         conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc));
        sq_conn_close(&conn->base);
        return rc == SQLITE_NOMEM ? IOTSEC_ERR_NOMEM : IOTSEC_ERR_IO;
    }
    int err = apply_pragmas(conn, path, opt, writer);
    if (err != IOTSEC_OK) {
        sq_conn_close(&conn->base);
        return err;
    }
    if (writer)
        sqlite3_set_authorizer(conn->db, writer_authorizer, conn);
    *out = &conn->base;
    return IOTSEC_OK;
}

static int sq_check(void)
{
    if (!sqlite3_threadsafe()) {
        store_set_errmsg("store: SQLite was built without thread support");
        return IOTSEC_ERR_UNSUPPORTED;
    }
    return IOTSEC_OK;
}

/* The file holds sealed credentials and the identities of every subscriber: create it
 * readable by the daemon's user only. SQLite gives its -wal and -shm files the mode of the
 * database file, so they follow. An existing file keeps its mode (the operator's choice);
 * URIs and ":memory:" are left to SQLite. */
static void sq_prepare_target(const char *path)
{
    if (strncmp(path, "file:", 5) == 0 || path[0] == ':')
        return;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

static char *sq_migration_sql(const struct store_migration *m)
{
    return strdup(m->sql);
}

static int sq_integrity_check(struct store_conn *base)
{
    struct sqlite_conn *c = sqlite_conn_of(base);
    sqlite3_stmt *st = NULL;
    int err;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *first = sqlite3_column_text(st, 0);
        if (first != NULL && strcmp((const char *)first, "ok") == 0) {
            err = IOTSEC_OK;
        } else {
            store_set_errmsg("store: integrity_check: %s", first ? (const char *)first : "?");
            err = IOTSEC_ERR_IO;
        }
    } else {
        /* A file damaged enough fails the pragma itself (SQLITE_CORRUPT): also "not ok". */
        err = sqlite_error(c, rc);
        if (err != IOTSEC_ERR_BUSY && err != IOTSEC_ERR_NOMEM)
            err = IOTSEC_ERR_IO;
    }
    sqlite3_finalize(st);
    return err;
}

int sqlite_error(struct sqlite_conn *conn, int sqlite_rc)
{
    int err;
    switch (sqlite_rc & 0xff) { /* the primary code of an extended one */
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return IOTSEC_OK;
    case SQLITE_CONSTRAINT:
        err = IOTSEC_ERR_CONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        err = IOTSEC_ERR_BUSY;
        break;
    case SQLITE_FULL: /* a full disk is overload: answered 503 + Retry-After, not 500 */
        err = IOTSEC_ERR_FULL;
        break;
    case SQLITE_NOMEM:
        err = IOTSEC_ERR_NOMEM;
        break;
    default:
        err = IOTSEC_ERR_IO;
    }
    /* The connection's message is the detailed one ("UNIQUE constraint failed: t.id") when it
     * belongs to this code; otherwise fall back to the generic text of the code. */
    const char *msg = NULL;
    if (conn != NULL && conn->db != NULL && sqlite3_extended_errcode(conn->db) == sqlite_rc)
        msg = sqlite3_errmsg(conn->db);
    if (msg == NULL)
        msg = sqlite3_errstr(sqlite_rc);
    store_set_errmsg("sqlite: %s (code %d)", msg, sqlite_rc);
    return err;
}

const struct store_backend store_backend_sqlite = {
    .engine = STORE_ENGINE_SQLITE,
    .name = "sqlite",
    .check = sq_check,
    .prepare_target = sq_prepare_target,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .exec = sq_exec,
    .control = sq_control,
    .in_transaction = sq_in_transaction,
    .set_cache_size = sq_set_cache_size,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .reset = sqlite_reset,
    .bind_int64 = sqlite_bind_int64,
    .bind_double = sqlite_bind_double,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
    .bind_ref = sqlite_bind_ref,
    .bind_null = sqlite_bind_null,
    .step = sqlite_step,
    .col_int64 = sqlite_col_int64,
    .col_double = sqlite_col_double,
    .col_text = sqlite_col_text,
    .col_blob = sqlite_col_blob,
    .col_bytes = sqlite_col_bytes,
    .col_is_null = sqlite_col_is_null,
    .changes = sqlite_changes,
    .migration_sql = sq_migration_sql,
    .migrations_table_sql = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " version INTEGER PRIMARY KEY,"
                            " name TEXT NOT NULL,"
                            " applied_at TEXT NOT NULL)",
    .migration_record_sql = "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    .migration_lock_sql = NULL,
    .integrity_check = sq_integrity_check,
    .backup = sqlite_backup,
};
