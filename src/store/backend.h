/* The seam between the store's engine-neutral machinery (writer, group commit, readers,
 * statement cache, migrations) and one database engine. A backend is a method table; its
 * connections and statements embed the base structs below as their first member. Nothing
 * outside src/store includes this header. */
#ifndef IOTSEC_STORE_BACKEND_H
#define IOTSEC_STORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct store_backend;

/* The writer's transaction statements. */
enum conn_ctl {
    CTL_BEGIN,
    CTL_COMMIT,
    CTL_ROLLBACK,
    CTL_SAVEPOINT,
    CTL_RELEASE,
    CTL_ROLLBACK_TO,
    CTL_COUNT
};

/* The savepoint around each job of a group. */
#define JOB_SAVEPOINT "iotsec_job"

/* Prepared statements kept per connection, keyed by SQL text. */
#define STMT_CACHE_SLOTS 64

struct stmt_slot {
    uint32_t hash;
    char *sql; /* owned copy of the key */
    struct store_stmt *stmt;
    uint64_t last_used;
};

struct stmt_cache {
    struct stmt_slot slot[STMT_CACHE_SLOTS];
    size_t used;
    uint64_t tick;
};

/* What every backend's connection starts with. */
struct store_conn {
    const struct store_backend *be;
    struct stmt_cache cache;
    /* Writer only: set while a job's (or a migration's) own SQL runs; the backend then
     * refuses transaction control that would break the group transaction around it. */
    bool in_job;
    /* Writer only: set for a store_transaction_sync job (all rows or none). A backend may
     * then send writes without waiting for each answer and report a failure at a later
     * statement or at COMMIT (PostgreSQL pipelines them). */
    bool bulk;
    /* Readers only: the list of a store's live read connections. */
    struct store *owner;
    struct store_conn *prev, *next;
};

/* What every backend's statement starts with. */
struct store_stmt {
    struct store_conn *conn;
};

/* What every backend's bulk insert starts with. */
struct store_bulk_base {
    struct store_conn *conn;
    int ncols;
};

struct store_backend {
    enum store_engine engine;
    const char *name;

    /* Whether the process can use this backend at all (e.g. SQLite's thread support). */
    int (*check)(void);
    /* Prepares target before the first connection (SQLite: creates the file 0600). */
    void (*prepare_target)(const char *target);
    int (*conn_open)(const char *target, const struct store_options *opt, bool writer,
                     struct store_conn **out);
    void (*conn_close)(struct store_conn *conn);

    /* SQL without results, several statements allowed. */
    int (*exec)(struct store_conn *conn, const char *sql);
    /* The writer's BEGIN/COMMIT/SAVEPOINT..., cheap (prepared once per connection). */
    int (*control)(struct store_conn *conn, enum conn_ctl ctl);
    /* Whether conn is inside a transaction (false after the engine rolled one back itself). */
    bool (*in_transaction)(struct store_conn *conn);
    /* Page cache size (SQLite); NULL where the engine has none per connection. */
    int (*set_cache_size)(struct store_conn *conn, int kib);

    int (*prepare)(struct store_conn *conn, const char *sql, struct store_stmt **out);
    void (*finalize)(struct store_stmt *st);
    void (*reset)(struct store_stmt *st); /* also clears bindings */
    int (*bind_int64)(struct store_stmt *st, int idx, int64_t v);
    int (*bind_double)(struct store_stmt *st, int idx, double v);
    int (*bind_text)(struct store_stmt *st, int idx, const char *s, int len);
    int (*bind_blob)(struct store_stmt *st, int idx, const void *p, int len);
    int (*bind_null)(struct store_stmt *st, int idx);
    /* Binds text (or a blob) without copying it: p must stay valid until the statement is
     * reset. For the bulk insert's own buffers (a copy per value cost SQLite an allocation
     * and a free per value). NULL: bind_text and bind_blob. */
    int (*bind_ref)(struct store_stmt *st, int idx, bool text, const void *p, int len);
    int (*step)(struct store_stmt *st);
    int64_t (*col_int64)(struct store_stmt *st, int col);
    double (*col_double)(struct store_stmt *st, int col);
    const char *(*col_text)(struct store_stmt *st, int col);
    const void *(*col_blob)(struct store_stmt *st, int col);
    int (*col_bytes)(struct store_stmt *st, int col);
    bool (*col_is_null)(struct store_stmt *st, int col);
    int64_t (*changes)(struct store_conn *conn);

    /* Bulk insert (store_bulk_*); NULL: the store steps one prepared INSERT per row. A
     * backend's struct store_bulk starts with struct store_bulk_base. */
    int (*bulk_begin)(struct store_conn *conn, const char *table, const char *columns, int ncols,
                      struct store_bulk **out);
    int (*bulk_row)(struct store_bulk *b, const struct store_value *row);
    int (*bulk_end)(struct store_bulk *b);

    /* A migration's DDL for this engine (PostgreSQL maps types); returns a malloc'd string or
     * NULL (IOTSEC_ERR_NOMEM). */
    char *(*migration_sql)(const struct store_migration *m);
    /* DDL of the schema_migrations table, and the SQL that records one row (?1 version,
     * ?2 name). */
    const char *migrations_table_sql;
    const char *migration_record_sql;
    /* Serialises concurrent openers applying migrations (PostgreSQL: an advisory lock taken
     * inside the migration transaction); NULL where BEGIN already does (SQLite's IMMEDIATE). */
    const char *migration_lock_sql;
    /* Structural check of the database (SQLite's integrity_check; PostgreSQL: a query). */
    int (*integrity_check)(struct store_conn *conn);
    /* A consistent copy of the database into a new file at path (store_backup); NULL where the
     * engine has its own tools (PostgreSQL: pg_basebackup, pg_dump). */
    int (*backup)(struct store_conn *conn, const char *path);
};

extern const struct store_backend store_backend_sqlite;
#ifdef IOTSEC_HAVE_POSTGRESQL
extern const struct store_backend store_backend_postgresql;
#endif

/* The backend for target: PostgreSQL for a postgres(ql):// URI, SQLite otherwise. NULL with
 * store_errmsg set when the build lacks it. */
const struct store_backend *store_backend_for(const char *target);

/* Rewrites placeholders to the engine's form: `?` and `?N` to `$N` (PostgreSQL), or `$N` to
 * `?N` (SQLite), outside quoted literals and identifiers. Returns a malloc'd string, NULL on
 * ENOMEM. */
char *store_sql_placeholders(const char *sql, bool to_dollar);

#endif
