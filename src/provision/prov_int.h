/* Inside the provisioning capability: pure logic (prov_logic.c, prov_limits.c),
 * SQL (prov_store.c, prov_device_store.c, prov_admin_store.c, prov_owner_store.c, prov_jobs.c,
 * prov_activate.c), certificate checks (prov_x509.c) and the HTTP faces (prov_*_http.c: no
 * SQL there). Not for other capabilities. */
#ifndef IOTSEC_PROVISION_INT_H
#define IOTSEC_PROVISION_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/b64url.h"
#include "crypto/provision_crypto.h"
#include "crypto/seal.h"
#include "provision/provision.h"
#include "store/store.h"
#include "subscriber/subscriber.h"

/* ---- enrollments and their matching ---- */

enum prov_reprovision { PROV_REPROV_KEEP, PROV_REPROV_RESET, PROV_REPROV_NEVER };
const char *prov_reprovision_name(enum prov_reprovision r);
int prov_reprovision_parse(const char *s, enum prov_reprovision *out);

#define PROV_OWNER_MAX  (SUB_OWNER_MAX - 1) /* fits the subscription's owner column */
#define PROV_SERIAL_MAX 64
#define PROV_NAME_MAX   64

struct prov_enrollment {
    int64_t id;
    bool individual;
    bool derived_key;        /* attestation: derived key (else x509) */
    int64_t manufacturer_id; /* x509: whose CA (0: any, individual only) */
    char reg_id[PROV_REG_ID_MAX + 1];
    char cert_sha256[65];
    char serial[PROV_SERIAL_MAX + 1];
    bool enabled;
    char owner[PROV_OWNER_MAX + 1];
    char supi_first[32], supi_last[32];
    int64_t lifetime_s;
    enum prov_reprovision reprovision;
    int64_t quota;      /* devices at most; 0: none */
    int64_t rate_per_s; /* onboardings per second; 0: none */
    bool requires_activation;
    char routing_ind[5];
    int64_t devices; /* registrations made under it */
    int64_t max_cred_age_s; /* the schedule rotates older credentials; 0: never */
    char name[PROV_NAME_MAX + 1]; /* "" when unnamed */
};

/* What the device showed. Fields it did not show are "" / 0. */
struct prov_identity {
    const char *reg_id;
    const char *cert_sha256;
    const char *serial;
    bool derived_key;
};

/* Does the device prove possession for this enrollment (its certificate chains to the
 * enrollment's manufacturer CA, or its MAC verifies under the enrollment's group key)? */
typedef bool (*prov_proves_fn)(const struct prov_enrollment *e, void *ctx);

/* Picks the enrollment for a device among candidates: an individual one naming it (by
 * certificate fingerprint, serial or registration id, with the same attestation) overrides
 * every group; else the first group of the device's attestation it proves. The enabled flag
 * is NOT looked at: a disabled individual enrollment must still win over its group, so the
 * caller refuses a disabled match. Returns IOTSEC_OK with *index, or IOTSEC_ERR_NOTFOUND. */
int prov_enrollment_match(const struct prov_enrollment *cands, size_t n,
                          const struct prov_identity *id, prov_proves_fn proves, void *ctx,
                          size_t *index);

/* ---- SUPI ranges ---- */

struct prov_supi_range {
    int digits;     /* 6..15 */
    uint64_t first; /* as numbers */
    uint64_t last;
};

/* "imsi-001010000000001".."imsi-001010000099999": same length, first <= last. */
int prov_supi_range_parse(const char *first, const char *last, struct prov_supi_range *r);
/* The SUPI string at offset n from the first (n: the enrollment's allocation counter);
 * IOTSEC_ERR_NOTFOUND past the last. */
int prov_supi_at(const struct prov_supi_range *r, uint64_t n, char *out, size_t len);

/* ---- idempotency, confirmation, rotation, activation decisions ---- */

/* The stored answer serves a request with the same (nonce, device_pub) for the same
 * registration (the caller looked the registration up by reg id). Constant time. */
bool prov_same_request(const uint8_t *stored_nonce, const uint8_t *stored_pub,
                       const uint8_t nonce[PROV_NONCE_LEN], const uint8_t pub[PROV_X25519_LEN]);

