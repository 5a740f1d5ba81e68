/* The writer thread: group commit from many threads, a failing job alone rolled back, the
 * queue limit, draining at close, the *_sync calls, readers seeing commits. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store.h"
#include "store_test_util.h"

static int setup(void **state)
{
    static struct tmpdb t;
    tmpdb_make(&t);
    *state = &t;
    return 0;
}

static int teardown(void **state)
{
    tmpdb_remove(*state);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- Group commit from 8 threads --- */

#define GC_THREADS 8
#define GC_JOBS    2000

struct gc_job {
    struct store *store;
    struct done_counter *counter;
    int thread, seq;
    atomic_int done_calls;
    int rc;
    bool visible_at_done; /* a separate read connection saw the row when done ran */
    bool in_order;        /* done of this thread's jobs came in submission order */
};

static atomic_int gc_last_done[GC_THREADS];

static int gc_run(struct store_conn *c, void *arg)
{
    struct gc_job *j = arg;
    struct store_stmt *st;
    int err = store_stmt(c, "INSERT INTO items (thread, seq, payload) VALUES (?1, ?2, ?3)", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int(st, 1, j->thread);
    store_bind_int(st, 2, j->seq);
    store_bind_text(st, 3, "some payload of a plausible size, say a subscriber row", -1);
    int rc = store_step(st);
    if (rc != STORE_DONE)
        return store_error(c, rc);
    err = store_stmt(c, "UPDATE counters SET n = n + 1 WHERE id = ?1", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int(st, 1, j->thread);
    return store_error(c, store_step(st));
}

static void gc_done(void *arg, int rc)
{
    struct gc_job *j = arg;
    j->rc = rc;
    /* Read through a connection of its own (this thread's reader, not the writer's): it sees
     * only committed data. */
    struct store_conn *c;
    struct store_stmt *st;
    if (store_reader_get(j->store, &c) == IOTSEC_OK &&
        store_stmt(c, "SELECT 1 FROM items WHERE thread = ?1 AND seq = ?2", &st) == IOTSEC_OK) {
        store_bind_int(st, 1, j->thread);
        store_bind_int(st, 2, j->seq);
        j->visible_at_done = store_step(st) == STORE_ROW;
        store_reset(st);
    }
    j->in_order = atomic_exchange(&gc_last_done[j->thread], j->seq) == j->seq - 1;
    atomic_fetch_add(&j->done_calls, 1);
    done_counter_add(j->counter);
}

static void *gc_producer(void *arg)
{
    struct gc_job *jobs = arg;
    for (int i = 0; i < GC_JOBS; i++) {
        const struct store_job job = {.run = gc_run, .done = gc_done, .arg = &jobs[i]};
        int rc;
        while ((rc = store_submit(jobs[i].store, &job)) == IOTSEC_ERR_BUSY)
            sleep_ms(1);
        if (rc != IOTSEC_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_group_commit_many_threads(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct done_counter counter;
    done_counter_init(&counter);
    struct gc_job *jobs = calloc(GC_THREADS * GC_JOBS, sizeof(*jobs));
    assert_non_null(jobs);
    for (int th = 0; th < GC_THREADS; th++) {
        atomic_store(&gc_last_done[th], 0);
        for (int i = 0; i < GC_JOBS; i++)
            jobs[th * GC_JOBS + i] = (struct gc_job){
                .store = s, .counter = &counter, .thread = th, .seq = i + 1, .rc = 1};
    }
    pthread_t th[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, gc_producer, &jobs[i * GC_JOBS]), 0);
    for (int i = 0; i < GC_THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    done_counter_wait(&counter, GC_THREADS * GC_JOBS, 60);

    for (int i = 0; i < GC_THREADS * GC_JOBS; i++) {
        if (atomic_load(&jobs[i].done_calls) != 1 || jobs[i].rc != IOTSEC_OK ||
            !jobs[i].visible_at_done || !jobs[i].in_order)
            fail_msg("job %d/%d: done %d times, rc %d, visible %d, in order %d", jobs[i].thread,
                     jobs[i].seq, atomic_load(&jobs[i].done_calls), jobs[i].rc,
                     jobs[i].visible_at_done, jobs[i].in_order);
    }
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), GC_THREADS * GC_JOBS);
    assert_int_equal(read_int(s, "SELECT count(DISTINCT thread * 100000 + seq) FROM items"),
                     GC_THREADS * GC_JOBS);
    for (int i = 0; i < GC_THREADS; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT n FROM counters WHERE id = %d", i);
        assert_int_equal(read_int(s, sql), GC_JOBS);
    }
    struct store_metrics m;
    store_metrics_get(s, &m);
    assert_int_equal(m.jobs_committed, GC_THREADS * GC_JOBS);
    assert_int_equal(m.jobs_failed, 0);
    assert_int_equal(m.queue_depth, 0);
    assert_int_equal(m.batch_jobs_total, GC_THREADS * GC_JOBS);
    uint64_t hist = 0;
    for (int i = 0; i < STORE_BATCH_BUCKETS; i++)
        hist += m.batch_size[i];
    assert_int_equal(hist, m.batches);
    double avg = (double)m.batch_jobs_total / (double)m.batches;
    fprintf(stderr, "group commit: %llu jobs in %llu batches (avg %.1f), commit avg %.0f us\n",
            (unsigned long long)m.batch_jobs_total, (unsigned long long)m.batches, avg,
            (double)m.commit_ns_total / (double)m.batches / 1e3);
    assert_true(avg > 1.5); /* group commit actually happened */
    assert_true(m.commit_ns_max > 0);
    free(jobs);
    done_counter_destroy(&counter);
    store_close(s);
}

/* --- A failing job in a batch --- */

struct outcome {
    struct done_counter *counter;
    int rc;
    int calls;
    char errmsg[160];
};

static void outcome_done(void *arg, int rc)
{
    struct outcome *o = arg;
    o->rc = rc;
    o->calls++;
    snprintf(o->errmsg, sizeof(o->errmsg), "%s", rc ? store_errmsg() : "");
    done_counter_add(o->counter);
}

struct row_job {
    struct outcome out;
    long long ids[2];
    int n;
    int return_code; /* returned after the inserts (0: their result) */
    const char *extra_sql;
    const char *cached_sql; /* the same through store_stmt */
};

static int row_job_run(struct store_conn *c, void *arg)
{
    struct row_job *j = arg;
    for (int i = 0; i < j->n; i++) {
        int err = insert_item_job(c, &j->ids[i]);
        if (err != IOTSEC_OK)
            return err;
    }
    if (j->extra_sql != NULL) {
        int rc = store_exec(c, j->extra_sql);
        if (rc != IOTSEC_OK)
            return rc;
    }
    if (j->cached_sql != NULL) {
        struct store_stmt *st;
        int err = store_stmt(c, j->cached_sql, &st);
        if (err != IOTSEC_OK)
            return err;
        int rc = store_step(st);
        if (rc != STORE_DONE)
            return store_error(c, rc);
    }
    return j->return_code;
}

static void row_done(void *arg, int rc)
{
    outcome_done(&((struct row_job *)arg)->out, rc);
}

static void test_failing_job_alone_rolled_back(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct done_counter counter;
    done_counter_init(&counter);
    struct gate g;
    gate_init(&g);
    const struct store_job blocker = {.run = gate_job, .arg = &g};
    assert_int_equal(store_submit(s, &blocker), IOTSEC_OK);
    gate_wait_entered(&g);
    struct store_metrics before, after;
    store_metrics_get(s, &before);

    struct row_job jobs[] = {
        {.ids = {1}, .n = 1},                                     /* ok */
        {.ids = {2, 1}, .n = 2},                                  /* 2 then a duplicate 1 */
        {.ids = {3}, .n = 1},                                     /* ok */
        {.ids = {4}, .n = 1, .return_code = IOTSEC_ERR_NOTFOUND}, /* its own refusal */
        {.ids = {5}, .n = 1, .extra_sql = "COMMIT"},              /* breaks the rules */
        {.ids = {6}, .n = 1, .extra_sql = "RELEASE iotsec_job"},  /* also */
        {.ids = {7}, .n = 1, .extra_sql = "SAVEPOINT mine; ROLLBACK TO mine; RELEASE mine"},
        {.ids = {8}, .n = 1, .return_code = STORE_DONE}, /* not an iotsec code */
        {.ids = {9}, .n = 1, .cached_sql = "COMMIT"},
        {.ids = {10}, .n = 1, .cached_sql = "RELEASE iotsec_job"},
    };
    const size_t n = sizeof(jobs) / sizeof(jobs[0]);
    for (size_t i = 0; i < n; i++) {
        jobs[i].out.counter = &counter;
        const struct store_job job = {.run = row_job_run, .done = row_done, .arg = &jobs[i]};
        assert_int_equal(store_submit(s, &job), IOTSEC_OK);
    }
    gate_open(&g);
    done_counter_wait(&counter, n, 10);

    assert_int_equal(jobs[0].out.rc, IOTSEC_OK);
    assert_int_equal(jobs[1].out.rc, IOTSEC_ERR_CONFLICT);
    assert_non_null(
        strstr(jobs[1].out.errmsg, t->pg ? "duplicate key" : "UNIQUE constraint failed"));
    assert_int_equal(jobs[2].out.rc, IOTSEC_OK);
    assert_int_equal(jobs[3].out.rc, IOTSEC_ERR_NOTFOUND);
    assert_int_not_equal(jobs[4].out.rc, IOTSEC_OK);
    assert_non_null(strstr(jobs[4].out.errmsg, "not authorized"));
    assert_int_not_equal(jobs[5].out.rc, IOTSEC_OK);
    assert_int_equal(jobs[6].out.rc, IOTSEC_OK); /* its own savepoints are fine */
    assert_int_equal(jobs[7].out.rc, IOTSEC_ERR_IO);
    assert_int_equal(jobs[8].out.rc, IOTSEC_ERR_IO);
    assert_int_equal(jobs[9].out.rc, IOTSEC_ERR_IO);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(jobs[i].out.calls, 1);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), 3);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items WHERE id IN (1, 3, 7)"), 3);

    store_metrics_get(s, &after);
    assert_int_equal(after.batches - before.batches, 2); /* the blocker's, then all ten */
    assert_int_equal(after.jobs_failed - before.jobs_failed, 7);
    assert_int_equal(after.batch_size[3] - before.batch_size[3], 1); /* 10 is in [8, 16) */
    gate_destroy(&g);
    done_counter_destroy(&counter);
    store_close(s);
}

/* An interrupted write makes SQLite roll back the whole transaction, not only the statement:
 * the jobs before it in the batch lost their writes and must be told; the jobs after it run
 * in a new transaction. */
static int interrupt_always(void *arg)
{
    (void)arg;
    return 1;
}

/* PostgreSQL: the session ends under the job (what a server restart or a failover does). */
static int connection_lost_run(struct store_conn *c, void *arg)
{
    int rc = row_job_run(c, arg);
    if (rc == IOTSEC_OK)
        rc = store_exec(c, "SELECT pg_terminate_backend(pg_backend_pid())");
    return rc;
}

static int interrupted_run(struct store_conn *c, void *arg)
{
    if (store_conn_engine(c) == STORE_ENGINE_POSTGRESQL)
        return connection_lost_run(c, arg);
    sqlite3_progress_handler(sqlite_conn_of(c)->db, 1, interrupt_always, NULL);
    int rc = row_job_run(c, arg);
    sqlite3_progress_handler(sqlite_conn_of(c)->db, 0, NULL, NULL);
    return rc;
}

static void test_transaction_lost_mid_batch(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct done_counter counter;
    done_counter_init(&counter);
    struct gate g;
    gate_init(&g);
    const struct store_job blocker = {.run = gate_job, .arg = &g};
    assert_int_equal(store_submit(s, &blocker), IOTSEC_OK);
    gate_wait_entered(&g);
    struct row_job jobs[] = {{.ids = {11}, .n = 1}, {.ids = {12}, .n = 1}, {.ids = {13}, .n = 1}};
    for (size_t i = 0; i < 3; i++) {
        jobs[i].out.counter = &counter;
        const struct store_job job = {
            .run = i == 1 ? interrupted_run : row_job_run, .done = row_done, .arg = &jobs[i]};
        assert_int_equal(store_submit(s, &job), IOTSEC_OK);
    }
    gate_open(&g);
    done_counter_wait(&counter, 3, 10);
    if (t->pg) {
        /* A lost connection is "try again" (503 + Retry-After) for every job whose writes went
         * with it; the next batch reconnects. */
        assert_int_equal(jobs[0].out.rc, IOTSEC_ERR_BUSY);
        assert_int_equal(jobs[1].out.rc, IOTSEC_ERR_BUSY);
        assert_non_null(strstr(jobs[1].out.errmsg, "terminat"));
    } else {
        assert_int_equal(jobs[0].out.rc, IOTSEC_ERR_IO);
        assert_non_null(strstr(jobs[0].out.errmsg, "rolled back"));
        assert_int_equal(jobs[1].out.rc, IOTSEC_ERR_IO);
        assert_non_null(strstr(jobs[1].out.errmsg, "interrupt"));
    }
    assert_int_equal(jobs[2].out.rc, IOTSEC_OK);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), 1);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items WHERE id = 13"), 1);
    /* And the writer goes on normally. */
    long long id = 14;
    assert_int_equal(store_write_sync(s, insert_item_job, &id), IOTSEC_OK);
    gate_destroy(&g);
    done_counter_destroy(&counter);
    store_close(s);
}

