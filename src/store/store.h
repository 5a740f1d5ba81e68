/* The daemon's database, behind one backend-neutral interface: SQLite (one file in WAL mode,
 * the zero-setup default) or PostgreSQL (libpq; several iotsecd instances share one). One writer
 * thread owns the only write connection and commits queued jobs in groups (many jobs, one
 * transaction, one fsync), and each thread that reads has a read connection of its own. The
 * store knows SQL, not capabilities: capabilities hand it their schema migrations and jobs, and
 * no file outside src/store knows which engine runs them (`<sqlite3.h>` and `<libpq-fe.h>` are
 * included under src/store/sqlite/ and src/store/pg/ only).
 *
 * Threads. store_open and store_close run on one thread, with no other call on the same store
 * in flight during them. Everything else may be called from any thread at any time:
 * store_submit never blocks (a full queue is IOTSEC_ERR_BUSY), the *_sync calls block their
 * caller until the writer has committed. A struct store_conn belongs to one thread: the
 * writer's to the writer thread (jobs receive it), a reader's to the thread that got it.
 *
 * Durability. A job's done callback runs only after the transaction holding its writes has
 * committed; with STORE_SYNC_FULL (the default) that commit is on disk and survives a power
 * loss, with STORE_SYNC_NORMAL it survives a crash of the process but the last commits may
 * be lost on power loss (SQLite; PostgreSQL follows its server's synchronous_commit).
 *
 * Errors. Functions return IOTSEC_OK or a negative code of base/err.h; the engine's message
 * behind the last failure on the calling thread is in store_errmsg(). */
#ifndef IOTSEC_STORE_STORE_H
#define IOTSEC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;      /* a database: its writer thread, queue and read connections */
struct store_conn; /* one connection to the engine and its prepared-statement cache */

enum store_sync {
    STORE_SYNC_FULL = 0,   /* fsync the WAL at every commit: SQN reservations need this */
    STORE_SYNC_NORMAL = 1, /* fsync at checkpoints only: faster, last commits lost on power loss */
};

/* One schema migration. version >= 1; in the array given to store_open versions must be
 * strictly increasing. sql may hold several statements; it runs inside a transaction, so it
 * must not BEGIN/COMMIT itself nor change the journal mode. It is written for SQLite with
 * portable types (INTEGER, TEXT, BLOB, REAL, `INTEGER PRIMARY KEY` for a generated id); the
 * PostgreSQL backend maps those types itself. Where the engines need different DDL (triggers,
 * WITHOUT ROWID tables), sql_postgresql holds PostgreSQL's own version. */
struct store_migration {
    int version;
    const char *name; /* recorded; a recorded name that differs from the code's is refused */
    const char *sql;
    const char *sql_postgresql; /* NULL: sql, with the types mapped */
};

struct store_options {
    enum store_sync synchronous;
    int busy_timeout_ms;     /* how long a connection waits for a lock before IOTSEC_ERR_BUSY */
    int cache_size_kib;      /* page cache of each connection */
    int bulk_cache_size_kib; /* the writer's page cache during store_transaction_sync */
    size_t queue_limit;      /* jobs waiting for the writer; past it submit is IOTSEC_ERR_BUSY */
    size_t max_batch;        /* jobs committed together at most */
    /* Applied in order at open; not kept after store_open returns (the array may be freed). */
    const struct store_migration *migrations;
    size_t migration_count;
    /* Open for reading only: no migrations, no writer thread (submit answers
     * IOTSEC_ERR_STATE). For offline tools (audit verify) that must not change the database. */
    bool read_only;
};

/* Defaults: FULL, 5000 ms, cache 8 MiB, bulk cache 64 MiB, queue 65536, batch 256, no
 * migrations. */
void store_options_init(struct store_options *opt);

/* Opens the database named by target and, unless read_only, applies the pending migrations, and
 * starts the writer thread. opt may be NULL for the defaults. On success *out owns the
 * store until store_close. Returns IOTSEC_OK; IOTSEC_ERR_INVALID (bad options or
 * migrations: versions not strictly increasing, below 1, NULL name or sql);
 * IOTSEC_ERR_STATE (the database has a schema version this code does not know, or lacks a
 * migration older than its version, or records another name for a version);
 * IOTSEC_ERR_IO / IOTSEC_ERR_BUSY (the engine failed, a migration failed: the database is
 * left at the last migration that succeeded); IOTSEC_ERR_UNSUPPORTED (a PostgreSQL URL in a
 * build without libpq); IOTSEC_ERR_NOMEM.
 *
 * target is a file path for SQLite (created 0600 if missing), or a libpq connection URI
 * (`postgresql://...` or `postgres://...`, multi-host with target_session_attrs allowed) for
 * PostgreSQL. */
