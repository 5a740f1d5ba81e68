/* KEK envelopes: round trip, AAD binding, tamper detection, KEK ids, and the key file's
 * permission rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "crypto/seal.h"

static const struct seal_kek kek = {.id = 1, .key = {1, 2, 3, 4, 5, 6, 7, 8, 9}};
static const char aad[] = "imsi-001010000000001|k_opc|1";

static void test_round_trip_and_aad_binding(void **state)
{
    (void)state;
    uint8_t secret[32], env[32 + SEAL_OVERHEAD], env2[32 + SEAL_OVERHEAD], out[32];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(seal(&kek, aad, strlen(aad), secret, 32, env), IOTSEC_OK);
    assert_int_equal(seal(&kek, aad, strlen(aad), secret, 32, env2), IOTSEC_OK);
    assert_memory_not_equal(env, env2, sizeof(env));  /* fresh nonce each time */
    assert_null(memmem(env, sizeof(env), secret, 8)); /* the secret is not in clear */
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, sizeof(env), out), IOTSEC_OK);
    assert_memory_equal(out, secret, 32);

    /* Another row, another column or another version: the envelope does not open. */
    static const char *others[] = {"imsi-001010000000002|k_opc|1", "imsi-001010000000001|x|1",
                                   "imsi-001010000000001|k_opc|2", ""};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(unseal(&kek, others[i], strlen(others[i]), env, sizeof(env), out),
                         IOTSEC_ERR_AUTH);
        static const uint8_t zero[32];
        assert_memory_equal(out, zero, 32);
    }
}

static void test_tampering_and_kek_id(void **state)
{
    (void)state;
    uint8_t secret[16] = {9}, env[16 + SEAL_OVERHEAD], out[16];
    assert_int_equal(seal(&kek, aad, strlen(aad), secret, 16, env), IOTSEC_OK);
    for (size_t i = 2; i < sizeof(env); i++) {
        env[i] ^= 0x10;
        assert_int_equal(unseal(&kek, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_AUTH);
        env[i] ^= 0x10;
    }
    struct seal_kek other = kek;
    other.key[0] ^= 1;
    assert_int_equal(unseal(&other, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_AUTH);
    other = kek;
    other.id = 2;
    assert_int_equal(unseal(&other, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, SEAL_OVERHEAD - 1, out),
                     IOTSEC_ERR_INVALID);
    env[0] = 99;
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_INVALID);
}

/* A version 1 envelope as iotsec wrote it before KEK rotation: the header is not part of the
 * GCM AAD. Made here with OpenSSL directly, independently of seal(). */
static void legacy_seal(const struct seal_kek *k, const uint8_t *pt, size_t n, uint8_t *env)
{
    env[0] = 1;
    env[1] = k->id;
    memset(env + 2, 0x5a, 12);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len;
    assert_true(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, env + 2));
    assert_true(EVP_EncryptUpdate(c, NULL, &len, (const uint8_t *)aad, (int)strlen(aad)));
    assert_true(EVP_EncryptUpdate(c, env + 14, &len, pt, (int)n));
    assert_true(EVP_EncryptFinal_ex(c, env + 14 + n, &len));
    assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, env + 14 + n));
    EVP_CIPHER_CTX_free(c);
}

static void test_legacy_envelope_opens(void **state)
{
    (void)state;
    uint8_t secret[16] = {7, 7, 7}, env[16 + SEAL_OVERHEAD], out[16];
    legacy_seal(&kek, secret, 16, env);
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, sizeof(env), out), IOTSEC_OK);
    assert_memory_equal(out, secret, 16);
    /* Through a ring holding the legacy key (id 1) as a non-current key, too. */
    struct seal_ring *r = seal_ring_new();
    struct seal_kek k2 = {.id = 2, .key = {42}};
    assert_int_equal(seal_ring_add(r, &kek), IOTSEC_OK);
    assert_int_equal(seal_ring_add(r, &k2), IOTSEC_OK);
    assert_int_equal(seal_ring_set_current(r, 2), IOTSEC_OK);
    struct seal_kek h = seal_ring_handle(r);
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_OK);
    assert_memory_equal(out, secret, 16);
    /* New envelopes are version 2 and name the current key. */
    assert_int_equal(seal(&h, aad, strlen(aad), secret, 16, env), IOTSEC_OK);
    assert_int_equal(env[0], 2);
    assert_int_equal(seal_env_kek_id(env, sizeof(env)), 2);
    assert_int_equal(seal_kek_current_id(&h), 2);
    seal_ring_free(r);
}

