/* The writer thread: the only user of the write connection. It sleeps while the queue is
 * empty, then takes everything queued (up to max_batch) in one go. Group commit needs no
 * timer: while one batch is being committed (the fsync), producers keep queueing, and the next
 * round takes all of them. Under light load a batch is one job and its latency is one commit;
 * under heavy load batches grow and the cost of the fsync is shared.
 *
 * Done callbacks run here, after the commit, in submission order, before the next batch. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

/* Moves the next batch from the queue to s->batch. Returns its size (0: closing and empty). A
 * bulk job (JOB_ALONE) always forms a batch by itself. */
static size_t take_batch(struct store *s, enum job_kind *kind)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    while (s->queue.count == 0 && !s->closing)
        pthread_cond_wait(&s->queue_nonempty, &s->mu);
    const struct queued_job *q = job_queue_peek(&s->queue);
    *kind = q ? q->kind : JOB_BATCHED;
    while (q != NULL && n < s->opt.max_batch && (n == 0 || q->kind == JOB_BATCHED)) {
        s->batch[n++] = (struct batch_entry){.job = q->job, .rc = IOTSEC_OK, .errmsg = NULL};
        job_queue_pop(&s->queue);
        if (*kind == JOB_ALONE)
            break;
        q = job_queue_peek(&s->queue);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void complete(struct batch_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].rc != IOTSEC_OK && e[i].errmsg != NULL)
            store_set_errmsg("%s", e[i].errmsg);
        if (e[i].job.done != NULL)
            e[i].job.done(e[i].job.arg, e[i].rc);
        free(e[i].errmsg);
        e[i].errmsg = NULL;
    }
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    enum job_kind kind;
    size_t n;
    while ((n = take_batch(s, &kind)) > 0) {
        if (kind == JOB_ALONE)
            batch_run_alone(s, &s->batch[0]);
        else
            batch_run_group(s, s->batch, n);
        complete(s->batch, n);
    }
    return NULL;
}

int writer_start(struct store *s)
{
    s->batch = calloc(s->opt.max_batch, sizeof(*s->batch));
    if (s->batch == NULL)
        return IOTSEC_ERR_NOMEM;
    if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0) {
        store_set_errmsg("store: cannot start the writer thread");
        return IOTSEC_ERR_IO;
    }
    s->writer_started = true;
    return IOTSEC_OK;
}

void writer_stop(struct store *s)
{
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->queue_nonempty);
    pthread_mutex_unlock(&s->mu);
    if (s->writer_started)
        pthread_join(s->writer_thread, NULL);
    s->writer_started = false;
}

bool writer_is_current(const struct store *s)
{
    return s->writer_started && pthread_equal(pthread_self(), s->writer_thread);
}

static int enqueue(struct store *s, const struct store_job *job, enum job_kind kind)
{
    if (s == NULL || job == NULL || job->run == NULL)
        return IOTSEC_ERR_INVALID;
    const struct queued_job q = {.job = *job, .kind = kind};
    int rc = IOTSEC_OK;
    pthread_mutex_lock(&s->mu);
    if (s->closing)
        rc = IOTSEC_ERR_STATE;
    else if (!job_queue_push(&s->queue, &q))
        rc = IOTSEC_ERR_BUSY;
    else
        pthread_cond_signal(&s->queue_nonempty);
    pthread_mutex_unlock(&s->mu);
    if (rc == IOTSEC_ERR_BUSY)
        metrics_rejected(s);
    if (rc != IOTSEC_OK)
        store_set_errmsg("store: %s", rc == IOTSEC_ERR_BUSY ? "write queue full" : "closing");
    return rc;
}

int store_submit(struct store *s, const struct store_job *job)
{
    return enqueue(s, job, JOB_BATCHED);
}

/* A caller blocked in a *_sync call, woken by its job's done callback. */
struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool finished;
    int rc;
    char errmsg[512];
    store_run_fn run;
    void *arg;
};

static int sync_run(struct store_conn *conn, void *arg)
{
    struct sync_wait *w = arg;
    return w->run(conn, w->arg);
}

static void sync_done(void *arg, int rc)
{
    struct sync_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    if (rc != IOTSEC_OK)
        strncpy(w->errmsg, store_errmsg(), sizeof(w->errmsg) - 1);
    w->finished = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu); /* w may be gone once this returns */
}

static int run_sync(struct store *s, store_run_fn run, void *arg, enum job_kind kind)
{
    if (s == NULL || run == NULL)
        return IOTSEC_ERR_INVALID;
    if (writer_is_current(s)) {
        store_set_errmsg("store: a *_sync call on the writer thread would wait for itself");
        return IOTSEC_ERR_STATE;
    }
    struct sync_wait w = {.run = run, .arg = arg};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    const struct store_job job = {.run = sync_run, .done = sync_done, .arg = &w};
    int rc = enqueue(s, &job, kind);
    if (rc == IOTSEC_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.finished)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.rc;
        if (rc != IOTSEC_OK)
            store_set_errmsg("%s", w.errmsg);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

int store_write_sync(struct store *s, store_run_fn run, void *arg)
{
    return run_sync(s, run, arg, JOB_BATCHED);
}

int store_transaction_sync(struct store *s, store_run_fn run, void *arg)
{
    return run_sync(s, run, arg, JOB_ALONE);
}
