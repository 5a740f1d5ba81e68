/* Exposure to application servers (AF/SCS): the pure, security-critical core.
 *
 *   - ES256 access tokens (RFC 7519, RFC 9068) bound to the AF's TLS client certificate
 *     (RFC 8705), verified against a keyset whose keys pin the algorithm;
 *   - per-AF external identifiers: keyed pseudonyms of a SUPI, one per (AF, device);
 *   - the one authorisation decision (principal, action, resource) -> allow/deny + reason;
 *   - the hash chain of the audit log.
 *
 * No I/O: storage and HTTP live in expose_store.c / expose_http.c (later). Every function
 * returns IOTSEC_OK or a negative code from base/err.h unless it says otherwise; none asserts
 * on its input. Strings are NUL-terminated UTF-8. Unless a comment says "takes ownership",
 * pointers passed in are borrowed for the duration of the call only. */
#ifndef IOTSEC_EXPOSE_H
#define IOTSEC_EXPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hmac_sha256.h"

/* ---------------------------------------------------------------------------------------
 * Signing keys (ECDSA P-256) and keysets
 * ------------------------------------------------------------------------------------- */

#define JWT_KID_MAX    64   /* a kid is 1..64 characters of [A-Za-z0-9._-] */
#define JWT_P256_LEN   32   /* one coordinate, the private scalar, r or s */
#define JWT_X5T_LEN    32   /* SHA-256 certificate thumbprint (RFC 8705 x5t#S256) */
#define JWT_MAX_TOKEN  8192 /* longer tokens are refused before any decoding */
#define JWT_KEYSET_MAX 8    /* current key + previous keys still accepted */
#define JWT_LEEWAY_MAX 300  /* clock skew tolerated at most, seconds */

/* A P-256 key with its kid: a private key (can sign and verify) or a public one (verify).
 * Opaque; freed with jwt_key_free(). Immutable once made, so any thread may use it. */
struct jwt_key;

/* Generates a fresh private key. kid NULL names the key by its RFC 7638 JWK thumbprint. */
int jwt_key_generate(const char *kid, struct jwt_key **out);

/* Rebuilds a private key from its scalar d (big-endian; a secret: seal it at rest with
 * crypto/seal.h, wipe it after use). IOTSEC_ERR_INVALID if d is 0 or >= the group order. */
int jwt_key_from_private(const char *kid, const uint8_t d[JWT_P256_LEN], struct jwt_key **out);

/* Writes the private scalar into d (secret). IOTSEC_ERR_STATE for a public-only key. */
int jwt_key_export_private(const struct jwt_key *key, uint8_t d[JWT_P256_LEN]);

/* A public key from its affine coordinates (as in a JWK). The point is checked to be on the
 * curve: IOTSEC_ERR_INVALID otherwise. */
int jwt_key_from_public(const char *kid, const uint8_t x[JWT_P256_LEN],
                        const uint8_t y[JWT_P256_LEN], struct jwt_key **out);

int jwt_key_public_xy(const struct jwt_key *key, uint8_t x[JWT_P256_LEN], uint8_t y[JWT_P256_LEN]);

/* The key's kid; valid while the key lives. */
const char *jwt_key_kid(const struct jwt_key *key);
bool jwt_key_is_private(const struct jwt_key *key);
void jwt_key_free(struct jwt_key *key);

/* A keyset: one current signing key and up to JWT_KEYSET_MAX keys accepted for verification.
 * Thread-safe: verification and signing take a read lock only long enough to reference the
 * key, so rotation (write lock) never waits for an ECDSA operation. */
struct jwt_keyset;

int jwt_keyset_new(struct jwt_keyset **out);
void jwt_keyset_free(struct jwt_keyset *ks);

/* Adds a key accepted for verification (takes ownership of key, on success only).
 * IOTSEC_ERR_CONFLICT if its kid is present, IOTSEC_ERR_BUSY if the set is full. */
int jwt_keyset_add(struct jwt_keyset *ks, struct jwt_key *key);

/* Rotation: adds key (a private key; takes ownership on success) and makes it the signing
 * key. The previous signing key stays in the set, still accepted, until removed. */
int jwt_keyset_rotate(struct jwt_keyset *ks, struct jwt_key *key);

