/* Sealing a credential under its own data key (sub_dek.h). */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "subscriber/sub_dek.h"

/* The DEK's AAD: bound to the subscription and credential version it protects, so a DEK row
 * cannot be moved to another subscription or version. */
static size_t dek_aad(const struct supi *supi, uint32_t version, char *buf, size_t len)
{
    return sub_aad(supi, "dek", version, buf, len);
}

size_t subscriber_dek_aad(const char *supi_text, int64_t version, char *aad, size_t cap)
{
    struct supi supi;
    if (supi_parse(supi_text, &supi) != IOTSEC_OK || version < 0 || version > UINT32_MAX)
        return 0;
    return dek_aad(&supi, (uint32_t)version, aad, cap);
}

int sub_cred_seal(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                  const struct sub_keys *keys, uint8_t cred[SUB_CRED_SEALED_LEN],
                  uint8_t dek[SUB_DEK_SEALED_LEN])
{
    char aad[SUPI_STRING_MAX + 64];
    struct seal_kek data_key = {.id = SUB_DEK_ID, .under_resident = kek->resident};
    uint8_t plain[SUB_CRED_PLAIN_LEN];
    int rc = crypto_random(data_key.key, sizeof(data_key.key));
    if (rc == IOTSEC_OK) {
        size_t aad_len = dek_aad(supi, version, aad, sizeof(aad));
        rc = seal(kek, aad, aad_len, data_key.key, sizeof(data_key.key), dek);
    }
    if (rc == IOTSEC_OK) {
        memcpy(plain, keys->k, 16);
        memcpy(plain + 16, keys->opc, 16);
        size_t aad_len = sub_keys_aad(supi, version, aad, sizeof(aad));
        rc = seal(&data_key, aad, aad_len, plain, sizeof(plain), cred);
    }
    secure_wipe(plain, sizeof(plain));
    seal_kek_wipe(&data_key);
    return rc;
}

int sub_dek_open(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                 const uint8_t *dek, size_t dek_len, struct seal_kek *data_key)
{
    char aad[SUPI_STRING_MAX + 64];
    size_t aad_len = dek_aad(supi, version, aad, sizeof(aad));
    data_key->id = SUB_DEK_ID;
    data_key->resident = false;
    data_key->under_resident = kek->resident; /* see seal.h */
    data_key->ring = NULL;
    int rc = dek_len == SUB_DEK_SEALED_LEN ? unseal(kek, aad, aad_len, dek, dek_len, data_key->key)
                                           : IOTSEC_ERR_AUTH;
    return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_ERR_AUTH : rc;
}

int sub_cred_open(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                  const uint8_t *cred, size_t cred_len, const uint8_t *dek, size_t dek_len,
                  struct sub_keys *keys)
{
    char aad[SUPI_STRING_MAX + 64];
    struct seal_kek data_key = {.id = SUB_DEK_ID, .under_resident = kek->resident};
    const struct seal_kek *opener = kek; /* a credential sealed before DEKs */
    uint8_t plain[SUB_CRED_PLAIN_LEN];
    int rc = cred_len == SUB_CRED_SEALED_LEN ? IOTSEC_OK : IOTSEC_ERR_AUTH;
    if (rc == IOTSEC_OK && dek != NULL) {
        rc = sub_dek_open(kek, supi, version, dek, dek_len, &data_key);
        opener = &data_key;
    }
    if (rc == IOTSEC_OK) {
        size_t aad_len = sub_keys_aad(supi, version, aad, sizeof(aad));
        rc = unseal(opener, aad, aad_len, cred, cred_len, plain);
    }
    if (rc == IOTSEC_OK) {
        memcpy(keys->k, plain, 16);
        memcpy(keys->opc, plain + 16, 16);
    } else {
        secure_wipe(keys, sizeof(*keys));
        if (rc == IOTSEC_ERR_NOTFOUND) /* an envelope under another key id: not this row's */
            rc = IOTSEC_ERR_AUTH;
    }
    secure_wipe(plain, sizeof(plain));
    seal_kek_wipe(&data_key);
    return rc;
}
