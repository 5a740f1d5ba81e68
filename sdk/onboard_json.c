/* The few codecs the device needs for its messages: base64url and a bounded scanner that
 * finds one member of a flat JSON object. No allocation, no recursion: safe on any input. */
#include <string.h>

#include "base/err.h"
#include "onboard.h"

static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64u_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void b64u_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64U[v >> 18 & 63];
        out[o++] = B64U[v >> 12 & 63];
        out[o++] = B64U[v >> 6 & 63];
        out[o++] = B64U[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = B64U[v >> 18 & 63];
        out[o++] = B64U[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = B64U[v >> 18 & 63];
        out[o++] = B64U[v >> 12 & 63];
        out[o++] = B64U[v >> 6 & 63];
    }
    out[o] = '\0';
}

static int b64u_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int b64u_decode(const char *in, size_t n, uint8_t *out, size_t max, size_t *out_len)
{
    *out_len = 0;
    if (n % 4 == 1)
        return IOTSEC_ERR_INVALID;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > max)
        return IOTSEC_ERR_INVALID;
    uint32_t acc = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64u_value(in[i]);
        if (v < 0)
            return IOTSEC_ERR_INVALID;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        if (acc & 0xf) /* non-canonical: bits beyond the last byte */
            return IOTSEC_ERR_INVALID;
        out[o++] = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        if (acc & 0x3)
            return IOTSEC_ERR_INVALID;
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *out_len = o;
    return IOTSEC_OK;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* i at an opening quote: returns the index just past the closing quote, or len+1 if none. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
        else if ((unsigned char)s[i] < 0x20)
            return len + 1;
    }
    return len + 1;
}

/* Skips any value starting at i (nested containers by counting brackets outside strings).
 * Returns the index past it, or len+1 when malformed. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return len + 1;
    if (s[i] == '"')
        return skip_string(s, len, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, len, i);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return len + 1;
    }
    size_t start = i;
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
           s[i] != '\r' && s[i] != '\t')
        i++;
    return i > start ? i : len + 1;
}

int json_member(const char *body, size_t len, const char *key, const char **val, size_t *val_len,
                bool *is_string)
{
    size_t klen = strlen(key);
    const char *found = NULL;
    size_t found_len = 0;
    bool found_str = false;
    *val = NULL;
    *val_len = 0;
    *is_string = false;
    if (!body)
        return IOTSEC_ERR_INVALID;
    size_t i = skip_ws(body, len, 0);
    if (i >= len || body[i] != '{')
        return IOTSEC_ERR_INVALID;
    i = skip_ws(body, len, i + 1);
    if (i < len && body[i] == '}')
        return skip_ws(body, len, i + 1) == len ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_INVALID;
    /* The whole object is scanned, so a truncated or trailing-garbage answer is refused
     * even when the member itself arrived whole, and a duplicate member is refused. */
    while (i < len) {
        if (body[i] != '"')
            return IOTSEC_ERR_INVALID;
        size_t kstart = i + 1, kend = skip_string(body, len, i);
        if (kend > len)
            return IOTSEC_ERR_INVALID;
        bool match = kend - 1 - kstart == klen && memcmp(body + kstart, key, klen) == 0;
        i = skip_ws(body, len, kend);
        if (i >= len || body[i] != ':')
            return IOTSEC_ERR_INVALID;
        i = skip_ws(body, len, i + 1);
        size_t vend = skip_value(body, len, i);
        if (vend > len)
            return IOTSEC_ERR_INVALID;
        if (match) {
            if (found)
                return IOTSEC_ERR_INVALID;
            found_str = body[i] == '"';
            found = body + i + (found_str ? 1 : 0);
            found_len = vend - i - (found_str ? 2 : 0);
        }
        i = skip_ws(body, len, vend);
        if (i < len && body[i] == ',') {
            i = skip_ws(body, len, i + 1);
        } else if (i < len && body[i] == '}') {
            if (skip_ws(body, len, i + 1) != len)
                return IOTSEC_ERR_INVALID;
            if (!found)
                return IOTSEC_ERR_NOTFOUND;
            *val = found;
            *val_len = found_len;
            *is_string = found_str;
            return IOTSEC_OK;
        } else {
            return IOTSEC_ERR_INVALID;
        }
    }
    return IOTSEC_ERR_INVALID;
}
