/* Internals of the northbound service (src/expose/nb_*.c, expose_store.c) and its tests. */
#ifndef IOTSEC_EXPOSE_NB_INT_H
#define IOTSEC_EXPOSE_NB_INT_H

#include <pthread.h>

#include "expose/northbound.h"

#define NB_AF_MAX         4096 /* registered AFs held in memory */
#define NB_AUDIT_TEXT     256  /* longest text field we put in an audit record */
#define NB_DEFAULT_DOMAIN "extid.iotsec.invalid"

/* ---- AF registry (memory copy of expose_afs; the table is the truth) ---- */

struct nb_af {
    char af_id[EXPOSE_ID_MAX + 1];
    char name[EXPOSE_AF_NAME_MAX + 1];
    char cert_sha256_hex[65];
    uint32_t services;
    bool active;
    struct outbound_rules dest; /* allow: notification destinations allowed besides public */
    int64_t token_gen; /* bumped by each disable: tokens of older generations are dead */
};

/* ---- verified-token cache ---- */

struct nb_cache_entry {
    uint8_t key[32]; /* SHA-256(token || 0x00 || certificate SHA-256) */
    int64_t exp;     /* 0: empty slot */
    char sub[JWT_STR_MAX + 1];
    char jti[JWT_STR_MAX + 1];
    uint32_t scopes;
    uint32_t service; /* the API it was verified for (its aud) */
    int64_t token_gen; /* the AF's token generation it was issued in */
    char resources[EXPOSE_RESOURCES_MAX + 1]; /* the scope's "<prefix>:<id>" words */
};

struct nb_cache;

/* entries is rounded up to a multiple of the associativity (4). */
struct nb_cache *nb_cache_new(size_t entries);
void nb_cache_free(struct nb_cache *c);
void nb_cache_key(const char *token, size_t len, const uint8_t cert_sha256[32], uint8_t key[32]);
/* A live (exp > now) entry for key: copied into out, true. */
bool nb_cache_get(struct nb_cache *c, const uint8_t key[32], int64_t now,
                  struct nb_cache_entry *out);
/* Inserts; evicts an expired entry of the set, else the one that expires first. */
void nb_cache_put(struct nb_cache *c, const struct nb_cache_entry *e, int64_t now);
/* Drops every entry (key retired, AF disabled, consent revoked). */
void nb_cache_clear(struct nb_cache *c);
size_t nb_cache_count(struct nb_cache *c, int64_t now);

/* ---- audit queue ---- */

struct nb_audit_rec {
    struct audit_record r;
    char principal[NB_AUDIT_TEXT], action[64], resource[NB_AUDIT_TEXT], reason[64], request_id[40];
};

struct nb_audit {
    pthread_mutex_t mu;
    struct nb_audit_rec *pending; /* appended, not yet taken by a flush job */
    size_t n_pending, cap, max;
    struct nb_audit_rec *retry; /* taken by a job whose commit failed: next job writes them */
    size_t n_retry;
    bool flush_queued;  /* a flush job is queued and has not started */
    unsigned in_flight; /* flush jobs submitted, done not yet run */
    pthread_cond_t idle;
    struct store *store;
};

int nb_audit_init(struct nb_audit *a, struct store *s, size_t max);
/* Queues a record and makes sure a flush job is queued (which chains and writes it).
 * IOTSEC_ERR_BUSY when full. */
int nb_audit_add(struct nb_audit *a, int64_t time_ms, const char *principal, const char *action,
                 const char *resource, bool allow, const char *reason, const char *request_id);
/* Returns once every record added before the call has been committed (or its commit failed):
 * an empty job queued behind their flush jobs, which the store runs in submission order. For
 * readers of the log (the admin face), which must see every decision answered before them. */
int nb_audit_barrier(struct nb_audit *a);
/* Waits until every record is committed (or the store refuses), then frees. */
void nb_audit_fini(struct nb_audit *a);

/* ---- the service ---- */

struct expose_nb {
    struct store *store;
    const struct seal_kek *kek;
    char issuer[256];
    char domain[EXTID_DOMAIN_MAX + 1];
    int64_t lifetime;
    struct http_server *north;
    struct jwt_keyset *keys;
    struct hmac_sha256 extid_key;
    pthread_rwlock_t lock; /* afs */
    struct nb_af *afs;
    size_t n_afs;
    struct nb_cache *cache;
    struct nb_dcache *dcache; /* what decisions read from the store (nb_dcache.c) */
    struct nb_audit audit;
    int64_t topic_seq; /* NB_TOPIC as last seen (expose_nb_tick's thread) */
    const char *admin_fp;
    /* resource-narrowed tokens (expose_nb_set_resources) */
    uint32_t res_service;
    char res_prefix[16];
    expose_resources_fn res_fn;
    void *res_user;
};

