/* The PostgreSQL backend's own structures. Included only under src/store/pg/ (the only place
 * that includes <libpq-fe.h>). */
#ifndef IOTSEC_STORE_PG_INT_H
#define IOTSEC_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store_internal.h"

/* Transaction statements the writer asked for but not yet sent: they travel with the next
 * statement that needs the server (one round trip instead of one each). */
#define PG_PENDING_MAX 32

/* Besides the writer's (enum conn_ctl): the savepoint around each write statement of a job.
 * SQLite undoes a failed statement alone and the transaction goes on, and jobs rely on it
 * (an INSERT that hits a unique key, then another try); PostgreSQL aborts the whole
 * transaction instead, unless the statement ran in a savepoint of its own. The savepoint and
 * its release travel in the statement's round trip (pipelined). */
enum pg_ctl { PG_STMT_SAVEPOINT = CTL_COUNT, PG_STMT_RELEASE, PG_STMT_ROLLBACK_TO, PG_CTL_COUNT };

struct pg_conn {
    struct store_conn base; /* first: the store sees this */
    PGconn *db;
    bool writer;
    int lock_timeout_ms;
    /* The connection was lost: statements answer IOTSEC_ERR_BUSY until it is reopened, which
     * happens only where no transaction can be split by it (the next BEGIN, or an
     * autocommit statement), and not before retry_at_ns (backoff after failed attempts). */
    bool broken;
    uint64_t retry_at_ns;
    int backoff_ms;
    /* Bumped at every reconnect: statements prepared under an older one prepare again. */
    unsigned generation;
    unsigned next_name;
    /* The transaction as the store sees it (BEGIN sent or pending, no COMMIT/ROLLBACK yet). */
    bool txn;
    int pending[PG_PENDING_MAX]; /* enum conn_ctl or enum pg_ctl */
    size_t pending_len;
    int64_t changes;
    /* A bulk job's writes sent in pipeline mode whose answers are not read yet (pg_stmt.c),
     * and the first failure among those read. */
    bool pipelined;
    unsigned deferred;
    int deferred_err;
    /* Names of finalized statements, deallocated in one round trip when enough have gathered. */
    char *dealloc;
    size_t dealloc_len, dealloc_count;
};

struct pg_param {
    const char *value; /* NULL: SQL NULL */
    int len;
    int format; /* 0 text, 1 binary (bytea) */
    Oid type;   /* for a statement prepared with explicit types (see pg_stmt.c) */
    char num[32];
    char *heap; /* owned copy of a text or blob */
};

struct pg_stmt {
    struct store_stmt base; /* first */
    char *sql;              /* the text sent to the server ($N placeholders) */
    char name[24];
    unsigned generation; /* of the connection it was prepared on; 0: not prepared */
    bool typed;          /* the server could not infer parameter types: prepare at step */
    bool writes;         /* INSERT/UPDATE/DELETE/MERGE/WITH: in a job, runs in a savepoint */
    bool returns;        /* has RETURNING: a write whose rows the caller reads */
    int nparams;
    struct pg_param *params;
    int bind_error;
    PGresult *res; /* the rows of the current execution */
    int row, nrows;
    bool ran;
    char **decoded; /* per column: the bytea of the current row, decoded */
    int *decoded_len;
    int ncols;
};

static inline struct pg_conn *pg_conn_of(struct store_conn *c)
{
    return (struct pg_conn *)c;
}

static inline struct pg_stmt *pg_stmt_of(struct store_stmt *st)
{
    return (struct pg_stmt *)st;
}

/* --- pg_conn.c --- */

/* The error behind a failed result (res may be NULL: the connection's message): maps its
 * SQLSTATE to a base/err.h code, records the server's message (never bound values) as
 * store_errmsg(), and marks the connection broken when it was lost. */
int pg_error(struct pg_conn *c, const PGresult *res);
/* Makes the connection usable for the next statement: reconnects a broken one where allowed
 * (not inside a transaction), and sends pending transaction statements. */
int pg_ready(struct pg_conn *c);
/* The SQL of a transaction statement (enum conn_ctl or enum pg_ctl). */
const char *pg_control_sql(int ctl);
/* Queues one to go with the next round trip (flushing first when the queue is full). */
int pg_queue(struct pg_conn *c, int ctl);
/* Sends the queued transaction statements now, alone. */
int pg_flush_pending(struct pg_conn *c);
/* Reads every answer of a bulk job's pipelined writes and leaves pipeline mode; returns the
 * first failure among them (IOTSEC_OK when none, or nothing was pending). */
int pg_drain(struct pg_conn *c);
/* Queues a statement name for DEALLOCATE. */
void pg_dealloc_later(struct pg_conn *c, const char *name);

/* --- pg_copy.c: store_bulk_* through COPY FROM STDIN (binary) --- */

int pg_bulk_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                  struct store_bulk **out);
int pg_bulk_row(struct store_bulk *b, const struct store_value *row);
int pg_bulk_end(struct store_bulk *b);

/* --- pg_sql.c --- */

/* Whether sql (one or several statements) contains transaction control a job must not run:
 * BEGIN/START/COMMIT/END/ROLLBACK/ABORT, or a SAVEPOINT/RELEASE/ROLLBACK TO of the job's
 * savepoint. Quoted text, dollar-quoted bodies and comments are skipped. */
bool pg_sql_has_txn_control(const char *sql);
/* Whether sql starts with INSERT, UPDATE, DELETE, MERGE or WITH. */
bool pg_sql_writes(const char *sql);
/* Whether the word RETURNING appears in sql (outside quotes and comments). */
bool pg_sql_returns(const char *sql);
/* Whether sql holds only blanks and comments. */
bool pg_sql_is_blank(const char *sql);
/* The highest $N in sql outside quotes and comments. */
int pg_sql_max_param(const char *sql);
/* SQLite-flavoured DDL with PostgreSQL's types (malloc'd; NULL on ENOMEM). */
char *pg_sql_map_ddl(const char *sql);

/* --- pg_stmt.c: the statement methods --- */

int pg_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out);
void pg_finalize(struct store_stmt *st);
void pg_reset(struct store_stmt *st);
int pg_bind_int64(struct store_stmt *st, int idx, int64_t v);
int pg_bind_double(struct store_stmt *st, int idx, double v);
int pg_bind_text(struct store_stmt *st, int idx, const char *s, int len);
int pg_bind_blob(struct store_stmt *st, int idx, const void *p, int len);
int pg_bind_null(struct store_stmt *st, int idx);
int pg_step(struct store_stmt *st);
int64_t pg_col_int64(struct store_stmt *st, int col);
double pg_col_double(struct store_stmt *st, int col);
const char *pg_col_text(struct store_stmt *st, int col);
const void *pg_col_blob(struct store_stmt *st, int col);
int pg_col_bytes(struct store_stmt *st, int col);
bool pg_col_is_null(struct store_stmt *st, int col);
int64_t pg_changes(struct store_conn *conn);

#endif
