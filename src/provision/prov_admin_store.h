/* The SQL of provisioning's admin face (prov_admin_store.c), behind typed functions: the
 * handlers (prov_admin_http.c, prov_enrollment_http.c, prov_owner_http.c,
 * prov_devices_http.c) decode, call these and answer once. */
#ifndef IOTSEC_PROVISION_ADMIN_STORE_H
#define IOTSEC_PROVISION_ADMIN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "provision/prov_int.h"

/* ---- devices (registrations) ---- */

/* One registration as the admin face shows it; the strings are valid during the callback only. */
struct prov_device_row {
    int64_t id, enrollment, cred_version, waiting_version; /* waiting_version: 0 when none */
    const char *reg_id, *supi, *owner, *state;             /* supi "" when none */
    const char *account;                                   /* NULL when none */
    bool confirmed;
};
typedef void (*prov_device_fn)(const struct prov_device_row *d, void *ctx);

/* The filters of a list; an absent one is NULL, 0 (an id) or -1 (a flag). */
struct prov_device_filter {
    int64_t enrollment;
    const char *state, *owner, *account;
    int confirmed;
};
/* Registrations with id > after matching f, by id, at most limit (prov_list_store.c). */
int prov_devices_list(struct store *s, const struct prov_device_filter *f, int64_t after,
                      int64_t limit, prov_device_fn fn, void *ctx);
/* The console's orders: by id (onboarding order) or registration id, either way; keyset pages
 * after the cursor (an id for the id orders, a registration id for the others; NULL: the
 * first page). Same filters as prov_devices_list. */
enum prov_device_sort {
    PROV_SORT_ID = 0,
    PROV_SORT_ID_DESC,
    PROV_SORT_REG,
    PROV_SORT_REG_DESC,
};
int prov_devices_sorted(struct store *s, const struct prov_device_filter *f,
                        enum prov_device_sort sort, const char *after, int64_t limit,
                        prov_device_fn fn, void *ctx);
/* The registrations whose registration id, SUPI or serial is exactly text (each indexed: the
 * console's search box), by id, at most limit. */
int prov_devices_search(struct store *s, const char *text, int64_t limit, prov_device_fn fn,
                        void *ctx);
/* One registration by its registration id; IOTSEC_ERR_NOTFOUND when absent. */
int prov_device_find(struct store *s, const char *reg_id, prov_device_fn fn, void *ctx);
/* A registration's history, oldest first (detail NULL when none). */
typedef void (*prov_history_fn)(const char *event, const char *detail, int64_t at, void *ctx);
int prov_history_each(struct store *s, const char *reg_id, prov_history_fn fn, void *ctx);
/* The registration holding this SUPI; IOTSEC_ERR_NOTFOUND when none. */
int prov_reg_id_by_supi(struct store *s, const char *supi, char reg_id[PROV_REG_ID_MAX + 1]);

/* ---- manufacturers and gateways (inside admin jobs: c is the job's connection) ---- */

/* root_pub: PROV_ED25519_PUB_LEN bytes, or NULL for none. */
int prov_manufacturer_insert(struct store_conn *c, const char *name, const char *ca_pem,
                             const char *ca_sha256, int64_t now, const uint8_t *root_pub,
                             int64_t *id);
struct prov_manufacturer_row {
    int64_t id;
    const char *name, *ca_sha256;
    int64_t created_at;
    bool has_root; /* a voucher root key is registered */
};
typedef void (*prov_manufacturer_fn)(const struct prov_manufacturer_row *m, void *ctx);
/* Pages by id (name: a filter, or NULL); one by id (IOTSEC_ERR_NOTFOUND when absent). */
int prov_manufacturers_list(struct store *s, const char *name, int64_t after, int64_t limit,
                            prov_manufacturer_fn fn, void *ctx);
int prov_manufacturer_get(struct store *s, int64_t id, prov_manufacturer_fn fn, void *ctx);
int prov_gateway_insert(struct store_conn *c, const char *name, const char *cert_sha256,
                        int64_t now, int64_t *id);
/* Lets the gateway relay for the enrollment's devices (already allowed: no change). */
int prov_gateway_enrollment_add(struct store_conn *c, int64_t gateway, int64_t enrollment);
struct prov_gateway_row {
    int64_t id;
    const char *name, *cert_sha256;
    int64_t created_at;
};
typedef void (*prov_gateway_fn)(const struct prov_gateway_row *g, void *ctx);
/* Pages by id (enrollment: only gateways relaying for it, 0: all); one by id; the
 * enrollments one relays for, by id. */
int prov_gateways_list(struct store *s, int64_t enrollment, int64_t after, int64_t limit,
                       prov_gateway_fn fn, void *ctx);
int prov_gateway_get(struct store *s, int64_t id, prov_gateway_fn fn, void *ctx);
int prov_gateway_enrollments(struct store *s, int64_t gateway, void (*fn)(int64_t id, void *ctx),
                             void *ctx);

/* ---- enrollments ---- */

