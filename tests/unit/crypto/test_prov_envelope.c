/* The credential envelope: round trips, determinism (a stored envelope replays byte for
 * byte), every single-bit change refused, wrong pinned key, wrong device key, another
 * request's context, and the plaintext buffer wiped on every failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

#define PT_LEN  120
#define ENV_MAX (PROV_ENVELOPE_OVERHEAD + PROV_REG_ID_MAX + PT_LEN)

struct fixture {
    struct prov_sign_key *operator_key, *stranger_key;
    uint8_t operator_pub[32];
    uint8_t dev_priv[32];
    struct prov_onboard_ctx ctx;
    uint8_t pt[PT_LEN];
    uint8_t env[ENV_MAX];
    size_t env_len;
};

static int setup(void **state)
{
    static struct fixture f;
    uint8_t seed[32] = {0x11, 0x22}, seed2[32] = {0x99};
    if (prov_sign_key_new(seed, &f.operator_key) != IOTSEC_OK ||
        prov_sign_key_new(seed2, &f.stranger_key) != IOTSEC_OK)
        return -1;
    prov_sign_key_public(f.operator_key, f.operator_pub);
    f.ctx.reg_id = "meter-0001";
    f.ctx.reg_id_len = 10;
    memset(f.ctx.server_nonce, 0x3c, 32);
    if (prov_x25519_keygen(f.dev_priv, f.ctx.device_pub) != IOTSEC_OK)
        return -1;
    for (int i = 0; i < PT_LEN; i++)
        f.pt[i] = (uint8_t)(0xc0 ^ i);
    if (prov_envelope_seal(f.operator_key, &f.ctx, f.pt, PT_LEN, f.env, sizeof(f.env),
                           &f.env_len) != IOTSEC_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f == NULL) /* setup failed before handing over its state */
        return 0;
    prov_sign_key_free(f->operator_key);
    prov_sign_key_free(f->stranger_key);
    return 0;
}

static const uint8_t zero[ENV_MAX];

/* Opens env with f's keys; on failure also checks pt came back zeroed. */
static int open_env(const struct fixture *f, const uint8_t *pinned, const uint8_t *priv,
                    const struct prov_onboard_ctx *ctx, const uint8_t *env, size_t len)
{
    uint8_t pt[PT_LEN + 8];
    size_t pt_len = 99;
    memset(pt, 0xaa, sizeof(pt));
    int rc = prov_envelope_open(pinned, priv, ctx, env, len, pt, sizeof(pt), &pt_len);
    if (rc == IOTSEC_OK) {
        assert_int_equal(pt_len, PT_LEN);
        assert_memory_equal(pt, f->pt, PT_LEN);
    } else {
        assert_int_equal(pt_len, 0);
        assert_memory_equal(pt, zero, sizeof(pt));
    }
    return rc;
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->env_len, prov_envelope_len(10, PT_LEN));
    assert_int_equal(f->env_len, PROV_ENVELOPE_OVERHEAD + 10 + PT_LEN);
    assert_null(memmem(f->env, f->env_len, f->pt, 8)); /* nothing of the plaintext in clear */
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, f->env, f->env_len),
                     IOTSEC_OK);

    /* A fresh server key per seal: two seals of the same bundle differ. */
    uint8_t env2[ENV_MAX];
    size_t len2;
    assert_int_equal(
        prov_envelope_seal(f->operator_key, &f->ctx, f->pt, PT_LEN, env2, sizeof(env2), &len2),
        IOTSEC_OK);
    assert_memory_not_equal(env2, f->env, f->env_len);
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, env2, len2), IOTSEC_OK);

    /* Too small an output or plaintext buffer, bad lengths. */
    assert_int_equal(
        prov_envelope_seal(f->operator_key, &f->ctx, f->pt, PT_LEN, env2, f->env_len - 1, &len2),
        IOTSEC_ERR_INVALID);
    assert_int_equal(
        prov_envelope_seal(f->operator_key, &f->ctx, f->pt, 0, env2, sizeof(env2), &len2),
        IOTSEC_ERR_INVALID);
    uint8_t small[PT_LEN - 1];
    size_t n;
    assert_int_equal(prov_envelope_open(f->operator_pub, f->dev_priv, &f->ctx, f->env, f->env_len,
                                        small, sizeof(small), &n),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, f->env, 100),
                     IOTSEC_ERR_INVALID);
}

static void test_deterministic_variant(void **state)
{
    struct fixture *f = *state;
    uint8_t server_priv[32] = {7, 7, 7}, a[ENV_MAX], b[ENV_MAX];
    size_t a_len, b_len;
    assert_int_equal(prov_envelope_seal_with(f->operator_key, server_priv, &f->ctx, f->pt, PT_LEN,
                                             a, sizeof(a), &a_len),
                     IOTSEC_OK);
    assert_int_equal(prov_envelope_seal_with(f->operator_key, server_priv, &f->ctx, f->pt, PT_LEN,
                                             b, sizeof(b), &b_len),
                     IOTSEC_OK);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    /* The server public key sits right after the context. */
    uint8_t z[32], server_pub[32];
    assert_int_equal(prov_x25519_shared(server_priv, f->ctx.device_pub, z, server_pub), IOTSEC_OK);
    assert_memory_equal(a + 19 + 2 + 10 + 64, server_pub, 32);
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, a, a_len), IOTSEC_OK);
}

