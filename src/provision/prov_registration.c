/* Reads of registrations, their stored answers, waiting rotation keys and activations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "provision/prov_int.h"

void prov_cred_id(int64_t reg_row, char out[32])
{
    snprintf(out, 32, "reg-%lld", (long long)reg_row);
}

static void text(struct store_stmt *st, int col, char *out, size_t len)
{
    const char *t = store_col_text(st, col);
    snprintf(out, len, "%s", t ? t : "");
}

static bool blob(struct store_stmt *st, int col, uint8_t *out, size_t len)
{
    if (store_col_is_null(st, col) || (size_t)store_col_bytes(st, col) != len)
        return false;
    memcpy(out, store_col_blob(st, col), len);
    return true;
}

int prov_registration_load(struct store_conn *c, const char *reg_id, struct prov_registration *r)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT id, enrollment_id, coalesce(gateway_id, 0), reg_id, coalesce(supi, ''),"
                        " coalesce(serial, ''), state, coalesce(account, ''), owner, nonce, device_pub,"
                        " envelope IS NOT NULL, cred_version, confirmed, coalesce(pend_version, 0),"
                        " coalesce(pend_since, 0), pend_nonce, pend_pub, pend_envelope IS NOT NULL,"
                        " coalesce(cert_sha256, '') FROM prov_registrations WHERE reg_id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    int s = store_step(st);
    if (s == STORE_ROW) {
        memset(r, 0, sizeof(*r));
        r->id = store_col_int64(st, 0);
        r->enrollment_id = store_col_int64(st, 1);
        r->gateway_id = store_col_int64(st, 2);
        text(st, 3, r->reg_id, sizeof(r->reg_id));
        text(st, 4, r->supi, sizeof(r->supi));
        text(st, 5, r->serial, sizeof(r->serial));
        text(st, 6, r->state, sizeof(r->state));
        text(st, 7, r->account, sizeof(r->account));
        text(st, 8, r->owner, sizeof(r->owner));
        bool n = blob(st, 9, r->nonce, sizeof(r->nonce));
        bool p = blob(st, 10, r->device_pub, sizeof(r->device_pub));
        r->has_request = n && p && store_col_int(st, 11);
        r->cred_version = (uint32_t)store_col_int64(st, 12);
        r->confirmed = store_col_int(st, 13) != 0;
        r->rot.current_version = r->cred_version;
        r->rot.pending_version = (uint32_t)store_col_int64(st, 14);
        r->rot.pending_since = store_col_int64(st, 15);
        n = blob(st, 16, r->rot.pend_nonce, PROV_NONCE_LEN);
        p = blob(st, 17, r->rot.pend_pub, PROV_X25519_LEN);
        r->rot.has_pending_request = n && p && store_col_int(st, 18);
        text(st, 19, r->cert_sha256, sizeof(r->cert_sha256));
    }
    store_reset(st);
    return s == STORE_ROW ? IOTSEC_OK : s == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, s);
}

int prov_registration_envelope(struct store_conn *c, int64_t reg_row, bool pending, uint8_t **env,
                               size_t *len)
{
    struct store_stmt *st;
    int rc = store_stmt(c, pending ? "SELECT pend_envelope FROM prov_registrations WHERE id = ?"
                                   : "SELECT envelope FROM prov_registrations WHERE id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, reg_row);
    int s = store_step(st);
    rc = IOTSEC_ERR_NOTFOUND;
    if (s == STORE_ROW && !store_col_is_null(st, 0)) {
        *len = (size_t)store_col_bytes(st, 0);
        *env = malloc(*len);
        rc = *env ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
        if (*env)
            memcpy(*env, store_col_blob(st, 0), *len);
    }
    store_reset(st);
    return rc;
}

size_t prov_pend_aad(const char *reg_id, uint32_t version, char *buf, size_t len)
{
    int n = snprintf(buf, len, "prov:pend:%s:%u", reg_id, version);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int prov_pending_keys(struct store_conn *c, const struct seal_kek *kek, const char *reg_id,
                      uint32_t version, uint8_t k[16], uint8_t opc[16])
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT pend_cred FROM prov_registrations WHERE reg_id = ?"
                           " AND pend_version = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    store_bind_int64(st, 2, version);
    int s = store_step(st);
    rc = IOTSEC_ERR_NOTFOUND;
    uint8_t plain[32];
    if (s == STORE_ROW && store_col_bytes(st, 0) == 32 + SEAL_OVERHEAD) {
        char aad[PROV_REG_ID_MAX + 32];
        size_t aad_len = prov_pend_aad(reg_id, version, aad, sizeof(aad));
        rc = unseal(kek, aad, aad_len, store_col_blob(st, 0), 32 + SEAL_OVERHEAD, plain);
        if (rc == IOTSEC_OK) {
            memcpy(k, plain, 16);
            memcpy(opc, plain + 16, 16);
        }
    }
    store_reset(st);
    secure_wipe(plain, sizeof(plain));
    return rc;
}

int prov_activation_find(struct store_conn *c, const char *reg_id, const char *serial,
                         bool *found, char *account, size_t account_len, char **service,
                         char *supi)
{
    char k1[PROV_REG_ID_MAX + 8], k2[PROV_SERIAL_MAX + 8];
    snprintf(k1, sizeof(k1), "reg:%s", reg_id);
    snprintf(k2, sizeof(k2), "serial:%s", serial && serial[0] ? serial : "\x01");
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT account, service, coalesce(supi, '') FROM prov_activations"
                           " WHERE key IN (?, ?)"
                           " ORDER BY key LIMIT 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, k1, -1);
    store_bind_text(st, 2, k2, -1);
    int s = store_step(st);
    *found = s == STORE_ROW;
    if (service)
        *service = NULL;
    if (supi)
        supi[0] = '\0';
    if (*found && supi)
        text(st, 2, supi, 40);
    if (*found) {
        if (account)
            text(st, 0, account, account_len);
        if (service)
            *service = strdup(store_col_text(st, 1));
    }
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}
