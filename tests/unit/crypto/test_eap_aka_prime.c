/* EAP-AKA' key derivation against RFC 5448 Appendix C (= RFC 9048 Appendix D). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/autn.h"
#include "crypto/eap_aka_prime.h"
#include "vectors.h"

static void test_rfc5448_cases(void **state)
{
    (void)state;
    json_t *root = vectors_load("eap_aka_prime.json");
    json_t *cases = vectors_array(root, "cases"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        char name[48];
        snprintf(name, sizeof(name), "RFC 5448 case %zu", i + 1);
        uint8_t ck[16], ik[16], autn[16], ck_p[16], ik_p[16];
        vectors_hex(c, "ck", ck, 16);
        vectors_hex(c, "ik", ik, 16);
        vectors_hex(c, "autn", autn, 16);
        const char *net = vectors_str(c, "network_name"), *id = vectors_str(c, "identity");
        /* SQN XOR AK is the first 6 bytes of AUTN. */
        assert_int_equal(eap_aka_prime_ck_ik_prime(ck, ik, net, strlen(net), autn, ck_p, ik_p),
                         IOTSEC_OK);
        vectors_expect_hex(c, "ck_prime", ck_p, 16, name);
        vectors_expect_hex(c, "ik_prime", ik_p, 16, name);
        struct eap_aka_prime_keys k;
        assert_int_equal(eap_aka_prime_keys(ck_p, ik_p, id, strlen(id), &k), IOTSEC_OK);
        vectors_expect_hex(c, "k_encr", k.k_encr, 16, name);
        vectors_expect_hex(c, "k_aut", k.k_aut, 32, name);
        vectors_expect_hex(c, "k_re", k.k_re, 32, name);
        vectors_expect_hex(c, "msk", k.msk, 64, name);
        vectors_expect_hex(c, "emsk", k.emsk, 64, name);
    }
    json_decref(root);
}

static void test_prf_prefix_property(void **state)
{
    (void)state;
    /* PRF' is a counter-mode expansion: a shorter output is a prefix of a longer one, and
     * the 2nd block depends on the 1st (so it is not just HMAC(K, S || 2)). */
    uint8_t key[32] = {7}, a[100], b[40];
    assert_int_equal(eap_aka_prime_prf(key, sizeof(key), "S", 1, a, sizeof(a)), IOTSEC_OK);
    assert_int_equal(eap_aka_prime_prf(key, sizeof(key), "S", 1, b, sizeof(b)), IOTSEC_OK);
    assert_memory_equal(a, b, sizeof(b));
    assert_memory_not_equal(a, a + 32, 32);
    assert_int_equal(eap_aka_prime_prf(key, sizeof(key), "S", 1, a, 255 * 32 + 1),
                     IOTSEC_ERR_INVALID);
}

static void test_identity_too_long(void **state)
{
    (void)state;
    uint8_t ck[16] = {0}, ik[16] = {0};
    static char identity[2000];
    memset(identity, 'a', sizeof(identity) - 1);
    struct eap_aka_prime_keys k;
    assert_int_equal(eap_aka_prime_keys(ck, ik, identity, strlen(identity), &k),
                     IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5448_cases),
        cmocka_unit_test(test_prf_prefix_property),
        cmocka_unit_test(test_identity_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
