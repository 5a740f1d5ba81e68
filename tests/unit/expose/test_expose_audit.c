/* The audit hash chain: a log verifies; altering any field of any record, dropping,
 * reordering, cutting the head (re-anchored at genesis) or the tail is found at the right
 * index; and the hash is an independent SHA-256 over the documented encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "expose/expose.h"

#define N 8

static struct audit_record log_[N];
static struct audit_anchor head; /* the checkpoint, kept apart from the log */
static char texts[N][5][32];

static void build(void)
{
    memset(&head, 0, sizeof(head));
    for (int i = 0; i < N; i++) {
        snprintf(texts[i][0], 32, "af:af-%d", i % 3);
        snprintf(texts[i][1], 32, "monitoring.read");
        snprintf(texts[i][2], 32, "subscription:s-%d", i);
        snprintf(texts[i][3], 32, i % 2 ? "consent revoked" : "consent c-%d", i);
        snprintf(texts[i][4], 32, "req-%04d", i);
        log_[i] = (struct audit_record){.time_ms = 1750000000000 + i * 17,
                                        .principal = texts[i][0],
                                        .action = texts[i][1],
                                        .resource = texts[i][2],
                                        .reason = texts[i][3],
                                        .request_id = texts[i][4],
                                        .allow = i % 2 == 0};
        assert_int_equal(audit_append(&head, &log_[i]), IOTSEC_OK);
        assert_int_equal(log_[i].seq, (uint64_t)i);
    }
    assert_int_equal(head.seq, N);
}

static void expect_bad(const struct audit_record *recs, size_t n, const struct audit_anchor *end,
                       size_t want)
{
    size_t bad = 999;
    assert_int_equal(audit_verify(recs, n, NULL, end, &bad), IOTSEC_ERR_AUTH);
    assert_int_equal(bad, want);
}

static void test_chain_verifies(void **state)
{
    (void)state;
    build();
    size_t bad = 999;
    assert_int_equal(audit_verify(log_, N, NULL, &head, &bad), IOTSEC_OK);
    assert_int_equal(audit_verify(log_, N, NULL, NULL, &bad), IOTSEC_OK);
    assert_int_equal(audit_verify(log_, 0, NULL, NULL, &bad), IOTSEC_OK);
    /* A segment verifies from an anchor in the middle. */
    struct audit_anchor mid = {.seq = 3};
    memcpy(mid.hash, log_[2].hash, AUDIT_HASH_LEN);
    assert_int_equal(audit_verify(log_ + 3, N - 3, &mid, &head, &bad), IOTSEC_OK);
}

/* Every field of every record, changed by one bit or one character. */
static void test_any_field_altered(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++) {
        for (int f = 0; f < 9; f++) {
            build();
            struct audit_record *r = &log_[i];
            switch (f) {
            case 0:
                r->time_ms ^= 1;
                break;
            case 1:
                r->allow = !r->allow;
                break;
            case 2:
                texts[i][0][3] ^= 1;
                break;
            case 3:
                texts[i][1][0] ^= 1;
                break;
            case 4:
                texts[i][2][5] ^= 1;
                break;
            case 5:
                texts[i][3][0] ^= 1;
                break;
            case 6:
                texts[i][4][4] ^= 1;
                break;
            case 7:
                r->hash[AUDIT_HASH_LEN - 1] ^= 1;
                break;
            case 8:
                texts[i][3][strlen(texts[i][3]) - 1] = '\0';
                break; /* shortened */
            }
            expect_bad(log_, N, &head, (size_t)i);
        }
    }
    /* The sequence number too (renumbering is reordering). */
    build();
    log_[4].seq = 5;
    expect_bad(log_, N, &head, 4);
}

static void test_dropped_and_reordered(void **state)
{
    (void)state;
    for (int i = 0; i < N - 1; i++) {
        build();
        struct audit_record copy[N];
        memcpy(copy, log_, sizeof(copy));
        memmove(&copy[i], &copy[i + 1], (size_t)(N - 1 - i) * sizeof(copy[0]));
        expect_bad(copy, N - 1, &head, (size_t)i); /* dropped */
        memcpy(copy, log_, sizeof(copy));
        struct audit_record t = copy[i];
        copy[i] = copy[i + 1];
        copy[i + 1] = t;
        expect_bad(copy, N, &head, (size_t)i); /* swapped with the next */
    }
    /* Swapped with renumbered sequence numbers: the links still break at the first. */
    build();
    struct audit_record copy[N];
    memcpy(copy, log_, sizeof(copy));
    copy[2] = log_[5];
    copy[5] = log_[2];
    copy[2].seq = 2;
    copy[5].seq = 5;
    expect_bad(copy, N, &head, 2);
}

