/* The pure decisions of provisioning (prov_logic.c) and base64url (base/b64url.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "provision/prov_int.h"

static struct prov_enrollment enr(int64_t id, bool individual, bool derived, const char *reg,
                                  const char *cert, const char *serial, int64_t mfr)
{
    struct prov_enrollment e;
    memset(&e, 0, sizeof(e));
    e.id = id;
    e.individual = individual;
    e.derived_key = derived;
    e.manufacturer_id = mfr;
    e.enabled = true;
    snprintf(e.reg_id, sizeof(e.reg_id), "%s", reg ? reg : "");
    snprintf(e.cert_sha256, sizeof(e.cert_sha256), "%s", cert ? cert : "");
    snprintf(e.serial, sizeof(e.serial), "%s", serial ? serial : "");
    return e;
}

/* Proves for the enrollments whose id is in the set. */
struct proves_set {
    int64_t ids[8];
    size_t n;
};

static bool proves(const struct prov_enrollment *e, void *ctx)
{
    const struct proves_set *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == e->id)
            return true;
    return false;
}

static void test_individual_overrides_group(void **state)
{
    (void)state;
    struct prov_enrollment c[] = {
        enr(1, false, false, NULL, NULL, NULL, 7),         /* x509 group of manufacturer 7 */
        enr(2, true, false, NULL, "ab", NULL, 7),          /* this very certificate */
        enr(3, true, false, NULL, NULL, "0badc0de", 7),    /* by serial, another device */
    };
    c[1].enabled = false; /* disabling one device of the group */
    struct proves_set all = {{1, 2, 3}, 3};
    struct prov_identity id = {"dev-1", "ab", "1234", false};
    size_t at = 99;
    assert_int_equal(prov_enrollment_match(c, 3, &id, proves, &all, &at), IOTSEC_OK);
    assert_int_equal(at, 1); /* the individual one wins, disabled or not */
    assert_false(c[at].enabled);

    /* Another device of the same group: the group. */
    struct prov_identity other = {"dev-2", "cd", "5678", false};
    assert_int_equal(prov_enrollment_match(c, 3, &other, proves, &all, &at), IOTSEC_OK);
    assert_int_equal(at, 0);
    /* By serial. */
    struct prov_identity by_serial = {"dev-3", "ef", "0badc0de", false};
    assert_int_equal(prov_enrollment_match(c, 3, &by_serial, proves, &all, &at), IOTSEC_OK);
    assert_int_equal(at, 2);
}

static void test_match_needs_proof_and_attestation(void **state)
{
    (void)state;
    struct prov_enrollment c[] = {
        enr(1, false, true, NULL, NULL, NULL, 0), /* derived-key group A */
        enr(2, false, true, NULL, NULL, NULL, 0), /* derived-key group B */
        enr(3, true, true, "m-1", NULL, NULL, 0), /* individual, derived */
        enr(4, false, false, NULL, NULL, NULL, 9),
    };
    struct proves_set only_b = {{2}, 1};
    struct prov_identity id = {"m-2", NULL, NULL, true};
    size_t at;
    assert_int_equal(prov_enrollment_match(c, 4, &id, proves, &only_b, &at), IOTSEC_OK);
    assert_int_equal(at, 1); /* the group whose key verifies */
    struct proves_set none = {{0}, 0};
    assert_int_equal(prov_enrollment_match(c, 4, &id, proves, &none, &at), IOTSEC_ERR_NOTFOUND);
    /* An individual enrollment naming the device but whose key it does not prove: groups. */
    struct prov_identity m1 = {"m-1", NULL, NULL, true};
    struct proves_set a = {{1}, 1};
    assert_int_equal(prov_enrollment_match(c, 4, &m1, proves, &a, &at), IOTSEC_OK);
    assert_int_equal(at, 0);
    /* An x509 device never matches a derived-key enrollment, even one that "proves". */
    struct prov_identity cert = {"m-1", "aa", "01", false};
    struct proves_set all = {{1, 2, 3}, 3};
    assert_int_equal(prov_enrollment_match(c, 4, &cert, proves, &all, &at), IOTSEC_ERR_NOTFOUND);
}

