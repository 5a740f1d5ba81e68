/* The device's USIM: SQN freshness per IND slot (TS 33.102 Annex C), resynchronisation with
 * the network's AUTS handling, and the failures a device must tell apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/autn.h"
#include "crypto/fiveg_aka.h"
#include "usim.h"

static const uint8_t K[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                              0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t OPC[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
                                0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
static const char SNN[] = "5G:mnc001.mcc001.3gppnetwork.org";
static const uint8_t AMF[2] = {0x80, 0x00};

/* The network's vector for a given SEQ and IND. */
static void challenge(uint64_t seq, unsigned ind, uint8_t rand_byte, struct fiveg_he_av *av)
{
    uint8_t rand[16], sqn[6];
    memset(rand, rand_byte, sizeof(rand));
    sqn_to_bytes((seq << USIM_IND_BITS) | ind, sqn);
    assert_int_equal(fiveg_he_av_generate(K, OPC, rand, sqn, AMF, SNN, strlen(SNN), av), 0);
}

static void test_fresh_then_replay(void **state)
{
    (void)state;
    struct usim u;
    usim_init(&u, K, OPC);
    struct fiveg_he_av av;
    struct usim_response r;
    challenge(1, 0, 0x11, &av);
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r), USIM_OK);
    assert_memory_equal(r.res_star, av.xres_star, 16);
    assert_memory_equal(r.kausf, av.kausf, 32);
    /* The same challenge again is a replay: AUTS, and the network recovers SQN_MS. */
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r),
                     USIM_SYNC_FAILURE);
    uint8_t sqn_ms[6];
    assert_int_equal(auts_recover_sqn_ms(K, OPC, av.rand, r.auts, sqn_ms), IOTSEC_OK);
    assert_int_equal(sqn_from_bytes(sqn_ms), (1u << USIM_IND_BITS) | 0);
    usim_wipe(&u);
}

static void test_ind_slots_accept_out_of_order(void **state)
{
    (void)state;
    /* Two serving networks (IND 3 and IND 7) hold vectors; the later-generated one is used
     * first. Both are accepted, each against its own slot. */
    struct usim u;
    usim_init(&u, K, OPC);
    struct fiveg_he_av a, b;
    struct usim_response r;
    challenge(10, 3, 0x21, &a);
    challenge(11, 7, 0x22, &b);
    assert_int_equal(usim_authenticate(&u, b.rand, b.autn, SNN, strlen(SNN), &r), USIM_OK);
    assert_int_equal(usim_authenticate(&u, a.rand, a.autn, SNN, strlen(SNN), &r), USIM_OK);
    /* A lower SEQ in a used slot is stale. */
    struct fiveg_he_av c;
    challenge(9, 3, 0x23, &c);
    assert_int_equal(usim_authenticate(&u, c.rand, c.autn, SNN, strlen(SNN), &r),
                     USIM_SYNC_FAILURE);
    assert_int_equal(usim_sqn_ms(&u), (11u << USIM_IND_BITS) | 7);
}

static void test_delta_limit(void **state)
{
    (void)state;
    struct usim u;
    usim_init(&u, K, OPC);
    u.delta = 1000;
    struct fiveg_he_av av;
    struct usim_response r;
    challenge(5, 0, 0x31, &av);
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r), USIM_OK);
    challenge(5 + 1001, 1, 0x32, &av); /* implausibly far ahead: a wrapped or forged SQN */
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r),
                     USIM_SYNC_FAILURE);
    challenge(5 + 1000, 1, 0x33, &av);
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r), USIM_OK);
}

static void test_failures_are_distinguished(void **state)
{
    (void)state;
    struct usim u;
    usim_init(&u, K, OPC);
    struct fiveg_he_av av;
    struct usim_response r;
    challenge(2, 0, 0x41, &av);
    av.autn[12] ^= 0x04;
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, strlen(SNN), &r),
                     USIM_MAC_FAILURE);
    assert_int_equal(u.seq_ms[0], 0); /* a failed challenge changes nothing */
    av.autn[12] ^= 0x04;
    assert_int_equal(usim_authenticate(&u, av.rand, av.autn, SNN, 0, &r), USIM_INVALID);
    /* Another subscriber's USIM sees a MAC failure. */
    struct usim other;
    uint8_t k2[16];
    memcpy(k2, K, 16);
    k2[0] ^= 1;
    usim_init(&other, k2, OPC);
    assert_int_equal(usim_authenticate(&other, av.rand, av.autn, SNN, strlen(SNN), &r),
                     USIM_MAC_FAILURE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_then_replay),
        cmocka_unit_test(test_ind_slots_accept_out_of_order),
        cmocka_unit_test(test_delta_limit),
        cmocka_unit_test(test_failures_are_distinguished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
