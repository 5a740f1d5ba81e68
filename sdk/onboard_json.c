/* The few codecs the device needs for its messages: a bounded scanner that finds one member
 * of a flat JSON object (base64url is base/b64url.h). No allocation, no recursion: safe on any input. */
#include <string.h>

#include "base/err.h"
#include "onboard.h"

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
