/* Per-request allocations (header strings, parameters, the answer's headers) come from an
 * arena that starts inside the request struct; a request that outgrows it chains malloc'd
 * chunks, and everything is released at once when the request ends. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

struct arena_chunk {
    struct arena_chunk *next;
    max_align_t data[];
};

void harena_init(struct arena *a, void *inline_mem, size_t size)
{
    a->pos = inline_mem;
    a->end = a->pos + size;
    a->chunks = NULL;
}

/* align: a power of two; strings take 1, structs alignof(max_align_t). */
static void *arena_take(struct arena *a, size_t n, size_t align)
{
    size_t pad = (align - ((uintptr_t)a->pos & (align - 1))) & (align - 1);
    if (n <= (size_t)(a->end - a->pos) && pad <= (size_t)(a->end - a->pos) - n) {
        char *p = a->pos + pad;
        a->pos = p + n;
        return p;
    }
    size_t size = n > 4096 ? n : 4096;
    if (size > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    char *p = (char *)c->data;
    a->pos = p + n;
    a->end = p + size;
    return p;
}

void *harena_alloc(struct arena *a, size_t n)
{
    return arena_take(a, n, alignof(max_align_t));
}

char *harena_chars(struct arena *a, size_t n)
{
    return arena_take(a, n, 1);
}

char *harena_strndup(struct arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = arena_take(a, n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void harena_free(struct arena *a)
{
    struct arena_chunk *c = a->chunks;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->pos = a->end = NULL;
}
