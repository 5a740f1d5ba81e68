/* The device SDK's receiver against the attacks of docs/group.md: forgery by a member,
 * unsigned, replay, reordering within and beyond the window, a removed member, tampered or
 * replayed rekeys, epoch e+2 before e+1 and the sleepy catch-up, wrong group, truncation,
 * oversize, integrity-only policy, backward secrecy, membership proofs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "group_test.h"

static struct gt_net net;

static int rx(int i, const uint8_t *msg, size_t len, char *text)
{
    uint8_t pt[GROUP_MAX_PAYLOAD];
    size_t n = 0;
    uint32_t sender = 0;
    int rc = group_member_receive(&net.dev[i], msg, len, pt, sizeof(pt), &n, &sender);
    if (rc == IOTSEC_OK && text != NULL) {
        memcpy(text, pt, n);
        text[n] = 0;
        assert_int_equal(sender, 7);
    }
    return rc;
}

static void test_every_member_decrypts(void **state)
{
    (void)state;
    gt_setup(&net, 4, 3, 20);
    size_t len;
    uint8_t *m = gt_protect(&net, "close the valve", &len);
    struct group_msg_view v;
    assert_int_equal(group_msg_parse(m, len, &v), IOTSEC_OK);
    assert_null(memmem(m, len, "valve", 5)); /* confidential by default */
    for (int i = 0; i < 20; i++) {
        char text[64];
        assert_int_equal(rx(i, m, len, text), IOTSEC_OK);
        assert_string_equal(text, "close the valve");
    }
    free(m);
    gt_teardown(&net);
}

static void test_member_forgery_rejected(void **state)
{
    (void)state;
    gt_setup(&net, 2, 3, 4);
    /* device 0 holds the traffic key and signs with its own key */
    struct prov_sign_key *evil;
    uint8_t seed[32], pub[32];
    assert_int_equal(prov_ed25519_keygen(seed, pub), IOTSEC_OK);
    assert_int_equal(prov_sign_key_new(seed, &evil), IOTSEC_OK);
    struct group_msg_hdr h = {.alg = GROUP_ALG_AES128GCM_ED25519,
                              .flags = GROUP_FLAG_CONFIDENTIAL,
                              .ref = net.g.ref,
                              .epoch = net.dev[0].epoch,
                              .key_id = net.dev[0].key_id,
                              .sender = 7,
                              .seq = 1000};
    uint8_t out[256];
    size_t len;
    assert_int_equal(group_msg_protect(&h, net.dev[0].keys[net.dev[0].depth], evil,
                                       (const uint8_t *)"open", 4, out, sizeof(out), &len),
                     IOTSEC_OK);
    for (int i = 1; i < 4; i++)
        assert_int_equal(rx(i, out, len, NULL), GROUP_ERR_FORGED);
    /* without a signature, or with a zero one: unsigned */
    size_t unsigned_len = len - GROUP_SIG_LEN;
    assert_int_equal(rx(1, out, unsigned_len, NULL), GROUP_ERR_UNSIGNED);
    memset(out + unsigned_len, 0, GROUP_SIG_LEN);
    assert_int_equal(rx(1, out, len, NULL), GROUP_ERR_UNSIGNED);
    /* one flipped bit in a genuine message */
    size_t glen;
    uint8_t *good = gt_protect(&net, "tariff", &glen);
    good[GROUP_MSG_HDR_LEN] ^= 1;
    assert_int_equal(rx(1, good, glen, NULL), GROUP_ERR_FORGED);
    good[GROUP_MSG_HDR_LEN] ^= 1;
    assert_int_equal(rx(1, good, glen, NULL), IOTSEC_OK);
    free(good);
    prov_sign_key_free(evil);
    gt_teardown(&net);
}

