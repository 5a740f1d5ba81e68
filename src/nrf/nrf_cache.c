/* Verified tokens, so that a consumer's every request does not cost a signature check:
 * direct-mapped (bounded, no eviction walk), keyed by SHA-256 over the token and the client
 * certificate of the connection it came on, so a token copied to another connection is
 * verified (and its binding checked) afresh. Expiry is checked by the caller on every hit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "nrf/nrf_int.h"

#define STRIPES 64

struct slot {
    uint8_t key[32];
    bool used;
    struct nrf_token_info info;
};

struct nrf_cache {
    size_t n;
    pthread_mutex_t lock[STRIPES];
    struct slot *slots;
};

struct nrf_cache *nrf_cache_new(size_t entries)
{
    struct nrf_cache *c = calloc(1, sizeof(*c));
    if (c == NULL || entries == 0 || (c->slots = calloc(entries, sizeof(*c->slots))) == NULL) {
        free(c);
        return NULL;
    }
    c->n = entries;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->lock[i], NULL);
    return c;
}

void nrf_cache_free(struct nrf_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->lock[i]);
    free(c->slots);
    free(c);
}

static size_t index_of(const struct nrf_cache *c, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h)); /* a SHA-256 output: already uniform */
    return (size_t)(h % c->n);
}

bool nrf_cache_get(struct nrf_cache *c, const uint8_t key[32], struct nrf_token_info *out)
{
    size_t i = index_of(c, key);
    pthread_mutex_t *m = &c->lock[i % STRIPES];
    pthread_mutex_lock(m);
    bool hit = c->slots[i].used && ct_equal(c->slots[i].key, key, 32);
    if (hit)
        *out = c->slots[i].info;
    pthread_mutex_unlock(m);
    return hit;
}

void nrf_cache_put(struct nrf_cache *c, const uint8_t key[32], const struct nrf_token_info *in)
{
    size_t i = index_of(c, key);
    pthread_mutex_t *m = &c->lock[i % STRIPES];
    pthread_mutex_lock(m);
    memcpy(c->slots[i].key, key, 32);
    c->slots[i].info = *in;
    c->slots[i].used = true;
    pthread_mutex_unlock(m);
}
