/* PostgreSQL statements behind the store's statement interface.
 *
 * Prepared once per session under a generated name (after `?` -> `$N`), executed with
 * PQexecPrepared. Integers and doubles are sent as text, blobs in binary (bytea needs no
 * escaping then); results come back as text, where a bytea is hex ("\x0a1b...") and is
 * decoded on first access into a buffer kept until the next step or reset, as the contract
 * says. The whole result of an execution is fetched at once (the store's queries answer a
 * few rows; a large export pages with LIMIT).
 *
 * The server infers parameter types from the SQL. Where it cannot (`? IS NULL`, a bare
 * `SELECT ?`), preparing fails with 42P18; such a statement is prepared at its first step
 * instead, with the types of the values bound then (integer: bigint, double: float8, blob:
 * bytea, text: text).
 *
 * Round trips: the writer's queued transaction statements (pg_conn.c), a prepare that is due
 * (first use after a reconnect, or a typed statement) and the execution go in one libpq
 * pipeline, answered together. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/pg/pg_int.h"

/* OIDs of the built-in types (catalog/pg_type_d.h is a server header). */
#define OID_BOOL   16
#define OID_BYTEA  17
#define OID_INT8   20
#define OID_TEXT   25
#define OID_FLOAT8 701

static void clear_result(struct pg_stmt *s)
{
    for (int i = 0; i < s->ncols; i++) {
        free(s->decoded[i]);
        s->decoded[i] = NULL;
    }
    PQclear(s->res);
    s->res = NULL;
    s->row = s->nrows = 0;
}

static void clear_params(struct pg_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        free(s->params[i].heap);
        s->params[i] = (struct pg_param){0};
    }
    s->bind_error = 0;
}

/* Prepares s under a new name on the current session (synchronously). */
static int prepare_now(struct pg_stmt *s, const Oid *types)
{
    struct pg_conn *c = pg_conn_of(s->base.conn);
    snprintf(s->name, sizeof(s->name), "iotsec_%u", ++c->next_name);
    PGresult *res = PQprepare(c->db, s->name, s->sql, types ? s->nparams : 0, types);
    int err = PQresultStatus(res) == PGRES_COMMAND_OK ? IOTSEC_OK : pg_error(c, res);
    if (err == IOTSEC_OK)
        s->generation = c->generation;
    else if (!types && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL &&
             strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42P18") == 0) {
        s->typed = true; /* prepared at step, with the bound values' types */
        err = IOTSEC_OK;
    }
    PQclear(res);
    return err;
}

/* A statement whose parameter types the server could not infer, prepared with the types of
 * the values bound at its first execution; a parameter bound NULL whose type is still unknown
 * (`? IS NULL` with NULL) is then taken as text. */
static int prepare_typed(struct pg_stmt *s, Oid *types)
{
    int err = prepare_now(s, types);
    if (err == IOTSEC_OK && s->generation != pg_conn_of(s->base.conn)->generation)
        err = IOTSEC_ERR_IO;
    if (err != IOTSEC_OK && strstr(store_errmsg(), "42P18") != NULL) {
        for (int i = 0; i < s->nparams; i++)
            types[i] = types[i] ? types[i] : OID_TEXT;
        err = prepare_now(s, types);
    }
    return err;
}

int pg_prepare(struct store_conn *conn, const char *sql, struct store_stmt **out)
{
    struct pg_conn *c = pg_conn_of(conn);
    if (conn->in_job && pg_sql_has_txn_control(sql)) {
        store_set_errmsg(
            "store: not authorized: a job may not BEGIN, COMMIT, ROLLBACK or touch its savepoint");
        return IOTSEC_ERR_IO; /* as SQLite's authorizer answers */
    }
    if (pg_sql_is_blank(sql)) {
        store_set_errmsg("store: no statement in the SQL text");
        return IOTSEC_ERR_INVALID;
    }
    int err = pg_ready(c);
    if (err != IOTSEC_OK)
        return err;
    struct pg_stmt *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return IOTSEC_ERR_NOMEM;
    s->base.conn = conn;
    s->sql = store_sql_placeholders(sql, true);
    if (s->sql == NULL) {
        free(s);
        return IOTSEC_ERR_NOMEM;
    }
    s->nparams = pg_sql_max_param(s->sql);
    s->writes = pg_sql_writes(s->sql);
    s->returns = pg_sql_returns(s->sql);
    if (s->nparams > 0 && (s->params = calloc((size_t)s->nparams, sizeof(*s->params))) == NULL) {
        pg_finalize(&s->base);
        return IOTSEC_ERR_NOMEM;
    }
    err = prepare_now(s, NULL);
    if (err != IOTSEC_OK) {
        s->generation = 0; /* nothing to deallocate */
        pg_finalize(&s->base);
        return err;
    }
    *out = &s->base;
    return IOTSEC_OK;
}