int store_open(const char *target, const struct store_options *opt, struct store **out);

/* Stops accepting jobs (submit then returns IOTSEC_ERR_STATE), lets the writer run and
 * complete every queued job, joins it, closes every connection and frees the store.
 * Threads that used store_reader_get must have exited or stopped using the store (and must
 * not be exiting during the call: their connection is closed here). NULL is a no-op; on the
 * writer thread (a job or a done callback) the call is refused and does nothing. */
void store_close(struct store *s);

/* --- Jobs: the only way to write --- */

/* Runs on the writer thread inside a transaction (for submitted jobs, inside its own
 * SAVEPOINT). Returns IOTSEC_OK to keep its writes, or a negative code to roll them back (the
 * other jobs of the batch are unaffected; a positive value counts as IOTSEC_ERR_IO). It must not
 * BEGIN, COMMIT or ROLLBACK, must not call the *_sync functions (they return IOTSEC_ERR_STATE
 * there), and should be short: every other writer waits for it. */
typedef int (*store_run_fn)(struct store_conn *conn, void *arg);

/* Runs on the writer thread after the batch's commit (rc IOTSEC_OK: the writes are durable)
 * or after its failure (rc < 0: nothing of this job was kept; store_errmsg() tells why).
 * Called exactly once per accepted job. It should hand the result to its own thread and
 * return at once; it may call store_submit. */
typedef void (*store_done_fn)(void *arg, int rc);

struct store_job {
    store_run_fn run;   /* required */
    store_done_fn done; /* may be NULL */
    void *arg;          /* the caller's; must stay valid until done has run */
};

/* Queues a copy of *job. Returns IOTSEC_OK (done will be called), IOTSEC_ERR_BUSY (the queue
 * is at queue_limit: answer 503 + Retry-After), IOTSEC_ERR_STATE (the store is closing) or
 * IOTSEC_ERR_INVALID (no run function); on error done is never called. */
int store_submit(struct store *s, const struct store_job *job);

/* Submits run(arg) and waits until it is committed or has failed; returns its result. On the
 * writer thread (inside a job or a done callback) it would wait for itself, so it returns
 * IOTSEC_ERR_STATE there instead. Also IOTSEC_ERR_BUSY / IOTSEC_ERR_STATE as store_submit. */
int store_write_sync(struct store *s, store_run_fn run, void *arg);

/* Bulk path: runs run(arg) alone in one transaction on the writer thread (no savepoint, no
 * other job in it) and waits for the commit: all rows or none. Other jobs queue behind it
 * meanwhile. For speed: bind and step one store_stmt statement per row (no parse per row);
 * one fsync at the end; the writer's page cache is raised to bulk_cache_size_kib for the
 * transaction, because keys in random order touch index pages all over the file, and every
 * page evicted mid-transaction is written to the WAL again each time it is touched again
 * (sorted input avoids that too). On PostgreSQL, writes that return no rows are pipelined
 * (sent without waiting for their answers): one of them that fails is reported by a later
 * store_step or by the commit, and store_changes() is not known for them; a bulk job must
 * treat any failure as the end of it (all rows or none). Same returns as store_write_sync. */
int store_transaction_sync(struct store *s, store_run_fn run, void *arg);

/* --- Connections, statements, errors --- */

/* The calling thread's read connection to s (opened on first use, closed when the thread
 * exits, at store_reader_release, or at store_close). On SQLite it is read-only; on
 * PostgreSQL it is a session of its own. Statements on it run in autocommit mode: each sees the
 * data committed when it started. Returns IOTSEC_OK, IOTSEC_ERR_IO or IOTSEC_ERR_NOMEM; *out is
 * owned by the store. */
int store_reader_get(struct store *s, struct store_conn **out);

/* Closes the calling thread's read connection now (thread pools that outlive a store). */
void store_reader_release(struct store *s);

/* The engine behind a connection, for the rare SQL that must differ (prefer SQL both take). */
enum store_engine {
    STORE_ENGINE_SQLITE = 1,
    STORE_ENGINE_POSTGRESQL = 2,
};
enum store_engine store_conn_engine(const struct store_conn *conn);

/* --- Statements ---
 *
 * SQL is written once for both engines: placeholders are `?` (numbered in order) or `$1`,
 * `$2`... (each backend rewrites them to its own form); `RETURNING` instead of a last insert
 * id; `ON CONFLICT` instead of SQLite's `OR IGNORE`/`OR REPLACE`. Types: INTEGER (64-bit),
 * TEXT, BLOB (BYTEA on PostgreSQL), REAL. */

/* A prepared statement of a connection, opaque. */
struct store_stmt;

