/* Bulk import of subscriptions straight from text (subscriber_import_text): parsed line by
 * line, each row sealed under its own DEK (sub_dek.h), and stored with the engine's bulk insert
 * (store_bulk_*: COPY on PostgreSQL, multi-row INSERTs on SQLite), a batch of rows at a time:
 * their subscriptions, then their DEKs.
 *
 * A chunk of IMPORT_CHUNK rows is one writer transaction, not the whole text: the writer also
 * commits SQN reservations, lease renewals and every other change, and one transaction of a
 * million rows (20 s and more) would hold them all back, long enough for the instance's SQN
 * lease to lapse and every authentication to be refused. Between chunks the writer runs
 * whatever is queued. The answer stays all or nothing: when a chunk fails (a bad line, a SUPI
 * that exists), the rows of the chunks committed before it are deleted again, DEKs first, before
 * the import answers. Meanwhile they were visible, as any subscription created and deleted.
 *
 * Parsing and sealing (a fresh DEK and two AES-GCM seals per row) are done before a chunk goes
 * to the writer, by a thread of the import one chunk ahead: while the writer stores chunk i,
 * chunk i+1 is being sealed on the other core. The writer's job only inserts, and the writer
 * is held for less time per chunk. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "subscriber/sub_dek.h"
#include "subscriber/subscriber.h"

#define IMPORT_LINE_MAX 1024

/* A row of an import, sealed and formatted, waiting for its batch. */
struct import_row {
    char supi[SUPI_STRING_MAX];
    char gpsi[SUB_GPSI_MAX];
    char owner[SUB_OWNER_MAX];
    uint8_t amf[2];
    uint8_t cred[SUB_CRED_SEALED_LEN];
    uint8_t dek[SUB_DEK_SEALED_LEN];
    enum sub_state state;
    enum sub_auth_method auth_method;
    int64_t not_after;
    uint64_t first; /* the SIM's SEQ + 1: where SQN reservations start */
    size_t line;
    bool inserted;
};

/* Rows per batch: per batch the bulk insert costs a few round trips on a network database. */
#define IMPORT_BATCH 1024
/* Rows per INSERT when looking for the row that breaks a unique key (check mode). */
#define CHECK_ROWS 64
#define CHECK_COLS 12

#define IMPORT_CHUNK SUB_IMPORT_CHUNK

/* Where the parse stands: the next line to read, and the CSV header once seen. */
struct import_cursor {
    const char *pos;
    size_t line_no;
    bool header_seen;
    struct sub_csv_columns cols;
};

/* What every chunk shares: the text and how to read and seal it. */
struct import_text {
    const struct seal_kek *kek;
    const char *text;
    size_t len;
    bool csv;
    int64_t now;
};

/* Up to IMPORT_CHUNK rows, parsed and sealed (chunk_prepare), then stored (run_chunk). */
struct import_chunk {
    const struct import_text *it;
    struct import_cursor start, end; /* the lines it covers */
    struct import_row *rows;         /* IMPORT_CHUNK of them */
    size_t nrows;
    bool more;       /* lines follow `end` */
    int rc;          /* of the parse (IOTSEC_OK, or the first bad line's) */
    bool check;      /* store: find the row that breaks a unique key (after a conflict) */
    size_t bad_line; /* when rc (or the store) failed */
    char err[200];   /* why */
    int64_t added[SUB_STATE_COUNT]; /* rows stored, per state (for the fleet counters) */
};

