/* Actions on findings (TR 33.861 "isolate"): a policy maps each TS 29.520 finding to
 * actions, and the daemon carries them out through the subscriber capability.
 *   quarantine  the subscription goes to `quarantined` (actor "policy"): the SBI face then
 *               refuses its authentication; only an operator releases it;
 *   rotate      over the air only: for a device that onboarded through provisioning, a new
 *               version waits for it (the rotate hook, in the action's transaction); the
 *               current K stays valid until the device fetches and confirms it. With no
 *               over-the-air path (no registration, or no hook) nothing is rotated: a
 *               server-side K the device never learns would lock it out; the audit says
 *               "skipped: no over-the-air path; quarantine instead" (a rule that must
 *               isolate such devices lists quarantine too);
 *   notify      the finding's JSON is POSTed to the configured webhooks (the outbound
 *               engine of http/outbound.h: bounded queue, retries, timeouts; https, and
 *               only to public addresses unless allow-listed in iotsec.yaml);
 *   throttle    a rate recorded for the UPF to read (GET /admin/v1/policy/throttles).
 * Actions are idempotent: an action is "open" for (SUPI, action, exception) until the
 * operator releases the device; the same finding again (or the same alarm's next window)
 * finds it open and does nothing. Every action, and every release, is a row of an
 * append-only table (triggers refuse UPDATE and DELETE).
 *
 * policy.c is pure (decide, parse, encode); policy_store.c its SQL; policy_http.c the admin
 * face; policy_service.c the daemon's instance (finding -> job -> actions); policy_notify.c
 * the webhook delivery thread. This header is the capability's whole interface. */
#ifndef IOTSEC_POLICY_H
#define IOTSEC_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"
#include "http/outbound.h"

enum policy_action {
    POLICY_QUARANTINE,
    POLICY_ROTATE,
    POLICY_NOTIFY,
    POLICY_THROTTLE,
    POLICY_ACTION_COUNT,
};
#define POLICY_BIT(a) (1u << (a))

const char *policy_action_name(enum policy_action a); /* "quarantine", ... */
int policy_action_parse(const char *name, enum policy_action *out);

#define POLICY_MAX_RULES    32
#define POLICY_MAX_WEBHOOKS 4
#define POLICY_URL_MAX      256

/* A rule: findings of `exception` (-1: any) at excepLevel >= min_level and confidence >=
 * min_confidence get `actions`. */
struct policy_rule {
    int exception;
    unsigned min_level;
    unsigned actions; /* POLICY_BIT()s */
    unsigned min_confidence; /* 0..100; the analytics' 90+ is fleet convergence or two
                              * independent signals (docs/analytics.md) */
};

struct policy {
    struct policy_rule rules[POLICY_MAX_RULES]; /* first match wins */
    unsigned nrules;
    unsigned default_actions; /* when no rule matches */
    char webhooks[POLICY_MAX_WEBHOOKS][POLICY_URL_MAX];
    unsigned nwebhooks;
    uint32_t throttle_kbps; /* the rate a throttle action records */
    bool observe;           /* "mode":"observe": decide and count, act on nothing */
};

/* The default: quarantine + notify only on high-confidence findings (confidence >= 90:
 * fleet convergence on a victim, or two independent signals) of SUSPICION_OF_DDOS_ATTACK,
 * WRONG_DESTINATION_ADDRESS and TOO_FREQUENT_SERVICE_ACCESS; anything else -> notify; no
 * webhook; throttle 64 kbit/s; enforcing. */
void policy_default(struct policy *p);
/* The actions for a finding of exception exc, level and confidence. */
unsigned policy_decide(const struct policy *p, enum an_exception exc, unsigned level,
                       unsigned confidence);

/* {"rules":[{"exception":"SUSPICION_OF_DDOS_ATTACK"|"*","min_level":2,"min_confidence":90,
 * "actions":["quarantine","notify"]}],"default":["notify"],"webhooks":["http://..."],
 * "throttle_kbps":64,"mode":"enforce"|"observe"}. Strict:
 * unknown keys, names, or bad URLs are IOTSEC_ERR_INVALID with the JSON pointer in err. */
int policy_from_json(const char *text, size_t len, struct policy *out, char *err, size_t err_len);
json_t *policy_to_json(const struct policy *p);

/* ---- Persistence (policy_store.c) ------------------------------------------------------ */

struct store;
struct store_conn;
struct seal_kek;

extern const char POLICY_MIGRATION_1[];
extern const char POLICY_MIGRATION_2[]; /* principal, reason, finding_id */
extern const char POLICY_MIGRATION_OBSERVE[]; /* what an observing policy would have done */

/* Observe mode's record: per action, the findings it would have acted on and the distinct
 * devices; per action and exception, the findings. */
struct policy_observed {
    char action[16];
    char exception[48]; /* "" for the per-action totals */
    int64_t findings, devices;
};
typedef void (*policy_observed_fn)(const struct policy_observed *o, void *ctx);
int policy_store_observed(struct store *s, policy_observed_fn fn, void *ctx);

#define POLICY_PRINCIPAL_MAX 128
#define POLICY_REASON_MAX    256

/* One row of the audit. */
struct policy_record {
    int64_t id, at;
    char supi[ANALYTICS_SUPI_MAX];
    char action[16];    /* an action name, or "release" */
    char exception[48]; /* "" for a release */
    unsigned level;
    int64_t window;
    char actor[16];     /* "policy" or "admin" */
    char outcome[64];   /* "quarantined", "duplicate"..., "delivered", "released" */
    uint32_t rate_kbps;
    char principal[POLICY_PRINCIPAL_MAX]; /* an operator's action: who ("" for the policy) */
    char reason[POLICY_REASON_MAX];       /* ... and why */
    int64_t finding_id;                   /* the finding acted on (an_findings.id); 0: none */
};

