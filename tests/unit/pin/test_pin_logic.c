/* src/pin's pure logic and nonces, crypto/pin_crypto.h, and sdk/pin.c's PEGC table. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/provision_crypto.h"
#include "pin.h"
#include "pin/pin.h"

static int parse_policy(const char *text, struct pin_policy *p)
{
    json_t *o = json_loads(text, 0, NULL);
    const char *bad;
    int rc = pin_policy_parse(o, p, &bad);
    json_decref(o);
    return rc;
}

static void test_policy_bounds(void **state)
{
    (void)state;
    struct pin_policy p;
    assert_int_equal(parse_policy("{\"dnns\":[\"iot\"],\"qos_classes\":[9]}", &p), IOTSEC_OK);
    assert_int_equal(p.max_lifetime_s, 3600);
    static const char *const bad[] = {
        "{\"dnns\":[],\"qos_classes\":[9]}",
        "{\"dnns\":[\"iot\",\"iot\"],\"qos_classes\":[9]}",
        "{\"dnns\":[\"a b\"],\"qos_classes\":[9]}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[0]}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[256]}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[9,9]}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[9],\"max_lifetime_s\":59}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[9],\"max_lifetime_s\":86401}",
        "{\"dnns\":[\"iot\"],\"qos_classes\":[\"9\"]}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_policy(bad[i], &p), IOTSEC_ERR_INVALID);
}

static int grant(const char *policy, const char *req, struct pin_grant *g)
{
    struct pin_policy p;
    assert_int_equal(parse_policy(policy, &p), IOTSEC_OK);
    json_t *o = json_loads(req, 0, NULL);
    const char *bad;
    int rc = pin_grant_parse(o, &p, g, &bad);
    json_decref(o);
    return rc;
}

static void test_grant_within_policy(void **state)
{
    (void)state;
    const char *pol = "{\"dnns\":[\"internet\",\"iot\"],\"qos_classes\":[7,9],"
                      "\"max_lifetime_s\":600}";
    struct pin_grant g;
    assert_int_equal(grant(pol, "{}", &g), IOTSEC_OK);
    assert_int_equal(g.n_dnns, 2);
    assert_int_equal(g.qos_class, 7);
    assert_int_equal(g.lifetime_s, 600);
    assert_int_equal(grant(pol, "{\"dnns\":[\"iot\"],\"qos_class\":9,\"lifetime_s\":60}", &g),
                     IOTSEC_OK);
    assert_string_equal(g.dnns[0], "iot");
    assert_int_equal(grant(pol, "{\"dnns\":[\"ims\"]}", &g), IOTSEC_ERR_STATE);
    assert_int_equal(grant(pol, "{\"qos_class\":5}", &g), IOTSEC_ERR_STATE);
    assert_int_equal(grant(pol, "{\"lifetime_s\":601}", &g), IOTSEC_ERR_STATE);
    assert_int_equal(grant(pol, "{\"lifetime_s\":\"60\"}", &g), IOTSEC_ERR_INVALID);
}

static void test_nonces_single_use(void **state)
{
    (void)state;
    struct pin_nonces *n;
    uint8_t a[PIN_NONCE_LEN], b[PIN_NONCE_LEN], c[PIN_NONCE_LEN];
    assert_int_equal(pin_nonces_new(2, 1000, &n), IOTSEC_OK);
    assert_int_equal(pin_nonce_issue(n, 0, a), IOTSEC_OK);
    assert_int_equal(pin_nonce_issue(n, 0, b), IOTSEC_OK);
    assert_int_equal(pin_nonce_issue(n, 0, c), IOTSEC_ERR_BUSY); /* bounded */
    assert_int_equal(pin_nonce_take(n, 10, a), IOTSEC_OK);
    assert_int_equal(pin_nonce_take(n, 10, a), IOTSEC_ERR_AUTH);   /* once */
    assert_int_equal(pin_nonce_take(n, 1000, b), IOTSEC_ERR_AUTH); /* expired */
    memset(c, 7, sizeof(c));
    assert_int_equal(pin_nonce_take(n, 10, c), IOTSEC_ERR_AUTH); /* never issued */
    /* expired ones make room again after the rebuild */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(pin_nonce_issue(n, 5000 + 2000 * i, c), IOTSEC_OK);
        assert_int_equal(pin_nonce_take(n, 5001 + 2000 * i, c), IOTSEC_OK);
    }
    pin_nonces_free(n);
}