static void test_replay_and_window(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    size_t len[80];
    uint8_t *m[80];
    for (int i = 0; i < 80; i++)
        m[i] = gt_protect(&net, "m", &len[i]);
    assert_int_equal(rx(0, m[10], len[10], NULL), IOTSEC_OK);
    assert_int_equal(rx(0, m[10], len[10], NULL), GROUP_ERR_REPLAYED);
    /* reordering within the window: an older unseen one is accepted once */
    assert_int_equal(rx(0, m[5], len[5], NULL), IOTSEC_OK);
    assert_int_equal(rx(0, m[5], len[5], NULL), GROUP_ERR_REPLAYED);
    assert_int_equal(rx(0, m[79], len[79], NULL), IOTSEC_OK);
    /* beyond the window (79 − 10 ≥ 64): refused even though never seen */
    assert_int_equal(rx(0, m[12], len[12], NULL), GROUP_ERR_REPLAYED);
    assert_int_equal(rx(0, m[20], len[20], NULL), IOTSEC_OK); /* 59 back: inside */
    /* the replay state survives a rekey */
    size_t rl;
    uint8_t *rk = gt_rekey(&net, &rl, NULL);
    assert_int_equal(group_member_rekey(&net.dev[0], rk, rl), IOTSEC_OK);
    assert_int_equal(group_member_rekey(&net.dev[0], rk, rl), GROUP_ERR_STALE_EPOCH);
    size_t nl;
    uint8_t *next = gt_protect(&net, "n", &nl);
    assert_int_equal(rx(0, next, nl, NULL), IOTSEC_OK);
    assert_int_equal(rx(0, next, nl, NULL), GROUP_ERR_REPLAYED);
    assert_int_equal(rx(0, m[79], len[79], NULL), GROUP_ERR_STALE_EPOCH);
    free(next);
    free(rk);
    for (int i = 0; i < 80; i++)
        free(m[i]);
    gt_teardown(&net);
}

static void test_removed_member_cut_off(void **state)
{
    (void)state;
    gt_setup(&net, 2, 4, 16);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[3]), IOTSEC_OK);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[9]), IOTSEC_OK);
    size_t rl;
    uint8_t *rk = gt_rekey(&net, &rl, NULL);
    for (int i = 0; i < 16; i++) {
        int rc = group_member_rekey(&net.dev[i], rk, rl);
        assert_int_equal(rc, (i == 3 || i == 9) ? GROUP_ERR_FORGED : IOTSEC_OK);
    }
    size_t ml;
    uint8_t *m = gt_protect(&net, "after", &ml);
    for (int i = 0; i < 16; i++)
        assert_int_equal(rx(i, m, ml, NULL),
                         (i == 3 || i == 9) ? GROUP_ERR_FUTURE_EPOCH : IOTSEC_OK);
    /* even forcing its epoch forward, the leaver's old root does not open the message */
    struct group_member *lv = &net.dev[3];
    struct group_msg_view v;
    assert_int_equal(group_msg_parse(m, ml, &v), IOTSEC_OK);
    uint8_t pt[64];
    for (uint8_t j = 0; j <= lv->depth; j++)
        assert_int_equal(group_msg_open(&v, lv->keys[j], pt), GROUP_ERR_FORGED);
    /* and the network no longer hands it path keys */
    struct group_path p;
    assert_int_equal(group_tree_path(&net.g.tree, net.g.ref, net.leaf[3], &p), IOTSEC_ERR_NOTFOUND);
    free(m);
    free(rk);
    gt_teardown(&net);
}

static void test_joiner_cannot_read_the_past(void **state)
{
    (void)state;
    gt_setup(&net, 2, 4, 5);
    size_t ol;
    uint8_t *old = gt_protect(&net, "before", &ol);
    gt_join(&net, 5);
    size_t rl;
    uint8_t *rk = gt_rekey(&net, &rl, NULL);
    assert_int_equal(gt_deliver_path(&net, 5), IOTSEC_OK);
    assert_int_equal(rx(5, old, ol, NULL), GROUP_ERR_STALE_EPOCH);
    struct group_msg_view v;
    assert_int_equal(group_msg_parse(old, ol, &v), IOTSEC_OK);
    uint8_t pt[64];
    for (uint8_t j = 0; j <= net.dev[5].depth; j++)
        assert_int_equal(group_msg_open(&v, net.dev[5].keys[j], pt), GROUP_ERR_FORGED);
    /* the others follow the rekey and all read the next one */
    for (int i = 0; i < 5; i++)
        assert_int_equal(group_member_rekey(&net.dev[i], rk, rl), IOTSEC_OK);
    size_t nl;
    uint8_t *n = gt_protect(&net, "after", &nl);
    for (int i = 0; i < 6; i++)
        assert_int_equal(rx(i, n, nl, NULL), IOTSEC_OK);
    free(n);
    free(rk);
    free(old);
    gt_teardown(&net);
}

