#include "aka/aka_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

#define STRIPES 256 /* a power of two */

/* ---- SQN generators: per stripe, an open-addressing table keyed by subscription id ---- */

struct sqn_entry {
    int64_t id;     /* 0 = empty (ids start at 1) */
    uint64_t owner; /* a hash of the SUPI whose blocks gen holds (0: not bound yet) */
    struct sqn_gen gen;
    unsigned synch_failures;
};

struct sqn_stripe {
    pthread_mutex_t lock;
    struct sqn_entry *slots;
    size_t cap, used; /* cap is a power of two, or 0 */
};

/* The id ranges reserved ahead in this run: per stripe, an open-addressing set of range + 1. */
struct range_stripe {
    pthread_mutex_t lock;
    int64_t *keys;
    size_t cap, used;
};

struct sqn_cache {
    struct sqn_stripe stripes[STRIPES];
    struct range_stripe ranges[STRIPES];
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

struct sqn_cache *sqn_cache_new(void)
{
    struct sqn_cache *c = calloc(1, sizeof(*c));
    for (int i = 0; c && i < STRIPES; i++) {
        pthread_mutex_init(&c->stripes[i].lock, NULL);
        pthread_mutex_init(&c->ranges[i].lock, NULL);
    }
    return c;
}

void sqn_cache_free(struct sqn_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        free(c->stripes[i].slots);
        pthread_mutex_destroy(&c->stripes[i].lock);
        free(c->ranges[i].keys);
        pthread_mutex_destroy(&c->ranges[i].lock);
    }
    free(c);
}

size_t sqn_cache_size(struct sqn_cache *c)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&c->stripes[i].lock);
        n += c->stripes[i].used;
        pthread_mutex_unlock(&c->stripes[i].lock);
    }
    return n;
}

static struct sqn_entry *probe(struct sqn_entry *slots, size_t cap, int64_t id)
{
    size_t i = (size_t)(mix((uint64_t)id) >> 8) & (cap - 1);
    while (slots[i].id != 0 && slots[i].id != id)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(struct sqn_stripe *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct sqn_entry *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return IOTSEC_ERR_NOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].id != 0)
            *probe(slots, cap, s->slots[i].id) = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return IOTSEC_OK;
}

/* The entry for id in its (locked) stripe, created empty if absent: no SEQ is this instance's
 * until a reservation hands it a block. */
static struct sqn_entry *find_or_add(struct sqn_stripe *s, int64_t id)
{
    if ((s->used + 1) * 4 > s->cap * 3 && grow(s) != IOTSEC_OK)
        return NULL;
    struct sqn_entry *e = probe(s->slots, s->cap, id);
    if (e->id == 0) {
        e->id = id;
        e->owner = 0;
        e->gen = (struct sqn_gen){0, 0};
        e->synch_failures = 0;
        s->used++;
    }
    return e;
}

static uint64_t owner_of(const char *supi)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *supi; supi++)
        h = (h ^ (uint8_t)*supi) * 1099511628211ull;
    return h ? h : 1;
}

/* Makes e supi's: a generator bound to another SUPI starts again, empty. */
static void bind_entry(struct sqn_entry *e, uint64_t owner)
{
    if (e->owner != owner && e->owner != 0) {
        e->gen = (struct sqn_gen){0, 0};
        e->synch_failures = 0;
    }
    e->owner = owner;
}

static struct sqn_stripe *stripe_of(struct sqn_cache *c, int64_t id)
{
    return &c->stripes[mix((uint64_t)id) & (STRIPES - 1)];
}