static void test_truncation(void **state)
{
    (void)state;
    build();
    /* Tail cut: only the checkpoint can tell; the missing part starts at the new length. */
    size_t bad = 999;
    assert_int_equal(audit_verify(log_, N - 3, NULL, NULL, &bad), IOTSEC_OK);
    expect_bad(log_, N - 3, &head, N - 3);
    expect_bad(log_, 0, &head, 0);
    /* Head cut, the rest presented as a whole log from genesis. */
    expect_bad(log_ + 2, N - 2, &head, 0);
    /* Head cut and the chain rehashed from the zero hash, keeping the records' numbers: the
     * links hold, the numbering shows the cut at once. */
    struct audit_record copy[N];
    struct audit_anchor forged = {.seq = 2};
    memcpy(copy, log_ + 2, (N - 2) * sizeof(copy[0]));
    for (int i = 0; i < N - 2; i++)
        assert_int_equal(audit_append(&forged, &copy[i]), IOTSEC_OK);
    assert_int_equal(audit_verify(copy, N - 2, NULL, NULL, &bad), IOTSEC_ERR_AUTH);
    assert_int_equal(bad, 0);
    /* Head cut and the chain rebuilt from genesis with renumbered records (an attacker who
     * can rewrite the whole file): consistent in itself, refused against the checkpoint. */
    forged = (struct audit_anchor){0};
    memcpy(copy, log_ + 2, (N - 2) * sizeof(copy[0]));
    for (int i = 0; i < N - 2; i++)
        assert_int_equal(audit_append(&forged, &copy[i]), IOTSEC_OK);
    assert_int_equal(audit_verify(copy, N - 2, NULL, NULL, &bad), IOTSEC_OK);
    expect_bad(copy, N - 2, &head, N - 2);
    /* The same length rewritten (one record replaced, the rest rehashed): the checkpoint's
     * last record is where it shows. */
    memcpy(copy, log_, sizeof(copy));
    forged = (struct audit_anchor){0};
    copy[3].reason = "forged";
    for (int i = 0; i < N; i++)
        assert_int_equal(audit_append(&forged, &copy[i]), IOTSEC_OK);
    expect_bad(copy, N, &head, N - 1);
}

/* SHA-256(prev || u64 seq || i64 time || u8 allow || (u32 len || bytes) x 5), by hand. */
static void test_encoding_independent(void **state)
{
    (void)state;
    build();
    uint8_t buf[512], h[32];
    size_t n = 0;
    memcpy(buf, log_[0].hash, 32);
    n = 32;
    const struct audit_record *r = &log_[1];
    for (int i = 7; i >= 0; i--)
        buf[n++] = (uint8_t)(r->seq >> (8 * i));
    for (int i = 7; i >= 0; i--)
        buf[n++] = (uint8_t)((uint64_t)r->time_ms >> (8 * i));
    buf[n++] = r->allow;
    const char *f[] = {r->principal, r->action, r->resource, r->reason, r->request_id};
    for (int i = 0; i < 5; i++) {
        size_t l = strlen(f[i]);
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = (uint8_t)(l >> 8);
        buf[n++] = (uint8_t)l;
        memcpy(buf + n, f[i], l);
        n += l;
    }
    unsigned int hl;
    EVP_Digest(buf, n, h, &hl, EVP_sha256(), NULL);
    assert_memory_equal(h, r->hash, 32);
    /* Moving text across a field boundary changes the hash (length prefixes). */
    struct audit_record a = *r, b = *r;
    a.action = "ab";
    a.resource = "c";
    b.action = "a";
    b.resource = "bc";
    uint8_t ha[32], hb[32];
    assert_int_equal(audit_record_hash(log_[0].hash, &a, ha), IOTSEC_OK);
    assert_int_equal(audit_record_hash(log_[0].hash, &b, hb), IOTSEC_OK);
    assert_memory_not_equal(ha, hb, 32);
}

static void test_bad_records(void **state)
{
    (void)state;
    build();
    struct audit_record r = log_[0];
    uint8_t h[32];
    r.reason = NULL;
    assert_int_equal(audit_record_hash(h, &r, h), IOTSEC_ERR_INVALID);
    char *big = calloc(1, AUDIT_FIELD_MAX + 2);
    memset(big, 'x', AUDIT_FIELD_MAX + 1);
    r.reason = big;
    assert_int_equal(audit_record_hash(h, &r, h), IOTSEC_ERR_INVALID);
    big[AUDIT_FIELD_MAX] = '\0';
    assert_int_equal(audit_record_hash(h, &r, h), IOTSEC_OK);
    struct audit_anchor a = head;
    r.reason = NULL;
    assert_int_equal(audit_append(&a, &r), IOTSEC_ERR_INVALID);
    assert_memory_equal(&a, &head, sizeof(a)); /* the head did not move */
    log_[5].request_id = NULL;
    size_t bad = 999;
    assert_int_equal(audit_verify(log_, N, NULL, NULL, &bad), IOTSEC_ERR_INVALID);
    assert_int_equal(bad, 5);
    assert_int_equal(audit_verify(NULL, 1, NULL, NULL, &bad), IOTSEC_ERR_INVALID);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_verifies),        cmocka_unit_test(test_any_field_altered),
        cmocka_unit_test(test_dropped_and_reordered), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_encoding_independent),  cmocka_unit_test(test_bad_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
