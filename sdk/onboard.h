/* The device's zero-touch onboarding and rotation client (issue 4; the messages are those of
 * docs/provisioning.md, the cryptography crypto/provision_crypto.h).
 *
 * Three layers, so a constrained device keeps only what it needs:
 *   - this header's message functions (onboard.c, onboard_json.c): pure, no I/O; they build
 *     request bodies and check answers;
 *   - a transport (struct onboard_transport): how bodies reach the device face. The libcurl
 *     one is onboard_http.h; a gateway relay is gateway.h; a device on a serial link to its
 *     gateway would write its own;
 *   - storage (cred_store.h).
 * onboard_run and rotate_run drive the whole flow over a transport with retries.
 *
 * Retries are idempotent: an attempt keeps its nonce and ephemeral key, so re-sending after a
 * lost answer gets the same envelope and never a second subscription. */
#ifndef IOTSEC_SDK_ONBOARD_H
#define IOTSEC_SDK_ONBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/b64url.h"
#include "cred_store.h"
#include "crypto/provision_crypto.h"

/* How the device proves what it is (docs/provisioning.md, "attestation"). */
enum onboard_attest {
    ONBOARD_ATTEST_TLS,         /* factory certificate in the TLS handshake (direct only) */
    ONBOARD_ATTEST_DERIVED_KEY, /* MAC under HMAC-SHA-256(group_key, registration_id) */
    ONBOARD_ATTEST_X509_SIG,    /* factory key's signature in the body (works through a relay) */
};

/* Signs msg with the factory private key (ECDSA DER over SHA-256, or Ed25519): a secure
 * element may do it. *sig_len gets the signature's length. IOTSEC_OK or an error. */
typedef int (*onboard_sign_fn)(void *user, const uint8_t *msg, size_t len, uint8_t *sig,
                               size_t sig_max, size_t *sig_len);

struct onboard_device {
    char reg_id[PROV_REG_ID_MAX + 1];
    enum onboard_attest attest;
    uint8_t device_key[PROV_KEY_LEN]; /* derived-key only: a secret, wiped by onboard_device_wipe */
    const uint8_t *cert_der;          /* x509 signature only: the factory certificate (borrowed) */
    size_t cert_der_len;
    onboard_sign_fn sign; /* x509 signature only */
    void *sign_user;
    uint8_t pinned_pub[PROV_ED25519_PUB_LEN]; /* the operator's provisioning key */
};

void onboard_device_wipe(struct onboard_device *d);

/* One onboarding or rotation attempt: kept across retries of the same request. */
struct onboard_attempt {
    uint8_t nonce[PROV_NONCE_LEN];
    uint8_t priv[PROV_X25519_LEN]; /* ephemeral: wiped by onboard_attempt_wipe */
    uint8_t pub[PROV_X25519_LEN];
    char *request; /* the onboard or rotate body (malloc'd), re-sent verbatim on retries */
    size_t request_len;
    uint8_t *plain; /* the opened bundle's canonical bytes (holds K/OPc; malloc'd) */
    size_t plain_len;
    struct prov_bundle bundle; /* parsed from plain (service points into it) */
};

void onboard_attempt_wipe(struct onboard_attempt *a);

/* Reads {"nonce": b64u(32)} from a /device/v1/nonce answer. IOTSEC_ERR_INVALID otherwise. */
int onboard_parse_nonce(const char *body, size_t len, uint8_t nonce[PROV_NONCE_LEN]);

/* Makes the ephemeral key and the /device/v1/onboard body for nonce into a->request. */
int onboard_build_request(const struct onboard_device *d, const uint8_t nonce[PROV_NONCE_LEN],
                          struct onboard_attempt *a);

/* The /device/v1/rotate body, authenticated with the current credential cur. */
int onboard_build_rotate(const struct onboard_device *d, const struct prov_bundle *cur,
                         const uint8_t nonce[PROV_NONCE_LEN], struct onboard_attempt *a);

/* Checks an {"envelope": ...} answer: signature against the pinned key first, then the
 * request context, decryption, bundle parse. Fills a->plain and a->bundle. IOTSEC_ERR_AUTH
 * for an envelope that does not verify; IOTSEC_ERR_INVALID for a malformed answer. */
int onboard_open_answer(const struct onboard_device *d, struct onboard_attempt *a, const char *body,
                        size_t len);

