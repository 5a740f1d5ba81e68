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
    assert_memory_not_equal(env, env2, sizeof(env)); /* fresh nonce each time */
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
    assert_int_equal(unseal(&other, aad, strlen(aad), env, sizeof(env), out),
                     IOTSEC_ERR_NOTFOUND);
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, SEAL_OVERHEAD - 1, out),
                     IOTSEC_ERR_INVALID);
    env[0] = 99;
    assert_int_equal(unseal(&kek, aad, strlen(aad), env, sizeof(env), out), IOTSEC_ERR_INVALID);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