int64_t nb_now(void);
int64_t nb_now_ms(void);

/* Copies the AF with that id or certificate fingerprint (either may be NULL) into out. */
bool nb_af_find(struct expose_nb *nb, const char *af_id, const char *cert_hex, struct nb_af *out);
/* Re-reads the registry from the store. */
int nb_afs_reload(struct expose_nb *nb);

/* The topic every write of AFs, keys, consents, groups and opt-outs bumps, so that other
 * instances drop what they cached of them (expose_nb_tick). */
#define NB_TOPIC "expose"
#define NB_AUDIT_TOPIC "expose-audit" /* its row is the audit log's lock (nb_audit.c) */
/* store_write_sync of run, which also bumps NB_TOPIC in the same transaction. */
int nb_write_sync(struct expose_nb *nb, store_run_fn run, void *arg);

/* The API audience of a service ("3gpp-monitoring-event"), NULL for none or several. */
const char *nb_service_audience(uint32_t service);
/* "monitoring-event nidd" for a set of services. */
void nb_services_scope(uint32_t services, char *out, size_t cap);

/* ---- SQL (expose_store.c) ---- */

int nb_store_afs_load(struct store_conn *c, struct nb_af *afs, size_t cap, size_t *n);
/* Sets an AF's allow-list of notification destinations (text as outbound_allow_format
 * writes it). IOTSEC_ERR_NOTFOUND for an unknown AF. */
int nb_store_af_set_destinations(struct store_conn *c, const char *af_id, const char *text);
/* Sets an AF's state ("active", "disabled"); a disable also starts a new token generation.
 * IOTSEC_ERR_NOTFOUND for an unknown AF. */
int nb_store_af_set_state(struct store_conn *c, const char *af_id, const char *state);
int nb_store_keys_load(struct expose_nb *nb, struct store_conn *c, size_t *n);
int nb_store_key_insert(struct expose_nb *nb, struct store_conn *c, const struct jwt_key *key);
int nb_store_secret(struct expose_nb *nb, struct store_conn *c, const char *name, uint8_t *v,
                    size_t len, bool create);
int nb_store_extid_lookup(void *conn, const char *af_id, const char *external_id, char *supi,
                          size_t cap);
/* Consents that may apply to a device (its own and its groups') or a group, any AF. The
 * strings live in buf (cap bytes). Returns the number found (<= max) or a negative code. */
struct nb_consents {
    struct consent c[32];
    const char *groups[16];
    size_t n, n_groups;
    char buf[8192];
    size_t used;
};
int nb_store_consents(struct store_conn *c, const struct expose_target *t, struct nb_consents *out);
/* Has the device's owner opted it out of monitoring? */
int nb_store_opted_out(struct store_conn *c, const char *supi, bool *out);
/* Runs sql, an "UPDATE ... SET <when> = ?1 WHERE <key> = ?2 AND <when> IS NULL", once: a
 * retirement or revocation. IOTSEC_ERR_NOTFOUND when no row changed (unknown, or already). */
int nb_store_stamp(struct store_conn *c, const char *sql, int64_t when, const char *key);

/* nb_dcache.c: the consents and opt-out of a target (id: its SUPI or group id) as last read
 * from the store, valid until the next nb_dcache_invalidate(). A filler takes
 * nb_dcache_gen() BEFORE reading the store and gives it to nb_dcache_put(). Writers of
 * consents, groups and opt-outs call nb_dcache_invalidate() after committing, before
 * answering. */
#define NB_DCACHE_ENTRIES 4096
struct nb_dcache;
struct nb_dcache *nb_dcache_new(size_t entries);
void nb_dcache_free(struct nb_dcache *c);
uint64_t nb_dcache_gen(struct nb_dcache *c);
void nb_dcache_invalidate(struct nb_dcache *c);
bool nb_dcache_get(struct nb_dcache *c, const struct expose_target *t, const char *id,
                   struct nb_consents *out, bool *opted_out);
void nb_dcache_put(struct nb_dcache *c, uint64_t gen, const struct expose_target *t, const char *id,
                   const struct nb_consents *cs, bool opted_out);

/* nb_probe.c: our own token-checked resources (whoami, authorisation dry run) */
int nb_probe_routes(struct expose_nb *nb);

/* nb_admin.c: JSON helpers shared with the token endpoint */
void nb_json_error(struct http_request *req, int status, const char *error, const char *desc);

#endif
