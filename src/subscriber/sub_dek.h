/* Per-credential data keys (DEKs): the crypto-erase that does not depend on the database
 * engine overwriting anything. Inside the subscriber capability only.
 *
 * Each credential version of a subscription (K || OPc) is sealed under a DEK of its own, a
 * random AES-256 key; the DEK is sealed under the KEK and stored in its own table,
 * subscription_deks (dek_supi, dek_version, dek), one small row that is written once and
 * never updated. Destroying that row makes every copy of the sealed credential useless,
 * wherever copies remain: old row versions of `subscriptions` (PostgreSQL writes a new one at
 * each SQN reservation), WAL, backups. A credential sealed before DEKs existed (no DEK row)
 * opens under the KEK directly until the conversion (subscriber_dek_convert) has sealed it
 * anew. */
#ifndef IOTSEC_SUBSCRIBER_SUB_DEK_H
#define IOTSEC_SUBSCRIBER_SUB_DEK_H

#include "subscriber/subscriber.h"

/* The key id written into an envelope sealed under a DEK (the KEK's id is 1). */
#define SUB_DEK_ID 0xD5

/* Seals keys as credential version `version` of supi under a fresh DEK, and the DEK under kek
 * (AAD: supi, version). */
int sub_cred_seal(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                  const struct sub_keys *keys, uint8_t cred[SUB_CRED_SEALED_LEN],
                  uint8_t dek[SUB_DEK_SEALED_LEN]);

/* Opens the sealed DEK of credential `version` of supi into data_key (wipe after use).
 * IOTSEC_ERR_AUTH when it does not open under kek for that subscription and version. */
int sub_dek_open(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                 const uint8_t *dek, size_t dek_len, struct seal_kek *data_key);

/* Opens a sealed credential: under its DEK (dek non-NULL, dek_len bytes, itself opened under
 * kek), or, for a credential sealed before DEKs (dek NULL), under kek directly. IOTSEC_ERR_AUTH
 * when anything does not open (wrong KEK, tampered or swapped row); keys are then zeroed. */
int sub_cred_open(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                  const uint8_t *cred, size_t cred_len, const uint8_t *dek, size_t dek_len,
                  struct sub_keys *keys);

#endif
