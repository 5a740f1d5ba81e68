/* Internals shared by the files of src/expose and its unit tests; not for other capabilities. */
#ifndef IOTSEC_EXPOSE_INT_H
#define IOTSEC_EXPOSE_INT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/b64url.h"
#include "expose/expose.h"

/* The key's OpenSSL object (borrowed). */
EVP_PKEY *jwt_key_pkey(const struct jwt_key *key);

/* True for a kid of 1..JWT_KID_MAX characters of [A-Za-z0-9._-]. */
bool jwt_kid_valid(const char *kid);

/* Parses one JWK object into a public key. */
int jwt_key_from_jwk(const json_t *jwk, struct jwt_key **out);

/* Appends the key's JWK to a jansson array. */
int jwt_key_to_jwk(const struct jwt_key *key, json_t *array);

/* Signs "b64url(header).b64url(payload)" with key, whatever the header and payload say: the
 * building block of jwt_sign(), and how the tests craft hostile but validly signed tokens. */
int jwt_sign_compact(const struct jwt_key *key, const char *header, size_t header_len,
                     const char *payload, size_t payload_len, char **token);

/* Keyset lookups: a new reference to the key's EVP_PKEY (EVP_PKEY_free() it), so the caller
 * may use it after a concurrent removal. */
int jwt_keyset_ref_verifier(struct jwt_keyset *ks, const char *kid, EVP_PKEY **pkey);
int jwt_keyset_ref_signer(struct jwt_keyset *ks, char kid[JWT_KID_MAX + 1], EVP_PKEY **pkey);

/* Step 4 of verification: the claims of a token whose signature verified. */
enum jwt_reason jwt_check_claims(const json_t *claims, const struct jwt_expect *ex,
                                 struct jwt_verified *out);

#endif
