/* The full 5G AKA key chains of tests/vectors/5g_aka.json: Milenage -> AUTN -> KAUSF, XRES*,
 * HXRES*, KSEAF, KAMF -> NAS keys, KgNB, and EAP-AKA' for 5G; then the UE side answering
 * the network's challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/eap_aka_prime.h"
#include "crypto/fiveg_aka.h"
#include "crypto/kdf.h"
#include "crypto/milenage.h"
#include "vectors.h"

struct chain_inputs {
    uint8_t k[16], opc[16], rand[16], sqn[6], amf[2], abba[2];
    const char *snn, *supi_value;
};

static void load_inputs(json_t *in, struct chain_inputs *c)
{
    vectors_hex(in, "k", c->k, 16);
    vectors_hex(in, "opc", c->opc, 16);
    vectors_hex(in, "rand", c->rand, 16);
    vectors_hex(in, "sqn", c->sqn, 6);
    vectors_hex(in, "amf", c->amf, 2);
    vectors_hex(in, "abba", c->abba, 2);
    c->snn = vectors_str(in, "serving_network_name");
    c->supi_value = vectors_str(in, "kamf_p0_supi_value");
}

static void check_chain(json_t *tc)
{
    const char *id = vectors_str(tc, "id");
    struct chain_inputs c;
    load_inputs(json_object_get(tc, "inputs"), &c);
    json_t *mil = json_object_get(tc, "milenage"), *fg = json_object_get(tc, "fiveg_aka");
    json_t *down = json_object_get(tc, "downstream");

    struct milenage_out m;
    assert_int_equal(milenage_compute(c.k, c.opc, c.rand, c.sqn, c.amf, MILENAGE_ALL, &m), 0);
    vectors_expect_hex(mil, "mac_a", m.mac_a, 8, id);
    vectors_expect_hex(mil, "xres", m.res, 8, id);
    vectors_expect_hex(mil, "ck", m.ck, 16, id);
    vectors_expect_hex(mil, "ik", m.ik, 16, id);
    vectors_expect_hex(mil, "ak", m.ak, 6, id);

    struct fiveg_he_av av;
    assert_int_equal(fiveg_he_av_generate(c.k, c.opc, c.rand, c.sqn, c.amf, c.snn,
                                          strlen(c.snn), &av),
                     IOTSEC_OK);
    assert_memory_equal(av.rand, c.rand, 16);
    vectors_expect_hex(mil, "autn", av.autn, 16, id);
    vectors_expect_hex(mil, "sqn_xor_ak", av.autn, 6, id);
    vectors_expect_hex(fg, "kausf", av.kausf, 32, id);
    vectors_expect_hex(fg, "xres_star", av.xres_star, 16, id);

    uint8_t hxres[16], kseaf[32], kamf[32], knas[16], kgnb[32];
    kdf_hres_star(av.rand, av.xres_star, hxres);
    vectors_expect_hex(fg, "hxres_star", hxres, 16, id);
    assert_int_equal(kdf_kseaf(av.kausf, c.snn, strlen(c.snn), kseaf), IOTSEC_OK);
    vectors_expect_hex(fg, "kseaf", kseaf, 32, id);
    assert_int_equal(kdf_kamf(kseaf, c.supi_value, strlen(c.supi_value), c.abba, 2, kamf), 0);
    vectors_expect_hex(fg, "kamf", kamf, 32, id);

    assert_int_equal(kdf_knas(kamf, KDF_NAS_INT, 0x02, knas), IOTSEC_OK); /* 128-NIA2 */
    vectors_expect_hex(down, "knas_int_128nia2", knas, 16, id);
    assert_int_equal(kdf_knas(kamf, KDF_NAS_ENC, 0x02, knas), IOTSEC_OK); /* 128-NEA2 */
    vectors_expect_hex(down, "knas_enc_128nea2", knas, 16, id);
    assert_int_equal(kdf_kgnb(kamf, 0, 0x01, kgnb), IOTSEC_OK);
    vectors_expect_hex(down, "kgnb_ul_count_0_access_3gpp", kgnb, 32, id);

    json_t *pub = json_object_get(tc, "published_subset");
    if (json_is_object(pub)) {
        vectors_expect_hex(pub, "autn", av.autn, 16, id);
        vectors_expect_hex(pub, "xres_star", av.xres_star, 16, id);
        vectors_expect_hex(pub, "kausf", av.kausf, 32, id);
    }

    /* The UE answers the challenge with the same RES* and KAUSF, and sees the same SQN. */
    struct fiveg_ue_response ue;
    assert_int_equal(fiveg_ue_authenticate(c.k, c.opc, av.rand, av.autn, c.snn, strlen(c.snn),
                                           &ue),
                     IOTSEC_OK);
    assert_memory_equal(ue.res_star, av.xres_star, 16);
    assert_memory_equal(ue.kausf, av.kausf, 32);
    assert_memory_equal(ue.sqn, c.sqn, 6);

    /* A UE attached to another serving network derives a different RES*. */
    assert_int_equal(fiveg_ue_authenticate(c.k, c.opc, av.rand, av.autn, "5G:mnc001.mcc001",
                                           16, &ue),
                     IOTSEC_OK);
    assert_memory_not_equal(ue.res_star, av.xres_star, 16);
}

