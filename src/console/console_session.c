/* Console sessions and the login rate limiter, in memory: a restart logs everyone out, which
 * is the safe direction. The table is keyed by SHA-256 of the token, so a memory dump shows no
 * usable cookie, and the lookup compares in constant time. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "console/console.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

struct slot {
    bool used;
    uint8_t key[32]; /* SHA-256 of the token */
    struct console_session s;
};

struct console_sessions {
    pthread_mutex_t mu;
    unsigned idle_s, absolute_s;
    struct slot slots[CONSOLE_SESSIONS_MAX];
};

struct console_sessions *console_sessions_new(unsigned idle_s, unsigned absolute_s)
{
    struct console_sessions *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->idle_s = idle_s ? idle_s : 900;
    s->absolute_s = absolute_s ? absolute_s : 28800;
    return s;
}

void console_sessions_free(struct console_sessions *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    secure_wipe(s, sizeof(*s));
    free(s);
}

static void token_key(const char *token, uint8_t key[32])
{
    unsigned len = 0;
    EVP_Digest(token, strlen(token), key, &len, EVP_sha256(), NULL);
}

static void random_token(char out[CONSOLE_TOKEN_LEN + 1])
{
    uint8_t r[32];
    crypto_random(r, sizeof(r));
    b64url_encode(r, sizeof(r), out);
    secure_wipe(r, sizeof(r));
}

int console_session_open(struct console_sessions *s, const char *name, int64_t now,
                         char token[CONSOLE_TOKEN_LEN + 1], struct console_session *out)
{
    random_token(token);
    pthread_mutex_lock(&s->mu);
    struct slot *pick = NULL;
    for (unsigned i = 0; i < CONSOLE_SESSIONS_MAX; i++) {
        struct slot *sl = &s->slots[i];
        bool dead =
            !sl->used || now - sl->s.last_seen >= s->idle_s || now - sl->s.created >= s->absolute_s;
        if (dead) {
            pick = sl;
            break;
        }
        if (pick == NULL || sl->s.last_seen < pick->s.last_seen)
            pick = sl; /* the least recently used, if every slot is live */
    }
    memset(pick, 0, sizeof(*pick));
    pick->used = true;
    token_key(token, pick->key);
    snprintf(pick->s.name, sizeof(pick->s.name), "%s", name);
    random_token(pick->s.csrf);
    pick->s.created = pick->s.last_seen = now;
    *out = pick->s;
    pthread_mutex_unlock(&s->mu);
    return IOTSEC_OK;
}

static struct slot *find(struct console_sessions *s, const char *token)
{
    uint8_t key[32];
    token_key(token, key);
    struct slot *hit = NULL;
    for (unsigned i = 0; i < CONSOLE_SESSIONS_MAX; i++)
        if (s->slots[i].used && CRYPTO_memcmp(s->slots[i].key, key, 32) == 0)
            hit = &s->slots[i];
    return hit;
}

int console_session_get(struct console_sessions *s, const char *token, int64_t now,
                        struct console_session *out)
{
    if (token == NULL || strlen(token) != CONSOLE_TOKEN_LEN)
        return IOTSEC_ERR_NOTFOUND;
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s, token);
    int rc = IOTSEC_ERR_NOTFOUND;
    if (sl && (now - sl->s.last_seen >= s->idle_s || now - sl->s.created >= s->absolute_s))
        memset(sl, 0, sizeof(*sl)); /* expired: gone for good */
    else if (sl) {
        sl->s.last_seen = now;
        *out = sl->s;
        rc = IOTSEC_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void console_session_close(struct console_sessions *s, const char *token)
{
    if (token == NULL || strlen(token) != CONSOLE_TOKEN_LEN)
        return;
    pthread_mutex_lock(&s->mu);
    struct slot *sl = find(s, token);
    if (sl)
        memset(sl, 0, sizeof(*sl));
    pthread_mutex_unlock(&s->mu);
}

/* ---- login rate limit ---- */

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
