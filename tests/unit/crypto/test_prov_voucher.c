/* Ownership vouchers: chains of 1..5 transfers verify and name the right owner; every
 * mutation (an altered byte anywhere, a dropped middle entry, two entries swapped, an entry
 * re-signed by a stranger, an extension by a non-owner, another device or root) is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

#define OWNERS    6 /* owners[0] is the manufacturer root */
#define DEV       "meter-0001"
#define DEV_LEN   10
#define ENTRY_LEN (PROV_VOUCHER_ENTRY_OVERHEAD + DEV_LEN)
#define CHAIN_MAX (OWNERS * ENTRY_LEN)

struct fixture {
    struct prov_sign_key *keys[OWNERS], *stranger;
    uint8_t pubs[OWNERS][32], stranger_pub[32];
};

static int setup(void **state)
{
    static struct fixture f;
    for (int i = 0; i <= OWNERS; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0x5e};
        struct prov_sign_key **k = i < OWNERS ? &f.keys[i] : &f.stranger;
        if (prov_sign_key_new(seed, k) != IOTSEC_OK)
            return -1;
        prov_sign_key_public(*k, i < OWNERS ? f.pubs[i] : f.stranger_pub);
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < OWNERS; i++)
        prov_sign_key_free(f->keys[i]);
    prov_sign_key_free(f->stranger);
    return 0;
}

/* A chain of n entries: root -> owner 1 -> ... -> owner n, at timestamps 1000, 1001, ... */
static size_t build(const struct fixture *f, size_t n, uint8_t *chain)
{
    size_t len;
    assert_int_equal(
        prov_voucher_start(f->keys[0], DEV, DEV_LEN, f->pubs[1], 1000, chain, CHAIN_MAX, &len),
        IOTSEC_OK);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(prov_voucher_append(chain, len, f->keys[i], f->pubs[i + 1], 1000 + i,
                                             chain, CHAIN_MAX, &len),
                         IOTSEC_OK);
    }
    assert_int_equal(len, n * ENTRY_LEN);
    return len;
}

static int verify(const struct fixture *f, const uint8_t *chain, size_t len)
{
    uint8_t owner[32];
    return prov_voucher_verify(f->pubs[0], DEV, DEV_LEN, chain, len, owner, NULL);
}

static void test_chains_verify(void **state)
{
    struct fixture *f = *state;
    uint8_t chain[CHAIN_MAX], owner[32];
    for (size_t n = 1; n < OWNERS; n++) {
        size_t len = build(f, n, chain), entries = 0;
        assert_int_equal(prov_voucher_verify(f->pubs[0], DEV, DEV_LEN, chain, len, owner, &entries),
                         IOTSEC_OK);
        assert_int_equal(entries, n);
        assert_memory_equal(owner, f->pubs[n], 32);
        /* Another device, another manufacturer root. */
        assert_int_equal(prov_voucher_verify(f->pubs[0], "meter-0002", 10, chain, len, owner, NULL),
                         IOTSEC_ERR_AUTH);
        assert_int_equal(
            prov_voucher_verify(f->stranger_pub, DEV, DEV_LEN, chain, len, owner, NULL),
            IOTSEC_ERR_AUTH);
    }
    assert_int_equal(verify(f, chain, 0), IOTSEC_ERR_INVALID); /* empty */
}

static void test_every_byte_altered(void **state)
{
    struct fixture *f = *state;
    uint8_t chain[CHAIN_MAX];
    size_t len = build(f, 3, chain);
    for (size_t i = 0; i < len; i++) {
        chain[i] ^= 0x01;
        assert_int_not_equal(verify(f, chain, len), IOTSEC_OK);
        chain[i] ^= 0x01;
    }
    assert_int_equal(verify(f, chain, len), IOTSEC_OK);
    assert_int_equal(verify(f, chain, len - 1), IOTSEC_ERR_INVALID); /* truncated mid-entry */
}

