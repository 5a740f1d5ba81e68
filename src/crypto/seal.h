/* Secrets at rest: AES-256-GCM envelopes under a key-encryption key (KEK). The caller's AAD
 * binds each envelope to its row (identity, column, version) so envelopes cannot be swapped
 * between rows or replayed across versions. An envelope is
 *   version(1) || kek id(1) || nonce(12) || ciphertext || tag(16)
 * with a random nonce per envelope. */
#ifndef IOTSEC_CRYPTO_SEAL_H
#define IOTSEC_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEK_LEN  32
#define SEAL_OVERHEAD (1 + 1 + 12 + 16)
#define SEAL_VERSION  1

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
};

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

#endif
