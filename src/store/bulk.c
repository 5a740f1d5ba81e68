/* Bulk insert (store.h): the backend's own way (PostgreSQL's COPY) where it has one, else
 * prepared multi-row INSERTs (SQLite): rows are kept until BULK_ROWS of them fill one
 * statement, "INSERT ... VALUES (...), (...), ...", parsed once per connection, their text
 * and blobs bound by reference to the bulk's own copy. One statement
 * per row cost SQLite a statement's set-up and end per row, and, on a table with a trigger
 * (the fleet counters), a statement journal per row that copies every page the row touches;
 * per statement of 256 rows both are paid once. Inside the bulk job's single transaction
 * nothing is synced before its commit. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

#define BULK_ROWS   256
#define BULK_PARAMS 32766 /* the parameters SQLite accepts in one statement (3.32 and later) */

/* The generic bulk: rows kept (their text and blobs copied into `bytes`) until a statement's
 * worth. */
struct insert_bulk {
    struct store_bulk_base base;
    char *head;     /* "INSERT INTO table (columns) VALUES " */
    char *full_sql; /* the INSERT of per_stmt rows */
    int per_stmt;
    int nrows;
    struct store_value *vals; /* per_stmt * ncols; p of text and blobs is an offset in bytes */
    uint8_t *bytes;
    size_t used, cap;
    int err; /* the first failure */
};

/* The INSERT of n rows (malloc'd). */
static char *rows_sql(const struct insert_bulk *b, int n)
{
    size_t head = strlen(b->head),
           tuple = (size_t)b->base.ncols * 3 + 2; /* ", (" ?, ", ?"... ")" */
    char *sql = malloc(head + (size_t)n * tuple + 1), *o = sql;
    if (sql == NULL)
        return NULL;
    memcpy(o, b->head, head);
    o += head;
    for (int r = 0; r < n; r++) {
        memcpy(o, r ? ", (" : "(", r ? 3 : 1);
        o += r ? 3 : 1;
        for (int i = 0; i < b->base.ncols; i++) {
            memcpy(o, i ? ", ?" : "?", i ? 3 : 1);
            o += i ? 3 : 1;
        }
        *o++ = ')';
    }
    *o = '\0';
    return sql;
}

/* Inserts the rows kept, in one statement. */
static int flush_rows(struct insert_bulk *b)
{
    if (b->nrows == 0 || b->err != IOTSEC_OK)
        return b->err;
    bool full = b->nrows == b->per_stmt; /* the usual statement, its text built once */
    char *sql = full ? b->full_sql : rows_sql(b, b->nrows);
    struct store_stmt *st;
    int rc = sql ? store_stmt(b->base.conn, sql, &st) : IOTSEC_ERR_NOMEM;
    if (!full)
        free(sql);
    /* b->bytes stays as it is until the reset below: bound by reference where the engine can */
    int (*bind_ref)(struct store_stmt *, int, bool, const void *, int) = b->base.conn->be->bind_ref;
    for (int v = 0; rc == IOTSEC_OK && v < b->nrows * b->base.ncols; v++) {
        const struct store_value *x = &b->vals[v];
        const void *p = b->bytes + (size_t)(uintptr_t)x->p;
        bool text = x->type == STORE_VALUE_TEXT;
        if (x->type == STORE_VALUE_INT64)
            store_bind_int64(st, v + 1, x->i);
        else if ((text || x->type == STORE_VALUE_BLOB) && bind_ref != NULL)
            bind_ref(st, v + 1, text, p, (int)x->len);
        else if (text)
            store_bind_text(st, v + 1, p, (int)x->len);
        else if (x->type == STORE_VALUE_BLOB)
            store_bind_blob(st, v + 1, p, (int)x->len);
        else
            store_bind_null(st, v + 1);
    }
    if (rc == IOTSEC_OK) {
        int step = store_step(st);
        store_reset(st);
        if (step != STORE_DONE)
            rc = store_error(b->base.conn, step);
    }
    explicit_bzero(b->bytes, b->used);
    b->used = 0;
    b->nrows = 0;
    b->err = rc;
    return rc;
}

static int insert_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                        struct store_bulk **out)
{
    struct insert_bulk *b = calloc(1, sizeof(*b));
    size_t cap = strlen(table) + strlen(columns) + 32;
    int per_stmt = BULK_PARAMS / ncols < BULK_ROWS ? BULK_PARAMS / ncols : BULK_ROWS;
    if (b != NULL) {
        b->head = malloc(cap);
        b->vals = calloc((size_t)(per_stmt ? per_stmt : 1) * (size_t)ncols, sizeof(*b->vals));
    }
    if (b == NULL || b->head == NULL || b->vals == NULL) {
        if (b != NULL)
            free(b->head), free(b->vals);
        free(b);
        return IOTSEC_ERR_NOMEM;
    }
    snprintf(b->head, cap, "INSERT INTO %s (%s) VALUES ", table, columns);
    b->per_stmt = per_stmt ? per_stmt : 1;
    b->base.conn = conn;
    b->base.ncols = ncols;
    if ((b->full_sql = rows_sql(b, b->per_stmt)) == NULL) {
        free(b->head), free(b->vals), free(b);
        return IOTSEC_ERR_NOMEM;
    }
    *out = (struct store_bulk *)b;
    return IOTSEC_OK;
}

/* Copies n bytes into b->bytes; their offset in *off. */
static int keep_bytes(struct insert_bulk *b, const void *p, size_t n, size_t *off)
{
    if (b->cap - b->used < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->used < n)
            cap *= 2;
        uint8_t *bytes = malloc(cap);
        if (bytes == NULL)
            return IOTSEC_ERR_NOMEM;
        if (b->bytes != NULL) { /* not realloc: the old copy is wiped, not just freed */
            memcpy(bytes, b->bytes, b->used);
            explicit_bzero(b->bytes, b->cap);
            free(b->bytes);
        }
        b->bytes = bytes;
        b->cap = cap;
    }
    memcpy(b->bytes + b->used, p, n);
    *off = b->used;
    b->used += n;
    return IOTSEC_OK;
}

static int insert_row(struct store_bulk *bulk, const struct store_value *row)
{
    struct insert_bulk *b = (struct insert_bulk *)bulk;
    if (b->err != IOTSEC_OK)
        return b->err;
    struct store_value *kept = &b->vals[(size_t)b->nrows * (size_t)b->base.ncols];
    for (int i = 0; i < b->base.ncols; i++) {
        const struct store_value *v = &row[i];
        kept[i] = (struct store_value){.type = v->type, .i = v->i};
        if (v->type != STORE_VALUE_TEXT && v->type != STORE_VALUE_BLOB)
            continue;
        if (v->p == NULL) {
            kept[i].type = STORE_VALUE_NULL;
            continue;
        }
        size_t n = v->type == STORE_VALUE_TEXT && v->len == SIZE_MAX ? strlen(v->p) : v->len, off;
        if (n > INT32_MAX)
            return b->err = IOTSEC_ERR_INVALID;
        if ((b->err = keep_bytes(b, v->p, n, &off)) != IOTSEC_OK)
            return b->err;
        kept[i].p = (const void *)(uintptr_t)off;
        kept[i].len = n;
    }
    return ++b->nrows == b->per_stmt ? flush_rows(b) : IOTSEC_OK;
}

static int insert_end(struct store_bulk *bulk)
{
    struct insert_bulk *b = (struct insert_bulk *)bulk;
    int err = flush_rows(b);
    if (b->bytes != NULL)
        explicit_bzero(b->bytes, b->cap);
    free(b->bytes);
    free(b->vals);
    free(b->full_sql);
    free(b->head);
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