/* Removes a key: tokens under its kid are refused from now on. The signing key cannot be
 * removed (IOTSEC_ERR_STATE: rotate first). IOTSEC_ERR_NOTFOUND for an unknown kid. */
int jwt_keyset_remove(struct jwt_keyset *ks, const char *kid);

/* The public keys as a JWKS (RFC 7517), e.g. {"keys":[{"kty":"EC","crv":"P-256","x":..,
 * "y":..,"kid":..,"use":"sig","alg":"ES256"}]}. *json is malloc'd: the caller frees it. */
int jwt_keyset_jwks(struct jwt_keyset *ks, char **json);

/* Builds a public-only keyset from a JWKS document (a client's view; also the test that the
 * export is complete). Every key must be EC/P-256 and, where said, use "sig" and alg
 * "ES256"; anything else is IOTSEC_ERR_INVALID (an unexpected key is not silently skipped).
 * A kid twice is IOTSEC_ERR_CONFLICT, more than JWT_KEYSET_MAX keys IOTSEC_ERR_BUSY. */
int jwt_keyset_from_jwks(const char *json, size_t len, struct jwt_keyset **out);

/* ---------------------------------------------------------------------------------------
 * Access tokens (ES256 JWT, RFC 9068, bound to the client certificate per RFC 8705)
 * ------------------------------------------------------------------------------------- */

/* The SHA-256 thumbprint of a DER certificate, as carried in cnf.x5t#S256. */
void jwt_cert_thumbprint(const uint8_t *der, size_t der_len, uint8_t out[JWT_X5T_LEN]);

/* What jwt_sign() puts in a token. All strings required except jti; nbf 0 = omitted. */
struct jwt_claims {
    const char *iss;       /* this authorisation server */
    const char *sub;       /* the AF id */
    const char *aud;       /* the API the token is for */
    const char *scope;     /* space-separated services, e.g. "monitoring-event" */
    const char *client_id; /* the AF id again (RFC 9068 client_id) */
    const char *jti;       /* NULL: 128 random bits, base64url */
    int64_t iat, nbf, exp; /* NumericDate, seconds since the epoch; exp > iat */
    /* The AF's token generation when issued (private claim "token_gen"; 0: omitted). Each
     * disable of the AF starts a new generation: older tokens are refused for good. */
    int64_t token_gen;
    uint8_t x5t_s256[JWT_X5T_LEN];
};

/* Signs with the keyset's current key: header {"alg":"ES256","typ":"at+jwt","kid":...}.
 * *token is malloc'd (the caller frees it). IOTSEC_ERR_STATE if the set has no signing key,
 * IOTSEC_ERR_INVALID for missing or oversized claims. */
int jwt_sign(struct jwt_keyset *ks, const struct jwt_claims *c, char **token);

/* Why a token was refused (or JWT_R_OK). Safe to log: never contains token data. */
enum jwt_reason {
    JWT_R_OK = 0,
    JWT_R_PARAMS,         /* the caller's expectations are incomplete */
    JWT_R_TOO_LARGE,      /* over JWT_MAX_TOKEN bytes */
    JWT_R_MALFORMED,      /* not three dot-separated parts */
    JWT_R_BASE64,         /* not canonical unpadded base64url */
    JWT_R_JSON,           /* header or claims not a strict JSON object */
    JWT_R_JSON_DUPLICATE, /* a member name appears twice */
    JWT_R_ALG,            /* alg is not ES256 ("none", HS256, RS256, ... all refused) */
    JWT_R_TYP,            /* typ is not at+jwt */
    JWT_R_CRIT,           /* crit header present: no extension is understood */
    JWT_R_KID,            /* kid missing or not in the keyset */
    JWT_R_SIG_FORMAT,     /* signature is not 64 bytes r||s */
    JWT_R_SIGNATURE,      /* signature does not verify */
    JWT_R_CLAIM_MISSING,  /* a required claim is absent */
    JWT_R_CLAIM_INVALID,  /* a claim has the wrong type or is too long */
    JWT_R_EXPIRED,        /* exp <= now - leeway */
    JWT_R_NOT_YET_VALID,  /* nbf or iat after now + leeway */
    JWT_R_LIFETIME,       /* exp - iat beyond the configured maximum */
    JWT_R_ISSUER,         /* iss is not ours */
    JWT_R_AUDIENCE,       /* aud does not name this API */
    JWT_R_BINDING,        /* cnf.x5t#S256 is not this connection's client certificate */
    JWT_R_SUBJECT,        /* sub is not client_id (client credentials: RFC 9068 §2.2) */
    JWT_R_INTERNAL,       /* memory or crypto library failure */
};

