/* Bulk insert (store.h): the backend's own way (PostgreSQL's COPY) where it has one, else one
 * prepared INSERT stepped per row (SQLite: no parse per row, and inside the bulk job's single
 * transaction nothing is synced before its commit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

/* The generic bulk: the cached INSERT statement. */
struct insert_bulk {
    struct store_bulk_base base;
    struct store_stmt *st;
    int err; /* the first failure */
};

static int insert_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                        struct store_bulk **out)
{
    size_t cap = strlen(table) + strlen(columns) + (size_t)ncols * 3 + 64;
    char *sql = malloc(cap);
    struct insert_bulk *b = calloc(1, sizeof(*b));
    if (sql == NULL || b == NULL) {
        free(sql);
        free(b);
        return IOTSEC_ERR_NOMEM;
    }
    size_t o = (size_t)snprintf(sql, cap, "INSERT INTO %s (%s) VALUES (", table, columns);
    for (int i = 0; i < ncols; i++)
        o += (size_t)snprintf(sql + o, cap - o, "%s?", i ? ", " : "");
    snprintf(sql + o, cap - o, ")");
    int rc = store_stmt(conn, sql, &b->st);
    free(sql);
    if (rc != IOTSEC_OK) {
        free(b);
        return rc;
    }
    b->base.conn = conn;
    b->base.ncols = ncols;
    *out = (struct store_bulk *)b;
    return IOTSEC_OK;
}

static int insert_row(struct store_bulk *bulk, const struct store_value *row)
{
    struct insert_bulk *b = (struct insert_bulk *)bulk;
    if (b->err != IOTSEC_OK)
        return b->err;
    for (int i = 0; i < b->base.ncols; i++) {
        const struct store_value *v = &row[i];
        switch (v->type) {
        case STORE_VALUE_INT64:
            store_bind_int64(b->st, i + 1, v->i);
            break;
        case STORE_VALUE_TEXT:
            store_bind_text(b->st, i + 1, v->p, v->len == SIZE_MAX ? -1 : (int)v->len);
            break;
        case STORE_VALUE_BLOB:
            store_bind_blob(b->st, i + 1, v->p, (int)v->len);
            break;
        default:
            store_bind_null(b->st, i + 1);
        }
    }
    int step = store_step(b->st);
    store_reset(b->st);
    if (step != STORE_DONE)
        b->err = store_error(b->base.conn, step);
    return b->err;
}

static int insert_end(struct store_bulk *bulk)
{
    struct insert_bulk *b = (struct insert_bulk *)bulk;
    int err = b->err;
    free(b);
    return err;
}

int store_bulk_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                     struct store_bulk **out)
{
    if (out != NULL)
        *out = NULL;
    if (conn == NULL || table == NULL || columns == NULL || ncols < 1 || out == NULL)
        return IOTSEC_ERR_INVALID;
    return conn->be->bulk_begin ? conn->be->bulk_begin(conn, table, columns, ncols, out)
                                : insert_begin(conn, table, columns, ncols, out);
}

int store_bulk_row(struct store_bulk *b, const struct store_value *row)
{
    if (b == NULL || row == NULL)
        return IOTSEC_ERR_INVALID;
    struct store_conn *conn = ((struct store_bulk_base *)b)->conn;
    return conn->be->bulk_row ? conn->be->bulk_row(b, row) : insert_row(b, row);
}

int store_bulk_end(struct store_bulk *b)
{
    if (b == NULL)
        return IOTSEC_OK;
    struct store_conn *conn = ((struct store_bulk_base *)b)->conn;
    return conn->be->bulk_end ? conn->be->bulk_end(b) : insert_end(b);
}
