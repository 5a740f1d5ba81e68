/* Personal IoT Networks (TR 33.882, issue 14; design and wire contract: docs/pin.md).
 * Roles of subscriptions (PEGC, PEMC), PINs owned by the PEMC's subscription owner, PINE
 * join/approval with PIN-scoped credentials (a per-PIN CA), PINE authentication end to end
 * through the PEGC, the authorisation decision the PEGC enforces, revocation.
 *
 * This header is the capability's whole interface: the model and pure logic (pin.c), the SQL
 * (pin_store.c), the single-use nonces (pin_nonce.c) and the faces (pin_http.c: device face,
 * pin_admin_http.c: the operator's side). */
#ifndef IOTSEC_PIN_H
#define IOTSEC_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/pin_crypto.h"
#include "crypto/seal.h"
#include "store/store.h"

/* The schema (see daemon/migrations.c for their numbers). */
extern const char PIN_MIGRATION_1[];
extern const char PIN_MIGRATION_2[]; /* one-time enrolment codes */
extern const char PIN_MIGRATION_3[]; /* symmetric PINE credentials */

#define PIN_DNN_MAX      16
#define PIN_QOS_MAX      16
#define PIN_GATEWAYS_MAX 8
#define PIN_LIFETIME_MIN 60
#define PIN_LIFETIME_MAX 86400
#define PIN_NAME_MAX     64
#define PIN_OWNER_MAX    64
#define PIN_POLICY_MAX   2048 /* the policy's JSON text */

/* ---- Model and pure logic (pin.c) ---- */

struct pin_policy {
    char dnns[PIN_DNN_MAX][PIN_ID_MAX + 1];
    size_t n_dnns;
    int qos[PIN_QOS_MAX]; /* 5QI 1..255 */
    size_t n_qos;
    int64_t max_lifetime_s;
};

struct json_t;
/* Parses {"dnns":[..], "qos_classes":[..], "max_lifetime_s":n} strictly (1..16 distinct DNNs
 * of visible ASCII, 1..16 classes 1..255, lifetime 60..86400; default lifetime 3600).
 * IOTSEC_ERR_INVALID with the offending member in *bad. */
int pin_policy_parse(const struct json_t *o, struct pin_policy *p, const char **bad);
struct json_t *pin_policy_json(const struct pin_policy *p);
bool pin_policy_has_dnn(const struct pin_policy *p, const char *dnn);
bool pin_policy_has_qos(const struct pin_policy *p, int qos);

/* What an approval grants one PINE: a subset of the PIN's policy. */
struct pin_grant {
    char dnns[PIN_DNN_MAX][PIN_ID_MAX + 1];
    size_t n_dnns;
    int qos_class;
    int64_t lifetime_s;
};

/* The grant an approval asks for ({dnns?, qos_class?, lifetime_s?}), checked against the
 * policy: defaults every DNN, the first class, the maximum lifetime. IOTSEC_ERR_INVALID (bad
 * shape) or IOTSEC_ERR_STATE (outside the policy), *bad names the member. */
int pin_grant_parse(const struct json_t *o, const struct pin_policy *p, struct pin_grant *g,
                    const char **bad);

/* "<prefix><2*nbytes hex>", random. */
void pin_random_id(const char *prefix, size_t nbytes, char *out, size_t cap);

enum pin_pine_state { PINE_PENDING = 0, PINE_APPROVED = 1, PINE_REFUSED = 2 };
enum pin_gw_state { GW_ACTIVE = 0, GW_SUSPENDED = 1 };

struct pin_net {
    char pin_id[PIN_ID_MAX + 1];
    char name[PIN_NAME_MAX + 1];
    char owner[PIN_OWNER_MAX + 1];
    char policy_json[PIN_POLICY_MAX];
    uint8_t ca_pub[PIN_PUB_LEN];
    uint8_t ca_sealed[PIN_KEY_LEN + SEAL_OVERHEAD]; /* the CA seed, sealed, AAD = pin_id */
    int64_t created_at;
};

