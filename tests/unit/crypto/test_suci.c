/* SUCI concealment and de-concealment: every entry of tests/vectors/suci.json (TS 33.501
 * Annex C.4, each intermediate value of the profiles checked on its own), round trips for
 * both profiles and both SUPI types, the keyring, tampering, malformed strings, and several
 * threads sharing one keyring. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/suci.h"
#include "crypto/suci_ecies.h"
#include "vectors.h"

/* ---- Helpers ---------------------------------------------------------------------------- */

static struct supi supi_of(const char *s)
{
    struct supi out;
    if (supi_parse(s, &out) != IOTSEC_OK)
        fail_msg("bad SUPI in test: %s", s);
    return out;
}

static void expect_supi(const struct supi *got, const char *want)
{
    char buf[SUPI_STRING_MAX];
    assert_int_equal(supi_format(got, buf, sizeof(buf)), IOTSEC_OK);
    assert_string_equal(buf, want);
}

/* The scheme output field: everything after the last '-'. */
static const char *output_field(const char *suci)
{
    const char *dash = strrchr(suci, '-');
    assert_non_null(dash);
    return dash + 1;
}

/* TBCD to digits, written here independently of the library: the vectors give the MSIN in
 * its over-the-air form, the SBI string form carries digits. */
static void tbcd_to_digits(const char *tbcd_hex, char *digits)
{
    uint8_t b[8];
    size_t n;
    assert_int_equal(hex_decode_var(tbcd_hex, b, sizeof(b), &n), IOTSEC_OK);
    for (size_t i = 0; i < n; i++) {
        *digits++ = (char)('0' + (b[i] & 0xf));
        if ((b[i] >> 4) != 0xf)
            *digits++ = (char)('0' + (b[i] >> 4));
    }
    *digits = '\0';
}

static enum suci_scheme profile_of(json_t *v)
{
    const char *p = vectors_str(v, "profile");
    enum suci_scheme s;
    assert_int_equal(suci_scheme_parse(p, &s), IOTSEC_OK);
    return s;
}

/* ---- Null scheme vectors (C.4.2) -------------------------------------------------------- */

static void test_null_scheme_imsi_vector(json_t *v)
{
    const char *plmn = vectors_str(v, "mcc_mnc"), *msin = vectors_str(v, "msin");
    char supi_s[32], msin_from_tbcd[24], want[96];
    snprintf(supi_s, sizeof(supi_s), "imsi-%s%s", plmn, msin);
    /* The null scheme's output is its input (C.4.2.1). */
    assert_string_equal(vectors_str(v, "scheme_input"), vectors_str(v, "scheme_output"));
    tbcd_to_digits(vectors_str(v, "scheme_output"), msin_from_tbcd);

    struct supi s = supi_of(supi_s);
    struct suci_conceal_params p = {.scheme = SUCI_SCHEME_NULL,
                                    .mnc_length = (int)strlen(plmn) - 3};
    char suci[SUCI_STRING_MAX];
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    snprintf(want, sizeof(want), "suci-0-%.3s-%s-0-0-0-%s", plmn, plmn + 3, msin_from_tbcd);
    assert_string_equal(suci, want);

    struct supi back;
    assert_int_equal(suci_deconceal(NULL, suci, &back), IOTSEC_OK);
    expect_supi(&back, supi_s);
}

static void test_null_scheme_nai_vector(json_t *v)
{
    const char *supi_s = vectors_str(v, "supi");
    char supi_sbi[SUPI_STRING_MAX];
    snprintf(supi_sbi, sizeof(supi_sbi), "nai-%s", supi_s);
    struct supi s = supi_of(supi_sbi);
    struct suci_conceal_params p = {.scheme = SUCI_SCHEME_NULL, .routing_indicator = "678"};
    char suci[SUCI_STRING_MAX];
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    assert_true(strncmp(suci, "suci-1-3gpp.com-678-0-0-", 24) == 0);

    /* Our output is the username in hex: the vector's scheme input... */
    const char *out = output_field(suci);
    assert_string_equal(out, vectors_str(v, "scheme_input"));
    /* ...and, as text, the vector's NAI-form output without its "userid" label. */
    uint8_t user[64];
    size_t n;
    assert_int_equal(hex_decode_var(out, user, sizeof(user) - 1, &n), IOTSEC_OK);
    user[n] = '\0';
    char labelled[80];
    snprintf(labelled, sizeof(labelled), "userid%s", (const char *)user);
    assert_string_equal(labelled, vectors_str(v, "scheme_output_text"));

    struct supi back;
    assert_int_equal(suci_deconceal(NULL, suci, &back), IOTSEC_OK);
    expect_supi(&back, supi_sbi);
}

static void test_null_scheme_vectors(void **state)
{
    (void)state;
    json_t *root = vectors_load("suci.json");
    json_t *cases = vectors_array(root, "null_scheme");
    size_t i, done = 0;
    json_t *v;
    json_array_foreach(cases, i, v)
    {
        const char *type = vectors_str(v, "supi_type");
        if (strcmp(type, "IMSI") == 0)
            test_null_scheme_imsi_vector(v);
        else if (strcmp(type, "NAI") == 0)
            test_null_scheme_nai_vector(v);
        else
            fail_msg("unknown supi_type %s", type);
        done++;
    }
    assert_int_equal(done, 2);
    json_decref(root);
}

/* ---- Profile vectors (C.4.3, C.4.4): each intermediate value ------------------------------ */

/* A vector's keys in the forms the profile uses. */
struct vector_keys {
    enum suci_scheme scheme;
    uint8_t hn_priv[32], eph_priv[32];
    uint8_t hn_pub[65], eph_pub[65];
    size_t pub_len;                          /* 32 (A) or 33 (B, compressed) */
    uint8_t hn_pub_unc[65], eph_pub_unc[65]; /* Profile B only */
};

static void load_keys(json_t *v, struct vector_keys *k)
{
    memset(k, 0, sizeof(*k));
    k->scheme = profile_of(v);
    vectors_hex(v, "hn_private_key", k->hn_priv, 32);
    vectors_hex(v, "eph_private_key", k->eph_priv, 32);
    if (k->scheme == SUCI_SCHEME_PROFILE_A) {
        k->pub_len = 32;
        vectors_hex(v, "hn_public_key", k->hn_pub, 32);
        vectors_hex(v, "eph_public_key", k->eph_pub, 32);
    } else {
        k->pub_len = 33;
        vectors_hex(v, "hn_public_key_compressed", k->hn_pub, 33);
        vectors_hex(v, "eph_public_key_compressed", k->eph_pub, 33);
        vectors_hex(v, "hn_public_key_uncompressed", k->hn_pub_unc, 65);
        vectors_hex(v, "eph_public_key_uncompressed", k->eph_pub_unc, 65);
    }
}

