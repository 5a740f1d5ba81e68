/* The consent cache of decisions: what the store says about a target (the consents that may
 * apply, the device's groups, the owner's opt-out), so that a steady stream of requests on
 * the same devices costs no SQLite read (two queries, WAL read locks, fcntl system calls).
 *
 * Why it is never stale: every write that changes what a decision reads (consent grant and
 * revoke, group members, opt-outs: all in nb_consent.c) bumps the generation AFTER its commit
 * and BEFORE its answer (nb_dcache_invalidate). An entry is used only when its generation is
 * the current one, and a filler tags its entry with the generation it read BEFORE querying
 * the store: a fill that raced with a write carries the old generation and is never used. So
 * the first decision that starts after a revoke's answer reads the store. Time-dependent parts
 * (a consent's expiry) are judged by authz_decide() at each decision, not cached.
 * Set-associative (4 ways) with a lock per set, like the token cache; an entry holds a compact
 * copy of the consents (heap, its strings inside it). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hmac_sha256.h"
#include "expose/nb_int.h"

#define WAYS 4

/* One allocation, sized to what the store returned: typically a few hundred bytes, at most
 * about 10 KiB (struct nb_consents' bounds). */
struct snap {
    size_t n, n_groups, used;
    bool opted_out;
    size_t group_off[16]; /* offsets of the group names in buf */
    char *buf;            /* the strings, as used in struct nb_consents: after c */
    struct consent c[];   /* n of them */
};

struct dentry {
    uint64_t gen; /* 0: empty */
    uint8_t key[32];
    struct snap *s;
};

struct dset {
    pthread_mutex_t mu;
    struct dentry e[WAYS];
};

struct nb_dcache {
    _Atomic uint64_t gen; /* starts at 1: 0 marks an empty way */
    size_t n_sets;
    struct dset *sets;
};

struct nb_dcache *nb_dcache_new(size_t entries)
{
    struct nb_dcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->n_sets = entries / WAYS ? entries / WAYS : 1;
    c->sets = calloc(c->n_sets, sizeof(*c->sets));
    if (c->sets == NULL) {
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->n_sets; i++)
        pthread_mutex_init(&c->sets[i].mu, NULL);
    atomic_init(&c->gen, 1);
    return c;
}

void nb_dcache_free(struct nb_dcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_sets; i++) {
        for (int w = 0; w < WAYS; w++)
            free(c->sets[i].e[w].s);
        pthread_mutex_destroy(&c->sets[i].mu);
    }
    free(c->sets);
    free(c);
}

uint64_t nb_dcache_gen(struct nb_dcache *c)
{
    return atomic_load(&c->gen);
}

void nb_dcache_invalidate(struct nb_dcache *c)
{
    atomic_fetch_add(&c->gen, 1);
}

/* The target's key: its kind and id (SUPI or group id). */
static void key_of(const struct expose_target *t, const char *id, uint8_t key[32])
{
    uint8_t kind = (uint8_t)t->kind;
    sha256_2(&kind, 1, id, strlen(id), key);
}

static struct dset *set_of(struct nb_dcache *c, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return &c->sets[h % c->n_sets];
}

/* p pointed into from->buf: the same place in to->buf. */
static const char *rebase(const char *p, const char *from, char *to)
{
    return p ? to + (p - from) : NULL;
}

bool nb_dcache_get(struct nb_dcache *c, const struct expose_target *t, const char *id,
                   struct nb_consents *out, bool *opted_out)
{
    uint8_t key[32];
    key_of(t, id, key);
    struct dset *set = set_of(c, key);
    uint64_t gen = atomic_load(&c->gen);
    bool hit = false;
    pthread_mutex_lock(&set->mu);
    for (int w = 0; w < WAYS && !hit; w++) {
        const struct dentry *e = &set->e[w];
        if (e->gen != gen || memcmp(e->key, key, 32) != 0)
            continue;
        const struct snap *s = e->s;
        memcpy(out->buf, s->buf, s->used);
        out->used = s->used;
        out->n = s->n;
        out->n_groups = s->n_groups;
        for (size_t i = 0; i < s->n; i++) {
            out->c[i] = s->c[i];
            out->c[i].consent_id = rebase(s->c[i].consent_id, s->buf, out->buf);
            out->c[i].af_id = rebase(s->c[i].af_id, s->buf, out->buf);
            out->c[i].target_id = rebase(s->c[i].target_id, s->buf, out->buf);
        }
        for (size_t i = 0; i < s->n_groups; i++)
            out->groups[i] = out->buf + s->group_off[i];
        *opted_out = s->opted_out;
        hit = true;
    }
    pthread_mutex_unlock(&set->mu);
    return hit;
}

void nb_dcache_put(struct nb_dcache *c, uint64_t gen, const struct expose_target *t,
                   const char *id, const struct nb_consents *cs, bool opted_out)
{
    struct snap *s = malloc(sizeof(*s) + cs->n * sizeof(s->c[0]) + cs->used);
    if (s == NULL)
        return; /* not cached: the next decision reads the store again */
    s->buf = (char *)&s->c[cs->n];
    memcpy(s->buf, cs->buf, cs->used);
    s->used = cs->used;
    s->n = cs->n;
    s->n_groups = cs->n_groups;
    s->opted_out = opted_out;
    for (size_t i = 0; i < cs->n; i++) {
        s->c[i] = cs->c[i];
        s->c[i].consent_id = rebase(cs->c[i].consent_id, cs->buf, s->buf);
        s->c[i].af_id = rebase(cs->c[i].af_id, cs->buf, s->buf);
        s->c[i].target_id = rebase(cs->c[i].target_id, cs->buf, s->buf);
    }
    for (size_t i = 0; i < cs->n_groups; i++)
        s->group_off[i] = (size_t)(cs->groups[i] - cs->buf);
    struct dentry fresh = {.gen = gen, .s = s};
    key_of(t, id, fresh.key);
    struct dset *set = set_of(c, fresh.key);
    uint64_t now = atomic_load(&c->gen);
    pthread_mutex_lock(&set->mu);
    /* the way of the same key, else a stale one, else the first (a small cache: no LRU) */
    int victim = -1;
    for (int w = 0; w < WAYS && victim < 0; w++)
        if (set->e[w].gen && memcmp(set->e[w].key, fresh.key, 32) == 0)
            victim = w;
    for (int w = 0; w < WAYS && victim < 0; w++)
        if (set->e[w].gen != now)
            victim = w;
    if (victim < 0)
        victim = (int)(fresh.key[8] % WAYS);
    struct snap *old = set->e[victim].s;
    set->e[victim] = fresh;
    pthread_mutex_unlock(&set->mu);
    free(old);
}
