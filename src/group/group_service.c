/* The group service: see group_service.h. */
#include "group/group_service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

#define CACHE_MAX 64 /* loaded groups; beyond it the oldest is dropped (reloaded on use) */

struct group_service {
    struct group_service_options o;
    struct prov_sign_key *sk;
    pthread_mutex_t mu;
    struct group *cache[CACHE_MAX];
    size_t ncache;
    struct group_push_hooks push;
};

static void forget(struct group_service *gs, uint64_t ref);

#define SEQ_BLOCK 4096 /* sequences reserved per store write */

void group_service_set_push(struct group_service *gs, const struct group_push_hooks *h)
{
    pthread_mutex_lock(&gs->mu); /* apply() reads them under it */
    gs->push = *h;
    pthread_mutex_unlock(&gs->mu);
}

void group_service_forget(struct group_service *gs, uint64_t ref)
{
    pthread_mutex_lock(&gs->mu);
    forget(gs, ref);
    pthread_mutex_unlock(&gs->mu);
}

void group_change_finish(struct group_change *ch, int rc)
{
    if (ch->push != NULL && ch->push_finish != NULL)
        ch->push_finish(ch->push_ctx, ch->push, rc);
    ch->push = NULL;
}

void group_service_sign_pub(const struct group_service *gs, uint8_t pub[GROUP_PUB_LEN])
{
    prov_sign_key_public(gs->sk, pub);
}

struct seed_job {
    const struct seal_kek *kek;
    uint8_t seed[PROV_ED25519_SEED_LEN];
};

static int seed_run(struct store_conn *c, void *arg)
{
    struct seed_job *j = arg;
    return group_store_signing_key(c, j->kek, j->seed);
}

int group_service_new(const struct group_service_options *o, struct group_service **out)
{
    *out = NULL;
    struct group_service *gs = calloc(1, sizeof(*gs));
    if (gs == NULL)
        return IOTSEC_ERR_NOMEM;
    gs->o = *o;
    pthread_mutex_init(&gs->mu, NULL);
    struct seed_job j = {.kek = o->kek};
    int rc = store_write_sync(o->store, seed_run, &j);
    if (rc == IOTSEC_OK)
        rc = prov_sign_key_new(j.seed, &gs->sk);
    secure_wipe(j.seed, sizeof(j.seed));
    if (rc != IOTSEC_OK) {
        group_service_free(gs);
        return rc;
    }
    *out = gs;
    return IOTSEC_OK;
}

static void drop(struct group *g)
{
    group_tree_free(&g->tree);
    free(g);
}

void group_service_free(struct group_service *gs)
{
    if (gs == NULL)
        return;
    for (size_t i = 0; i < gs->ncache; i++)
        drop(gs->cache[i]);
    prov_sign_key_free(gs->sk);
    pthread_mutex_destroy(&gs->mu);
    free(gs);
}

const struct group_service_options *group_service_options(const struct group_service *gs)
{
    return &gs->o;
}

/* The loaded group of row (loading it), with gs->mu held by the caller. */
static int cached(struct group_service *gs, struct store_conn *c, const struct group_row *row,
                  struct group **out)
{
    for (size_t i = 0; i < gs->ncache; i++) {
        if (gs->cache[i]->ref == row->ref) {
            *out = gs->cache[i];
            return IOTSEC_OK;
        }
    }
    struct group *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return IOTSEC_ERR_NOMEM;
    g->ref = row->ref;
    g->confidential = row->confidential;
    int rc = group_store_load_tree(c, gs->o.kek, row, &g->tree);
    if (rc != IOTSEC_OK) {
        free(g);
        return rc;
    }
    if (gs->ncache == CACHE_MAX) {
        drop(gs->cache[0]);
        memmove(gs->cache, gs->cache + 1, (CACHE_MAX - 1) * sizeof(gs->cache[0]));
        gs->ncache--;
    }
    gs->cache[gs->ncache++] = g;
    *out = g;
    return IOTSEC_OK;
}

/* Forgets a group whose job failed: its tree may hold uncommitted changes. */
static void forget(struct group_service *gs, uint64_t ref)
{
    for (size_t i = 0; i < gs->ncache; i++) {
        if (gs->cache[i]->ref == ref) {
            drop(gs->cache[i]);
            memmove(gs->cache + i, gs->cache + i + 1, (gs->ncache - i - 1) * sizeof(gs->cache[0]));
            gs->ncache--;
            return;
        }
    }
}

