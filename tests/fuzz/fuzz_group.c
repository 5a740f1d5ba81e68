/* What a group member reads from the network (docs/group.md, sdk/group_member.c): protected
 * group messages, rekeys and path-key deliveries. The first input byte picks what the rest is:
 *   0: a protected message: group_msg_parse, then the same bytes re-signed by the harness's
 *      "network" and given to a joined member, so the checks behind the signature (epoch, key
 *      id, replay window, tag) are reached too;
 *   1: a rekey: parsed, re-signed, applied to a copy of the member;
 *   2: a path-key delivery opened under the member's key; also sealed as the network would.
 * Invariants: a refused message or rekey leaves the member unchanged; an accepted message has
 * at most GROUP_MAX_PAYLOAD bytes; a sealed delivery opens to the same keys. */
#include <string.h>

#include "base/err.h"
#include "fuzz.h"
#include "group/group.h"
#include "group_member.h"

static struct group g;
static struct prov_sign_key *sk;
static uint8_t kgm[GROUP_MKEY_LEN];
static struct group_member joined;

static void init(void)
{
    if (sk != NULL)
        return;
    uint8_t seed[PROV_ED25519_SEED_LEN], pub[GROUP_PUB_LEN];
    memset(seed, 0x6b, sizeof(seed));
    FUZZ_CHECK(prov_sign_key_new(seed, &sk) == IOTSEC_OK);
    prov_sign_key_public(sk, pub);
    g.ref = 0x1122334455667788ull;
    g.confidential = true;
    FUZZ_CHECK(group_tree_init(&g.tree, 2, 3) == IOTSEC_OK);
    uint32_t leaf[4];
    for (int i = 0; i < 4; i++)
        FUZZ_CHECK(group_tree_join(&g.tree, &leaf[i]) == IOTSEC_OK);
    uint8_t *m;
    size_t len;
    FUZZ_CHECK(group_tree_rekey(&g.tree, g.ref, sk, &m, &len, NULL) == IOTSEC_OK);
    free(m);
    memset(kgm, 0x42, sizeof(kgm));
    struct group_path p;
    FUZZ_CHECK(group_tree_path(&g.tree, g.ref, leaf[0], &p) == IOTSEC_OK);
    memcpy(p.sign_pub, pub, GROUP_PUB_LEN);
    uint8_t buf[1024];
    FUZZ_CHECK(group_path_seal(kgm, &p, buf, sizeof(buf), &len) == IOTSEC_OK);
    group_member_init(&joined, g.ref, kgm);
    FUZZ_CHECK(group_member_join(&joined, buf, len) == IOTSEC_OK);
}

/* The input as a payload, protected by the network: the member must open it to the same bytes
 * (reaches the tag and the replay window with valid keys). */
static void roundtrip(const uint8_t *data, size_t size)
{
    if (size > GROUP_MAX_PAYLOAD)
        return;
    uint8_t *out = malloc(group_msg_len(size)), pt[GROUP_MAX_PAYLOAD];
    FUZZ_CHECK(out != NULL);
    size_t len, n;
    uint32_t sender;
    FUZZ_CHECK(group_protect(&g, sk, 3, data, size, out, group_msg_len(size), &len) == IOTSEC_OK);
    struct group_member m = joined;
    FUZZ_CHECK(group_member_receive(&m, out, len, pt, sizeof(pt), &n, &sender) == IOTSEC_OK);
    FUZZ_CHECK(n == size && (size == 0 || memcmp(pt, data, size) == 0));
    FUZZ_CHECK(group_member_receive(&m, out, len, pt, sizeof(pt), &n, &sender) ==
               GROUP_ERR_REPLAYED);
    free(out);
}

static void fuzz_msg(const uint8_t *data, size_t size)
{
    roundtrip(data, size);
    struct group_msg_view v;
    int rc = group_msg_parse(data, size, &v);
    if (rc != IOTSEC_OK || v.sig == NULL)
        return;
    uint8_t *copy = malloc(size);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    FUZZ_CHECK(prov_ed25519_sign(sk, copy, v.signed_len, copy + v.signed_len) == IOTSEC_OK);
    struct group_member m = joined;
    uint8_t pt[GROUP_MAX_PAYLOAD];
    size_t n = 0;
    uint32_t sender;
    rc = group_member_receive(&m, copy, size, pt, sizeof(pt), &n, &sender);
    if (rc == IOTSEC_OK)
        FUZZ_CHECK(n <= GROUP_MAX_PAYLOAD && n == v.body_len);
    else
        FUZZ_CHECK(memcmp(&m, &joined, sizeof(m)) == 0);
    free(copy);
}

static void fuzz_rekey(const uint8_t *data, size_t size)
{
    struct group_rekey_view v;
    if (group_rekey_parse(data, size, &v) != IOTSEC_OK || v.sig == NULL)
        return;
    uint8_t *copy = malloc(size);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    FUZZ_CHECK(prov_ed25519_sign(sk, copy, v.signed_len, copy + v.signed_len) == IOTSEC_OK);
    struct group_member m = joined;
    if (group_member_rekey(&m, copy, size) != IOTSEC_OK)
        FUZZ_CHECK(memcmp(&m, &joined, sizeof(m)) == 0);
    else
        FUZZ_CHECK(m.epoch == joined.epoch + 1);
    free(copy);
}

static void fuzz_path(const uint8_t *data, size_t size)
{
    struct group_path p, q;
    if (group_path_open(kgm, data, size, &p) != IOTSEC_OK)
        return;
    uint8_t buf[1024];
    size_t len;
    FUZZ_CHECK(group_path_seal(kgm, &p, buf, sizeof(buf), &len) == IOTSEC_OK);
    FUZZ_CHECK(group_path_open(kgm, buf, len, &q) == IOTSEC_OK);
    FUZZ_CHECK(memcmp(&p, &q, sizeof(p)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_msg(data + 1, size - 1);
        break;
    case 1:
        fuzz_rekey(data + 1, size - 1);
        break;
    default:
        fuzz_path(data + 1, size - 1);
        break;
    }
    return 0;
}