struct pin_gw {
    char gw_id[PIN_ID_MAX + 1];
    char supi[PIN_SUPI_MAX + 1];
    enum pin_gw_state state;
};

struct pin_pine {
    char pine_id[PIN_ID_MAX + 1];
    char name[PIN_ID_MAX + 1];
    uint8_t pub[PIN_PUB_LEN]; /* Ed25519 key; a symmetric PINE's: its key-derivation salt */
    bool symmetric;           /* no public key: a PIN-scoped MAC key (docs/pin.md) */
    uint8_t sym_sealed[PIN_KEY_LEN + SEAL_OVERHEAD]; /* that key, sealed, AAD pin_id "/" pine_id */
    enum pin_pine_state state;
    char grant_json[PIN_POLICY_MAX]; /* the approved grant, "" before */
    int64_t created_at;
};

/* A one-time enrolment code the PEMC registered for a PINE of that name (docs/pin.md): only
 * the code's hash is stored; single use; expires; a few wrong proofs lock it. */
#define PIN_CODE_ATTEMPTS 5
#define PIN_CODE_TTL_MIN  1
#define PIN_CODE_TTL_MAX  86400
#define PIN_CODE_TTL_DEF  600

struct pin_enrol {
    char name[PIN_ID_MAX + 1];
    uint8_t code_hash[PIN_MAC_LEN];
    char grant_json[PIN_POLICY_MAX]; /* what the PINE gets on joining with the code */
    int64_t expires_at;              /* unix seconds */
    int attempts;                    /* wrong proofs so far */
};

enum pin_enrol_verdict {
    PIN_ENROL_OK,
    PIN_ENROL_EXPIRED,
    PIN_ENROL_LOCKED, /* PIN_CODE_ATTEMPTS wrong proofs: the PEMC must issue a new code */
    PIN_ENROL_WRONG,  /* the proof does not verify (wrong code, or a key the code was not
                       * proved over) */
};

/* Judges a join's code proof for public key pub against the stored enrolment at now
 * (constant-time comparison; expiry and lock come first, so a locked code is not an
 * oracle). pub NULL: the proof of a symmetric join (pin_sym_join_proof). */
enum pin_enrol_verdict pin_enrol_judge(const struct pin_enrol *e, const char *pin_id,
                                       const uint8_t pub[PIN_PUB_LEN],
                                       const uint8_t proof[PIN_MAC_LEN], int64_t now);

/* The decision the network gives a PEGC for a PINE after authentication, as the compact JSON
 * text the PIN's CA signs. */
int pin_decision_text(const char *pin_id, const char *pine_id, const char *gw_id,
                      const struct pin_grant *g, int64_t expires_at,
                      const uint8_t nonce[PIN_NONCE_LEN], char **out, size_t *len);

/* ---- Single-use server nonces (pin_nonce.c), per instance ---- */

struct pin_nonces;
int pin_nonces_new(size_t max, int64_t ttl_ms, struct pin_nonces **out);
void pin_nonces_free(struct pin_nonces *n);
/* IOTSEC_OK, or IOTSEC_ERR_BUSY when max are outstanding. */
int pin_nonce_issue(struct pin_nonces *n, int64_t now_ms, uint8_t out[PIN_NONCE_LEN]);
/* Consumes it: IOTSEC_OK once per issued, unexpired nonce; IOTSEC_ERR_AUTH otherwise. */
int pin_nonce_take(struct pin_nonces *n, int64_t now_ms, const uint8_t nonce[PIN_NONCE_LEN]);
size_t pin_nonces_outstanding(struct pin_nonces *n);

/* ---- Store (pin_store.c): reads on the caller's reader, writes as jobs ---- */

