/* The northbound face's security, as a service of the daemon: the AF registry, the OAuth2
 * authorisation server (POST /oauth2/token, JWKS), the request-authorisation interface every
 * northbound API handler (T8 MonitoringEvent, ...) goes through, consents, per-AF external
 * identifiers and the audit log. Builds on the pure core of expose/expose.h (included here:
 * API handlers include this header only).
 *
 * THE CONTRACT FOR AN API HANDLER (stable; e.g. a T8 handler on the northbound face):
 *
 *   static void get_sub(struct http_request *req, void *user) {
 *       struct expose_af af;
 *       if (expose_nb_authenticate(nb, req, EXPOSE_SVC_MONITORING_EVENT, &af) != IOTSEC_OK)
 *           return;                          // 401/403 already sent, audited
 *       if (strcmp(http_request_param(req, "scsAsId"), af.af_id) != 0) { ... 403 ... }
 *       char supi[SUPI_STRING_MAX];
 *       if (expose_nb_resolve(nb, req, &af, external_id, supi, sizeof(supi)) != IOTSEC_OK)
 *           return;                          // 400/403 already sent, audited
 *       struct expose_target t = {.kind = RESOURCE_DEVICE, .supi = supi,
 *                                 .external_id = external_id, .owner_af = NULL,
 *                                 .service = EXPOSE_SVC_MONITORING_EVENT};
 *       struct authz_result res;
 *       if (expose_nb_authorize(nb, req, &af, ACTION_MONITORING_SUBSCRIBE, &t, &res) != IOTSEC_OK)
 *           return;                          // 403 (or 503) already sent, audited
 *       ... do the work; answer with no SUPI anywhere (use external_id) ...
 *   }
 *
 * - Every function that takes a request and returns non-zero HAS ANSWERED it (ProblemDetails;
 *   401 with WWW-Authenticate per RFC 6750 for token problems); the handler just returns.
 * - Every decision (allow or deny, including refused tokens and unknown external IDs) is
 *   appended to the hash-chained audit log. Audit records are queued in decision order and
 *   committed by the store's writer in a flush job submitted at decision time, ahead of any
 *   job the handler submits afterwards: the audit of a write's decision is durable in the
 *   same group commit as the write's effect, or an earlier one. A full audit queue refuses the
 *   request (503, Retry-After) rather than drop a record.
 * - No SUPI/IMSI ever leaves: the AF names devices by external ID; audit records name the
 *   external ID (never the SUPI); outbound bodies use expose_nb_external_id().
 * - Threads: every function may be called from any worker thread concurrently. The ones that
 *   read external IDs do a point query on the calling thread's store reader (microseconds, no
 *   lock wait: WAL); decisions take consents from a cache that every consent, group and
 *   opt-out write invalidates after its commit and before its answer, so a consent revoked
 *   through the admin face is refused by the very next decision.
 * - Pointers passed in are borrowed for the call. struct expose_af is a self-contained copy:
 *   keep it in a deferred request's context or a subscription as long as needed; re-check
 *   with expose_nb_decide() when acting later (notifications), so revocation stops them. */
#ifndef IOTSEC_EXPOSE_NORTHBOUND_H
#define IOTSEC_EXPOSE_NORTHBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "expose/expose.h"
#include "http/http.h"
#include "http/outbound.h"
#include "store/store.h"

/* The schema: AFs, signing keys (sealed), the external-id key (sealed), groups, consents,
 * external IDs, audit records (append-only: triggers refuse UPDATE and DELETE), owners'
 * monitoring opt-outs. */
extern const char EXPOSE_MIGRATION_1[];
/* expose_afs.allow_destinations: each AF's allow-list of otherwise refused notification
 * destinations (CIDR[:port], comma-separated; see http/outbound.h). */
extern const char EXPOSE_MIGRATION_2[];
extern const char EXPOSE_MIGRATION_T8_REPORTS[]; /* t8_store.c */
extern const char EXPOSE_MIGRATION_TOKEN_GEN[];

#define EXPOSE_AF_NAME_MAX      128
#define EXPOSE_ID_MAX           64 /* af ids, consent ids, group ids: [A-Za-z0-9._-] */
#define EXPOSE_TOKEN_LIFETIME_S 300

struct expose_nb; /* the service; thread-safe */

struct expose_nb_config {
    struct store *store;        /* borrowed; outlives the service */
    const struct seal_kek *kek; /* borrowed; seals the signing keys and the external-id key */
    const char *issuer;         /* iss of our tokens, e.g. "https://127.0.0.1:8443" */
    const char *extid_domain;   /* NULL: "extid.iotsec.invalid" */
    int64_t token_lifetime_s;   /* 0: EXPOSE_TOKEN_LIFETIME_S */
    size_t token_cache_entries; /* verified-token cache size; 0: 16384 */
    size_t audit_queue_max;     /* audit records waiting for the writer; 0: 65536 */
};

/* Loads (or, on a fresh database, creates and seals) the signing key and the external-id key,
 * and the AF registry. */
int expose_nb_new(const struct expose_nb_config *cfg, struct expose_nb **out);

