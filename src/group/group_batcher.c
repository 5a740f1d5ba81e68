/* Batches of group messages: queue, then one group_protect_batch per flush. */
#include "group/group_batcher.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"

struct group_batcher {
    struct group *g;
    const struct prov_sign_key *sk;
    uint16_t max;
    int64_t max_wait_us;
    group_batch_emit emit;
    void *ctx;
    uint16_t n;
    int64_t first_us; /* when the oldest queued message came */
    struct {
        uint32_t sender;
        size_t off, len; /* its plaintext in pt */
        void *cookie;
    } q[GROUP_BATCH_MAX];
    uint8_t *pt; /* the queued plaintexts, back to back */
    size_t pt_len, pt_cap;
    uint8_t *out; /* the protected messages of a flush */
    size_t out_cap;
};

int group_batcher_new(struct group *g, const struct prov_sign_key *sk, uint16_t max,
                      int64_t max_wait_us, group_batch_emit emit, void *ctx,
                      struct group_batcher **out)
{
    if (max == 0 || max > GROUP_BATCH_MAX || max_wait_us < 0 || emit == NULL)
        return IOTSEC_ERR_INVALID;
    struct group_batcher *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return IOTSEC_ERR_NOMEM;
    *b = (struct group_batcher){
        .g = g, .sk = sk, .max = max, .max_wait_us = max_wait_us, .emit = emit, .ctx = ctx};
    *out = b;
    return IOTSEC_OK;
}

void group_batcher_free(struct group_batcher *b)
{
    if (b == NULL)
        return;
    group_batcher_flush(b);
    secure_wipe(b->pt, b->pt_cap); /* plaintexts: wipe before free */
    free(b->pt);
    free(b->out);
    free(b);
}

size_t group_batcher_queued(const struct group_batcher *b)
{
    return b->n;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return IOTSEC_OK;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    uint8_t *n = malloc(c);
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    if (*p != NULL) {
        memcpy(n, *p, *cap);
        secure_wipe(*p, *cap);
        free(*p);
    }
    *p = n;
    *cap = c;
    return IOTSEC_OK;
}

int group_batcher_flush(struct group_batcher *b)
{
    if (b->n == 0)
        return IOTSEC_OK;
    struct group_send m[GROUP_BATCH_MAX];
    int rc = grow(&b->out, &b->out_cap, b->pt_len + (size_t)b->n * GROUP_MSG_BATCH_OVERHEAD_MAX);
    size_t off = 0;
    for (uint16_t i = 0; rc == IOTSEC_OK && i < b->n; i++) {
        size_t room = b->q[i].len + GROUP_MSG_BATCH_OVERHEAD_MAX;
        m[i] = (struct group_send){.sender = b->q[i].sender,
                                   .pt = b->pt + b->q[i].off,
                                   .pt_len = b->q[i].len,
                                   .out = b->out + off,
                                   .out_max = room};
        off += room;
    }
    if (rc == IOTSEC_OK)
        rc = group_protect_batch(b->g, b->sk, m, b->n);
    uint16_t n = b->n;
    b->n = 0; /* emptied before the callbacks, which may queue again */
    secure_wipe(b->pt, b->pt_len);
    b->pt_len = 0;
    for (uint16_t i = 0; i < n; i++)
        b->emit(b->ctx, b->q[i].cookie, rc, rc == IOTSEC_OK ? m[i].out : NULL,
                rc == IOTSEC_OK ? m[i].out_len : 0);
    return rc;
}

int group_batcher_add(struct group_batcher *b, uint32_t sender, const uint8_t *pt, size_t pt_len,
                      void *cookie, int64_t now_us)
{
    if (pt_len > GROUP_MAX_PAYLOAD)
        return GROUP_ERR_TOO_LARGE;
    int rc = grow(&b->pt, &b->pt_cap, b->pt_len + pt_len);
    if (rc != IOTSEC_OK)
        return rc;
    if (pt_len > 0)
        memcpy(b->pt + b->pt_len, pt, pt_len);
    if (b->n == 0)
        b->first_us = now_us;
    b->q[b->n].sender = sender;
    b->q[b->n].off = b->pt_len;
    b->q[b->n].len = pt_len;
    b->q[b->n].cookie = cookie;
    b->n++;
    b->pt_len += pt_len;
    return b->n >= b->max ? group_batcher_flush(b) : IOTSEC_OK;
}

int group_batcher_poll(struct group_batcher *b, int64_t now_us, int64_t *next_us)
{
    int rc = IOTSEC_OK;
    if (b->n > 0 && now_us - b->first_us >= b->max_wait_us)
        rc = group_batcher_flush(b);
    *next_us = b->n == 0 ? -1 : b->first_us + b->max_wait_us - now_us;
    return rc;
}