static void check_public_keys(json_t *v, const struct vector_keys *k, const char *id)
{
    uint8_t pub[SUCI_PUBLIC_KEY_MAX];
    size_t len;
    int b = k->scheme == SUCI_SCHEME_PROFILE_B;
    assert_int_equal(suci_public_key(k->scheme, k->hn_priv, pub, &len), IOTSEC_OK);
    assert_int_equal(len, k->pub_len);
    vectors_expect_hex(v, b ? "hn_public_key_compressed" : "hn_public_key", pub, len, id);
    assert_int_equal(suci_public_key(k->scheme, k->eph_priv, pub, &len), IOTSEC_OK);
    vectors_expect_hex(v, b ? "eph_public_key_compressed" : "eph_public_key", pub, len, id);
    if (!b)
        return;
    assert_int_equal(ecies_public_key(k->scheme, k->hn_priv, 1, pub, &len), IOTSEC_OK);
    assert_int_equal(len, 65);
    vectors_expect_hex(v, "hn_public_key_uncompressed", pub, len, id);
    assert_int_equal(ecies_public_key(k->scheme, k->eph_priv, 1, pub, &len), IOTSEC_OK);
    vectors_expect_hex(v, "eph_public_key_uncompressed", pub, len, id);
}

/* ECDH both ways (and, for B, from either form of the peer's key), then the KDF. */
static void check_shared_and_kdf(json_t *v, const struct vector_keys *k, const char *id)
{
    uint8_t z[32];
    assert_int_equal(ecies_shared_secret(k->scheme, k->hn_priv, k->eph_pub, k->pub_len, z),
                     IOTSEC_OK);
    vectors_expect_hex(v, "eph_shared_key", z, 32, id);
    assert_int_equal(ecies_shared_secret(k->scheme, k->eph_priv, k->hn_pub, k->pub_len, z),
                     IOTSEC_OK);
    vectors_expect_hex(v, "eph_shared_key", z, 32, id);
    if (k->scheme == SUCI_SCHEME_PROFILE_B) {
        assert_int_equal(ecies_shared_secret(k->scheme, k->hn_priv, k->eph_pub_unc, 65, z),
                         IOTSEC_OK);
        vectors_expect_hex(v, "eph_shared_key", z, 32, id);
        assert_int_equal(ecies_shared_secret(k->scheme, k->eph_priv, k->hn_pub_unc, 65, z),
                         IOTSEC_OK);
        vectors_expect_hex(v, "eph_shared_key", z, 32, id);
    }
    uint8_t enc[16], icb[16], mac[32];
    ecies_kdf(z, k->eph_pub, k->pub_len, enc, icb, mac);
    vectors_expect_hex(v, "eph_enc_key", enc, 16, id);
    vectors_expect_hex(v, "icb", icb, 16, id);
    vectors_expect_hex(v, "eph_mac_key", mac, 32, id);
}

/* The ECIES layer: output = EphPub || Ciphertext || MAC over the vector's plaintext, and the
 * reverse with the home-network key. */
static void check_ecies(json_t *v, const struct vector_keys *k, const char *id)
{
    uint8_t pt[16], out[ECIES_OUTPUT_MAX], back[16];
    size_t pt_len, out_len, back_len;
    assert_int_equal(hex_decode_var(vectors_str(v, "plaintext"), pt, sizeof(pt), &pt_len),
                     IOTSEC_OK);
    assert_int_equal(ecies_encrypt(k->scheme, k->hn_pub, k->pub_len, k->eph_priv, 0, pt, pt_len,
                                   out, sizeof(out), &out_len),
                     IOTSEC_OK);
    assert_int_equal(out_len, k->pub_len + pt_len + 8);
    vectors_expect_hex(v, "ciphertext", out + k->pub_len, pt_len, id);
    vectors_expect_hex(v, "mac_tag", out + k->pub_len + pt_len, 8, id);
    vectors_expect_hex(v, "scheme_output", out, out_len, id);

    struct ecies_hn_key *hn;
    assert_int_equal(ecies_hn_key_new(k->scheme, k->hn_priv, &hn), IOTSEC_OK);
    assert_int_equal(ecies_decrypt(hn, out, out_len, back, sizeof(back), &back_len), IOTSEC_OK);
    vectors_expect_hex(v, "plaintext", back, back_len, id);
    ecies_hn_key_free(hn);
}

/* The SUCI string: concealment with the vector's ephemeral key gives exactly its scheme
 * output, and de-concealment gives the SUPI back. */
static void check_suci(json_t *v, const struct vector_keys *k, const char *id)
{
    const char *mcc = vectors_str(v, "mcc"), *mnc = vectors_str(v, "mnc");
    struct supi s = supi_of(vectors_str(v, "supi"));
    struct suci_conceal_params p = {.scheme = k->scheme,
                                    .key_id = 27,
                                    .hn_public_key = k->hn_pub,
                                    .hn_public_key_len = k->pub_len,
                                    .routing_indicator = "678",
                                    .mnc_length = (int)strlen(mnc)};
    char suci[SUCI_STRING_MAX], head[64];
    assert_int_equal(suci_conceal_with_ephemeral(&s, &p, k->eph_priv, 0, suci, sizeof(suci)),
                     IOTSEC_OK);
    snprintf(head, sizeof(head), "suci-0-%s-%s-678-%d-27-", mcc, mnc, (int)k->scheme);
    if (strncmp(suci, head, strlen(head)) != 0)
        fail_msg("%s: SUCI %s does not start with %s", id, suci, head);
    assert_string_equal(output_field(suci), vectors_str(v, "scheme_output"));

    struct suci_keyring *kr = suci_keyring_new();
    assert_non_null(kr);
    assert_int_equal(suci_keyring_add(kr, k->scheme, 27, k->hn_priv), IOTSEC_OK);
    struct supi back;
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    expect_supi(&back, vectors_str(v, "supi"));
    suci_keyring_free(kr);
}

/* Profile B: a UE may send its ephemeral key uncompressed, or be provisioned with the
 * home-network key uncompressed; the KDF still takes the compressed form, so the ciphertext
 * and MAC are those of the vector. */