/* Flushes the audit queue (synchronously) and frees the service. Call after the servers that
 * use it have stopped, before the store closes. NULL is a no-op. */
void expose_nb_free(struct expose_nb *nb);

/* About once a second: when another instance changed AFs, keys, consents, groups or opt-outs
 * (the store topic moved), re-reads the AF registry and drops the token and decision caches,
 * so such a change takes effect here within about a second. */
void expose_nb_tick(struct expose_nb *nb);

/* Routes on the northbound face: POST /oauth2/token, GET /oauth2/jwks and
 * GET /.well-known/jwks.json, and two token-checked resources of ours:
 * GET /iotsec-exposure/v1/{scsAsId}/whoami and
 * GET /iotsec-exposure/v1/{scsAsId}/devices/{externalId}/authorisation (a monitoring
 * decision without subscribing). Remembers north for expose_nb_route(). */
int expose_nb_routes(struct expose_nb *nb, struct http_server *north);

/* Routes on the admin face (operator, pinned admin certificate with that SHA-256 hex):
 * /admin/v1/afs, /admin/v1/consents, /admin/v1/groups, /admin/v1/audit, signing-key
 * rotation. The string is borrowed and must outlive the server. */
int expose_admin_routes(struct expose_nb *nb, struct http_server *adm,
                        const char *admin_cert_sha256_hex);

/* Registers an API route on the northbound server given to expose_nb_routes() (call before
 * the server starts). Same semantics as http_server_route(). */
int expose_nb_route(struct expose_nb *nb, const char *method, const char *pattern,
                    http_handler_fn handler, void *user);

/* Resource-narrowed tokens (RFC 6749 scope words "<prefix>:<id>", e.g. "pin:pin-0123..."): a
 * service whose resources are granted per AF by their owners (PINs) names, at issuance, the
 * resources a token for that service carries, and checks those the AF asks for by name.
 * fn(user, af_id, asked, out, cap): asked is the space-separated resource ids the AF named
 * (without the prefix), "" for none; it writes the ids the token carries (space-separated,
 * without prefix) into out: for "" every resource granted now, else exactly asked, each granted
 * now. Returns IOTSEC_OK, IOTSEC_ERR_AUTH (one is not granted) or IOTSEC_ERR_INVALID (more than
 * fit: EXPOSE_RESOURCES_MAX). Called on a worker thread (store reads allowed). One service, set
 * before the server starts. */
#define EXPOSE_RESOURCES_MAX 255
typedef int (*expose_resources_fn)(void *user, const char *af_id, const char *asked, char *out,
                                   size_t cap);
void expose_nb_set_resources(struct expose_nb *nb, uint32_t service, const char *prefix,
                             expose_resources_fn fn, void *user);

/* ---- per request ---- */

/* The authenticated AF of one request: copies, valid as long as the caller keeps it. */
struct expose_af {
    char af_id[EXPOSE_ID_MAX + 1]; /* = scsAsId */
    uint32_t services;             /* registered services, as of this request */
    uint32_t token_scopes;         /* services named in the token's scope */
    char jti[JWT_STR_MAX + 1];
    int64_t token_exp;
    char cert_sha256_hex[65];                 /* the connection's (= the registered) certificate */
    char resources[EXPOSE_RESOURCES_MAX + 1]; /* the token's resource scope words, space-
                                               * separated ("pin:pin-01 pin:pin-02"), "" none */
    struct principal principal;               /* kind AF; id points into af_id of THIS struct: after
                                               * copying the struct call expose_af_fix() */
};

/* Re-points principal.id after af was copied by value. */
void expose_af_fix(struct expose_af *af);

/* The AF as registered now, without a request (e.g. a subscription reloaded at start, a
 * notification): services and token_scopes = its registered services (no token is involved),
 * jti empty, token_exp 0. IOTSEC_OK; IOTSEC_ERR_STATE for a disabled AF (*out filled with no
 * services); IOTSEC_ERR_NOTFOUND for an unknown one. Note that expose_nb_decide() already
 * takes the AF's services and state as registered now, whatever the struct says. */
int expose_nb_af_current(struct expose_nb *nb, const char *af_id, struct expose_af *out);

/* The AF's allow-list of notification destinations as registered now, copied into
 * rules->allow (the rest of rules is left alone). IOTSEC_ERR_NOTFOUND for an unknown AF. */
int expose_nb_af_destinations(struct expose_nb *nb, const char *af_id,
                              struct outbound_rules *rules);

/* Authenticates the request for an API whose service is `service` (one EXPOSE_SVC_ bit):
 * TLS client certificate present and registered to an active AF; "Authorization: Bearer"
 * token valid (ES256, our issuer, aud = that API, not expired, lifetime <= configured), bound
 * to THIS connection's certificate (cnf.x5t#S256), issued to the same AF, scope covering the
 * service, and the service still registered for the AF. Verified tokens are cached (key:
 * SHA-256 of the token and the certificate fingerprint; honours exp; bounded), so this costs
 * a hash and a table probe in the steady state. Returns IOTSEC_OK with *af filled, or a
 * negative code after answering: 401 + WWW-Authenticate: Bearer error="invalid_token"
 * (missing/invalid/expired/unbound token, unknown certificate), 403 + error=
 * "insufficient_scope" (scope or registration), 400 error="invalid_request" (malformed
 * header). Refusals are audited with the jwt_reason as reason. */