/* The rotation state of a registration as stored. */
struct prov_rot_state {
    uint32_t current_version;     /* the subscription's credential version */
    uint32_t pending_version;     /* 0: none waiting */
    int64_t pending_since;        /* when the waiting version was made */
    bool has_pending_request;     /* a stored rotation answer exists */
    uint8_t pend_nonce[PROV_NONCE_LEN], pend_pub[PROV_X25519_LEN];
};

#define PROV_PENDING_MAX_AGE_S (7 * 24 * 3600)

enum prov_rot_action {
    PROV_ROT_REPLAY,     /* same request: the stored envelope */
    PROV_ROT_RESEAL,     /* a version waits already: the same keys, a new envelope */
    PROV_ROT_NEW,        /* make a new version (current + 1) */
    PROV_ROT_BAD_VERSION /* the device's version is not the current one */
};

enum prov_rot_action prov_rotate_decide(const struct prov_rot_state *s, uint32_t device_version,
                                        const uint8_t nonce[PROV_NONCE_LEN],
                                        const uint8_t pub[PROV_X25519_LEN], int64_t now);

/* What a confirmation confirms. */
enum prov_confirm_target { PROV_CONFIRM_NONE, PROV_CONFIRM_ONBOARD, PROV_CONFIRM_ROTATION };
enum prov_confirm_target prov_confirm_decide(uint32_t current_version,
                                             const uint8_t *onboard_nonce,
                                             uint32_t pending_version, const uint8_t *pend_nonce,
                                             uint32_t version, const uint8_t nonce[PROV_NONCE_LEN]);

/* May a device that matched enrollment (id, individual) with this certificate ("" for a
 * derived key) onboard again over a registration made under reg_enrollment with
 * reg_cert? Only under the same enrollment, or an individual enrollment naming it (the
 * operator's override), and never with another certificate than the one it registered
 * with: otherwise whoever holds one group's key could take over devices of others. */
bool prov_same_device(int64_t reg_enrollment, const char *reg_cert, int64_t enrollment,
                      bool individual, const char *cert);

/* The activation rule of docs/provisioning.md. */
bool prov_should_activate(bool confirmed, bool requires_activation, bool activated);

/* rk = HMAC-SHA-256(K, lp("iotsec-onboard-v1 rotate-key") || lp(cred_id) || u32(version)) */
int prov_rotate_key(const uint8_t *k, size_t k_len, const char *cred_id, uint32_t version,
                    uint8_t rk[PROV_KEY_LEN]);

/* ---- limits (prov_limits.c): each has a mutex and a fixed size ---- */

#define PROV_NONCE_TTL_S 120
#define PROV_NONCES_MAX  100000

struct prov_nonces;
struct prov_nonces *prov_nonces_new(size_t max);
void prov_nonces_free(struct prov_nonces *t);
/* IOTSEC_ERR_BUSY when max are outstanding. */
int prov_nonce_issue(struct prov_nonces *t, int64_t now, uint8_t out[PROV_NONCE_LEN]);
bool prov_nonce_valid(struct prov_nonces *t, const uint8_t n[PROV_NONCE_LEN], int64_t now);
/* Removes it; false when it was not (or no longer) valid. */
bool prov_nonce_take(struct prov_nonces *t, const uint8_t n[PROV_NONCE_LEN], int64_t now);
void prov_nonces_expire(struct prov_nonces *t, int64_t now);

/* Token buckets per key (enrollment id): rate_per_s tokens a second, burst = rate. */
struct prov_limiter;
struct prov_limiter *prov_limiter_new(size_t slots);
void prov_limiter_free(struct prov_limiter *l);
/* true: allowed (a token taken). false: *retry_after_s (>= 1) says when to come back. */
bool prov_limiter_take(struct prov_limiter *l, int64_t key, int64_t rate_per_s, int64_t now_ms,
                       uint32_t *retry_after_s);

/* ---- the capability's state ---- */

/* Counters for /metrics (provision_metrics). */
enum prov_counter {
    PROV_C_NONCES,       /* issued */
    PROV_C_ONBOARD_NEW,  /* onboardings committed */
    PROV_C_REPLAYS,      /* retries answered with a stored envelope */
    PROV_C_RELAYED,      /* committed onboardings that came through a gateway */
    PROV_C_CONFIRMED,
    PROV_C_ROTATIONS,    /* rotation envelopes made (not replays) */
    PROV_C_REFUSED,      /* device requests refused with a 4xx */
    PROV_C_LIMITED,      /* 429 and 503 with Retry-After */
    PROV_COUNTER_COUNT,
};
size_t prov_nonces_outstanding(struct prov_nonces *t);

