/* The verified-token cache: an ES256 verification costs ~70 us, a probe here well under one.
 * Set-associative (4 ways) with a lock per set, so workers rarely contend. The key hashes the
 * token WITH the connection's certificate fingerprint: the same token presented on another
 * connection (another certificate) misses and goes through full verification, which refuses
 * the binding. Entries die at the token's exp; a full set evicts the entry that expires first.
 * Only successful verifications are cached (a refusal is cheap to redo and must not pin). */
#include <stdlib.h>
#include <string.h>

#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "expose/nb_int.h"

#define WAYS 4

struct nb_set {
    pthread_mutex_t mu;
    struct nb_cache_entry e[WAYS];
};

struct nb_cache {
    size_t n_sets;
    struct nb_set *sets;
};

struct nb_cache *nb_cache_new(size_t entries)
{
    struct nb_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->n_sets = (entries + WAYS - 1) / WAYS;
    if (c->n_sets == 0)
        c->n_sets = 1;
    c->sets = calloc(c->n_sets, sizeof(*c->sets));
    if (c->sets == NULL) {
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->n_sets; i++)
        pthread_mutex_init(&c->sets[i].mu, NULL);
    return c;
}

void nb_cache_free(struct nb_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_sets; i++)
        pthread_mutex_destroy(&c->sets[i].mu);
    free(c->sets);
    free(c);
}

void nb_cache_key(const char *token, size_t len, const uint8_t cert_sha256[32], uint8_t key[32])
{
    uint8_t tail[33] = {0};
    memcpy(tail + 1, cert_sha256, 32);
    sha256_2(token, len, tail, sizeof(tail), key);
}

static struct nb_set *set_of(struct nb_cache *c, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return &c->sets[h % c->n_sets];
}

bool nb_cache_get(struct nb_cache *c, const uint8_t key[32], int64_t now,
                  struct nb_cache_entry *out)
{
    struct nb_set *s = set_of(c, key);
    bool hit = false;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < WAYS; i++) {
        if (s->e[i].exp > now && ct_equal(s->e[i].key, key, 32)) {
            *out = s->e[i];
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

void nb_cache_put(struct nb_cache *c, const struct nb_cache_entry *e, int64_t now)
{
    struct nb_set *s = set_of(c, e->key);
    pthread_mutex_lock(&s->mu);
    int victim = 0;
    for (int i = 0; i < WAYS; i++) {
        if (s->e[i].exp <= now || memcmp(s->e[i].key, e->key, 32) == 0) {
            victim = i;
            break;
        }
        if (s->e[i].exp < s->e[victim].exp)
            victim = i;
    }
    s->e[victim] = *e;
    pthread_mutex_unlock(&s->mu);
}

void nb_cache_clear(struct nb_cache *c)
{
    for (size_t i = 0; i < c->n_sets; i++) {
        pthread_mutex_lock(&c->sets[i].mu);
        memset(c->sets[i].e, 0, sizeof(c->sets[i].e));
        pthread_mutex_unlock(&c->sets[i].mu);
    }
}

size_t nb_cache_count(struct nb_cache *c, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_sets; i++) {
        pthread_mutex_lock(&c->sets[i].mu);
        for (int w = 0; w < WAYS; w++)
            n += c->sets[i].e[w].exp > now;
        pthread_mutex_unlock(&c->sets[i].mu);
    }
    return n;
}
