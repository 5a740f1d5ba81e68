/* Secrets at rest: AES-256-GCM envelopes under a key-encryption key (KEK). The caller's AAD
 * binds each envelope to its row (identity, column, version) so envelopes cannot be swapped
 * between rows or replayed across versions. An envelope is
 *   version(1) || kek id(1) || nonce(12) || ciphertext || tag(16)
 * with a random nonce per envelope. */
#ifndef IOTSEC_CRYPTO_SEAL_H
#define IOTSEC_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEK_LEN 32
#define SEAL_OVERHEAD (1 + 1 + 12 + 16)
#define SEAL_VERSION 1

/* A KEK with its id (so that envelopes name the KEK they were made under, for rotation). */
struct seal_kek {
    uint8_t id;
    uint8_t key[SEAL_KEK_LEN];
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
