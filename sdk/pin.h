/* libiotsec-device, Personal IoT Networks (docs/pin.md): what a PEMC, a PEGC and a PINE run.
 * No transport and no JSON library here: callers post the envelopes with any HTTPS client
 * (onboard_http_post does) and PINEs talk to their PEGC over any local link.
 *
 *  - A UE in a PIN role (PEMC or PEGC) proves each request with a key derived from its
 *    subscription's K (pin_ue_*): the envelope {supi, nonce, request, mac}.
 *  - A PINE holds an Ed25519 key (pin_pine_*): it signs its join and each authentication,
 *    and verifies the decision with its PIN's CA key.
 *  - A PEGC keeps one small entry per authenticated PINE (pin_pegc_*) and relays a packet only
 *    under a valid, recently re-checked decision. */
#ifndef IOTSEC_SDK_PIN_H
#define IOTSEC_SDK_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/pin_crypto.h"

struct pin_ue {
    char supi[PIN_SUPI_MAX + 1];
    uint8_t uk[PIN_KEY_LEN]; /* secret: pin_ue_wipe */
};

int pin_ue_init(struct pin_ue *u, const char *supi, const uint8_t *k, size_t k_len,
                uint32_t cred_version);
void pin_ue_wipe(struct pin_ue *u);

/* The envelope for op with the server nonce and the inner request JSON: malloc'd text. */
int pin_ue_envelope(const struct pin_ue *u, const char *op, const uint8_t nonce[PIN_NONCE_LEN],
                    const char *request, size_t request_len, char **out, size_t *out_len);

/* The nonce of a /device/v1/pin/nonce answer. */
int pin_parse_nonce(const char *body, size_t len, uint8_t nonce[PIN_NONCE_LEN]);

struct prov_sign_key;
struct pin_pine_key {
    uint8_t seed[32]; /* secret: never leaves the PINE */
    uint8_t pub[PIN_PUB_LEN];
    struct prov_sign_key *sk; /* the opened key (pin_pine_open), or NULL: opened per signature */
};

int pin_pine_keygen(struct pin_pine_key *k);
/* Keeps the key opened for the next signatures (a PINE that signs often saves the Ed25519
 * key derivation each time); pin_pine_wipe closes it. */
int pin_pine_open(struct pin_pine_key *k);
void pin_pine_wipe(struct pin_pine_key *k);
/* The join request its PEGC relays: {"pin_id","name","public_key","signature"} into out. */
int pin_pine_join_request(const struct pin_pine_key *k, const char *pin_id, const char *name,
                          char *out, size_t cap);
/* A one-time enrolment code for the PINE to show (its owner types it into the PEMC): 12
 * characters of [A-Z2-7], 60 random bits, NUL-terminated. */
int pin_pine_code_new(char code[13]);
/* The join request with a proof of the code over the PINE's key (code_proof); the code itself
 * is not in it, so the PEGC that relays it cannot learn or reuse it. */
int pin_pine_join_code_request(const struct pin_pine_key *k, const char *pin_id, const char *name,
                               const char *code, char *out, size_t cap);
/* The PINE's signature for one authentication through gateway gw_id with nonce. */
int pin_pine_auth_sig(const struct pin_pine_key *k, const char *pin_id, const char *pine_id,
                      const char *gw_id, const uint8_t nonce[PIN_NONCE_LEN],
                      uint8_t sig[PIN_SIG_LEN]);
/* IOTSEC_OK when sig is the PIN CA's signature of the decision text. */
int pin_decision_verify(const uint8_t ca_pub[PIN_PUB_LEN], const char *decision, size_t len,
                        const uint8_t sig[PIN_SIG_LEN]);

/* ---- A PINE without public-key crypto (sdk/pin_sym.c): HMAC-SHA-256 only ---- */

/* Its PIN-scoped MAC key, derived at join from its one-time enrolment code and the network's
 * salt (docs/pin.md): the relaying PEGC sees neither the code nor the key. */
