/* SQLite statements behind the store's statement interface. Placeholders written `$N` are
 * rewritten to SQLite's `?N` once, at prepare; `?` is SQLite's own. Text and blobs are bound
 * SQLITE_TRANSIENT (copied): the store promises callers that their buffers may go at once. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/sqlite/sqlite_int.h"

int sqlite_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out)
{
    struct sqlite_conn *c = sqlite_conn_of(conn);
    char *text = NULL;
    if (strchr(sql, '$') != NULL && (text = store_sql_placeholders(sql, false)) == NULL)
        return IOTSEC_ERR_NOMEM;
    struct sqlite_stmt *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(text);
        return IOTSEC_ERR_NOMEM;
    }
    int rc =
        sqlite3_prepare_v3(c->db, text ? text : sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
    free(text);
    if (rc != SQLITE_OK) {
        free(s);
        return sqlite_error(c, rc);
    }
    if (s->st == NULL) { /* only blanks or a comment */
        free(s);
        store_set_errmsg("store: no statement in the SQL text");
        return IOTSEC_ERR_INVALID;
    }
    s->base.conn = conn;
    *out = &s->base;
    return IOTSEC_OK;
}

void sqlite_finalize(struct store_stmt *st)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    sqlite3_finalize(s->st);
    free(s);
}

void sqlite_reset(struct store_stmt *st)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    s->bind_error = 0;
}

static int bound(struct sqlite_stmt *s, int rc)
{
    if (rc == SQLITE_OK)
        return IOTSEC_OK;
    int err = sqlite_error(sqlite_conn_of(s->base.conn), rc);
    if (s->bind_error == 0)
        s->bind_error = err;
    return err;
}

int sqlite_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, sqlite3_bind_int64(s->st, idx, v));
}

int sqlite_bind_double(struct store_stmt *st, int idx, double v)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, sqlite3_bind_double(s->st, idx, v));
}

int sqlite_bind_text(struct store_stmt *st, int idx, const char *t, int len)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, sqlite3_bind_text(s->st, idx, t, len, SQLITE_TRANSIENT));
}

int sqlite_bind_blob(struct store_stmt *st, int idx, const void *p, int len)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, sqlite3_bind_blob(s->st, idx, p, len, SQLITE_TRANSIENT));
}

int sqlite_bind_ref(struct store_stmt *st, int idx, bool text, const void *p, int len)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, text ? sqlite3_bind_text(s->st, idx, p, len, SQLITE_STATIC)
                         : sqlite3_bind_blob(s->st, idx, p, len, SQLITE_STATIC));
}

int sqlite_bind_null(struct store_stmt *st, int idx)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    return bound(s, sqlite3_bind_null(s->st, idx));
}

int sqlite_step(struct store_stmt *st)
{
    struct sqlite_stmt *s = sqlite_stmt_of(st);
    if (s->bind_error != 0)
        return s->bind_error;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE)
        return STORE_DONE;
    int err = sqlite_error(sqlite_conn_of(s->base.conn), rc);
    return err == IOTSEC_OK ? IOTSEC_ERR_IO : err;
}

int64_t sqlite_col_int64(struct store_stmt *st, int col)
{
    return sqlite3_column_int64(sqlite_stmt_of(st)->st, col);
}

double sqlite_col_double(struct store_stmt *st, int col)
{
    return sqlite3_column_double(sqlite_stmt_of(st)->st, col);
}

const char *sqlite_col_text(struct store_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(sqlite_stmt_of(st)->st, col);
}

const void *sqlite_col_blob(struct store_stmt *st, int col)
{
    return sqlite3_column_blob(sqlite_stmt_of(st)->st, col);
}

int sqlite_col_bytes(struct store_stmt *st, int col)
{
    return sqlite3_column_bytes(sqlite_stmt_of(st)->st, col);
}

bool sqlite_col_is_null(struct store_stmt *st, int col)
{
    return sqlite3_column_type(sqlite_stmt_of(st)->st, col) == SQLITE_NULL;
}

int64_t sqlite_changes(struct store_conn *conn)
{
    return sqlite3_changes64(sqlite_conn_of(conn)->db);
}
