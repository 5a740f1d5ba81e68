/* The device face's in-memory limits: outstanding nonces (single use, short-lived, at most
 * max of them) and per-enrollment token buckets. Both fixed-size, one mutex each. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "provision/prov_int.h"

struct nonce_slot {
    uint8_t n[PROV_NONCE_LEN];
    int64_t expires; /* 0: free */
};

/* Open addressing on the nonce's first bytes (they are random), linear probing, table
 * twice the limit so probes stay short; deletion by backward shift keeps probing correct. */
struct prov_nonces {
    pthread_mutex_t mu;
    size_t max, count, cap;
    struct nonce_slot *slots;
};

struct prov_nonces *prov_nonces_new(size_t max)
{
    struct prov_nonces *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->max = max;
    t->cap = 2 * max + 1;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void prov_nonces_free(struct prov_nonces *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

static size_t home(const struct prov_nonces *t, const uint8_t *n)
{
    uint64_t h;
    memcpy(&h, n, sizeof(h));
    return (size_t)(h % t->cap);
}

static size_t find(const struct prov_nonces *t, const uint8_t *n)
{
    for (size_t i = home(t, n);; i = (i + 1) % t->cap) {
        if (t->slots[i].expires == 0)
            return SIZE_MAX;
        if (ct_equal(t->slots[i].n, n, PROV_NONCE_LEN))
            return i;
    }
}

static void remove_at(struct prov_nonces *t, size_t i)
{
    t->slots[i].expires = 0;
    t->count--;
    /* Backward-shift: move later entries of the cluster into the hole when allowed. */
    for (size_t j = (i + 1) % t->cap; t->slots[j].expires != 0; j = (j + 1) % t->cap) {
        size_t h = home(t, t->slots[j].n);
        bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!between) {
            t->slots[i] = t->slots[j];
            t->slots[j].expires = 0;
            i = j;
        }
    }
}

size_t prov_nonces_outstanding(struct prov_nonces *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

void prov_nonces_expire(struct prov_nonces *t, int64_t now)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->cap && t->count > 0;) {
        if (t->slots[i].expires != 0 && t->slots[i].expires <= now)
            remove_at(t, i); /* i again: something may have shifted into it */
        else
            i++;
    }
    pthread_mutex_unlock(&t->mu);
}

int prov_nonce_issue(struct prov_nonces *t, int64_t now, uint8_t out[PROV_NONCE_LEN])
{
    if (crypto_random(out, PROV_NONCE_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    pthread_mutex_lock(&t->mu);
    int rc = IOTSEC_ERR_BUSY;
    if (t->count < t->max) {
        size_t i = home(t, out);
        while (t->slots[i].expires != 0)
            i = (i + 1) % t->cap;
        memcpy(t->slots[i].n, out, PROV_NONCE_LEN);
        t->slots[i].expires = now + PROV_NONCE_TTL_S;
        t->count++;
        rc = IOTSEC_OK;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

bool prov_nonce_valid(struct prov_nonces *t, const uint8_t n[PROV_NONCE_LEN], int64_t now)
{
    pthread_mutex_lock(&t->mu);
    size_t i = find(t, n);
    bool ok = i != SIZE_MAX && t->slots[i].expires > now;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

bool prov_nonce_take(struct prov_nonces *t, const uint8_t n[PROV_NONCE_LEN], int64_t now)
{
    pthread_mutex_lock(&t->mu);
    size_t i = find(t, n);
    bool ok = i != SIZE_MAX && t->slots[i].expires > now;
    if (i != SIZE_MAX)
        remove_at(t, i);
    pthread_mutex_unlock(&t->mu);
    return ok;
}

/* ---- token buckets ---- */

struct bucket {
    int64_t key; /* 0: free */
    double tokens;
    int64_t at_ms;
};

struct prov_limiter {
    pthread_mutex_t mu;
    size_t slots;
    struct bucket *b;
};

struct prov_limiter *prov_limiter_new(size_t slots)
{
    struct prov_limiter *l = calloc(1, sizeof(*l));
    if (l == NULL || (l->b = calloc(slots, sizeof(*l->b))) == NULL) {
        free(l);
        return NULL;
    }
    l->slots = slots;
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

void prov_limiter_free(struct prov_limiter *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->b);
    free(l);
}

bool prov_limiter_take(struct prov_limiter *l, int64_t key, int64_t rate_per_s, int64_t now_ms,
                       uint32_t *retry_after_s)
{
    if (rate_per_s <= 0)
        return true;
    pthread_mutex_lock(&l->mu);
    /* One slot per key by hash; a collision resets the other key's bucket to full, which
     * only ever errs towards letting a device in. */
    struct bucket *b = &l->b[(uint64_t)key % l->slots];
    if (b->key != key) {
        b->key = key;
        b->tokens = (double)rate_per_s;
        b->at_ms = now_ms;
    }
    double refill = (double)(now_ms - b->at_ms) * (double)rate_per_s / 1000.0;
    if (refill > 0) {
        b->tokens += refill;
        if (b->tokens > (double)rate_per_s)
            b->tokens = (double)rate_per_s;
        b->at_ms = now_ms;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else {
        double wait_s = (1.0 - b->tokens) / (double)rate_per_s;
        uint32_t w = (uint32_t)wait_s;
        *retry_after_s = w < 1 ? 1 : (w < wait_s ? w + 1 : w);
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}
