/* Zero-touch provisioning (issue 4): manufacturers, enrollments, registrations, gateways,
 * bulk activation, the device face's onboarding/confirmation/rotation, and their admin API.
 * The wire contract is docs/provisioning.md; the cryptography is crypto/provision_crypto.h.
 *
 * This header is the capability's whole interface for the daemon. prov_int.h holds the
 * pieces shared inside the capability (and with its unit tests). */
#ifndef IOTSEC_PROVISION_H
#define IOTSEC_PROVISION_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "store/store.h"

/* The schema (migration 3). */
extern const char PROVISION_MIGRATION_1[];
/* Lifecycle: enrollments' maximum credential age, registrations' credential age (migration 7). */
extern const char PROVISION_MIGRATION_2[];
extern const char PROVISION_MIGRATION_NAMES[];

struct provision;
struct aka;
struct http_server;

struct provision_config {
    struct store *store;        /* borrowed: must outlive the provision */
    const struct seal_kek *kek; /* borrowed */
    char admin_cert_sha256[65]; /* hex SHA-256 of the pinned admin certificate */
    struct aka *aka;            /* borrowed, may be NULL: where credentials were last seen */
};

/* Loads the operator's provisioning key, generating and storing it (sealed) on first use.
 * Call after store_open, before the servers start. *out is NULL on error. */
int provision_new(const struct provision_config *cfg, struct provision **out);
void provision_free(struct provision *p); /* NULL is fine; after the servers are freed */

/* /device/v1/... on the device face; /admin/v1/{provisioning-key,manufacturers,enrollments,
 * gateways,devices,activations,owners,audit/credentials} on the admin face. */
int provision_device_routes(struct provision *p, struct http_server *dev);
int provision_admin_routes(struct provision *p, struct http_server *adm);

/* The subscriber admin face's over-the-air rotation hook (struct sub_admin.ota_rotate, ctx
 * the provision): for a SUPI a device onboarded with, a new version waits for the device
 * (202 {"registration_id", "waiting_version"}); false for any other SUPI. */
struct http_request;
bool provision_ota_rotate(void *p, const char *supi, struct http_request *req);

/* Rotation on suspicion (the policy's rotate hook, ctx the provision): stages a waiting
 * version for the device that onboarded with this SUPI, exactly as `subscriber rotate` does,
 * on c inside the caller's store job (its transaction). The current K stays valid until the
 * device fetches and confirms. Idempotent: a version waiting already is kept (same keys).
 * actor goes to the registration's history ("policy", "schedule"). IOTSEC_OK with
 * *waiting_version; IOTSEC_ERR_NOTFOUND: no onboarded registration (no over-the-air path);
 * IOTSEC_ERR_STATE: the subscription is revoked or expired; else a database error. */
struct store_conn;
int provision_stage_rotation(void *ctx, struct store_conn *c, const char *supi, int64_t now,
                             const char *actor, uint32_t *waiting_version);

/* Appends the capability's Prometheus lines (iotsec_provision_*). */
struct strbuf;
int provision_metrics(struct provision *p, struct strbuf *out);

/* Forgets expired nonces; every minute, stages over-the-air versions (a bounded batch) for
 * registrations whose credential is older than their enrollment's max_credential_age_s.
 * Called by the daemon's one-second tick. (A rotation version never confirmed within 7 days
 * needs no timer: the next fetch replaces it.) */
void provision_tick(struct provision *p, int64_t now);

/* The AADs of prov_keys.seed (id 1), prov_enrollments.group_key (by id) and
 * prov_registrations.pend_cred (by reg_id, pend_version), for KEK rotation. */
size_t prov_key_aad(const char *unused, int64_t id, char *buf, size_t cap);
size_t prov_enrollment_key_aad(const char *unused, int64_t id, char *buf, size_t cap);
size_t prov_pend_cred_aad(const char *reg_id, int64_t version, char *buf, size_t cap);

#endif
