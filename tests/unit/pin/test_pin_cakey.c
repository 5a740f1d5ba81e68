/* src/pin/pin_cakey.c: a PIN's CA key is opened once per instance and signs what the PIN's
 * public CA key verifies; a PIN whose CA changed (same id, another key) or whose sealed seed
 * does not match its public key never signs with the wrong key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"
#include "pin/pin_int.h"

static struct seal_kek kek = {.id = 1, .key = {1, 2, 3, 4, 5, 6, 7, 8}};

static void make_net(const char *id, struct pin_net *n)
{
    memset(n, 0, sizeof(*n));
    snprintf(n->pin_id, sizeof(n->pin_id), "%s", id);
    uint8_t seed[PIN_KEY_LEN];
    assert_int_equal(prov_ed25519_keygen(seed, n->ca_pub), IOTSEC_OK);
    assert_int_equal(seal(&kek, id, strlen(id), seed, sizeof(seed), n->ca_sealed), IOTSEC_OK);
}

static void test_opened_once_and_verifies(void **state)
{
    (void)state;
    struct pin_config cfg = {.kek = &kek};
    struct pin *p = NULL;
    assert_int_equal(pin_new(&cfg, &p), IOTSEC_OK);
    struct pin_net a, b;
    make_net("pin-a", &a);
    make_net("pin-b", &b);
    const uint8_t msg[] = "decision";
    uint8_t sig[PIN_SIG_LEN];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pin_ca_sign(p, &a, msg, sizeof(msg), sig), IOTSEC_OK);
        assert_int_equal(prov_ed25519_verify(a.ca_pub, msg, sizeof(msg), sig), IOTSEC_OK);
    }
    assert_int_equal(pin_cakeys_opened(p), 1);
    /* another PIN: its own key, not A's */
    assert_int_equal(pin_ca_sign(p, &b, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(b.ca_pub, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_not_equal(prov_ed25519_verify(a.ca_pub, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(pin_cakeys_opened(p), 2);
    /* PIN A recreated under the same id with another CA: the cached key is not used */
    struct pin_net a2;
    make_net("pin-a", &a2);
    assert_int_equal(pin_ca_sign(p, &a2, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(a2.ca_pub, msg, sizeof(msg), sig), IOTSEC_OK);
    assert_int_equal(pin_cakeys_opened(p), 3);
    /* a sealed seed that is not the public key's, or sealed for another PIN: refused */
    struct pin_net bad = b;
    memcpy(bad.ca_pub, a.ca_pub, PIN_PUB_LEN);
    assert_int_not_equal(pin_ca_sign(p, &bad, msg, sizeof(msg), sig), IOTSEC_OK);
    bad = a;
    snprintf(bad.pin_id, sizeof(bad.pin_id), "pin-c");
    assert_int_not_equal(pin_ca_sign(p, &bad, msg, sizeof(msg), sig), IOTSEC_OK);
    pin_free(p);
}

/* More PINs than the table holds: every signature still verifies under its own PIN's key. */
static void test_many_pins(void **state)
{
    (void)state;
    struct pin_config cfg = {.kek = &kek};
    struct pin *p = NULL;
    assert_int_equal(pin_new(&cfg, &p), IOTSEC_OK);
    static struct pin_net nets[64];
    const uint8_t msg[] = "m";
    uint8_t sig[PIN_SIG_LEN];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 64; i++) {
            char id[32];
            snprintf(id, sizeof(id), "pin-%d", i);
            if (round == 0)
                make_net(id, &nets[i]);
            assert_int_equal(pin_ca_sign(p, &nets[i], msg, sizeof(msg), sig), IOTSEC_OK);
            assert_int_equal(prov_ed25519_verify(nets[i].ca_pub, msg, sizeof(msg), sig), IOTSEC_OK);
        }
    assert_int_equal(pin_cakeys_opened(p), 64); /* the second round hit every entry */
    pin_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opened_once_and_verifies),
        cmocka_unit_test(test_many_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
