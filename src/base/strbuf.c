#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static int reserve(struct strbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return IOTSEC_OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL)
        return IOTSEC_ERR_NOMEM;
    b->data = grown;
    b->cap = cap;
    return IOTSEC_OK;
}

int strbuf_append(struct strbuf *b, const char *s, size_t len)
{
    if (reserve(b, len) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return IOTSEC_OK;
}

int strbuf_appendf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return IOTSEC_OK;
}

int strbuf_append_json_str(struct strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (reserve(b, 6 * n + 2) != IOTSEC_OK) /* the worst case: every byte \u00XX */
        return IOTSEC_ERR_NOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else
            *o++ = (char)c;
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return IOTSEC_OK;
}

void strbuf_free(struct strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