int expose_nb_authenticate(struct expose_nb *nb, struct http_request *req, uint32_t service,
                           struct expose_af *af);

/* Resolves an external ID presented by af to the SUPI (for internal use only: never echo it).
 * Only IDs made for af (consent time) resolve. Returns IOTSEC_OK, or a negative code after
 * answering: 400 (malformed ID, invalidParams externalId) or 403 cause "UNKNOWN_EXTERNAL_ID"
 * (unknown, or another AF's: the two are indistinguishable on purpose); refusals audited. */
int expose_nb_resolve(struct expose_nb *nb, struct http_request *req, const struct expose_af *af,
                      const char *external_id, char *supi, size_t cap);

/* The same without answering (IOTSEC_ERR_INVALID / IOTSEC_ERR_NOTFOUND), not audited. */
int expose_nb_resolve_quiet(struct expose_nb *nb, const char *af_id, const char *external_id,
                            char *supi, size_t cap);

/* The external ID of supi for af_id (for notifications and responses). out: EXTID_MAX. */
int expose_nb_external_id(struct expose_nb *nb, const char *af_id, const char *supi,
                          char out[EXTID_MAX]);

/* What a request acts on. */
struct expose_target {
    enum resource_kind kind;     /* RESOURCE_DEVICE, RESOURCE_GROUP, RESOURCE_AREA */
    const char *supi;            /* DEVICE: from expose_nb_resolve(), never from the AF */
    const char *group_id;        /* GROUP: the internal group id */
    const char *external_id;     /* what the AF named (DEVICE/GROUP): recorded in the audit */
    const char *subscription_id; /* an existing subscription, recorded in the audit; or NULL */
    const char *owner_af;        /* the AF that made that subscription; NULL for a new one */
    uint32_t service;            /* one EXPOSE_SVC_ bit */
    bool monitoring_opt_out;     /* the owner opted the device out of monitoring; the decision
                                  * also reads the stored opt-outs (iotsecctl consent opt-out) */
};

/* The single decision point: loads the consents that may apply (the device's own and those
 * of its groups, or the group's), calls authz_decide(), appends the audit record. Returns
 * IOTSEC_OK with *res filled (allow or deny: look at res->allow), IOTSEC_ERR_BUSY (audit
 * queue full: nothing decided), IOTSEC_ERR_IO (store). request_id may be NULL (e.g. a
 * notification: "notify"). res->consent_id is NOT valid after the call (set to NULL);
 * consent_id_out (may be NULL, EXPOSE_ID_MAX + 1 bytes) receives it. */
int expose_nb_decide(struct expose_nb *nb, const struct expose_af *af, enum action a,
                     const struct expose_target *t, const char *request_id,
                     struct authz_result *res, char *consent_id_out);

/* expose_nb_decide() for a request: returns IOTSEC_OK only when allowed; otherwise it has
 * answered 403 (cause = the authz reason, e.g. "DENY_NO_CONSENT") or 503 + Retry-After. */
int expose_nb_authorize(struct expose_nb *nb, struct http_request *req, const struct expose_af *af,
                        enum action a, const struct expose_target *t, struct authz_result *res);

/* Audits a decision the handler made itself (e.g. scsAsId in the path is not the token's AF:
 * principal af, allow false, reason "DENY_OTHER_AF_PATH"). resource: no SUPI. */
int expose_nb_audit(struct expose_nb *nb, const struct expose_af *af, const char *action,
                    const char *resource, bool allow, const char *reason, const char *request_id);

/* Audits a request the handler allowed itself, before it answers: IOTSEC_OK, or (the audit
 * queue full) it has answered 503 + Retry-After, so that nothing is served unaudited. */
int expose_nb_audit_allow(struct expose_nb *nb, struct http_request *req,
                          const struct expose_af *af, const char *action, const char *resource,
                          const char *reason);

/* Verifies the whole audit table of an open database (read-only use; the daemon's admin face
 * and `iotsecctl audit verify`, which reads the file itself and trusts no daemon): every row's
 * seq is its position and its hash chains from genesis. Returns IOTSEC_OK with *count and
 * *head; IOTSEC_ERR_AUTH (altered, out of place or missing) or IOTSEC_ERR_INVALID (malformed
 * row) with *bad_seq = that record's position; IOTSEC_ERR_IO / NOMEM. */
int expose_audit_verify_db(struct store_conn *db, uint64_t *count, int64_t *bad_seq,
                           struct audit_anchor *head);

/* The AADs of expose_signing_keys.sealed_d (by kid) and expose_secrets.sealed (by name), for
 * KEK rotation. */
size_t nb_signing_key_aad(const char *kid, int64_t unused, char *buf, size_t cap);
size_t nb_secret_aad(const char *name, int64_t unused, char *buf, size_t cap);

#endif
