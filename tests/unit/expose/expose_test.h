/* Helpers for the token tests: a fixture keyset, good claims, and an independent ES256 signer
 * (OpenSSL's EVP_DigestSign plus its own r||s conversion) to craft hostile, validly signed
 * tokens byte by byte. */
#ifndef IOTSEC_TEST_EXPOSE_H
#define IOTSEC_TEST_EXPOSE_H

#include <jansson.h>
#include <openssl/evp.h>

#include "expose/expose.h"

#define T_NOW INT64_C(1750000000)
#define T_ISS "https://iotsec.operator.example"
#define T_AUD "3gpp-monitoring-event"
#define T_AF  "af-0001"

extern const uint8_t t_cert[], t_other_cert[];
extern const size_t t_cert_len, t_other_cert_len;

/* Thumbprint of t_cert. */
void t_thumb(uint8_t out[JWT_X5T_LEN]);

/* Claims an AF's token would carry, valid at T_NOW for an hour, bound to t_cert. */
struct jwt_claims t_claims(void);

/* The same as a JSON object, for tests that break one member. */
json_t *t_claims_json(void);

/* What a resource server expects at T_NOW for a connection presenting t_cert. */
struct jwt_expect t_expect(const uint8_t thumb[JWT_X5T_LEN]);

/* base64url (unpadded) of bytes; malloc'd. */
char *t_b64(const void *data, size_t len);

/* ES256 over the ASCII signing input, computed independently of src/expose; malloc'd
 * "input.signature". */
char *t_sign_input(EVP_PKEY *pkey, const char *input);

/* Signs header and claims texts (any bytes) with t_sign_input. */
char *t_sign_texts(EVP_PKEY *pkey, const char *header, const char *payload);

/* Signs a header text and a claims object. */
char *t_sign_json(EVP_PKEY *pkey, const char *header, json_t *claims);

/* Verifies with the fixture expectations; returns the reason. */
enum jwt_reason t_verify(struct jwt_keyset *ks, const char *token);

#endif
