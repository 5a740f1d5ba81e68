/* The login rate limiter, per instance and in memory: a token bucket per client address. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"

#define BUCKETS 1024

struct bucket {
    char address[64]; /* host only: a client's ports change */
    double tokens;
    int64_t at;
};

struct console_limiter {
    pthread_mutex_t mu;
    unsigned burst, per_s;
    struct bucket b[BUCKETS];
};

struct console_limiter *console_limiter_new(unsigned burst, unsigned per_s)
{
    struct console_limiter *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->burst = burst ? burst : 20;
    l->per_s = per_s ? per_s : 3;
    return l;
}

void console_limiter_free(struct console_limiter *l)
{
    if (l) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

static void host_of(const char *address, char out[64])
{
    snprintf(out, 64, "%s", address ? address : "");
    char *colon = strrchr(out, ':'); /* "1.2.3.4:5000", "[::1]:5000" */
    if (colon)
        *colon = '\0';
}

bool console_limiter_take(struct console_limiter *l, const char *address, int64_t now)
{
    char host[64];
    host_of(address, host);
    uint64_t h = 1469598103934665603ull; /* FNV-1a: which bucket; collisions share one */
    for (const char *p = host; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    pthread_mutex_lock(&l->mu);
    struct bucket *b = &l->b[h % BUCKETS];
    if (strcmp(b->address, host) != 0) {
        snprintf(b->address, sizeof(b->address), "%s", host);
        b->tokens = l->burst;
        b->at = now;
    }
    b->tokens += (double)(now - b->at) / l->per_s;
    if (b->tokens > l->burst)
        b->tokens = l->burst;
    b->at = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&l->mu);
    return ok;
}