static void test_drop_and_reorder(void **state)
{
    struct fixture *f = *state;
    uint8_t chain[CHAIN_MAX], mut[CHAIN_MAX];
    size_t len = build(f, 4, chain);
    /* Drop entry 1 or 2 (of 0..3). */
    for (size_t drop = 1; drop <= 2; drop++) {
        memcpy(mut, chain, drop * ENTRY_LEN);
        memcpy(mut + drop * ENTRY_LEN, chain + (drop + 1) * ENTRY_LEN,
               len - (drop + 1) * ENTRY_LEN);
        assert_int_equal(verify(f, mut, len - ENTRY_LEN), IOTSEC_ERR_AUTH);
    }
    /* Swap two adjacent entries, and the first and the last. */
    static const size_t swaps[][2] = {{0, 1}, {1, 2}, {2, 3}, {0, 3}};
    for (size_t s = 0; s < 4; s++) {
        memcpy(mut, chain, len);
        memcpy(mut + swaps[s][0] * ENTRY_LEN, chain + swaps[s][1] * ENTRY_LEN, ENTRY_LEN);
        memcpy(mut + swaps[s][1] * ENTRY_LEN, chain + swaps[s][0] * ENTRY_LEN, ENTRY_LEN);
        assert_int_equal(verify(f, mut, len), IOTSEC_ERR_AUTH);
    }
    /* Dropping the tail is not a mutation a chain can detect: it is an older, valid state
     * (the current owner is whoever the registry says; the chain proves the lineage). */
    uint8_t owner[32];
    assert_int_equal(
        prov_voucher_verify(f->pubs[0], DEV, DEV_LEN, chain, 2 * ENTRY_LEN, owner, NULL),
        IOTSEC_OK);
    assert_memory_equal(owner, f->pubs[2], 32);
}

/* The fields of entry idx of chain, as written. */
static struct prov_voucher_entry fields(const uint8_t *chain, size_t idx)
{
    const uint8_t *at = chain + idx * ENTRY_LEN + 2 + 19 + 2 + DEV_LEN + 12;
    struct prov_voucher_entry e = {
        .device_id = DEV, .device_id_len = DEV_LEN, .seq = (uint32_t)idx, .timestamp = 1000 + idx};
    memcpy(e.from_pub, at, 32);
    memcpy(e.to_pub, at + 32, 32);
    memcpy(e.prev_hash, at + 64, 32);
    return e;
}

/* Writes e signed by signer as entry idx of chain. */
static void put_entry(uint8_t *chain, size_t idx, const struct prov_voucher_entry *e,
                      const struct prov_sign_key *signer)
{
    size_t n;
    assert_int_equal(prov_voucher_entry_encode(e, signer, chain + idx * ENTRY_LEN, ENTRY_LEN, &n),
                     IOTSEC_OK);
    assert_int_equal(n, ENTRY_LEN);
}

