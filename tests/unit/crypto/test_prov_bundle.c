/* The credential bundle's canonical TLV form: round trip, one encoding per bundle, and the
 * parser's refusals (unknown, missing, repeated or reordered items, bad lengths, trailing
 * bytes, every truncation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

static const uint8_t service[] = "{\"profile\":\"nb-iot-meter\",\"apn\":\"meters.example\"}";

static struct prov_bundle sample(void)
{
    struct prov_bundle b = {.supi = "imsi-001010000000042",
                            .k_len = 32,
                            .amf = {0x80, 0x00},
                            .n_hn_keys = 2,
                            .routing_ind = "0012",
                            .cred_id = "cred-7f3a",
                            .cred_version = 0x01020304,
                            .not_after = 0x0000000071234567ULL,
                            .service = service,
                            .service_len = sizeof(service) - 1};
    for (int i = 0; i < 32; i++) {
        b.k[i] = (uint8_t)i;
        b.opc[i] = (uint8_t)(0xff - i);
    }
    b.hn_keys[0] = (struct prov_hn_key){.id = 1, .scheme = 1, .pub_len = 32, .pub = {0xaa}};
    b.hn_keys[1] = (struct prov_hn_key){.id = 2, .scheme = 2, .pub_len = 33, .pub = {0x02, 0xbb}};
    return b;
}

static size_t encode(const struct prov_bundle *b, uint8_t *out, size_t max)
{
    size_t len;
    assert_int_equal(prov_bundle_encode(b, out, max, &len), IOTSEC_OK);
    return len;
}

static void test_round_trip_and_canonical(void **state)
{
    (void)state;
    struct prov_bundle b = sample(), got;
    uint8_t buf[1024], again[1024];
    size_t len = encode(&b, buf, sizeof(buf));
    assert_int_equal(buf[0], PROV_BUNDLE_VERSION);
    assert_int_equal(buf[1], PROV_TAG_SUPI);
    assert_int_equal(prov_bundle_parse(buf, len, &got), IOTSEC_OK);
    assert_string_equal(got.supi, b.supi);
    assert_int_equal(got.k_len, 32);
    assert_memory_equal(got.k, b.k, 32);
    assert_memory_equal(got.opc, b.opc, 32);
    assert_memory_equal(got.amf, b.amf, 2);
    assert_int_equal(got.n_hn_keys, 2);
    assert_memory_equal(&got.hn_keys[1], &b.hn_keys[1], sizeof(b.hn_keys[1]));
    assert_string_equal(got.routing_ind, "0012");
    assert_string_equal(got.cred_id, "cred-7f3a");
    assert_int_equal(got.cred_version, 0x01020304);
    assert_true(got.not_after == 0x71234567ULL);
    assert_int_equal(got.service_len, sizeof(service) - 1);
    assert_ptr_equal(got.service >= buf && got.service < buf + len, 1); /* borrowed from buf */
    /* Canonical: what was parsed encodes to the same bytes. */
    assert_int_equal(encode(&got, again, sizeof(again)), len);
    assert_memory_equal(again, buf, len);

    /* Minimal bundle: 16-byte K, no home-network key, empty service parameters. */
    b.k_len = 16;
    b.n_hn_keys = 0;
    b.service = NULL;
    b.service_len = 0;
    len = encode(&b, buf, sizeof(buf));
    assert_int_equal(prov_bundle_parse(buf, len, &got), IOTSEC_OK);
    assert_int_equal(got.k_len, 16);
    assert_int_equal(got.n_hn_keys, 0);
    assert_int_equal(got.service_len, 0);
    prov_bundle_wipe(&got);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    uint8_t buf[1024];
    size_t len;
    struct prov_bundle b = sample();
    assert_int_equal(prov_bundle_encode(&b, buf, 50, &len), IOTSEC_ERR_INVALID); /* too small */
    static const uint8_t zero[50];
    assert_memory_equal(buf, zero, 50); /* the part written, K included, wiped */
    b.k_len = 24;
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
    b = sample();
    strcpy(b.routing_ind, "12a");
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
    b = sample();
    b.hn_keys[1].id = 1; /* ids must increase */
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
    b = sample();
    b.hn_keys[1].pub[0] = 0x05; /* not a P-256 point prefix */
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
    b = sample();
    b.supi[0] = '\0';
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
}