struct provision {
    struct store *store;
    const struct seal_kek *kek;
    char admin_cert_sha256[65];
    struct prov_sign_key *sign_key;
    uint8_t sign_pub[PROV_ED25519_PUB_LEN];
    struct prov_nonces *nonces;
    struct prov_limiter *limiter;
    struct aka *aka; /* may be NULL (tests) */
    struct prov_ca_cache *cas;
    /* The credential schedule (provision_tick): one sweep in flight at most; its cursor is
     * written by the sweep's done callback, read by the tick once busy is false again. */
    atomic_bool schedule_busy;
    int64_t schedule_at, schedule_after;
};

/* Process-wide, like the daemon's one provisioning capability (tests share them harmlessly). */
void prov_count(enum prov_counter c);

/* ---- store (prov_store.c) ---- */

int prov_key_load_or_create(struct store *s, const struct seal_kek *kek,
                            struct prov_sign_key **key, uint8_t pub[PROV_ED25519_PUB_LEN]);
int prov_enrollment_load(struct store_conn *c, int64_t id, struct prov_enrollment *e);
/* Fills e from a row "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments ...". */
#define PROV_ENROLLMENT_COLS                                                                   \
    "id, kind, attestation, coalesce(manufacturer_id, 0), coalesce(reg_id, ''),"                  \
    " coalesce(cert_sha256, ''), coalesce(serial, ''), enabled, owner, coalesce(supi_first, ''),"   \
    " coalesce(supi_last, ''), lifetime_s, reprovision, coalesce(quota, 0), coalesce(rate_per_s, 0)," \
    " requires_activation, routing_ind, devices, coalesce(max_cred_age_s, 0),"                     \
    " coalesce(name, '')"
void prov_enrollment_row(struct store_stmt *st, struct prov_enrollment *e);
/* Opens an enrollment's sealed group key (IOTSEC_ERR_NOTFOUND: it has none). */
int prov_group_key_get(struct store_conn *c, const struct seal_kek *kek, int64_t id,
                       uint8_t key[PROV_GROUP_KEY_MAX], size_t *len);
size_t prov_group_key_aad(int64_t id, char *buf, size_t len);
int prov_history_add(struct store_conn *c, const char *reg_id, const char *event,
                     const char *detail, int64_t now);

/* ---- device-face reads (prov_device_store.c) ---- */

/* Enrollments that may name this device (at most max, by id): individual ones naming its
 * reg_id, certificate or serial, and group ones of its attestation kind. */
int prov_enrollment_candidates(struct store_conn *c, size_t max, const struct prov_identity *id,
                               struct prov_enrollment *out, size_t *n);
/* The registered gateway with this client-certificate fingerprint, or 0. */
int64_t prov_gateway_by_cert(struct store_conn *c, const char *cert_sha256_hex);
/* May gateway gw relay for devices of this enrollment? */
bool prov_gateway_serves(struct store_conn *c, int64_t gw, int64_t enrollment);

/* ---- registrations (prov_registration.c) ---- */

#define PROV_SUPI_STR_MAX 72

struct prov_registration {
    int64_t id, enrollment_id, gateway_id;
    char reg_id[PROV_REG_ID_MAX + 1];
    char supi[PROV_SUPI_STR_MAX];
    char serial[PROV_SERIAL_MAX + 1];
    char cert_sha256[65]; /* the factory certificate it onboarded with, or "" */
    char state[16]; /* "onboarded", "revoked" */
    char account[PROV_OWNER_MAX + 1];
    char owner[PROV_OWNER_MAX + 1];
    bool has_request; /* nonce, device_pub and an envelope are stored */
    uint8_t nonce[PROV_NONCE_LEN], device_pub[PROV_X25519_LEN];
    uint32_t cred_version;
    bool confirmed;
    struct prov_rot_state rot; /* current_version is cred_version */
};

/* The credential id a registration's bundles carry: "reg-<row id>". */
void prov_cred_id(int64_t reg_row, char out[32]);
int prov_registration_load(struct store_conn *c, const char *reg_id, struct prov_registration *r);
/* The stored envelope of the last onboarding (pending false) or rotation (true): malloc'd. */
int prov_registration_envelope(struct store_conn *c, int64_t reg_row, bool pending, uint8_t **env,
                               size_t *len);