static void test_ring_rotation(void **state)
{
    (void)state;
    struct seal_ring *r = seal_ring_new();
    struct seal_kek k3 = {.id = 3, .key = {3, 3}};
    assert_int_equal(seal_ring_add(r, &kek), IOTSEC_OK);
    assert_int_equal(seal_ring_add(r, &kek), IOTSEC_ERR_CONFLICT);
    assert_int_equal(seal_ring_set_current(r, 3), IOTSEC_ERR_NOTFOUND); /* not held */
    assert_int_equal(seal_ring_set_current(r, 1), IOTSEC_OK);
    struct seal_kek h = seal_ring_handle(r);
    uint8_t secret[24] = {1, 2, 3}, old[24 + SEAL_OVERHEAD], cur[24 + SEAL_OVERHEAD], out[24];
    assert_int_equal(seal(&h, aad, strlen(aad), secret, 24, old), IOTSEC_OK);
    assert_int_equal(old[1], 1);
    assert_int_equal(seal_ring_add(r, &k3), IOTSEC_OK);
    assert_int_equal(seal_ring_set_current(r, 3), IOTSEC_OK);
    assert_int_equal(seal(&h, aad, strlen(aad), secret, 24, cur), IOTSEC_OK);
    assert_int_equal(cur[1], 3);
    /* During rotation both open; a plain key opens only what it made. */
    assert_int_equal(unseal(&h, aad, strlen(aad), old, sizeof(old), out), IOTSEC_OK);
    assert_int_equal(unseal(&h, aad, strlen(aad), cur, sizeof(cur), out), IOTSEC_OK);
    assert_memory_equal(out, secret, 24);
    assert_int_equal(unseal(&kek, aad, strlen(aad), cur, sizeof(cur), out), IOTSEC_ERR_NOTFOUND);
    /* The current key cannot be retired; the old one can, and then nothing opens under it. */
    seal_ring_retire(r, 3);
    assert_true(seal_ring_has(r, 3));
    seal_ring_retire(r, 1);
    assert_false(seal_ring_has(r, 1));
    assert_int_equal(unseal(&h, aad, strlen(aad), old, sizeof(old), out), IOTSEC_ERR_NOTFOUND);
    seal_ring_free(r);
}

/* The key id of a version 2 envelope is authenticated: pointing it at another key held by the
 * ring, even one with the same key bytes, is refused. */
static void test_tampered_kek_id_refused(void **state)
{
    (void)state;
    struct seal_ring *r = seal_ring_new();
    struct seal_kek same = kek, other = {.id = 4, .key = {4}};
    same.id = 2;
    assert_int_equal(seal_ring_add(r, &kek), IOTSEC_OK);
    assert_int_equal(seal_ring_add(r, &same), IOTSEC_OK);
    assert_int_equal(seal_ring_add(r, &other), IOTSEC_OK);
    assert_int_equal(seal_ring_set_current(r, 1), IOTSEC_OK);
    struct seal_kek h = seal_ring_handle(r);
    uint8_t secret[16] = {5}, env[16 + SEAL_OVERHEAD], out[16];
    assert_int_equal(seal(&h, aad, strlen(aad), secret, 16, env), IOTSEC_OK);
    env[1] = 2; /* the same key bytes under another id */
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_AUTH);
    env[1] = 4; /* another key */
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_AUTH);
    env[1] = 9; /* a key not held */
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_NOTFOUND);
    env[1] = 1;
    env[0] = 1; /* downgraded to version 1: the tag covered the header, so it fails */
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_AUTH);
    env[0] = 2;
    assert_int_equal(unseal(&h, aad, strlen(aad), env, sizeof(env), out), IOTSEC_OK);
    seal_ring_free(r);
}

static void test_kek_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/iotsec-seal-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/kek", dir);
    assert_int_equal(seal_kek_create(path), IOTSEC_OK);
    assert_int_equal(seal_kek_create(path), IOTSEC_ERR_CONFLICT);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct seal_kek k1, k2;
    assert_int_equal(seal_kek_load(path, 1, &k1), IOTSEC_OK);
    assert_int_equal(seal_kek_load(path, 1, &k2), IOTSEC_OK);
    assert_memory_equal(k1.key, k2.key, SEAL_KEK_LEN);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(seal_kek_load(path, 1, &k2), IOTSEC_ERR_STATE); /* world-readable */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(seal_kek_load(path, 1, &k2), IOTSEC_ERR_STATE); /* group-readable */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not hex at all, not hex at all, not hex at all, not hex at all!!", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(seal_kek_load(path, 1, &k2), IOTSEC_ERR_INVALID);
    char missing[80];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(seal_kek_load(missing, 1, &k2), IOTSEC_ERR_NOTFOUND);
    seal_kek_wipe(&k1);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_aad_binding),
        cmocka_unit_test(test_tampering_and_kek_id),
        cmocka_unit_test(test_kek_file),
        cmocka_unit_test(test_legacy_envelope_opens),
        cmocka_unit_test(test_ring_rotation),
        cmocka_unit_test(test_tampered_kek_id_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
