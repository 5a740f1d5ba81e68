/* The Personal IoT Network messages (docs/pin.md), shared by iotsecd (src/pin) and the device
 * SDK (sdk/pin.c): the key a UE derives from its subscription's K to prove PIN requests, the
 * request MAC, and the byte strings PINEs and the PIN's CA sign. Every input starts with its
 * own label and length-prefixes every field (lp(x) = u16be(len) || x), so no two messages of
 * different kinds or fields give the same bytes; a signature for one PIN, PINE, gateway or
 * nonce is worthless for any other. */
#ifndef IOTSEC_CRYPTO_PIN_CRYPTO_H
#define IOTSEC_CRYPTO_PIN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define PIN_LABEL       "iotsec-pin-v1"
#define PIN_NONCE_LEN   32
#define PIN_KEY_LEN     32
#define PIN_MAC_LEN     32
#define PIN_PUB_LEN     32 /* Ed25519 */
#define PIN_SIG_LEN     64 /* Ed25519 */
#define PIN_ID_MAX      64 /* pin ids, PINE ids, gateway ids, names */
#define PIN_MSG_MAX     1024
#define PIN_SUPI_MAX    64
#define PIN_REQUEST_MAX 8192 /* the inner JSON of one request */

/* uk = HMAC-SHA-256(K, lp(label " ue-key") || lp(supi) || u32be(cred_version)). uk is a
 * secret: wipe it after use. IOTSEC_ERR_INVALID for an empty or too long supi. */
int pin_ue_key(const uint8_t *k, size_t k_len, const char *supi, uint32_t cred_version,
               uint8_t uk[PIN_KEY_LEN]);

/* mac = HMAC-SHA-256(uk, lp(label " request") || lp(op) || lp(nonce) || lp(request)). */
int pin_request_mac(const uint8_t uk[PIN_KEY_LEN], const char *op,
                    const uint8_t nonce[PIN_NONCE_LEN], const void *request, size_t request_len,
                    uint8_t mac[PIN_MAC_LEN]);

/* IOTSEC_OK when mac is right (compared in constant time), IOTSEC_ERR_AUTH otherwise. */
int pin_request_verify(const uint8_t uk[PIN_KEY_LEN], const char *op,
                       const uint8_t nonce[PIN_NONCE_LEN], const void *request, size_t request_len,
                       const uint8_t mac[PIN_MAC_LEN]);

/* The bytes a joining PINE signs: lp(label " join") || lp(pin_id) || lp(name) || pub.
 * *len gets their length. IOTSEC_ERR_INVALID when a field is empty or too long. */
int pin_msg_join(const char *pin_id, const char *name, const uint8_t pub[PIN_PUB_LEN],
                 uint8_t out[PIN_MSG_MAX], size_t *len);

/* The bytes a PINE signs to authenticate through gateway gw_id with the server nonce:
 * lp(label " pine-auth") || lp(pin_id) || lp(pine_id) || lp(gw_id) || lp(nonce). */
int pin_msg_auth(const char *pin_id, const char *pine_id, const char *gw_id,
                 const uint8_t nonce[PIN_NONCE_LEN], uint8_t out[PIN_MSG_MAX], size_t *len);

/* The bytes the PIN's CA signs to certify a PINE's key:
 * lp(label " pine-cert") || lp(pin_id) || lp(pine_id) || pub. */
int pin_msg_cert(const char *pin_id, const char *pine_id, const uint8_t pub[PIN_PUB_LEN],
                 uint8_t out[PIN_MSG_MAX], size_t *len);

/* The bytes the PIN's CA signs over an authorisation decision (its compact JSON text as
 * sent): lp(label " decision") || lp(decision). */
int pin_msg_decision(const char *decision, size_t decision_len, uint8_t *out, size_t cap,
                     size_t *len);

/* One-time enrolment codes (docs/pin.md): a code the PINE shows, typed by its owner into the
 * PEMC. The network stores only its hash, bound to the PIN and the PINE's name:
 *   code_hash = HMAC-SHA-256(code, lp(label " enrol-code") || lp(pin_id) || lp(name))
 * and the PINE proves the code over its public key without sending it through the PEGC:
 *   proof = HMAC-SHA-256(code_hash, lp(label " join-code") || lp(pin_id) || lp(name) || pub)
 * A code is PIN_CODE_MIN..PIN_CODE_MAX characters of [A-Z2-7] (base32: 5 bits each). */
#define PIN_CODE_MIN 10
#define PIN_CODE_MAX 32
int pin_code_ok(const char *code);
int pin_code_hash(const char *code, const char *pin_id, const char *name, uint8_t out[PIN_MAC_LEN]);
int pin_code_proof(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *name,
                   const uint8_t pub[PIN_PUB_LEN], uint8_t out[PIN_MAC_LEN]);

/* PINEs without public-key crypto (docs/pin.md): a PINE that knows its one-time enrolment
 * code joins with
 *   proof = HMAC-SHA-256(code_hash, lp(label " join-sym") || lp(pin_id) || lp(name))
 * and the network answers a random salt; both sides derive the PINE's PIN-scoped key
 *   key = HMAC-SHA-256(code_hash, lp(label " pine-sym-key") || lp(pin_id) || lp(pine_id) ||
 * lp(salt)) which the relaying PEGC cannot compute (it never sees the code or its hash); the
 * network's confirm = HMAC(key, lp(label " sym-confirm") || lp(pin_id) || lp(pine_id)) tells the
 * PINE that it derived the same key (a PEGC that altered salt or pine_id is caught). Each
 * authentication is mac = HMAC(key, lp(label " pine-auth-sym") || lp(pin_id) || lp(pine_id) ||
 * lp(gw_id) || lp(nonce)), and the PINE checks its decision by HMAC(key, lp(label
 * " decision-sym") || lp(decision)) instead of the CA's signature. */
#define PIN_SALT_LEN 32
int pin_sym_join_proof(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *name,
                       uint8_t out[PIN_MAC_LEN]);
int pin_sym_key(const uint8_t code_hash[PIN_MAC_LEN], const char *pin_id, const char *pine_id,
                const uint8_t salt[PIN_SALT_LEN], uint8_t key[PIN_KEY_LEN]);
int pin_sym_confirm(const uint8_t key[PIN_KEY_LEN], const char *pin_id, const char *pine_id,
                    uint8_t out[PIN_MAC_LEN]);
int pin_sym_auth_mac(const uint8_t key[PIN_KEY_LEN], const char *pin_id, const char *pine_id,
                     const char *gw_id, const uint8_t nonce[PIN_NONCE_LEN],
                     uint8_t out[PIN_MAC_LEN]);
int pin_sym_decision_mac(const uint8_t key[PIN_KEY_LEN], const char *decision, size_t len,
                         uint8_t out[PIN_MAC_LEN]);

/* True for 1..PIN_ID_MAX bytes of visible ASCII: ids and names are logged and stored. */
int pin_id_ok(const char *s);

#endif