static void check_uncompressed(json_t *v, const struct vector_keys *k, const char *id)
{
    struct supi s = supi_of(vectors_str(v, "supi"));
    struct suci_conceal_params p = {.scheme = k->scheme,
                                    .key_id = 5,
                                    .hn_public_key = k->hn_pub_unc,
                                    .hn_public_key_len = 65,
                                    .mnc_length = (int)strlen(vectors_str(v, "mnc"))};
    char suci[SUCI_STRING_MAX], want[200];
    const char *vec_out = vectors_str(v, "scheme_output");
    assert_int_equal(suci_conceal_with_ephemeral(&s, &p, k->eph_priv, 0, suci, sizeof(suci)),
                     IOTSEC_OK);
    assert_string_equal(output_field(suci), vec_out);

    assert_int_equal(suci_conceal_with_ephemeral(&s, &p, k->eph_priv, 1, suci, sizeof(suci)),
                     IOTSEC_OK);
    snprintf(want, sizeof(want), "%s%s", vectors_str(v, "eph_public_key_uncompressed"),
             vec_out + 2 * 33);
    if (strcmp(output_field(suci), want) != 0)
        fail_msg("%s: uncompressed output %s, expected %s", id, output_field(suci), want);

    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, k->scheme, 5, k->hn_priv), IOTSEC_OK);
    struct supi back;
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    expect_supi(&back, vectors_str(v, "supi"));
    suci_keyring_free(kr);
}

static void test_profile_vectors(void **state)
{
    (void)state;
    json_t *root = vectors_load("suci.json");
    json_t *cases = vectors_array(root, "vectors");
    size_t i, done = 0;
    json_t *v;
    json_array_foreach(cases, i, v)
    {
        const char *id = vectors_str(v, "id");
        struct vector_keys k;
        load_keys(v, &k);
        check_public_keys(v, &k, id);
        check_shared_and_kdf(v, &k, id);
        check_ecies(v, &k, id);
        check_suci(v, &k, id);
        if (k.scheme == SUCI_SCHEME_PROFILE_B)
            check_uncompressed(v, &k, id);
        done++;
    }
    assert_int_equal(done, 2);
    json_decref(root);
}

/* "<suci> -> <supi>" or a bare SUCI whose SUPI is the vector's. */
static void check_example(json_t *v, const char *key, struct suci_keyring *kr)
{
    json_t *ex = json_object_get(v, key);
    if (ex == NULL)
        return;
    char buf[400], want[64];
    snprintf(buf, sizeof(buf), "%s", json_string_value(ex));
    char *arrow = strstr(buf, " -> ");
    if (arrow != NULL) {
        *arrow = '\0';
        snprintf(want, sizeof(want), "%s", arrow + 4);
    } else {
        snprintf(want, sizeof(want), "%s", vectors_str(v, "supi"));
    }
    struct supi back;
    int rc = suci_deconceal(kr, buf, &back);
    if (rc != IOTSEC_OK)
        fail_msg("%s: %s gives %s", key, buf, iotsec_strerror(rc));
    expect_supi(&back, want);
}

/* The SUCI strings other implementations print for C.4.3.1, under any key id. */
static void test_vector_string_examples(void **state)
{
    (void)state;
    json_t *root = vectors_load("suci.json");
    json_t *cases = vectors_array(root, "vectors");
    size_t i;
    json_t *v;
    json_array_foreach(cases, i, v)
    {
        uint8_t hn_priv[32];
        vectors_hex(v, "hn_private_key", hn_priv, 32);
        enum suci_scheme scheme = profile_of(v);
        struct suci_keyring *kr = suci_keyring_new();
        assert_int_equal(suci_keyring_add(kr, scheme, 1, hn_priv), IOTSEC_OK);
        assert_int_equal(suci_keyring_add(kr, scheme, 27, hn_priv), IOTSEC_OK);
        check_example(v, "suci_string_example_oai", kr);
        check_example(v, "suci_string_example_free5gc", kr);
        suci_keyring_free(kr);
    }
    /* Entries meant for decryption only: a SUCI for the IMSI's PLMN under key id 1. */
    json_t *extra = json_object_get(root, "extra_decrypt_only");
    assert_true(json_is_array(extra));
    json_array_foreach(extra, i, v)
    {
        uint8_t hn_priv[32];
        vectors_hex(v, "hn_private_key", hn_priv, 32);
        enum suci_scheme scheme = profile_of(v);
        struct suci_keyring *kr = suci_keyring_new();
        assert_int_equal(suci_keyring_add(kr, scheme, 1, hn_priv), IOTSEC_OK);
        char suci[SUCI_STRING_MAX];
        snprintf(suci, sizeof(suci), "suci-0-%s-%s-0-%d-1-%s", vectors_str(v, "mcc"),
                 vectors_str(v, "mnc"), (int)scheme, vectors_str(v, "scheme_output"));
        struct supi back;
        assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
        expect_supi(&back, vectors_str(v, "supi"));
        suci_keyring_free(kr);
    }
    json_decref(root);
}

/* ---- Round trips ------------------------------------------------------------------------ */

static const char *const round_trip_supis[] = {
    "imsi-274012001002086", /* odd MSIN: F-padded */
    "imsi-20801930000001",  /* even MSIN */
    "imsi-310260123456789", /* 3-digit MNC by default */
    "imsi-001011",          /* one-digit MSIN */
    "nai-verylongusername1@3gpp.com",
    "nai-x@e-x-a-m-p-l-e.org", /* realm with '-' */
    "nai-a.b+c_d%e!f~g@realm",
};

static void round_trip(struct suci_keyring *kr, enum suci_scheme scheme, uint8_t key_id,
                       const uint8_t *pub, size_t pub_len, const char *supi_s)
{
    struct supi s = supi_of(supi_s), back;
    struct suci_conceal_params p = {.scheme = scheme,
                                    .key_id = key_id,
                                    .hn_public_key = pub,
                                    .hn_public_key_len = pub_len,
                                    .routing_indicator = "1234"};
    char suci[SUCI_STRING_MAX], again[SUCI_STRING_MAX];
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    /* The SUPI's secret part never shows in clear (checked where it is long enough not to
     * turn up in the hex by chance). */
    if (s.type == SUPI_IMSI && strlen(s.value) >= 15 && strstr(suci, s.value + 6) != NULL)
        fail_msg("%s shows in %s", s.value + 6, suci);
    assert_null(strstr(suci, "verylongusername1"));
    int rc = suci_deconceal(kr, suci, &back);
    if (rc != IOTSEC_OK)
        fail_msg("%s: %s", suci, iotsec_strerror(rc));
    expect_supi(&back, supi_s);
    /* A fresh ephemeral key each time. */
    assert_int_equal(suci_conceal(&s, &p, again, sizeof(again)), IOTSEC_OK);
    assert_string_not_equal(suci, again);
}