/* Replaces the bytes [at, at + cut) of a valid encoding with ins, parses, expects refusal and
 * a wiped output. */
static void expect_refused(const uint8_t *valid, size_t len, size_t at, size_t cut, const void *ins,
                           size_t ins_len)
{
    uint8_t buf[1100];
    memcpy(buf, valid, at);
    memcpy(buf + at, ins, ins_len);
    memcpy(buf + at + ins_len, valid + at + cut, len - at - cut);
    struct prov_bundle got;
    assert_int_equal(prov_bundle_parse(buf, len - cut + ins_len, &got), IOTSEC_ERR_INVALID);
    static const struct prov_bundle zero;
    assert_memory_equal(&got, &zero, sizeof(got));
}

static void test_parse_refuses(void **state)
{
    (void)state;
    struct prov_bundle b = sample();
    uint8_t buf[1024];
    size_t len = encode(&b, buf, sizeof(buf));
    size_t supi_item = 3 + strlen(b.supi), k_at = 1 + supi_item;

    expect_refused(buf, len, 0, 1, "\x02", 1);             /* unknown version */
    expect_refused(buf, len, len, 0, "\x0b\x00\x00", 3);   /* unknown tag 11 at the end */
    expect_refused(buf, len, len, 0, "\x0a\x00\x00", 3);   /* SERVICE twice */
    expect_refused(buf, len, len, 0, "\x00", 1);           /* a trailing byte */
    expect_refused(buf, len, 1, supi_item, "", 0);         /* SUPI missing */
    expect_refused(buf, len, k_at, 0, buf + 1, supi_item); /* SUPI after K: out of order */
    expect_refused(buf, len, k_at + 2, 1, "\x1f", 1);      /* K of 31 bytes: lengths break */
    /* OPc of 16 bytes after a 32-byte K. */
    struct prov_bundle b16 = sample();
    uint8_t buf16[1024];
    b16.k_len = 16;
    encode(&b16, buf16, sizeof(buf16));
    expect_refused(buf, len, k_at + 3 + 32, 3 + 32, buf16 + k_at + 3 + 16, 3 + 16);

    /* Every truncation. */
    struct prov_bundle got;
    for (size_t n = 0; n < len; n++)
        assert_int_equal(prov_bundle_parse(buf, n, &got), IOTSEC_ERR_INVALID);
}

static void test_hn_key_limits(void **state)
{
    (void)state;
    struct prov_bundle b = sample(), got;
    b.n_hn_keys = PROV_HN_KEYS_MAX;
    for (size_t i = 0; i < PROV_HN_KEYS_MAX; i++)
        b.hn_keys[i] = (struct prov_hn_key){
            .id = (uint8_t)(10 + i), .scheme = 2, .pub_len = 65, .pub = {0x04}};
    uint8_t buf[2048];
    size_t len = encode(&b, buf, sizeof(buf));
    assert_int_equal(prov_bundle_parse(buf, len, &got), IOTSEC_OK);
    assert_int_equal(got.n_hn_keys, PROV_HN_KEYS_MAX);
    /* One more key item than allowed, inserted before ROUTING_IND. */
    size_t at = 1 + (3 + strlen(b.supi)) + 2 * (3 + 32) + (3 + 2) + PROV_HN_KEYS_MAX * (3 + 67);
    assert_int_equal(buf[at], PROV_TAG_ROUTING_IND);
    uint8_t extra[3 + 67] = {PROV_TAG_HN_KEY, 0, 67, 200, 2, 0x04};
    expect_refused(buf, len, at, 0, extra, sizeof(extra));
    b.n_hn_keys = PROV_HN_KEYS_MAX + 1;
    assert_int_equal(prov_bundle_encode(&b, buf, sizeof(buf), &len), IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_canonical),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_hn_key_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