static void check_eap_5g(json_t *tc)
{
    const char *id = vectors_str(tc, "id");
    struct chain_inputs c;
    load_inputs(json_object_get(tc, "inputs"), &c);
    json_t *e = json_object_get(tc, "eap_aka_prime_5g");
    const char *name = vectors_str(e, "network_name"), *identity = vectors_str(e, "identity");
    struct milenage_out m;
    assert_int_equal(milenage_compute(c.k, c.opc, c.rand, c.sqn, c.amf, MILENAGE_ALL, &m), 0);
    uint8_t sqn_xor_ak[6], ck_p[16], ik_p[16];
    for (int i = 0; i < 6; i++)
        sqn_xor_ak[i] = c.sqn[i] ^ m.ak[i];
    assert_int_equal(eap_aka_prime_ck_ik_prime(m.ck, m.ik, name, strlen(name), sqn_xor_ak,
                                               ck_p, ik_p),
                     IOTSEC_OK);
    vectors_expect_hex(e, "ck_prime", ck_p, 16, id);
    vectors_expect_hex(e, "ik_prime", ik_p, 16, id);
    struct eap_aka_prime_keys keys;
    assert_int_equal(eap_aka_prime_keys(ck_p, ik_p, identity, strlen(identity), &keys), 0);
    vectors_expect_hex(e, "k_encr", keys.k_encr, 16, id);
    vectors_expect_hex(e, "k_aut", keys.k_aut, 32, id);
    vectors_expect_hex(e, "k_re", keys.k_re, 32, id);
    vectors_expect_hex(e, "msk", keys.msk, 64, id);
    vectors_expect_hex(e, "emsk", keys.emsk, 64, id);
    vectors_expect_hex(e, "kausf_eap_aka_prime", keys.emsk, 32, id);
}

static void test_5g_aka_chains(void **state)
{
    (void)state;
    json_t *root = vectors_load("5g_aka.json");
    json_t *cases = vectors_array(root, "cases"), *tc;
    size_t i;
    json_array_foreach(cases, i, tc) {
        check_chain(tc);
        check_eap_5g(tc);
    }
    assert_int_equal(json_array_size(cases), 2);
    json_decref(root);
}

static void test_separation_bit(void **state)
{
    (void)state;
    uint8_t k[16] = {1}, opc[16] = {2}, rand[16] = {3}, sqn[6] = {0, 0, 0, 0, 0, 0x21};
    uint8_t amf_4g[2] = {0x00, 0x00}, amf_5g[2] = {0x80, 0x00};
    const char *snn = "5G:mnc001.mcc001.3gppnetwork.org";
    struct fiveg_he_av av;
    /* The network refuses to build a 5G vector without the separation bit... */
    assert_int_equal(fiveg_he_av_generate(k, opc, rand, sqn, amf_4g, snn, strlen(snn), &av),
                     IOTSEC_ERR_INVALID);
    /* ...and a UE refuses a challenge whose AUTN lacks it, even with a valid MAC. */
    assert_int_equal(fiveg_he_av_generate(k, opc, rand, sqn, amf_5g, snn, strlen(snn), &av), 0);
    struct milenage_out m;
    assert_int_equal(milenage_compute(k, opc, rand, sqn, amf_4g, MILENAGE_ALL, &m), 0);
    uint8_t autn_4g[16];
    memcpy(autn_4g, av.autn, 6);
    memcpy(autn_4g + 6, amf_4g, 2);
    memcpy(autn_4g + 8, m.mac_a, 8);
    struct fiveg_ue_response ue;
    assert_int_equal(fiveg_ue_authenticate(k, opc, rand, autn_4g, snn, strlen(snn), &ue),
                     IOTSEC_ERR_UNSUPPORTED);
    /* A tampered AUTN is a MAC failure. */
    av.autn[9] ^= 1;
    assert_int_equal(fiveg_ue_authenticate(k, opc, rand, av.autn, snn, strlen(snn), &ue),
                     IOTSEC_ERR_AUTH);
    /* An empty serving network name is refused on both sides. */
    assert_int_equal(fiveg_he_av_generate(k, opc, rand, sqn, amf_5g, "", 0, &av),
                     IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5g_aka_chains),
        cmocka_unit_test(test_separation_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