static int import_row_make(const struct import_text *it, const struct sub_input *in, size_t line,
                           struct import_row *r)
{
    memset(r, 0, sizeof(*r));
    if (supi_format(&in->supi, r->supi, sizeof(r->supi)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = sub_cred_seal(it->kek, &in->supi, 1, &in->keys, r->cred, r->dek);
    _Static_assert(sizeof(r->gpsi) == sizeof(in->gpsi) && sizeof(r->owner) == sizeof(in->owner),
                   "the same strings");
    memcpy(r->gpsi, in->gpsi, sizeof(r->gpsi));
    memcpy(r->owner, in->owner, sizeof(r->owner));
    memcpy(r->amf, in->amf, 2);
    r->state = in->state;
    r->auth_method = in->auth_method;
    r->not_after = in->not_after;
    /* As insert(): the first SEQ issued must exceed the SIM's. */
    r->first = (in->sqn >> SQN_IND_BITS) + 1;
    r->line = line;
    return rc;
}

static struct store_value v_int(int64_t i)
{
    return (struct store_value){.type = STORE_VALUE_INT64, .i = i};
}

static struct store_value v_text(const char *t)
{
    return (struct store_value){.type = STORE_VALUE_TEXT, .p = t, .len = SIZE_MAX};
}

static struct store_value v_blob(const void *p, size_t n)
{
    return (struct store_value){.type = STORE_VALUE_BLOB, .p = p, .len = n};
}

#define SUB_BULK_COLUMNS                                                                           \
    "supi, gpsi, owner, amf, cred_version, cred, state, not_after, sqn_reserved, created_at,"      \
    " updated_at, auth_method, sqn_next"
#define SUB_BULK_NCOLS 13

/* The batch's subscriptions in one bulk insert: a row that breaks a unique key (its SUPI or
 * GPSI exists, or comes twice in the input) fails it, and the import. */
static int bulk_subscriptions(struct store_conn *conn, const struct import_row *rows, size_t n,
                              int64_t now)
{
    struct store_bulk *b;
    int rc = store_bulk_begin(conn, "subscriptions", SUB_BULK_COLUMNS, SUB_BULK_NCOLS, &b);
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        const struct import_row *r = &rows[i];
        const struct store_value row[SUB_BULK_NCOLS] = {
            v_text(r->supi),
            r->gpsi[0] ? v_text(r->gpsi) : (struct store_value){.type = STORE_VALUE_NULL},
            v_text(r->owner),
            v_blob(r->amf, 2),
            v_int(1),
            v_blob(r->cred, sizeof(r->cred)),
            v_text(sub_state_name(r->state)),
            v_int(r->not_after),
            /* The SQN high-water mark starts above the SIM's SEQ. */
            v_int((int64_t)r->first),
            v_int(now),
            v_int(now),
            v_text(sub_auth_method_name(r->auth_method)),
            v_int((int64_t)r->first),
        };
        rc = store_bulk_row(b, row);
    }
    int end = store_bulk_end(b);
    return rc != IOTSEC_OK ? rc : end;
}

static int bulk_deks(struct store_conn *conn, const struct import_row *rows, size_t n)
{
    struct store_bulk *b;
    int rc = store_bulk_begin(conn, "subscription_deks", "dek_supi, dek_version, dek", 3, &b);
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        const struct import_row *r = &rows[i];
        const struct store_value row[3] = {v_text(r->supi), v_int(1),
                                           v_blob(r->dek, sizeof(r->dek))};
        rc = store_bulk_row(b, row);
    }
    int end = store_bulk_end(b);
    return rc != IOTSEC_OK ? rc : end;
}

/* "INSERT ... VALUES (?1..?12), (?13..?24)... ON CONFLICT DO NOTHING RETURNING supi" for n
 * rows (malloc'd): a row that breaks a unique key is skipped instead, and the rows that come
 * back tell which one it was, so the operator gets its line. A round trip per statement: it
 * runs only to explain a conflict. */
static char *check_sql(size_t n)
{
    static const char head[] =
        "INSERT INTO subscriptions(supi, gpsi, owner, amf, cred_version, cred, state,"
        " not_after, sqn_reserved, created_at, updated_at, auth_method, sqn_next) VALUES ";
    size_t cap = sizeof(head) + n * (CHECK_COLS * 8 + 8) + 64;
    char *sql = malloc(cap);
    if (sql == NULL)
        return NULL;
    size_t o = (size_t)snprintf(sql, cap, "%s", head);
    for (size_t i = 0; i < n; i++) {
        size_t b = i * CHECK_COLS;
        o += (size_t)snprintf(sql + o, cap - o,
                              "%s(?%zu, ?%zu, ?%zu, ?%zu, 1, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu,"
                              " ?%zu, ?%zu)",
                              i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8,
                              b + 9, b + 10, b + 11, b + 12);
    }
    snprintf(sql + o, cap - o, " ON CONFLICT DO NOTHING RETURNING supi");
    return sql;
}

