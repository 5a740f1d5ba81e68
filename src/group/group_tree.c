/* The LKH key tree (RFC 2627, Wong-Gouda-Lam): join, leave, batched rekey, path keys. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "group/group.h"

uint8_t group_tree_depth_for(uint8_t arity, uint32_t members)
{
    uint8_t depth = 1;
    uint64_t cap = arity;
    while (cap < members && depth < GROUP_MAX_DEPTH) {
        cap *= arity;
        depth++;
    }
    return depth;
}

int group_tree_init(struct group_tree *t, uint8_t arity, uint8_t depth)
{
    memset(t, 0, sizeof(*t));
    if (arity < GROUP_MIN_ARITY || arity > GROUP_MAX_ARITY || depth == 0 || depth > GROUP_MAX_DEPTH)
        return IOTSEC_ERR_INVALID;
    uint64_t cap = 1, nodes = 1;
    for (uint8_t i = 0; i < depth; i++) {
        cap *= arity;
        nodes += cap;
        if (nodes > (1u << 31))
            return IOTSEC_ERR_INVALID;
    }
    t->arity = arity;
    t->depth = depth;
    t->nodes = (uint32_t)nodes;
    t->capacity = (uint32_t)cap;
    t->first_leaf = (uint32_t)(nodes - cap);
    t->key = calloc(nodes, GROUP_KEY_LEN);
    t->count = calloc(nodes, sizeof(uint32_t));
    t->dirty = calloc(nodes, 1);
    if (t->key == NULL || t->count == NULL || t->dirty == NULL) {
        group_tree_free(t);
        return IOTSEC_ERR_NOMEM;
    }
    return IOTSEC_OK;
}

void group_tree_free(struct group_tree *t)
{
    if (t->key != NULL)
        secure_wipe(t->key, (size_t)t->nodes * GROUP_KEY_LEN);
    free(t->key);
    free(t->count);
    free(t->dirty);
    free(t->pending);
    free(t->renewed);
    memset(t, 0, sizeof(*t));
}

bool group_tree_valid_leaf(const struct group_tree *t, uint32_t leaf)
{
    return t->key != NULL && leaf >= t->first_leaf && leaf < t->nodes;
}

/* Records a changed leaf once (its dirty flag doubles as "already pending"). */
static int mark_pending(struct group_tree *t, uint32_t leaf)
{
    if (t->dirty[leaf])
        return IOTSEC_OK;
    if (t->npending == t->pending_cap) {
        uint32_t cap = t->pending_cap ? t->pending_cap * 2 : 64;
        uint32_t *p = realloc(t->pending, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return IOTSEC_ERR_NOMEM;
        t->pending = p;
        t->pending_cap = cap;
    }
    t->pending[t->npending++] = leaf;
    t->dirty[leaf] = 1;
    return IOTSEC_OK;
}

static void add_count(struct group_tree *t, uint32_t leaf, int delta)
{
    uint32_t n = leaf;
    for (;;) {
        t->count[n] = (uint32_t)((int64_t)t->count[n] + delta);
        if (n == 0)
            break;
        n = group_node_parent(n, t->arity);
    }
}

int group_tree_join(struct group_tree *t, uint32_t *leaf)
{
    if (t->members >= t->capacity)
        return IOTSEC_ERR_BUSY;
    /* descend into the first child that is not full */
    uint32_t n = 0, below = t->capacity; /* leaves under n */
    for (uint8_t lvl = 0; lvl < t->depth; lvl++) {
        below /= t->arity;
        uint32_t c = t->arity * n + 1, i = 0;
        while (i < t->arity && t->count[c + i] >= below)
            i++;
        if (i == t->arity)
            return IOTSEC_ERR_STATE; /* counts inconsistent: never expected */
        n = c + i;
    }
    int rc = mark_pending(t, n);
    if (rc != IOTSEC_OK)
        return rc;
    if ((rc = crypto_random(t->key[n], GROUP_KEY_LEN)) != IOTSEC_OK)
        return rc;
    add_count(t, n, 1);
    t->members++;
    *leaf = n;
    return IOTSEC_OK;
}

int group_tree_leave(struct group_tree *t, uint32_t leaf)
{
    if (!group_tree_valid_leaf(t, leaf) || t->count[leaf] == 0)
        return IOTSEC_ERR_NOTFOUND;
    int rc = mark_pending(t, leaf);
    if (rc != IOTSEC_OK)
        return rc;
    secure_wipe(t->key[leaf], GROUP_KEY_LEN);
    add_count(t, leaf, -1);
    t->members--;
    return IOTSEC_OK;
}

static int note_renewed(struct group_tree *t, uint32_t n)
{
    if (t->nrenewed == t->renewed_cap) {
        uint32_t cap = t->renewed_cap ? t->renewed_cap * 2 : 64;
        uint32_t *p = realloc(t->renewed, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return IOTSEC_ERR_NOMEM;
        t->renewed = p;
        t->renewed_cap = cap;
    }
    t->renewed[t->nrenewed++] = n;
    return IOTSEC_OK;
}

/* Renews node p and wraps its new key under each occupied child; returns entries written. */
static int renew(struct group_tree *t, uint32_t p, uint8_t *msg, uint32_t *count)
{
    if (note_renewed(t, p) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    if (t->count[p] == 0) {
        secure_wipe(t->key[p], GROUP_KEY_LEN);
        return IOTSEC_OK;
    }
    int rc = crypto_random(t->key[p], GROUP_KEY_LEN);
    for (uint32_t i = 0; rc == IOTSEC_OK && i < t->arity; i++) {
        uint32_t c = t->arity * p + 1 + i;
        if (t->count[c] == 0)
            continue;
        struct group_rekey_entry e = {.node = p, .child = (uint8_t)i};
        rc = group_key_wrap(t->key[c], t->key[p], e.wrapped);
        if (rc == IOTSEC_OK)
            group_rekey_put_entry(msg, (*count)++, &e);
    }
    return rc;
}

int group_tree_rekey(struct group_tree *t, uint64_t ref, const struct prov_sign_key *sk,
                     uint8_t **out, size_t *out_len, uint32_t *entries)
{
    *out = NULL;
    /* at most arity entries per renewed node; at most npending nodes per level (and at
     * least the root) */
    uint64_t per_level = t->npending > 0 ? t->npending : 1;
    uint64_t max = per_level * t->depth * t->arity;
    if (max > UINT32_MAX / 2)
        return IOTSEC_ERR_INVALID;
    uint8_t *msg = malloc(group_rekey_len((uint32_t)max));
    uint32_t *cur = malloc((size_t)per_level * sizeof(uint32_t));
    uint32_t *next = malloc((size_t)per_level * sizeof(uint32_t));
    if (msg == NULL || cur == NULL || next == NULL) {
        free(msg);
        free(cur);
        free(next);
        return IOTSEC_ERR_NOMEM;
    }
    uint32_t ncur = t->npending, count = 0;
    memcpy(cur, t->pending, (size_t)ncur * sizeof(uint32_t));
    int rc = IOTSEC_OK;
    t->nrenewed = 0;
    for (uint32_t i = 0; rc == IOTSEC_OK && i < ncur; i++)
        rc = note_renewed(t, cur[i]);
    if (ncur == 0) { /* forced: the root alone */
        rc = renew(t, 0, msg, &count);
    }
    for (uint8_t lvl = t->depth; rc == IOTSEC_OK && lvl > 0 && ncur > 0; lvl--) {
        uint32_t nnext = 0;
        for (uint32_t i = 0; i < ncur; i++) {
            uint32_t p = group_node_parent(cur[i], t->arity);
            if (!t->dirty[p]) {
                t->dirty[p] = 1;
                next[nnext++] = p;
            }
        }
        for (uint32_t i = 0; rc == IOTSEC_OK && i < nnext; i++)
            rc = renew(t, next[i], msg, &count);
        for (uint32_t i = 0; i < ncur; i++)
            t->dirty[cur[i]] = 0;
        uint32_t *tmp = cur;
        cur = next;
        next = tmp;
        ncur = nnext;
    }
    for (uint32_t i = 0; i < ncur; i++)
        t->dirty[cur[i]] = 0;
    free(cur);
    free(next);
    if (rc != IOTSEC_OK) {
        free(msg);
        return rc; /* the tree keeps its pending list: a retry renews again */
    }
    struct group_rekey_hdr h = {.ref = ref,
                                .from_epoch = t->epoch,
                                .to_epoch = t->epoch + 1,
                                .arity = t->arity,
                                .depth = t->depth,
                                .count = count};
    group_rekey_put_hdr(&h, msg);
    if ((rc = group_rekey_sign(sk, msg, count)) != IOTSEC_OK) {
        free(msg);
        return rc;
    }
    t->epoch++;
    t->npending = 0;
    *out = msg;
    *out_len = group_rekey_len(count);
    if (entries != NULL)
        *entries = count;
    return IOTSEC_OK;
}

int group_tree_path(const struct group_tree *t, uint64_t ref, uint32_t leaf, struct group_path *p)
{
    if (!group_tree_valid_leaf(t, leaf) || t->count[leaf] == 0)
        return IOTSEC_ERR_NOTFOUND;
    if (group_tree_pending(t))
        return IOTSEC_ERR_STATE;
    memset(p, 0, sizeof(*p));
    p->ref = ref;
    p->leaf = leaf;
    p->epoch = t->epoch;
    p->arity = t->arity;
    p->depth = t->depth;
    uint32_t n = leaf;
    for (uint8_t i = 0; i <= t->depth; i++) {
        memcpy(p->keys[i], t->key[n], GROUP_KEY_LEN);
        if (n > 0)
            n = group_node_parent(n, t->arity);
    }
    return IOTSEC_OK;
}

int group_tree_traffic_key(const struct group_tree *t, uint8_t key[GROUP_KEY_LEN], uint32_t *key_id)
{
    if (t->members == 0 || group_tree_pending(t))
        return IOTSEC_ERR_STATE;
    memcpy(key, t->key[0], GROUP_KEY_LEN);
    *key_id = group_key_id(t->key[0]);
    return IOTSEC_OK;
}
