/* The writer's queue: a ring of fixed capacity allocated once at open, so that submitting a
 * job never allocates and a full queue is a plain answer (IOTSEC_ERR_BUSY), not a growth. */
#include <stdlib.h>

#include "base/err.h"
#include "store/store_internal.h"

int job_queue_init(struct job_queue *q, size_t cap)
{
    q->ring = calloc(cap, sizeof(*q->ring));
    if (q->ring == NULL)
        return IOTSEC_ERR_NOMEM;
    q->cap = cap;
    q->head = 0;
    q->count = 0;
    return IOTSEC_OK;
}

void job_queue_free(struct job_queue *q)
{
    free(q->ring);
    q->ring = NULL;
    q->cap = q->count = q->head = 0;
}

bool job_queue_push(struct job_queue *q, const struct queued_job *job)
{
    if (q->count == q->cap)
        return false;
    q->ring[(q->head + q->count) % q->cap] = *job;
    q->count++;
    return true;
}

const struct queued_job *job_queue_peek(const struct job_queue *q)
{
    return q->count ? &q->ring[q->head] : NULL;
}

void job_queue_pop(struct job_queue *q)
{
    if (q->count == 0)
        return;
    q->head = (q->head + 1) % q->cap;
    q->count--;
}
