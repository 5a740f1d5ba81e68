/* The SQLite backend's own structures. Included only under src/store/sqlite/. */
#ifndef IOTSEC_STORE_SQLITE_INT_H
#define IOTSEC_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_internal.h"

struct sqlite_conn {
    struct store_conn base; /* first: the store sees this */
    sqlite3 *db;
    /* The writer's own transaction statements, kept apart from the statement cache that jobs
     * use, so that no job can get hold of them (the authorizer only checks at prepare time). */
    sqlite3_stmt *control[CTL_COUNT];
};

struct sqlite_stmt {
    struct store_stmt base; /* first */
    sqlite3_stmt *st;
    int bind_error; /* a failed bind, reported by the next step */
};

static inline struct sqlite_conn *sqlite_conn_of(struct store_conn *c)
{
    return (struct sqlite_conn *)c;
}

static inline struct sqlite_stmt *sqlite_stmt_of(struct store_stmt *st)
{
    return (struct sqlite_stmt *)st;
}

/* SQLite result codes to base/err.h (OK/ROW/DONE -> IOTSEC_OK; CONSTRAINT -> CONFLICT; BUSY,
 * LOCKED -> BUSY; NOMEM; FULL -> FULL... others -> IO); on failure records conn's message as
 * this thread's store_errmsg(). conn may be NULL. */
int sqlite_error(struct sqlite_conn *conn, int sqlite_rc);

/* Statement operations (sqlite_stmt.c), for the method table. */
int sqlite_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out);
void sqlite_finalize(struct store_stmt *st);
void sqlite_reset(struct store_stmt *st);
int sqlite_bind_int64(struct store_stmt *st, int idx, int64_t v);
int sqlite_bind_double(struct store_stmt *st, int idx, double v);
int sqlite_bind_text(struct store_stmt *st, int idx, const char *s, int len);
int sqlite_bind_blob(struct store_stmt *st, int idx, const void *p, int len);
int sqlite_bind_ref(struct store_stmt *st, int idx, bool text, const void *p, int len);
int sqlite_bind_null(struct store_stmt *st, int idx);
int sqlite_step(struct store_stmt *st);
int64_t sqlite_col_int64(struct store_stmt *st, int col);
double sqlite_col_double(struct store_stmt *st, int col);
const char *sqlite_col_text(struct store_stmt *st, int col);
const void *sqlite_col_blob(struct store_stmt *st, int col);
int sqlite_col_bytes(struct store_stmt *st, int col);
bool sqlite_col_is_null(struct store_stmt *st, int col);
int64_t sqlite_changes(struct store_conn *conn);
/* store_backup (sqlite_backup.c). */
int sqlite_backup(struct store_conn *conn, const char *path);

#endif