static void test_request_mac_binds_everything(void **state)
{
    (void)state;
    uint8_t k[16] = {1}, uk[32], uk2[32], nonce[32] = {9}, mac[32];
    assert_int_equal(pin_ue_key(k, 16, "imsi-001010000000001", 1, uk), IOTSEC_OK);
    assert_int_equal(pin_ue_key(k, 16, "imsi-001010000000001", 2, uk2), IOTSEC_OK);
    assert_memory_not_equal(uk, uk2, 32); /* the credential version is bound */
    assert_int_equal(pin_request_mac(uk, "approve", nonce, "{}", 2, mac), IOTSEC_OK);
    assert_int_equal(pin_request_verify(uk, "approve", nonce, "{}", 2, mac), IOTSEC_OK);
    assert_int_equal(pin_request_verify(uk, "delete", nonce, "{}", 2, mac), IOTSEC_ERR_AUTH);
    assert_int_equal(pin_request_verify(uk2, "approve", nonce, "{}", 2, mac), IOTSEC_ERR_AUTH);
    assert_int_equal(pin_request_verify(uk, "approve", nonce, "{ }", 3, mac), IOTSEC_ERR_AUTH);
    nonce[31] ^= 1;
    assert_int_equal(pin_request_verify(uk, "approve", nonce, "{}", 2, mac), IOTSEC_ERR_AUTH);
    assert_int_equal(pin_ue_key(k, 16, "", 1, uk), IOTSEC_ERR_INVALID);
}

static void test_auth_message_binds_ids(void **state)
{
    (void)state;
    uint8_t n[32] = {1}, a[PIN_MSG_MAX], b[PIN_MSG_MAX];
    size_t la, lb;
    assert_int_equal(pin_msg_auth("pin-1", "pine-1", "gw-1", n, a, &la), IOTSEC_OK);
    assert_int_equal(pin_msg_auth("pin-1", "pine-1", "gw-2", n, b, &lb), IOTSEC_OK);
    assert_false(la == lb && memcmp(a, b, la) == 0);
    /* length prefixes: moving a character between fields changes the bytes */
    assert_int_equal(pin_msg_auth("pin-1p", "ine-1", "gw-1", n, b, &lb), IOTSEC_OK);
    assert_false(la == lb && memcmp(a, b, la) == 0);
    assert_int_equal(pin_msg_auth("pin 1", "pine-1", "gw-1", n, b, &lb), IOTSEC_ERR_INVALID);
}

/* A decision signed by ca for gw-1 of pin-1 with nonce n, as the daemon answers it. */
static char *answer(struct prov_sign_key *ca, const char *gw, const uint8_t n[32], int64_t exp)
{
    struct pin_grant g = {.n_dnns = 1, .qos_class = 9, .lifetime_s = 60};
    strcpy(g.dnns[0], "iot");
    char *text, s64[128];
    size_t len, mlen;
    uint8_t msg[2048], sig[64];
    assert_int_equal(
        pin_decision_text("pin-1", "pine-00112233aabbccdd", gw, &g, exp, n, &text, &len),
        IOTSEC_OK);
    assert_int_equal(pin_msg_decision(text, len, msg, sizeof(msg), &mlen), IOTSEC_OK);
    assert_int_equal(prov_ed25519_sign(ca, msg, mlen, sig), IOTSEC_OK);
    b64url_encode(sig, 64, s64);
    json_t *o = json_pack("{s:s, s:s}", "decision", text, "signature", s64);
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(text);
    return out;
}