/* The manufacturer's id by name, 0 when none. */
int prov_manufacturer_id(struct store_conn *c, const char *name, int64_t *id);
/* Inserts e (its id ignored) with its service JSON text; *id gets the new row's. */
int prov_enrollment_insert(struct store_conn *c, const struct prov_enrollment *e,
                           const char *service, int64_t now, int64_t *id);
/* Stores the enrollment's sealed group key (len bytes). */
int prov_enrollment_group_key_set(struct store_conn *c, int64_t id, const uint8_t *sealed,
                                  size_t len);
typedef void (*prov_enrollment_fn)(const struct prov_enrollment *e, void *ctx);
struct prov_enrollment_filter {
    const char *owner, *kind, *name; /* NULL: any */
    int enabled;                     /* -1: any */
    int64_t manufacturer;            /* 0: any */
};
/* Enrollments with id > after matching f, by id, at most limit. */
int prov_enrollments_list(struct store *s, const struct prov_enrollment_filter *f, int64_t after,
                          int64_t limit, prov_enrollment_fn fn, void *ctx);
/* prov_enrollment_load on the calling thread's reader. */
int prov_enrollment_get(struct store *s, int64_t id, struct prov_enrollment *e);
int prov_enrollment_set_enabled(struct store_conn *c, int64_t id, bool enabled);
/* By its name, on the calling thread's reader; IOTSEC_ERR_NOTFOUND when absent. */
int prov_enrollment_get_by_name(struct store *s, const char *name, struct prov_enrollment *e);
/* IOTSEC_ERR_CONFLICT with *other filled when an enrollment other than except has a SUPI
 * range overlapping [first, last] (SUPIs would be handed out twice); IOTSEC_OK when none. */
int prov_enrollment_overlap(struct store_conn *c, const char *first, const char *last,
                            int64_t except, struct prov_enrollment *other);
/* Writes e's mutable fields (name, enabled, lifetime, reprovision, quota, rate, activation,
 * maximum credential age, owner); IOTSEC_ERR_NOTFOUND when absent, CONFLICT on a taken name. */
int prov_enrollment_update(struct store_conn *c, const struct prov_enrollment *e);
/* Deletes an enrollment no device registered under (IOTSEC_ERR_STATE otherwise, with their
 * count); IOTSEC_ERR_NOTFOUND when absent. */
int prov_enrollment_delete(struct store_conn *c, int64_t id, int64_t *registrations);

/* ---- owners and pending activations (lists: prov_list_store.c) ---- */

struct prov_owner_row {
    int64_t id;
    const char *name;
    int64_t created_at;
    const uint8_t *pub; /* PROV_ED25519_PUB_LEN bytes, or NULL */
};
typedef void (*prov_owner_fn)(const struct prov_owner_row *o, void *ctx);
int prov_owners_list(struct store *s, int64_t after, int64_t limit, prov_owner_fn fn, void *ctx);
int prov_owner_get(struct store *s, const char *name, prov_owner_fn fn, void *ctx);

struct prov_activation_row {
    const char *key;               /* "reg:<registration id>" or "serial:<hex>" */
    const char *account, *service; /* service: JSON text */
    const char *supi;              /* pre-bound, or NULL */
    int64_t created_at;
    const char *device; /* the confirmed registration it applied to; NULL: still pending */
};
typedef void (*prov_activation_fn)(const struct prov_activation_row *r, void *ctx);
/* Pages by key (after: the last key, or NULL); pending 1: only pending, 0: only applied, -1:
 * both. */
int prov_activations_list(struct store *s, const char *account, int pending, const char *after,
                          int64_t limit, prov_activation_fn fn, void *ctx);
int prov_activation_get(struct store *s, const char *key, prov_activation_fn fn, void *ctx);

/* ---- owners and transfers (prov_owner_store.c; inside admin jobs) ---- */

int prov_owner_insert(struct store_conn *c, const char *name,
                      const uint8_t pub[PROV_ED25519_PUB_LEN], int64_t now, int64_t *id);
/* An owner's public key; IOTSEC_ERR_NOTFOUND when absent. */
int prov_owner_pub(struct store_conn *c, const char *name, uint8_t pub[PROV_ED25519_PUB_LEN]);
/* The manufacturer root of a registration's enrollment, its stored voucher chain (malloc'd,
 * NULL when empty) and its owner. IOTSEC_ERR_NOTFOUND: no such registration;
 * IOTSEC_ERR_STATE: its manufacturer has no voucher root. */
int prov_device_root(struct store_conn *c, const char *reg_id, uint8_t root[32], uint8_t **chain,
                     size_t *chain_len, char *owner, size_t owner_len);
/* Records a transfer request: the new chain waits for the new owner's acceptance. */
int prov_transfer_request(struct store_conn *c, const char *reg_id, const uint8_t *chain,
                          size_t len, const char *to, int64_t now);
/* The owner a transfer of this registration waits for ("" when none; to left as is when the
 * registration is absent). */
int prov_transfer_to(struct store_conn *c, int64_t reg_row, char *to, size_t to_len);
/* Accepts: the pending chain becomes the voucher, the registration belongs to owner and is
 * revoked (its SUPI, answers and waiting rotation forgotten). */
int prov_transfer_complete(struct store_conn *c, int64_t reg_row, const char *owner, int64_t now);

#endif
