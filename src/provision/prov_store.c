/* The provisioning schema (migration 3) and the small reads and writes shared by the jobs:
 * the operator's provisioning key, enrollments, group keys, registration history. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "provision/prov_int.h"

const char PROVISION_MIGRATION_1[] =
    /* The operator's Ed25519 provisioning key: one row, its seed sealed. */
    "CREATE TABLE prov_keys (id INTEGER PRIMARY KEY CHECK (id = 1), seed BLOB NOT NULL,"
    " pub BLOB NOT NULL, created_at INTEGER NOT NULL);"
    /* root_pub: the manufacturer's Ed25519 voucher root (ownership chains start there). */
    "CREATE TABLE prov_manufacturers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " ca_pem TEXT NOT NULL, ca_sha256 TEXT NOT NULL, root_pub BLOB,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE prov_owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " pub BLOB NOT NULL, created_at INTEGER NOT NULL);"
    /* individual: one of reg_id / cert_sha256 / serial names the device; group: x509 by
     * manufacturer CA, or derived_key by group_key (sealed, AAD prov_group_key_aad). */
    "CREATE TABLE prov_enrollments (id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('individual', 'group')),"
    " attestation TEXT NOT NULL CHECK (attestation IN ('x509', 'derived_key')),"
    " manufacturer_id INTEGER REFERENCES prov_manufacturers(id),"
    " reg_id TEXT, cert_sha256 TEXT, serial TEXT, group_key BLOB,"
    " enabled INTEGER NOT NULL DEFAULT 1, owner TEXT NOT NULL DEFAULT '',"
    " supi_first TEXT, supi_last TEXT, supi_next INTEGER NOT NULL DEFAULT 0,"
    " service TEXT NOT NULL DEFAULT '{}', lifetime_s INTEGER NOT NULL,"
    " reprovision TEXT NOT NULL CHECK (reprovision IN ('keep', 'reset', 'never')),"
    " quota INTEGER, rate_per_s INTEGER, requires_activation INTEGER NOT NULL DEFAULT 0,"
    " routing_ind TEXT NOT NULL DEFAULT '0000', devices INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX prov_enrollments_reg ON prov_enrollments(reg_id) WHERE reg_id IS NOT NULL;"
    "CREATE INDEX prov_enrollments_cert ON prov_enrollments(cert_sha256)"
    " WHERE cert_sha256 IS NOT NULL;"
    "CREATE INDEX prov_enrollments_serial ON prov_enrollments(serial) WHERE serial IS NOT NULL;"
    /* One per device that onboarded. nonce/device_pub/envelope: the last onboarding answer,
     * replayed to a retry; pend_*: a rotation version waiting for the device's confirmation
     * (pend_cred sealed, AAD "prov:pend:<reg_id>:<version>"). */
    "CREATE TABLE prov_registrations (id INTEGER PRIMARY KEY, reg_id TEXT NOT NULL UNIQUE,"
    " enrollment_id INTEGER NOT NULL REFERENCES prov_enrollments(id),"
    " cert_sha256 TEXT, serial TEXT, supi TEXT, owner TEXT NOT NULL DEFAULT '',"
    " account TEXT, state TEXT NOT NULL, gateway_id INTEGER,"
    " nonce BLOB, device_pub BLOB, envelope BLOB, cred_version INTEGER NOT NULL DEFAULT 0,"
    " confirmed INTEGER NOT NULL DEFAULT 0,"
    " pend_version INTEGER, pend_cred BLOB, pend_since INTEGER, pend_nonce BLOB,"
    " pend_pub BLOB, pend_envelope BLOB,"
    " voucher BLOB, voucher_pending BLOB, transfer_to TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX prov_registrations_serial ON prov_registrations(serial)"
    " WHERE serial IS NOT NULL;"
    "CREATE INDEX prov_registrations_supi ON prov_registrations(supi) WHERE supi IS NOT NULL;"
    "CREATE TABLE prov_history (id INTEGER PRIMARY KEY, reg_id TEXT NOT NULL,"
    " event TEXT NOT NULL, detail TEXT, at INTEGER NOT NULL);"
    "CREATE INDEX prov_history_reg ON prov_history(reg_id);"
    "CREATE TABLE prov_gateways (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " cert_sha256 TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE prov_gateway_enrollments (gateway_id INTEGER NOT NULL"
    " REFERENCES prov_gateways(id), enrollment_id INTEGER NOT NULL"
    " REFERENCES prov_enrollments(id), PRIMARY KEY (gateway_id, enrollment_id)) WITHOUT ROWID;"
    /* Bulk activation: key "reg:<registration id>" or "serial:<hex>"; supi: pre-bound, used
     * instead of the enrollment's range when the device onboards. */
    "CREATE TABLE prov_activations (key TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " service TEXT NOT NULL, supi TEXT, created_at INTEGER NOT NULL) WITHOUT ROWID;";