static bool no(void *ctx, const char *pine)
{
    (void)pine;
    (*(int *)ctx)++;
    return false;
}

static bool yes(void *ctx, const char *pine)
{
    (void)pine;
    (*(int *)ctx)++;
    return true;
}

static void test_pegc_table(void **state)
{
    (void)state;
    uint8_t seed[32] = {5}, pub[32], other_pub[32], n[32] = {1}, n2[32] = {2};
    struct prov_sign_key *ca, *other;
    assert_int_equal(prov_sign_key_new(seed, &ca), IOTSEC_OK);
    seed[0] = 6;
    assert_int_equal(prov_sign_key_new(seed, &other), IOTSEC_OK);
    prov_sign_key_public(ca, pub);
    prov_sign_key_public(other, other_pub);
    assert_true(sizeof(struct pin_pegc_entry) <= 256); /* state per PINE */
    struct pin_pegc g;
    assert_int_equal(pin_pegc_init(&g, "pin-1", "gw-1", pub, 2), IOTSEC_OK);
    char *a = answer(ca, "gw-1", n, 100);
    /* another nonce, another gateway, another PIN's CA: refused */
    assert_int_equal(pin_pegc_accept(&g, a, strlen(a), n2, 0), IOTSEC_ERR_AUTH);
    char *b = answer(ca, "gw-2", n, 100);
    assert_int_equal(pin_pegc_accept(&g, b, strlen(b), n, 0), IOTSEC_ERR_AUTH);
    char *c = answer(other, "gw-1", n, 100);
    assert_int_equal(pin_pegc_accept(&g, c, strlen(c), n, 0), IOTSEC_ERR_AUTH);
    /* a flipped character of the decision */
    char *d = strdup(a);
    *strstr(d, "9,") = '8';
    assert_int_equal(pin_pegc_accept(&g, d, strlen(d), n, 0), IOTSEC_ERR_AUTH);
    assert_int_equal(g.n, 0);
    assert_int_equal(pin_pegc_accept(&g, a, strlen(a), n, 0), IOTSEC_OK);
    assert_int_equal(g.n, 1);
    int calls = 0;
    const char *pine = "pine-00112233aabbccdd";
    assert_true(pin_pegc_forward(&g, pine, "iot", 500, no, &calls));
    assert_int_equal(calls, 0); /* within the recheck period: no network round trip */
    assert_false(pin_pegc_forward(&g, pine, "internet", 500, yes, &calls));
    assert_false(pin_pegc_forward(&g, "pine-x", "iot", 500, yes, &calls));
    assert_true(pin_pegc_forward(&g, pine, "iot", 1500, yes, &calls));
    assert_int_equal(calls, 1);
    assert_false(pin_pegc_forward(&g, pine, "iot", 3000, no, &calls)); /* revoked */
    assert_int_equal(g.n, 0);
    assert_int_equal(pin_pegc_accept(&g, a, strlen(a), n, 0), IOTSEC_OK);
    assert_false(pin_pegc_forward(&g, pine, "iot", 100000, yes, &calls)); /* expired */
    pin_pegc_free(&g);
    free(a);
    free(b);
    free(c);
    free(d);
    prov_sign_key_free(ca);
    prov_sign_key_free(other);
}

/* The enrolment code's verdict: expiry and lock before the proof; the proof binds the code,
 * the PIN, the name and the key. */