static void test_round_trips(void **state)
{
    (void)state;
    static const enum suci_scheme schemes[] = {SUCI_SCHEME_PROFILE_A, SUCI_SCHEME_PROFILE_B};
    for (size_t si = 0; si < 2; si++) {
        uint8_t priv[32], pub[SUCI_PUBLIC_KEY_MAX];
        size_t pub_len;
        assert_int_equal(suci_generate_key_pair(schemes[si], priv, pub, &pub_len), IOTSEC_OK);
        assert_int_equal(pub_len, schemes[si] == SUCI_SCHEME_PROFILE_A ? 32 : 33);
        struct suci_keyring *kr = suci_keyring_new();
        assert_int_equal(suci_keyring_add(kr, schemes[si], 9, priv), IOTSEC_OK);
        /* Many rounds: a fresh ephemeral key exercises both parities of P-256 points. */
        for (int round = 0; round < 40; round++) {
            for (size_t i = 0; i < sizeof(round_trip_supis) / sizeof(round_trip_supis[0]); i++)
                round_trip(kr, schemes[si], 9, pub, pub_len, round_trip_supis[i]);
        }
        suci_keyring_free(kr);
    }
}

/* The longest NAI (253 octets), under Profile B with an uncompressed ephemeral key: the
 * longest SUCI there is, and it fits SUCI_STRING_MAX. */
static void test_longest_nai(void **state)
{
    (void)state;
    char supi_s[SUPI_STRING_MAX];
    memcpy(supi_s, "nai-", 4);
    memset(supi_s + 4, 'u', SUPI_VALUE_MAX - 2);
    memcpy(supi_s + 4 + SUPI_VALUE_MAX - 2, "@r", 3);
    struct supi s = supi_of(supi_s), back;
    uint8_t priv[32], eph[32], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_B, eph, pub, &pub_len),
                     IOTSEC_OK); /* only the private half is used, as the ephemeral key */
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_B, priv, pub, &pub_len), IOTSEC_OK);
    struct suci_conceal_params p = {.scheme = SUCI_SCHEME_PROFILE_B,
                                    .key_id = 255,
                                    .hn_public_key = pub,
                                    .hn_public_key_len = pub_len,
                                    .routing_indicator = "9999"};
    char suci[SUCI_STRING_MAX];
    assert_int_equal(suci_conceal_with_ephemeral(&s, &p, eph, 1, suci, sizeof(suci)), IOTSEC_OK);
    assert_int_equal(strlen(suci), 7 + 1 + 1 + 4 + 1 + 1 + 1 + 3 + 1 + 2 * (65 + 251 + 8));
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_B, 255, priv), IOTSEC_OK);
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    expect_supi(&back, supi_s);
    /* Null scheme too. */
    p.scheme = SUCI_SCHEME_NULL;
    p.key_id = 0;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    expect_supi(&back, supi_s);
    suci_keyring_free(kr);
}

static void test_default_mnc_length_in_suci(void **state)
{
    (void)state;
    struct suci_conceal_params p = {.scheme = SUCI_SCHEME_NULL};
    char suci[SUCI_STRING_MAX];
    struct supi s = supi_of("imsi-310260123456789");
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    assert_string_equal(suci, "suci-0-310-260-0-0-0-123456789");
    s = supi_of("imsi-274012001002086");
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    assert_string_equal(suci, "suci-0-274-01-0-0-0-2001002086");
    p.mnc_length = 3;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);
    assert_string_equal(suci, "suci-0-274-012-0-0-0-001002086");
}

/* ---- Keyring ---------------------------------------------------------------------------- */

struct hn_pair {
    enum suci_scheme scheme;
    uint8_t key_id;
    uint8_t priv[32], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
};

static void conceal_for(const struct hn_pair *k, uint8_t key_id, const char *supi_s, char *suci)
{
    struct supi s = supi_of(supi_s);
    struct suci_conceal_params p = {.scheme = k->scheme,
                                    .key_id = key_id,
                                    .hn_public_key = k->pub,
                                    .hn_public_key_len = k->pub_len};
    assert_int_equal(suci_conceal(&s, &p, suci, SUCI_STRING_MAX), IOTSEC_OK);
}

static void test_keyring_several_keys(void **state)
{
    (void)state;
    struct hn_pair keys[] = {
        {.scheme = SUCI_SCHEME_PROFILE_A, .key_id = 1},
        {.scheme = SUCI_SCHEME_PROFILE_A, .key_id = 2},
        {.scheme = SUCI_SCHEME_PROFILE_A, .key_id = 200},
        {.scheme = SUCI_SCHEME_PROFILE_B, .key_id = 1},
        {.scheme = SUCI_SCHEME_PROFILE_B, .key_id = 2},
        {.scheme = SUCI_SCHEME_PROFILE_B, .key_id = 255},
    };
    const size_t n = sizeof(keys) / sizeof(keys[0]);
    struct suci_keyring *kr = suci_keyring_new();
    assert_non_null(kr);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            suci_generate_key_pair(keys[i].scheme, keys[i].priv, keys[i].pub, &keys[i].pub_len),
            IOTSEC_OK);
        assert_int_equal(suci_keyring_add(kr, keys[i].scheme, keys[i].key_id, keys[i].priv),
                         IOTSEC_OK);
    }
    char suci[SUCI_STRING_MAX];
    struct supi back;
    for (size_t i = 0; i < n; i++) {
        conceal_for(&keys[i], keys[i].key_id, "imsi-001010000000001", suci);
        assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
        expect_supi(&back, "imsi-001010000000001");
        /* Under another key's id the MAC does not verify. */
        uint8_t other = keys[(i + 1) % 3 + (i / 3) * 3].key_id;
        conceal_for(&keys[i], other, "imsi-001010000000001", suci);
        assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_ERR_AUTH);
        assert_int_equal(back.value[0], '\0');
    }
    /* Key ids absent from the keyring (3 for A; 200 exists for A but not for B). */
    conceal_for(&keys[0], 3, "imsi-001010000000001", suci);
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_ERR_NOTFOUND);
    conceal_for(&keys[3], 200, "nai-someone@example.org", suci);
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(suci_deconceal(NULL, suci, &back), IOTSEC_ERR_NOTFOUND);
    suci_keyring_free(kr);
}

static void test_keyring_add_invalid(void **state)
{
    (void)state;
    struct suci_keyring *kr = suci_keyring_new();
    uint8_t priv[32] = {1}, pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 7, priv), IOTSEC_OK);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 7, priv), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_B, 7, priv), IOTSEC_OK);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 0, priv), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_NULL, 1, priv), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_keyring_add(kr, (enum suci_scheme)3, 1, priv), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 1, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_keyring_add(NULL, SUCI_SCHEME_PROFILE_A, 1, priv), IOTSEC_ERR_INVALID);
    /* P-256 scalars must be in [1, n-1]. */
    static const char *const bad_b[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", /* n */
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(hex_decode(bad_b[i], priv, 32), IOTSEC_OK);
        assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_B, 9, priv), IOTSEC_ERR_INVALID);
        assert_int_equal(suci_public_key(SUCI_SCHEME_PROFILE_B, priv, pub, &pub_len),
                         IOTSEC_ERR_INVALID);
    }
    /* n - 1 is the largest valid one. */
    assert_int_equal(
        hex_decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550", priv, 32),
        IOTSEC_OK);
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_B, 9, priv), IOTSEC_OK);
    assert_int_equal(suci_public_key(SUCI_SCHEME_NULL, priv, pub, &pub_len), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_NULL, priv, pub, &pub_len),
                     IOTSEC_ERR_INVALID);
    suci_keyring_free(kr);
    suci_keyring_free(NULL);
}

