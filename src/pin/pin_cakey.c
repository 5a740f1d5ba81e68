/* Per-PIN CA keys, opened once. Every PINE authentication signs its decision with the PIN's CA
 * key; unsealing the seed (AES-GCM under the KEK) and deriving the Ed25519 key (a scalar
 * multiplication) per request cost a third of the authentication's crypto. The opened key is
 * kept here, bounded, per instance:
 *
 * - an entry is keyed by the PIN id AND its CA public key as read from the store with the
 *   request, so a PIN deleted and recreated (another CA) never signs with a stale key, and a
 *   deleted PIN's entry is harmless (the request is refused before it would sign);
 * - the seed is wiped as soon as the key is derived; the private key lives only inside the
 *   EVP_PKEY (OpenSSL cleanses it when freed);
 * - signing happens under the read lock, so an eviction never frees a key in use;
 * - full table: every entry is dropped (rare: one entry per PIN actively authenticating). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "pin/pin_int.h"

struct cakey {
    char pin_id[PIN_ID_MAX + 1];
    uint8_t ca_pub[PIN_PUB_LEN];
    struct prov_sign_key *key; /* NULL: free slot */
};

struct pin_cakeys {
    pthread_rwlock_t lock;
    size_t cap, used;
    struct cakey *slots; /* open addressing, linear probing */
    atomic_ullong opened;
};

static size_t hash_of(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int pin_cakeys_new(size_t max, struct pin_cakeys **out)
{
    *out = NULL;
    struct pin_cakeys *c = calloc(1, sizeof(*c));
    size_t cap = 16;
    while (cap < 2 * max)
        cap *= 2;
    if (c == NULL || (c->slots = calloc(cap, sizeof(*c->slots))) == NULL) {
        free(c);
        return IOTSEC_ERR_NOMEM;
    }
    c->cap = cap;
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return IOTSEC_OK;
}

static void drop_all(struct pin_cakeys *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        prov_sign_key_free(c->slots[i].key);
        memset(&c->slots[i], 0, sizeof(c->slots[i]));
    }
    c->used = 0;
}

void pin_cakeys_free(struct pin_cakeys *c)
{
    if (c == NULL)
        return;
    drop_all(c);
    pthread_rwlock_destroy(&c->lock);
    free(c->slots);
    free(c);
}

/* The slot of (pin_id, ca_pub), or the free slot where it would go; NULL when the table has
 * neither (full). Called under a lock. */
static struct cakey *find(struct pin_cakeys *c, const char *pin_id,
                          const uint8_t ca_pub[PIN_PUB_LEN])
{
    size_t mask = c->cap - 1, i = hash_of(pin_id) & mask;
    for (size_t n = 0; n < c->cap; n++, i = (i + 1) & mask) {
        struct cakey *e = &c->slots[i];
        if (e->key == NULL ||
            (strcmp(e->pin_id, pin_id) == 0 && memcmp(e->ca_pub, ca_pub, PIN_PUB_LEN) == 0))
            return e;
    }
    return NULL;
}

static int sign_with(struct cakey *e, const uint8_t *msg, size_t len, uint8_t sig[PIN_SIG_LEN])
{
    return prov_ed25519_sign(e->key, msg, len, sig);
}

/* Opens the PIN's CA key from its sealed seed (AAD: the PIN id), checking that it is the key
 * whose public half the store holds. */
static int open_key(const struct seal_kek *kek, const struct pin_net *n, struct prov_sign_key **out)
{
    uint8_t seed[PIN_KEY_LEN], pub[PIN_PUB_LEN];
    int rc = unseal(kek, n->pin_id, strlen(n->pin_id), n->ca_sealed, sizeof(n->ca_sealed), seed);
    if (rc == IOTSEC_OK)
        rc = prov_sign_key_new(seed, out);
    secure_wipe(seed, sizeof(seed));
    if (rc == IOTSEC_OK) {
        prov_sign_key_public(*out, pub);
        if (memcmp(pub, n->ca_pub, PIN_PUB_LEN) != 0) {
            prov_sign_key_free(*out);
            *out = NULL;
            rc = IOTSEC_ERR_CRYPTO;
        }
    }
    return rc;
}

int pin_ca_sign(struct pin *p, const struct pin_net *n, const uint8_t *msg, size_t len,
                uint8_t sig[PIN_SIG_LEN])
{
    struct pin_cakeys *c = p->cakeys;
    pthread_rwlock_rdlock(&c->lock);
    struct cakey *e = find(c, n->pin_id, n->ca_pub);
    if (e != NULL && e->key != NULL) {
        int rc = sign_with(e, msg, len, sig);
        pthread_rwlock_unlock(&c->lock);
        return rc;
    }
    pthread_rwlock_unlock(&c->lock);
    /* a miss: open outside the lock, then insert (another thread may have won the race) */
    struct prov_sign_key *key = NULL;
    int rc = open_key(p->kek, n, &key);
    if (rc != IOTSEC_OK)
        return rc;
    atomic_fetch_add(&c->opened, 1);
    pthread_rwlock_wrlock(&c->lock);
    if (c->used + 1 > c->cap / 2)
        drop_all(c);
    e = find(c, n->pin_id, n->ca_pub);
    if (e->key == NULL) {
        snprintf(e->pin_id, sizeof(e->pin_id), "%s", n->pin_id);
        memcpy(e->ca_pub, n->ca_pub, PIN_PUB_LEN);
        e->key = key;
        key = NULL;
        c->used++;
    }
    rc = sign_with(e, msg, len, sig);
    pthread_rwlock_unlock(&c->lock);
    prov_sign_key_free(key);
    return rc;
}

uint64_t pin_cakeys_opened(const struct pin *p)
{
    return atomic_load(&p->cakeys->opened);
}
