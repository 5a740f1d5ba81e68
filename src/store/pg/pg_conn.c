/* The PostgreSQL backend: connections (libpq URI, so multi-host failover with
 * target_session_attrs works as libpq does), the writer's transaction statements, errors,
 * reconnection, migrations' SQL, and the method table.
 *
 * Round trips are what a network database costs, so the writer's transaction statements are
 * not sent one by one: BEGIN, SAVEPOINT, RELEASE and ROLLBACK TO are queued on the connection
 * and travel in front of the next statement that needs the server (pg_stmt.c sends them in one
 * pipeline with it; store_exec prefixes them to its text). A group of jobs then costs its own
 * statements plus one COMMIT, not four extra round trips per job.
 *
 * A lost connection (SQLSTATE 08xxx, 57P01 admin shutdown, or libpq's CONNECTION_BAD) fails
 * the statement with IOTSEC_ERR_BUSY and marks the connection broken; the transaction it was
 * in is gone, and every further statement of it fails the same way. The connection is reopened
 * only where that cannot split a transaction: at the writer's next BEGIN, at a reader's next
 * snapshot or autocommit statement; attempts back off from 50 ms to 2 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/pg/pg_int.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
/* Flush DEALLOCATEs once this many statements were finalized. */
#define DEALLOC_BATCH 16
/* The advisory lock that serialises migrations across instances ("iotsec" in ASCII + 1). */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(115896841110627)"

/* Whether a SQLSTATE says the session is gone. */
static bool sqlstate_lost(const char *state)
{
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

static int sqlstate_code(const char *state)
{
    if (strncmp(state, "23", 2) == 0) /* unique, foreign key, check, not null, exclusion */
        return IOTSEC_ERR_CONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || /* retry */
        strcmp(state, "55P03") == 0 ||                                /* lock_timeout */
        strcmp(state, "53300") == 0 || /* too many connections */
        sqlstate_lost(state))
        return IOTSEC_ERR_BUSY;
    if (strcmp(state, "53200") == 0)
        return IOTSEC_ERR_NOMEM;
    if (strcmp(state, "53100") == 0) /* disk full: 503 + a longer Retry-After, as on SQLite */
        return IOTSEC_ERR_FULL;
    return IOTSEC_ERR_IO;
}

static void mark_broken(struct pg_conn *c)
{
    c->broken = true;
    c->pending_len = 0;
}

int pg_error(struct pg_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    /* No SQLSTATE means libpq itself failed (e.g. "server closed the connection
     * unexpectedly", reported before PQstatus turns CONNECTION_BAD): the session is gone. */
    bool lost = state == NULL || PQstatus(c->db) == CONNECTION_BAD || sqlstate_lost(state);
    if (lost)
        mark_broken(c);
    if (state == NULL) {
        /* No server answer: libpq's own message (host and port, never the password). */
        const char *why = PQerrorMessage(c->db);
        store_set_errmsg("postgresql: %.*s", (int)strcspn(why, "\n"), why && *why ? why : "?");
        return lost ? IOTSEC_ERR_BUSY : IOTSEC_ERR_IO;
    }
    if (strncmp(state, "22", 2) == 0) {
        /* Data exceptions quote the offending value ("invalid input syntax ...: "x""): the
         * log gets the class only. */
        store_set_errmsg("postgresql: data exception (SQLSTATE %s)", state);
    } else {
        store_set_errmsg("postgresql: %s (SQLSTATE %s)", msg ? msg : "error", state);
    }
    return sqlstate_code(state);
}

/* Runs sql (simple protocol: several statements allowed, no parameters). */
static int run_simple(struct pg_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->db, sql);
    ExecStatusType st = PQresultStatus(res);
    int err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
                  ? IOTSEC_OK
                  : pg_error(c, res);
    PQclear(res);
    return err;
}

