/* The subscription cache (sub_cache.h): striped hash tables, a lock and an LRU list per stripe,
 * and the change log read by whichever request thread finds it due. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "subscriber/sub_cache.h"

#define STRIPES      64
#define LOG_CHUNK    1024 /* changes read per statement */
#define CACHE_KEY_ID 0xCA /* the id in the cache's envelopes (never stored anywhere) */

struct entry {
    struct entry *hnext;       /* bucket chain */
    struct entry *prev, *next; /* LRU list: head most recent */
    uint64_t hash;
    int64_t id, not_before, not_after;
    uint32_t cred_version;
    uint8_t state, auth_method, amf[2];
    uint8_t cred[SUB_CRED_SEALED_LEN]; /* K || OPc under the cache's key (cache_aad) */
    char supi[];                       /* NUL-terminated */
};

struct stripe {
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t count;
    struct entry *head, *tail;
};

struct sub_cache {
    struct store *store;
    const struct seal_kek *kek;  /* opens the rows read on a miss */
    struct seal_kek own;         /* the cache's key: seals the credentials it keeps */
    size_t per_stripe, nbuckets; /* nbuckets: a power of two, per stripe */
    struct stripe stripes[STRIPES];
    /* Bumped (under the stripe's lock) by every eviction: a row read before it is not cached. */
    atomic_uint_fast64_t gen;
    atomic_bool polling;
    atomic_int_fast64_t poll_started_ms, poll_ok_ms; /* poll_ok_ms 0: log position unknown */
    int64_t last_seq;     /* the poller's only: the last change applied, */
    uint64_t last_hash;   /* the hash of its SUPI */
    bool last_hash_known; /* (not after a reposition) */
    atomic_uint_fast64_t hits, misses, evictions, invalidations, flushes, poll_failures;
    int64_t (*clock)(void *);
    void *clock_ctx;
    struct sub_cache *reg_next; /* every cache of the process, for sub_cache_changed */
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sub_cache *registry;

static int64_t monotonic_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash_supi(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static struct stripe *stripe_of(struct sub_cache *c, uint64_t h)
{
    return &c->stripes[h % STRIPES];
}

static struct entry **bucket_of(struct sub_cache *c, struct stripe *st, uint64_t h)
{
    return &st->buckets[(h / STRIPES) & (c->nbuckets - 1)];
}

static void lru_unlink(struct stripe *st, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        st->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        st->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct stripe *st, struct entry *e)
{
    e->prev = NULL;
    e->next = st->head;
    if (st->head)
        st->head->prev = e;
    st->head = e;
    if (st->tail == NULL)
        st->tail = e;
}

/* Unlinks and frees e (stripe locked). */
static void drop(struct sub_cache *c, struct stripe *st, struct entry *e)
{
    struct entry **p = bucket_of(c, st, e->hash);
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    lru_unlink(st, e);
    st->count--;
    secure_wipe(e, sizeof(*e));
    free(e);
}

static struct entry *find(struct sub_cache *c, struct stripe *st, uint64_t h, const char *supi)
{
    for (struct entry *e = *bucket_of(c, st, h); e; e = e->hnext) {
        if (e->hash == h && strcmp(e->supi, supi) == 0)
            return e;
    }
    return NULL;
}

static void evict(struct sub_cache *c, const char *supi)
{
    uint64_t h = hash_supi(supi);
    struct stripe *st = stripe_of(c, h);
    pthread_mutex_lock(&st->mu);
    struct entry *e = find(c, st, h, supi);
    if (e != NULL)
        drop(c, st, e);
    atomic_fetch_add(&c->gen, 1); /* also when absent: a read in flight must not put it back */
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
}

static void flush_all(struct sub_cache *c)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *st = &c->stripes[i];
        pthread_mutex_lock(&st->mu);
        while (st->head)
            drop(c, st, st->head);
        atomic_fetch_add(&c->gen, 1);
        pthread_mutex_unlock(&st->mu);
    }
    atomic_fetch_add_explicit(&c->flushes, 1, memory_order_relaxed);
}