static int apply(struct group_change *ch, struct store_conn *c, struct group *g)
{
    int rc = IOTSEC_OK;
    for (size_t i = 0; rc == IOTSEC_OK && i < ch->nremove; i++) {
        uint32_t leaf;
        ch->failed_supi = ch->remove[i];
        rc = group_store_member_remove(c, g->ref, ch->remove[i], &leaf);
        if (rc == IOTSEC_OK)
            rc = group_tree_leave(&g->tree, leaf);
    }
    for (size_t i = 0; rc == IOTSEC_OK && i < ch->nadd; i++) {
        uint32_t leaf;
        ch->failed_supi = ch->add[i];
        rc = group_tree_join(&g->tree, &leaf);
        if (rc == IOTSEC_OK)
            rc = group_store_member_add(c, g->ref, ch->add[i], leaf, ch->now);
    }
    if (rc != IOTSEC_OK)
        return rc;
    ch->failed_supi = NULL;
    uint8_t *msg;
    if ((rc = group_tree_rekey(&g->tree, g->ref, ch->gs->sk, &msg, &ch->rekey_bytes,
                               &ch->rekey_entries)) != IOTSEC_OK)
        return rc;
    rc = group_store_save_rekey(c, ch->gs->o.kek, g->ref, &g->tree, msg, ch->rekey_bytes, ch->now);
    if (rc == IOTSEC_OK && ch->gs->push.collect != NULL) {
        ch->push_finish = ch->gs->push.finish;
        ch->push_ctx = ch->gs->push.ctx;
        rc = ch->gs->push.collect(ch->gs->push.ctx, c, g, ch, msg, ch->rekey_bytes, &ch->push);
    }
    free(msg);
    ch->epoch = g->tree.epoch;
    return rc;
}

int group_change_run(struct store_conn *c, void *arg)
{
    struct group_change *ch = arg;
    struct group_row row;
    int rc = group_store_find(c, ch->external_id, &row);
    if (rc != IOTSEC_OK)
        return rc;
    struct group *g;
    pthread_mutex_lock(&ch->gs->mu);
    if ((rc = cached(ch->gs, c, &row, &g)) == IOTSEC_OK && (rc = apply(ch, c, g)) != IOTSEC_OK)
        forget(ch->gs, row.ref);
    pthread_mutex_unlock(&ch->gs->mu);
    return rc;
}

int group_service_protect(struct group_service *gs, struct store_conn *c,
                          const struct group_row *row, uint32_t sender, const uint8_t *pt,
                          size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len,
                          uint32_t *epoch)
{
    struct group *g;
    uint32_t slot;
    pthread_mutex_lock(&gs->mu);
    int rc = cached(gs, c, row, &g);
    if (rc == IOTSEC_OK && (rc = group_sender_slot(g, sender, &slot)) == IOTSEC_OK &&
        g->senders[slot].next_seq >= g->senders[slot].reserved_end) {
        uint64_t first;
        rc = group_store_reserve_seq(c, g->ref, sender, SEQ_BLOCK, &first);
        if (rc == IOTSEC_OK) {
            if (first > g->senders[slot].next_seq)
                g->senders[slot].next_seq = first;
            g->senders[slot].reserved_end = first + SEQ_BLOCK;
        }
    }
    if (rc == IOTSEC_OK)
        rc = group_protect(g, gs->sk, sender, pt, pt_len, out, out_max, out_len);
    if (rc == IOTSEC_OK)
        *epoch = g->tree.epoch;
    else if (rc != GROUP_ERR_TOO_LARGE)
        forget(gs, row->ref);
    pthread_mutex_unlock(&gs->mu);
    return rc;
}

/* Sequences for count (<= GROUP_BATCH_MAX) more messages of sender, reserved in the store
 * ahead of use. */
static int reserve(struct store_conn *c, struct group *g, uint32_t sender, uint32_t count)
{
    uint32_t slot;
    int rc = group_sender_slot(g, sender, &slot);
    if (rc != IOTSEC_OK || g->senders[slot].next_seq + count <= g->senders[slot].reserved_end)
        return rc;
    uint64_t first;
    if ((rc = group_store_reserve_seq(c, g->ref, sender, SEQ_BLOCK, &first)) != IOTSEC_OK)
        return rc;
    /* a block that does not follow the one in use: what is left of the old one is skipped */
    if (first != g->senders[slot].reserved_end && first > g->senders[slot].next_seq)
        g->senders[slot].next_seq = first;
    g->senders[slot].reserved_end = first + SEQ_BLOCK;
    return IOTSEC_OK;
}