/* ---- Tampering -------------------------------------------------------------------------- */

/* Flips one bit of the scheme output at byte `at` (hex digit pair) of a SUCI string. */
static void flip_output_bit(char *suci, size_t at, int bit)
{
    char *out = (char *)output_field(suci);
    uint8_t bytes[ECIES_OUTPUT_MAX];
    size_t n;
    assert_int_equal(hex_decode_var(out, bytes, sizeof(bytes), &n), IOTSEC_OK);
    assert_true(at < n);
    bytes[at] ^= (uint8_t)(1u << bit);
    hex_encode(bytes, n, out);
}

static void tamper_everywhere(enum suci_scheme scheme, int eph_uncompressed)
{
    uint8_t priv[32], pub[SUCI_PUBLIC_KEY_MAX], eph[32], junk[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len, junk_len;
    assert_int_equal(suci_generate_key_pair(scheme, priv, pub, &pub_len), IOTSEC_OK);
    assert_int_equal(suci_generate_key_pair(scheme, eph, junk, &junk_len), IOTSEC_OK);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, scheme, 1, priv), IOTSEC_OK);
    struct supi s = supi_of("imsi-274012001002086"), back;
    struct suci_conceal_params p = {
        .scheme = scheme, .key_id = 1, .hn_public_key = pub, .hn_public_key_len = pub_len};
    char suci[SUCI_STRING_MAX], t[SUCI_STRING_MAX];
    assert_int_equal(suci_conceal_with_ephemeral(&s, &p, eph, eph_uncompressed, suci, sizeof(suci)),
                     IOTSEC_OK);
    size_t eph_len = scheme == SUCI_SCHEME_PROFILE_A ? 32 : eph_uncompressed ? 65 : 33;
    size_t total = strlen(output_field(suci)) / 2;
    for (size_t at = 0; at < total; at++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(t, suci, sizeof(t));
            flip_output_bit(t, at, bit);
            int rc = suci_deconceal(kr, t, &back);
            if (at >= eph_len || scheme == SUCI_SCHEME_PROFILE_A) {
                if (rc != IOTSEC_ERR_AUTH)
                    fail_msg("byte %zu bit %d: %s", at, bit, iotsec_strerror(rc));
            } else if (rc != IOTSEC_ERR_AUTH && rc != IOTSEC_ERR_INVALID) {
                /* A P-256 key off the curve, or a bad prefix, is INVALID; else AUTH. */
                fail_msg("key byte %zu bit %d: %s", at, bit, iotsec_strerror(rc));
            }
        }
    }
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    suci_keyring_free(kr);
}

static void test_tampering(void **state)
{
    (void)state;
    tamper_everywhere(SUCI_SCHEME_PROFILE_A, 0);
    tamper_everywhere(SUCI_SCHEME_PROFILE_B, 0);
    tamper_everywhere(SUCI_SCHEME_PROFILE_B, 1);
}

/* Ephemeral P-256 keys that are not points, built from the C.4.4.1 SUCI. */
static void test_invalid_points(void **state)
{
    (void)state;
    json_t *root = vectors_load("suci.json");
    json_t *v = json_array_get(vectors_array(root, "vectors"), 1);
    assert_string_equal(vectors_str(v, "profile"), "B");
    uint8_t priv[32];
    vectors_hex(v, "hn_private_key", priv, 32);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_B, 1, priv), IOTSEC_OK);
    const char *out = vectors_str(v, "scheme_output"),
               *unc = vectors_str(v, "eph_public_key_uncompressed");
    const char *tail = out + 66; /* ciphertext || MAC */
    /* x = p, x = 2^256 - 1, x = 1 (x^3 - 3x + b is not a square for x = 1), a bad prefix, and
     * an uncompressed key whose y is off by one. */
    char bad_keys[5][140];
    snprintf(bad_keys[0], 140, "02%s",
             "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    snprintf(bad_keys[1], 140, "03%064d", 0);
    memset(bad_keys[1] + 2, 'f', 64);
    snprintf(bad_keys[2], 140, "02%064d", 1);
    snprintf(bad_keys[3], 140, "05%s", out + 2);
    bad_keys[3][66] = '\0';
    snprintf(bad_keys[4], 140, "%s", unc);
    bad_keys[4][129] = bad_keys[4][129] == '0' ? '1' : '0';
    struct supi back;
    for (int i = 0; i < 5; i++) {
        char suci[1024];
        int n = snprintf(suci, sizeof(suci), "suci-0-274-012-0-2-1-%s%s", bad_keys[i], tail);
        assert_true(n > 0 && (size_t)n < sizeof(suci));
        int rc = suci_deconceal(kr, suci, &back);
        if (rc != IOTSEC_ERR_INVALID)
            fail_msg("bad key %d: %s", i, iotsec_strerror(rc));
    }
    /* The point with the other y (prefix 03 instead of 02, or vice versa) gives the same ECDH
     * secret but a different SharedInfo1: the MAC catches it. */
    char suci[SUCI_STRING_MAX];
    snprintf(suci, sizeof(suci), "suci-0-274-012-0-2-1-%s", out);
    suci[21 + 1] = suci[21 + 1] == '2' ? '3' : '2';
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_ERR_AUTH);
    /* Upper-case hex is still hex. */
    snprintf(suci, sizeof(suci), "suci-0-274-012-0-2-1-%s", out);
    for (char *c = suci + 21; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    assert_int_equal(suci_deconceal(kr, suci, &back), IOTSEC_OK);
    expect_supi(&back, "imsi-274012001002086");
    suci_keyring_free(kr);
    json_decref(root);
}

/* Our P-256 point decompression against OpenSSL's: for random x (and the edges of the field)
 * with either parity, the key is accepted exactly when OpenSSL accepts it, and then gives the
 * same ECDH secret as the uncompressed form OpenSSL derives. */