/* The /device/v1/confirm body (malloc'd, NUL-terminated) for the opened bundle. */
int onboard_build_confirm(const struct onboard_device *d, const struct onboard_attempt *a,
                          char **body, size_t *len);

/* ---- Backoff -----------------------------------------------------------------------------
 * Delay before retry number `retry` (0 for the first retry): exponential from base_ms, capped
 * at max_ms, with "equal jitter" (half fixed, half random) so a fleet that failed together
 * does not retry together; never below the server's Retry-After (seconds, 0 when absent),
 * to which up to a quarter of base..max jitter is added. rnd: a uniformly random 32-bit value. */
struct onboard_backoff {
    uint32_t base_ms;     /* default 200 */
    uint32_t max_ms;      /* default 30,000 */
    uint32_t max_retries; /* default 8 */
};

uint32_t onboard_backoff_ms(const struct onboard_backoff *b, uint32_t retry, uint32_t retry_after_s,
                            uint32_t rnd);

/* ---- Transport and the whole flow ----------------------------------------------------- */

enum onboard_op { ONBOARD_OP_NONCE, ONBOARD_OP_ONBOARD, ONBOARD_OP_CONFIRM, ONBOARD_OP_ROTATE };

struct onboard_transport {
    /* Sends body for op; *status gets the HTTP status, *retry_after its Retry-After in seconds
     * (0 when absent), *answer a malloc'd NUL-terminated body (may be NULL). Returns IOTSEC_OK,
     * or IOTSEC_ERR_IO when no answer came (retried). */
    int (*send)(struct onboard_transport *t, enum onboard_op op, const char *body, size_t len,
                long *status, uint32_t *retry_after, char **answer, size_t *answer_len);
};

struct onboard_result {
    long last_status; /* the last HTTP status seen (0: none) */
    char cause[48];   /* the last ProblemDetails cause, if any */
    uint32_t retries; /* how many requests were retried */
    char state[32];   /* the confirmation's "state" */
};

/* Nonce, onboard, open and verify, store in CRED_SLOT_CURRENT, confirm. Retries transport
 * errors, 429 and 503 with backoff (b may be NULL for the defaults); never retries a 4xx
 * other than 429. sleep_ms: how to wait (NULL: nanosleep). res (may be NULL) tells what
 * happened: the last status and ProblemDetails cause, retries, the confirmed state. */
int onboard_run(const struct onboard_device *d, struct onboard_transport *t,
                struct cred_store *store, const struct onboard_backoff *b,
                void (*sleep_ms)(uint32_t ms), struct onboard_result *res);

/* Rotation: reads CRED_SLOT_CURRENT, fetches a new bundle authenticated with it, stores it
 * (with the rotation's nonce) in CRED_SLOT_NEXT, confirms, then makes it CRED_SLOT_CURRENT and
 * erases CRED_SLOT_NEXT. The old credential is replaced only after the new one is stored and
 * confirmed. A call that finds CRED_SLOT_NEXT (a confirmation whose answer was lost, even
 * across a restart) first sends that confirmation again (it is idempotent) and, if the
 * server accepts it, completes that rotation instead of starting another; if the server no
 * longer knows it, drops it and rotates afresh. */
int rotate_run(const struct onboard_device *d, struct onboard_transport *t,
               struct cred_store *store, const struct onboard_backoff *b,
               void (*sleep_ms)(uint32_t ms), struct onboard_result *res);

/* Loads a stored bundle: plain gets the canonical bytes (PROV_PLAINTEXT_MAX + 1 bytes
 * suggested), b the parse (pointing into plain). */
int onboard_load(struct cred_store *store, const char *slot, uint8_t *plain, size_t max,
                 size_t *plain_len, struct prov_bundle *b);

/* ---- Small codecs (onboard_json.c), also for transports and tools --------------------- */

/* base64url: base/b64url.h (included above). */

/* Finds member `key` of the top-level JSON object in body. Strings: *val points at the first
 * character inside the quotes (escapes are not decoded) and *val_len its raw length; other
 * values: their raw text. IOTSEC_ERR_NOTFOUND when absent, IOTSEC_ERR_INVALID when body is not
 * a well-formed object as far as scanned. is_string tells which. */
int json_member(const char *body, size_t len, const char *key, const char **val, size_t *val_len,
                bool *is_string);

#endif
