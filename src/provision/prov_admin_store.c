/* The reads and writes of provisioning's admin face (devices, manufacturers, gateways,
 * enrollments, owners and transfers): the handlers in prov_*_http.c decode, call these and
 * answer; they hold no SQL. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "provision/prov_admin_store.h"

/* ---- devices (lists: prov_list_store.c) ---- */

int prov_history_each(struct store *s, const char *reg_id, prov_history_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(
            c, "SELECT event, detail, at FROM prov_history WHERE reg_id = ? ORDER BY id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    while (store_step(st) == STORE_ROW)
        fn(store_col_text(st, 0), store_col_is_null(st, 1) ? NULL : store_col_text(st, 1),
           store_col_int64(st, 2), ctx);
    store_reset(st);
    return IOTSEC_OK;
}

int prov_reg_id_by_supi(struct store *s, const char *supi, char reg_id[PROV_REG_ID_MAX + 1])
{
    struct store_conn *c;
    struct store_stmt *st;
    reg_id[0] = '\0';
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, "SELECT reg_id FROM prov_registrations WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    if (store_step(st) == STORE_ROW)
        snprintf(reg_id, PROV_REG_ID_MAX + 1, "%s", store_col_text(st, 0));
    store_reset(st);
    return reg_id[0] ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

/* ---- manufacturers ---- */

int prov_manufacturer_insert(struct store_conn *c, const char *name, const char *ca_pem,
                             const char *ca_sha256, int64_t now, const uint8_t *root_pub,
                             int64_t *id)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO prov_manufacturers(name, ca_pem, ca_sha256, created_at,"
                        " root_pub) VALUES (?, ?, ?, ?, ?) RETURNING id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    store_bind_text(st, 2, ca_pem, -1);
    store_bind_text(st, 3, ca_sha256, -1);
    store_bind_int64(st, 4, now);
    if (root_pub)
        store_bind_blob(st, 5, root_pub, PROV_ED25519_PUB_LEN);
    return store_step_id(c, st, id);
}

/* ---- gateways ---- */

int prov_gateway_insert(struct store_conn *c, const char *name, const char *cert_sha256,
                        int64_t now, int64_t *id)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO prov_gateways(name, cert_sha256, created_at)"
                        " VALUES (?, ?, ?) RETURNING id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    store_bind_text(st, 2, cert_sha256, -1);
    store_bind_int64(st, 3, now);
    return store_step_id(c, st, id);
}

int prov_gateway_enrollment_add(struct store_conn *c, int64_t gateway, int64_t enrollment)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO prov_gateway_enrollments(gateway_id,"
                        " enrollment_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, gateway);
    store_bind_int64(st, 2, enrollment);
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* ---- enrollments ---- */

int prov_manufacturer_id(struct store_conn *c, const char *name, int64_t *id)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT id FROM prov_manufacturers WHERE name = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    *id = store_step(st) == STORE_ROW ? store_col_int64(st, 0) : 0;
    store_reset(st);
    return IOTSEC_OK;
}

int prov_enrollment_insert(struct store_conn *c, const struct prov_enrollment *e,
                           const char *service, int64_t now, int64_t *id)
{
    struct store_stmt *st;
    int rc =
        store_stmt(c,
                   "INSERT INTO prov_enrollments(kind, attestation, manufacturer_id, reg_id,"
                   " cert_sha256, serial, enabled, owner, supi_first, supi_last, service,"
                   " lifetime_s, reprovision, quota, rate_per_s, requires_activation,"
                   " routing_ind, created_at, max_cred_age_s, name)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                   " RETURNING id",
                   &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, e->individual ? "individual" : "group", -1);
    store_bind_text(st, 2, e->derived_key ? "derived_key" : "x509", -1);
    if (e->manufacturer_id)
        store_bind_int64(st, 3, e->manufacturer_id);
    if (e->reg_id[0])
        store_bind_text(st, 4, e->reg_id, -1);
    if (e->cert_sha256[0])
        store_bind_text(st, 5, e->cert_sha256, -1);
    if (e->serial[0])
        store_bind_text(st, 6, e->serial, -1);
    store_bind_int(st, 7, e->enabled);
    store_bind_text(st, 8, e->owner, -1);
    store_bind_text(st, 9, e->supi_first, -1);
    store_bind_text(st, 10, e->supi_last, -1);
    store_bind_text(st, 11, service, -1);
    store_bind_int64(st, 12, e->lifetime_s);
    store_bind_text(st, 13, prov_reprovision_name(e->reprovision), -1);
    if (e->quota)
        store_bind_int64(st, 14, e->quota);
    if (e->rate_per_s)
        store_bind_int64(st, 15, e->rate_per_s);
    store_bind_int(st, 16, e->requires_activation);
    store_bind_text(st, 17, e->routing_ind, -1);
    store_bind_int64(st, 18, now);
    if (e->max_cred_age_s)
        store_bind_int64(st, 19, e->max_cred_age_s);
    if (e->name[0])
        store_bind_text(st, 20, e->name, -1);
    return store_step_id(c, st, id);
}

int prov_enrollment_group_key_set(struct store_conn *c, int64_t id, const uint8_t *sealed,
                                  size_t len)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "UPDATE prov_enrollments SET group_key = ? WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, sealed, (int)len);
    store_bind_int64(st, 2, id);
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int prov_enrollment_get(struct store *s, int64_t id, struct prov_enrollment *e)
{
    struct store_conn *c;
    int rc = store_reader_get(s, &c);
    return rc == IOTSEC_OK ? prov_enrollment_load(c, id, e) : rc;
}

int prov_enrollment_set_enabled(struct store_conn *c, int64_t id, bool enabled)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "UPDATE prov_enrollments SET enabled = ? WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, enabled);
    store_bind_int64(st, 2, id);
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int prov_enrollment_get_by_name(struct store *s, const char *name, struct prov_enrollment *e)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments WHERE name = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    int step = store_step(st);
    if (step == STORE_ROW)
        prov_enrollment_row(st, e);
    store_reset(st);
    return step == STORE_ROW    ? IOTSEC_OK
           : step == STORE_DONE ? IOTSEC_ERR_NOTFOUND
                                : store_error(c, step);
}