static void test_p256_decompression_matches_openssl(void **state)
{
    (void)state;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = EC_POINT_new(g);
    BN_CTX *bn = BN_CTX_new();
    assert_non_null(g);
    assert_non_null(pt);
    assert_non_null(bn);
    uint8_t priv[32], pub[SUCI_PUBLIC_KEY_MAX];
    size_t pub_len;
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_B, priv, pub, &pub_len), IOTSEC_OK);
    static const char *const edges[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000001",
        "0000000000000000000000000000000000000000000000000000000000000005",
        "ffffffff00000001000000000000000000000000fffffffffffffffffffffffe", /* p - 1 */
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", /* p */
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    int accepted = 0;
    for (int i = 0; i < 600; i++) {
        uint8_t key[33], unc[65], z1[32], z2[32];
        key[0] = (uint8_t)(0x02 | (i & 1));
        if (i / 2 < 6)
            assert_int_equal(hex_decode(edges[i / 2], key + 1, 32), IOTSEC_OK);
        else
            assert_int_equal(RAND_bytes(key + 1, 32), 1);
        int ours = ecies_shared_secret(SUCI_SCHEME_PROFILE_B, priv, key, 33, z1);
        int theirs = EC_POINT_oct2point(g, pt, key, 33, bn);
        if (!theirs) {
            assert_int_equal(ours, IOTSEC_ERR_INVALID);
            continue;
        }
        accepted++;
        assert_int_equal(ours, IOTSEC_OK);
        assert_int_equal(EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, unc, 65, bn), 65);
        assert_int_equal(ecies_shared_secret(SUCI_SCHEME_PROFILE_B, priv, unc, 65, z2), IOTSEC_OK);
        assert_memory_equal(z1, z2, 32);
    }
    /* About half of all x are on the curve: both branches ran. */
    assert_true(accepted > 200 && accepted < 400);
    BN_CTX_free(bn);
    EC_POINT_free(pt);
    EC_GROUP_free(g);
}

/* Well-formed SUCIs whose decrypted plaintext is not a valid MSIN or username. */
static void test_bad_plaintexts(void **state)
{
    (void)state;
    uint8_t priv[32], pub[SUCI_PUBLIC_KEY_MAX], eph[32], out[ECIES_OUTPUT_MAX];
    size_t pub_len, out_len;
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_A, priv, pub, &pub_len), IOTSEC_OK);
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_A, eph, out, &out_len), IOTSEC_OK);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 1, priv), IOTSEC_OK);
    static const struct {
        const char *type_and_plmn; /* "0-274-012" or "1-realm" */
        const char *pt;            /* bytes, as a string */
        size_t len;
    } cases[] = {
        {"0-274-012", "\x0a", 1},                     /* nibble 0xa */
        {"0-274-012", "\x0f", 1},                     /* filler as the first digit */
        {"0-274-012", "\xf1\x32", 2},                 /* filler before the end */
        {"0-274-012", "\x10\x32\x54\x76\x98\x10", 6}, /* 12 digits: IMSI of 18 */
        {"1-realm", "us@er", 5},
        {"1-realm", "us er", 5},
        {"1-realm", "\x01user", 5},
        {"1-realm", "user\xff", 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ecies_encrypt(SUCI_SCHEME_PROFILE_A, pub, pub_len, eph, 0,
                                       (const uint8_t *)cases[i].pt, cases[i].len, out, sizeof(out),
                                       &out_len),
                         IOTSEC_OK);
        char hex[2 * ECIES_OUTPUT_MAX + 1], suci[SUCI_STRING_MAX];
        hex_encode(out, out_len, hex);
        snprintf(suci, sizeof(suci), "suci-%s-0-1-1-%s", cases[i].type_and_plmn, hex);
        struct supi back;
        if (suci_deconceal(kr, suci, &back) != IOTSEC_ERR_INVALID)
            fail_msg("case %zu accepted", i);
    }
    suci_keyring_free(kr);
}

/* ---- Malformed strings ------------------------------------------------------------------ */

#define A_OUT                                                                                      \
    "b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87"

static void test_malformed_strings(void **state)
{
    (void)state;
    uint8_t priv[32];
    assert_int_equal(
        hex_decode("c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d", priv, 32),
        IOTSEC_OK);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 1, priv), IOTSEC_OK);
    struct supi back;
    /* The well-formed reference. */
    assert_int_equal(suci_deconceal(kr, "suci-0-274-012-0-1-1-" A_OUT, &back), IOTSEC_OK);

    static const char *const bad[] = {
        "",
        "suci",
        "suci-",
        "suci-0",
        "suci-0-",
        "SUCI-0-274-012-0-1-1-" A_OUT,
        "supi-0-274-012-0-1-1-" A_OUT,
        "suci-8-274-012-0-1-1-" A_OUT, /* SUPI type out of range */
        "suci-a-274-012-0-1-1-" A_OUT,
        "suci-00-274-012-0-1-1-" A_OUT,
        "suci-0-274-012-1-1-" A_OUT,     /* a field missing */
        "suci-0-274-0-1-1-" A_OUT,       /* MNC of 1 digit reads as missing field */
        "suci-0-274-012-0-0-1-1-" A_OUT, /* a field too many */
        "suci-0-274-012-0-1-1",          /* no output */
        "suci-0-274-012-0-1-1-",         /* empty output */
        "suci-0-27-012-0-1-1-" A_OUT,    /* MCC of 2 digits */
        "suci-0-2744-012-0-1-1-" A_OUT,  /* MCC of 4 digits */
        "suci-0-274-0123-0-1-1-" A_OUT,  /* MNC of 4 digits */
        "suci-0-274-01a-0-1-1-" A_OUT,
        "suci-0-274--0-1-1-" A_OUT,
        "suci-0-274-012--1-1-" A_OUT,      /* empty routing indicator */
        "suci-0-274-012-12345-1-1-" A_OUT, /* routing indicator of 5 digits */
        "suci-0-274-012-1a-1-1-" A_OUT,
        "suci-0-274-012-0--1-" A_OUT,    /* empty scheme */
        "suci-0-274-012-0-01-1-" A_OUT,  /* scheme of 2 digits */
        "suci-0-274-012-0-g-1-" A_OUT,   /* scheme not hex */
        "suci-0-274-012-0-1-0-" A_OUT,   /* key id 0 with a profile */
        "suci-0-274-012-0-1-256-" A_OUT, /* key id > 255 */
        "suci-0-274-012-0-1-1000-" A_OUT,
        "suci-0-274-012-0-1-01-" A_OUT, /* leading zero */
        "suci-0-274-012-0-1--" A_OUT,   /* empty key id */
        "suci-0-274-012-0-1-+1-" A_OUT,
        "suci-0-274-012-0-1-1-" A_OUT "0",  /* odd number of hex digits */
        "suci-0-274-012-0-1-1-" A_OUT "zz", /* non-hex */
        "suci-0-274-012-0-1-1-x" A_OUT,
        "suci-0-274-012-0-1-1-" A_OUT " ",
        "suci-0-274-012-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d"
        "cddd9e730ef3fa87", /* no ciphertext: key + MAC only */
        "suci-0-274-012-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457d"
        "cddd9e730ef3fa", /* shorter than key + MAC */
        "suci-0-274-012-0-1-1-b2e92f83",
        "suci-0-274-012-0-2-1-039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d1"
        "6ac7dae96aa30a",                   /* Profile B, shorter than key + MAC */
        "suci-0-274-012-0-0-1-001002086",   /* null scheme with a key id */
        "suci-0-274-012-0-0-0-",            /* null scheme, no MSIN */
        "suci-0-274-012-0-0-0-00100208a",   /* null scheme, MSIN not digits */
        "suci-0-274-012-0-0-0-00100208600", /* null scheme, IMSI of 17 digits */
        "suci-1--0-0-0-75736572",           /* empty realm */
        "suci-1-re alm-0-0-0-75736572",
        "suci-1-re@lm-0-0-0-75736572",
        "suci-1-realm-0-0-0-",        /* null scheme, empty username */
        "suci-1-realm-0-0-0-7573657", /* odd hex */
        "suci-1-realm-0-0-0-75736572zz",
        "suci-1-realm-0-0-0-7573407272", /* username with '@' */
        "suci-1-realm-0-0-0-75732072",   /* username with a space */
        "suci-1-realm-0-0-0-user",       /* not hex */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&back, 0xa5, sizeof(back));
        int rc = suci_deconceal(kr, bad[i], &back);
        if (rc != IOTSEC_ERR_INVALID)
            fail_msg("'%s': %s, expected INVALID", bad[i], iotsec_strerror(rc));
        assert_int_equal(back.value[0], '\0');
    }
    assert_int_equal(suci_deconceal(kr, NULL, &back), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_deconceal(kr, "suci-0-274-012-0-1-1-" A_OUT, NULL), IOTSEC_ERR_INVALID);
    suci_keyring_free(kr);
}