int pin_roles_get(struct store *s, const char *supi, bool *gateway, bool *manager);
int pin_net_get(struct store *s, const char *pin_id, struct pin_net *out);
/* The gateway row of supi in pin_id (IOTSEC_ERR_NOTFOUND: it does not serve that PIN). */
int pin_gw_of(struct store *s, const char *pin_id, const char *supi, struct pin_gw *out);
int pin_gw_by_id(struct store *s, const char *pin_id, const char *gw_id, struct pin_gw *out);
int pin_pine_get(struct store *s, const char *pin_id, const char *pine_id, struct pin_pine *out);
/* The enrolment code registered for a PINE name in pin_id (IOTSEC_ERR_NOTFOUND: none). */
int pin_enrol_get(struct store *s, const char *pin_id, const char *name, struct pin_enrol *out);

typedef void (*pin_net_fn)(const struct pin_net *n, void *ctx);
typedef void (*pin_gw_fn)(const struct pin_gw *g, void *ctx);
typedef void (*pin_pine_fn)(const struct pin_pine *p, void *ctx);
/* owner NULL: every PIN (admin). At most limit. */
int pin_net_list(struct store *s, const char *owner, size_t limit, pin_net_fn fn, void *ctx);
/* The PINs a gateway SUPI serves. */
int pin_net_list_served(struct store *s, const char *supi, size_t limit, pin_net_fn fn, void *ctx);
int pin_gw_list(struct store *s, const char *pin_id, pin_gw_fn fn, void *ctx);
int pin_pine_list(struct store *s, const char *pin_id, size_t limit, pin_pine_fn fn, void *ctx);

/* What the PIN's owner granted an AF on that PIN (docs/pin.md, key issue 2). */
enum pin_af_service {
    PIN_AF_ELEMENTS = 1u << 0, /* read the PIN's elements by PIN-local ids */
    PIN_AF_QOS = 1u << 1,      /* request QoS for a PINE's flows */
    PIN_AF_ROUTING = 1u << 2,  /* set the PIN's routing policy */
};
/* "elements", "qos", "routing" -> the bit; 0 for another name. */
uint32_t pin_af_service_from_name(const char *name);
/* *services: 0 when no grant. */
int pin_af_grant_get(struct store *s, const char *pin_id, const char *af_id, uint32_t *services);
/* The grant and the PIN in one read (the northbound face's every request): IOTSEC_ERR_NOTFOUND
 * when af_id holds no grant on pin_id (or the PIN is gone). */
int pin_af_grant_net(struct store *s, const char *pin_id, const char *af_id, uint32_t *services,
                     struct pin_net *out);
/* What the northbound face shows of a PIN to af_id, in one read: first the grant row if af_id
 * holds one (id pin_id, name the PIN's name, value the PIN_AF_* services), then the gateways
 * (id gw_id, name "", value enum pin_gw_state), then, only under a grant, the elements (pine_id,
 * name, enum pin_pine_state), each by id; at most max_elements elements. No keys, no SUPIs. */
enum pin_view_row { PIN_VIEW_GRANT, PIN_VIEW_GATEWAY, PIN_VIEW_ELEMENT };
typedef void (*pin_view_fn)(enum pin_view_row row, const char *id, const char *name, int64_t value,
                            void *ctx);
int pin_af_view(struct store *s, const char *pin_id, const char *af_id, size_t max_elements,
                pin_view_fn fn, void *ctx);
/* The PINs af_id holds a grant on (at most limit, by pin_id). */
typedef void (*pin_id_fn)(const char *pin_id, void *ctx);
int pin_af_grants_of(struct store *s, const char *af_id, size_t limit, pin_id_fn fn, void *ctx);