struct sub_cache *sub_cache_new(struct store *s, const struct seal_kek *kek, size_t max_entries)
{
    struct sub_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->store = s;
    c->kek = kek;
    c->own.id = CACHE_KEY_ID;
    c->own.resident = true; /* held as long as the cache: its schedule may stay set up */
    if (crypto_random(c->own.key, sizeof(c->own.key)) != IOTSEC_OK) {
        free(c);
        return NULL;
    }
    c->clock = monotonic_ms;
    if (max_entries == 0)
        max_entries = SUB_CACHE_DEFAULT_MAX;
    c->per_stripe = (max_entries + STRIPES - 1) / STRIPES;
    c->nbuckets = 1;
    while (c->nbuckets < c->per_stripe)
        c->nbuckets <<= 1;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&c->stripes[i].mu, NULL);
        c->stripes[i].buckets = calloc(c->nbuckets, sizeof(struct entry *));
        if (c->stripes[i].buckets == NULL) {
            sub_cache_free(c);
            return NULL;
        }
    }
    pthread_mutex_lock(&registry_mu);
    c->reg_next = registry;
    registry = c;
    pthread_mutex_unlock(&registry_mu);
    return c;
}

void sub_cache_free(struct sub_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&registry_mu);
    for (struct sub_cache **p = &registry; *p; p = &(*p)->reg_next) {
        if (*p == c) {
            *p = c->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *st = &c->stripes[i];
        if (st->buckets != NULL) {
            while (st->head)
                drop(c, st, st->head);
            free(st->buckets);
        }
        pthread_mutex_destroy(&st->mu);
    }
    seal_kek_wipe(&c->own);
    free(c);
}

void sub_cache_set_clock(struct sub_cache *c, int64_t (*now_ms)(void *), void *ctx)
{
    c->clock = now_ms;
    c->clock_ctx = ctx;
}

void sub_cache_changed(const char *supi)
{
    pthread_mutex_lock(&registry_mu);
    for (struct sub_cache *c = registry; c; c = c->reg_next)
        evict(c, supi);
    pthread_mutex_unlock(&registry_mu);
}

void sub_cache_flush_every(void)
{
    pthread_mutex_lock(&registry_mu);
    for (struct sub_cache *c = registry; c; c = c->reg_next)
        flush_all(c);
    pthread_mutex_unlock(&registry_mu);
}

/* ---- the change log ---- */

/* One statement's worth of the log. Each read starts again at the last change applied (the
 * anchor): finding it where it was, with the same SUPI, shows the log was not rewound (a
 * database restored from an older copy, or a failover that lost committed transactions, hands
 * out the same numbers again for other changes). */
struct applying {
    struct sub_cache *c;
    int64_t expect, last;
    uint64_t last_hash;
    bool anchored, check_hash; /* the first row must be the anchor (its SUPI too) */
    size_t count;
    bool gap;
};

static void apply_change(int64_t seq, const char *supi, void *arg)
{
    struct applying *ap = arg;
    uint64_t h = hash_supi(supi);
    bool anchor = ap->anchored && ap->count == 0;
    ap->count++;
    if (anchor) {
        if (seq != ap->last || (ap->check_hash && h != ap->last_hash))
            ap->gap = true; /* rewound: what changed is unknown */
    } else {
        if (seq != ap->expect)
            ap->gap = true; /* pruned past us, or rewound */
        if (!ap->gap)
            evict(ap->c, supi);
    }
    ap->expect = seq + 1;
    ap->last = seq;
    ap->last_hash = h;
}

/* Takes the log's newest change as the position (nothing before it matters to an empty or
 * flushed cache). */
static int reposition(struct sub_cache *c)
{
    int rc = sub_changes_head(c->store, &c->last_seq);
    c->last_hash_known = false;
    flush_all(c);
    return rc;
}

