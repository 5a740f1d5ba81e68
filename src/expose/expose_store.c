/* The exposure capability's SQL: schema, AF registry, sealed keys, consents, external IDs.
 * Writes run as jobs on the store's writer thread (nb_admin.c); reads use the calling
 * thread's read connection. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "expose/nb_int.h"

const char EXPOSE_MIGRATION_1[] =
    "CREATE TABLE expose_afs ("
    "  af_id TEXT PRIMARY KEY," /* the scsAsId */
    "  name TEXT NOT NULL,"
    "  cert_sha256 TEXT NOT NULL UNIQUE," /* the pinned client certificate (hex, DER) */
    "  cert_pem TEXT NOT NULL,"
    "  services INTEGER NOT NULL," /* EXPOSE_SVC_ bits the operator allows */
    "  state TEXT NOT NULL CHECK (state IN ('active', 'disabled')),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE expose_signing_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  sealed_d BLOB NOT NULL," /* seal(d), AAD: 'iotsec-expose-key' 0 kid */
    "  created_at INTEGER NOT NULL,"
    "  retired_at INTEGER" /* NULL: still accepted for verification */
    ");"
    "CREATE TABLE expose_secrets (" /* the external-id HMAC key */
    "  name TEXT PRIMARY KEY,"
    "  sealed BLOB NOT NULL," /* seal(v), AAD: 'iotsec-expose-secret' 0 name */
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE expose_groups (" /* minimal group model: a named set of SUPIs */
    "  group_id TEXT NOT NULL,"
    "  supi TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, supi)"
    ");"
    "CREATE INDEX expose_groups_supi ON expose_groups(supi);"
    "CREATE TABLE expose_consents ("
    "  consent_id TEXT PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  af_id TEXT NOT NULL REFERENCES expose_afs(af_id),"
    "  services INTEGER NOT NULL,"
    "  purpose TEXT NOT NULL DEFAULT '',"
    "  target_kind TEXT NOT NULL CHECK (target_kind IN ('device', 'group')),"
    "  target_id TEXT NOT NULL,"            /* SUPI or group id */
    "  expires INTEGER NOT NULL DEFAULT 0," /* 0: until revoked */
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX expose_consents_target ON expose_consents(target_kind, target_id);"
    "CREATE TABLE expose_external_ids ("
    "  af_id TEXT NOT NULL,"
    "  external_id TEXT NOT NULL,"
    "  supi TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (af_id, external_id)"
    ");"
    "CREATE TABLE expose_audit (" /* append-only; hash = SHA-256(prev || record) */
    "  seq INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  principal TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  request_id TEXT NOT NULL,"
    "  allow INTEGER NOT NULL,"
    "  hash BLOB NOT NULL"
    ");"
    "CREATE INDEX expose_audit_principal ON expose_audit(principal, seq);"
    "CREATE TRIGGER expose_audit_no_update BEFORE UPDATE ON expose_audit"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER expose_audit_no_delete BEFORE DELETE ON expose_audit"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TABLE expose_opt_outs (" /* owners who opted a device out of monitoring */
    "  supi TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL"
    ");";

const char EXPOSE_MIGRATION_2[] =
    "ALTER TABLE expose_afs ADD COLUMN allow_destinations TEXT NOT NULL DEFAULT '';";

/* Tokens die with a disable for good (issue 11): the generation a token carries must be its
 * AF's current one. Existing AFs start at 0, which is also what tokens issued before this
 * migration (without the claim) carry: they stay valid until the AF's next disable. */
const char EXPOSE_MIGRATION_TOKEN_GEN[] =
    "ALTER TABLE expose_afs ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 0;";

int nb_store_af_set_state(struct store_conn *c, const char *af_id, const char *state)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "UPDATE expose_afs SET state = ?, updated_at = ?, token_gen ="
                        " token_gen + CASE WHEN ? = 'disabled' THEN 1 ELSE 0 END WHERE"
                        " af_id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, state, -1);
    store_bind_int64(st, 2, nb_now());
    store_bind_text(st, 3, state, -1);
    store_bind_text(st, 4, af_id, -1);
    int s = store_step(st);
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    return store_changes(c) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static void text_col(struct store_stmt *st, int col, char *dst, size_t cap)
{
    const char *t = store_col_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int nb_store_afs_load(struct store_conn *c, struct nb_af *afs, size_t cap, size_t *n)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT af_id, name, cert_sha256, services, state,"
                        " allow_destinations, token_gen FROM expose_afs ORDER BY af_id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    *n = 0;
    int s;
    while ((s = store_step(st)) == STORE_ROW && *n < cap) {
        struct nb_af *a = &afs[(*n)++];
        text_col(st, 0, a->af_id, sizeof(a->af_id));
        text_col(st, 1, a->name, sizeof(a->name));
        text_col(st, 2, a->cert_sha256_hex, sizeof(a->cert_sha256_hex));
        a->services = (uint32_t)store_col_int64(st, 3);
        a->active = strcmp(store_col_text(st, 4), "active") == 0;
        const char *why;
        memset(&a->dest, 0, sizeof(a->dest));
        if (outbound_allow_parse(store_col_text(st, 5), &a->dest, &why) != IOTSEC_OK)
            memset(&a->dest, 0, sizeof(a->dest)); /* written checked: refuse all if not */
        a->token_gen = store_col_int64(st, 6);
    }
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

static size_t aad(char *buf, size_t cap, const char *label, const char *name)
{
    int n = snprintf(buf, cap, "%s%c%s", label, 0, name);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t nb_signing_key_aad(const char *kid, int64_t unused, char *buf, size_t cap)
{
    (void)unused;
    return aad(buf, cap, "iotsec-expose-key", kid);
}

size_t nb_secret_aad(const char *name, int64_t unused, char *buf, size_t cap)
{
    (void)unused;
    return aad(buf, cap, "iotsec-expose-secret", name);
}

int nb_store_keys_load(struct expose_nb *nb, struct store_conn *c, size_t *n)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT kid, sealed_d FROM expose_signing_keys WHERE retired_at IS"
                        " NULL ORDER BY created_at, kid",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    *n = 0;
    int s;
    while (rc == IOTSEC_OK && (s = store_step(st)) == STORE_ROW) {
        char kid[JWT_KID_MAX + 1], a[128];
        text_col(st, 0, kid, sizeof(kid));
        size_t alen = aad(a, sizeof(a), "iotsec-expose-key", kid);
        uint8_t d[JWT_P256_LEN];
        struct jwt_key *key = NULL;
        if (store_col_bytes(st, 1) != JWT_P256_LEN + SEAL_OVERHEAD || alen == 0)
            rc = IOTSEC_ERR_INVALID;
        else
            rc = unseal(nb->kek, a, alen, store_col_blob(st, 1), JWT_P256_LEN + SEAL_OVERHEAD, d);
        if (rc == IOTSEC_OK)
            rc = jwt_key_from_private(kid, d, &key);
        secure_wipe(d, sizeof(d));
        /* the newest key (last row) ends up the signing key; a key already held (a reload
         * after another instance added one) stays as it is */
        if (rc == IOTSEC_OK && (rc = jwt_keyset_rotate(nb->keys, key)) != IOTSEC_OK)
            jwt_key_free(key);
        if (rc == IOTSEC_ERR_CONFLICT)
            rc = IOTSEC_OK;
        else if (rc == IOTSEC_OK)
            (*n)++;
    }
    store_reset(st);
    if (rc != IOTSEC_OK)
        return rc;
    /* Keys another instance retired: tokens under them are refused here too. */
    if ((rc = store_stmt(c, "SELECT kid FROM expose_signing_keys WHERE retired_at IS NOT NULL",
                         &st)) != IOTSEC_OK)
        return rc;
    while ((s = store_step(st)) == STORE_ROW)
        jwt_keyset_remove(nb->keys, store_col_text(st, 0)); /* absent, or current: left */
    store_reset(st);
    return IOTSEC_OK;
}

int nb_store_key_insert(struct expose_nb *nb, struct store_conn *c, const struct jwt_key *key)
{
    char a[128];
    size_t alen = aad(a, sizeof(a), "iotsec-expose-key", jwt_key_kid(key));
    uint8_t d[JWT_P256_LEN], env[JWT_P256_LEN + SEAL_OVERHEAD];
    int rc = jwt_key_export_private(key, d);
    if (rc == IOTSEC_OK)
        rc = seal(nb->kek, a, alen, d, sizeof(d), env);
    secure_wipe(d, sizeof(d));
    struct store_stmt *st;
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "INSERT INTO expose_signing_keys (kid, sealed_d, created_at)"
                        " VALUES (?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, jwt_key_kid(key), -1);
    store_bind_blob(st, 2, env, sizeof(env));
    store_bind_int64(st, 3, nb_now());
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* Reads the sealed secret `name` into v; with create, makes a random one if absent (c must
 * then be the writer's connection). */
int nb_store_secret(struct expose_nb *nb, struct store_conn *c, const char *name, uint8_t *v,
                    size_t len, bool create)
{
    char a[128];
    size_t alen = aad(a, sizeof(a), "iotsec-expose-secret", name);
    uint8_t env[64 + SEAL_OVERHEAD];
    if (len > 64)
        return IOTSEC_ERR_INVALID;
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT sealed FROM expose_secrets WHERE name = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    int s = store_step(st);
    if (s == STORE_ROW) {
        rc = (size_t)store_col_bytes(st, 0) == len + SEAL_OVERHEAD
                 ? unseal(nb->kek, a, alen, store_col_blob(st, 0), len + SEAL_OVERHEAD, v)
                 : IOTSEC_ERR_INVALID;
        store_reset(st);
        return rc;
    }
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    if (!create)
        return IOTSEC_ERR_NOTFOUND;
    if ((rc = crypto_random(v, len)) != IOTSEC_OK)
        return rc;
    if ((rc = seal(nb->kek, a, alen, v, len, env)) != IOTSEC_OK)
        return rc;
    if ((rc =
             store_stmt(c, "INSERT INTO expose_secrets (name, sealed, created_at) VALUES (?, ?, ?)",
                        &st)) != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    store_bind_blob(st, 2, env, (int)(len + SEAL_OVERHEAD));
    store_bind_int64(st, 3, nb_now());
    s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_store_extid_lookup(void *conn, const char *af_id, const char *external_id, char *supi,
                          size_t cap)
{
    struct store_conn *c = conn;
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT supi FROM expose_external_ids WHERE af_id = ? AND"
                        " external_id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, af_id, -1);
    store_bind_text(st, 2, external_id, -1);
    int s = store_step(st);
    if (s == STORE_ROW)
        text_col(st, 0, supi, cap);
    store_reset(st);
    return s == STORE_ROW ? IOTSEC_OK : s == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, s);
}

static const char *keep(struct nb_consents *out, const char *t)
{
    size_t len = strlen(t ? t : "") + 1;
    if (out->used + len > sizeof(out->buf))
        return NULL;
    char *p = out->buf + out->used;
    memcpy(p, t ? t : "", len);
    out->used += len;
    return p;
}

/* The consents that may apply, in one statement (one read snapshot, one WAL read lock): the
 * device's own and those of its groups, or the group's; live ones first. A device's groups
 * matter to the decision only through their consents, so the groups handed to authz_decide()
 * are the targets of the group consents found. */
#define CONSENT_COLS                                                                               \
    "SELECT consent_id, af_id, services, expires, revoked_at, target_kind, target_id FROM"         \
    " expose_consents WHERE "
#define CONSENT_ORDER " ORDER BY revoked_at IS NOT NULL, consent_id"

int nb_store_consents(struct store_conn *c, const struct expose_target *t, struct nb_consents *out)
{
    out->n = out->n_groups = out->used = 0; /* not the 9 KiB: this runs on every decision */
    const char *id = t->kind == RESOURCE_DEVICE  ? t->supi
                     : t->kind == RESOURCE_GROUP ? t->group_id
                                                 : NULL;
    if (id == NULL)
        return IOTSEC_OK;
    struct store_stmt *st;
    int rc = store_stmt(c,
                        t->kind == RESOURCE_DEVICE ? CONSENT_COLS
                            "(target_kind = 'device' AND target_id = ?1) OR"
                            " (target_kind = 'group' AND target_id IN"
                            " (SELECT group_id FROM expose_groups WHERE supi = ?1))" CONSENT_ORDER
                                                   : CONSENT_COLS
                            "target_kind = 'group' AND target_id = ?1" CONSENT_ORDER,
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, id, -1);
    int s;
    while ((s = store_step(st)) == STORE_ROW && out->n < sizeof(out->c) / sizeof(out->c[0])) {
        struct consent *k = &out->c[out->n];
        bool group = strcmp(store_col_text(st, 5), "group") == 0;
        k->consent_id = keep(out, store_col_text(st, 0));
        k->af_id = keep(out, store_col_text(st, 1));
        k->target_id = keep(out, store_col_text(st, 6));
        if (!k->consent_id || !k->af_id || !k->target_id)
            break;
        k->services = (uint32_t)store_col_int64(st, 2);
        k->expires = store_col_int64(st, 3);
        k->revoked = !store_col_is_null(st, 4);
        k->target_kind = group ? RESOURCE_GROUP : RESOURCE_DEVICE;
        out->n++;
        if (group && t->kind == RESOURCE_DEVICE && out->n_groups < 16) {
            bool seen = false;
            for (size_t i = 0; i < out->n_groups && !seen; i++)
                seen = strcmp(out->groups[i], k->target_id) == 0;
            if (!seen)
                out->groups[out->n_groups++] = k->target_id;
        }
    }
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_store_opted_out(struct store_conn *c, const char *supi, bool *out)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT 1 FROM expose_opt_outs WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    int s = store_step(st);
    *out = s == STORE_ROW;
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_store_af_set_destinations(struct store_conn *c, const char *af_id, const char *text)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "UPDATE expose_afs SET allow_destinations = ? WHERE af_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, text, -1);
    store_bind_text(st, 2, af_id, -1);
    int s = store_step(st);
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    return store_changes(c) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int nb_store_stamp(struct store_conn *c, const char *sql, int64_t when, const char *key)
{
    struct store_stmt *st;
    int rc = store_stmt(c, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, when);
    store_bind_text(st, 2, key, -1);
    int s = store_step(st);
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(c, s);
    return store_changes(c) == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}