static void test_rekey_tampered_skipped_and_sleepy(void **state)
{
    (void)state;
    gt_setup(&net, 4, 2, 12);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[11]), IOTSEC_OK);
    size_t l1, l2;
    uint8_t *r1 = gt_rekey(&net, &l1, NULL);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[10]), IOTSEC_OK);
    uint8_t *r2 = gt_rekey(&net, &l2, NULL);
    /* tampered: a wrapped key byte, then the header */
    r1[GROUP_REKEY_HDR_LEN + 10] ^= 0x40;
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1), GROUP_ERR_FORGED);
    r1[GROUP_REKEY_HDR_LEN + 10] ^= 0x40;
    r1[13] += 5; /* both epochs moved: still well formed, but not what was signed */
    r1[17] += 5;
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1), GROUP_ERR_FORGED);
    r1[13] -= 5;
    r1[17] -= 5;
    r1[11] ^= 1; /* an inconsistent epoch pair is malformed before any crypto */
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1), GROUP_ERR_MALFORMED);
    r1[11] ^= 1;
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1 - GROUP_SIG_LEN), GROUP_ERR_UNSIGNED);
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1 - 3), GROUP_ERR_TRUNCATED);
    /* e+2 before e+1: not applied, nothing changed */
    uint32_t e = net.dev[0].epoch;
    assert_int_equal(group_member_rekey(&net.dev[0], r2, l2), GROUP_ERR_FUTURE_EPOCH);
    assert_int_equal(net.dev[0].epoch, e);
    size_t ml;
    uint8_t *m = gt_protect(&net, "e+2", &ml);
    assert_int_equal(rx(0, m, ml, NULL), GROUP_ERR_FUTURE_EPOCH);
    /* one fetch of the current path keys catches up (the sleepy device) */
    assert_int_equal(gt_deliver_path(&net, 0), IOTSEC_OK);
    assert_int_equal(net.dev[0].epoch, e + 2);
    assert_int_equal(rx(0, m, ml, NULL), IOTSEC_OK);
    /* and an old rekey or old delivery is now stale */
    assert_int_equal(group_member_rekey(&net.dev[0], r1, l1), GROUP_ERR_STALE_EPOCH);
    /* one in order keeps following */
    assert_int_equal(group_member_rekey(&net.dev[1], r1, l1), IOTSEC_OK);
    assert_int_equal(group_member_rekey(&net.dev[1], r2, l2), IOTSEC_OK);
    assert_int_equal(rx(1, m, ml, NULL), IOTSEC_OK);
    free(m);
    free(r1);
    free(r2);
    gt_teardown(&net);
}