/* --- The queue limit --- */

static void count_done(void *arg, int rc)
{
    struct outcome *o = arg;
    outcome_done(o, rc);
}

static int nothing_job(struct store_conn *c, void *arg)
{
    (void)c, (void)arg;
    return IOTSEC_OK;
}

static void test_queue_limit_busy(void **state)
{
    struct tmpdb *t = *state;
    struct store_options o;
    store_options_init(&o);
    o.queue_limit = 8;
    struct store *s = open_test_store(t->path, &o);
    struct done_counter counter;
    done_counter_init(&counter);
    struct gate g;
    gate_init(&g);
    const struct store_job blocker = {.run = gate_job, .arg = &g};
    assert_int_equal(store_submit(s, &blocker), IOTSEC_OK);
    gate_wait_entered(&g); /* the writer holds it: the queue is empty again */
    struct outcome out[9] = {{0}};
    for (int i = 0; i < 9; i++) {
        out[i].counter = &counter;
        const struct store_job job = {.run = nothing_job, .done = count_done, .arg = &out[i]};
        assert_int_equal(store_submit(s, &job), i < 8 ? IOTSEC_OK : IOTSEC_ERR_BUSY);
    }
    assert_int_equal(store_write_sync(s, nothing_job, NULL), IOTSEC_ERR_BUSY);
    struct store_metrics m;
    store_metrics_get(s, &m);
    assert_int_equal(m.queue_depth, 8);
    assert_int_equal(m.queue_limit, 8);
    assert_int_equal(m.jobs_rejected, 2);
    gate_open(&g);
    done_counter_wait(&counter, 8, 10);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i].calls, 1);
    assert_int_equal(out[8].calls, 0); /* refused: never called */
    /* Room again. */
    assert_int_equal(store_write_sync(s, nothing_job, NULL), IOTSEC_OK);
    gate_destroy(&g);
    done_counter_destroy(&counter);
    store_close(s);
}