static void test_enrol_judge(void **state)
{
    (void)state;
    struct pin_enrol e = {.expires_at = 1000};
    snprintf(e.name, sizeof(e.name), "thermo");
    uint8_t pub[PIN_PUB_LEN] = {1}, other[PIN_PUB_LEN] = {2}, proof[PIN_MAC_LEN], h[PIN_MAC_LEN];
    assert_int_equal(pin_code_hash("ABCDEFGHIJ234567", "pin-1", "thermo", e.code_hash), IOTSEC_OK);
    assert_int_equal(pin_code_proof(e.code_hash, "pin-1", "thermo", pub, proof), IOTSEC_OK);
    assert_int_equal(pin_enrol_judge(&e, "pin-1", pub, proof, 999), PIN_ENROL_OK);
    assert_int_equal(pin_enrol_judge(&e, "pin-1", pub, proof, 1000), PIN_ENROL_EXPIRED);
    assert_int_equal(pin_enrol_judge(&e, "pin-2", pub, proof, 999), PIN_ENROL_WRONG);
    assert_int_equal(pin_enrol_judge(&e, "pin-1", other, proof, 999), PIN_ENROL_WRONG);
    proof[31] ^= 1;
    assert_int_equal(pin_enrol_judge(&e, "pin-1", pub, proof, 999), PIN_ENROL_WRONG);
    proof[31] ^= 1;
    e.attempts = PIN_CODE_ATTEMPTS;
    assert_int_equal(pin_enrol_judge(&e, "pin-1", pub, proof, 999), PIN_ENROL_LOCKED);
    /* the hash depends on the code, the PIN and the name; codes are base32 of 10..32 */
    assert_int_equal(pin_code_hash("ABCDEFGHIJ234566", "pin-1", "thermo", h), IOTSEC_OK);
    assert_memory_not_equal(h, e.code_hash, PIN_MAC_LEN);
    assert_int_equal(pin_code_hash("ABCDEFGHIJ234567", "pin-1", "thermo2", h), IOTSEC_OK);
    assert_memory_not_equal(h, e.code_hash, PIN_MAC_LEN);
    assert_int_equal(pin_code_hash("ABCDEFGHI", "pin-1", "thermo", h), IOTSEC_ERR_INVALID);
    assert_int_equal(pin_code_hash("abcdefghijkl", "pin-1", "thermo", h), IOTSEC_ERR_INVALID);
    assert_int_equal(pin_code_hash("ABCDEFGHIJ18", "pin-1", "thermo", h), IOTSEC_ERR_INVALID);
    char code[13];
    assert_int_equal(pin_pine_code_new(code), IOTSEC_OK);
    assert_true(pin_code_ok(code));
}

/* Symmetric PINEs: the join proof binds code, PIN and name and is judged like a key-bound one;
 * the key binds the code, PIN, PINE and salt; the confirmation, the authentication MAC and the
 * decision MAC each bind what they name; the SDK's PINE gets the network's key. */
