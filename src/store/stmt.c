/* The public statement interface: each call goes to the statement's backend. An indirect call
 * costs about a nanosecond; an authentication binds and reads a dozen values. */
#include "base/err.h"
#include "store/store_internal.h"

#define BE(st) ((st)->conn->be)

int store_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out)
{
    if (out != NULL)
        *out = NULL;
    if (conn == NULL || sql == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    return conn->be->prepare(conn, sql, out);
}

void store_finalize(struct store_stmt *st)
{
    if (st != NULL)
        BE(st)->finalize(st);
}

void store_reset(struct store_stmt *st)
{
    if (st != NULL)
        BE(st)->reset(st);
}

int store_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    return BE(st)->bind_int64(st, idx, v);
}

int store_bind_int(struct store_stmt *st, int idx, int v)
{
    return BE(st)->bind_int64(st, idx, v);
}

int store_bind_double(struct store_stmt *st, int idx, double v)
{
    return BE(st)->bind_double(st, idx, v);
}

int store_bind_text(struct store_stmt *st, int idx, const char *s, int len)
{
    return s == NULL ? BE(st)->bind_null(st, idx) : BE(st)->bind_text(st, idx, s, len);
}

int store_bind_blob(struct store_stmt *st, int idx, const void *p, int len)
{
    if (len < 0)
        return IOTSEC_ERR_INVALID;
    return p == NULL ? BE(st)->bind_null(st, idx) : BE(st)->bind_blob(st, idx, p, len);
}

int store_bind_null(struct store_stmt *st, int idx)
{
    return BE(st)->bind_null(st, idx);
}

int store_step(struct store_stmt *st)
{
    return BE(st)->step(st);
}

int64_t store_col_int64(struct store_stmt *st, int col)
{
    return BE(st)->col_int64(st, col);
}

int store_col_int(struct store_stmt *st, int col)
{
    return (int)BE(st)->col_int64(st, col);
}

double store_col_double(struct store_stmt *st, int col)
{
    return BE(st)->col_double(st, col);
}

const char *store_col_text(struct store_stmt *st, int col)
{
    return BE(st)->col_text(st, col);
}

const void *store_col_blob(struct store_stmt *st, int col)
{
    return BE(st)->col_blob(st, col);
}

int store_col_bytes(struct store_stmt *st, int col)
{
    return BE(st)->col_bytes(st, col);
}

bool store_col_is_null(struct store_stmt *st, int col)
{
    return BE(st)->col_is_null(st, col);
}

int64_t store_changes(struct store_conn *conn)
{
    return conn->be->changes(conn);
}

int store_exec(struct store_conn *conn, const char *sql)
{
    if (conn == NULL || sql == NULL)
        return IOTSEC_ERR_INVALID;
    return conn->be->exec(conn, sql);
}

enum store_engine store_conn_engine(const struct store_conn *conn)
{
    return conn->be->engine;
}

int store_error(struct store_conn *conn, int rc)
{
    (void)conn;
    if (rc == STORE_ROW || rc == STORE_DONE || rc == IOTSEC_OK)
        return IOTSEC_OK;
    if (rc > 0) { /* not a code of ours: a bug, reported as such */
        store_set_errmsg("store: unexpected result %d", rc);
        return IOTSEC_ERR_IO;
    }
    return rc;
}

int store_step_id(struct store_conn *conn, struct store_stmt *st, int64_t *id)
{
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        *id = store_col_int64(st, 0);
        rc = store_step(st);
    } else if (rc == STORE_DONE) {
        store_set_errmsg("store: the statement returned no row");
        rc = IOTSEC_ERR_NOTFOUND;
    }
    store_reset(st);
    return store_error(conn, rc);
}
