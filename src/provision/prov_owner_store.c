/* Ownership's SQL (owners, voucher chains, transfers) for prov_owner_http.c, which holds none:
 * every function runs inside an admin job, on the job's connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "provision/prov_admin_store.h"

static int step(struct store_conn *c, struct store_stmt *st)
{
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int prov_owner_insert(struct store_conn *c, const char *name,
                      const uint8_t pub[PROV_ED25519_PUB_LEN], int64_t now, int64_t *id)
{
    struct store_stmt *st;
    int rc = store_stmt(
        c, "INSERT INTO prov_owners(name, pub, created_at) VALUES (?, ?, ?) RETURNING id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    store_bind_blob(st, 2, pub, PROV_ED25519_PUB_LEN);
    store_bind_int64(st, 3, now);
    return store_step_id(c, st, id);
}

int prov_owner_pub(struct store_conn *c, const char *name, uint8_t pub[PROV_ED25519_PUB_LEN])
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT pub FROM prov_owners WHERE name = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    rc = IOTSEC_ERR_NOTFOUND;
    if (store_step(st) == STORE_ROW && store_col_bytes(st, 0) == PROV_ED25519_PUB_LEN) {
        memcpy(pub, store_col_blob(st, 0), PROV_ED25519_PUB_LEN);
        rc = IOTSEC_OK;
    }
    store_reset(st);
    return rc;
}

/* The manufacturer root of a registration's enrollment, and the stored chain (malloc'd). */
int prov_device_root(struct store_conn *c, const char *reg_id, uint8_t root[32], uint8_t **chain,
                     size_t *chain_len, char *owner, size_t owner_len)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT m.root_pub, r.voucher, r.owner FROM prov_registrations r"
                        " JOIN prov_enrollments e ON e.id = r.enrollment_id"
                        " LEFT JOIN prov_manufacturers m ON m.id = e.manufacturer_id"
                        " WHERE r.reg_id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    int s = store_step(st);
    rc = s == STORE_ROW ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
    *chain = NULL;
    *chain_len = 0;
    if (rc == IOTSEC_OK && store_col_bytes(st, 0) != 32)
        rc = IOTSEC_ERR_STATE; /* no voucher root for this device's manufacturer */
    if (rc == IOTSEC_OK) {
        memcpy(root, store_col_blob(st, 0), 32);
        snprintf(owner, owner_len, "%s", store_col_text(st, 2));
        if ((*chain_len = (size_t)store_col_bytes(st, 1)) > 0) {
            *chain = malloc(*chain_len);
            if (*chain)
                memcpy(*chain, store_col_blob(st, 1), *chain_len);
            else
                rc = IOTSEC_ERR_NOMEM;
        }
    }
    store_reset(st);
    return rc;
}

int prov_transfer_request(struct store_conn *c, const char *reg_id, const uint8_t *chain,
                          size_t len, const char *to, int64_t now)
{
    struct store_stmt *st;
    int rc;
    if ((rc = store_stmt(c,
                         "UPDATE prov_registrations SET voucher_pending = ?, transfer_to = ?,"
                         " updated_at = ? WHERE reg_id = ?",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, chain, (int)len);
    store_bind_text(st, 2, to, -1);
    store_bind_int64(st, 3, now);
    store_bind_text(st, 4, reg_id, -1);
    return step(c, st);
}

int prov_transfer_to(struct store_conn *c, int64_t reg_row, char *to, size_t to_len)
{
    struct store_stmt *st;
    int rc;
    if ((rc = store_stmt(c, "SELECT coalesce(transfer_to, '') FROM prov_registrations WHERE id = ?",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, reg_row);
    if (store_step(st) == STORE_ROW)
        snprintf(to, to_len, "%s", store_col_text(st, 0));
    store_reset(st);
    return IOTSEC_OK;
}

int prov_transfer_complete(struct store_conn *c, int64_t reg_row, const char *owner, int64_t now)
{
    struct store_stmt *st;
    int rc;
    if ((rc = store_stmt(c,
                         "UPDATE prov_registrations SET voucher = voucher_pending,"
                         " voucher_pending = NULL, transfer_to = NULL, owner = ?,"
                         " state = 'revoked', supi = NULL, nonce = NULL, device_pub = NULL,"
                         " envelope = NULL, confirmed = 0, pend_version = NULL,"
                         " pend_cred = NULL, pend_since = NULL, pend_nonce = NULL,"
                         " pend_pub = NULL, pend_envelope = NULL, updated_at = ? WHERE id = ?",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, owner, -1);
    store_bind_int64(st, 2, now);
    store_bind_int64(st, 3, reg_row);
    return step(c, st);
}