/* --- Close drains the queue --- */

#define DRAIN_JOBS 300

struct drain_job {
    struct store *store;
    long long id;
    int rc, calls, resubmit_rc;
};

static void drain_done(void *arg, int rc)
{
    struct drain_job *j = arg;
    j->rc = rc;
    j->calls++;
    /* The store is closing: new work is refused, not lost silently. */
    const struct store_job again = {.run = nothing_job};
    j->resubmit_rc = store_submit(j->store, &again);
}

static int drain_run(struct store_conn *c, void *arg)
{
    return insert_item_job(c, &((struct drain_job *)arg)->id);
}

struct closer_watch {
    struct store *store;
    struct gate *gate;
};

/* Opens the gate once the store refuses new jobs, i.e. once store_close has begun. */
static void *open_gate_when_closing(void *arg)
{
    struct closer_watch *w = arg;
    const struct store_job probe = {.run = nothing_job};
    while (store_submit(w->store, &probe) != IOTSEC_ERR_STATE)
        sleep_ms(1); /* the accepted probes are drained too */
    gate_open(w->gate);
    return NULL;
}

static void test_close_drains_queue(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct gate g;
    gate_init(&g);
    const struct store_job blocker = {.run = gate_job, .arg = &g};
    assert_int_equal(store_submit(s, &blocker), IOTSEC_OK);
    gate_wait_entered(&g);
    static struct drain_job jobs[DRAIN_JOBS];
    for (int i = 0; i < DRAIN_JOBS; i++) {
        jobs[i] = (struct drain_job){.store = s, .id = i + 1, .resubmit_rc = 1};
        const struct store_job job = {.run = drain_run, .done = drain_done, .arg = &jobs[i]};
        assert_int_equal(store_submit(s, &job), IOTSEC_OK);
    }
    pthread_t th;
    struct closer_watch watch = {s, &g};
    assert_int_equal(pthread_create(&th, NULL, open_gate_when_closing, &watch), 0);
    store_close(s); /* returns once every queued job has completed */
    pthread_join(th, NULL);
    for (int i = 0; i < DRAIN_JOBS; i++) {
        assert_int_equal(jobs[i].calls, 1);
        assert_int_equal(jobs[i].rc, IOTSEC_OK);
        assert_int_equal(jobs[i].resubmit_rc, IOTSEC_ERR_STATE);
    }
    s = open_test_store(t->path, NULL);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), DRAIN_JOBS);
    store_close(s);
    gate_destroy(&g);
}