int prov_enrollment_overlap(struct store_conn *c, const char *first, const char *last,
                            int64_t except, struct prov_enrollment *other)
{
    /* Ranges are "imsi-" + digits of one length, so text order is numeric order. */
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments"
                        " WHERE id <> ?1 AND length(supi_first) = length(?2)"
                        " AND supi_first <= ?3 AND supi_last >= ?2 ORDER BY id LIMIT 1",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, except);
    store_bind_text(st, 2, first, -1);
    store_bind_text(st, 3, last, -1);
    int step = store_step(st);
    if (step == STORE_ROW)
        prov_enrollment_row(st, other);
    store_reset(st);
    return step == STORE_ROW    ? IOTSEC_ERR_CONFLICT
           : step == STORE_DONE ? IOTSEC_OK
                                : store_error(c, step);
}

int prov_enrollment_update(struct store_conn *c, const struct prov_enrollment *e)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "UPDATE prov_enrollments SET name = ?, enabled = ?, lifetime_s = ?,"
                        " reprovision = ?, quota = ?, rate_per_s = ?, requires_activation = ?,"
                        " max_cred_age_s = ?, owner = ? WHERE id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, e->name[0] ? e->name : NULL, -1);
    store_bind_int(st, 2, e->enabled);
    store_bind_int64(st, 3, e->lifetime_s);
    store_bind_text(st, 4, prov_reprovision_name(e->reprovision), -1);
    if (e->quota)
        store_bind_int64(st, 5, e->quota);
    if (e->rate_per_s)
        store_bind_int64(st, 6, e->rate_per_s);
    store_bind_int(st, 7, e->requires_activation);
    if (e->max_cred_age_s)
        store_bind_int64(st, 8, e->max_cred_age_s);
    store_bind_text(st, 9, e->owner, -1);
    store_bind_int64(st, 10, e->id);
    int step = store_step(st);
    if (step != STORE_DONE)
        return store_error(c, step);
    return store_changes(c) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int prov_enrollment_delete(struct store_conn *c, int64_t id, int64_t *registrations)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT count(*) FROM prov_registrations WHERE enrollment_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    int step = store_step(st);
    *registrations = step == STORE_ROW ? store_col_int64(st, 0) : 0;
    store_reset(st);
    if (step != STORE_ROW)
        return store_error(c, step);
    if (*registrations > 0) /* its devices' history and SUPIs hang on it */
        return IOTSEC_ERR_STATE;
    static const char *const sql[] = {
        "DELETE FROM prov_gateway_enrollments WHERE enrollment_id = ?",
        "DELETE FROM prov_enrollments WHERE id = ?",
    };
    for (size_t i = 0; i < 2; i++) {
        if ((rc = store_stmt(c, sql[i], &st)) != IOTSEC_OK)
            return rc;
        store_bind_int64(st, 1, id);
        if ((step = store_step(st)) != STORE_DONE)
            return store_error(c, step);
    }
    return store_changes(c) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}