void pg_finalize(struct store_stmt *st)
{
    struct pg_stmt *s = pg_stmt_of(st);
    struct pg_conn *c = pg_conn_of(st->conn);
    clear_result(s);
    clear_params(s);
    if (s->generation != 0 && s->generation == c->generation)
        pg_dealloc_later(c, s->name);
    free(s->decoded);
    free(s->decoded_len);
    free(s->params);
    free(s->sql);
    free(s);
}

void pg_reset(struct store_stmt *st)
{
    struct pg_stmt *s = pg_stmt_of(st);
    clear_result(s);
    clear_params(s);
    s->ran = false;
}

/* The parameter idx (1-based), emptied; NULL (and the statement's bind error set) when out of
 * range. */
static struct pg_param *param(struct pg_stmt *s, int idx)
{
    if (idx < 1 || idx > s->nparams) {
        store_set_errmsg("store: bind index %d out of range (1..%d)", idx, s->nparams);
        if (s->bind_error == 0)
            s->bind_error = IOTSEC_ERR_INVALID;
        return NULL;
    }
    struct pg_param *p = &s->params[idx - 1];
    free(p->heap);
    *p = (struct pg_param){0};
    return p;
}

int pg_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    struct pg_param *p = param(pg_stmt_of(st), idx);
    if (p == NULL)
        return IOTSEC_ERR_INVALID;
    p->len = snprintf(p->num, sizeof(p->num), "%" PRId64, v);
    p->value = p->num;
    p->type = OID_INT8;
    return IOTSEC_OK;
}

int pg_bind_double(struct store_stmt *st, int idx, double v)
{
    struct pg_param *p = param(pg_stmt_of(st), idx);
    if (p == NULL)
        return IOTSEC_ERR_INVALID;
    p->len = snprintf(p->num, sizeof(p->num), "%.17g", v);
    p->value = p->num;
    p->type = OID_FLOAT8;
    return IOTSEC_OK;
}

static int bind_copy(struct store_stmt *st, int idx, const void *v, int len, int format, Oid type)
{
    struct pg_stmt *s = pg_stmt_of(st);
    struct pg_param *p = param(s, idx);
    if (p == NULL)
        return IOTSEC_ERR_INVALID;
    p->heap = malloc((size_t)len + 1);
    if (p->heap == NULL) {
        if (s->bind_error == 0)
            s->bind_error = IOTSEC_ERR_NOMEM;
        return IOTSEC_ERR_NOMEM;
    }
    memcpy(p->heap, v, (size_t)len);
    p->heap[len] = '\0';
    p->value = p->heap;
    p->len = len;
    p->format = format;
    p->type = type;
    return IOTSEC_OK;
}

int pg_bind_text(struct store_stmt *st, int idx, const char *t, int len)
{
    if (len < 0)
        len = (int)strlen(t);
    else
        len = (int)strnlen(t, (size_t)len); /* text stops at a NUL, as SQLite's does */
    return bind_copy(st, idx, t, len, 0, OID_TEXT);
}

int pg_bind_blob(struct store_stmt *st, int idx, const void *p, int len)
{
    return bind_copy(st, idx, p, len, 1, OID_BYTEA);
}

int pg_bind_null(struct store_stmt *st, int idx)
{
    return param(pg_stmt_of(st), idx) ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

/* The argument arrays of PQexecPrepared (NULL when there are no parameters). */
struct args {
    const char **values;
    int *lengths, *formats;
    Oid *types;
};

static int make_args(struct pg_stmt *s, struct args *a)
{
    *a = (struct args){0};
    if (s->nparams == 0)
        return IOTSEC_OK;
    size_t n = (size_t)s->nparams;
    a->values = calloc(n, sizeof(*a->values));
    a->lengths = calloc(n, sizeof(*a->lengths));
    a->formats = calloc(n, sizeof(*a->formats));
    a->types = calloc(n, sizeof(*a->types));
    if (!a->values || !a->lengths || !a->formats || !a->types)
        return IOTSEC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        a->values[i] = s->params[i].value;
        a->lengths[i] = s->params[i].len;
        a->formats[i] = s->params[i].format;
        a->types[i] = s->params[i].value ? s->params[i].type : 0;
    }
    return IOTSEC_OK;
}