static void test_symmetric(void **state)
{
    (void)state;
    struct pin_enrol e = {.expires_at = 1000};
    snprintf(e.name, sizeof(e.name), "bulb");
    uint8_t proof[PIN_MAC_LEN], salt[PIN_SALT_LEN] = {7}, k[PIN_KEY_LEN], k2[PIN_KEY_LEN];
    uint8_t m[PIN_MAC_LEN], m2[PIN_MAC_LEN], nonce[PIN_NONCE_LEN] = {9}, pub[PIN_PUB_LEN] = {0};
    assert_int_equal(pin_code_hash("ABCDEFGHIJ234567", "pin-1", "bulb", e.code_hash), IOTSEC_OK);
    assert_int_equal(pin_sym_join_proof(e.code_hash, "pin-1", "bulb", proof), IOTSEC_OK);
    assert_int_equal(pin_enrol_judge(&e, "pin-1", NULL, proof, 999), PIN_ENROL_OK);
    assert_int_equal(pin_enrol_judge(&e, "pin-2", NULL, proof, 999), PIN_ENROL_WRONG);
    /* not interchangeable with a key-bound proof (another label) */
    assert_int_equal(pin_enrol_judge(&e, "pin-1", pub, proof, 999), PIN_ENROL_WRONG);
    assert_int_equal(pin_enrol_judge(&e, "pin-1", NULL, proof, 1000), PIN_ENROL_EXPIRED);
    e.attempts = PIN_CODE_ATTEMPTS;
    assert_int_equal(pin_enrol_judge(&e, "pin-1", NULL, proof, 999), PIN_ENROL_LOCKED);

    assert_int_equal(pin_sym_key(e.code_hash, "pin-1", "pine-1", salt, k), IOTSEC_OK);
    assert_int_equal(pin_sym_key(e.code_hash, "pin-2", "pine-1", salt, k2), IOTSEC_OK);
    assert_memory_not_equal(k, k2, PIN_KEY_LEN);
    assert_int_equal(pin_sym_key(e.code_hash, "pin-1", "pine-2", salt, k2), IOTSEC_OK);
    assert_memory_not_equal(k, k2, PIN_KEY_LEN);
    salt[0] ^= 1;
    assert_int_equal(pin_sym_key(e.code_hash, "pin-1", "pine-1", salt, k2), IOTSEC_OK);
    assert_memory_not_equal(k, k2, PIN_KEY_LEN);
    salt[0] ^= 1;

    assert_int_equal(pin_sym_auth_mac(k, "pin-1", "pine-1", "gw-1", nonce, m), IOTSEC_OK);
    assert_int_equal(pin_sym_auth_mac(k, "pin-1", "pine-1", "gw-2", nonce, m2), IOTSEC_OK);
    assert_memory_not_equal(m, m2, PIN_MAC_LEN);
    nonce[31] ^= 1;
    assert_int_equal(pin_sym_auth_mac(k, "pin-1", "pine-1", "gw-1", nonce, m2), IOTSEC_OK);
    assert_memory_not_equal(m, m2, PIN_MAC_LEN);
    assert_int_equal(pin_sym_auth_mac(k, "", "pine-1", "gw-1", nonce, m2), IOTSEC_ERR_INVALID);
    assert_int_equal(pin_sym_decision_mac(k, "{\"a\":1}", 7, m), IOTSEC_OK);
    assert_int_equal(pin_sym_decision_mac(k, "{\"a\":2}", 7, m2), IOTSEC_OK);
    assert_memory_not_equal(m, m2, PIN_MAC_LEN);

    /* the SDK's side: the join request carries the proof, not the code; the answer's confirm
     * makes the PINE take the network's key, and a changed salt is refused */
    struct pin_sym_pine p;
    char req[512], ans[512], s64[64], c64[64];
    assert_int_equal(
        pin_sym_join_request(&p, "pin-1", "bulb", "ABCDEFGHIJ234567", req, sizeof(req)), IOTSEC_OK);
    assert_null(strstr(req, "ABCDEFGHIJ234567"));
    assert_non_null(strstr(req, "\"credential\":\"symmetric\""));
    assert_int_equal(pin_sym_confirm(k, "pin-1", "pine-1", m), IOTSEC_OK);
    b64url_encode(salt, sizeof(salt), s64);
    b64url_encode(m, sizeof(m), c64);
    snprintf(ans, sizeof(ans), "{\"pine_id\":\"pine-1\",\"salt\":\"%s\",\"confirm\":\"%s\"}", s64,
             c64);
    struct pin_sym_pine bad = p;
    assert_int_equal(pin_sym_pine_accept(&p, ans, strlen(ans)), IOTSEC_OK);
    assert_memory_equal(p.key, k, PIN_KEY_LEN);
    salt[1] ^= 1;
    b64url_encode(salt, sizeof(salt), s64);
    snprintf(ans, sizeof(ans), "{\"pine_id\":\"pine-1\",\"salt\":\"%s\",\"confirm\":\"%s\"}", s64,
             c64);
    assert_int_equal(pin_sym_pine_accept(&bad, ans, strlen(ans)), IOTSEC_ERR_AUTH);
    pin_sym_pine_wipe(&p);
    pin_sym_pine_wipe(&bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_bounds),
        cmocka_unit_test(test_grant_within_policy),
        cmocka_unit_test(test_nonces_single_use),
        cmocka_unit_test(test_request_mac_binds_everything),
        cmocka_unit_test(test_auth_message_binds_ids),
        cmocka_unit_test(test_pegc_table),
        cmocka_unit_test(test_enrol_judge),
        cmocka_unit_test(test_symmetric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
