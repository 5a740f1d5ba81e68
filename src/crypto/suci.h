/* SUCI (TS 33.501 §6.12 and Annex C; TS 23.003 §2.2B): the SUPI concealed for the home
 * network with the null scheme or ECIES Profile A (X25519) / Profile B (P-256), in the SBI
 * string form of TS 29.571 (SupiOrSuci):
 *   suci-0-<mcc>-<mnc>-<routing indicator>-<scheme>-<key id>-<scheme output>   (IMSI)
 *   suci-1-<realm>-<routing indicator>-<scheme>-<key id>-<scheme output>       (NAI)
 * Scheme output for the profiles: hex of EphemeralPublicKey || Ciphertext || MAC tag (8).
 * Null scheme: the MSIN digits for an IMSI, the hex of the username for an NAI; key id 0.
 * Hex is written in lower case and read in either. Parsing takes the fixed fields from the
 * right, so realms may contain '-'. The MCC, MNC and realm travel in clear and, as in
 * TS 33.501 C.3, are not covered by the MAC. */
#ifndef IOTSEC_CRYPTO_SUCI_H
#define IOTSEC_CRYPTO_SUCI_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/supi.h"

enum suci_scheme { SUCI_SCHEME_NULL = 0, SUCI_SCHEME_PROFILE_A = 1, SUCI_SCHEME_PROFILE_B = 2 };

/* Longest SUCI plus its NUL: a 253-octet NAI (1-octet realm) under Profile B with an
 * uncompressed ephemeral key and a 4-digit routing indicator is 668 characters. */
#define SUCI_STRING_MAX       672
#define SUCI_PRIVATE_KEY_LEN  32
#define SUCI_PUBLIC_KEY_A_LEN 32 /* X25519 */
#define SUCI_PUBLIC_KEY_B_LEN 33 /* P-256, compressed */
#define SUCI_PUBLIC_KEY_MAX   65 /* P-256, uncompressed */
#define SUCI_MAC_LEN          8

/* Parses a scheme name as the CLI and config take it: "null", "A", "B" (any case). */
int suci_scheme_parse(const char *name, enum suci_scheme *out);

/* Creates a home-network key pair for a profile: priv gets 32 bytes, pub the public key
 * (32 bytes for Profile A, 33 compressed for Profile B); *pub_len its length. */
int suci_generate_key_pair(enum suci_scheme scheme, uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                           uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len);

/* Computes the public key of a home-network private key (same sizes as above). */
int suci_public_key(enum suci_scheme scheme, const uint8_t priv[SUCI_PRIVATE_KEY_LEN],
                    uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len);

/* What the device needs to conceal its SUPI. */
struct suci_conceal_params {
    enum suci_scheme scheme;
    uint8_t key_id;               /* 0 for the null scheme, 1..255 for the profiles */
    const uint8_t *hn_public_key; /* Profile A: 32 bytes; B: 33 or 65 bytes; null: unused */
    size_t hn_public_key_len;
    const char *routing_indicator; /* 1..4 digits; NULL means "0" */
    int mnc_length;                /* IMSI: 2 or 3; 0 = supi_default_mnc_length() */
};

/* Device side: conceals supi with a fresh ephemeral key into the SBI string form.
 * Returns IOTSEC_OK, IOTSEC_ERR_INVALID (bad parameters, buffer too small) or
 * IOTSEC_ERR_CRYPTO. */
int suci_conceal(const struct supi *supi, const struct suci_conceal_params *params, char *out,
                 size_t out_len);

/* The same with a given ephemeral private key (32 bytes; unused, and may be NULL, for the
 * null scheme): deterministic, for test vectors. The ephemeral public key in the output is
 * compressed for Profile B unless eph_uncompressed is set (a UE may send either; TS 33.501
 * C.3.4.2). */
int suci_conceal_with_ephemeral(const struct supi *supi, const struct suci_conceal_params *params,
                                const uint8_t eph_private_key[SUCI_PRIVATE_KEY_LEN],
                                int eph_uncompressed, char *out, size_t out_len);

/* The home network's private keys, by (scheme, key id). Read-only once built: one keyring
 * may be shared by all threads. Owns copies of the keys; suci_keyring_free() wipes them. */
struct suci_keyring;

struct suci_keyring *suci_keyring_new(void);
void suci_keyring_free(struct suci_keyring *kr);

/* Adds a private key for Profile A or B under key id 1..255 (the keyring has room for every
 * such pair). Returns IOTSEC_ERR_INVALID for a bad key, scheme or key id, or a (scheme, key id)
 * pair already present; IOTSEC_ERR_NOMEM when out of memory. */
int suci_keyring_add(struct suci_keyring *kr, enum suci_scheme scheme, uint8_t key_id,
                     const uint8_t priv[SUCI_PRIVATE_KEY_LEN]);

/* Network side: de-conceals a SUCI string into the SUPI (*out is zeroed on any error).
 * kr may be NULL when no profile keys are held: null-scheme SUCIs need none.
 * Returns IOTSEC_OK, IOTSEC_ERR_INVALID (malformed SUCI, an ephemeral key that is not a
 * point, a plaintext that is not an MSIN or username), IOTSEC_ERR_NOTFOUND (no key for its
 * scheme and key id), IOTSEC_ERR_AUTH (MAC tag does not verify: tampered or wrong key),
 * IOTSEC_ERR_UNSUPPORTED (a well-formed SUCI of an unknown protection scheme or of a SUPI type
 * other than IMSI and NAI), IOTSEC_ERR_NOMEM or IOTSEC_ERR_CRYPTO. Malformed input is
 * reported as INVALID before any key is looked up. Thread-safe: each thread keeps a few
 * OpenSSL objects for it, freed when the thread exits. */
int suci_deconceal(const struct suci_keyring *kr, const char *suci, struct supi *out);

/* Parses a SUCI string without any cryptography and tells its protection scheme and home
 * network key id (to pick or report the key). Returns IOTSEC_OK, IOTSEC_ERR_INVALID or
 * IOTSEC_ERR_UNSUPPORTED, as suci_deconceal would for the string's form. */
int suci_peek(const char *suci, enum suci_scheme *scheme, uint8_t *key_id);

#endif