/* Check mode: rows [from, from + n) in one INSERT, marking those that went in. */
static int check_insert(struct store_conn *conn, struct import_row *rows, size_t n, int64_t now)
{
    char *sql = check_sql(n);
    if (sql == NULL)
        return IOTSEC_ERR_NOMEM;
    struct store_stmt *st;
    int rc = store_stmt(conn, sql, &st);
    free(sql);
    if (rc != IOTSEC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct import_row *r = &rows[i];
        int b = (int)(i * CHECK_COLS);
        store_bind_text(st, b + 1, r->supi, -1);
        if (r->gpsi[0])
            store_bind_text(st, b + 2, r->gpsi, -1);
        else
            store_bind_null(st, b + 2);
        store_bind_text(st, b + 3, r->owner, -1);
        store_bind_blob(st, b + 4, r->amf, 2);
        store_bind_blob(st, b + 5, r->cred, sizeof(r->cred));
        store_bind_text(st, b + 6, sub_state_name(r->state), -1);
        store_bind_int64(st, b + 7, r->not_after);
        store_bind_int64(st, b + 8, (int64_t)r->first);
        store_bind_int64(st, b + 9, now);
        store_bind_int64(st, b + 10, now);
        store_bind_text(st, b + 11, sub_auth_method_name(r->auth_method), -1);
        store_bind_int64(st, b + 12, (int64_t)r->first);
    }
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        const char *supi = store_col_text(st, 0);
        /* each returned SUPI accounts for its first row not yet accounted for */
        for (size_t i = 0; supi != NULL && i < n; i++) {
            if (!rows[i].inserted && strcmp(rows[i].supi, supi) == 0) {
                rows[i].inserted = true;
                break;
            }
        }
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* Stores rows [from, from + n) of the chunk; in check mode a skipped row fails the import at
 * its line. */
static int store_batch(struct store_conn *conn, struct import_chunk *c, size_t from, size_t n)
{
    struct import_row *rows = c->rows + from;
    int64_t now = c->it->now;
    int rc = IOTSEC_OK;
    if (!c->check) {
        rc = bulk_subscriptions(conn, rows, n, now); /* all or an error */
    } else {
        for (size_t i = 0; i < n; i++)
            rows[i].inserted = false;
        for (size_t at = 0; rc == IOTSEC_OK && at < n; at += CHECK_ROWS)
            rc = check_insert(conn, rows + at, n - at < CHECK_ROWS ? n - at : CHECK_ROWS, now);
        for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
            if (!rows[i].inserted) {
                c->bad_line = rows[i].line;
                snprintf(c->err, sizeof(c->err), "the SUPI or GPSI exists already");
                rc = IOTSEC_ERR_CONFLICT;
            }
        }
    }
    if (rc == IOTSEC_OK)
        rc = bulk_deks(conn, rows, n);
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++)
        c->added[rows[i].state]++;
    return rc;
}

/* Copies the next line (without its line ending) into line; returns false at the end. */
static bool next_line(const char **p, const char *end, char *line, size_t cap, bool *too_long)
{
    if (*p >= end)
        return false;
    const char *eol = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = (size_t)((eol ? eol : end) - *p);
    *too_long = n >= cap;
    if (!*too_long) {
        memcpy(line, *p, n);
        line[n] = '\0';
        line[strcspn(line, "\r")] = '\0';
    }
    *p = eol ? eol + 1 : end;
    return true;
}

/* Reads the next line at c; for a data row, parses it into in (*is_row). IOTSEC_OK with
 * *is_row false for a blank line, a comment or the header; false at the end of the text. A
 * refusal's reason goes to err. */