/* --- The *_sync calls --- */

struct nested {
    struct store *store;
    int inner_rc;
};

static int nested_run(struct store_conn *c, void *arg)
{
    struct nested *n = arg;
    (void)c;
    n->inner_rc = store_write_sync(n->store, nothing_job, NULL); /* must not deadlock */
    return IOTSEC_OK;
}

static void nested_done(void *arg, int rc)
{
    struct nested *n = arg;
    (void)rc;
    n->inner_rc = store_transaction_sync(n->store, nothing_job, NULL);
    store_close(n->store); /* refused here: it would join its own thread */
}

struct bulk {
    int rows;
    int fail_at_end;
};

static int bulk_run(struct store_conn *c, void *arg)
{
    struct bulk *b = arg;
    struct store_stmt *st;
    int err = store_stmt(c, "INSERT INTO items (id, payload) VALUES (?1, 'bulk')", &st);
    for (int i = 1; err == IOTSEC_OK && i <= b->rows; i++) {
        store_bind_int(st, 1, i);
        err = store_error(c, store_step(st));
        store_reset(st);
    }
    return err == IOTSEC_OK && b->fail_at_end ? IOTSEC_ERR_INVALID : err;
}

/* A bulk job reads its own writes (on PostgreSQL the pipelined inserts are answered first). */
static int bulk_then_read_run(struct store_conn *c, void *arg)
{
    long long *seen = arg;
    struct store_stmt *st;
    int err = store_stmt(c, "INSERT INTO items (id, payload) VALUES (?1, 'read-back')", &st);
    for (int i = 100001; err == IOTSEC_OK && i <= 101300; i++) {
        store_bind_int(st, 1, i);
        err = store_error(c, store_step(st));
        store_reset(st);
    }
    if (err == IOTSEC_OK)
        err = store_stmt(c, "SELECT count(*) FROM items WHERE payload = 'read-back'", &st);
    if (err == IOTSEC_OK && store_step(st) == STORE_ROW)
        *seen = store_col_int64(st, 0);
    store_reset(st);
    return err;
}