static int session_setup(struct pg_conn *c)
{
    char sql[200];
    /* A lock held by another instance is waited for as long as SQLite's busy_timeout, then
     * IOTSEC_ERR_BUSY (55P03); readers are read-only sessions, as on SQLite. */
    snprintf(sql, sizeof(sql), "SET lock_timeout = %d%s", c->lock_timeout_ms,
             c->writer ? "" : "; SET default_transaction_read_only = on");
    return run_simple(c, sql);
}

static uint64_t ms_ns(int ms)
{
    return (uint64_t)ms * 1000000u;
}

/* Reopens a broken connection (PQreset tries every host of the URI again). */
static int reconnect(struct pg_conn *c)
{
    uint64_t now = store_now_ns();
    if (now < c->retry_at_ns) {
        store_set_errmsg("postgresql: connection lost, next attempt in %llu ms",
                         (unsigned long long)((c->retry_at_ns - now) / 1000000u));
        return IOTSEC_ERR_BUSY;
    }
    PQreset(c->db);
    int err = PQstatus(c->db) == CONNECTION_OK ? IOTSEC_OK : IOTSEC_ERR_BUSY;
    if (err != IOTSEC_OK)
        pg_error(c, NULL);
    if (err == IOTSEC_OK) {
        c->broken = false;
        err = session_setup(c);
    }
    if (err != IOTSEC_OK) {
        c->broken = true;
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (c->backoff_ms > BACKOFF_MAX_MS)
            c->backoff_ms = BACKOFF_MAX_MS;
        c->retry_at_ns = store_now_ns() + ms_ns(c->backoff_ms);
        return IOTSEC_ERR_BUSY;
    }
    c->backoff_ms = 0;
    c->generation++; /* every statement prepares again on the new session */
    c->dealloc_len = c->dealloc_count = 0;
    return IOTSEC_OK;
}

/* A broken connection inside a transaction stays broken until the transaction ends. */
static int usable(struct pg_conn *c)
{
    if (!c->broken)
        return IOTSEC_OK;
    if (c->txn) {
        store_set_errmsg("postgresql: connection lost in a transaction");
        return IOTSEC_ERR_BUSY;
    }
    return reconnect(c);
}

static void flush_dealloc(struct pg_conn *c)
{
    if (c->dealloc_count == 0 || PQtransactionStatus(c->db) == PQTRANS_INERROR)
        return;
    PGresult *res = PQexec(c->db, c->dealloc);
    PQclear(res); /* a failure only leaves statements on the server until the session ends */
    c->dealloc_len = c->dealloc_count = 0;
}

void pg_dealloc_later(struct pg_conn *c, const char *name)
{
    if (c->broken)
        return; /* the session that had it is gone */
    size_t need = c->dealloc_len + strlen(name) + 16;
    char *grown = realloc(c->dealloc, need);
    if (grown == NULL)
        return;
    c->dealloc = grown;
    c->dealloc_len += (size_t)sprintf(grown + c->dealloc_len, "DEALLOCATE %s;", name);
    c->dealloc_count++;
}

int pg_ready(struct pg_conn *c)
{
    if (c->pipelined) {
        int derr = pg_drain(c);
        if (derr != IOTSEC_OK)
            return derr;
    }
    int err = usable(c);
    if (err != IOTSEC_OK)
        return err;
    if (c->dealloc_count >= DEALLOC_BATCH && c->pending_len == 0)
        flush_dealloc(c);
    return IOTSEC_OK;
}

#define STMT_SAVEPOINT "iotsec_stmt"

static const char *const control_sql[PG_CTL_COUNT] = {
    [CTL_BEGIN] = "BEGIN",
    [CTL_COMMIT] = "COMMIT",
    [CTL_ROLLBACK] = "ROLLBACK",
    [CTL_SAVEPOINT] = "SAVEPOINT " JOB_SAVEPOINT,
    [CTL_RELEASE] = "RELEASE " JOB_SAVEPOINT,
    [CTL_ROLLBACK_TO] = "ROLLBACK TO " JOB_SAVEPOINT,
    [PG_STMT_SAVEPOINT] = "SAVEPOINT " STMT_SAVEPOINT,
    [PG_STMT_RELEASE] = "RELEASE " STMT_SAVEPOINT,
    [PG_STMT_ROLLBACK_TO] = "ROLLBACK TO " STMT_SAVEPOINT,
};

