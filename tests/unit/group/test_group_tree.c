/* The LKH tree: rekey cost on one leave (d·h − 1 wrapped keys), batching, slots, forward
 * secrecy at the network (no message while a leave is pending), sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "group_test.h"

static struct gt_net net;

static void leave_costs(uint8_t arity, uint8_t depth, int n)
{
    gt_setup(&net, arity, depth, n);
    size_t len;
    uint32_t entries;
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[5]), IOTSEC_OK);
    uint8_t *msg = gt_rekey(&net, &len, &entries);
    assert_int_equal(entries, (uint32_t)arity * depth - 1);
    assert_int_equal(len, group_rekey_len(entries));
    struct group_rekey_view v;
    assert_int_equal(group_rekey_parse(msg, len, &v), IOTSEC_OK);
    assert_int_equal(group_rekey_verify_sig(&v, net.pub), IOTSEC_OK);
    assert_int_equal(v.h.from_epoch + 1, v.h.to_epoch);
    assert_int_equal(net.g.tree.epoch, v.h.to_epoch);
    free(msg);
    gt_teardown(&net);
}

static void test_leave_cost_binary(void **state)
{
    (void)state;
    leave_costs(2, 6, 64); /* full binary tree of 64: 2·6 − 1 = 11 */
}

static void test_leave_cost_4ary(void **state)
{
    (void)state;
    leave_costs(4, 3, 64); /* full 4-ary tree of 64: 4·3 − 1 = 11 */
}

static void test_batch_shares_upper_levels(void **state)
{
    (void)state;
    gt_setup(&net, 2, 6, 64);
    for (int i = 0; i < 8; i++)
        assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[i]), IOTSEC_OK);
    size_t len;
    uint32_t entries;
    free(gt_rekey(&net, &len, &entries));
    assert_true(entries < 8 * 11); /* one rekey, shared upper levels */
    assert_true(entries > 0);
    assert_int_equal(net.g.tree.members, 56);
    gt_teardown(&net);
}

static void test_full_and_bad_leaves(void **state)
{
    (void)state;
    gt_setup(&net, 2, 3, 8);
    uint32_t leaf;
    assert_int_equal(group_tree_join(&net.g.tree, &leaf), IOTSEC_ERR_BUSY);
    assert_int_equal(group_tree_leave(&net.g.tree, 0), IOTSEC_ERR_NOTFOUND); /* the root */
    assert_int_equal(group_tree_leave(&net.g.tree, net.g.tree.nodes), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[3]), IOTSEC_OK);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[3]), IOTSEC_ERR_NOTFOUND);
    gt_teardown(&net);
}

static void test_slot_reused_with_fresh_key(void **state)
{
    (void)state;
    gt_setup(&net, 4, 2, 16);
    uint8_t old[GROUP_KEY_LEN];
    memcpy(old, net.g.tree.key[net.leaf[2]], GROUP_KEY_LEN);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[2]), IOTSEC_OK);
    uint32_t leaf;
    assert_int_equal(group_tree_join(&net.g.tree, &leaf), IOTSEC_OK);
    assert_int_equal(leaf, net.leaf[2]);
    assert_memory_not_equal(old, net.g.tree.key[leaf], GROUP_KEY_LEN);
    gt_teardown(&net);
}

static void test_no_message_while_rekey_pending(void **state)
{
    (void)state;
    gt_setup(&net, 2, 4, 10);
    uint8_t out[256];
    size_t len;
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[1]), IOTSEC_OK);
    assert_int_equal(
        group_protect(&net.g, net.sk, 1, (const uint8_t *)"x", 1, out, sizeof(out), &len),
        IOTSEC_ERR_STATE);
    uint32_t before = net.g.tree.epoch;
    free(gt_rekey(&net, &len, NULL));
    assert_int_equal(net.g.tree.epoch, before + 1);
    assert_int_equal(
        group_protect(&net.g, net.sk, 1, (const uint8_t *)"x", 1, out, sizeof(out), &len),
        IOTSEC_OK);
    gt_teardown(&net);
}

static void test_empty_group_has_no_traffic_key(void **state)
{
    (void)state;
    gt_setup(&net, 2, 2, 2);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[0]), IOTSEC_OK);
    assert_int_equal(group_tree_leave(&net.g.tree, net.leaf[1]), IOTSEC_OK);
    size_t len;
    uint32_t entries;
    free(gt_rekey(&net, &len, &entries));
    assert_int_equal(entries, 0);
    uint8_t key[GROUP_KEY_LEN], zero[GROUP_KEY_LEN] = {0};
    uint32_t id;
    assert_int_equal(group_tree_traffic_key(&net.g.tree, key, &id), IOTSEC_ERR_STATE);
    assert_memory_equal(net.g.tree.key[0], zero, GROUP_KEY_LEN); /* wiped */
    gt_teardown(&net);
}

static void test_sequences_and_senders(void **state)
{
    (void)state;
    gt_setup(&net, 2, 3, 4);
    uint8_t out[256];
    size_t len;
    struct group_msg_view v;
    for (uint64_t want = 1; want <= 3; want++) {
        assert_int_equal(
            group_protect(&net.g, net.sk, 42, (const uint8_t *)"a", 1, out, sizeof(out), &len),
            IOTSEC_OK);
        assert_int_equal(group_msg_parse(out, len, &v), IOTSEC_OK);
        assert_int_equal(v.h.seq, want);
        assert_int_equal(v.h.sender, 42);
    }
    for (uint32_t s = 0; s < GROUP_MAX_SENDERS - 1; s++)
        assert_int_equal(
            group_protect(&net.g, net.sk, 100 + s, (const uint8_t *)"a", 1, out, sizeof(out), &len),
            IOTSEC_OK);
    assert_int_equal(
        group_protect(&net.g, net.sk, 999, (const uint8_t *)"a", 1, out, sizeof(out), &len),
        IOTSEC_ERR_BUSY);
    uint8_t big[GROUP_MAX_PAYLOAD + 1] = {0};
    assert_int_equal(group_protect(&net.g, net.sk, 42, big, sizeof(big), out, sizeof(out), &len),
                     GROUP_ERR_TOO_LARGE);
    gt_teardown(&net);
}

static void test_depth_for(void **state)
{
    (void)state;
    assert_int_equal(group_tree_depth_for(4, 1000000), 10);
    assert_int_equal(group_tree_depth_for(2, 1000000), 20);
    assert_int_equal(group_tree_depth_for(4, 1), 1);
    struct group_tree t;
    assert_int_equal(group_tree_init(&t, 1, 3), IOTSEC_ERR_INVALID);
    assert_int_equal(group_tree_init(&t, 16, 12), IOTSEC_ERR_INVALID); /* too many nodes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leave_cost_binary),
        cmocka_unit_test(test_leave_cost_4ary),
        cmocka_unit_test(test_batch_shares_upper_levels),
        cmocka_unit_test(test_full_and_bad_leaves),
        cmocka_unit_test(test_slot_reused_with_fresh_key),
        cmocka_unit_test(test_no_message_while_rekey_pending),
        cmocka_unit_test(test_empty_group_has_no_traffic_key),
        cmocka_unit_test(test_sequences_and_senders),
        cmocka_unit_test(test_depth_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