static void test_unsupported(void **state)
{
    (void)state;
    static const char *const unsupported[] = {
        "suci-0-274-012-0-3-1-" A_OUT, /* scheme 3: operator specific */
        "suci-0-274-012-0-f-255-" A_OUT,     "suci-0-274-012-0-C-1-" A_OUT,
        "suci-2-cable.example-0-1-1-" A_OUT, /* GCI */
        "suci-7-line.example-0-0-0-0102",
    };
    struct supi back;
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        int rc = suci_deconceal(NULL, unsupported[i], &back);
        if (rc != IOTSEC_ERR_UNSUPPORTED)
            fail_msg("'%s': %s", unsupported[i], iotsec_strerror(rc));
    }
}

static void test_overlong_input(void **state)
{
    (void)state;
    /* Long strings of each shape: valid prefix with a huge output, and no structure. */
    size_t lens[] = {SUCI_STRING_MAX - 1, SUCI_STRING_MAX, SUCI_STRING_MAX + 1, 100000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *s = malloc(lens[i] + 1);
        assert_non_null(s);
        strcpy(s, "suci-0-274-012-0-1-1-");
        memset(s + 21, 'a', lens[i] - 21);
        s[lens[i]] = '\0';
        struct supi back;
        assert_int_equal(suci_deconceal(NULL, s, &back), IOTSEC_ERR_INVALID);
        memset(s, '-', lens[i]);
        assert_int_equal(suci_deconceal(NULL, s, &back), IOTSEC_ERR_INVALID);
        free(s);
    }
    /* Null-scheme NAI whose username alone is past the NAI limit. */
    char s[SUCI_STRING_MAX];
    strcpy(s, "suci-1-r-0-0-0-");
    memset(s + 15, '7', 2 * 253);
    s[15 + 2 * 253] = '\0';
    struct supi back;
    assert_int_equal(suci_deconceal(NULL, s, &back), IOTSEC_ERR_INVALID);
}

/* Every prefix of a valid SUCI and every single-character change: an error code, no crash,
 * and nothing left in the output. */
static void test_mutations(void **state)
{
    (void)state;
    uint8_t priv[32];
    assert_int_equal(
        hex_decode("c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d", priv, 32),
        IOTSEC_OK);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, SUCI_SCHEME_PROFILE_A, 1, priv), IOTSEC_OK);
    const char *good = "suci-0-274-012-0-1-1-" A_OUT;
    char s[SUCI_STRING_MAX];
    struct supi back;
    for (size_t len = 0; len < strlen(good); len++) {
        memcpy(s, good, len);
        s[len] = '\0';
        assert_int_not_equal(suci_deconceal(kr, s, &back), IOTSEC_OK);
        assert_int_equal(back.value[0], '\0');
    }
    static const char replacements[] = "-0a9fF@ \x01\x80";
    for (size_t at = 0; at < strlen(good); at++) {
        for (size_t r = 0; r < sizeof(replacements) - 1; r++) {
            strcpy(s, good);
            if (s[at] == replacements[r])
                continue;
            s[at] = replacements[r];
            /* The PLMN is sent in clear and not covered by the MAC (TS 33.501 C.3): a changed
             * MCC digit still decodes, to another IMSI with the same MSIN. */
            int rc = suci_deconceal(kr, s, &back);
            if (rc == IOTSEC_OK) {
                size_t n = strlen(back.value);
                assert_true(n > 9 && strcmp(back.value + n - 9, "001002086") == 0);
            } else {
                assert_true(rc < 0);
                assert_int_equal(back.value[0], '\0');
            }
        }
    }
    suci_keyring_free(kr);
}

/* ---- Concealment parameters ------------------------------------------------------------- */

