/* The audit queue: records wait in decision order under one mutex and are written by flush
 * jobs on the store's writer thread. A flush job takes, when it runs, every record queued so
 * far; a record added after a job started queues a new job. Since the store runs jobs in
 * submission order, the record of a decision is committed in the same group commit as any job
 * the handler submits after deciding, or an earlier one.
 *
 * The hash chain is made inside the flush job, from the chain's tail as stored: several
 * instances share one log (one PostgreSQL), and each flush first takes the log's lock (a
 * store topic row: a second instance's flush waits for the first one's commit), reads the tail
 * and chains its records after it. A job whose commit failed hands its records back (retry
 * list) unchained; the next job chains and writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "expose/nb_int.h"

struct flush_job {
    struct nb_audit *a;
    struct nb_audit_rec *recs;
    size_t n;
};

/* Rows per INSERT statement: at tens of thousands of records per second the per-statement
 * work of the writer (step, reset, journal bookkeeping) counts; 16 x 9 parameters stays far
 * below SQLite's limit. */
#define ROWS_PER_INSERT 16
#define INSERT_HEAD                                                                                \
    "INSERT INTO expose_audit (seq, time_ms, principal, action, resource,"                         \
    " reason, request_id, allow, hash) VALUES "
#define ROW  "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define ROW4 ROW ", " ROW ", " ROW ", " ROW
static const char INSERT_1[] = INSERT_HEAD ROW;
static const char INSERT_N[] = INSERT_HEAD ROW4 ", " ROW4 ", " ROW4 ", " ROW4;

static int chain_tail(struct store_conn *conn, struct audit_anchor *tail);

static void bind_row(struct store_stmt *st, int at, const struct nb_audit_rec *r)
{
    store_bind_int64(st, at + 1, (int64_t)r->r.seq);
    store_bind_int64(st, at + 2, r->r.time_ms);
    store_bind_text(st, at + 3, r->principal, -1);
    store_bind_text(st, at + 4, r->action, -1);
    store_bind_text(st, at + 5, r->resource, -1);
    store_bind_text(st, at + 6, r->reason, -1);
    store_bind_text(st, at + 7, r->request_id, -1);
    store_bind_int(st, at + 8, r->r.allow);
    store_bind_blob(st, at + 9, r->r.hash, AUDIT_HASH_LEN);
}

/* n records (1 or ROWS_PER_INSERT) with st, the INSERT of that many rows. */
static int insert_rows(struct store_conn *conn, struct store_stmt *st, const struct nb_audit_rec *r,
                       size_t n)
{
    for (size_t i = 0; i < n; i++)
        bind_row(st, (int)(9 * i), &r[i]);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(conn, s);
}

/* Every record of the job, in seq order, in as few statements as possible; the statements are
 * looked up once per job (store_stmt hashes the SQL text). */
static int insert_all(struct store_conn *conn, const struct nb_audit_rec *r, size_t n)
{
    struct store_stmt *many = NULL, *one = NULL;
    int rc = IOTSEC_OK;
    size_t i = 0;
    if (n >= ROWS_PER_INSERT)
        rc = store_stmt(conn, INSERT_N, &many);
    for (; rc == IOTSEC_OK && n - i >= ROWS_PER_INSERT; i += ROWS_PER_INSERT)
        rc = insert_rows(conn, many, r + i, ROWS_PER_INSERT);
    if (rc == IOTSEC_OK && i < n)
        rc = store_stmt(conn, INSERT_1, &one);
    for (; rc == IOTSEC_OK && i < n; i++)
        rc = insert_rows(conn, one, r + i, 1);
    return rc;
}

static int flush_run(struct store_conn *conn, void *arg)
{
    struct flush_job *j = arg;
    struct nb_audit *a = j->a;
    pthread_mutex_lock(&a->mu);
    a->flush_queued = false;
    /* retry first (older seqs), then pending */
    size_t n = a->n_retry + a->n_pending;
    j->recs = n ? malloc(n * sizeof(*j->recs)) : NULL;
    if (n && j->recs == NULL) {
        pthread_mutex_unlock(&a->mu);
        return IOTSEC_ERR_NOMEM;
    }
    if (a->n_retry)
        memcpy(j->recs, a->retry, a->n_retry * sizeof(*j->recs));
    if (a->n_pending)
        memcpy(j->recs + a->n_retry, a->pending, a->n_pending * sizeof(*j->recs));
    j->n = n;
    free(a->retry);
    a->retry = NULL;
    a->n_retry = 0;
    a->n_pending = 0;
    pthread_mutex_unlock(&a->mu);
    if (n == 0)
        return IOTSEC_OK;
    struct audit_anchor tail;
    int rc = chain_tail(conn, &tail);
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        struct nb_audit_rec *r = &j->recs[i];
        r->r.principal = r->principal; /* the copies moved: point at their own text again */
        r->r.action = r->action;
        r->r.resource = r->resource;
        r->r.reason = r->reason;
        r->r.request_id = r->request_id;
        rc = audit_append(&tail, &r->r);
    }
    return rc == IOTSEC_OK ? insert_all(conn, j->recs, j->n) : rc;
}