static void test_wrong_group_truncated_oversized(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 3);
    size_t ml;
    uint8_t *m = gt_protect(&net, "valve", &ml);
    struct group_member other;
    group_member_init(&other, net.g.ref + 1, net.kgm[0]);
    other.joined = true;
    uint8_t pt[64];
    size_t n;
    uint32_t s;
    assert_int_equal(group_member_receive(&other, m, ml, pt, sizeof(pt), &n, &s),
                     GROUP_ERR_WRONG_GROUP);
    for (size_t cut = 0; cut < ml; cut++) {
        int rc = rx(0, m, cut, NULL);
        if (cut == ml - GROUP_SIG_LEN)
            assert_int_equal(rc, GROUP_ERR_UNSIGNED);
        else
            assert_int_equal(rc, GROUP_ERR_TRUNCATED);
    }
    uint8_t *longer = malloc(ml + 1);
    memcpy(longer, m, ml);
    longer[ml] = 0;
    assert_int_equal(rx(0, longer, ml + 1, NULL), GROUP_ERR_MALFORMED);
    /* a length field claiming more than the limit */
    m[44] = 0x7f;
    assert_int_equal(rx(0, m, ml, NULL), GROUP_ERR_TOO_LARGE);
    m[44] = 0;
    m[2] = 9; /* unknown algorithm */
    assert_int_equal(rx(0, m, ml, NULL), GROUP_ERR_UNSUPPORTED);
    m[2] = GROUP_ALG_AES128GCM_ED25519;
    assert_int_equal(rx(0, m, ml, NULL), IOTSEC_OK);
    /* a path delivery for another device's key */
    struct group_path p;
    assert_int_equal(group_tree_path(&net.g.tree, net.g.ref, net.leaf[1], &p), IOTSEC_OK);
    uint8_t buf[1024];
    size_t bl;
    assert_int_equal(group_path_seal(net.kgm[1], &p, buf, sizeof(buf), &bl), IOTSEC_OK);
    assert_int_equal(group_member_join(&net.dev[0], buf, bl), GROUP_ERR_FORGED);
    assert_int_equal(group_member_join(&net.dev[1], buf, bl - 1), GROUP_ERR_TRUNCATED);
    free(longer);
    free(m);
    gt_teardown(&net);
}

static void test_integrity_only_policy(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    net.g.confidential = false;
    size_t ml;
    uint8_t *m = gt_protect(&net, "tariff 12", &ml);
    assert_non_null(memmem(m, ml, "tariff 12", 9)); /* readable, by policy */
    char text[32];
    assert_int_equal(rx(0, m, ml, text), IOTSEC_OK);
    assert_string_equal(text, "tariff 12");
    /* the tag covers the clear body even when the network (re-)signs it */
    struct group_msg_view v;
    m[GROUP_MSG_HDR_LEN] ^= 1;
    assert_int_equal(group_msg_parse(m, ml, &v), IOTSEC_OK);
    assert_int_equal(prov_ed25519_sign(net.sk, m, v.signed_len, m + v.signed_len), IOTSEC_OK);
    assert_int_equal(rx(1, m, ml, NULL), GROUP_ERR_FORGED);
    free(m);
    gt_teardown(&net);
}

static void test_membership_proof(void **state)
{
    (void)state;
    gt_setup(&net, 2, 3, 6);
    uint8_t challenge[16] = "network-nonce-1", mac[32];
    assert_int_equal(group_member_prove(&net.dev[2], challenge, sizeof(challenge), mac), IOTSEC_OK);
    assert_int_equal(group_proof_check(&net.g, net.kgm[2], challenge, sizeof(challenge), mac),
                     IOTSEC_OK);
    /* bound to the member's key and to the challenge */
    assert_int_equal(group_proof_check(&net.g, net.kgm[3], challenge, sizeof(challenge), mac),
                     IOTSEC_ERR_AUTH);
    challenge[0] ^= 1;
    assert_int_equal(group_proof_check(&net.g, net.kgm[2], challenge, sizeof(challenge), mac),
                     IOTSEC_ERR_AUTH);
    challenge[0] ^= 1;
    /* after it leaves, its stale key material no longer proves anything */
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[2]), IOTSEC_OK);
    size_t rl;
    free(gt_rekey(&net, &rl, NULL));
    assert_int_equal(group_member_prove(&net.dev[2], challenge, sizeof(challenge), mac), IOTSEC_OK);
    assert_int_equal(group_proof_check(&net.g, net.kgm[2], challenge, sizeof(challenge), mac),
                     IOTSEC_ERR_AUTH);
    gt_teardown(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_member_decrypts),
        cmocka_unit_test(test_member_forgery_rejected),
        cmocka_unit_test(test_replay_and_window),
        cmocka_unit_test(test_removed_member_cut_off),
        cmocka_unit_test(test_joiner_cannot_read_the_past),
        cmocka_unit_test(test_rekey_tampered_skipped_and_sleepy),
        cmocka_unit_test(test_wrong_group_truncated_oversized),
        cmocka_unit_test(test_integrity_only_policy),
        cmocka_unit_test(test_membership_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
