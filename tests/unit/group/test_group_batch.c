/* Batch signatures (alg 2): one Ed25519 signature over the Merkle root of up to 64 messages.
 * Every message of a batch verifies alone at any member, in any order; a tampered leaf, path,
 * index or root is BAD_PATH, a root not signed by the network (tampered signature, a member's
 * own batch) BAD_ROOT_SIG; the root cache saves the signature check but never accepts another
 * signature; the batcher flushes on size and on age. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "group/group_batcher.h"
#include "group_test.h"

static struct gt_net net;

#define MSG_MAX (GROUP_MSG_BATCH_OVERHEAD_MAX + 64)

struct batch {
    uint16_t n;
    uint8_t out[GROUP_BATCH_MAX][MSG_MAX];
    char text[GROUP_BATCH_MAX][32];
    struct group_send m[GROUP_BATCH_MAX];
};

static struct batch b;

static int make_batch(struct group *g, const struct prov_sign_key *sk, uint16_t n)
{
    b.n = n;
    for (uint16_t i = 0; i < n; i++) {
        snprintf(b.text[i], sizeof(b.text[i]), "message %u of %u", i, n);
        b.m[i] = (struct group_send){.sender = 7 + i % 3, /* senders may share a batch */
                                     .pt = (const uint8_t *)b.text[i],
                                     .pt_len = strlen(b.text[i]),
                                     .out = b.out[i],
                                     .out_max = MSG_MAX};
    }
    return group_protect_batch(g, sk, b.m, n);
}

static int rx(int dev, const uint8_t *msg, size_t len, char *text)
{
    uint8_t pt[GROUP_MAX_PAYLOAD];
    size_t n = 0;
    uint32_t sender = 0;
    int rc = group_member_receive(&net.dev[dev], msg, len, pt, sizeof(pt), &n, &sender);
    if (rc == IOTSEC_OK && text != NULL) {
        memcpy(text, pt, n);
        text[n] = 0;
    }
    return rc;
}

static void test_every_message_verifies_alone(void **state)
{
    (void)state;
    static const uint16_t sizes[] = {1, 2, 3, 5, 7, 33, 64};
    gt_setup(&net, 4, 2, 3);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint16_t n = sizes[s];
        assert_int_equal(make_batch(&net.g, net.sk, n), IOTSEC_OK);
        for (uint16_t i = 0; i < n; i++) {
            assert_int_equal(b.m[i].out_len, group_msg_batch_len(b.m[i].pt_len, i, n));
            struct group_msg_view v;
            assert_int_equal(group_msg_parse(b.out[i], b.m[i].out_len, &v), IOTSEC_OK);
            assert_int_equal(v.h.alg, GROUP_ALG_AES128GCM_ED25519_BATCH);
            assert_int_equal(v.batch_count, n);
            assert_int_equal(v.batch_index, i);
            assert_null(memmem(b.out[i], b.m[i].out_len, "message", 7)); /* confidential */
        }
        /* device 0 in order, device 1 backwards, device 2 only the last message */
        for (uint16_t k = 0; k < n; k++) {
            char text[64];
            assert_int_equal(rx(0, b.out[k], b.m[k].out_len, text), IOTSEC_OK);
            assert_string_equal(text, b.text[k]);
            uint16_t j = (uint16_t)(n - 1 - k);
            assert_int_equal(rx(1, b.out[j], b.m[j].out_len, text), IOTSEC_OK);
            assert_string_equal(text, b.text[j]);
        }
        assert_int_equal(rx(2, b.out[n - 1], b.m[n - 1].out_len, NULL), IOTSEC_OK);
    }
    gt_teardown(&net);
}