static void test_supi_allocation(void **state)
{
    (void)state;
    struct prov_supi_range r;
    char s[40];
    assert_int_equal(prov_supi_range_parse("imsi-001010000000001", "imsi-001010000000003", &r),
                     IOTSEC_OK);
    assert_int_equal(prov_supi_at(&r, 0, s, sizeof(s)), IOTSEC_OK);
    assert_string_equal(s, "imsi-001010000000001");
    assert_int_equal(prov_supi_at(&r, 2, s, sizeof(s)), IOTSEC_OK);
    assert_string_equal(s, "imsi-001010000000003");
    assert_int_equal(prov_supi_at(&r, 3, s, sizeof(s)), IOTSEC_ERR_NOTFOUND); /* exhausted */
    /* Leading zeros kept. */
    assert_int_equal(prov_supi_range_parse("imsi-000000", "imsi-000009", &r), IOTSEC_OK);
    assert_int_equal(prov_supi_at(&r, 5, s, sizeof(s)), IOTSEC_OK);
    assert_string_equal(s, "imsi-000005");
    /* Refused ranges. */
    assert_int_equal(prov_supi_range_parse("imsi-0010100000001", "imsi-001010000000003", &r),
                     IOTSEC_ERR_INVALID); /* lengths differ */
    assert_int_equal(prov_supi_range_parse("imsi-001010000000009", "imsi-001010000000003", &r),
                     IOTSEC_ERR_INVALID); /* reversed */
    assert_int_equal(prov_supi_range_parse("nai-a@b", "nai-c@d", &r), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_supi_range_parse("imsi-12345", "imsi-12349", &r), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_supi_range_parse("imsi-1234567890123456", "imsi-1234567890123457", &r),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(prov_supi_range_parse("imsi-00101x", "imsi-001019", &r), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_supi_range_parse(NULL, "imsi-001019", &r), IOTSEC_ERR_INVALID);
}

static void test_idempotency_key(void **state)
{
    (void)state;
    uint8_t n[32], p[32];
    memset(n, 1, 32);
    memset(p, 2, 32);
    uint8_t n2[32], p2[32];
    memcpy(n2, n, 32);
    memcpy(p2, p, 32);
    assert_true(prov_same_request(n, p, n2, p2));
    p2[31] ^= 1; /* same nonce, another device key: a different request */
    assert_false(prov_same_request(n, p, n2, p2));
    p2[31] ^= 1;
    n2[0] ^= 1;
    assert_false(prov_same_request(n, p, n2, p2));
    assert_false(prov_same_request(NULL, p, n, p));
}

static void test_rotation_state_machine(void **state)
{
    (void)state;
    uint8_t n[32] = {1}, p[32] = {2}, n2[32] = {3};
    struct prov_rot_state s = {.current_version = 1};
    int64_t now = 1000000;
    /* Nothing waiting: a new version. A stale device version is refused. */
    assert_int_equal(prov_rotate_decide(&s, 1, n, p, now), PROV_ROT_NEW);
    assert_int_equal(prov_rotate_decide(&s, 2, n, p, now), PROV_ROT_BAD_VERSION);
    assert_int_equal(prov_rotate_decide(&s, 0, n, p, now), PROV_ROT_BAD_VERSION);
    /* A version waits (made by this request): the same request replays, another reseals. */
    s.pending_version = 2;
    s.pending_since = now - 10;
    s.has_pending_request = true;
    memcpy(s.pend_nonce, n, 32);
    memcpy(s.pend_pub, p, 32);
    assert_int_equal(prov_rotate_decide(&s, 1, n, p, now), PROV_ROT_REPLAY);
    assert_int_equal(prov_rotate_decide(&s, 1, n2, p, now), PROV_ROT_RESEAL); /* lost answer */
    /* Staged by the admin (no request yet): reseal. */
    s.has_pending_request = false;
    assert_int_equal(prov_rotate_decide(&s, 1, n, p, now), PROV_ROT_RESEAL);
    /* Too old, or not current + 1 (the subscription moved meanwhile): a new version. */
    s.pending_since = now - PROV_PENDING_MAX_AGE_S;
    assert_int_equal(prov_rotate_decide(&s, 1, n, p, now), PROV_ROT_NEW);
    s.pending_since = now;
    s.current_version = 2;
    assert_int_equal(prov_rotate_decide(&s, 2, n, p, now), PROV_ROT_NEW);
}

static void test_confirmation_target(void **state)
{
    (void)state;
    uint8_t on[32] = {1}, rot[32] = {2}, other[32] = {3};
    assert_int_equal(prov_confirm_decide(1, on, 0, NULL, 1, on), PROV_CONFIRM_ONBOARD);
    assert_int_equal(prov_confirm_decide(1, on, 0, NULL, 1, other), PROV_CONFIRM_NONE);
    assert_int_equal(prov_confirm_decide(1, on, 0, NULL, 2, on), PROV_CONFIRM_NONE);
    assert_int_equal(prov_confirm_decide(1, on, 2, rot, 2, rot), PROV_CONFIRM_ROTATION);
    assert_int_equal(prov_confirm_decide(1, on, 2, rot, 2, on), PROV_CONFIRM_NONE);
    assert_int_equal(prov_confirm_decide(1, on, 2, rot, 1, on), PROV_CONFIRM_ONBOARD);
    assert_int_equal(prov_confirm_decide(1, NULL, 0, NULL, 1, on), PROV_CONFIRM_NONE);
}

static void test_same_device(void **state)
{
    (void)state;
    /* Registered by derived key under enrollment 1. */
    assert_true(prov_same_device(1, "", 1, false, ""));
    assert_false(prov_same_device(1, "", 2, false, ""));  /* another group's key holder */
    assert_true(prov_same_device(1, "", 3, true, ""));    /* the operator's override */
    /* Registered by certificate "aa" under enrollment 5. */
    assert_true(prov_same_device(5, "aa", 5, false, "aa"));
    assert_false(prov_same_device(5, "aa", 5, false, "bb")); /* another certificate */
    assert_false(prov_same_device(5, "aa", 6, true, ""));    /* a derived key */
    assert_true(prov_same_device(5, "aa", 6, true, "aa"));
    assert_false(prov_same_device(5, "aa", 7, false, "aa")); /* another group */
}

static void test_activation_rule(void **state)
{
    (void)state;
    assert_false(prov_should_activate(false, false, true));
    assert_true(prov_should_activate(true, false, false));
    assert_false(prov_should_activate(true, true, false));
    assert_true(prov_should_activate(true, true, true));
}

static void test_rotate_key_domain(void **state)
{
    (void)state;
    uint8_t k[16] = {9}, a[32], b[32], c[32];
    assert_int_equal(prov_rotate_key(k, 16, "reg-1", 1, a), IOTSEC_OK);
    assert_int_equal(prov_rotate_key(k, 16, "reg-1", 2, b), IOTSEC_OK);
    assert_int_equal(prov_rotate_key(k, 16, "reg-2", 1, c), IOTSEC_OK);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    assert_int_equal(prov_rotate_key(k, 15, "reg-1", 1, a), IOTSEC_ERR_INVALID);
    assert_int_equal(prov_rotate_key(k, 16, "reg 1", 1, a), IOTSEC_ERR_INVALID);
}

static void test_b64url(void **state)
{
    (void)state;
    const uint8_t in[] = {0xfb, 0xff, 0x00, 0x10, 0x83};
    char out[16];
    uint8_t back[8];
    size_t n;
    for (size_t len = 0; len <= sizeof(in); len++) {
        b64url_encode(in, len, out);
        assert_int_equal(strlen(out), b64url_len(len));
        assert_int_equal(b64url_decode(out, strlen(out), back, sizeof(back), &n), IOTSEC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, in, len);
    }
    b64url_encode(in, 2, out);
    assert_string_equal(out, "-_8"); /* url alphabet */
    assert_int_equal(b64url_decode("-_8=", 4, back, 8, &n), IOTSEC_ERR_INVALID); /* padding */
    assert_int_equal(b64url_decode("+/8", 3, back, 8, &n), IOTSEC_ERR_INVALID);  /* std */
    assert_int_equal(b64url_decode("-_9", 3, back, 8, &n), IOTSEC_ERR_INVALID);  /* bits */
    assert_int_equal(b64url_decode("A", 1, back, 8, &n), IOTSEC_ERR_INVALID);
    assert_int_equal(b64url_decode("AAAAAAAA", 8, back, 5, &n), IOTSEC_ERR_INVALID); /* cap */
    assert_int_equal(prov_reprovision_parse("reset", &(enum prov_reprovision){0}), IOTSEC_OK);
    assert_int_equal(prov_reprovision_parse("Reset", &(enum prov_reprovision){0}),
                     IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_individual_overrides_group),
        cmocka_unit_test(test_match_needs_proof_and_attestation),
        cmocka_unit_test(test_supi_allocation),
        cmocka_unit_test(test_idempotency_key),
        cmocka_unit_test(test_rotation_state_machine),
        cmocka_unit_test(test_confirmation_target),
        cmocka_unit_test(test_same_device),
        cmocka_unit_test(test_activation_rule),
        cmocka_unit_test(test_rotate_key_domain),
        cmocka_unit_test(test_b64url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