/* A waiting rotation version's keys (16-byte K and OPc). */
size_t prov_pend_aad(const char *reg_id, uint32_t version, char *buf, size_t len);
int prov_pending_keys(struct store_conn *c, const struct seal_kek *kek, const char *reg_id,
                      uint32_t version, uint8_t k[16], uint8_t opc[16]);
/* Was this device named by a bulk activation (by registration id or serial)? */
/* supi (when not NULL, 40 bytes) gets the pre-bound SUPI or "". */
int prov_activation_find(struct store_conn *c, const char *reg_id, const char *serial,
                         bool *found, char *account, size_t account_len, char **service,
                         char *supi);

/* ---- write jobs (prov_jobs.c): run on the store's writer ---- */

enum prov_fail {
    PROV_FAIL_NONE,
    PROV_FAIL_DISABLED,
    PROV_FAIL_QUOTA,
    PROV_FAIL_EXHAUSTED,
    PROV_FAIL_REPROVISION,
    PROV_FAIL_NOTFOUND,
    PROV_FAIL_VERSION,
    PROV_FAIL_SUPI_TAKEN, /* the SUPI pre-bound by bulk activation exists already */
    PROV_FAIL_OTHER_DEVICE, /* the registration id belongs to a device proven otherwise */
};

struct prov_hn_list {
    size_t n;
    struct prov_hn_key keys[PROV_HN_KEYS_MAX];
};

/* Onboarding, rotation and the admin's "a new version waits" share one job. */
enum prov_job_kind { PROV_JOB_ONBOARD, PROV_JOB_ROTATE, PROV_JOB_STAGE, PROV_JOB_CONFIRM };

struct prov_job {
    enum prov_job_kind kind;
    const struct provision *p;
    struct http_request *req; /* answered by the done callback */
    int64_t enrollment_id, gateway_id, now;
    char reg_id[PROV_REG_ID_MAX + 1];
    char cert_sha256[65];
    char serial[PROV_SERIAL_MAX + 1];
    uint8_t nonce[PROV_NONCE_LEN], device_pub[PROV_X25519_LEN];
    uint32_t version;        /* rotate: the device's current; confirm: the confirmed one */
    bool confirm_rotation;   /* confirm: of a rotation (keys hold the new credential) */
    uint8_t k[16], opc[16];  /* confirm of a rotation */
    struct prov_hn_list hn;
    const char *actor;       /* stage: who asked, for the history; NULL: "admin" */
    /* out */
    enum prov_fail fail;
    uint8_t *envelope; /* malloc'd */
    size_t envelope_len;
    char sub_state[24];
    uint32_t out_version;
};

int prov_job_run(struct store_conn *c, void *arg);

/* The schedule's sweep (prov_lifecycle.c): stages a version for at most batch registrations
 * whose credential is older than their enrollment's maximum age, continuing after the row
 * `after` (updated: 0 once the end is reached). Idempotent: a registration with a version
 * waiting is not staged again. */
#define PROV_SCHEDULE_BATCH_MAX 256
struct prov_schedule_job {
    struct provision *p;
    int64_t now, after;
    unsigned batch;          /* 0: PROV_SCHEDULE_BATCH_MAX */
    unsigned staged, passed; /* out: versions staged; registrations that cannot rotate */
};
int prov_schedule_run(struct store_conn *c, void *arg);
void prov_job_free(struct prov_job *j); /* wipes */

/* ---- certificates (prov_x509.c) ---- */

struct x509_st;
struct stack_st_X509;
/* The manufacturers' CAs, parsed once (and again when one is added). */
struct prov_ca_cache;
struct prov_ca_cache *prov_ca_cache_new(void);
void prov_ca_cache_free(struct prov_ca_cache *c);
/* The ids of the manufacturers whose CA the certificate chains to (at most max). */
int prov_x509_manufacturers(struct prov_ca_cache *cache, struct store_conn *c,
                            struct x509_st *cert, struct stack_st_X509 *chain, int64_t *ids,
                            size_t max, size_t *n);
/* Subject CN (visible ASCII), serial (lower-case hex), SHA-256 fingerprint (hex). */
int prov_x509_names(struct x509_st *cert, char *cn, size_t cn_len, char *serial,
                    size_t serial_len, char sha256[65]);
/* Verifies sig by cert's key over msg (ECDSA with SHA-256, or Ed25519). */
int prov_x509_verify_sig(struct x509_st *cert, const uint8_t *msg, size_t len,
                         const uint8_t *sig, size_t sig_len);

#endif