static bool next_row(bool csv, struct import_cursor *c, const char *end, struct sub_input *in,
                     bool *is_row, int *rc, char *err, size_t err_len)
{
    char line[IMPORT_LINE_MAX];
    bool too_long;
    *is_row = false;
    *rc = IOTSEC_OK;
    if (!next_line(&c->pos, end, line, sizeof(line), &too_long))
        return false;
    c->line_no++;
    if (too_long) {
        snprintf(err, err_len, "line too long");
        *rc = IOTSEC_ERR_INVALID;
    } else if (line[0] == '\0' || line[0] == '#') {
        /* nothing */
    } else if (csv && !c->header_seen) {
        *rc = sub_csv_header(line, &c->cols, err, err_len);
        c->header_seen = true;
    } else {
        *rc = csv ? sub_csv_row(line, &c->cols, in, err, err_len)
                  : sub_json_row(line, in, err, err_len);
        *is_row = *rc == IOTSEC_OK;
    }
    secure_wipe(line, sizeof(line));
    return true;
}

/* Parses and seals up to IMPORT_CHUNK rows from c->start (no store access: any thread). */
static void chunk_prepare(struct import_chunk *c)
{
    const char *end = c->it->text + c->it->len;
    struct import_cursor at = c->start;
    bool is_row;
    int rc = IOTSEC_OK;
    c->nrows = 0;
    c->bad_line = 0;
    c->err[0] = '\0';
    c->more = true;
    while (rc == IOTSEC_OK && c->nrows < IMPORT_CHUNK) {
        struct sub_input in;
        if (!(c->more = next_row(c->it->csv, &at, end, &in, &is_row, &rc, c->err, sizeof(c->err))))
            break;
        if (is_row) {
            rc = import_row_make(c->it, &in, at.line_no, &c->rows[c->nrows]);
            c->nrows += rc == IOTSEC_OK;
        }
        secure_wipe(&in, sizeof(in));
    }
    if (c->more && rc == IOTSEC_OK) /* a full chunk: is anything but blank lines left? */
        c->more = at.pos < end;
    if (rc != IOTSEC_OK)
        c->bad_line = at.line_no;
    c->rc = rc;
    c->end = at;
}

static void *prepare_thread(void *arg)
{
    chunk_prepare(arg);
    crypto_random_thread_cleanup(); /* its unused random bytes (DEKs come from them) */
    return NULL;
}

/* The writer job: stores a prepared chunk, a batch of rows per bulk insert. */
static int run_chunk(struct store_conn *conn, void *arg)
{
    struct import_chunk *c = arg;
    bool paused = subscriber_counts_pause(conn); /* counted once below (SQLite) */
    int rc = IOTSEC_OK;
    memset(c->added, 0, sizeof(c->added));
    for (size_t from = 0; rc == IOTSEC_OK && from < c->nrows; from += IMPORT_BATCH)
        rc = store_batch(conn, c, from,
                         c->nrows - from < IMPORT_BATCH ? c->nrows - from : IMPORT_BATCH);
    if (rc == IOTSEC_OK && paused)
        rc = subscriber_counts_resume(conn, c->added, c->it->now);
    return rc;
}

/* Stores a prepared chunk in one transaction; after a conflict, again in check mode to name
 * the line (the same rows fail the same way, unless the conflicting row went meanwhile: then
 * it succeeds and the import goes on). */
static int store_chunk(struct store *s, struct import_chunk *c)
{
    c->check = false;
    int rc = store_transaction_sync(s, run_chunk, c);
    if (rc == IOTSEC_ERR_CONFLICT) {
        c->check = true;
        rc = store_transaction_sync(s, run_chunk, c);
    }
    return rc;
}

/* Deleting again what the committed chunks stored: the rows of the lines before `stop`. */
struct import_undo {
    bool csv;
    struct import_cursor at;
    const char *stop;
    char scratch[128]; /* the error and line already reported stay as they are */
};

static int delete_imported(struct store_conn *conn, const char *supi)
{
    static const char *const sql[] = {"DELETE FROM subscription_deks WHERE dek_supi = ?",
                                      "DELETE FROM subscriptions WHERE supi = ?"};
    for (size_t i = 0; i < 2; i++) {
        struct store_stmt *st;
        int rc = store_stmt(conn, sql[i], &st), step;
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, supi, -1);
        step = store_step(st);
        store_reset(st);
        if (step != STORE_DONE)
            return store_error(conn, step);
    }
    return IOTSEC_OK;
}

