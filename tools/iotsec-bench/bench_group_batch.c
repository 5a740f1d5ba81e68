/* Batch-signed group messages (alg 2, docs/group.md) against one signature per message, in the
 * same run: the network's protect rate through the batcher (batches of 64, and a lone message
 * as a batch of one), ECDSA P-256 signing as a comparison, the wire overhead, and the device's
 * verify + decrypt per message with the batch root cached (amortised) and without. */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bench.h"
#include "group/group.h"
#include "group/group_batcher.h"
#include "group_member.h"

#define PT_LEN 100

struct bctx {
    struct group *g;
    const struct prov_sign_key *sk;
    struct group_batcher *bt;
    uint16_t size;
    uint64_t emitted, failed;
    EVP_PKEY_CTX *ecdsa;
    struct group_member dev;
    uint8_t *msgs[GROUP_BATCH_MAX];
    size_t lens[GROUP_BATCH_MAX];
};

static void count(void *ctx, void *cookie, int rc, const uint8_t *msg, size_t len)
{
    struct bctx *c = ctx;
    (void)cookie, (void)msg, (void)len;
    if (rc == IOTSEC_OK)
        c->emitted++;
    else
        c->failed++;
}

/* One op = one batch of c->size messages queued until the batcher flushes it. */
static int op_batch(void *arg, uint64_t i)
{
    struct bctx *c = arg;
    uint8_t pt[PT_LEN] = {(uint8_t)i};
    int rc = IOTSEC_OK;
    for (uint16_t k = 0; rc == IOTSEC_OK && k < c->size; k++)
        rc = group_batcher_add(c->bt, 1, pt, sizeof(pt), NULL, 0);
    return rc == IOTSEC_OK && c->failed == 0 && group_batcher_queued(c->bt) == 0 ? 0 : -1;
}

static int op_ecdsa(void *arg, uint64_t i)
{
    struct bctx *c = arg;
    uint8_t m[GROUP_MSG_HDR_LEN + PT_LEN + GROUP_TAG_LEN] = {(uint8_t)i}, d[32], sig[80];
    size_t n = sizeof(sig);
    SHA256(m, sizeof(m), d);
    return EVP_PKEY_sign(c->ecdsa, sig, &n, d, sizeof(d)) == 1 ? 0 : -1;
}

static int op_receive_all(void *arg, uint64_t i)
{
    (void)i;
    struct bctx *c = arg;
    uint8_t pt[GROUP_MAX_PAYLOAD];
    size_t n;
    uint32_t s;
    c->dev.nsenders = 0; /* the same batch each time: forget it was seen */
    c->dev.roots.n = 0;  /* and its root: the first message pays the signature */
    for (uint16_t k = 0; k < c->size; k++)
        if (group_member_receive(&c->dev, c->msgs[k], c->lens[k], pt, sizeof(pt), &n, &s) !=
            IOTSEC_OK)
            return -1;
    return 0;
}

static double protect_rate(struct bctx *c, uint16_t size, double seconds)
{
    c->size = size;
    if (group_batcher_new(c->g, c->sk, size, 2000, count, c, &c->bt) != IOTSEC_OK)
        return -1;
    double r = bench_group_cpu_rate(op_batch, c, seconds);
    group_batcher_free(c->bt);
    return r < 0 ? -1 : r * size;
}

static int ecdsa_figure(struct bctx *c, double seconds)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    c->ecdsa = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    int rc = c->ecdsa && EVP_PKEY_sign_init(c->ecdsa) == 1 ? 0 : -1;
    if (rc == 0) {
        double r = bench_group_cpu_rate(op_ecdsa, c, seconds);
        if (r > 0)
            bench_report("group_protect_compare_ecdsa_p256_sign", r, "sigs/s", 1);
        else
            rc = -1;
    }
    EVP_PKEY_CTX_free(c->ecdsa);
    EVP_PKEY_free(k);
    return rc;
}

/* A member of g at its first occupied leaf, joined with its path keys. */
static int join_one(struct bctx *c, const uint8_t pub[32])
{
    const struct group_tree *t = &c->g->tree;
    uint32_t leaf = t->first_leaf;
    while (leaf < t->nodes && t->count[leaf] == 0)
        leaf++;
    uint8_t kgm[GROUP_MKEY_LEN] = {9}, buf[1024];
    struct group_path p;
    size_t len;
    if (leaf == t->nodes || group_tree_path(t, c->g->ref, leaf, &p) != IOTSEC_OK)
        return -1;
    memcpy(p.sign_pub, pub, GROUP_PUB_LEN);
    group_member_init(&c->dev, c->g->ref, kgm);
    int rc = group_path_seal(kgm, &p, buf, sizeof(buf), &len);
    if (rc == IOTSEC_OK)
        rc = group_member_join(&c->dev, buf, len);
    return rc == IOTSEC_OK ? 0 : -1;
}

static int device_figures(struct bctx *c, const uint8_t pub[32], double seconds)
{
    if (join_one(c, pub) != 0)
        return -1;
    struct group_send m[GROUP_BATCH_MAX];
    static uint8_t out[GROUP_BATCH_MAX][GROUP_MSG_BATCH_OVERHEAD_MAX + PT_LEN];
    uint8_t pt[PT_LEN] = {0};
    for (uint16_t k = 0; k < GROUP_BATCH_MAX; k++)
        m[k] = (struct group_send){
            .sender = 1, .pt = pt, .pt_len = PT_LEN, .out = out[k], .out_max = sizeof(out[k])};
    if (group_protect_batch(c->g, c->sk, m, GROUP_BATCH_MAX) != IOTSEC_OK)
        return -1;
    double bytes = 0;
    for (uint16_t k = 0; k < GROUP_BATCH_MAX; k++) {
        c->msgs[k] = out[k];
        c->lens[k] = m[k].out_len;
        bytes += (double)(m[k].out_len - PT_LEN);
    }
    bench_report("group_msg_overhead_batch64", bytes / GROUP_BATCH_MAX, "bytes/msg", 1);
    bench_report("group_msg_overhead_per_message_sig", GROUP_MSG_OVERHEAD, "bytes/msg", 1);
    c->size = GROUP_BATCH_MAX;
    double r = bench_group_cpu_rate(op_receive_all, c, seconds);
    if (r <= 0)
        return -1;
    bench_report("group_device_verify_decrypt_batch64_100B", 1e6 / (r * GROUP_BATCH_MAX), "us/msg",
                 1);
    c->size = 1; /* every message the first of its batch the device sees: no cache help */
    r = bench_group_cpu_rate(op_receive_all, c, seconds);
    if (r <= 0)
        return -1;
    bench_report("group_device_verify_decrypt_batch_uncached_100B", 1e6 / r, "us/msg", 1);
    group_member_wipe(&c->dev);
    return 0;
}

int bench_group_batch(struct group *g, const struct prov_sign_key *sk, const uint8_t pub[32],
                      double seconds)
{
    struct bctx c = {.g = g, .sk = sk};
    double r64 = protect_rate(&c, GROUP_BATCH_MAX, seconds);
    double r1 = r64 > 0 ? protect_rate(&c, 1, seconds) : -1;
    if (r64 <= 0 || r1 <= 0) {
        fprintf(stderr, "group batch: protection failed\n");
        return -1;
    }
    bench_report("group_protect_batch64_100B", r64, "msgs/s", 1);
    bench_report("group_protect_batch1_100B", r1, "msgs/s", 1);
    if (ecdsa_figure(&c, seconds) != 0 || device_figures(&c, pub, seconds) != 0) {
        fprintf(stderr, "group batch: a step failed\n");
        return -1;
    }
    return 0;
}
