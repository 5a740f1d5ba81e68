/* X25519 for the onboarding envelope. A private EVP_PKEY built from raw bytes already holds
 * its public key (OpenSSL computes it on import), so the server's seal gets its ephemeral
 * public key and the shared secret from one key object: two scalar multiplications, the
 * minimum. */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/rand.h"

int prov_x25519_keygen(uint8_t priv[PROV_X25519_LEN], uint8_t pub[PROV_X25519_LEN])
{
    /* Any 32 bytes are a valid X25519 scalar once clamped (RFC 7748 §5). */
    if (crypto_random(priv, PROV_X25519_LEN) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, PROV_X25519_LEN);
    size_t len = PROV_X25519_LEN;
    int ok =
        pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == PROV_X25519_LEN;
    EVP_PKEY_free(pkey);
    if (!ok) {
        secure_wipe(priv, PROV_X25519_LEN);
        ERR_clear_error();
        return IOTSEC_ERR_CRYPTO;
    }
    return IOTSEC_OK;
}

static int derive(EVP_PKEY *mine, const uint8_t peer_pub[PROV_X25519_LEN],
                  uint8_t z[PROV_X25519_LEN])
{
    EVP_PKEY *peer =
        EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub, PROV_X25519_LEN);
    EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL) : NULL;
    size_t z_len = PROV_X25519_LEN;
    int rc = IOTSEC_ERR_NOMEM;
    if (ctx != NULL) {
        rc = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1
                 ? IOTSEC_OK
                 : IOTSEC_ERR_CRYPTO;
        /* OpenSSL refuses the all-zero secret a small-order peer key would give. */
        if (rc == IOTSEC_OK && (EVP_PKEY_derive(ctx, z, &z_len) != 1 || z_len != PROV_X25519_LEN))
            rc = IOTSEC_ERR_INVALID;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    return rc;
}

int prov_x25519_shared(const uint8_t priv[PROV_X25519_LEN], const uint8_t peer_pub[PROV_X25519_LEN],
                       uint8_t z[PROV_X25519_LEN], uint8_t my_pub[PROV_X25519_LEN])
{
    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, PROV_X25519_LEN);
    if (mine == NULL) {
        ERR_clear_error();
        return IOTSEC_ERR_CRYPTO;
    }
    size_t len = PROV_X25519_LEN;
    int rc = IOTSEC_OK;
    if (my_pub != NULL &&
        (EVP_PKEY_get_raw_public_key(mine, my_pub, &len) != 1 || len != PROV_X25519_LEN))
        rc = IOTSEC_ERR_CRYPTO;
    if (rc == IOTSEC_OK)
        rc = derive(mine, peer_pub, z);
    EVP_PKEY_free(mine); /* OpenSSL cleanses the private key data */
    if (rc != IOTSEC_OK) {
        secure_wipe(z, PROV_X25519_LEN);
        ERR_clear_error();
    }
    return rc;
}