static void free_args(struct args *a)
{
    free(a->values);
    free(a->lengths);
    free(a->formats);
    free(a->types);
}

/* The last result of one pipelined query: skips to the NULL that ends it. */
static PGresult *query_result(PGconn *db)
{
    PGresult *res = PQgetResult(db), *next;
    while (res != NULL && (next = PQgetResult(db)) != NULL) {
        PQclear(res);
        res = next;
    }
    return res;
}

static bool result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static bool send_control(PGconn *db, int ctl)
{
    return PQsendQueryParams(db, pg_control_sql(ctl), 0, NULL, NULL, NULL, NULL, 0) == 1;
}

/* One round trip: the queued transaction statements, a prepare if due, the statement's own
 * savepoint if it has one, the execution, the savepoint's release. Returns the execution's
 * result in *out, or the first failure. */
static int run_pipelined(struct pg_stmt *s, const struct args *a, bool prepare, bool savepoint,
                         PGresult **out)
{
    struct pg_conn *c = pg_conn_of(s->base.conn);
    PGconn *db = c->db;
    if (!PQenterPipelineMode(db))
        return pg_error(c, NULL);
    size_t nctl = c->pending_len;
    bool sent = true;
    for (size_t i = 0; i < nctl && sent; i++)
        sent = send_control(db, c->pending[i]);
    c->pending_len = 0;
    if (prepare && sent) {
        snprintf(s->name, sizeof(s->name), "iotsec_%u", ++c->next_name);
        sent = PQsendPrepare(db, s->name, s->sql, s->nparams, a->types) == 1;
    }
    if (savepoint && sent)
        sent = send_control(db, PG_STMT_SAVEPOINT);
    if (sent)
        sent =
            PQsendQueryPrepared(db, s->name, s->nparams, a->values, a->lengths, a->formats, 0) == 1;
    if (savepoint && sent)
        sent = send_control(db, PG_STMT_RELEASE);
    if (sent)
        sent = PQpipelineSync(db) == 1;
    if (!sent) {
        /* libpq could not even queue the messages: the session is unusable (PQreset, on the
         * next reconnect, also leaves pipeline mode). */
        int err = pg_error(c, NULL);
        c->broken = true;
        c->pending_len = 0;
        return err == IOTSEC_ERR_IO ? IOTSEC_ERR_BUSY : err;
    }
    int err = IOTSEC_OK;
    size_t exec_at = nctl + (prepare ? 1 : 0) + (savepoint ? 1 : 0);
    size_t expect = exec_at + 1 + (savepoint ? 1 : 0);
    for (size_t i = 0; i < expect; i++) {
        PGresult *res = query_result(db);
        if (res == NULL) {
            if (err == IOTSEC_OK)
                err = pg_error(c, NULL);
            break;
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
            PQclear(res); /* after the failure already recorded */
        } else if (!result_ok(res)) {
            if (err == IOTSEC_OK)
                err = pg_error(c, res);
            PQclear(res);
        } else if (i == exec_at && err == IOTSEC_OK) {
            *out = res;
        } else {
            if (prepare && i == nctl)
                s->generation = c->generation;
            PQclear(res);
        }
    }
    /* The sync's own answer, then back to ordinary mode. */
    PGresult *sync = PQgetResult(db);
    PQclear(sync);
    if (!PQexitPipelineMode(db) && err == IOTSEC_OK)
        err = pg_error(c, NULL);
    if (err != IOTSEC_OK && *out != NULL) {
        PQclear(*out);
        *out = NULL;
    }
    if (err != IOTSEC_OK && savepoint && !c->broken) {
        /* The transaction goes on without this statement's effects (next round trip). */
        pg_queue(c, PG_STMT_ROLLBACK_TO);
        pg_queue(c, PG_STMT_RELEASE);
    }
    return err;
}

/* Bulk jobs: writes sent in pipeline mode, a sync (and the answers read) every this many. */
#define BULK_WINDOW 512

/* Reads the answers up to the pipeline's last sync; the first failure is kept. */
static void read_through_sync(struct pg_conn *c)
{
    int nulls = 0;
    while (nulls < 2) {
        PGresult *res = PQgetResult(c->db);
        if (res == NULL) {
            if (PQstatus(c->db) == CONNECTION_BAD) {
                if (c->deferred_err == IOTSEC_OK)
                    c->deferred_err = pg_error(c, NULL);
                return;
            }
            nulls++;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED &&
            c->deferred_err == IOTSEC_OK)
            c->deferred_err = pg_error(c, res);
        PQclear(res);
    }
}