int sub_cache_poll(struct sub_cache *c)
{
    bool idle = false;
    if (!atomic_compare_exchange_strong(&c->polling, &idle, true))
        return IOTSEC_ERR_BUSY; /* another thread is at it */
    int64_t start = c->clock(c->clock_ctx);
    atomic_store(&c->poll_started_ms, start);
    int rc;
    if (atomic_load(&c->poll_ok_ms) == 0) {
        /* Nothing cached yet; reads made before the position is known are not cached. */
        rc = reposition(c);
    } else {
        bool flushed = false;
        for (;;) {
            struct applying ap = {.c = c,
                                  .expect = c->last_seq + 1,
                                  .last = c->last_seq,
                                  .last_hash = c->last_hash,
                                  .anchored = c->last_seq > 0,
                                  .check_hash = c->last_hash_known};
            rc = sub_changes_since(c->store, ap.anchored ? c->last_seq - 1 : 0, LOG_CHUNK,
                                   apply_change, &ap);
            if (rc != IOTSEC_OK)
                break;
            if (ap.anchored && ap.count == 0) { /* the anchor is gone: rewound */
                rc = reposition(c);
                break;
            }
            if (ap.count > 0) {
                c->last_seq = ap.last;
                c->last_hash = ap.last_hash;
                c->last_hash_known = true;
            }
            if (ap.gap && !flushed) {
                flush_all(c);
                flushed = true;
            }
            if (ap.count < LOG_CHUNK)
                break;
        }
    }
    if (rc == IOTSEC_OK)
        atomic_store(&c->poll_ok_ms, start > 0 ? start : 1);
    else
        atomic_fetch_add_explicit(&c->poll_failures, 1, memory_order_relaxed);
    atomic_store(&c->polling, false);
    return rc;
}

/* ---- lookups ---- */

/* The AAD of a cached credential: the row it was read from (id, credential version, SUPI), so
 * an envelope cannot be served for another row even if entries were mixed up. */
static size_t cache_aad(int64_t id, uint32_t version, const char *supi, uint8_t *buf, size_t cap)
{
    size_t len = strlen(supi);
    if (len > cap - 12)
        len = cap - 12;
    memcpy(buf, &id, 8);
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, supi, len);
    return 12 + len;
}

/* What a hit copies out of its entry under the stripe's lock; opened after the unlock. */
struct hit {
    struct subscription row;
    uint8_t cred[SUB_CRED_SEALED_LEN];
};

static void entry_to_hit(const struct entry *e, struct hit *h)
{
    struct subscription *out = &h->row;
    memset(out, 0, sizeof(*out));
    out->id = e->id;
    supi_parse(e->supi, &out->supi); /* parsed when it was stored */
    out->state = (enum sub_state)e->state;
    out->auth_method = (enum sub_auth_method)e->auth_method;
    out->not_before = e->not_before;
    out->not_after = e->not_after;
    out->cred_version = e->cred_version;
    memcpy(out->amf, e->amf, 2);
    memcpy(h->cred, e->cred, sizeof(h->cred));
}

/* Opens a hit's credential into keys (IOTSEC_ERR_AUTH: not this cache's envelope for it). */
static int open_hit(struct sub_cache *c, const char *supi, const struct hit *h,
                    struct sub_keys *keys)
{
    uint8_t aad[12 + SUPI_STRING_MAX], plain[SUB_CRED_PLAIN_LEN];
    size_t aad_len = cache_aad(h->row.id, h->row.cred_version, supi, aad, sizeof(aad));
    int rc = unseal(&c->own, aad, aad_len, h->cred, sizeof(h->cred), plain);
    if (rc == IOTSEC_OK) {
        memcpy(keys->k, plain, 16);
        memcpy(keys->opc, plain + 16, 16);
    }
    secure_wipe(plain, sizeof(plain));
    return rc;
}