/* store_step's answers besides errors (negative base/err.h codes). Distinct from IOTSEC_OK. */
#define STORE_ROW  100 /* a row is ready: read it with store_col_* */
#define STORE_DONE 101 /* the statement has run to completion */

/* The prepared statement for sql on conn, prepared on first use and cached per connection by
 * the text of sql. *out is reset with its bindings cleared; it stays owned by the cache and
 * valid until the same SQL is asked for again on conn or, with more than 64 distinct
 * statements in use on conn, until it is the least recently used one. Step it to STORE_DONE
 * or store_reset() it when done: an unfinished statement holds its read snapshot open.
 * Returns IOTSEC_OK, IOTSEC_ERR_IO (SQL error: see store_errmsg) or IOTSEC_ERR_NOMEM. */
int store_stmt(struct store_conn *conn, const char *sql, struct store_stmt **out);

/* An uncached statement (SQL built at run time, e.g. with optional filters); the caller
 * finalizes it. Same returns as store_stmt. */
int store_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out);
void store_finalize(struct store_stmt *st);

/* Bindings, 1-based. Text and blobs are copied: the caller's buffer may go away at once. A
 * NULL text or blob binds SQL NULL; len -1 takes a text up to its NUL. Return IOTSEC_OK,
 * IOTSEC_ERR_INVALID (index out of range) or IOTSEC_ERR_NOMEM; a failed bind also makes the
 * next store_step fail, so callers may bind without checking each. */
int store_bind_int64(struct store_stmt *st, int idx, int64_t v);
int store_bind_int(struct store_stmt *st, int idx, int v);
int store_bind_double(struct store_stmt *st, int idx, double v);
int store_bind_text(struct store_stmt *st, int idx, const char *s, int len);
int store_bind_blob(struct store_stmt *st, int idx, const void *p, int len);
int store_bind_null(struct store_stmt *st, int idx);

/* Runs the statement or moves to its next row: STORE_ROW, STORE_DONE, or a negative code
 * (IOTSEC_ERR_CONFLICT for a unique or check violation, IOTSEC_ERR_BUSY for a lock, a
 * serialization failure or a lost connection, IOTSEC_ERR_IO otherwise) with store_errmsg()
 * set. */
int store_step(struct store_stmt *st);

/* Makes the statement runnable again and clears its bindings. */
void store_reset(struct store_stmt *st);

/* Columns of the current row, 0-based. Text is NUL-terminated and NULL for SQL NULL; text and
 * blobs stay valid until the next step or reset of the statement. Integers of a NULL read 0. */
int64_t store_col_int64(struct store_stmt *st, int col);
int store_col_int(struct store_stmt *st, int col);
double store_col_double(struct store_stmt *st, int col);
const char *store_col_text(struct store_stmt *st, int col);
const void *store_col_blob(struct store_stmt *st, int col);
int store_col_bytes(struct store_stmt *st, int col);
bool store_col_is_null(struct store_stmt *st, int col);

/* Steps an INSERT ... RETURNING id (or any statement answering one integer row) to its end:
 * *id gets the integer, and the statement is reset. IOTSEC_ERR_NOTFOUND when no row came back
 * (e.g. an UPDATE ... RETURNING whose WHERE matched nothing). */
int store_step_id(struct store_conn *conn, struct store_stmt *st, int64_t *id);

/* Rows changed by the last INSERT/UPDATE/DELETE run to completion on conn. */
int64_t store_changes(struct store_conn *conn);

/* Runs SQL without results (several statements allowed) on conn. Not for transaction
 * control inside a job. */
int store_exec(struct store_conn *conn, const char *sql);

/* The result of a failed store call as returned to a job: negative codes pass through (the
 * message is already recorded); STORE_ROW, STORE_DONE and IOTSEC_OK map to IOTSEC_OK. Jobs
 * return store_error(conn, rc) after an unexpected step result. */
int store_error(struct store_conn *conn, int rc);

/* The message of the last store failure on the calling thread, for logs (never NULL; may
 * hold SQL text and constraint names, never bound values). Valid until the next store call
 * that fails on this thread. */
const char *store_errmsg(void);

/* --- Bulk insert: many rows into one table, for store_transaction_sync jobs ---
 *
 * The fastest way each engine has to take rows it only has to store: PostgreSQL streams them
 * with COPY (binary; one round trip per store_bulk_end, not per row or per statement),
 * SQLite steps one prepared INSERT per row. A row that breaks a constraint fails the whole
 * bulk (at store_bulk_row or at store_bulk_end: IOTSEC_ERR_CONFLICT for a unique key); the
 * job must then fail (all rows or none), and can find the row by other means. Between
 * store_bulk_begin and store_bulk_end no other statement may run on conn. */