/* One write; fill the members its kind reads. */
enum pin_write_kind {
    PIN_W_ROLES,      /* supi, gateway, manager */
    PIN_W_CREATE,     /* net, gws[n_gws] */
    PIN_W_UPDATE,     /* net.pin_id, net.name ("" keeps), net.policy_json ("" keeps) */
    PIN_W_DELETE,     /* net.pin_id */
    PIN_W_JOIN,       /* net.pin_id, pine */
    PIN_W_APPROVE,    /* net.pin_id, pine.pine_id, pine.grant_json */
    PIN_W_REFUSE,     /* net.pin_id, pine.pine_id */
    PIN_W_REMOVE,     /* net.pin_id, pine.pine_id */
    PIN_W_GW_STATE,   /* net.pin_id, gw.gw_id, gw.state */
    PIN_W_GW_ADD,     /* net.pin_id, gw (IOTSEC_ERR_CONFLICT: a gateway already, or 8 of them) */
    PIN_W_GW_REMOVE,  /* net.pin_id, gw.gw_id (IOTSEC_ERR_CONFLICT: the PIN's last gateway) */
    PIN_W_AF_GRANT,   /* net.pin_id, af_id, af_services (0: revoke) */
    PIN_W_ROUTING,    /* net.pin_id, af_id, net.policy_json (the routing policy) */
    PIN_W_ENROL_SET,  /* net.pin_id, enrol (a new code for that name: attempts 0) */
    PIN_W_ENROL_FAIL, /* net.pin_id, enrol.name, enrol.code_hash: one more wrong proof */
    PIN_W_ENROL_USE,  /* net.pin_id, enrol.name, enrol.code_hash, pine (approved, with
                       * enrol.grant_json): consumes the code once; IOTSEC_ERR_CONFLICT when it
                       * is gone, expired (now) or locked, or the PIN was deleted */
};

struct pin_write {
    enum pin_write_kind kind;
    char supi[PIN_SUPI_MAX + 1];
    bool gateway, manager;
    struct pin_net net;
    struct pin_gw gws[PIN_GATEWAYS_MAX];
    size_t n_gws;
    struct pin_gw gw;
    struct pin_pine pine;
    char af_id[PIN_ID_MAX + 1];
    uint32_t af_services; /* PIN_AF_* */
    struct pin_enrol enrol;
    int64_t now;
};

/* The store_run_fn of every write (arg: struct pin_write *). IOTSEC_ERR_NOTFOUND when the
 * row it changes is not there (or not in the state the change needs); bumps the topic "pin". */
int pin_write_run(struct store_conn *c, void *arg);

/* ---- The capability and its faces ---- */

struct pin;
struct http_server;

struct expose_nb;
struct pin_config {
    struct store *store;        /* borrowed */
    struct expose_nb *nb;       /* borrowed, may be NULL: no northbound PIN API */
    const struct seal_kek *kek; /* borrowed */
    char admin_cert_sha256[65];
};

int pin_new(const struct pin_config *cfg, struct pin **out);
void pin_free(struct pin *p); /* NULL is fine; after the servers and the store are closed */
/* POST /device/v1/pin/nonce and POST /device/v1/pin/{op} on the device face. */
int pin_device_routes(struct pin *p, struct http_server *dev);
/* /admin/v1/subscribers/{supi}/pin-roles, /admin/v1/pins[/{pinId}] on the admin face. */
int pin_admin_routes(struct pin *p, struct http_server *adm);
void pin_tick(struct pin *p, int64_t now_ms);
/* The northbound PIN API (pin_nb.c) through expose_nb_route: /3gpp-pin/v1/{afId}/pins/... */
int pin_nb_routes(struct pin *p);

/* /metrics: iotsec_pins, iotsec_pin_elements (pin_metrics_store.c). */
struct store;
struct strbuf;
int pin_store_metrics(struct store *s, struct strbuf *out);

/* The AAD of pin_networks.ca_sealed (key: pin_id) and pin_elements.sym_sealed (key:
 * "pin_id/pine_id"): the key itself. For KEK rotation. */
size_t pin_sealed_aad(const char *key, int64_t unused, char *buf, size_t cap);

#endif