static void insert(struct sub_cache *c, uint64_t gen0, const char *supi,
                   const struct subscription *row, const struct sub_keys *keys)
{
    size_t len = strlen(supi);
    struct entry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return;
    memset(e, 0, sizeof(*e));
    uint8_t aad[12 + SUPI_STRING_MAX], plain[SUB_CRED_PLAIN_LEN];
    memcpy(plain, keys->k, 16);
    memcpy(plain + 16, keys->opc, 16);
    int rc = seal(&c->own, aad, cache_aad(row->id, row->cred_version, supi, aad, sizeof(aad)),
                  plain, sizeof(plain), e->cred);
    secure_wipe(plain, sizeof(plain));
    if (rc != IOTSEC_OK) {
        free(e);
        return; /* served from the database next time too */
    }
    e->hash = hash_supi(supi);
    e->id = row->id;
    e->not_before = row->not_before;
    e->not_after = row->not_after;
    e->cred_version = row->cred_version;
    e->state = (uint8_t)row->state;
    e->auth_method = (uint8_t)row->auth_method;
    memcpy(e->amf, row->amf, 2);
    memcpy(e->supi, supi, len + 1);
    struct stripe *st = stripe_of(c, e->hash);
    pthread_mutex_lock(&st->mu);
    if (atomic_load(&c->gen) != gen0) { /* a change was applied while we read: not this row */
        pthread_mutex_unlock(&st->mu);
        secure_wipe(e, sizeof(*e));
        free(e);
        return;
    }
    struct entry *old = find(c, st, e->hash, supi);
    if (old != NULL)
        drop(c, st, old);
    while (st->count >= c->per_stripe && st->tail) {
        drop(c, st, st->tail);
        atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
    }
    struct entry **b = bucket_of(c, st, e->hash);
    e->hnext = *b;
    *b = e;
    lru_push(st, e);
    st->count++;
    pthread_mutex_unlock(&st->mu);
}

int sub_cache_get(struct sub_cache *c, const char *supi, struct subscription *out,
                  struct sub_keys *keys)
{
    int64_t now = c->clock(c->clock_ctx);
    if (now - atomic_load(&c->poll_started_ms) >= SUB_CACHE_POLL_MS)
        sub_cache_poll(c); /* a failure leaves the cache unfresh: read the database below */
    int64_t ok = atomic_load(&c->poll_ok_ms);
    bool fresh = ok != 0 && now - ok <= SUB_CACHE_FRESH_MS;
    uint64_t h = hash_supi(supi);
    struct stripe *st = stripe_of(c, h);
    if (fresh) {
        struct hit hit;
        pthread_mutex_lock(&st->mu);
        struct entry *e = find(c, st, h, supi);
        if (e != NULL) {
            lru_unlink(st, e);
            lru_push(st, e);
            entry_to_hit(e, &hit);
        }
        pthread_mutex_unlock(&st->mu);
        /* An envelope that does not open (never expected) is read again from the database. */
        bool served = e != NULL && open_hit(c, supi, &hit, keys) == IOTSEC_OK;
        if (served)
            *out = hit.row;
        secure_wipe(&hit, sizeof(hit));
        if (served) {
            atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
            return IOTSEC_OK;
        }
    }
    atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
    uint64_t gen0 = atomic_load(&c->gen);
    struct sub_sealed sealed;
    int rc = subscriber_get_sealed(c->store, supi, out, &sealed);
    if (rc == IOTSEC_OK)
        rc = subscriber_open_keys(c->kek, out, &sealed, keys);
    secure_wipe(&sealed, sizeof(sealed));
    if (rc == IOTSEC_OK && ok != 0)
        insert(c, gen0, supi, out, keys);
    return rc;
}

void sub_cache_stats(struct sub_cache *c, struct sub_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->evictions = atomic_load(&c->evictions);
    out->invalidations = atomic_load(&c->invalidations);
    out->flushes = atomic_load(&c->flushes);
    out->poll_failures = atomic_load(&c->poll_failures);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&c->stripes[i].mu);
        out->entries += c->stripes[i].count;
        pthread_mutex_unlock(&c->stripes[i].mu);
    }
}