/* Lifecycle (migration 7): an enrollment's maximum credential age (NULL: none), and when a
 * registration's current credential was made (onboarding, or the confirmed rotation); rows
 * from before take their last such history event, else their creation. */
const char PROVISION_MIGRATION_2[] =
    "ALTER TABLE prov_enrollments ADD COLUMN max_cred_age_s INTEGER;"
    "ALTER TABLE prov_registrations ADD COLUMN cred_since INTEGER;"
    "UPDATE prov_registrations SET cred_since = COALESCE((SELECT MAX(h.at) FROM prov_history h"
    " WHERE h.reg_id = prov_registrations.reg_id AND h.event IN ('onboarded', 'reonboarded',"
    " 'reset', 'rotated')), created_at);";

/* Enrollments get an optional unique name (operators refer to them by it), and the admin
 * face lists devices by enrollment (migration 18). */
const char PROVISION_MIGRATION_NAMES[] =
    "ALTER TABLE prov_enrollments ADD COLUMN name TEXT;"
    "CREATE UNIQUE INDEX prov_enrollments_name ON prov_enrollments(name) WHERE name IS NOT NULL;"
    "CREATE INDEX prov_registrations_enrollment ON prov_registrations(enrollment_id, id);";

static const char key_aad[] = "prov:provisioning-key:1";

struct key_job {
    const struct seal_kek *kek;
    uint8_t seed[PROV_ED25519_SEED_LEN];
    uint8_t pub[PROV_ED25519_PUB_LEN];
    bool loaded;
};

/* On the writer: load the key, or create it, in one transaction (so two starts never make
 * two keys). */
