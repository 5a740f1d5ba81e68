/* ECIES for SUCI (TS 33.501 Annex C.3), private to src/crypto: suci.c and the unit tests are
 * its only users. Profile A is X25519, Profile B is P-256; both then use the ANSI X9.63 KDF
 * with SHA-256 (SharedInfo1 = the ephemeral public key, compressed for Profile B), AES-128-CTR
 * and an HMAC-SHA-256 tag truncated to 8 bytes. Scheme output = EphPub || Ciphertext || MAC. */
#ifndef IOTSEC_CRYPTO_SUCI_ECIES_H
#define IOTSEC_CRYPTO_SUCI_ECIES_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/suci.h"

#define ECIES_SHARED_LEN    32
#define ECIES_ENC_KEY_LEN   16
#define ECIES_ICB_LEN       16
#define ECIES_MAC_KEY_LEN   32
#define ECIES_PLAINTEXT_MAX SUPI_VALUE_MAX
#define ECIES_OUTPUT_MAX    (SUCI_PUBLIC_KEY_MAX + ECIES_PLAINTEXT_MAX + SUCI_MAC_LEN)

/* IOTSEC_OK when priv is a valid private key for the profile (Profile B: 0 < d < n),
 * IOTSEC_ERR_INVALID otherwise (also for a scheme that is not a profile). */
int ecies_check_private_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN]);

/* The public key of priv: 32 bytes for Profile A; 33 (compressed) or, with uncompressed set,
 * 65 bytes for Profile B. */
int ecies_public_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                     int uncompressed, uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len);

/* ECDH: Z = X25519(priv, peer) or the x-coordinate of priv * peer on P-256 (peer 33 or 65
 * bytes). IOTSEC_ERR_INVALID for a peer key that is not a valid point. */
int ecies_shared_secret(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                        const uint8_t *peer, size_t peer_len, uint8_t z[ECIES_SHARED_LEN]);

/* The X9.63 KDF of C.3.4: 64 bytes from Z and SharedInfo1 = eph_pub (the compressed form for
 * Profile B), split as EncKey || ICB || MacKey. */
void ecies_kdf(const uint8_t z[ECIES_SHARED_LEN], const uint8_t *eph_pub, size_t eph_pub_len,
               uint8_t enc_key[ECIES_ENC_KEY_LEN], uint8_t icb[ECIES_ICB_LEN],
               uint8_t mac_key[ECIES_MAC_KEY_LEN]);

/* UE side: writes EphPub || Ciphertext || MAC for plaintext pt into out (out_max bytes).
 * hn_pub is 32 bytes (A) or 33/65 bytes (B); the ephemeral key goes out compressed for B
 * unless eph_uncompressed is set. */
int ecies_encrypt(enum suci_scheme scheme, const uint8_t *hn_pub, size_t hn_pub_len,
                  const uint8_t eph_priv[SUCI_PRIVATE_KEY_LEN], int eph_uncompressed,
                  const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len);

/* A home-network private key made ready for decryption (the costly set-up done once). It is
 * only read by ecies_decrypt(), so one key may serve all threads at once. */
struct ecies_hn_key;

int ecies_hn_key_new(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                     struct ecies_hn_key **out);
void ecies_hn_key_free(struct ecies_hn_key *key); /* wipes the key; NULL is a no-op */

/* IOTSEC_OK when in has the shape of a scheme output for the profile: an ephemeral key of
 * the profile's sizes (Profile B: 02/03 + 32 bytes or 04 + 64 bytes), 1..ECIES_PLAINTEXT_MAX
 * bytes of ciphertext and the MAC; IOTSEC_ERR_INVALID otherwise. Checks sizes only. */
int ecies_check_output(enum suci_scheme scheme, const uint8_t *in, size_t in_len);

/* Network side: checks the MAC of a scheme output and decrypts it into pt (pt_max bytes).
 * Returns IOTSEC_OK, IOTSEC_ERR_INVALID (malformed, or an ephemeral key that is not a valid
 * point), IOTSEC_ERR_AUTH (the MAC does not verify), IOTSEC_ERR_NOMEM or IOTSEC_ERR_CRYPTO. */
int ecies_decrypt(const struct ecies_hn_key *key, const uint8_t *in, size_t in_len, uint8_t *pt,
                  size_t pt_max, size_t *pt_len);

/* Frees the calling thread's scratch objects (they are also freed when the thread exits). */
void ecies_thread_cleanup(void);

#endif
