/* The reads of the device face (onboarding, relays): which enrollments may name a device, and
 * which gateway may relay for which enrollment. The handlers in prov_*_http.c call these and
 * hold no SQL. */
#include "base/err.h"
#include "provision/prov_int.h"

int prov_enrollment_candidates(struct store_conn *c, size_t max, const struct prov_identity *id,
                               struct prov_enrollment *out, size_t *n)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments WHERE"
                        " (kind = 'individual' AND (reg_id = ? OR cert_sha256 = ? OR serial = ?))"
                        " OR (kind = 'group' AND attestation = ?) ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, id->reg_id, -1);
    store_bind_text(st, 2, id->cert_sha256 ? id->cert_sha256 : "", -1);
    store_bind_text(st, 3, id->serial ? id->serial : "", -1);
    store_bind_text(st, 4, id->derived_key ? "derived_key" : "x509", -1);
    store_bind_int(st, 5, (int)max);
    int s;
    *n = 0;
    while ((s = store_step(st)) == STORE_ROW)
        prov_enrollment_row(st, &out[(*n)++]);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int64_t prov_gateway_by_cert(struct store_conn *c, const char *cert_sha256_hex)
{
    int64_t id = 0;
    struct store_stmt *st;
    if (store_stmt(c, "SELECT id FROM prov_gateways WHERE cert_sha256 = ?", &st) == IOTSEC_OK) {
        store_bind_text(st, 1, cert_sha256_hex, -1);
        if (store_step(st) == STORE_ROW)
            id = store_col_int64(st, 0);
        store_reset(st);
    }
    return id;
}

bool prov_gateway_serves(struct store_conn *c, int64_t gw, int64_t enrollment)
{
    struct store_stmt *st;
    bool ok = false;
    if (store_stmt(c,
                   "SELECT 1 FROM prov_gateway_enrollments WHERE gateway_id = ?"
                   " AND enrollment_id = ?",
                   &st) == IOTSEC_OK) {
        store_bind_int64(st, 1, gw);
        store_bind_int64(st, 2, enrollment);
        ok = store_step(st) == STORE_ROW;
        store_reset(st);
    }
    return ok;
}