static void test_sync_calls(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct nested n = {.store = s, .inner_rc = 1};
    assert_int_equal(store_write_sync(s, nested_run, &n), IOTSEC_OK);
    assert_int_equal(n.inner_rc, IOTSEC_ERR_STATE);
    n.inner_rc = 1;
    struct done_counter counter;
    done_counter_init(&counter);
    const struct store_job job = {.run = nothing_job, .done = nested_done, .arg = &n};
    assert_int_equal(store_submit(s, &job), IOTSEC_OK);
    assert_int_equal(store_write_sync(s, nothing_job, NULL), IOTSEC_OK); /* after job's done */
    assert_int_equal(n.inner_rc, IOTSEC_ERR_STATE);
    done_counter_destroy(&counter);

    /* Bulk: all or nothing. */
    struct bulk b = {.rows = 5000, .fail_at_end = 1};
    assert_int_equal(store_transaction_sync(s, bulk_run, &b), IOTSEC_ERR_INVALID);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), 0);
    b.fail_at_end = 0;
    struct store_metrics m0, m1;
    store_metrics_get(s, &m0);
    assert_int_equal(store_transaction_sync(s, bulk_run, &b), IOTSEC_OK);
    store_metrics_get(s, &m1);
    assert_int_equal(m1.batches - m0.batches, 1);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), 5000);
    assert_int_equal(store_transaction_sync(s, bulk_run, &b), IOTSEC_ERR_CONFLICT);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items WHERE payload = 'bulk'"), 5000);
    assert_int_equal(store_transaction_sync(s, NULL, NULL), IOTSEC_ERR_INVALID);
    long long seen = 0;
    assert_int_equal(store_transaction_sync(s, bulk_then_read_run, &seen), IOTSEC_OK);
    assert_int_equal(seen, 1300);
    /* and the writer goes on with ordinary jobs */
    long long id = 200000;
    assert_int_equal(store_write_sync(s, insert_item_job, &id), IOTSEC_OK);
    assert_int_equal(read_int(s, "SELECT count(*) FROM items"), 6301);
    store_close(s);
}