static void test_wrong_signers(void **state)
{
    struct fixture *f = *state;
    uint8_t chain[CHAIN_MAX], mut[CHAIN_MAX];
    size_t len = build(f, 3, chain);
    for (size_t idx = 0; idx < 3; idx++) {
        struct prov_voucher_entry e = fields(chain, idx);
        /* Control: the rightful signer reproduces the entry, so only the signer differs below. */
        memcpy(mut, chain, len);
        put_entry(mut, idx, &e, f->keys[idx]);
        assert_memory_equal(mut, chain, len);
        put_entry(mut, idx, &e, f->stranger); /* same fields, a stranger's signature */
        assert_int_equal(verify(f, mut, len), IOTSEC_ERR_AUTH);
        memcpy(e.from_pub, f->stranger_pub, 32); /* the stranger also claims to be the sender */
        put_entry(mut, idx, &e, f->stranger);
        assert_int_equal(verify(f, mut, len), IOTSEC_ERR_AUTH);
    }

    /* A non-owner extends the chain: append refuses (a stranger, a former owner). */
    size_t out_len;
    assert_int_equal(prov_voucher_append(chain, len, f->stranger, f->stranger_pub, 2000, mut,
                                         sizeof(mut), &out_len),
                     IOTSEC_ERR_AUTH);
    assert_int_equal(prov_voucher_append(chain, len, f->keys[1], f->stranger_pub, 2000, mut,
                                         sizeof(mut), &out_len),
                     IOTSEC_ERR_AUTH);
    /* A hand-made entry 3, correctly linked, naming the real owner as sender, signed by a
     * stranger, then naming the stranger: refused; signed by the owner: accepted. */
    struct prov_voucher_entry e = fields(chain, 2);
    e.seq = 3;
    e.timestamp = 2000;
    memcpy(e.from_pub, f->pubs[3], 32);
    memcpy(e.to_pub, f->stranger_pub, 32);
    SHA256(chain + 2 * ENTRY_LEN + 2, ENTRY_LEN - 2, e.prev_hash);
    memcpy(mut, chain, len);
    put_entry(mut, 3, &e, f->stranger);
    assert_int_equal(verify(f, mut, len + ENTRY_LEN), IOTSEC_ERR_AUTH);
    memcpy(e.from_pub, f->stranger_pub, 32);
    put_entry(mut, 3, &e, f->stranger);
    assert_int_equal(verify(f, mut, len + ENTRY_LEN), IOTSEC_ERR_AUTH);
    memcpy(e.from_pub, f->pubs[3], 32);
    put_entry(mut, 3, &e, f->keys[3]);
    assert_int_equal(verify(f, mut, len + ENTRY_LEN), IOTSEC_OK);

    /* The owner appends, but not back in time. */
    assert_int_equal(
        prov_voucher_append(chain, len, f->keys[3], f->pubs[4], 1001, mut, sizeof(mut), &out_len),
        IOTSEC_ERR_INVALID);
    assert_int_equal(
        prov_voucher_append(chain, len, f->keys[3], f->pubs[4], 1002, mut, sizeof(mut), &out_len),
        IOTSEC_OK);
    assert_int_equal(verify(f, mut, out_len), IOTSEC_OK);
}

/* Entries signed by the rightful owner that still break the chain: wrong sequence number,
 * a timestamp before the previous one, an entry spliced in from another chain of the same
 * device and the same owners (only prev_hash tells it apart). */
static void test_owner_signed_but_unlinked(void **state)
{
    struct fixture *f = *state;
    uint8_t chain[CHAIN_MAX], mut[CHAIN_MAX];
    size_t len = build(f, 3, chain);
    struct prov_voucher_entry e = fields(chain, 2);
    memcpy(mut, chain, len);
    put_entry(mut, 2, &e, f->keys[2]);
    assert_int_equal(verify(f, mut, len), IOTSEC_OK); /* control */
    e.seq = 3;
    put_entry(mut, 2, &e, f->keys[2]);
    assert_int_equal(verify(f, mut, len), IOTSEC_ERR_AUTH);
    e = fields(chain, 2);
    e.timestamp = 1000; /* entry 1 was at 1001 */
    put_entry(mut, 2, &e, f->keys[2]);
    assert_int_equal(verify(f, mut, len), IOTSEC_ERR_AUTH);

    /* Chain Y: the same root -> owner 1 -> owner 2, issued later. Y's second entry after X's
     * first: same device, seq, owners, a later time, a valid signature; another lineage. */
    uint8_t y[CHAIN_MAX];
    size_t y_len;
    assert_int_equal(
        prov_voucher_start(f->keys[0], DEV, DEV_LEN, f->pubs[1], 5000, y, sizeof(y), &y_len),
        IOTSEC_OK);
    assert_int_equal(
        prov_voucher_append(y, y_len, f->keys[1], f->pubs[2], 5001, y, sizeof(y), &y_len),
        IOTSEC_OK);
    assert_int_equal(verify(f, y, y_len), IOTSEC_OK);
    memcpy(mut, chain, ENTRY_LEN);
    memcpy(mut + ENTRY_LEN, y + ENTRY_LEN, ENTRY_LEN);
    assert_int_equal(verify(f, mut, 2 * ENTRY_LEN), IOTSEC_ERR_AUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains_verify),
        cmocka_unit_test(test_every_byte_altered),
        cmocka_unit_test(test_drop_and_reorder),
        cmocka_unit_test(test_wrong_signers),
        cmocka_unit_test(test_owner_signed_but_unlinked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
