/* Counters of the writer, read by /metrics. The writer updates them once per transaction
 * under a lock of their own, so a reader gets a consistent snapshot and producers, who take
 * the queue lock, never wait for it. */
#include <time.h>

#include "store/store_internal.h"

uint64_t store_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned size_bucket(size_t n)
{
    unsigned b = 0;
    while (n > 1 && b < STORE_BATCH_BUCKETS - 1) {
        n >>= 1;
        b++;
    }
    return b;
}

void metrics_batch_done(struct store *s, size_t committed, size_t failed, bool commit_ok,
                        uint64_t commit_ns)
{
    pthread_mutex_lock(&s->stats_mu);
    struct store_metrics *m = &s->stats;
    m->jobs_committed += committed;
    m->jobs_failed += failed;
    if (commit_ok) {
        m->batches++;
        m->batch_jobs_total += committed + failed;
        m->batch_size[size_bucket(committed + failed)]++;
        m->commit_ns_total += commit_ns;
        if (commit_ns > m->commit_ns_max)
            m->commit_ns_max = commit_ns;
    } else {
        m->batches_failed++;
    }
    pthread_mutex_unlock(&s->stats_mu);
}

void metrics_rejected(struct store *s)
{
    pthread_mutex_lock(&s->stats_mu);
    s->stats.jobs_rejected++;
    pthread_mutex_unlock(&s->stats_mu);
}

void store_metrics_get(struct store *s, struct store_metrics *m)
{
    if (s == NULL || m == NULL)
        return;
    pthread_mutex_lock(&s->stats_mu);
    *m = s->stats;
    pthread_mutex_unlock(&s->stats_mu);
    pthread_mutex_lock(&s->mu);
    m->queue_depth = s->queue.count;
    m->queue_limit = s->queue.cap;
    pthread_mutex_unlock(&s->mu);
}
