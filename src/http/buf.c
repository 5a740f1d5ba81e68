/* A byte buffer consumed from the front: connection output and HTTP/1.1 input. Space at
 * the front is reclaimed by moving the unread bytes down only when the end is full, so a
 * buffer that is drained as fast as it fills never moves a byte. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/http_int.h"

int hbuf_reserve(struct http_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return IOTSEC_OK;
    size_t used = hbuf_size(b);
    if (b->off > 0 && b->cap - used >= n) {
        memmove(b->data, b->data + b->off, used);
        b->off = 0;
        b->len = used;
        return IOTSEC_OK;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - used < n) {
        if (cap > SIZE_MAX / 2)
            return IOTSEC_ERR_NOMEM;
        cap *= 2;
    }
    char *p = malloc(cap);
    if (!p)
        return IOTSEC_ERR_NOMEM;
    if (used)
        memcpy(p, b->data + b->off, used);
    free(b->data);
    b->data = p;
    b->off = 0;
    b->len = used;
    b->cap = cap;
    return IOTSEC_OK;
}

int hbuf_append(struct http_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return IOTSEC_OK;
    int rc = hbuf_reserve(b, n);
    if (rc != IOTSEC_OK)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return IOTSEC_OK;
}

void hbuf_consume(struct http_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void hbuf_free(struct http_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