const char *jwt_reason_str(enum jwt_reason r);

/* What the verifier requires. */
struct jwt_expect {
    const char *iss;         /* required issuer */
    const char *aud;         /* this API's audience */
    const uint8_t *x5t_s256; /* thumbprint of the client certificate on THIS connection */
    int64_t now;             /* seconds since the epoch */
    int64_t leeway;          /* clock skew tolerated, 0..JWT_LEEWAY_MAX seconds */
    int64_t max_lifetime;    /* refuse exp - iat above this; 0 = no limit */
};

#define JWT_STR_MAX   255 /* longest sub, client_id, jti accepted */
#define JWT_SCOPE_MAX 511

/* The claims of a verified token (copies; no pointers into the token). */
struct jwt_verified {
    char kid[JWT_KID_MAX + 1];
    char sub[JWT_STR_MAX + 1];
    char client_id[JWT_STR_MAX + 1];
    char jti[JWT_STR_MAX + 1];
    char scope[JWT_SCOPE_MAX + 1];
    int64_t iat, nbf, exp; /* nbf 0 when absent */
    int64_t token_gen;     /* 0 when absent */
};

/* Verifies token (len bytes, need not be NUL-terminated). The algorithm is ES256 because the
 * keys are P-256 keys; the token's alg must say so, it never chooses. The signature is checked
 * before any claim is decoded. Returns IOTSEC_OK, IOTSEC_ERR_INVALID (malformed),
 * IOTSEC_ERR_AUTH (well-formed but refused), IOTSEC_ERR_NOMEM or IOTSEC_ERR_CRYPTO; *reason
 * (may be NULL) says which check failed. out is zeroed unless the result is IOTSEC_OK. */
int jwt_verify(struct jwt_keyset *ks, const char *token, size_t len, const struct jwt_expect *ex,
               struct jwt_verified *out, enum jwt_reason *reason);

/* ---------------------------------------------------------------------------------------
 * Services (operator policy and token scope)
 * ------------------------------------------------------------------------------------- */

enum expose_service {
    EXPOSE_SVC_MONITORING_EVENT = 1u << 0,    /* TS 29.122 3gpp-monitoring-event */
    EXPOSE_SVC_AS_SESSION_WITH_QOS = 1u << 1, /* TS 29.122 3gpp-as-session-with-qos: no API
                                               * yet; registrable, so tokens for another API
                                               * exist (and are refused by this one) */
    EXPOSE_SVC_PIN = 1u << 2, /* Personal IoT Networks (src/pin, docs/pin.md): an AF acts on a PIN
                               * only within its owner's grants, checked per request */
    EXPOSE_SVC_GROUP_MESSAGE = 1u << 3, /* TS 29.522 3gpp-mbs-group-msg (docs/group.md): an AF
                                         * sends to a message group with its owner's consent */
};

/* "monitoring-event" -> EXPOSE_SVC_MONITORING_EVENT, "as-session-with-qos"; 0 for an
 * unknown name. */
uint32_t expose_service_from_name(const char *name);

/* The set of known services named in a space-separated scope; unknown words grant nothing. */
uint32_t expose_services_from_scope(const char *scope);

/* ---------------------------------------------------------------------------------------
 * Per-AF external identifiers (TS 23.682 External Identifier: <local id>@<domain>)
 * ------------------------------------------------------------------------------------- */

#define EXTID_MAC_LEN    20 /* HMAC output kept: 160 bits */
#define EXTID_LOCAL_LEN  32 /* base32 of 20 bytes, lower case, no padding */
#define EXTID_DOMAIN_MAX 253
#define EXTID_AF_ID_MAX  64
#define EXTID_MAX        (EXTID_LOCAL_LEN + 1 + EXTID_DOMAIN_MAX + 1) /* with the NUL */

/* external_id = base32(HMAC-SHA256(key, "iotsec-extid-v1" 0x00 af_id 0x00 supi)[0..20]) "@"
 * domain. Stable for one (AF, device), unlinkable across AFs, not reversible without the
 * key (a dedicated 32-byte secret, sealed at rest). af_id: 1..64 chars of [A-Za-z0-9._-];
 * supi: a valid SUPI (crypto/supi.h); domain: a DNS name. out holds EXTID_MAX bytes. */