struct pin_sym_pine {
    char pin_id[PIN_ID_MAX + 1];
    char name[PIN_ID_MAX + 1];
    char pine_id[PIN_ID_MAX + 1];   /* set by pin_sym_pine_accept */
    uint8_t code_hash[PIN_MAC_LEN]; /* secret, until the join is accepted (then wiped) */
    uint8_t key[PIN_KEY_LEN];       /* secret: pin_sym_pine_wipe */
};

/* The join its PEGC relays: {"pin_id","name","credential":"symmetric","code_proof"}. */
int pin_sym_join_request(struct pin_sym_pine *p, const char *pin_id, const char *name,
                         const char *code, char *out, size_t cap);
/* Takes the network's 201 answer (pine_id, salt, confirm): derives the key and checks the
 * network's confirmation of it (IOTSEC_ERR_AUTH: a PEGC altered the answer). */
int pin_sym_pine_accept(struct pin_sym_pine *p, const char *answer, size_t len);
/* The authentication its PEGC relays for gateway gw_id and the server nonce:
 * {"pin_id","pine_id","mac"}. */
int pin_sym_auth_request(const struct pin_sym_pine *p, const char *gw_id,
                         const uint8_t nonce[PIN_NONCE_LEN], char *out, size_t cap);
/* IOTSEC_OK when the answer's pine_mac is this PINE's key's MAC over the decision text. */
int pin_sym_decision_check(const struct pin_sym_pine *p, const char *answer, size_t len);
void pin_sym_pine_wipe(struct pin_sym_pine *p);

/* ---- PEGC: the decisions it enforces ---- */

#define PIN_PEGC_DNNS 4

#define PIN_PEGC_DNN_LEN 32

/* One authenticated PINE: 176 bytes. DNNs are kept whole (a hash would let a PINE pick a
 * colliding name); a DNN of 32 characters or more is not relayed by this table. */
struct pin_pegc_entry {
    char pine_id[22]; /* "pine-" + 16 hex */
    uint16_t qos_class;
    char dnns[PIN_PEGC_DNNS][PIN_PEGC_DNN_LEN]; /* the allowed DNNs ("": none) */
    int64_t expires_at;                         /* unix seconds */
    int64_t checked_ms;                         /* last time the network said yes */
};

struct pin_pegc {
    char pin_id[PIN_ID_MAX + 1];
    char gw_id[PIN_ID_MAX + 1];
    uint8_t ca_pub[PIN_PUB_LEN];
    int64_t recheck_ms; /* ask the network again after this long (default 1000) */
    struct pin_pegc_entry *entries;
    size_t n, cap;
};

int pin_pegc_init(struct pin_pegc *g, const char *pin_id, const char *gw_id,
                  const uint8_t ca_pub[PIN_PUB_LEN], size_t cap);
void pin_pegc_free(struct pin_pegc *g);

/* Takes the network's answer to an authentication ({"decision": text, "signature"}) for the
 * nonce this PEGC sent: verifies the CA's signature and that the decision names this PIN, this
 * gateway and that nonce, then stores the PINE's entry. IOTSEC_ERR_AUTH on any mismatch. */
int pin_pegc_accept(struct pin_pegc *g, const char *answer, size_t len,
                    const uint8_t nonce[PIN_NONCE_LEN], int64_t now_ms);

/* Asks the network whether pine_id may still send (the `check` operation): true if yes. */
typedef bool (*pin_check_fn)(void *ctx, const char *pine_id);

/* Whether to relay one packet of pine_id to dnn now: needs an entry, unexpired, the DNN
 * allowed, and (past recheck_ms since the last yes) the network's yes; a no drops the entry. */
bool pin_pegc_forward(struct pin_pegc *g, const char *pine_id, const char *dnn, int64_t now_ms,
                      pin_check_fn check, void *ctx);
void pin_pegc_drop(struct pin_pegc *g, const char *pine_id);

#endif
