/* The keyset: which keys verify, which one signs, and the JWKS that publishes them. Rotation
 * is "add a new signing key, keep the old one verifying until its last tokens expire, then
 * remove it". Readers take a reference to an EVP_PKEY under a read lock and work without it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "expose/expose_int.h"

struct jwt_keyset {
    pthread_rwlock_t lock;
    struct jwt_key *keys[JWT_KEYSET_MAX];
    size_t n;
    struct jwt_key *current; /* one of keys[], or NULL */
};

int jwt_keyset_new(struct jwt_keyset **out)
{
    struct jwt_keyset *ks = calloc(1, sizeof(*ks));
    if (ks == NULL)
        return IOTSEC_ERR_NOMEM;
    if (pthread_rwlock_init(&ks->lock, NULL) != 0) {
        free(ks);
        return IOTSEC_ERR_NOMEM;
    }
    *out = ks;
    return IOTSEC_OK;
}

void jwt_keyset_free(struct jwt_keyset *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->n; i++)
        jwt_key_free(ks->keys[i]);
    pthread_rwlock_destroy(&ks->lock);
    free(ks);
}

/* Index of kid, or -1. Caller holds the lock. */
static int find(const struct jwt_keyset *ks, const char *kid)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(jwt_key_kid(ks->keys[i]), kid) == 0)
            return (int)i;
    return -1;
}

static int add_locked(struct jwt_keyset *ks, struct jwt_key *key, bool make_current)
{
    if (find(ks, jwt_key_kid(key)) >= 0)
        return IOTSEC_ERR_CONFLICT;
    if (ks->n == JWT_KEYSET_MAX)
        return IOTSEC_ERR_BUSY;
    ks->keys[ks->n++] = key;
    if (make_current)
        ks->current = key;
    return IOTSEC_OK;
}

int jwt_keyset_add(struct jwt_keyset *ks, struct jwt_key *key)
{
    if (ks == NULL || key == NULL)
        return IOTSEC_ERR_INVALID;
    pthread_rwlock_wrlock(&ks->lock);
    int rc = add_locked(ks, key, false);
    pthread_rwlock_unlock(&ks->lock);
    return rc;
}

int jwt_keyset_rotate(struct jwt_keyset *ks, struct jwt_key *key)
{
    if (ks == NULL || key == NULL || !jwt_key_is_private(key))
        return IOTSEC_ERR_INVALID;
    pthread_rwlock_wrlock(&ks->lock);
    int rc = add_locked(ks, key, true);
    pthread_rwlock_unlock(&ks->lock);
    return rc;
}

int jwt_keyset_remove(struct jwt_keyset *ks, const char *kid)
{
    if (ks == NULL || kid == NULL)
        return IOTSEC_ERR_INVALID;
    pthread_rwlock_wrlock(&ks->lock);
    int i = find(ks, kid), rc = IOTSEC_OK;
    if (i < 0) {
        rc = IOTSEC_ERR_NOTFOUND;
    } else if (ks->keys[i] == ks->current) {
        rc = IOTSEC_ERR_STATE;
    } else {
        jwt_key_free(ks->keys[i]); /* readers holding its EVP_PKEY keep their reference */
        memmove(&ks->keys[i], &ks->keys[i + 1], (ks->n - (size_t)i - 1) * sizeof(ks->keys[0]));
        ks->n--;
    }
    pthread_rwlock_unlock(&ks->lock);
    return rc;
}

int jwt_keyset_ref_verifier(struct jwt_keyset *ks, const char *kid, EVP_PKEY **pkey)
{
    int rc = IOTSEC_ERR_NOTFOUND;
    pthread_rwlock_rdlock(&ks->lock);
    int i = find(ks, kid);
    if (i >= 0) {
        *pkey = jwt_key_pkey(ks->keys[i]);
        rc = EVP_PKEY_up_ref(*pkey) ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
    }
    pthread_rwlock_unlock(&ks->lock);
    return rc;
}

int jwt_keyset_ref_signer(struct jwt_keyset *ks, char kid[JWT_KID_MAX + 1], EVP_PKEY **pkey)
{
    int rc = IOTSEC_ERR_STATE;
    pthread_rwlock_rdlock(&ks->lock);
    if (ks->current != NULL) {
        strcpy(kid, jwt_key_kid(ks->current));
        *pkey = jwt_key_pkey(ks->current);
        rc = EVP_PKEY_up_ref(*pkey) ? IOTSEC_OK : IOTSEC_ERR_CRYPTO;
    }
    pthread_rwlock_unlock(&ks->lock);
    return rc;
}

int jwt_keyset_jwks(struct jwt_keyset *ks, char **json)
{
    if (ks == NULL || json == NULL)
        return IOTSEC_ERR_INVALID;
    json_t *keys = json_array(), *doc = NULL;
    int rc = keys ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    pthread_rwlock_rdlock(&ks->lock);
    for (size_t i = 0; i < ks->n && rc == IOTSEC_OK; i++)
        rc = jwt_key_to_jwk(ks->keys[i], keys);
    pthread_rwlock_unlock(&ks->lock);
    if (rc == IOTSEC_OK && (doc = json_pack("{s:O}", "keys", keys)) == NULL)
        rc = IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK && (*json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        rc = IOTSEC_ERR_NOMEM;
    json_decref(doc);
    json_decref(keys);
    return rc;
}

int jwt_keyset_from_jwks(const char *json, size_t len, struct jwt_keyset **out)
{
    if (json == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    struct jwt_keyset *ks = NULL;
    int rc = json_is_array(keys) ? jwt_keyset_new(&ks) : IOTSEC_ERR_INVALID;
    for (size_t i = 0; rc == IOTSEC_OK && i < json_array_size(keys); i++) {
        struct jwt_key *key;
        rc = jwt_key_from_jwk(json_array_get(keys, i), &key);
        if (rc == IOTSEC_OK && (rc = jwt_keyset_add(ks, key)) != IOTSEC_OK)
            jwt_key_free(key);
    }
    json_decref(doc);
    if (rc != IOTSEC_OK) {
        jwt_keyset_free(ks);
        return rc;
    }
    *out = ks;
    return IOTSEC_OK;
}
