/* Forming batches of group messages (docs/group.md, alg 2): messages queued for one group are
 * protected together, under one signature, when GROUP_BATCH_MAX (or the batcher's max) are
 * queued or when the oldest has waited max_wait_us, whichever comes first; a lone message is a
 * batch of one. The batcher is not locked: its owner serialises add, poll and flush (for
 * instance under the group service's lock, as for group_protect). */
#ifndef IOTSEC_GROUP_BATCHER_H
#define IOTSEC_GROUP_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "group/group.h"

/* Called once per queued message at its batch's flush: rc IOTSEC_OK with the protected bytes
 * (valid during the call), or the batch's error (msg NULL). */
typedef void (*group_batch_emit)(void *ctx, void *cookie, int rc, const uint8_t *msg, size_t len);

struct group_batcher;

/* max in 1..GROUP_BATCH_MAX; g and sk are borrowed and must outlive the batcher. */
int group_batcher_new(struct group *g, const struct prov_sign_key *sk, uint16_t max,
                      int64_t max_wait_us, group_batch_emit emit, void *ctx,
                      struct group_batcher **out);
/* Flushes what is queued, then frees. */
void group_batcher_free(struct group_batcher *b);

/* Queues a copy of pt (GROUP_ERR_TOO_LARGE over GROUP_MAX_PAYLOAD); flushes when the batch
 * is full. Returns the flush's error, if one ran (every message of it was emitted). */
int group_batcher_add(struct group_batcher *b, uint32_t sender, const uint8_t *pt, size_t pt_len,
                      void *cookie, int64_t now_us);

/* Flushes when the oldest queued message has waited max_wait_us. *next_us: microseconds until
 * the next deadline, or -1 with nothing queued. */
int group_batcher_poll(struct group_batcher *b, int64_t now_us, int64_t *next_us);

/* Protects and emits every queued message now (nothing queued: IOTSEC_OK). */
int group_batcher_flush(struct group_batcher *b);

size_t group_batcher_queued(const struct group_batcher *b);

#endif
