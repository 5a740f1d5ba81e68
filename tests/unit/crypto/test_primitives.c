/* The primitives under everything: HMAC-SHA-256 (RFC 4231 vectors), AES-128 (FIPS-197),
 * constant-time comparison, wiping and the batched random source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/aes128.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "crypto/rand.h"

static void expect_hex(const uint8_t *got, size_t len, const char *want)
{
    char hex[2 * 64 + 1];
    hex_encode(got, len, hex);
    assert_string_equal(hex, want);
}

/* RFC 4231 §4.2, 4.3, 4.4, 4.7: short key, "Jefe", 0xaa*20 with 0xdd*50, and a 131-byte key
 * (longer than the block: hashed first). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    struct hmac_sha256 h;
    uint8_t out[32], key[131], data[50];

    memset(key, 0x0b, 20);
    hmac_sha256_init(&h, key, 20);
    hmac_sha256(&h, "Hi There", 8, out);
    expect_hex(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    hmac_sha256_init(&h, "Jefe", 4);
    hmac_sha256(&h, "what do ya want for nothing?", 28, out);
    expect_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    hmac_sha256_init(&h, key, 20);
    hmac_sha256(&h, data, 50, out);
    expect_hex(out, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

    memset(key, 0xaa, 131);
    hmac_sha256_init(&h, key, 131);
    static const char msg[] = "This is a test using a larger than block-size key and a larger "
                              "than block-size data. The key needs to be hashed before being "
                              "used by the HMAC algorithm.";
    hmac_sha256(&h, msg, strlen(msg), out);
    expect_hex(out, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");

    /* Piecewise input gives the same MAC, and the key state is reusable. */
    struct hmac_sha256_run run;
    uint8_t again[32];
    hmac_sha256_start(&h, &run);
    hmac_sha256_update(&run, msg, 10);
    hmac_sha256_update(&run, msg + 10, strlen(msg) - 10);
    hmac_sha256_finish(&h, &run, again);
    assert_memory_equal(again, out, 32);
    hmac_sha256_wipe(&h);
}

static void test_aes128_fips197(void **state)
{
    (void)state;
    uint8_t key[16], pt[32], ct[32];
    assert_int_equal(hex_decode("000102030405060708090a0b0c0d0e0f", key, 16), 0);
    assert_int_equal(hex_decode("00112233445566778899aabbccddeeff", pt, 16), 0);
    memcpy(pt + 16, pt, 16);
    assert_int_equal(aes128_encrypt_blocks(key, pt, ct, 2), IOTSEC_OK);
    expect_hex(ct, 16, "69c4e0d86a7b0430d8cdb78070b4c55a");
    assert_memory_equal(ct, ct + 16, 16); /* blocks are independent (raw block cipher) */
    assert_int_equal(aes128_encrypt_blocks_same_key(pt, ct, 1), IOTSEC_OK);
    expect_hex(ct, 16, "69c4e0d86a7b0430d8cdb78070b4c55a");
    aes128_forget_key();
    assert_int_equal(aes128_encrypt_blocks_same_key(pt, ct, 1), IOTSEC_OK);
    assert_memory_not_equal(ct, pt + 16, 16);
    uint8_t with_zero_key[16], zero[16] = {0};
    assert_int_equal(aes128_encrypt_blocks(zero, pt, with_zero_key, 1), IOTSEC_OK);
    assert_memory_equal(ct, with_zero_key, 16); /* the forgotten key is the all-zero key */
    aes128_thread_cleanup();
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(ct_equal(a, b, sizeof(a)));
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x80;
        assert_false(ct_equal(a, b, sizeof(a)));
        b[i] ^= 0x80;
    }
    assert_true(ct_equal(a, b, 0));
    secure_wipe(a, sizeof(a));
    static const uint8_t zero[32];
    assert_memory_equal(a, zero, sizeof(a));
}

static void test_random_distinct_and_batched(void **state)
{
    (void)state;
    uint8_t r[200][16];
    for (int i = 0; i < 200; i++) /* crosses several batch refills */
        assert_int_equal(crypto_random(r[i], 16), IOTSEC_OK);
    for (int i = 0; i < 200; i++) {
        for (int j = i + 1; j < 200; j++)
            assert_memory_not_equal(r[i], r[j], 16);
    }
    uint8_t big[4096], zero[64] = {0};
    assert_int_equal(crypto_random(big, sizeof(big)), IOTSEC_OK);
    assert_memory_not_equal(big + 4000, zero, 64);
    crypto_random_thread_cleanup();
}

/* A forked child must not hand out the bytes its parent still has buffered. */
static void test_random_fork_safety(void **state)
{
    (void)state;
    uint8_t first[16], parent_next[16], child_next[16];
    assert_int_equal(crypto_random(first, sizeof(first)), IOTSEC_OK); /* fills the batch */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int ok = crypto_random(child_next, sizeof(child_next)) == IOTSEC_OK &&
                 write(fds[1], child_next, sizeof(child_next)) == sizeof(child_next);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(crypto_random(parent_next, sizeof(parent_next)), IOTSEC_OK);
    assert_int_equal(read(fds[0], child_next, sizeof(child_next)), sizeof(child_next));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(parent_next, child_next, sizeof(child_next));
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_aes128_fips197),
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_random_distinct_and_batched),
        cmocka_unit_test(test_random_fork_safety),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
