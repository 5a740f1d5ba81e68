#include "group_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"

void gt_setup(struct gt_net *net, uint8_t arity, uint8_t depth, int n)
{
    memset(net, 0, sizeof(*net));
    uint8_t seed[PROV_ED25519_SEED_LEN];
    assert_int_equal(prov_ed25519_keygen(seed, net->pub), IOTSEC_OK);
    assert_int_equal(prov_sign_key_new(seed, &net->sk), IOTSEC_OK);
    net->g.ref = 0x1122334455667788ull;
    net->g.confidential = true;
    assert_int_equal(group_tree_init(&net->g.tree, arity, depth), IOTSEC_OK);
    for (int i = 0; i < GT_MAX; i++) {
        uint8_t kausf[32];
        memset(kausf, i + 1, sizeof(kausf));
        assert_int_equal(group_member_key(kausf, sizeof(kausf), net->g.ref, net->kgm[i]),
                         IOTSEC_OK);
        group_member_init(&net->dev[i], net->g.ref, net->kgm[i]);
    }
    for (int i = 0; i < n; i++)
        gt_join(net, i);
    net->n = n;
    if (n > 0) {
        size_t len;
        free(gt_rekey(net, &len, NULL));
        for (int i = 0; i < n; i++)
            assert_int_equal(gt_deliver_path(net, i), IOTSEC_OK);
    }
}

void gt_teardown(struct gt_net *net)
{
    group_tree_free(&net->g.tree);
    prov_sign_key_free(net->sk);
    for (int i = 0; i < GT_MAX; i++)
        group_member_wipe(&net->dev[i]);
}

void gt_join(struct gt_net *net, int i)
{
    assert_int_equal(group_tree_join(&net->g.tree, &net->leaf[i]), IOTSEC_OK);
}

int gt_deliver_path(struct gt_net *net, int i)
{
    struct group_path p;
    assert_int_equal(group_tree_path(&net->g.tree, net->g.ref, net->leaf[i], &p), IOTSEC_OK);
    memcpy(p.sign_pub, net->pub, GROUP_PUB_LEN);
    uint8_t buf[1024];
    size_t len;
    assert_int_equal(group_path_seal(net->kgm[i], &p, buf, sizeof(buf), &len), IOTSEC_OK);
    return group_member_join(&net->dev[i], buf, len);
}

uint8_t *gt_rekey(struct gt_net *net, size_t *len, uint32_t *entries)
{
    uint8_t *msg;
    assert_int_equal(group_tree_rekey(&net->g.tree, net->g.ref, net->sk, &msg, len, entries),
                     IOTSEC_OK);
    return msg;
}

uint8_t *gt_protect(struct gt_net *net, const char *text, size_t *len)
{
    size_t n = strlen(text);
    uint8_t *out = malloc(group_msg_len(n));
    assert_non_null(out);
    assert_int_equal(
        group_protect(&net->g, net->sk, 7, (const uint8_t *)text, n, out, group_msg_len(n), len),
        IOTSEC_OK);
    return out;
}
