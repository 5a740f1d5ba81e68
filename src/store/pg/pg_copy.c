/* Bulk insert on PostgreSQL: COPY ... FROM STDIN in binary format. Rows are encoded into a
 * buffer and sent in large chunks; the server answers once, at the end, so a million rows
 * cost a handful of round trips instead of one per statement. In a batched job the COPY runs
 * in the statement savepoint, as every other write of a job does (pg_conn.c): a failure undoes
 * it alone. Binary fields: the store's types map to BIGINT (8 bytes, big-endian), TEXT (its
 * bytes) and BYTEA (its bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/pg/pg_int.h"

/* Sent to the server whenever this much is buffered. */
#define COPY_CHUNK (256 * 1024)

struct pg_bulk {
    struct store_bulk_base base;
    char *buf;
    size_t len, cap;
    int err;        /* the first failure */
    bool savepoint; /* the COPY runs in the statement savepoint */
    bool copying;   /* the server is in COPY IN */
};

static const char copy_header[] = "PGCOPY\n\377\r\n"; /* + NUL, flags (4), extension (4) */

static int reserve(struct pg_bulk *b, size_t more)
{
    if (b->len + more <= b->cap)
        return IOTSEC_OK;
    size_t cap = b->cap ? b->cap : COPY_CHUNK + 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *grown = realloc(b->buf, cap);
    if (grown == NULL)
        return IOTSEC_ERR_NOMEM;
    b->buf = grown;
    b->cap = cap;
    return IOTSEC_OK;
}

static void put_u16(struct pg_bulk *b, uint16_t v)
{
    b->buf[b->len++] = (char)(v >> 8);
    b->buf[b->len++] = (char)v;
}

static void put_u32(struct pg_bulk *b, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        b->buf[b->len++] = (char)(v >> s);
}

static void put_u64(struct pg_bulk *b, uint64_t v)
{
    for (int s = 56; s >= 0; s -= 8)
        b->buf[b->len++] = (char)(v >> s);
}

/* Sends what is buffered. */
static int send_buffer(struct pg_bulk *b)
{
    struct pg_conn *c = pg_conn_of(b->base.conn);
    if (b->len > 0 && PQputCopyData(c->db, b->buf, (int)b->len) != 1)
        return pg_error(c, NULL);
    b->len = 0;
    return IOTSEC_OK;
}

int pg_bulk_begin(struct store_conn *conn, const char *table, const char *columns, int ncols,
                  struct store_bulk **out)
{
    struct pg_conn *c = pg_conn_of(conn);
    int err = pg_ready(c);
    if (err != IOTSEC_OK)
        return err;
    struct pg_bulk *b = calloc(1, sizeof(*b));
    size_t sql_cap = strlen(table) + strlen(columns) + 64;
    char *sql = malloc(sql_cap);
    if (b == NULL || sql == NULL || reserve(b, COPY_CHUNK) != IOTSEC_OK) {
        free(sql);
        if (b != NULL)
            free(b->buf);
        free(b);
        return IOTSEC_ERR_NOMEM;
    }
    b->base.conn = conn;
    b->base.ncols = ncols;
    /* A bulk job (store_transaction_sync) fails whole on any error: no savepoint (a
     * subtransaction per COPY would only cost). */
    b->savepoint = conn->in_job && c->txn && !conn->bulk;
    snprintf(sql, sql_cap, "COPY %s (%s) FROM STDIN (FORMAT binary)", table, columns);
    if (b->savepoint)
        err = pg_queue(c, PG_STMT_SAVEPOINT);
    if (err == IOTSEC_OK)
        err = pg_flush_pending(c); /* BEGIN, savepoints: before the COPY, in order */
    if (err == IOTSEC_OK) {
        PGresult *res = PQexec(c->db, sql);
        if (PQresultStatus(res) == PGRES_COPY_IN)
            b->copying = true;
        else
            err = pg_error(c, res);
        PQclear(res);
    }
    free(sql);
    if (err != IOTSEC_OK) {
        if (b->savepoint && !c->broken) {
            pg_queue(c, PG_STMT_ROLLBACK_TO);
            pg_queue(c, PG_STMT_RELEASE);
        }
        free(b->buf);
        free(b);
        return err;
    }
    memcpy(b->buf, copy_header, sizeof(copy_header)); /* with its NUL */
    b->len = sizeof(copy_header);
    put_u32(b, 0); /* flags */
    put_u32(b, 0); /* header extension length */
    *out = (struct store_bulk *)b;
    return IOTSEC_OK;
}