int group_service_protect_batch(struct group_service *gs, struct store_conn *c,
                                const struct group_row *row, struct group_send *m, uint16_t n,
                                uint32_t *epoch)
{
    struct group *g;
    pthread_mutex_lock(&gs->mu);
    int rc = cached(gs, c, row, &g);
    for (uint16_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        uint32_t count = 0; /* this sender's messages in the batch, counted at its first */
        bool first = true;
        for (uint16_t j = 0; j < n; j++) {
            if (m[j].sender == m[i].sender) {
                first = first && j >= i;
                count++;
            }
        }
        if (first)
            rc = reserve(c, g, m[i].sender, count);
    }
    if (rc == IOTSEC_OK)
        rc = group_protect_batch(g, gs->sk, m, n);
    if (rc == IOTSEC_OK)
        *epoch = g->tree.epoch;
    else if (rc != GROUP_ERR_TOO_LARGE)
        forget(gs, row->ref);
    pthread_mutex_unlock(&gs->mu);
    return rc;
}

int group_service_path_keys(struct group_service *gs, struct store_conn *c,
                            const struct group_row *row, uint32_t leaf,
                            const uint8_t kgm[GROUP_MKEY_LEN], uint8_t *out, size_t out_max,
                            size_t *out_len)
{
    struct group *g;
    struct group_path p;
    pthread_mutex_lock(&gs->mu);
    int rc = cached(gs, c, row, &g);
    if (rc == IOTSEC_OK && group_tree_pending(&g->tree))
        rc = IOTSEC_ERR_STATE; /* never keys a rekey has not covered yet */
    if (rc == IOTSEC_OK)
        rc = group_tree_path(&g->tree, g->ref, leaf, &p);
    pthread_mutex_unlock(&gs->mu);
    if (rc != IOTSEC_OK)
        return rc;
    group_service_sign_pub(gs, p.sign_pub);
    rc = group_path_seal(kgm, &p, out, out_max, out_len);
    secure_wipe(&p, sizeof(p));
    return rc;
}

int group_create_run(struct store_conn *c, void *arg)
{
    struct group_create *gc = arg;
    uint64_t ref;
    int rc = crypto_random(&ref, sizeof(ref));
    if (rc != IOTSEC_OK)
        return rc;
    gc->row.ref = (ref & INT64_MAX) | 1; /* 63 bits, never 0 */
    gc->row.depth = group_tree_depth_for(gc->row.arity, gc->capacity);
    gc->row.epoch = 0;
    struct group_tree t; /* checks the shape before it is stored */
    if ((rc = group_tree_init(&t, gc->row.arity, gc->row.depth)) != IOTSEC_OK)
        return rc;
    group_tree_free(&t);
    return group_store_create(c, &gc->row);
}

struct evict_job {
    struct group_service *gs;
    char supi[64];
    char (*ext)[GROUP_EXT_ID_MAX + 1];
    size_t n, cap;
    void *push;
    void (*push_finish)(void *ctx, void *push, int rc);
    void *push_ctx;
};

static void collect(const struct group_row *g, void *ctx)
{
    struct evict_job *j = ctx;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 8;
        void *p = realloc(j->ext, cap * sizeof(*j->ext));
        if (p == NULL)
            return; /* the job then fails on the count check below */
        j->ext = p;
        j->cap = cap;
    }
    memcpy(j->ext[j->n++], g->external_id, sizeof(j->ext[0]));
}

static int evict_run(struct store_conn *c, void *arg)
{
    struct evict_job *j = arg;
    j->n = 0;
    int rc = group_store_groups_of(c, j->supi, collect, j);
    for (size_t i = 0; rc == IOTSEC_OK && i < j->n; i++) {
        const char *one[1] = {j->supi};
        struct group_change ch = {.gs = j->gs,
                                  .remove = one,
                                  .nremove = 1,
                                  .now = time(NULL),
                                  .push = j->push,
                                  .push_finish = j->push_finish,
                                  .push_ctx = j->push_ctx};
        memcpy(ch.external_id, j->ext[i], sizeof(ch.external_id));
        rc = group_change_run(c, &ch);
        j->push = ch.push;
        j->push_finish = ch.push_finish;
        j->push_ctx = ch.push_ctx;
    }
    return rc;
}

static void evict_done(void *arg, int rc)
{
    struct evict_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_ERROR, NULL, "groups: a quarantined member could not be removed: %s",
                iotsec_strerror(rc));
    else if (j->n > 0)
        log_msg(LOG_INFO, NULL, "groups: a quarantined member left %zu group(s), each rekeyed",
                j->n);
    struct group_change ch = {
        .gs = j->gs, .push = j->push, .push_finish = j->push_finish, .push_ctx = j->push_ctx};
    group_change_finish(&ch, rc);
    free(j->ext);
    free(j);
}

int group_service_evict(struct group_service *gs, const char *supi)
{
    struct evict_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return IOTSEC_ERR_NOMEM;
    j->gs = gs;
    snprintf(j->supi, sizeof(j->supi), "%s", supi);
    struct store_job job = {evict_run, evict_done, j};
    int rc = store_submit(gs->o.store, &job);
    if (rc != IOTSEC_OK)
        free(j);
    return rc;
}
