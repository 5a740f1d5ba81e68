/* Where the device keeps its subscription credentials (issue 4). The onboarding and rotation
 * clients see storage only through this interface, so a secure element or a PKCS#11 token
 * can stand in for the default sealed file (cred_store_file_open below).
 *
 * A store holds a few named slots, each an opaque byte string (the onboarding client puts
 * the canonical bundle encoding of crypto/provision_crypto.h in "current", and a pending
 * rotation's nonce and bundle in "next": both hold K and OPc).
 * Slot names are short ASCII words ("current", "next"). Every put must be atomic: after a
 * crash a slot holds either its old or its new value, never a mix, and a put that returned
 * IOTSEC_OK survives a power cut. Rotation relies on this: the new bundle goes to "next",
 * is confirmed, then replaces "current"; the old one is never lost before the new one is
 * safely stored. */
#ifndef IOTSEC_SDK_CRED_STORE_H
#define IOTSEC_SDK_CRED_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CRED_SLOT_CURRENT  "current"
#define CRED_SLOT_NEXT     "next"
#define CRED_SLOT_NAME_MAX 32
#define CRED_VALUE_MAX     (64 * 1024)

struct cred_store;

struct cred_store_ops {
    /* Stores len bytes (1..CRED_VALUE_MAX) under slot, replacing any old value atomically. */
    int (*put)(struct cred_store *s, const char *slot, const uint8_t *data, size_t len);
    /* Reads slot into out (out_max bytes); *len gets its length. IOTSEC_ERR_NOTFOUND when the
     * slot is empty, IOTSEC_ERR_AUTH when its content was altered (never returned then),
     * IOTSEC_ERR_INVALID when out_max is too small. */
    int (*get)(struct cred_store *s, const char *slot, uint8_t *out, size_t out_max, size_t *len);
    /* Destroys slot's value (IOTSEC_OK when it was already empty). */
    int (*erase)(struct cred_store *s, const char *slot);
    /* Wipes the store's own secrets and frees it. */
    void (*close)(struct cred_store *s);
};

/* Implementations embed this as their first member. */
struct cred_store {
    const struct cred_store_ops *ops;
};

static inline int cred_put(struct cred_store *s, const char *slot, const uint8_t *d, size_t n)
{
    return s->ops->put(s, slot, d, n);
}
static inline int cred_get(struct cred_store *s, const char *slot, uint8_t *out, size_t max,
                           size_t *n)
{
    return s->ops->get(s, slot, out, max, n);
}
static inline int cred_erase(struct cred_store *s, const char *slot)
{
    return s->ops->erase(s, slot);
}
static inline void cred_close(struct cred_store *s)
{
    if (s)
        s->ops->close(s);
}

/* The default store: one file per slot in dir, "<dir>/<slot>.cred", AES-256-GCM under the
 * device-local key (crypto/seal.h; the AAD binds each file to its slot name, so files cannot
 * be swapped), written to a temporary file, fsync'ed, renamed over the old one, the directory
 * fsync'ed; mode 0600. key: 32 bytes (copied; the caller wipes its copy). dir must exist. */
int cred_store_file_open(const char *dir, const uint8_t key[32], struct cred_store **out);

#endif