struct store_bulk; /* opaque */

enum store_value_type { STORE_VALUE_NULL, STORE_VALUE_INT64, STORE_VALUE_TEXT, STORE_VALUE_BLOB };

/* One column's value in a row; text without its NUL (len) or NUL-terminated (len SIZE_MAX).
 * Borrowed: store_bulk_row copies what it keeps. */
struct store_value {
    enum store_value_type type;
    int64_t i;
    const void *p;
    size_t len;
};

/* Starts a bulk insert into table(columns), columns a comma-separated list of ncols names of
 * INTEGER, TEXT or BLOB columns (the types the values must have). On a writer connection, in
 * a job. Returns IOTSEC_OK, IOTSEC_ERR_INVALID, IOTSEC_ERR_NOMEM or the engine's error. */
int store_bulk_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                     struct store_bulk **out);
/* Adds one row of ncols values (in the order of columns). */
int store_bulk_row(struct store_bulk *b, const struct store_value *row);
/* Ends the bulk (every row sent is then in the table, in the job's transaction) and frees b,
 * also after a failure; returns the first failure of the bulk. NULL is a no-op. */
int store_bulk_end(struct store_bulk *b);

/* --- Several instances on one database ---
 *
 * Topics: a capability whose data others cache bumps a topic in the job that changes it; every
 * instance polls the topics it caches (once a second from its tick) and drops its cache when a
 * topic moved. Bounded staleness without a message bus: a change reaches every instance within
 * the polling period.
 *
 * Leases: work that must run on one instance at a time (sweeps) takes a named lease inside its
 * own job; the statement re-checks the holder, so two instances never both hold it. */

/* Names this process in leases (e.g. "<host>:<instance dir>"); stable across restarts of the
 * same instance, so a restart takes its leases back at once. Set before the first job. */
void store_set_instance(struct store *s, const char *name);

/* In a job: moves topic's sequence number on (creating it). */
int store_topic_bump(struct store_conn *conn, const char *topic);

/* The topic's sequence number now (0 when never bumped), read on the calling thread's reader. */
int store_topic_seq(struct store *s, const char *topic, int64_t *seq);

/* In a job: takes or renews the lease `name` for this instance until now_ms + lease_ms.
 * IOTSEC_OK: held (do the work); IOTSEC_ERR_BUSY: another live instance holds it (skip). */
int store_lease_hold(struct store_conn *conn, const char *name, int64_t now_ms, int64_t lease_ms);

/* In a job: drops every lease of every holder (after a restore, whose copy names processes
 * that hold nothing any more). */
int store_leases_release_all(struct store_conn *conn);

/* --- Health --- */

#define STORE_BATCH_BUCKETS 10 /* bucket b counts batches of [2^b, 2^(b+1)) jobs; last: more */

struct store_metrics {
    uint64_t queue_depth; /* jobs waiting now */
    uint64_t queue_limit;
    uint64_t batches;        /* transactions committed (bulk ones included) */
    uint64_t batches_failed; /* transactions that failed to begin or commit */
    uint64_t jobs_committed; /* jobs whose writes were committed */
    uint64_t jobs_failed;    /* jobs completed with an error */
    uint64_t jobs_rejected;  /* submits refused with IOTSEC_ERR_BUSY */
    uint64_t batch_size[STORE_BATCH_BUCKETS];
    uint64_t batch_jobs_total; /* jobs in committed batches: average = this / batches */
    uint64_t commit_ns_total;  /* time spent in COMMIT (the fsync), summed */
    uint64_t commit_ns_max;
};

/* A consistent snapshot of s's counters since open. */
void store_metrics_get(struct store *s, struct store_metrics *m);

/* Runs PRAGMA integrity_check on the calling thread's read connection. Returns IOTSEC_OK if
 * SQLite answers "ok", IOTSEC_ERR_IO otherwise (the first problem in store_errmsg()). */
int store_integrity_check(struct store *s);

/* A consistent copy of the whole database, taken on the calling thread's read connection while
 * the writer keeps committing (SQLite's online backup API), into a new file at path (mode 0600;
 * written under path.partial and renamed, so path never holds half a copy). Works on a store
 * opened read_only. Returns IOTSEC_OK; IOTSEC_ERR_CONFLICT (path exists: never overwritten);
 * IOTSEC_ERR_IO; IOTSEC_ERR_UNSUPPORTED on PostgreSQL (use pg_basebackup or pg_dump there:
 * docs/operations.md). The KEK is not in the database, so never in the copy. */
int store_backup(struct store *s, const char *path);

/* The highest applied migration version (0 for none). */
int store_schema_version(struct store *s, int *version);

#endif