static void test_conceal_invalid(void **state)
{
    (void)state;
    uint8_t priv_a[32], pub_a[SUCI_PUBLIC_KEY_MAX], priv_b[32], pub_b[SUCI_PUBLIC_KEY_MAX];
    size_t len_a, len_b;
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_A, priv_a, pub_a, &len_a),
                     IOTSEC_OK);
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_B, priv_b, pub_b, &len_b),
                     IOTSEC_OK);
    struct supi s = supi_of("imsi-274012001002086");
    char suci[SUCI_STRING_MAX];
    const struct suci_conceal_params ok_a = {.scheme = SUCI_SCHEME_PROFILE_A,
                                             .key_id = 1,
                                             .hn_public_key = pub_a,
                                             .hn_public_key_len = len_a};
    struct suci_conceal_params p = ok_a;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_OK);

    p.key_id = 0; /* profiles need a key id */
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    assert_string_equal(suci, "");
    p = ok_a;
    p.hn_public_key_len = 33;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    p = ok_a;
    p.hn_public_key = NULL;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    p = ok_a;
    static const char *const bad_ri[] = {"", "12345", "1a", "-1"};
    for (size_t i = 0; i < 4; i++) {
        p.routing_indicator = bad_ri[i];
        assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    }
    p = ok_a;
    p.mnc_length = 4;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    p.mnc_length = 1;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    p = ok_a;
    p.scheme = (enum suci_scheme)5;
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    p = ok_a;
    p.scheme = SUCI_SCHEME_NULL; /* null scheme needs key id 0 */
    assert_int_equal(suci_conceal(&s, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);

    /* Profile B: 33 or 65 bytes, on the curve. */
    struct suci_conceal_params pb = {.scheme = SUCI_SCHEME_PROFILE_B,
                                     .key_id = 1,
                                     .hn_public_key = pub_b,
                                     .hn_public_key_len = 32};
    assert_int_equal(suci_conceal(&s, &pb, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    uint8_t off_curve[33] = {0x02}; /* x = 1: x^3 - 3x + b is not a square */
    off_curve[32] = 1;
    pb.hn_public_key = off_curve;
    pb.hn_public_key_len = sizeof(off_curve);
    assert_int_equal(suci_conceal(&s, &pb, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    pb.hn_public_key = pub_b;
    pb.hn_public_key_len = len_b;
    assert_int_equal(suci_conceal(&s, &pb, suci, sizeof(suci)), IOTSEC_OK);

    /* Ephemeral keys: required for the profiles, and valid for Profile B. */
    uint8_t zero[32] = {0};
    assert_int_equal(suci_conceal_with_ephemeral(&s, &ok_a, NULL, 0, suci, sizeof(suci)),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(suci_generate_key_pair(SUCI_SCHEME_PROFILE_B, priv_b, pub_b, &len_b),
                     IOTSEC_OK);
    pb.hn_public_key_len = len_b;
    assert_int_equal(suci_conceal_with_ephemeral(&s, &pb, zero, 0, suci, sizeof(suci)),
                     IOTSEC_ERR_INVALID);

    /* Output buffer too small: nothing written but an empty string. */
    p = ok_a;
    assert_int_equal(suci_conceal(&s, &p, suci, 40), IOTSEC_ERR_INVALID);
    assert_string_equal(suci, "");
    assert_int_equal(suci_conceal(&s, &p, suci, 0), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_conceal(&s, &p, NULL, 10), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_conceal(NULL, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_conceal(&s, NULL, suci, sizeof(suci)), IOTSEC_ERR_INVALID);

    /* A SUPI that is not one, and an IMSI with nothing to conceal. */
    struct supi bad = s;
    bad.value[3] = 'x';
    assert_int_equal(suci_conceal(&bad, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
    struct supi short_imsi = supi_of("imsi-27401");
    p.mnc_length = 2;
    assert_int_equal(suci_conceal(&short_imsi, &p, suci, sizeof(suci)), IOTSEC_ERR_INVALID);
}

static void test_scheme_parse(void **state)
{
    (void)state;
    enum suci_scheme s;
    assert_int_equal(suci_scheme_parse("null", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_NULL);
    assert_int_equal(suci_scheme_parse("NULL", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_NULL);
    assert_int_equal(suci_scheme_parse("A", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_PROFILE_A);
    assert_int_equal(suci_scheme_parse("a", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_PROFILE_A);
    assert_int_equal(suci_scheme_parse("b", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_PROFILE_B);
    assert_int_equal(suci_scheme_parse("B", &s), IOTSEC_OK);
    assert_int_equal(s, SUCI_SCHEME_PROFILE_B);
    static const char *const bad[] = {"", "c", "AB", "nul", "null ", "profile-a", "1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(suci_scheme_parse(bad[i], &s), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_scheme_parse(NULL, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(suci_scheme_parse("a", NULL), IOTSEC_ERR_INVALID);
}

/* ---- Threads ---------------------------------------------------------------------------- */

#define THREAD_SUCIS 24
#define THREADS      4

struct thread_job {
    const struct suci_keyring *kr;
    char (*sucis)[SUCI_STRING_MAX];
    const char *const *supis;
    int failures;
};

static void *decode_many(void *arg)
{
    struct thread_job *job = arg;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < THREAD_SUCIS; i++) {
            struct supi back;
            char got[SUPI_STRING_MAX];
            if (suci_deconceal(job->kr, job->sucis[i], &back) != IOTSEC_OK ||
                supi_format(&back, got, sizeof(got)) != IOTSEC_OK ||
                strcmp(got, job->supis[i % 4]) != 0)
                job->failures++;
        }
    }
    return NULL;
}

static void test_threads_share_keyring(void **state)
{
    (void)state;
    static const char *const supis[] = {"imsi-001010000000001", "nai-dev1@iot.example",
                                        "imsi-310260555000123", "nai-sensor-7@fleet.example"};
    struct hn_pair a = {.scheme = SUCI_SCHEME_PROFILE_A, .key_id = 3};
    struct hn_pair b = {.scheme = SUCI_SCHEME_PROFILE_B, .key_id = 4};
    assert_int_equal(suci_generate_key_pair(a.scheme, a.priv, a.pub, &a.pub_len), IOTSEC_OK);
    assert_int_equal(suci_generate_key_pair(b.scheme, b.priv, b.pub, &b.pub_len), IOTSEC_OK);
    struct suci_keyring *kr = suci_keyring_new();
    assert_int_equal(suci_keyring_add(kr, a.scheme, a.key_id, a.priv), IOTSEC_OK);
    assert_int_equal(suci_keyring_add(kr, b.scheme, b.key_id, b.priv), IOTSEC_OK);
    static char sucis[THREAD_SUCIS][SUCI_STRING_MAX];
    for (int i = 0; i < THREAD_SUCIS; i++) {
        const struct hn_pair *k = i % 2 ? &b : &a;
        conceal_for(k, k->key_id, supis[i % 4], sucis[i]);
    }
    pthread_t tid[THREADS];
    struct thread_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct thread_job){kr, sucis, supis, 0};
        assert_int_equal(pthread_create(&tid[t], NULL, decode_many, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
    }
    suci_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_scheme_vectors),
        cmocka_unit_test(test_profile_vectors),
        cmocka_unit_test(test_vector_string_examples),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_longest_nai),
        cmocka_unit_test(test_default_mnc_length_in_suci),
        cmocka_unit_test(test_keyring_several_keys),
        cmocka_unit_test(test_keyring_add_invalid),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_invalid_points),
        cmocka_unit_test(test_p256_decompression_matches_openssl),
        cmocka_unit_test(test_bad_plaintexts),
        cmocka_unit_test(test_malformed_strings),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_overlong_input),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_conceal_invalid),
        cmocka_unit_test(test_scheme_parse),
        cmocka_unit_test(test_threads_share_keyring),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ecies_thread_cleanup();
    return rc;
}