static void flush_done(void *arg, int rc)
{
    struct flush_job *j = arg;
    struct nb_audit *a = j->a;
    pthread_mutex_lock(&a->mu);
    if (rc != IOTSEC_OK && j->n > 0) {
        log_error("audit: %zu records not committed (%s); kept for the next flush", j->n,
                  iotsec_strerror(rc));
        struct nb_audit_rec *r = realloc(a->retry, (a->n_retry + j->n) * sizeof(*r));
        if (r) {
            memcpy(r + a->n_retry, j->recs, j->n * sizeof(*r));
            a->retry = r;
            a->n_retry += j->n;
        }
    }
    a->in_flight--;
    pthread_cond_broadcast(&a->idle);
    pthread_mutex_unlock(&a->mu);
    free(j->recs);
    free(j);
}

/* Under a->mu. */
static void queue_flush(struct nb_audit *a)
{
    if (a->flush_queued)
        return;
    struct flush_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return; /* the next record tries again */
    j->a = a;
    struct store_job job = {flush_run, flush_done, j};
    a->in_flight++;
    a->flush_queued = true;
    if (store_submit(a->store, &job) != IOTSEC_OK) {
        a->in_flight--;
        a->flush_queued = false;
        free(j);
    }
}

/* In the flush job: takes the log's lock for this transaction (the topic row: on PostgreSQL
 * another instance's flush waits for our commit; SQLite has one writer anyway), then the tail
 * as stored, which that lock keeps still until we commit. */
static int chain_tail(struct store_conn *conn, struct audit_anchor *tail)
{
    memset(tail, 0, sizeof(*tail));
    int rc = store_topic_bump(conn, NB_AUDIT_TOPIC);
    struct store_stmt *st;
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT seq, hash FROM expose_audit ORDER BY seq DESC LIMIT 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int s = store_step(st);
    if (s == STORE_ROW && store_col_bytes(st, 1) == AUDIT_HASH_LEN) {
        tail->seq = (uint64_t)store_col_int64(st, 0) + 1;
        memcpy(tail->hash, store_col_blob(st, 1), AUDIT_HASH_LEN);
    }
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(conn, s);
}

int nb_audit_init(struct nb_audit *a, struct store *s, size_t max)
{
    memset(a, 0, sizeof(*a));
    a->store = s;
    a->max = max ? max : 65536;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->idle, NULL);
    return IOTSEC_OK;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int nb_audit_add(struct nb_audit *a, int64_t time_ms, const char *principal, const char *action,
                 const char *resource, bool allow, const char *reason, const char *request_id)
{
    pthread_mutex_lock(&a->mu);
    if (a->n_pending + a->n_retry >= a->max) {
        queue_flush(a);
        pthread_mutex_unlock(&a->mu);
        return IOTSEC_ERR_BUSY;
    }
    if (a->n_pending == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct nb_audit_rec *p = realloc(a->pending, cap * sizeof(*p));
        if (p == NULL) {
            pthread_mutex_unlock(&a->mu);
            return IOTSEC_ERR_NOMEM;
        }
        a->pending = p;
        a->cap = cap;
    }
    struct nb_audit_rec *r = &a->pending[a->n_pending];
    memset(r, 0, sizeof(*r));
    copy(r->principal, sizeof(r->principal), principal);
    copy(r->action, sizeof(r->action), action);
    copy(r->resource, sizeof(r->resource), resource);
    copy(r->reason, sizeof(r->reason), reason);
    copy(r->request_id, sizeof(r->request_id), request_id);
    r->r.time_ms = time_ms;
    r->r.allow = allow;
    a->n_pending++; /* chained when written (flush_run) */
    queue_flush(a);
    pthread_mutex_unlock(&a->mu);
    return IOTSEC_OK;
}

static int barrier_run(struct store_conn *conn, void *arg)
{
    (void)conn, (void)arg;
    return IOTSEC_OK;
}

int nb_audit_barrier(struct nb_audit *a)
{
    /* a record added before us has a flush job queued ahead of this one (queue_flush), or is
     * taken by a job that has not started yet and is ahead of us too */
    return store_write_sync(a->store, barrier_run, NULL);
}

void nb_audit_fini(struct nb_audit *a)
{
    pthread_mutex_lock(&a->mu);
    for (int tries = 0; tries < 3 && (a->n_pending || a->n_retry || a->in_flight); tries++) {
        if (a->n_pending || a->n_retry)
            queue_flush(a);
        while (a->in_flight)
            pthread_cond_wait(&a->idle, &a->mu);
    }
    if (a->n_pending || a->n_retry)
        log_error("audit: %zu records could not be committed at shutdown",
                  a->n_pending + a->n_retry);
    pthread_mutex_unlock(&a->mu);
    free(a->pending);
    free(a->retry);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mu);
}