int expose_external_id(const struct hmac_sha256 *key, const char *af_id, const char *supi,
                       const char *domain, char out[EXTID_MAX]);

/* The table that maps an AF's external ID back to a SUPI, backed by the daemon's store.
 * Strategy: at consent time the daemon computes expose_external_id() for (af, supi) and stores
 * the row (af_id, external_id) -> subscription, keyed by BOTH columns. The lookup is a point
 * query on that pair, with af_id taken from the authenticated principal (never from the
 * request), so an ID never resolves outside the AF it was made for. Returns IOTSEC_OK with
 * the SUPI in supi (cap bytes) or IOTSEC_ERR_NOTFOUND. */
typedef int (*expose_extid_lookup_fn)(void *ctx, const char *af_id, const char *external_id,
                                      char *supi, size_t cap);

/* Resolves an AF-presented external ID to a SUPI within that AF's scope: checks the format and
 * domain, calls lookup, and then recomputes the pseudonym for the SUPI found and compares it
 * (constant time) with the one presented, so a wrong row or a lookup that ignored af_id still
 * yields nothing. IOTSEC_ERR_INVALID for a malformed ID, IOTSEC_ERR_NOTFOUND for an unknown
 * or mismatching one, or the lookup's own error (IO, BUSY); supi is cleared on every failure. */
int expose_external_id_resolve(const struct hmac_sha256 *key, const char *af_id,
                               const char *external_id, const char *domain,
                               expose_extid_lookup_fn lookup, void *ctx, char *supi, size_t cap);

/* ---------------------------------------------------------------------------------------
 * Authorisation: one pure decision
 * ------------------------------------------------------------------------------------- */

enum principal_kind {
    PRINCIPAL_NONE = 0, /* unauthenticated: always denied */
    PRINCIPAL_ADMIN,    /* operator staff on the admin face */
    PRINCIPAL_AF,       /* application server: OAuth2 token bound to its mTLS certificate */
    PRINCIPAL_DEVICE,
    PRINCIPAL_GATEWAY,
    PRINCIPAL_NF, /* a 5G core network function on the SBI face */
};

struct principal {
    enum principal_kind kind;
    const char *id;        /* AF id, admin name, SUPI, NF instance id */
    uint32_t services;     /* AF: services the operator registered it for (now, not at issue) */
    uint32_t token_scopes; /* AF: services named in the access token's scope */
};

enum action {
    ACTION_MONITORING_SUBSCRIBE = 1,
    ACTION_MONITORING_READ,
    ACTION_MONITORING_MODIFY,
    ACTION_MONITORING_DELETE,
    ACTION_CONSENT_GRANT,
    ACTION_CONSENT_REVOKE,
    ACTION_AF_REGISTER,
    ACTION_AUDIT_READ,
    ACTION_GROUP_MESSAGE_SEND, /* an AF sends one message to a group (RESOURCE_GROUP, id: the
                                * External Group ID, which the consent names) */
    ACTION_GROUP_MESSAGE_READ, /* an AF reads or withdraws its own delivery (owner_af set) */
};

enum resource_kind {
    RESOURCE_NONE = 0, /* administrative actions: the system itself */
    RESOURCE_DEVICE,   /* id: the SUPI (resolved inside; never from the AF) */
    RESOURCE_GROUP,    /* id: the internal group id */
    RESOURCE_AREA,     /* NUMBER_OF_UES_IN_AN_AREA: counts only, filtered by consent later */
};

/* A consent: the owner of a device or group lets one AF use one or more services on it. */
struct consent {
    const char *consent_id;
    const char *af_id;
    uint32_t services;
    enum resource_kind target_kind; /* RESOURCE_DEVICE or RESOURCE_GROUP */
    const char *target_id;
    int64_t expires; /* seconds since the epoch; 0 = until revoked */
    bool revoked;
};

struct resource {
    enum resource_kind kind;
    const char *id;
    const char *const *groups; /* device: the groups it belongs to (their consents count) */
    size_t n_groups;
    const char *owner_af;    /* an existing subscription: the AF that made it; NULL for new */
    uint32_t service;        /* the service the request uses (one EXPOSE_SVC_ bit) */
    bool monitoring_opt_out; /* the owner opted the device out of monitoring */
    const struct consent *consents; /* candidates from the store (any AF); borrowed */
    size_t n_consents;
};

