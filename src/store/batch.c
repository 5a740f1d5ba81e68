/* Group commit: the jobs the writer took run in one transaction, each inside its own
 * SAVEPOINT, and one COMMIT (one fsync of the WAL) makes all of them durable. A job that
 * fails is rolled back to its savepoint alone; the others still commit. If the COMMIT fails,
 * nothing of the batch was kept and every job gets the error.
 *
 * Some engine errors (SQLite: I/O, disk full, out of memory; PostgreSQL: a lost connection)
 * end the whole transaction by themselves. The writer notices (the connection is no longer in
 * a transaction), fails the jobs of that transaction whose writes were lost, and runs the rest
 * in a new one.
 *
 * This file only runs jobs and records their outcome; done callbacks are the writer loop's. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

static void entry_fail(struct batch_entry *e, int rc)
{
    e->rc = rc;
    free(e->errmsg);
    if (store_errmsg()[0] == '\0')
        store_set_errmsg("store: job failed: %s", iotsec_strerror(rc));
    e->errmsg = strdup(store_errmsg()); /* NULL on ENOMEM: done then sees a stale message */
}

/* Lost with the transaction: set every entry of e[0, n) that looked fine to err. */
static void fail_succeeded(struct batch_entry *e, size_t n, int err)
{
    char why[512];
    memcpy(why, store_errmsg(), sizeof(why));
    for (size_t i = 0; i < n; i++) {
        if (e[i].rc == IOTSEC_OK) {
            store_set_errmsg("%s", why);
            entry_fail(&e[i], err);
        }
    }
}

static int run_job(struct store_conn *w, const struct store_job *job)
{
    store_set_errmsg("%s", "");
    w->in_job = true;
    int rc = job->run(w, job->arg);
    w->in_job = false;
    if (rc > 0) { /* most likely a step result returned as is: still a failure */
        store_set_errmsg("store: job returned %d, not an iotsec error code", rc);
        rc = IOTSEC_ERR_IO;
    }
    /* A statement left mid-step would make RELEASE or COMMIT fail (SQLite: SQLITE_BUSY). */
    stmt_cache_reset_all(&w->cache);
    return rc;
}

static void run_in_savepoint(struct store_conn *w, struct batch_entry *e)
{
    e->rc = IOTSEC_OK;
    int rc = conn_control(w, CTL_SAVEPOINT);
    if (rc == IOTSEC_OK) {
        rc = run_job(w, &e->job);
        if (rc == IOTSEC_OK)
            rc = conn_control(w, CTL_RELEASE);
    }
    if (rc == IOTSEC_OK)
        return;
    entry_fail(e, rc);
    if (conn_in_transaction(w)) {
        /* ROLLBACK TO keeps the savepoint open; RELEASE then drops it, empty. */
        conn_control(w, CTL_ROLLBACK_TO);
        conn_control(w, CTL_RELEASE);
    }
}

/* COMMIT, or ROLLBACK if it failed; returns the COMMIT's result and its duration. */
static int commit(struct store_conn *w, uint64_t *ns)
{
    uint64_t t0 = store_now_ns();
    int err = conn_control(w, CTL_COMMIT);
    *ns = store_now_ns() - t0;
    if (err != IOTSEC_OK && conn_in_transaction(w))
        conn_control(w, CTL_ROLLBACK);
    return err;
}

static size_t count_ok(const struct batch_entry *e, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += e[i].rc == IOTSEC_OK;
    return ok;
}

/* Runs e[0, n) in one transaction. Returns how many entries it consumed: n, or fewer when a
 * job's failure ended the transaction (the caller runs the rest in another). */
static size_t group_transaction(struct store *s, struct batch_entry *e, size_t n)
{
    struct store_conn *w = s->writer;
    int err = conn_control(w, CTL_BEGIN);
    if (err != IOTSEC_OK) {
        for (size_t i = 0; i < n; i++)
            entry_fail(&e[i], err);
        metrics_batch_done(s, 0, n, false, 0);
        return n;
    }
    size_t used = 0;
    while (used < n) {
        run_in_savepoint(w, &e[used++]);
        if (!conn_in_transaction(w))
            break; /* the engine rolled the whole transaction back */
    }
    uint64_t ns = 0;
    if (!conn_in_transaction(w)) {
        store_set_errmsg("store: transaction rolled back by the database after a failed job");
        /* A lost connection (BUSY) is worth retrying for the jobs that went with it too. */
        err = e[used - 1].rc == IOTSEC_ERR_BUSY ? IOTSEC_ERR_BUSY : IOTSEC_ERR_IO;
    } else {
        err = commit(w, &ns);
    }
    if (err != IOTSEC_OK)
        fail_succeeded(e, used, err);
    size_t ok = count_ok(e, used);
    metrics_batch_done(s, ok, used - ok, err == IOTSEC_OK, ns);
    return used;
}

void batch_run_group(struct store *s, struct batch_entry *e, size_t n)
{
    size_t done = 0;
    while (done < n)
        done += group_transaction(s, e + done, n - done);
}

static void alone_transaction(struct store *s, struct batch_entry *e)
{
    struct store_conn *w = s->writer;
    e->rc = IOTSEC_OK;
    int err = conn_control(w, CTL_BEGIN);
    if (err != IOTSEC_OK) {
        entry_fail(e, err);
        metrics_batch_done(s, 0, 1, false, 0);
        return;
    }
    err = run_job(w, &e->job);
    uint64_t ns = 0;
    if (err == IOTSEC_OK && !conn_in_transaction(w)) {
        store_set_errmsg("store: transaction rolled back by the database");
        err = IOTSEC_ERR_IO;
    }
    if (err == IOTSEC_OK) {
        err = commit(w, &ns);
    } else {
        entry_fail(e, err); /* keep the job's message before ROLLBACK can replace it */
        if (conn_in_transaction(w))
            conn_control(w, CTL_ROLLBACK);
    }
    if (err != IOTSEC_OK && e->rc == IOTSEC_OK)
        entry_fail(e, err);
    metrics_batch_done(s, err == IOTSEC_OK, err != IOTSEC_OK, err == IOTSEC_OK, ns);
}

void batch_run_alone(struct store *s, struct batch_entry *e)
{
    /* A larger cache only for the bulk transaction (an optimisation: failing to set it is not
     * an error); setting it back frees the extra pages. */
    conn_set_cache_size(s->writer, s->opt.bulk_cache_size_kib);
    s->writer->bulk = true;
    alone_transaction(s, e);
    s->writer->bulk = false;
    conn_set_cache_size(s->writer, s->opt.cache_size_kib);
}