static int key_job_run(struct store_conn *c, void *arg)
{
    struct key_job *j = arg;
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT seed, pub FROM prov_keys WHERE id = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int s = store_step(st);
    if (s == STORE_ROW) {
        const uint8_t *env = store_col_blob(st, 0);
        size_t env_len = (size_t)store_col_bytes(st, 0);
        const void *pub = store_col_blob(st, 1);
        if (env_len != PROV_ED25519_SEED_LEN + SEAL_OVERHEAD ||
            store_col_bytes(st, 1) != PROV_ED25519_PUB_LEN) {
            store_reset(st);
            return IOTSEC_ERR_INVALID;
        }
        memcpy(j->pub, pub, PROV_ED25519_PUB_LEN);
        rc = unseal(j->kek, key_aad, sizeof(key_aad) - 1, env, env_len, j->seed);
        store_reset(st);
        j->loaded = true;
        return rc;
    }
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    uint8_t env[PROV_ED25519_SEED_LEN + SEAL_OVERHEAD];
    if ((rc = prov_ed25519_keygen(j->seed, j->pub)) != IOTSEC_OK ||
        (rc = seal(j->kek, key_aad, sizeof(key_aad) - 1, j->seed, sizeof(j->seed), env)) !=
            IOTSEC_OK)
        return rc;
    if ((rc = store_stmt(c, "INSERT INTO prov_keys(id, seed, pub, created_at) VALUES (1, ?, ?, ?)",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, env, sizeof(env));
    store_bind_blob(st, 2, j->pub, sizeof(j->pub));
    store_bind_int64(st, 3, (int64_t)time(NULL));
    s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int prov_key_load_or_create(struct store *s, const struct seal_kek *kek, struct prov_sign_key **key,
                            uint8_t pub[PROV_ED25519_PUB_LEN])
{
    struct key_job j = {.kek = kek};
    int rc = store_write_sync(s, key_job_run, &j);
    if (rc == IOTSEC_OK)
        rc = prov_sign_key_new(j.seed, key);
    if (rc == IOTSEC_OK) {
        uint8_t check[PROV_ED25519_PUB_LEN];
        prov_sign_key_public(*key, check);
        if (!ct_equal(check, j.pub, sizeof(check))) { /* a row that does not hold together */
            prov_sign_key_free(*key);
            *key = NULL;
            rc = IOTSEC_ERR_AUTH;
        }
        memcpy(pub, j.pub, PROV_ED25519_PUB_LEN);
    }
    secure_wipe(j.seed, sizeof(j.seed));
    return rc;
}

static void copy_text(struct store_stmt *st, int col, char *out, size_t len)
{
    const char *t = store_col_text(st, col);
    snprintf(out, len, "%s", t ? t : "");
}

void prov_enrollment_row(struct store_stmt *st, struct prov_enrollment *e)
{
    memset(e, 0, sizeof(*e));
    e->id = store_col_int64(st, 0);
    const char *kind = store_col_text(st, 1);
    const char *att = store_col_text(st, 2);
    e->individual = kind && strcmp(kind, "individual") == 0;
    e->derived_key = att && strcmp(att, "derived_key") == 0;
    e->manufacturer_id = store_col_int64(st, 3);
    copy_text(st, 4, e->reg_id, sizeof(e->reg_id));
    copy_text(st, 5, e->cert_sha256, sizeof(e->cert_sha256));
    copy_text(st, 6, e->serial, sizeof(e->serial));
    e->enabled = store_col_int(st, 7) != 0;
    copy_text(st, 8, e->owner, sizeof(e->owner));
    copy_text(st, 9, e->supi_first, sizeof(e->supi_first));
    copy_text(st, 10, e->supi_last, sizeof(e->supi_last));
    e->lifetime_s = store_col_int64(st, 11);
    if (prov_reprovision_parse(store_col_text(st, 12), &e->reprovision) != IOTSEC_OK)
        e->reprovision = PROV_REPROV_NEVER;
    e->quota = store_col_int64(st, 13);
    e->rate_per_s = store_col_int64(st, 14);
    e->requires_activation = store_col_int(st, 15) != 0;
    copy_text(st, 16, e->routing_ind, sizeof(e->routing_ind));
    e->devices = store_col_int64(st, 17);
    e->max_cred_age_s = store_col_int64(st, 18);
    copy_text(st, 19, e->name, sizeof(e->name));
}

int prov_enrollment_load(struct store_conn *c, int64_t id, struct prov_enrollment *e)
{
    struct store_stmt *st;
    int rc =
        store_stmt(c, "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    int s = store_step(st);
    if (s == STORE_ROW)
        prov_enrollment_row(st, e);
    store_reset(st);
    return s == STORE_ROW ? IOTSEC_OK : s == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, s);
}

size_t prov_key_aad(const char *unused, int64_t id, char *buf, size_t cap)
{
    (void)unused;
    if (id != 1 || cap < sizeof(key_aad))
        return 0;
    memcpy(buf, key_aad, sizeof(key_aad) - 1);
    return sizeof(key_aad) - 1;
}

size_t prov_enrollment_key_aad(const char *unused, int64_t id, char *buf, size_t cap)
{
    (void)unused;
    return prov_group_key_aad(id, buf, cap);
}

size_t prov_pend_cred_aad(const char *reg_id, int64_t version, char *buf, size_t cap)
{
    if (version < 0 || version > UINT32_MAX)
        return 0;
    return prov_pend_aad(reg_id, (uint32_t)version, buf, cap);
}

size_t prov_group_key_aad(int64_t id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "prov:enrollment:%lld:group_key", (long long)id);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

int prov_group_key_get(struct store_conn *c, const struct seal_kek *kek, int64_t id,
                       uint8_t key[PROV_GROUP_KEY_MAX], size_t *len)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT group_key FROM prov_enrollments WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    int s = store_step(st);
    rc = IOTSEC_ERR_NOTFOUND;
    if (s == STORE_ROW && !store_col_is_null(st, 0)) {
        size_t env_len = (size_t)store_col_bytes(st, 0);
        char aad[64];
        size_t aad_len = prov_group_key_aad(id, aad, sizeof(aad));
        rc = IOTSEC_ERR_INVALID;
        if (env_len > SEAL_OVERHEAD && env_len - SEAL_OVERHEAD <= PROV_GROUP_KEY_MAX) {
            rc = unseal(kek, aad, aad_len, store_col_blob(st, 0), env_len, key);
            *len = env_len - SEAL_OVERHEAD;
        }
    }
    store_reset(st);
    return rc;
}

int prov_history_add(struct store_conn *c, const char *reg_id, const char *event,
                     const char *detail, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO prov_history(reg_id, event, detail, at)"
                        " VALUES (?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    store_bind_text(st, 2, event, -1);
    if (detail)
        store_bind_text(st, 3, detail, -1);
    store_bind_int64(st, 4, now);
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}