static void test_root_cache(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    assert_int_equal(make_batch(&net.g, net.sk, 64), IOTSEC_OK);
    for (uint16_t i = 0; i < 64; i++)
        assert_int_equal(rx(0, b.out[i], b.m[i].out_len, NULL), IOTSEC_OK);
    /* one root verified once, then found in the cache for the 63 others */
    assert_int_equal(net.dev[0].roots.n, 1);
    /* a cached root with another signature is still refused */
    assert_int_equal(rx(1, b.out[0], b.m[0].out_len, NULL), IOTSEC_OK);
    b.out[1][b.m[1].out_len - 1] ^= 1;
    assert_int_equal(rx(1, b.out[1], b.m[1].out_len, NULL), GROUP_ERR_BAD_ROOT_SIG);
    b.out[1][b.m[1].out_len - 1] ^= 1;
    assert_int_equal(rx(1, b.out[1], b.m[1].out_len, NULL), IOTSEC_OK);
    /* and the replay window still applies within a batch */
    assert_int_equal(rx(1, b.out[1], b.m[1].out_len, NULL), GROUP_ERR_REPLAYED);
    gt_teardown(&net);
}

/* Flips bits (mask) at off of message i and expects err from a fresh member (device 0) and
 * from one that has the batch's root cached (device 1). */
static void expect_xor(uint16_t i, size_t off, uint8_t mask, int err)
{
    uint8_t copy[MSG_MAX];
    memcpy(copy, b.out[i], b.m[i].out_len);
    copy[off] ^= mask;
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), err);
    assert_int_equal(rx(1, copy, b.m[i].out_len, NULL), err);
}

static void expect_flip(uint16_t i, size_t off, int err)
{
    expect_xor(i, off, 0x10, err);
}

static void test_tampering(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    assert_int_equal(make_batch(&net.g, net.sk, 5), IOTSEC_OK);
    assert_int_equal(rx(1, b.out[4], b.m[4].out_len, NULL), IOTSEC_OK); /* caches the root */
    uint16_t i = 2; /* index 2 of 5: a path of 3 digests (leaf 3, node 01, leaf 4 promoted) */
    size_t sealed = GROUP_MSG_HDR_LEN + b.m[i].pt_len + GROUP_TAG_LEN;
    size_t trailer = sealed, root = trailer + 4, path = root + GROUP_HASH_LEN + 1;
    assert_int_equal(group_batch_path_len(i, 5), 3);
    assert_int_equal(group_batch_path_len(4, 5), 1); /* the odd one out: only the top pair */
    assert_int_equal(group_batch_path_len(0, 1), 0);
    assert_int_equal(group_batch_path_len(63, 64), GROUP_BATCH_PATH_MAX);
    assert_int_equal(b.m[i].out_len, path + 3 * GROUP_HASH_LEN + GROUP_SIG_LEN);
    expect_flip(i, GROUP_MSG_HDR_LEN + 1, GROUP_ERR_BAD_PATH);     /* leaf: the ciphertext */
    expect_flip(i, 14, GROUP_ERR_BAD_PATH);                        /* leaf: the header's epoch */
    expect_flip(i, sealed - 1, GROUP_ERR_BAD_PATH);                /* leaf: the tag */
    expect_flip(i, path, GROUP_ERR_BAD_PATH);                      /* first path digest */
    expect_flip(i, path + GROUP_HASH_LEN + 5, GROUP_ERR_BAD_PATH); /* second */
    expect_flip(i, path + 2 * GROUP_HASH_LEN + 31, GROUP_ERR_BAD_PATH); /* third */
    expect_flip(i, root + 3, GROUP_ERR_BAD_PATH);                       /* the root carried */
    expect_xor(i, trailer + 3, 0x01, GROUP_ERR_BAD_PATH);        /* index 2 -> 3: not its path */
    expect_flip(i, b.m[i].out_len - 10, GROUP_ERR_BAD_ROOT_SIG); /* the signature */
    /* count 5 -> 21: another tree shape (and another signed count) */
    expect_flip(i, trailer + 1, GROUP_ERR_BAD_PATH);
    /* structure: index >= count, count 0, path length over the maximum, truncations */
    uint8_t copy[MSG_MAX];
    memcpy(copy, b.out[i], b.m[i].out_len);
    copy[trailer + 3] = 9;
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), GROUP_ERR_MALFORMED);
    memcpy(copy, b.out[i], b.m[i].out_len);
    copy[trailer] = copy[trailer + 1] = 0;
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), GROUP_ERR_MALFORMED);
    memcpy(copy, b.out[i], b.m[i].out_len);
    copy[root + GROUP_HASH_LEN] = GROUP_BATCH_PATH_MAX + 1;
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), GROUP_ERR_MALFORMED);
    copy[root + GROUP_HASH_LEN] = 1; /* a path of one digest: the signature seems longer */
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), GROUP_ERR_MALFORMED);
    assert_int_equal(rx(0, b.out[i], b.m[i].out_len - 1, NULL), GROUP_ERR_TRUNCATED);
    assert_int_equal(rx(0, b.out[i], trailer + 3, NULL), GROUP_ERR_TRUNCATED);
    assert_int_equal(rx(0, b.out[i], sealed, NULL), GROUP_ERR_UNSIGNED);
    memcpy(copy, b.out[i], b.m[i].out_len);
    memset(copy + b.m[i].out_len - GROUP_SIG_LEN, 0, GROUP_SIG_LEN);
    assert_int_equal(rx(0, copy, b.m[i].out_len, NULL), GROUP_ERR_UNSIGNED);
    /* the untouched message still verifies at both */
    assert_int_equal(rx(0, b.out[i], b.m[i].out_len, NULL), IOTSEC_OK);
    assert_int_equal(rx(1, b.out[i], b.m[i].out_len, NULL), IOTSEC_OK);
    gt_teardown(&net);
}

