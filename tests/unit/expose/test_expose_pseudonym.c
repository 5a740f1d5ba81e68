/* Per-AF external IDs: stable, different across AFs and devices, of the documented form, an
 * independent recomputation of the MAC, and resolution confined to the asking AF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/hmac.h>

#include "base/err.h"
#include "expose/expose.h"

#define DOMAIN "iot.operator.example"

static const uint8_t key_bytes[32] = {0x5e, 0xc2, 0xe7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static struct hmac_sha256 key;

static int setup(void **state)
{
    (void)state;
    hmac_sha256_init(&key, key_bytes, sizeof(key_bytes));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hmac_sha256_wipe(&key);
    return 0;
}

static void ext(const char *af, const char *supi, char out[EXTID_MAX])
{
    assert_int_equal(expose_external_id(&key, af, supi, DOMAIN, out), IOTSEC_OK);
}

static void test_stable_and_unlinkable(void **state)
{
    (void)state;
    char a1[EXTID_MAX], a1b[EXTID_MAX], b1[EXTID_MAX], a2[EXTID_MAX];
    ext("af-a", "imsi-001010000000001", a1);
    ext("af-a", "imsi-001010000000001", a1b);
    ext("af-b", "imsi-001010000000001", b1);
    ext("af-a", "imsi-001010000000002", a2);
    assert_string_equal(a1, a1b);
    assert_string_not_equal(a1, b1);
    assert_string_not_equal(a1, a2);
    /* Nothing of the SUPI shows through. */
    assert_null(strstr(a1, "0000000001"));
    assert_null(strstr(a1, "imsi"));
    /* Inputs that concatenate alike without the separators still differ. */
    char x[EXTID_MAX], y[EXTID_MAX];
    ext("af-a1", "nai-x@realm.example", x);
    ext("af-a", "nai-1x@realm.example", y);
    assert_string_not_equal(x, y);
    /* Another key, another ID. */
    struct hmac_sha256 other;
    uint8_t k2[32] = {1};
    hmac_sha256_init(&other, k2, sizeof(k2));
    assert_int_equal(expose_external_id(&other, "af-a", "imsi-001010000000001", DOMAIN, x),
                     IOTSEC_OK);
    assert_string_not_equal(x, a1);
    hmac_sha256_wipe(&other);
}

static void test_format_and_independent_mac(void **state)
{
    (void)state;
    char id[EXTID_MAX];
    ext("af-a", "imsi-001010000000001", id);
    assert_int_equal(strlen(id), EXTID_LOCAL_LEN + 1 + strlen(DOMAIN));
    assert_int_equal(id[EXTID_LOCAL_LEN], '@');
    assert_string_equal(id + EXTID_LOCAL_LEN + 1, DOMAIN);
    for (int i = 0; i < EXTID_LOCAL_LEN; i++)
        assert_true((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '2' && id[i] <= '7'));

    /* Recompute with OpenSSL's HMAC and a plain bit-by-bit base32. */
    const char msg[] = "iotsec-extid-v1\0af-a\0imsi-001010000000001";
    uint8_t mac[32];
    unsigned int ml;
    HMAC(EVP_sha256(), key_bytes, sizeof(key_bytes), (const unsigned char *)msg, sizeof(msg) - 1,
         mac, &ml);
    char want[EXTID_LOCAL_LEN + 1];
    for (int c = 0; c < EXTID_LOCAL_LEN; c++) {
        int v = 0;
        for (int b = 0; b < 5; b++) {
            int bit = c * 5 + b;
            v = v << 1 | ((mac[bit / 8] >> (7 - bit % 8)) & 1);
        }
        want[c] = "abcdefghijklmnopqrstuvwxyz234567"[v];
    }
    want[EXTID_LOCAL_LEN] = '\0';
    assert_memory_equal(id, want, EXTID_LOCAL_LEN);
}

