#include <stdlib.h>
#include <string.h>

#include "sim.h"

size_t sim_body_collect(char *ptr, size_t size, size_t n, void *body)
{
    struct sim_body *b = body;
    char *p = realloc(b->data, b->len + size * n + 1);
    if (!p)
        return 0; /* libcurl then fails the transfer */
    memcpy(p + b->len, ptr, size * n);
    b->data = p;
    b->len += size * n;
    p[b->len] = '\0';
    return size * n;
}
