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

/* Registrations with id > after, by id, at most limit. */
int prov_devices_list(struct store *s, int64_t after, int64_t limit, prov_device_fn fn, void *ctx);
/* One registration by its registration id; IOTSEC_ERR_NOTFOUND when absent. */
int prov_device_find(struct store *s, const char *reg_id, prov_device_fn fn, void *ctx);
/* A registration's history, oldest first (detail NULL when none). */
typedef void (*prov_history_fn)(const char *event, const char *detail, int64_t at, void *ctx);
int prov_history_each(struct store *s, const char *reg_id, prov_history_fn fn, void *ctx);
/* The registration holding this SUPI; IOTSEC_ERR_NOTFOUND when none. */
int prov_reg_id_by_supi(struct store *s, const char *supi, char reg_id[PROV_REG_ID_MAX + 1]);

#endif