static void test_bad_input(void **state)
{
    (void)state;
    char id[EXTID_MAX];
    const char *bad_af[] = {
        NULL,   "",      "af a",
        "af/a", "af\na", "a234567890123456789012345678901234567890123456789012345678901234x"};
    for (size_t i = 0; i < sizeof(bad_af) / sizeof(bad_af[0]); i++)
        assert_int_equal(expose_external_id(&key, bad_af[i], "imsi-001010000000001", DOMAIN, id),
                         IOTSEC_ERR_INVALID);
    const char *bad_supi[] = {NULL, "", "001010000000001", "imsi-12", "imsi-00101000000000a"};
    for (size_t i = 0; i < sizeof(bad_supi) / sizeof(bad_supi[0]); i++)
        assert_int_equal(expose_external_id(&key, "af-a", bad_supi[i], DOMAIN, id),
                         IOTSEC_ERR_INVALID);
    const char *bad_dom[] = {NULL, "", ".example", "a..b", "-a.b", "a-.b", "a_b.c", "a.b.", "a b"};
    for (size_t i = 0; i < sizeof(bad_dom) / sizeof(bad_dom[0]); i++)
        if (expose_external_id(&key, "af-a", "imsi-001010000000001", bad_dom[i], id) !=
            IOTSEC_ERR_INVALID)
            fail_msg("domain \"%s\" accepted", bad_dom[i] ? bad_dom[i] : "(null)");
    assert_int_equal(expose_external_id(NULL, "af-a", "imsi-001010000000001", DOMAIN, id),
                     IOTSEC_ERR_INVALID);
}

/* A stand-in for the daemon's table: rows (af_id, external_id) -> SUPI. `sloppy` ignores
 * af_id, as a buggy query would. */
struct table {
    const char *af[3], *ext[3], *supi[3];
    size_t n;
    bool sloppy;
};

static int lookup(void *ctx, const char *af_id, const char *external_id, char *supi, size_t cap)
{
    struct table *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if ((t->sloppy || strcmp(t->af[i], af_id) == 0) && strcmp(t->ext[i], external_id) == 0) {
            snprintf(supi, cap, "%s", t->supi[i]);
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_NOTFOUND;
}

static void test_resolve_within_af(void **state)
{
    (void)state;
    char a1[EXTID_MAX], b1[EXTID_MAX], supi[64];
    ext("af-a", "imsi-001010000000001", a1);
    ext("af-b", "imsi-001010000000001", b1);
    struct table t = {.af = {"af-a", "af-b"},
                      .ext = {a1, b1},
                      .supi = {"imsi-001010000000001", "imsi-001010000000001"},
                      .n = 2};
    assert_int_equal(
        expose_external_id_resolve(&key, "af-a", a1, DOMAIN, lookup, &t, supi, sizeof(supi)),
        IOTSEC_OK);
    assert_string_equal(supi, "imsi-001010000000001");
    /* AF b presenting AF a's ID: not found, even with a table that ignores the AF. */
    assert_int_equal(
        expose_external_id_resolve(&key, "af-b", a1, DOMAIN, lookup, &t, supi, sizeof(supi)),
        IOTSEC_ERR_NOTFOUND);
    assert_string_equal(supi, "");
    t.sloppy = true;
    assert_int_equal(
        expose_external_id_resolve(&key, "af-b", a1, DOMAIN, lookup, &t, supi, sizeof(supi)),
        IOTSEC_ERR_NOTFOUND);
    assert_string_equal(supi, "");
    /* A row pointing at the wrong device is caught by the recomputation. */
    t.sloppy = false;
    t.supi[0] = "imsi-001010000000009";
    assert_int_equal(
        expose_external_id_resolve(&key, "af-a", a1, DOMAIN, lookup, &t, supi, sizeof(supi)),
        IOTSEC_ERR_NOTFOUND);
    assert_string_equal(supi, "");
    /* Malformed IDs never reach the table. */
    char bad[EXTID_MAX];
    snprintf(bad, sizeof(bad), "%s", a1);
    bad[0] = 'A';
    const char *malformed[] = {bad, "imsi-001010000000001", "x@" DOMAIN, ""};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(expose_external_id_resolve(&key, "af-a", malformed[i], DOMAIN, lookup, &t,
                                                    supi, sizeof(supi)),
                         IOTSEC_ERR_INVALID);
    snprintf(bad, sizeof(bad), "%.*s@other.example", EXTID_LOCAL_LEN, a1);
    assert_int_equal(
        expose_external_id_resolve(&key, "af-a", bad, DOMAIN, lookup, &t, supi, sizeof(supi)),
        IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_and_unlinkable),
        cmocka_unit_test(test_format_and_independent_mac),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_resolve_within_af),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