/* --- Readers see what other threads committed --- */

#define READ_ROUNDS 300

struct set_value {
    long long v;
};

static int set_counter(struct store_conn *c, void *arg)
{
    struct store_stmt *st;
    int err = store_stmt(c, "UPDATE counters SET n = ?1 WHERE id = 0", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int64(st, 1, ((struct set_value *)arg)->v);
    return store_error(c, store_step(st));
}

static void *reader_thread(void *arg)
{
    struct store *s = arg;
    long long last = 0;
    for (int spins = 0; spins < 5000000 && last < READ_ROUNDS; spins++) {
        struct store_conn *c;
        struct store_stmt *st;
        if (store_reader_get(s, &c) != IOTSEC_OK ||
            store_stmt(c, "SELECT n FROM counters WHERE id = 0", &st) != IOTSEC_OK ||
            store_step(st) != STORE_ROW)
            return (void *)1;
        long long v = store_col_int64(st, 0);
        store_reset(st);
        if (v < last)
            return (void *)2; /* went back in time */
        last = v;
    }
    return last == READ_ROUNDS ? NULL : (void *)3;
}

static void test_readers_see_commits(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_thread, s), 0);
    for (long long i = 1; i <= READ_ROUNDS; i++) {
        struct set_value v = {i};
        assert_int_equal(store_write_sync(s, set_counter, &v), IOTSEC_OK);
        /* Committed means visible at once to any other connection. */
        assert_int_equal(read_int(s, "SELECT n FROM counters WHERE id = 0"), i);
    }
    void *ret;
    pthread_join(th, &ret);
    assert_null(ret);
    store_close(s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_group_commit_many_threads),  T(test_failing_job_alone_rolled_back),
        T(test_transaction_lost_mid_batch), T(test_queue_limit_busy),
        T(test_close_drains_queue),         T(test_sync_calls),
        T(test_readers_see_commits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
