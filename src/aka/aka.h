/* The UDM/AUSF side of 5G authentication (TS 33.501 §6.1.3) over the SBI:
 *   Nudm_UEAU   POST /nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data
 *   Nausf_UEAuthentication
 *               POST /nausf-auth/v1/ue-authentications
 *               PUT  /nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation
 *               POST /nausf-auth/v1/ue-authentications/{authCtxId}/eap-session
 *               DELETE the two above (the AMF cancels a result)
 *               POST /nausf-auth/v1/ue-authentications/deregister
 *   Nudm_UEAU   POST /nudm-ueau/v1/{supi}/auth-events (ConfirmAuth, stored)
 *               PUT  /nudm-ueau/v1/{supi}/auth-events/{authEventId} (DeleteAuth)
 * with SUCI de-concealment (the SIDF) under the home network's keys, SQN generation served
 * from memory and reserved durably in blocks, resynchronisation from AUTS, and the
 * 3GPP-conformant rejections for subscriptions that may not authenticate. */
#ifndef IOTSEC_AKA_H
#define IOTSEC_AKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "crypto/suci.h"
#include "crypto/supi.h"
#include "http/http.h"
#include "store/store.h"

struct aka_config {
    unsigned sqn_block;          /* SEQs reserved per database write */
    unsigned ctx_ttl_s;          /* AUSF context lifetime */
    unsigned max_synch_failures; /* consecutive resynchronisations before rejecting */
    size_t ctx_limit;            /* AUSF contexts held at most (past it: 503) */
    unsigned lease_s;            /* the SQN slot's lease (30); renewed every third of it */
    size_t sub_cache_max;        /* subscriptions cached for authentication (0: 2^18) */
    bool sub_cache_off;          /* every authentication reads its row from the store */
    char api_root[160];          /* "https://127.0.0.1:7777", for _links and Location */
    char admin_cert_sha256[65];  /* the admin face's pinned certificate (aka_admin_routes) */
};

struct aka;

/* store, kek and keyring are borrowed and must outlive the aka. */
struct aka *aka_new(const struct aka_config *cfg, struct store *store, const struct seal_kek *kek,
                    const struct suci_keyring *keyring);
void aka_free(struct aka *a);

/* Registers the SBI routes on srv. */
int aka_routes(struct aka *a, struct http_server *srv);

/* Registers the admin face's routes: GET /admin/v1/subscribers/{supi}/auth-events (the
 * newest stored authentication events of a subscription, newest first). */
int aka_admin_routes(struct aka *a, struct http_server *adm);

/* ---- authentication events (TS 29.503 AuthEvent), as the UDM stores them ---- */

#define AKA_EVENT_ID_LEN 32 /* hex of 128 random bits */

struct aka_auth_event {
    char id[AKA_EVENT_ID_LEN + 1];
    char supi[SUPI_STRING_MAX];
    char nf_instance_id[37]; /* the AUSF instance (a UUID) */
    bool success;
    char time_stamp[40]; /* as the AUSF sent it (DateTime) */
    char auth_type[24];  /* "5G_AKA", "EAP_AKA_PRIME", ... */
    char serving_network[64];
    bool removed;       /* authRemovalInd: the result was cancelled */
    int64_t created_ms; /* when iotsec stored it */
};

extern const char AKA_MIGRATION_2[];

/* Calls fn for the newest (at most limit) stored events of supi, newest first. Reads on the
 * calling thread's read connection. */
typedef void (*aka_auth_event_fn)(const struct aka_auth_event *ev, void *ctx);
int aka_auth_events_list(struct store *s, const char *supi, unsigned limit, aka_auth_event_fn fn,
                         void *ctx);

/* Where credentials were last seen (aka_seen.c), for the credential audit: only entries
 * worth reporting are listed: refused ones (e.g. revoked but still trying) and ones seen
 * from two serving networks within a minute. The table is bounded (65536 SUPIs). */
struct aka_seen_info {
    const char *supi;
    uint32_t cred_version;
    const char *serving_network; /* the last one */
    int64_t at;                  /* unix seconds */
    bool refused;                /* the subscription's state refused an authentication */
    const char *other_network;   /* shared: the other one, or NULL */
    int64_t shared_at;
};
typedef void (*aka_seen_fn)(const struct aka_seen_info *info, void *ctx);
int aka_seen_list(struct aka *a, aka_seen_fn fn, void *ctx);

/* The SQN slot (subscriber.h: the IND values this instance uses), leased in the database for
 * cfg.lease_s seconds and renewed by aka_tick. Claim it before the SBI face serves: holder
 * names the instance (stable per instance directory). IOTSEC_ERR_BUSY: every slot is held by
 * another live instance. Release it at a clean stop, before the store closes. */
int aka_lease_claim(struct aka *a, const char *holder);
void aka_lease_release(struct aka *a);
/* The slot held (-1 before the claim). */
int aka_lease_slot(const struct aka *a);

/* Housekeeping, called about once a second: drops expired AUSF contexts, renews the lease. */
void aka_tick(struct aka *a);

/* Appends Prometheus lines (authentications by result, contexts, cached generators). */
struct strbuf;
int aka_metrics(struct aka *a, struct strbuf *out);

/* ---- The home network's SUCI keys (aka_keys.c) ---- */

extern const char AKA_MIGRATION_1[];

/* Creates a key pair for scheme with key id, stores the private key sealed, and returns the
 * public key. IOTSEC_ERR_CONFLICT if (scheme, id) exists. Synchronous (tools, init). */
/* The AAD of hn_keys' sealed private key (scheme_key: scheme * 256 + key id), for KEK
 * rotation. */
size_t aka_hn_key_aad(const char *unused, int64_t scheme_key, char *aad, size_t cap);

int aka_hn_key_create(struct store *s, const struct seal_kek *kek, enum suci_scheme scheme,
                      uint8_t key_id, uint8_t pub[SUCI_PUBLIC_KEY_MAX], size_t *pub_len);

/* Loads every stored key into keyring. *count gets the number loaded. */
int aka_hn_keys_load(struct store *s, const struct seal_kek *kek, struct suci_keyring *kr,
                     size_t *count);

/* Calls fn for each stored public key (for `iotsecctl hn-keys` and provisioning). */
typedef void (*aka_hn_key_fn)(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub,
                              size_t pub_len, void *ctx);
int aka_hn_keys_list(struct store *s, aka_hn_key_fn fn, void *ctx);

#endif