const char *pg_control_sql(int ctl)
{
    return control_sql[ctl];
}

/* The queued statements as one text ("BEGIN;SAVEPOINT iotsec_job;"), followed by tail; the
 * queue is emptied. malloc'd, NULL on ENOMEM. */
static char *take_pending(struct pg_conn *c, const char *tail)
{
    size_t len = strlen(tail) + 1;
    for (size_t i = 0; i < c->pending_len; i++)
        len += strlen(control_sql[c->pending[i]]) + 1;
    char *text = malloc(len);
    if (text == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < c->pending_len; i++)
        o += (size_t)sprintf(text + o, "%s;", control_sql[c->pending[i]]);
    strcpy(text + o, tail);
    c->pending_len = 0;
    return text;
}

static int run_with_pending(struct pg_conn *c, const char *sql)
{
    if (c->pending_len == 0)
        return run_simple(c, sql);
    char *text = take_pending(c, sql);
    if (text == NULL)
        return IOTSEC_ERR_NOMEM;
    int err = run_simple(c, text);
    free(text);
    return err;
}

int pg_flush_pending(struct pg_conn *c)
{
    return c->pending_len == 0 ? IOTSEC_OK : run_with_pending(c, "");
}

static int pg_exec(struct store_conn *base, const char *sql)
{
    struct pg_conn *c = pg_conn_of(base);
    if (base->in_job && pg_sql_has_txn_control(sql)) {
        store_set_errmsg(
            "store: not authorized: a job may not BEGIN, COMMIT, ROLLBACK or touch its savepoint");
        return IOTSEC_ERR_IO; /* as SQLite's authorizer answers */
    }
    int err = pg_ready(c);
    if (err != IOTSEC_OK)
        return err;
    if (!base->in_job || !c->txn)
        return run_with_pending(c, sql); /* the queued statements go in the same round trip */
    /* In a job: undone alone if it fails, as on SQLite (see enum pg_ctl). */
    size_t len = strlen(sql);
    char *text = malloc(len + 64);
    if (text == NULL)
        return IOTSEC_ERR_NOMEM;
    sprintf(text, "SAVEPOINT " STMT_SAVEPOINT ";%s;RELEASE " STMT_SAVEPOINT, sql);
    err = run_with_pending(c, text);
    free(text);
    if (err != IOTSEC_OK && !c->broken) {
        pg_queue(c, PG_STMT_ROLLBACK_TO);
        pg_queue(c, PG_STMT_RELEASE);
    }
    return err;
}

static void queue_control(struct pg_conn *c, int ctl)
{
    c->pending[c->pending_len++] = ctl;
}

int pg_queue(struct pg_conn *c, int ctl)
{
    if (c->pending_len == PG_PENDING_MAX) {
        int err = pg_flush_pending(c);
        if (err != IOTSEC_OK)
            return err;
    }
    queue_control(c, ctl);
    return IOTSEC_OK;
}

/* Queues statements the next round trip carries. ROLLBACK TO followed by RELEASE (a failed
 * job) and RELEASE then SAVEPOINT (the next job) accumulate; the buffer holds them all. */