int pg_drain(struct pg_conn *c)
{
    if (!c->pipelined)
        return IOTSEC_OK;
    if (!c->broken && PQpipelineSync(c->db) == 1)
        read_through_sync(c);
    PQexitPipelineMode(c->db);
    c->pipelined = false;
    c->deferred = 0;
    int err = c->deferred_err;
    c->deferred_err = IOTSEC_OK;
    return err;
}

/* A bulk job's write: sent, not waited for (see store_transaction_sync). */
static int execute_deferred(struct pg_stmt *s, const struct args *a)
{
    struct pg_conn *c = pg_conn_of(s->base.conn);
    if (c->deferred_err != IOTSEC_OK)
        return c->deferred_err;
    if (s->generation != c->generation) {
        /* Prepared synchronously, outside the pipeline, so that a failed prepare cannot leave
         * the cache holding a name the server does not know. */
        int err = pg_drain(c);
        if (err == IOTSEC_OK)
            err = prepare_now(s, s->typed ? a->types : NULL);
        if (err == IOTSEC_OK && s->generation != c->generation) {
            store_set_errmsg("postgresql: statement not prepared");
            err = IOTSEC_ERR_IO;
        }
        if (err != IOTSEC_OK)
            return err;
    }
    PGconn *db = c->db;
    if (!c->pipelined) {
        if (!PQenterPipelineMode(db))
            return pg_error(c, NULL);
        c->pipelined = true;
    }
    bool sent = true;
    for (size_t i = 0; i < c->pending_len && sent; i++)
        sent = send_control(db, c->pending[i]);
    c->pending_len = 0;
    if (sent)
        sent =
            PQsendQueryPrepared(db, s->name, s->nparams, a->values, a->lengths, a->formats, 0) == 1;
    if (!sent) {
        c->deferred_err = pg_error(c, NULL);
        return c->deferred_err;
    }
    if (++c->deferred >= BULK_WINDOW) {
        if (PQpipelineSync(db) == 1)
            read_through_sync(c);
        else if (c->deferred_err == IOTSEC_OK)
            c->deferred_err = pg_error(c, NULL);
        c->deferred = 0;
    }
    return c->deferred_err;
}

static int execute(struct pg_stmt *s)
{
    struct pg_conn *c = pg_conn_of(s->base.conn);
    struct args a;
    if (c->base.bulk && c->base.in_job && c->txn && s->writes && !s->returns && !c->broken) {
        int err = make_args(s, &a);
        if (err == IOTSEC_OK)
            err = execute_deferred(s, &a);
        free_args(&a);
        return err; /* s->res stays NULL: the step answers STORE_DONE */
    }
    int err = pg_ready(c);
    if (err != IOTSEC_OK)
        return err;
    err = make_args(s, &a);
    if (err == IOTSEC_OK && s->typed && s->generation != c->generation && s->nparams > 0)
        err = prepare_typed(s, a.types); /* synchronously: it may take two attempts */
    PGresult *res = NULL;
    bool prepare = s->generation != c->generation;
    bool savepoint = s->writes && s->base.conn->in_job && c->txn;
    if (err == IOTSEC_OK && !prepare && !savepoint && c->pending_len == 0) {
        res = PQexecPrepared(c->db, s->name, s->nparams, a.values, a.lengths, a.formats, 0);
        if (!result_ok(res)) {
            err = pg_error(c, res);
            PQclear(res);
            res = NULL;
        }
    } else if (err == IOTSEC_OK) {
        if (!s->typed) {
            free(a.types); /* let the server infer, as at the first prepare */
            a.types = NULL;
        }
        err = run_pipelined(s, &a, prepare, savepoint, &res);
    }
    free_args(&a);
    if (err != IOTSEC_OK)
        return err;
    s->res = res;
    s->nrows = PQntuples(res);
    s->row = -1;
    int ncols = PQnfields(res);
    if (ncols > s->ncols) {
        char **d = realloc(s->decoded, (size_t)ncols * sizeof(*d));
        if (d != NULL)
            s->decoded = d;
        int *dl = realloc(s->decoded_len, (size_t)ncols * sizeof(*dl));
        if (dl != NULL)
            s->decoded_len = dl;
        if (d == NULL || dl == NULL)
            return IOTSEC_ERR_NOMEM;
        for (int i = s->ncols; i < ncols; i++)
            s->decoded[i] = NULL;
        s->ncols = ncols;
    }
    const char *tag = PQcmdStatus(res);
    if (strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
        strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0)
        c->changes = strtoll(PQcmdTuples(res), NULL, 10);
    return IOTSEC_OK;
}