int sqn_cache_take(struct sqn_cache *c, int64_t id, unsigned ind, bool resync, uint64_t sqn_ms,
                   uint64_t block, struct sqn_step *step)
{
    memset(step, 0, sizeof(*step));
    struct sqn_stripe *s = stripe_of(c, id);
    pthread_mutex_lock(&s->lock);
    struct sqn_entry *e = find_or_add(s, id);
    int rc = IOTSEC_ERR_NOMEM;
    if (e != NULL) {
        if (resync) {
            sqn_resync(&e->gen, sqn_ms);
            e->synch_failures++;
        }
        step->synch_failures = e->synch_failures;
        step->first_use = e->gen.reserved == 0;
        rc = sqn_take(&e->gen, ind, &step->sqn);
        if (rc == IOTSEC_OK)
            step->ok = true;
        else if (rc == IOTSEC_ERR_BUSY)
            rc = sqn_reserve_floor(&e->gen, block, &step->reserve_floor);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sqn_cache_reserved(struct sqn_cache *c, int64_t id, uint64_t hi, uint64_t block)
{
    /* Only a take creates a generator; a reservation always follows one, so an unknown id
     * has no generator to give the block to (the block is then skipped, never reused). */
    struct sqn_stripe *s = stripe_of(c, id);
    pthread_mutex_lock(&s->lock);
    if (s->cap) {
        struct sqn_entry *e = probe(s->slots, s->cap, id);
        if (e->id == id)
            sqn_block_granted(&e->gen, hi, block);
    }
    pthread_mutex_unlock(&s->lock);
}

void sqn_cache_prefill(struct sqn_cache *c, int64_t id, const char *supi, uint64_t hi,
                       uint64_t block)
{
    struct sqn_stripe *s = stripe_of(c, id);
    pthread_mutex_lock(&s->lock);
    struct sqn_entry *e = id > 0 ? find_or_add(s, id) : NULL;
    if (e != NULL) { /* NULL (no memory): the block is skipped */
        bind_entry(e, owner_of(supi));
        sqn_block_granted(&e->gen, hi, block);
    }
    pthread_mutex_unlock(&s->lock);
}

void sqn_cache_bind(struct sqn_cache *c, int64_t id, const char *supi)
{
    struct sqn_stripe *s = stripe_of(c, id);
    pthread_mutex_lock(&s->lock);
    struct sqn_entry *e = id > 0 ? find_or_add(s, id) : NULL;
    if (e != NULL)
        bind_entry(e, owner_of(supi));
    pthread_mutex_unlock(&s->lock);
}

static int64_t *range_probe(int64_t *keys, size_t cap, int64_t key)
{
    size_t i = (size_t)(mix((uint64_t)key) >> 8) & (cap - 1);
    while (keys[i] != 0 && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return &keys[i];
}

static int range_grow(struct range_stripe *r)
{
    size_t cap = r->cap ? r->cap * 2 : 16;
    int64_t *keys = calloc(cap, sizeof(*keys));
    if (keys == NULL)
        return IOTSEC_ERR_NOMEM;
    for (size_t i = 0; i < r->cap; i++)
        if (r->keys[i] != 0)
            *range_probe(keys, cap, r->keys[i]) = r->keys[i];
    free(r->keys);
    r->keys = keys;
    r->cap = cap;
    return IOTSEC_OK;
}

bool sqn_cache_claim_range(struct sqn_cache *c, int64_t range)
{
    int64_t key = range + 1; /* 0 marks an empty slot; ids (so ranges) are >= 0 */
    struct range_stripe *r = &c->ranges[mix((uint64_t)key) & (STRIPES - 1)];
    bool first = false;
    pthread_mutex_lock(&r->lock);
    if (range >= 0 && ((r->used + 1) * 4 <= r->cap * 3 || range_grow(r) == IOTSEC_OK)) {
        int64_t *k = range_probe(r->keys, r->cap, key);
        if (*k == 0) {
            *k = key;
            r->used++;
            first = true;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return first;
}

void sqn_cache_auth_success(struct sqn_cache *c, int64_t id)
{
    struct sqn_stripe *s = stripe_of(c, id);
    pthread_mutex_lock(&s->lock);
    if (s->cap) {
        struct sqn_entry *e = probe(s->slots, s->cap, id);
        if (e->id == id)
            e->synch_failures = 0;
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- AUSF contexts: per stripe, a singly linked hash chain (few thousand live at most) ---- */

#define CTX_BUCKETS 64

struct ctx_node {
    struct ctx_node *next;
    struct auth_ctx ctx;
};

/* A kept result: only what a deletion needs, sized to its SUPI (~150 bytes for an IMSI, where
 * a pending context takes ~500): results are kept for every success, at full rate. */
struct result_node {
    struct result_node *next;
    int64_t expires_at_ms;
    int64_t subscription_id;
    char id[AUTH_CTX_ID_LEN + 1];
    uint8_t kind;
    char snn[64];
    char supi[]; /* NUL-terminated */
};

struct ctx_stripe {
    pthread_mutex_t lock;
    struct ctx_node *buckets[CTX_BUCKETS];
    struct result_node *results[CTX_BUCKETS];
};

struct auth_ctx_table {
    struct ctx_stripe stripes[STRIPES];
    atomic_size_t count;   /* pending contexts */
    atomic_size_t results; /* confirmed results kept */
    size_t limit;          /* pending contexts at most */
    size_t results_limit;  /* results at most (AUTH_RESULTS_MAX or limit) */
};

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return h;
}

struct auth_ctx_table *auth_ctx_table_new(size_t limit)
{
    struct auth_ctx_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&t->stripes[i].lock, NULL);
    t->limit = limit;
    t->results_limit = limit < AUTH_RESULTS_MAX ? limit : AUTH_RESULTS_MAX;
    return t;
}

static void free_node(struct ctx_node *n)
{
    secure_wipe(n, sizeof(*n));
    free(n);
}

void auth_ctx_table_free(struct auth_ctx_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        for (int b = 0; b < CTX_BUCKETS; b++) {
            struct ctx_node *n = t->stripes[i].buckets[b];
            while (n) {
                struct ctx_node *next = n->next;
                free_node(n);
                n = next;
            }
            struct result_node *r = t->stripes[i].results[b];
            while (r) {
                struct result_node *next = r->next;
                free(r);
                r = next;
            }
        }
        pthread_mutex_destroy(&t->stripes[i].lock);
    }
    free(t);
}

/* The stripe and bucket of an id. */
static struct ctx_stripe *ctx_stripe_of(struct auth_ctx_table *t, const char *id, size_t *bucket)
{
    uint64_t h = hash_id(id);
    *bucket = (h >> 8) % CTX_BUCKETS;
    return &t->stripes[h & (STRIPES - 1)];
}

int auth_ctx_keep_result(struct auth_ctx_table *t, const struct auth_ctx *ctx, int64_t until_ms)
{
    if (atomic_fetch_add(&t->results, 1) >= t->results_limit) {
        atomic_fetch_sub(&t->results, 1);
        return IOTSEC_ERR_BUSY;
    }
    size_t supi_len = strnlen(ctx->supi, sizeof(ctx->supi) - 1);
    struct result_node *r = malloc(sizeof(*r) + supi_len + 1);
    if (r == NULL) {
        atomic_fetch_sub(&t->results, 1);
        return IOTSEC_ERR_NOMEM;
    }
    r->expires_at_ms = until_ms;
    r->subscription_id = ctx->subscription_id;
    memcpy(r->id, ctx->id, sizeof(r->id));
    r->kind = (uint8_t)ctx->kind;
    memcpy(r->snn, ctx->snn, sizeof(r->snn));
    memcpy(r->supi, ctx->supi, supi_len);
    r->supi[supi_len] = '\0';
    size_t b;
    struct ctx_stripe *s = ctx_stripe_of(t, r->id, &b);
    pthread_mutex_lock(&s->lock);
    r->next = s->results[b];
    s->results[b] = r;
    pthread_mutex_unlock(&s->lock);
    return IOTSEC_OK;
}

size_t auth_ctx_drop_supi(struct auth_ctx_table *t, const char *supi)
{
    size_t dropped = 0, results = 0;
    for (int i = 0; i < STRIPES; i++) {
        struct ctx_stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->lock);
        for (int b = 0; b < CTX_BUCKETS; b++) {
            for (struct ctx_node **p = &s->buckets[b]; *p;) {
                if (strcmp((*p)->ctx.supi, supi) == 0) {
                    struct ctx_node *dead = *p;
                    *p = dead->next;
                    free_node(dead);
                    dropped++;
                } else {
                    p = &(*p)->next;
                }
            }
            for (struct result_node **p = &s->results[b]; *p;) {
                if (strcmp((*p)->supi, supi) == 0) {
                    struct result_node *dead = *p;
                    *p = dead->next;
                    free(dead);
                    results++;
                } else {
                    p = &(*p)->next;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    atomic_fetch_sub(&t->count, dropped);
    atomic_fetch_sub(&t->results, results);
    return dropped + results;
}

int auth_ctx_put(struct auth_ctx_table *t, struct auth_ctx *ctx)
{
    if (atomic_fetch_add(&t->count, 1) >= t->limit) {
        atomic_fetch_sub(&t->count, 1);
        return IOTSEC_ERR_BUSY;
    }
    uint8_t raw[16];
    struct ctx_node *n = malloc(sizeof(*n));
    if (n == NULL || crypto_random(raw, sizeof(raw)) != IOTSEC_OK) {
        free(n);
        atomic_fetch_sub(&t->count, 1);
        return n ? IOTSEC_ERR_CRYPTO : IOTSEC_ERR_NOMEM;
    }
    hex_encode(raw, sizeof(raw), ctx->id);
    ctx->confirmed = false;
    n->ctx = *ctx;
    size_t b;
    struct ctx_stripe *s = ctx_stripe_of(t, ctx->id, &b);
    pthread_mutex_lock(&s->lock);
    n->next = s->buckets[b];
    s->buckets[b] = n;
    pthread_mutex_unlock(&s->lock);
    return IOTSEC_OK;
}

/* Takes a kept result with id out of its stripe (locked by the caller). */
static struct result_node *take_result(struct ctx_stripe *s, size_t b, const char *id)
{
    for (struct result_node **p = &s->results[b]; *p; p = &(*p)->next)
        if (strcmp((*p)->id, id) == 0) {
            struct result_node *r = *p;
            *p = r->next;
            return r;
        }
    return NULL;
}

int auth_ctx_take(struct auth_ctx_table *t, const char *id, int64_t now_ms, bool confirmed_too,
                  struct auth_ctx *out)
{
    if (id == NULL || strlen(id) != AUTH_CTX_ID_LEN)
        return IOTSEC_ERR_NOTFOUND;
    size_t b;
    struct ctx_stripe *s = ctx_stripe_of(t, id, &b);
    pthread_mutex_lock(&s->lock);
    struct ctx_node **p = &s->buckets[b], *found = NULL;
    for (; *p; p = &(*p)->next) {
        if (strcmp((*p)->ctx.id, id) == 0) {
            found = *p;
            *p = found->next;
            break;
        }
    }
    struct result_node *r = found || !confirmed_too ? NULL : take_result(s, b, id);
    pthread_mutex_unlock(&s->lock);
    if (r != NULL) {
        atomic_fetch_sub(&t->results, 1);
        int rc = r->expires_at_ms > now_ms ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
        if (rc == IOTSEC_OK) {
            memset(out, 0, sizeof(*out));
            memcpy(out->id, r->id, sizeof(out->id));
            out->kind = (enum auth_ctx_kind)r->kind;
            snprintf(out->supi, sizeof(out->supi), "%s", r->supi);
            out->subscription_id = r->subscription_id;
            memcpy(out->snn, r->snn, sizeof(out->snn));
            out->expires_at_ms = r->expires_at_ms;
            out->confirmed = true;
        }
        free(r);
        return rc;
    }
    if (found == NULL)
        return IOTSEC_ERR_NOTFOUND;
    atomic_fetch_sub(&t->count, 1);
    int rc = found->ctx.expires_at_ms > now_ms ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK)
        *out = found->ctx;
    free_node(found);
    return rc;
}

size_t auth_ctx_expire(struct auth_ctx_table *t, int64_t now_ms)
{
    size_t dropped = 0, results = 0;
    for (int i = 0; i < STRIPES; i++) {
        struct ctx_stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->lock);
        for (int b = 0; b < CTX_BUCKETS; b++) {
            for (struct ctx_node **p = &s->buckets[b]; *p;) {
                if ((*p)->ctx.expires_at_ms <= now_ms) {
                    struct ctx_node *dead = *p;
                    *p = dead->next;
                    free_node(dead);
                    dropped++;
                } else {
                    p = &(*p)->next;
                }
            }
            for (struct result_node **p = &s->results[b]; *p;) {
                if ((*p)->expires_at_ms <= now_ms) {
                    struct result_node *dead = *p;
                    *p = dead->next;
                    free(dead);
                    results++;
                } else {
                    p = &(*p)->next;
                }
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    atomic_fetch_sub(&t->count, dropped);
    atomic_fetch_sub(&t->results, results);
    return dropped + results;
}

size_t auth_ctx_count(struct auth_ctx_table *t)
{
    return atomic_load(&t->count);
}