int policy_store_load(struct store *s, struct policy *out); /* IOTSEC_ERR_NOTFOUND: none */
typedef void (*policy_record_fn)(const struct policy_record *r, void *ctx);
/* Rows with id > after (0 to start), of supi (NULL: all), at most limit. */
int policy_store_list(struct store *s, const char *supi, int64_t after, size_t limit,
                      policy_record_fn fn, void *ctx);
/* Open throttle actions (supi, rate). */
int policy_store_throttles(struct store *s, policy_record_fn fn, void *ctx);

/* ---- The daemon's instance (policy_service.c, policy_notify.c, policy_http.c) ------------ */

struct policy_service;
struct http_server;
struct http_request;

struct policy_service_options {
    struct store *store;
    const struct seal_kek *kek;   /* for the subscriber ops */
    char admin_cert_sha256[65];
    unsigned notify_queue;        /* webhook deliveries waiting; 0 = 256 */
    unsigned notify_timeout_ms;   /* per attempt; 0 = 2000 */
    unsigned notify_attempts;     /* 0 = 3 */
    struct outbound_rules webhook_rules; /* lab switch (http to loopback), global allow-list */
    const char *webhook_ca_file;         /* NULL: the system CA store */
};

struct policy_service *policy_service_new(const struct policy_service_options *o);
/* Stops the delivery thread (dropping what is queued) and frees. Call after the store's
 * last job has completed or before closing the store. */
void policy_service_free(struct policy_service *ps);
/* An analytics_finding_fn (arg: the service): decides and queues the actions (a store job);
 * never blocks. Findings without a SUPI are only notified. */
void policy_on_finding(void *arg, const struct an_finding *f, const char *supi, const char *json);
/* Waits until every finding queued so far has been acted on (tests, benchmark). */
void policy_service_sync(struct policy_service *ps);

/* The operator's release and quarantine: ONE operation behind every admin route that
 * changes a device's quarantine (POST /admin/v1/devices/{supi}/release|quarantine and the
 * subscriber API's .../{supi}/release|quarantine): the state change, the device's open
 * actions closed on a release (the same finding then acts again), an audit row with the
 * principal (the admin certificate, and the operator's name when given) and the reason, in
 * one transaction; the enforcer told after the commit. Body (optional for a release):
 * {"reason": "...", "by": "name"}; a quarantine needs a reason. Answers req itself: 200
 * {"supi","state","principal","reason"}, 400, 404, 409. */
void policy_operator_request(struct policy_service *ps, struct http_request *req, const char *supi,
                             bool quarantine);
/* The same synchronously (store_write_sync; tests, tools). IOTSEC_ERR_NOTFOUND,
 * IOTSEC_ERR_STATE (not quarantined / not active or suspended). */
int policy_operator(struct store *s, const char *supi, bool quarantine, const char *principal,
                    const char *reason);

/* Enforcement beyond the subscription state: fn(arg, supi, true) after a quarantine is
 * committed, fn(arg, supi, false) after a release; on the store's writer thread, so it must
 * be quick. NULL: none. Call before the daemon serves. */
typedef void (*policy_enforce_fn)(void *arg, const char *supi, bool quarantined);
void policy_set_enforcer(struct policy_service *ps, policy_enforce_fn fn, void *arg);

/* Rotation on suspicion: stages an over-the-air version for supi on conn, inside the policy's
 * store job (the provision capability's provision_stage_rotation; the daemon wires it, so
 * the policy does not depend on provisioning). IOTSEC_OK: a version waits (*version);
 * IOTSEC_ERR_NOTFOUND: no over-the-air path; IOTSEC_ERR_STATE: revoked/expired; else a
 * database error (rolls the job back). NULL (the default): no over-the-air path for anyone.
 * Call before the daemon serves. */
typedef int (*policy_rotate_fn)(void *arg, struct store_conn *conn, const char *supi,
                                int64_t now, const char *actor, uint32_t *version);
void policy_set_rotator(struct policy_service *ps, policy_rotate_fn fn, void *arg);

/* ---- Optional: an nftables set of quarantined UE addresses (policy_nft.c) ---------------- */

struct policy_nft;
/* Creates (afresh) table inet iotsec with sets quarantine4/quarantine6 and rules dropping
 * what their members send (forward and input hooks). Needs CAP_NET_ADMIN. NULL with a reason
 * in err. */
struct policy_nft *policy_nft_open(char *err, size_t err_len);
void policy_nft_close(struct policy_nft *n);
/* Adds (quarantined) or removes an address. Thread-safe. */
int policy_nft_set(struct policy_nft *n, const struct an_addr *a, bool quarantined);
/* The table as `nft list table inet iotsec` prints it (tests). */
int policy_nft_list(struct policy_nft *n, char *out, size_t len);

/* Checks a webhook URL against the service's destination policy (resolving its host): the
 * PUT handler's check. IOTSEC_OK or IOTSEC_ERR_INVALID with *why. */
int policy_webhook_check(struct policy_service *ps, const char *url, const char **why);

/* GET/PUT /admin/v1/policy, GET /admin/v1/policy/actions, GET /admin/v1/policy/throttles,
 * POST /admin/v1/devices/{supi}/release|quarantine, GET /admin/v1/devices/{supi}/actions
 * (each action with its finding's evidence: "why was this device cut off?"). */
int policy_admin_routes(struct http_server *srv, struct policy_service *ps);
/* /metrics: iotsec_policy_actions_total{action,outcome}, iotsec_devices_quarantined
 * (policy_metrics_store.c). */
struct strbuf;
int policy_store_metrics(struct store *s, struct strbuf *out);

#endif