int pg_step(struct store_stmt *st)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (s->bind_error != 0)
        return s->bind_error;
    if (s->ran && s->row >= s->nrows) { /* stepped past the end: runs again, as SQLite does */
        clear_result(s);
        s->ran = false;
    }
    if (!s->ran) {
        int err = execute(s);
        if (err != IOTSEC_OK)
            return err;
        s->ran = true;
    }
    if (s->res == NULL)
        return STORE_DONE;
    for (int i = 0; i < s->ncols; i++) {
        free(s->decoded[i]);
        s->decoded[i] = NULL;
    }
    if (s->row + 1 >= s->nrows) {
        s->row = s->nrows;
        return STORE_DONE;
    }
    s->row++;
    return STORE_ROW;
}

/* Whether col of the current row exists and is not NULL. */
static bool has_value(const struct pg_stmt *s, int col)
{
    return s->res != NULL && s->row >= 0 && s->row < s->nrows && col >= 0 && col < s->ncols &&
           !PQgetisnull(s->res, s->row, col);
}

int64_t pg_col_int64(struct store_stmt *st, int col)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (!has_value(s, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == OID_BOOL)
        return v[0] == 't';
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') /* numeric or float: truncated as SQLite */
        return (int64_t)strtod(v, NULL);
    return n;
}

double pg_col_double(struct store_stmt *st, int col)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (!has_value(s, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (PQftype(s->res, col) == OID_BOOL)
        return v[0] == 't';
    return strtod(v, NULL);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The bytes of a bytea column of the current row, decoded from hex once (NUL-terminated). */
static const char *bytea(struct pg_stmt *s, int col, int *len)
{
    if (s->decoded[col] != NULL) {
        *len = s->decoded_len[col];
        return s->decoded[col];
    }
    const char *v = PQgetvalue(s->res, s->row, col);
    size_t n = (size_t)PQgetlength(s->res, s->row, col);
    if (n < 2 || v[0] != '\\' || v[1] != 'x') { /* bytea_output = escape: not ours to set */
        size_t out_len = 0;
        unsigned char *u = PQunescapeBytea((const unsigned char *)v, &out_len);
        char *copy = u ? malloc(out_len + 1) : NULL;
        if (copy != NULL) {
            memcpy(copy, u, out_len);
            copy[out_len] = '\0';
        }
        PQfreemem(u);
        s->decoded[col] = copy;
        s->decoded_len[col] = copy ? (int)out_len : 0;
    } else {
        size_t out_len = (n - 2) / 2;
        char *out = malloc(out_len + 1);
        if (out != NULL) {
            for (size_t i = 0; i < out_len; i++)
                out[i] = (char)(hexval(v[2 + 2 * i]) << 4 | hexval(v[3 + 2 * i]));
            out[out_len] = '\0';
        }
        s->decoded[col] = out;
        s->decoded_len[col] = out ? (int)out_len : 0;
    }
    *len = s->decoded_len[col];
    return s->decoded[col];
}

const char *pg_col_text(struct store_stmt *st, int col)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (!has_value(s, col))
        return NULL;
    if (PQftype(s->res, col) == OID_BYTEA) {
        int len;
        return bytea(s, col, &len);
    }
    return PQgetvalue(s->res, s->row, col);
}

const void *pg_col_blob(struct store_stmt *st, int col)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (!has_value(s, col))
        return NULL;
    if (PQftype(s->res, col) == OID_BYTEA) {
        int len;
        return bytea(s, col, &len);
    }
    return PQgetvalue(s->res, s->row, col);
}

int pg_col_bytes(struct store_stmt *st, int col)
{
    struct pg_stmt *s = pg_stmt_of(st);
    if (!has_value(s, col))
        return 0;
    if (PQftype(s->res, col) == OID_BYTEA) {
        int len;
        bytea(s, col, &len);
        return len;
    }
    return PQgetlength(s->res, s->row, col);
}

bool pg_col_is_null(struct store_stmt *st, int col)
{
    return !has_value(pg_stmt_of(st), col);
}

int64_t pg_changes(struct store_conn *conn)
{
    return pg_conn_of(conn)->changes;
}
