#include "base/hex.h"

#include <string.h>

#include "base/err.h"

/* Value of one hex digit, or -1. Branch-free over the character so that decoding a key does
 * not leak its digits through timing. */
static int hex_digit_value(unsigned char c)
{
    int digit = (int)c - '0';
    int lower = (int)(c | 0x20) - 'a';
    int is_digit = ((digit >= 0) & (digit <= 9));
    int is_alpha = ((lower >= 0) & (lower <= 5));
    int m_digit = -is_digit, m_alpha = -is_alpha;
    int m_none = ~(m_digit | m_alpha);
    return (digit & m_digit) | ((lower + 10) & m_alpha) | (-1 & m_none);
}

static int decode_digits(const char *hex, uint8_t *out, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit_value((unsigned char)hex[2 * i]);
        int lo = hex_digit_value((unsigned char)hex[2 * i + 1]);
        bad |= (hi | lo) < 0;
        /* On a bad digit the value is -1: mask before shifting (shifting a negative is UB). */
        out[i] = (uint8_t)(((unsigned)(hi & 0xf) << 4) | (unsigned)(lo & 0xf));
    }
    if (bad) {
        memset(out, 0, n);
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

int hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    if (hex == NULL || strlen(hex) != 2 * out_len) {
        memset(out, 0, out_len);
        return IOTSEC_ERR_INVALID;
    }
    return decode_digits(hex, out, out_len);
}

int hex_decode_var(const char *hex, uint8_t *out, size_t max, size_t *out_len)
{
    *out_len = 0;
    if (hex == NULL)
        return IOTSEC_ERR_INVALID;
    size_t digits = strlen(hex);
    if (digits % 2 != 0 || digits / 2 > max)
        return IOTSEC_ERR_INVALID;
    int rc = decode_digits(hex, out, digits / 2);
    if (rc == IOTSEC_OK)
        *out_len = digits / 2;
    return rc;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
