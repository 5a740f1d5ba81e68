/* Batch signatures for group messages (alg 2, docs/group.md): one Ed25519 signature per batch
 * over the root of a Merkle tree of the messages' digests, so the signature (about 60 us here)
 * is paid once per batch, while each message stays verifiable on its own: it carries its leaf
 * index, the root and its authentication path (at most 6 digests for 64 messages). */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/group_batch.h"
#include "crypto/hmac_sha256.h"

static const char batch_label[] = "iotsec group batch v1";

static void leaf_digest(const uint8_t *msg, size_t len, uint8_t out[GROUP_HASH_LEN])
{
    static const uint8_t tag = 0x00;
    sha256_2(&tag, 1, msg, len, out);
}

static void node_digest(const uint8_t *l, const uint8_t *r, uint8_t out[GROUP_HASH_LEN])
{
    uint8_t buf[1 + 2 * GROUP_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, l, GROUP_HASH_LEN);
    memcpy(buf + 1 + GROUP_HASH_LEN, r, GROUP_HASH_LEN);
    sha256_2(buf, sizeof(buf), NULL, 0, out);
}

uint8_t group_batch_path_len(uint16_t index, uint16_t count)
{
    uint8_t n = 0;
    for (uint32_t s = count, i = index; s > 1; i >>= 1, s = (s + 1) / 2)
        if ((i ^ 1) < s)
            n++;
    return n;
}

/* What the network signs: the label, the batch size and the root. */
static size_t root_tbs(uint16_t count, const uint8_t root[GROUP_HASH_LEN], uint8_t *out)
{
    size_t n = sizeof(batch_label) - 1;
    memcpy(out, batch_label, n);
    out[n++] = (uint8_t)(count >> 8);
    out[n++] = (uint8_t)count;
    memcpy(out + n, root, GROUP_HASH_LEN);
    return n + GROUP_HASH_LEN;
}

int group_batch_sign(const struct prov_sign_key *sk, struct group_batch_item *items, uint16_t n)
{
    if (n == 0 || n > GROUP_BATCH_MAX)
        return IOTSEC_ERR_INVALID;
    /* every level of the tree, leaves at level 0 */
    static _Thread_local uint8_t lv[GROUP_BATCH_PATH_MAX + 1][GROUP_BATCH_MAX][GROUP_HASH_LEN];
    uint32_t size[GROUP_BATCH_PATH_MAX + 1];
    for (uint16_t i = 0; i < n; i++) {
        if (items[i].cap <
            items[i].sealed_len + GROUP_BATCH_TRAILER_LEN(group_batch_path_len(i, n)))
            return IOTSEC_ERR_INVALID;
        leaf_digest(items[i].msg, items[i].sealed_len, lv[0][i]);
    }
    size[0] = n;
    uint32_t top = 0;
    while (size[top] > 1) {
        uint32_t s = size[top];
        for (uint32_t i = 0; i < s / 2; i++)
            node_digest(lv[top][2 * i], lv[top][2 * i + 1], lv[top + 1][i]);
        if (s & 1) /* the odd node out goes up unchanged */
            memcpy(lv[top + 1][s / 2], lv[top][s - 1], GROUP_HASH_LEN);
        size[++top] = (s + 1) / 2;
    }
    const uint8_t *root = lv[top][0];
    uint8_t tbs[sizeof(batch_label) + 2 + GROUP_HASH_LEN], sig[GROUP_SIG_LEN];
    int rc = prov_ed25519_sign(sk, tbs, root_tbs(n, root, tbs), sig);
    if (rc != IOTSEC_OK)
        return rc;
    for (uint16_t i = 0; i < n; i++) {
        struct prov_writer w = {.buf = items[i].msg + items[i].sealed_len,
                                .cap = items[i].cap - items[i].sealed_len};
        prov_put_u16(&w, n);
        prov_put_u16(&w, i);
        prov_put(&w, root, GROUP_HASH_LEN);
        prov_put_u8(&w, group_batch_path_len(i, n));
        uint32_t idx = i;
        for (uint32_t l = 0; l < top; l++, idx >>= 1)
            if ((idx ^ 1) < size[l])
                prov_put(&w, lv[l][idx ^ 1], GROUP_HASH_LEN);
        prov_put(&w, sig, GROUP_SIG_LEN);
        items[i].len = items[i].sealed_len + w.len;
    }
    return IOTSEC_OK;
}

static bool cached(const struct group_root_cache *c, const struct group_msg_view *v)
{
    for (uint8_t i = 0; c != NULL && i < c->n; i++)
        if (c->count[i] == v->batch_count && memcmp(c->root[i], v->root, GROUP_HASH_LEN) == 0 &&
            memcmp(c->sig[i], v->sig, GROUP_SIG_LEN) == 0)
            return true;
    return false;
}

int group_batch_verify(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN],
                       struct group_root_cache *cache)
{
    if (v->path_len != group_batch_path_len(v->batch_index, v->batch_count))
        return GROUP_ERR_BAD_PATH;
    uint8_t cur[GROUP_HASH_LEN];
    leaf_digest(v->start, v->signed_len, cur);
    const uint8_t *p = v->path;
    for (uint32_t s = v->batch_count, i = v->batch_index; s > 1; i >>= 1, s = (s + 1) / 2) {
        if ((i ^ 1) >= s)
            continue;
        if (i & 1)
            node_digest(p, cur, cur);
        else
            node_digest(cur, p, cur);
        p += GROUP_HASH_LEN;
    }
    if (!ct_equal(cur, v->root, GROUP_HASH_LEN))
        return GROUP_ERR_BAD_PATH;
    if (cached(cache, v))
        return IOTSEC_OK;
    uint8_t tbs[sizeof(batch_label) + 2 + GROUP_HASH_LEN];
    if (prov_ed25519_verify(pub, tbs, root_tbs(v->batch_count, v->root, tbs), v->sig) != IOTSEC_OK)
        return GROUP_ERR_BAD_ROOT_SIG;
    if (cache != NULL) {
        uint8_t k = cache->next;
        memcpy(cache->root[k], v->root, GROUP_HASH_LEN);
        memcpy(cache->sig[k], v->sig, GROUP_SIG_LEN);
        cache->count[k] = v->batch_count;
        cache->next = (uint8_t)((k + 1) % GROUP_ROOT_CACHE);
        if (cache->n < GROUP_ROOT_CACHE)
            cache->n++;
    }
    return IOTSEC_OK;
}