static int run_undo(struct store_conn *conn, void *arg)
{
    struct import_undo *u = arg;
    size_t rows = 0;
    bool is_row;
    int rc = IOTSEC_OK, parse_rc;
    while (rc == IOTSEC_OK && rows < IMPORT_CHUNK && u->at.pos < u->stop) {
        struct sub_input in;
        if (!next_row(u->csv, &u->at, u->stop, &in, &is_row, &parse_rc, u->scratch,
                      sizeof(u->scratch)))
            break;
        if (is_row) { /* these lines parsed before: parse_rc is OK */
            char supi[SUPI_STRING_MAX];
            rows++;
            if (supi_format(&in.supi, supi, sizeof(supi)) == IOTSEC_OK)
                rc = delete_imported(conn, supi);
        }
        secure_wipe(&in, sizeof(in));
    }
    return rc;
}

/* Deletes the rows stored from the lines before stop, a chunk per transaction. */
static int undo_chunks(struct store *s, const struct import_text *it, const char *stop)
{
    struct import_undo u = {.csv = it->csv, .at = {.pos = it->text}, .stop = stop};
    int rc = IOTSEC_OK;
    while (rc == IOTSEC_OK && u.at.pos < stop)
        rc = store_transaction_sync(s, run_undo, &u);
    return rc;
}

static void chunk_wipe(struct import_chunk *c)
{
    secure_wipe(c->rows, c->nrows * sizeof(c->rows[0]));
    c->nrows = 0;
}

int subscriber_import_text(struct store *s, const struct seal_kek *kek, const char *text,
                           size_t len, bool csv, int64_t now, size_t *imported, size_t *bad_line,
                           char *err, size_t err_len)
{
    const struct import_text it = {kek, text, len, csv, now};
    struct import_chunk chunk[2] = {{.it = &it, .start = {.pos = text}}, {.it = &it}};
    chunk[0].rows = calloc(IMPORT_CHUNK, sizeof(struct import_row)); /* ~3 MiB each */
    chunk[1].rows = calloc(IMPORT_CHUNK, sizeof(struct import_row));
    err[0] = '\0';
    *imported = 0;
    *bad_line = 0;
    if (chunk[0].rows == NULL || chunk[1].rows == NULL) {
        free(chunk[0].rows);
        free(chunk[1].rows);
        return IOTSEC_ERR_NOMEM;
    }
    size_t total = 0;
    struct import_chunk *cur = &chunk[0], *next = &chunk[1];
    chunk_prepare(cur);
    int rc = IOTSEC_OK;
    for (;;) {
        if ((rc = cur->rc) != IOTSEC_OK)
            break;
        /* The next chunk is sealed on a thread of its own while the writer stores this one
         * (on this thread if none can be started). */
        pthread_t helper;
        bool ahead = cur->more, threaded = false;
        if (ahead) {
            next->start = cur->end;
            threaded = pthread_create(&helper, NULL, prepare_thread, next) == 0;
        }
        rc = cur->nrows > 0 ? store_chunk(s, cur) : IOTSEC_OK;
        if (threaded)
            pthread_join(helper, NULL);
        else if (ahead)
            chunk_prepare(next);
        if (rc == IOTSEC_OK)
            total += cur->nrows;
        chunk_wipe(cur);
        if (rc != IOTSEC_OK || !ahead)
            break;
        struct import_chunk *t = cur;
        cur = next;
        next = t;
    }
    if (rc != IOTSEC_OK) {
        *bad_line = cur->bad_line;
        snprintf(err, err_len, "%s", cur->err);
        if (cur->start.pos > text) {
            int undo = undo_chunks(s, &it, cur->start.pos);
            if (undo != IOTSEC_OK) /* the database failed meanwhile: say so, not the line */
                rc = undo;
        }
    }
    *imported = rc == IOTSEC_OK ? total : 0;
    chunk_wipe(cur);
    chunk_wipe(next);
    free(chunk[0].rows);
    free(chunk[1].rows);
    return rc;
}
