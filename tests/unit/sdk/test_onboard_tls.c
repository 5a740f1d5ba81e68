/* The OpenSSL transport's answer head parser (sdk/onboard_tls.c): the heads the device face
 * sends, Retry-After in its forms, connection reuse, and malformed or hostile heads refused
 * without a crash (the transport itself runs against the real daemon in test_sim_fleet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/rand.h"
#include "onboard_tls.h"

static int parse(const char *head, long *st, size_t *cl, uint32_t *ra, bool *reuse)
{
    return onboard_http_head_parse(head, st, cl, ra, reuse);
}

static void test_good_heads(void **state)
{
    (void)state;
    long st;
    size_t cl;
    uint32_t ra;
    bool reuse;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 12\r\n",
                           &st, &cl, &ra, &reuse),
                     IOTSEC_OK);
    assert_int_equal(st, 200);
    assert_int_equal(cl, 12);
    assert_int_equal(ra, 0);
    assert_true(reuse);
    assert_int_equal(parse("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n"
                           "retry-after:7\r\n",
                           &st, &cl, &ra, &reuse),
                     IOTSEC_OK);
    assert_int_equal(st, 429);
    assert_int_equal(ra, 7);
    assert_int_equal(parse("HTTP/1.1 503 Busy\r\nRetry-After: 99999999\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n",
                           &st, &cl, &ra, &reuse),
                     IOTSEC_OK);
    assert_int_equal(ra, 86400); /* a hostile Retry-After is capped */
    assert_false(reuse);
    assert_int_equal(parse("HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n"
                           "Content-Length: 2\r\n",
                           &st, &cl, &ra, &reuse),
                     IOTSEC_OK);
    assert_int_equal(ra, 0); /* an HTTP date: treated as absent, the backoff decides */
    assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n", &st, &cl, &ra, &reuse),
                     IOTSEC_OK);
    assert_false(reuse); /* HTTP/1.0 closes */
}

static void test_bad_heads(void **state)
{
    (void)state;
    long st;
    size_t cl;
    uint32_t ra;
    bool reuse;
    const char *bad[] = {
        "",
        "HTTP/2 200\r\nContent-Length: 1\r\n",
        "HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n",
        "HTTP/1.1 099 x\r\nContent-Length: 1\r\n",
        "HTTP/1.1 abc\r\nContent-Length: 1\r\n",
        "HTTP/1.1 200 OK\r\n", /* no Content-Length */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 262145\r\n", /* above 256 KiB */
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n",
        "SSH-2.0-OpenSSH\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], &st, &cl, &ra, &reuse), IOTSEC_ERR_INVALID);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", &st, &cl, &ra, &reuse),
        IOTSEC_ERR_UNSUPPORTED);
}

static void test_random_heads_never_crash(void **state)
{
    (void)state;
    const char *alphabet = "HTP/1. 0239\r\n:ContetLngh-RryAfclose";
    size_t an = strlen(alphabet);
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(i % 200);
        char *h = malloc(n + 1);
        uint8_t r[200];
        crypto_random(r, n);
        for (size_t j = 0; j < n; j++)
            h[j] = i % 2 ? (char)(r[j] % 255 + 1) : alphabet[r[j] % an];
        h[n] = '\0';
        if (i % 3 == 0 && n > 9)
            memcpy(h, "HTTP/1.1 ", 9);
        long st;
        size_t cl;
        uint32_t ra;
        bool reuse;
        if (parse(h, &st, &cl, &ra, &reuse) == IOTSEC_OK) {
            assert_true(st >= 100 && st <= 599);
            assert_true(cl <= 256 * 1024);
            assert_true(ra <= 86400);
        }
        free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_heads),
        cmocka_unit_test(test_bad_heads),
        cmocka_unit_test(test_random_heads_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