/* Every single-bit change anywhere (context, server key, ciphertext, tag, signature). */
static void test_every_bit_flip(void **state)
{
    struct fixture *f = *state;
    uint8_t env[ENV_MAX];
    memcpy(env, f->env, f->env_len);
    for (size_t i = 0; i < f->env_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            env[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, env, f->env_len),
                             IOTSEC_ERR_AUTH);
            env[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncated, or extended by a byte. */
    assert_int_not_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, env, f->env_len - 1),
                         IOTSEC_OK);
    env[f->env_len] = 0;
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, env, f->env_len + 1),
                     IOTSEC_ERR_AUTH);
}

static void test_wrong_keys_and_context(void **state)
{
    struct fixture *f = *state;
    uint8_t stranger_pub[32];
    prov_sign_key_public(f->stranger_key, stranger_pub);
    assert_int_equal(open_env(f, stranger_pub, f->dev_priv, &f->ctx, f->env, f->env_len),
                     IOTSEC_ERR_AUTH);

    /* An envelope a relay made itself (valid GCM to the device's key, its own signature). */
    uint8_t forged[ENV_MAX];
    size_t forged_len;
    assert_int_equal(prov_envelope_seal(f->stranger_key, &f->ctx, f->pt, PT_LEN, forged,
                                        sizeof(forged), &forged_len),
                     IOTSEC_OK);
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &f->ctx, forged, forged_len),
                     IOTSEC_ERR_AUTH);

    /* Another device's private key: the signature holds, the decryption does not. */
    uint8_t other_priv[32], other_pub[32];
    assert_int_equal(prov_x25519_keygen(other_priv, other_pub), IOTSEC_OK);
    assert_int_equal(open_env(f, f->operator_pub, other_priv, &f->ctx, f->env, f->env_len),
                     IOTSEC_ERR_AUTH);

    /* A genuine envelope, but for another request: another nonce, id or ephemeral key. */
    struct prov_onboard_ctx c = f->ctx;
    c.server_nonce[5] ^= 1;
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &c, f->env, f->env_len),
                     IOTSEC_ERR_AUTH);
    c = f->ctx;
    c.reg_id = "meter-0002";
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &c, f->env, f->env_len),
                     IOTSEC_ERR_AUTH);
    c = f->ctx;
    c.device_pub[3] ^= 1;
    assert_int_equal(open_env(f, f->operator_pub, f->dev_priv, &c, f->env, f->env_len),
                     IOTSEC_ERR_AUTH);
}

/* The envelope carries a real bundle end to end. */
static void test_bundle_through_envelope(void **state)
{
    struct fixture *f = *state;
    static const uint8_t service[] = "{\"apn\":\"meters\"}";
    struct prov_bundle b = {.supi = "imsi-001010000000001",
                            .k_len = 16,
                            .amf = {0x80, 0},
                            .n_hn_keys = 1,
                            .routing_ind = "0",
                            .cred_id = "c-1",
                            .cred_version = 1,
                            .not_after = 1900000000,
                            .service = service,
                            .service_len = sizeof(service) - 1};
    memset(b.k, 0x4b, 16);
    memset(b.opc, 0x4f, 16);
    b.hn_keys[0] = (struct prov_hn_key){.id = 1, .scheme = 1, .pub_len = 32};
    uint8_t plain[512], env[1024], opened[512];
    size_t plain_len, env_len, opened_len;
    assert_int_equal(prov_bundle_encode(&b, plain, sizeof(plain), &plain_len), IOTSEC_OK);
    assert_int_equal(
        prov_envelope_seal(f->operator_key, &f->ctx, plain, plain_len, env, sizeof(env), &env_len),
        IOTSEC_OK);
    assert_null(memmem(env, env_len, b.k, 16));
    assert_null(memmem(env, env_len, b.opc, 16));
    assert_int_equal(prov_envelope_open(f->operator_pub, f->dev_priv, &f->ctx, env, env_len, opened,
                                        sizeof(opened), &opened_len),
                     IOTSEC_OK);
    struct prov_bundle got;
    assert_int_equal(prov_bundle_parse(opened, opened_len, &got), IOTSEC_OK);
    assert_string_equal(got.supi, b.supi);
    assert_memory_equal(got.k, b.k, 16);
    assert_memory_equal(got.opc, b.opc, 16);
    assert_memory_equal(got.service, service, got.service_len);
    prov_bundle_wipe(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_deterministic_variant),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_wrong_keys_and_context),
        cmocka_unit_test(test_bundle_through_envelope),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