static int pg_control(struct store_conn *base, enum conn_ctl ctl)
{
    struct pg_conn *c = pg_conn_of(base);
    if (c->pipelined) {
        /* A bulk job's pipelined writes: their failure is the COMMIT's. */
        int err = pg_drain(c);
        if (err != IOTSEC_OK && ctl == CTL_COMMIT) {
            char why[400];
            snprintf(why, sizeof(why), "%s", store_errmsg());
            c->txn = false;
            if (!c->broken)
                run_simple(c, "ROLLBACK");
            store_set_errmsg("%s", why);
            return err;
        }
    }
    switch (ctl) {
    case CTL_BEGIN:
        c->pending_len = 0;
        if (c->broken) {
            c->txn = false; /* the lost transaction is over: a new one may reconnect */
            int err = reconnect(c);
            if (err != IOTSEC_OK)
                return err;
        } else if (PQtransactionStatus(c->db) != PQTRANS_IDLE) {
            run_simple(c, "ROLLBACK"); /* a transaction left open by a failure path */
        }
        c->txn = true;
        queue_control(c, ctl);
        return IOTSEC_OK;
    case CTL_SAVEPOINT:
    case CTL_RELEASE:
    case CTL_ROLLBACK_TO:
        if (c->broken) {
            store_set_errmsg("postgresql: connection lost in a transaction");
            return IOTSEC_ERR_BUSY;
        }
        return pg_queue(c, ctl);
    case CTL_COMMIT:
    case CTL_ROLLBACK:
    default: {
        bool was_broken = c->broken;
        c->txn = false;
        if (was_broken) {
            c->pending_len = 0;
            if (ctl == CTL_ROLLBACK)
                return IOTSEC_OK; /* nothing left to roll back */
            store_set_errmsg("postgresql: connection lost before COMMIT: outcome unknown");
            return IOTSEC_ERR_BUSY;
        }
        if (ctl == CTL_ROLLBACK)
            c->pending_len = 0; /* nothing queued matters any more */
        queue_control(c, ctl);
        char *text = take_pending(c, "");
        if (text == NULL)
            return IOTSEC_ERR_NOMEM;
        PGresult *res = PQexec(c->db, text);
        free(text);
        ExecStatusType st = PQresultStatus(res);
        int err = st == PGRES_COMMAND_OK ? IOTSEC_OK : pg_error(c, res);
        /* COMMIT of a transaction a failed statement aborted answers "ROLLBACK", no error:
         * a job that ignored a failure must not be reported committed. */
        if (err == IOTSEC_OK && ctl == CTL_COMMIT && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
            store_set_errmsg("postgresql: the transaction had failed and was rolled back");
            err = IOTSEC_ERR_IO;
        }
        PQclear(res);
        if (!c->broken && PQtransactionStatus(c->db) != PQTRANS_IDLE)
            run_simple(c, "ROLLBACK"); /* the COMMIT failed inside a multi-statement text */
        return err;
    }
    }
}

static bool pg_in_transaction(struct store_conn *base)
{
    struct pg_conn *c = pg_conn_of(base);
    if (c->broken)
        return false;
    if (c->pending_len > 0)
        return c->txn;
    PGTransactionStatusType t = PQtransactionStatus(c->db);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void pg_conn_close(struct store_conn *base)
{
    struct pg_conn *c = pg_conn_of(base);
    PQfinish(c->db); /* the session's prepared statements go with it */
    free(c->dealloc);
    free(c);
}

/* Server notices ("relation already exists, skipping") are not errors: not printed. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

static int pg_conn_open(const char *target, const struct store_options *opt, bool writer,
                        struct store_conn **out)
{
    *out = NULL;
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return IOTSEC_ERR_NOMEM;
    c->writer = writer;
    c->lock_timeout_ms = opt->busy_timeout_ms;
    c->generation = 1;
    /* Entries before dbname may be overridden by the URI, those after it may not. */
    const char *keys[] = {"connect_timeout", "dbname", "fallback_application_name", NULL};
    const char *vals[] = {"10", target, "iotsecd", NULL};
    c->db = PQconnectdbParams(keys, vals, 1);
    if (c->db == NULL) {
        free(c);
        return IOTSEC_ERR_NOMEM;
    }
    PQsetNoticeProcessor(c->db, ignore_notice, NULL);
    int err = IOTSEC_OK;
    if (PQstatus(c->db) != CONNECTION_OK) {
        const char *why = PQerrorMessage(c->db);
        /* The message names host and port, never the password (the URI is not repeated). */
        store_set_errmsg("postgresql: cannot connect: %.*s", (int)strcspn(why, "\n"), why);
        err = IOTSEC_ERR_IO;
    }
    if (err == IOTSEC_OK)
        err = session_setup(c);
    if (err != IOTSEC_OK) {
        PQfinish(c->db);
        free(c);
        return err;
    }
    *out = &c->base;
    return IOTSEC_OK;
}