/* A member holds the traffic key and batches its own messages under its own key: the path
 * checks out, the root's signature does not. */
static void test_member_batch_forgery(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    struct prov_sign_key *evil;
    uint8_t seed[32], pub[32];
    assert_int_equal(prov_ed25519_keygen(seed, pub), IOTSEC_OK);
    assert_int_equal(prov_sign_key_new(seed, &evil), IOTSEC_OK);
    struct group copy = net.g; /* the same tree and keys, as a member knows them */
    assert_int_equal(make_batch(&copy, evil, 3), IOTSEC_OK);
    for (uint16_t i = 0; i < 3; i++)
        assert_int_equal(rx(0, b.out[i], b.m[i].out_len, NULL), GROUP_ERR_BAD_ROOT_SIG);
    prov_sign_key_free(evil);
    gt_teardown(&net);
}

static void test_epochs_and_errors(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 3);
    assert_int_equal(make_batch(&net.g, net.sk, 2), IOTSEC_OK);
    size_t len0 = b.m[0].out_len;
    uint8_t old[MSG_MAX];
    memcpy(old, b.out[0], len0);
    /* a member leaves: before the rekey nothing is protected */
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[2]), IOTSEC_OK);
    assert_int_equal(make_batch(&net.g, net.sk, 2), IOTSEC_ERR_STATE);
    size_t rlen;
    uint8_t *rk = gt_rekey(&net, &rlen, NULL);
    assert_int_equal(group_member_rekey(&net.dev[0], rk, rlen), IOTSEC_OK);
    free(rk);
    assert_int_equal(make_batch(&net.g, net.sk, 2), IOTSEC_OK);
    assert_int_equal(rx(0, b.out[0], b.m[0].out_len, NULL), IOTSEC_OK);
    assert_int_equal(rx(0, old, len0, NULL), GROUP_ERR_STALE_EPOCH);
    assert_int_equal(rx(2, b.out[1], b.m[1].out_len, NULL), GROUP_ERR_FUTURE_EPOCH); /* leaver */
    assert_int_equal(make_batch(&net.g, net.sk, 0), IOTSEC_ERR_INVALID);
    assert_int_equal(group_protect_batch(&net.g, net.sk, b.m, GROUP_BATCH_MAX + 1),
                     IOTSEC_ERR_INVALID);
    b.m[0].pt_len = GROUP_MAX_PAYLOAD + 1;
    assert_int_equal(group_protect_batch(&net.g, net.sk, b.m, 1), GROUP_ERR_TOO_LARGE);
    b.m[0].pt_len = 3;
    b.m[0].out_max = GROUP_MSG_HDR_LEN + 3 + GROUP_TAG_LEN; /* no room for the trailer */
    assert_int_equal(group_protect_batch(&net.g, net.sk, b.m, 1), IOTSEC_ERR_INVALID);
    gt_teardown(&net);
}

