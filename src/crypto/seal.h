/* Secrets at rest: AES-256-GCM envelopes under a key-encryption key (KEK). The caller's AAD
 * binds each envelope to its row (identity, column, version) so envelopes cannot be swapped
 * between rows or replayed across versions. An envelope is
 *   version(1) || kek id(1) || nonce(12) || ciphertext || tag(16)
 * with a random nonce per envelope. Version 2 (written since KEK rotation) authenticates the
 * two header bytes too (GCM AAD = version || kek id || caller's AAD), so the key id an envelope
 * names cannot be altered; version 1 envelopes (the same layout, header not authenticated)
 * still open.
 *
 * A KEK ring (several KEKs by id, one of them current) is used through a seal_kek handle whose
 * `ring` is set: seal() then seals under the ring's current KEK and unseal() opens under the
 * KEK the envelope names, so code holding a `const struct seal_kek *` needs no change. */
#ifndef IOTSEC_CRYPTO_SEAL_H
#define IOTSEC_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEK_LEN  32
#define SEAL_OVERHEAD (1 + 1 + 12 + 16)
#define SEAL_VERSION  2 /* written; 1 is still opened */
#define SEAL_KEK_IDS  256

struct seal_ring;

/* A KEK with its id (so that envelopes name the KEK they were made under, for rotation). */
struct seal_kek {
    uint8_t id;
    uint8_t key[SEAL_KEK_LEN];
    /* Held for the process lifetime (seal_kek_load sets it): its AES-GCM key schedule then
     * stays set up in each thread's cipher context between calls, which makes a seal or an
     * unseal about 3x cheaper. Leave false for a short-lived key (a data key): its schedule is
     * overwritten after every call. */
    bool resident;
    /* A short-lived key that is itself sealed under a resident key (a data key under the KEK):
     * anyone who could read its schedule from this process's memory could read the KEK, so
     * its schedule is not overwritten after each call (it stays in the thread's context until
     * the next short-lived key replaces it, and is cleansed when the thread exits). */
    bool under_resident;
    /* Non-NULL: this is a handle on a ring (key and id unused): see above. */
    struct seal_ring *ring;
};

/* The KEK id an envelope names (0 for one too short to be an envelope). */
static inline uint8_t seal_env_kek_id(const uint8_t *env, size_t env_len)
{
    return env_len >= SEAL_OVERHEAD ? env[1] : 0;
}

/* Seals pt into out, which must hold pt_len + SEAL_OVERHEAD bytes. */
int seal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *pt,
         size_t pt_len, uint8_t *out);

/* Opens an envelope into pt (env_len - SEAL_OVERHEAD bytes). Returns IOTSEC_ERR_AUTH when
 * the tag does not verify (wrong KEK, wrong AAD, altered envelope: pt is then zeroed),
 * IOTSEC_ERR_INVALID for a malformed envelope, IOTSEC_ERR_NOTFOUND when made under another
 * KEK id. */
int unseal(const struct seal_kek *kek, const void *aad, size_t aad_len, const uint8_t *env,
           size_t env_len, uint8_t *pt);

/* Reads a KEK file: 64 hex digits (and an optional newline). Refuses a file that group or
 * others may read or write (IOTSEC_ERR_STATE), as DESIGN.md requires. */
int seal_kek_load(const char *path, uint8_t id, struct seal_kek *kek);

/* Creates a new KEK file with mode 0600 (fails if it exists). */
int seal_kek_create(const char *path);

void seal_kek_wipe(struct seal_kek *kek);

/* A ring of KEKs by id (1..SEAL_KEK_IDS-1), safe to read from any thread while one thread
 * adds, retires or switches the current key. Keys are copied in; a retired key's bytes are
 * zeroised at once and its slot emptied. */
struct seal_ring *seal_ring_new(void);
void seal_ring_free(struct seal_ring *r);                           /* zeroises every key */
int seal_ring_add(struct seal_ring *r, const struct seal_kek *kek); /* CONFLICT: id taken */
bool seal_ring_has(const struct seal_ring *r, uint8_t id);
int seal_ring_set_current(struct seal_ring *r, uint8_t id); /* NOTFOUND: not held */
uint8_t seal_ring_current(const struct seal_ring *r);
void seal_ring_retire(struct seal_ring *r, uint8_t id); /* not the current one */
/* The handle that seals under the current KEK and opens under any held one. */
struct seal_kek seal_ring_handle(struct seal_ring *r);
/* The id new envelopes made through kek (a plain key or a ring handle) name. */
uint8_t seal_kek_current_id(const struct seal_kek *kek);

#endif
