/* JSON Web Signatures in compact form (RFC 7515), the part every token format shares: split,
 * strict base64url, strict JSON header, algorithm check, signature. What the claims mean is
 * the caller's business (src/expose: RFC 9068 AF tokens; src/nrf: TS 29.510 NRF tokens).
 *
 * The key decides the algorithm, never the token: a P-256 key verifies ES256 only, an RSA key
 * RS256 only, so "none", HS256 keyed with a public key, or RS256 against an EC key are
 * refused before any signature check. */
#ifndef IOTSEC_JOSE_JWS_H
#define IOTSEC_JOSE_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWS_MAX_TOKEN 8192 /* longer tokens are refused unread */
#define JWS_KID_MAX   64

enum jws_alg { JWS_ALG_NONE = 0, JWS_ES256, JWS_RS256 };

/* The algorithm a key may verify or sign: ES256 for P-256, RS256 for RSA of 2048 bits or more,
 * JWS_ALG_NONE for anything else (such a key is unusable). */
enum jws_alg jws_key_alg(EVP_PKEY *pkey);
const char *jws_alg_name(enum jws_alg alg);

/* Why a JWS was refused (or JWS_R_OK). Never contains token data, safe to log. */
enum jws_reason {
    JWS_R_OK = 0,
    JWS_R_TOO_LARGE,      /* over the caller's maximum */
    JWS_R_MALFORMED,      /* not three dot-separated parts */
    JWS_R_BASE64,         /* not canonical unpadded base64url */
    JWS_R_JSON,           /* header or payload not a strict JSON object */
    JWS_R_JSON_DUPLICATE, /* a member name appears twice */
    JWS_R_ALG,            /* alg is not the one of the selected key */
    JWS_R_TYP,            /* typ not among the accepted ones */
    JWS_R_CRIT,           /* crit present: no extension is understood */
    JWS_R_KID,            /* kid missing (when required), malformed or unknown */
    JWS_R_SIG_FORMAT,     /* ES256 signature not 64 bytes r||s */
    JWS_R_SIGNATURE,      /* signature does not verify */
    JWS_R_INTERNAL,       /* memory or crypto library failure */
};
const char *jws_reason_str(enum jws_reason r);

/* Finds the verification key for a token's kid (NULL when the header has none). Returns a new
 * reference (the caller frees it) or NULL when no key matches. */
typedef EVP_PKEY *(*jws_key_lookup_fn)(void *ctx, const char *kid);

struct jws_rules {
    size_t max_len;         /* 0: JWS_MAX_TOKEN */
    const char *const *typ; /* NULL-terminated list of accepted typ (case-insensitive);
                             * NULL: typ may be absent or anything */
    bool kid_required;
    jws_key_lookup_fn lookup;
    void *lookup_ctx;
};

/* Verifies token (len bytes, need not be NUL-terminated). On JWS_R_OK, *payload gets the
 * payload as a strict JSON object (the caller json_decref()s it) and kid (JWS_KID_MAX + 1
 * bytes, may be NULL) the header's kid or "". Nothing of the payload is decoded before the
 * signature verified. */
enum jws_reason jws_verify(const char *token, size_t len, const struct jws_rules *rules, char *kid,
                           json_t **payload);

/* Decodes b64url of len chars into a strict JSON object (duplicates refused). */
enum jws_reason jws_decode_json(const char *b64, size_t len, json_t **out);

/* Signs "b64url(header).b64url(payload)" with pkey (ES256 or RS256 after its type), whatever
 * header and payload say: the building block of token issuers and of tests that craft hostile
 * but validly signed tokens. *token is malloc'd. */
int jws_sign(EVP_PKEY *pkey, const char *header, size_t header_len, const char *payload,
             size_t payload_len, char **token);

/* ECDSA P-256 signature forms: JOSE's fixed 64-byte r||s and the DER OpenSSL speaks. */
#define JWS_P256_LEN 32
#define JWS_DER_MAX  72
int jws_sig_to_der(const uint8_t rs[2 * JWS_P256_LEN], uint8_t *der, size_t *der_len);
int jws_sig_from_der(const uint8_t *der, size_t der_len, uint8_t rs[2 * JWS_P256_LEN]);

/* Reads a PEM public key (SubjectPublicKeyInfo) or the public key of a PEM certificate.
 * IOTSEC_ERR_NOTFOUND, IOTSEC_ERR_INVALID (unreadable, or not usable by jws_key_alg). */
int jws_key_load_pem(const char *path, EVP_PKEY **out);

#endif