/* ---- the batcher ------------------------------------------------------------------------ */

struct sink {
    int emitted, failed;
    int dev; /* who receives what is emitted */
    uint16_t last_count;
};

static void emit(void *ctx, void *cookie, int rc, const uint8_t *msg, size_t len)
{
    struct sink *s = ctx;
    (void)cookie;
    if (rc != IOTSEC_OK) {
        s->failed++;
        return;
    }
    struct group_msg_view v;
    assert_int_equal(group_msg_parse(msg, len, &v), IOTSEC_OK);
    s->last_count = v.batch_count;
    assert_int_equal(rx(s->dev, msg, len, NULL), IOTSEC_OK);
    s->emitted++;
}

static void test_batcher(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    struct sink s = {0};
    struct group_batcher *bt;
    assert_int_equal(group_batcher_new(&net.g, net.sk, 64, 2000, emit, &s, &bt), IOTSEC_OK);
    int64_t next;
    /* full: the 64th message flushes the batch */
    for (int i = 0; i < 63; i++)
        assert_int_equal(group_batcher_add(bt, 5, (const uint8_t *)"v", 1, NULL, 1000 + i),
                         IOTSEC_OK);
    assert_int_equal(s.emitted, 0);
    assert_int_equal(group_batcher_add(bt, 5, (const uint8_t *)"v", 1, NULL, 1100), IOTSEC_OK);
    assert_int_equal(s.emitted, 64);
    assert_int_equal(s.last_count, 64);
    assert_int_equal(group_batcher_queued(bt), 0);
    /* age: a lone message waits until its deadline, then goes as a batch of one */
    assert_int_equal(group_batcher_poll(bt, 5000, &next), IOTSEC_OK);
    assert_int_equal(next, -1);
    assert_int_equal(group_batcher_add(bt, 5, (const uint8_t *)"w", 1, NULL, 10000), IOTSEC_OK);
    assert_int_equal(group_batcher_poll(bt, 11999, &next), IOTSEC_OK);
    assert_int_equal(s.emitted, 64);
    assert_int_equal(next, 1);
    assert_int_equal(group_batcher_poll(bt, 12000, &next), IOTSEC_OK);
    assert_int_equal(s.emitted, 65);
    assert_int_equal(s.last_count, 1);
    assert_int_equal(next, -1);
    /* refusals: oversize is not queued; an error reaches every queued message */
    static uint8_t big[GROUP_MAX_PAYLOAD + 1];
    assert_int_equal(group_batcher_add(bt, 5, big, sizeof(big), NULL, 0), GROUP_ERR_TOO_LARGE);
    assert_int_equal(group_batcher_queued(bt), 0);
    assert_int_equal(group_batcher_add(bt, 5, (const uint8_t *)"x", 1, NULL, 0), IOTSEC_OK);
    assert_int_equal(group_batcher_add(bt, 6, (const uint8_t *)"y", 1, NULL, 0), IOTSEC_OK);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[1]), IOTSEC_OK); /* rekey pending */
    assert_int_equal(group_batcher_flush(bt), IOTSEC_ERR_STATE);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.emitted, 65);
    /* freeing flushes what is queued */
    size_t rlen;
    uint8_t *rk = gt_rekey(&net, &rlen, NULL);
    assert_int_equal(group_member_rekey(&net.dev[0], rk, rlen), IOTSEC_OK);
    free(rk);
    assert_int_equal(group_batcher_add(bt, 5, (const uint8_t *)"z", 1, NULL, 0), IOTSEC_OK);
    group_batcher_free(bt);
    assert_int_equal(s.emitted, 66);
    assert_int_equal(group_batcher_new(&net.g, net.sk, 0, 2000, emit, &s, &bt), IOTSEC_ERR_INVALID);
    assert_int_equal(group_batcher_new(&net.g, net.sk, 65, 2000, emit, &s, &bt),
                     IOTSEC_ERR_INVALID);
    gt_teardown(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_message_verifies_alone),
        cmocka_unit_test(test_root_cache),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_member_batch_forgery),
        cmocka_unit_test(test_epochs_and_errors),
        cmocka_unit_test(test_batcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