enum authz_reason {
    AUTHZ_ALLOW_ADMIN = 1,
    AUTHZ_ALLOW_CONSENT,
    AUTHZ_ALLOW_OWN_DELETE, /* an AF may always withdraw its own subscription */
    AUTHZ_ALLOW_SERVICE,    /* area counts: registered service, consent filtered later */
    AUTHZ_DENY_BAD_REQUEST,
    AUTHZ_DENY_UNAUTHENTICATED,
    AUTHZ_DENY_PRINCIPAL_KIND,
    AUTHZ_DENY_ADMIN_NOT_AF,
    AUTHZ_DENY_ADMIN_ONLY,
    AUTHZ_DENY_SERVICE_NOT_REGISTERED,
    AUTHZ_DENY_SCOPE,
    AUTHZ_DENY_OTHER_AF_SUBSCRIPTION,
    AUTHZ_DENY_OPTED_OUT,
    AUTHZ_DENY_NO_CONSENT,
    AUTHZ_DENY_OTHER_AF_CONSENT,
    AUTHZ_DENY_CONSENT_SERVICE,
    AUTHZ_DENY_CONSENT_EXPIRED,
    AUTHZ_DENY_CONSENT_REVOKED,
};

struct authz_result {
    bool allow;
    enum authz_reason reason;
    const char *consent_id; /* the consent that allowed it, borrowed from the resource */
};

/* Deny by default: allows only what a rule below names, and every deny has a reason.
 * Pure: no I/O, no clock (now is passed), no allocation. */
struct authz_result authz_decide(const struct principal *p, enum action a, const struct resource *r,
                                 int64_t now);

const char *authz_reason_str(enum authz_reason r);
/* The reason as a stable upper-case code ("DENY_NO_CONSENT"): audit records, causes. */
const char *authz_reason_code(enum authz_reason r);
const char *authz_action_str(enum action a);

/* ---------------------------------------------------------------------------------------
 * Audit log: append-only, hash-chained
 * ------------------------------------------------------------------------------------- */

#define AUDIT_HASH_LEN  32
#define AUDIT_FIELD_MAX 1024 /* longest text field, bytes */

/* One decision. Text fields are borrowed; none may name a SUPI (use external IDs and
 * consent/subscription ids). */
struct audit_record {
    uint64_t seq;    /* position in the log, from 0; set by audit_append() */
    int64_t time_ms; /* milliseconds since the epoch */
    const char *principal, *action, *resource, *reason, *request_id;
    bool allow;
    uint8_t hash[AUDIT_HASH_LEN]; /* set by audit_append() */
};

/* Where a chain (or a verified segment of it) starts or ends: the record count and the last
 * hash. The log's genesis is {0, 32 zero bytes}. A checkpoint of the head kept apart from
 * the log (or published) is what makes a rewritten or truncated tail detectable. */
struct audit_anchor {
    uint64_t seq;
    uint8_t hash[AUDIT_HASH_LEN];
};

/* hash = SHA-256(prev || encoding(rec)), encoding = u64 seq, i64 time_ms, u8 allow, then
 * principal, action, resource, reason, request_id each as u32 length || bytes (big-endian).
 * IOTSEC_ERR_INVALID for a NULL or oversize field. */
int audit_record_hash(const uint8_t prev[AUDIT_HASH_LEN], const struct audit_record *rec,
                      uint8_t out[AUDIT_HASH_LEN]);

/* Sets rec->seq and rec->hash from the chain's head and advances the head. */
int audit_append(struct audit_anchor *head, struct audit_record *rec);

/* Checks n records that continue from start, and when end is given (a trusted checkpoint),
 * that the chain reaches it. Returns IOTSEC_OK, or IOTSEC_ERR_AUTH with *bad_index = the
 * first record that is altered, out of place or missing (n when records are missing at the
 * end), or IOTSEC_ERR_INVALID for a malformed record at *bad_index. */
int audit_verify(const struct audit_record *recs, size_t n, const struct audit_anchor *start,
                 const struct audit_anchor *end, size_t *bad_index);

#endif
