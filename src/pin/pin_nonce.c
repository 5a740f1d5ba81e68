/* Single-use server nonces of the PIN device operations: a bounded open-addressing table
 * (linear probing, tombstones) behind one mutex. Nonces are random, so their first bytes are
 * the hash. Taken nonces and expired ones become tombstones; the table is rebuilt when
 * tombstones fill it, so a probe stays short. Per instance: a client takes a nonce from the
 * instance it then sends its request to (one connection). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "pin/pin.h"

struct slot {
    uint8_t nonce[PIN_NONCE_LEN];
    int64_t expires_ms; /* 0: empty; -1: tombstone */
};

struct pin_nonces {
    pthread_mutex_t mu;
    struct slot *slots;
    size_t cap, max, live, used; /* used: live + tombstones */
    int64_t ttl_ms;
    int64_t rebuilt_ms; /* a full table of live nonces rebuilds at most once a second */
};

int pin_nonces_new(size_t max, int64_t ttl_ms, struct pin_nonces **out)
{
    *out = NULL;
    if (max == 0 || ttl_ms <= 0)
        return IOTSEC_ERR_INVALID;
    struct pin_nonces *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    n->cap = 4;
    while (n->cap < 2 * max)
        n->cap <<= 1;
    n->slots = calloc(n->cap, sizeof(*n->slots));
    if (n->slots == NULL) {
        free(n);
        return IOTSEC_ERR_NOMEM;
    }
    n->max = max;
    n->ttl_ms = ttl_ms;
    pthread_mutex_init(&n->mu, NULL);
    *out = n;
    return IOTSEC_OK;
}

void pin_nonces_free(struct pin_nonces *n)
{
    if (n == NULL)
        return;
    pthread_mutex_destroy(&n->mu);
    free(n->slots);
    free(n);
}

static size_t home(const struct pin_nonces *n, const uint8_t *nonce)
{
    uint64_t h;
    memcpy(&h, nonce, sizeof(h));
    return (size_t)h & (n->cap - 1);
}

/* Drops tombstones and expired nonces (under the lock). */
static void rebuild(struct pin_nonces *n, int64_t now_ms)
{
    struct slot *old = n->slots;
    struct slot *fresh = calloc(n->cap, sizeof(*fresh));
    if (fresh == NULL)
        return; /* keep the old table: a full table answers BUSY, nothing breaks */
    n->slots = fresh;
    n->live = n->used = 0;
    for (size_t i = 0; i < n->cap; i++) {
        if (old[i].expires_ms <= now_ms) /* empty, tombstone or expired */
            continue;
        size_t j = home(n, old[i].nonce);
        while (n->slots[j].expires_ms != 0)
            j = (j + 1) & (n->cap - 1);
        n->slots[j] = old[i];
        n->live++;
        n->used++;
    }
    secure_wipe(old, n->cap * sizeof(*old));
    free(old);
}

int pin_nonce_issue(struct pin_nonces *n, int64_t now_ms, uint8_t out[PIN_NONCE_LEN])
{
    if (crypto_random(out, PIN_NONCE_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    pthread_mutex_lock(&n->mu);
    if (n->used >= n->cap * 3 / 4 || (n->live >= n->max && now_ms - n->rebuilt_ms >= 1000)) {
        rebuild(n, now_ms);
        n->rebuilt_ms = now_ms;
    }
    int rc = IOTSEC_ERR_BUSY;
    if (n->live < n->max && n->used < n->cap * 3 / 4) {
        size_t j = home(n, out);
        while (n->slots[j].expires_ms > 0)
            j = (j + 1) & (n->cap - 1);
        if (n->slots[j].expires_ms == 0)
            n->used++;
        memcpy(n->slots[j].nonce, out, PIN_NONCE_LEN);
        n->slots[j].expires_ms = now_ms + n->ttl_ms;
        n->live++;
        rc = IOTSEC_OK;
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int pin_nonce_take(struct pin_nonces *n, int64_t now_ms, const uint8_t nonce[PIN_NONCE_LEN])
{
    int rc = IOTSEC_ERR_AUTH;
    pthread_mutex_lock(&n->mu);
    for (size_t j = home(n, nonce), k = 0; k < n->cap && n->slots[j].expires_ms != 0;
         j = (j + 1) & (n->cap - 1), k++) {
        struct slot *s = &n->slots[j];
        if (s->expires_ms > 0 && ct_equal(s->nonce, nonce, PIN_NONCE_LEN)) {
            rc = s->expires_ms > now_ms ? IOTSEC_OK : IOTSEC_ERR_AUTH;
            s->expires_ms = -1; /* used or expired: never again */
            n->live--;
            break;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

size_t pin_nonces_outstanding(struct pin_nonces *n)
{
    pthread_mutex_lock(&n->mu);
    size_t v = n->live;
    pthread_mutex_unlock(&n->mu);
    return v;
}