int pg_bulk_row(struct store_bulk *bulk, const struct store_value *row)
{
    struct pg_bulk *b = (struct pg_bulk *)bulk;
    if (b->err != IOTSEC_OK)
        return b->err;
    size_t need = 2;
    for (int i = 0; i < b->base.ncols; i++) {
        const struct store_value *v = &row[i];
        size_t n = v->type == STORE_VALUE_INT64                        ? 8
                   : v->type == STORE_VALUE_TEXT && v->len == SIZE_MAX ? strlen(v->p)
                                                                       : v->len;
        need += 4 + (v->type == STORE_VALUE_NULL ? 0 : n);
    }
    if ((b->err = reserve(b, need)) != IOTSEC_OK)
        return b->err;
    put_u16(b, (uint16_t)b->base.ncols);
    for (int i = 0; i < b->base.ncols; i++) {
        const struct store_value *v = &row[i];
        if (v->type == STORE_VALUE_NULL || (v->type != STORE_VALUE_INT64 && v->p == NULL)) {
            put_u32(b, UINT32_MAX); /* -1: NULL */
        } else if (v->type == STORE_VALUE_INT64) {
            put_u32(b, 8);
            put_u64(b, (uint64_t)v->i);
        } else {
            size_t n = v->type == STORE_VALUE_TEXT && v->len == SIZE_MAX ? strlen(v->p) : v->len;
            put_u32(b, (uint32_t)n);
            memcpy(b->buf + b->len, v->p, n);
            b->len += n;
        }
    }
    if (b->len >= COPY_CHUNK)
        b->err = send_buffer(b);
    return b->err;
}

int pg_bulk_end(struct store_bulk *bulk)
{
    struct pg_bulk *b = (struct pg_bulk *)bulk;
    struct pg_conn *c = pg_conn_of(b->base.conn);
    int err = b->err;
    if (err == IOTSEC_OK && reserve(b, 2) == IOTSEC_OK) {
        put_u16(b, UINT16_MAX); /* -1: the end of the data */
        err = send_buffer(b);
    } else if (err == IOTSEC_OK) {
        err = IOTSEC_ERR_NOMEM;
    }
    if (b->copying && !c->broken) {
        /* With an error message the server aborts the COPY (nothing of it is kept). */
        if (PQputCopyEnd(c->db, err == IOTSEC_OK ? NULL : "iotsec: bulk insert abandoned") != 1 &&
            err == IOTSEC_OK)
            err = pg_error(c, NULL);
        PGresult *res;
        while ((res = PQgetResult(c->db)) != NULL) {
            if (PQresultStatus(res) == PGRES_COMMAND_OK)
                c->changes = strtoll(PQcmdTuples(res), NULL, 10);
            else if (err == IOTSEC_OK)
                err = pg_error(c, res);
            PQclear(res);
        }
    }
    if (b->savepoint && !c->broken) {
        if (err != IOTSEC_OK)
            pg_queue(c, PG_STMT_ROLLBACK_TO);
        pg_queue(c, PG_STMT_RELEASE);
    }
    if (b->buf != NULL)
        memset(b->buf, 0, b->cap); /* rows may hold sealed secrets: leave no copy behind */
    free(b->buf);
    free(b);
    return err;
}