static int pg_check(void)
{
    if (!PQisthreadsafe()) {
        store_set_errmsg("store: libpq was built without thread support");
        return IOTSEC_ERR_UNSUPPORTED;
    }
    return IOTSEC_OK;
}

static void pg_prepare_target(const char *target)
{
    (void)target; /* the server's database exists already (iotsecd init creates the schema) */
}

static char *pg_migration_sql(const struct store_migration *m)
{
    return m->sql_postgresql ? strdup(m->sql_postgresql) : pg_sql_map_ddl(m->sql);
}

/* Structural check, in place of SQLite's integrity_check: every table of the schema is read
 * through (a damaged heap page fails the scan), and where the amcheck extension is installed
 * every B-tree index of the schema is verified against its invariants (bt_index_check takes
 * only an AccessShareLock: safe on a live database). */
static const char integrity_tables_sql[] =
    "SELECT format('SELECT count(*) FROM %I.%I', schemaname, tablename) FROM pg_tables"
    " WHERE schemaname = current_schema()";
static const char integrity_amcheck_sql[] =
    "SELECT count(bt_index_check(c.oid)) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE a.amname = 'btree' AND n.nspname = current_schema() AND c.relpersistence <> 't'";

static int pg_integrity_check(struct store_conn *base)
{
    struct pg_conn *c = pg_conn_of(base);
    int err = pg_ready(c);
    if (err != IOTSEC_OK)
        return err;
    PGresult *res = PQexec(c->db, integrity_tables_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err = pg_error(c, res);
        PQclear(res);
        return err;
    }
    for (int r = 0; r < PQntuples(res) && err == IOTSEC_OK; r++)
        err = run_simple(c, PQgetvalue(res, r, 0));
    PQclear(res);
    if (err != IOTSEC_OK) {
        char why[400];
        snprintf(why, sizeof(why), "%s", store_errmsg());
        store_set_errmsg("store: integrity check: %s", why);
        return err == IOTSEC_ERR_BUSY ? err : IOTSEC_ERR_IO;
    }
    res = PQexec(c->db, "SELECT 1 FROM pg_extension WHERE extname = 'amcheck'");
    bool amcheck = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    if (amcheck && (err = run_simple(c, integrity_amcheck_sql)) != IOTSEC_OK) {
        char why[400];
        snprintf(why, sizeof(why), "%s", store_errmsg());
        store_set_errmsg("store: integrity check (amcheck): %s", why);
        return err == IOTSEC_ERR_BUSY ? err : IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}

const struct store_backend store_backend_postgresql = {
    .engine = STORE_ENGINE_POSTGRESQL,
    .name = "postgresql",
    .check = pg_check,
    .prepare_target = pg_prepare_target,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .exec = pg_exec,
    .control = pg_control,
    .in_transaction = pg_in_transaction,
    .set_cache_size = NULL,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .bulk_begin = pg_bulk_begin,
    .bulk_row = pg_bulk_row,
    .bulk_end = pg_bulk_end,
    .migration_sql = pg_migration_sql,
    /* Two instances starting at once: the lock makes the second wait, then IF NOT EXISTS
     * finds the table (one simple-protocol message runs as one transaction). */
    .migrations_table_sql = MIGRATION_LOCK "; CREATE TABLE IF NOT EXISTS schema_migrations ("
                                           " version BIGINT PRIMARY KEY,"
                                           " name TEXT NOT NULL,"
                                           " applied_at TEXT NOT NULL)",
    .migration_record_sql =
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2,"
        " to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))",
    .migration_lock_sql = MIGRATION_LOCK,
    .integrity_check = pg_integrity_check,
};
