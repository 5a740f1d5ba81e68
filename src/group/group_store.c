/* The SQL of groups: see group_store.h. */
#include "group/group_store.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"

const char GROUP_MIGRATION_1[] =
    "CREATE TABLE groups ("
    " ref INTEGER PRIMARY KEY," /* local group id, random, never on the northbound face */
    " external_id TEXT NOT NULL UNIQUE,"
    " owner TEXT NOT NULL,"
    " arity INTEGER NOT NULL,"
    " depth INTEGER NOT NULL,"
    " confidential INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE group_members ("
    " ref INTEGER NOT NULL REFERENCES groups(ref) ON DELETE CASCADE,"
    " supi TEXT NOT NULL,"
    " leaf INTEGER NOT NULL,"
    " added_at INTEGER NOT NULL,"
    " PRIMARY KEY (ref, supi));"
    "CREATE UNIQUE INDEX group_members_leaf ON group_members(ref, leaf);"
    "CREATE INDEX group_members_supi ON group_members(supi);"
    "CREATE TABLE group_node_keys ("
    " ref INTEGER NOT NULL REFERENCES groups(ref) ON DELETE CASCADE,"
    " node INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " sealed BLOB NOT NULL," /* seal(KEK, aad = ref|node|epoch, key) */
    " PRIMARY KEY (ref, node));"
    "CREATE TABLE group_rekeys ("
    " ref INTEGER NOT NULL REFERENCES groups(ref) ON DELETE CASCADE,"
    " epoch INTEGER NOT NULL,"
    " message BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (ref, epoch));"
    "CREATE TABLE group_senders ("
    " ref INTEGER NOT NULL REFERENCES groups(ref) ON DELETE CASCADE,"
    " sender INTEGER NOT NULL,"
    " seq_reserved INTEGER NOT NULL," /* every sequence below is spent or reserved */
    " PRIMARY KEY (ref, sender));"
    "CREATE TABLE group_signing ("
    " id INTEGER PRIMARY KEY,"
    " pub BLOB NOT NULL,"
    " sealed BLOB NOT NULL);"; /* the Ed25519 seed under the KEK */

bool group_external_id_valid(const char *s)
{
    size_t n = strlen(s), at = 0, ats = 0;
    if (n < 3 || n > GROUP_EXT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
        if (s[i] == '@') {
            ats++;
            at = i;
        }
    }
    return ats == 1 && at > 0 && at < n - 1;
}

/* Refs are 63-bit so they fit a signed INTEGER on both engines. */
static int64_t ref_sql(uint64_t ref)
{
    return (int64_t)(ref & INT64_MAX);
}

static int done(struct store_conn *c, struct store_stmt *st, int rc)
{
    if (rc == STORE_DONE)
        return IOTSEC_OK;
    store_reset(st);
    return store_error(c, rc);
}

int group_store_create(struct store_conn *c, const struct group_row *g)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO groups (ref, external_id, owner, arity, depth, confidential,"
                        " epoch, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(g->ref));
    store_bind_text(st, 2, g->external_id, -1);
    store_bind_text(st, 3, g->owner, -1);
    store_bind_int(st, 4, g->arity);
    store_bind_int(st, 5, g->depth);
    store_bind_int(st, 6, g->confidential ? 1 : 0);
    store_bind_int64(st, 7, g->epoch);
    store_bind_int64(st, 8, g->created_at);
    return done(c, st, store_step(st));
}

#define ROW_COLS                                                                                   \
    "g.ref, g.external_id, g.owner, g.arity, g.depth, g.confidential, g.epoch, g.created_at,"      \
    " (SELECT COUNT(*) FROM group_members m WHERE m.ref = g.ref)"

static void read_row(struct store_stmt *st, struct group_row *g)
{
    memset(g, 0, sizeof(*g));
    g->ref = (uint64_t)store_col_int64(st, 0);
    snprintf(g->external_id, sizeof(g->external_id), "%s", store_col_text(st, 1));
    snprintf(g->owner, sizeof(g->owner), "%s", store_col_text(st, 2));
    g->arity = (uint8_t)store_col_int(st, 3);
    g->depth = (uint8_t)store_col_int(st, 4);
    g->confidential = store_col_int(st, 5) != 0;
    g->epoch = (uint32_t)store_col_int64(st, 6);
    g->created_at = store_col_int64(st, 7);
    g->members = store_col_int64(st, 8);
}

static int find_one(struct store_conn *c, struct store_stmt *st, struct group_row *out)
{
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        read_row(st, out);
        store_reset(st);
        return IOTSEC_OK;
    }
    store_reset(st);
    return rc == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, rc);
}

int group_store_find(struct store_conn *c, const char *external_id, struct group_row *out)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT " ROW_COLS " FROM groups g WHERE g.external_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, external_id, -1);
    return find_one(c, st, out);
}

int group_store_find_ref(struct store_conn *c, uint64_t ref, struct group_row *out)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT " ROW_COLS " FROM groups g WHERE g.ref = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    return find_one(c, st, out);
}

int group_store_list(struct store_conn *c, group_row_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT " ROW_COLS " FROM groups g ORDER BY g.external_id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    struct group_row g;
    while ((rc = store_step(st)) == STORE_ROW) {
        read_row(st, &g);
        fn(&g, ctx);
    }
    return done(c, st, rc);
}

int group_store_member_add(struct store_conn *c, uint64_t ref, const char *supi, uint32_t leaf,
                           int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO group_members (ref, supi, leaf, added_at)"
                        " VALUES (?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_text(st, 2, supi, -1);
    store_bind_int64(st, 3, leaf);
    store_bind_int64(st, 4, now);
    return done(c, st, store_step(st));
}

int group_store_member_leaf(struct store_conn *c, uint64_t ref, const char *supi, uint32_t *leaf)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT leaf FROM group_members WHERE ref = ? AND supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_text(st, 2, supi, -1);
    rc = store_step(st);
    if (rc == STORE_ROW)
        *leaf = (uint32_t)store_col_int64(st, 0);
    store_reset(st);
    if (rc == STORE_ROW)
        return IOTSEC_OK;
    return rc == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, rc);
}

int group_store_member_remove(struct store_conn *c, uint64_t ref, const char *supi, uint32_t *leaf)
{
    struct store_stmt *st;
    int rc =
        store_stmt(c, "DELETE FROM group_members WHERE ref = ? AND supi = ? RETURNING leaf", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_text(st, 2, supi, -1);
    int64_t l;
    rc = store_step_id(c, st, &l);
    if (rc == IOTSEC_OK)
        *leaf = (uint32_t)l;
    return rc;
}

int group_store_members(struct store_conn *c, uint64_t ref, group_member_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT supi, leaf FROM group_members WHERE ref = ? ORDER BY supi", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    while ((rc = store_step(st)) == STORE_ROW)
        fn(store_col_text(st, 0), (uint32_t)store_col_int64(st, 1), ctx);
    return done(c, st, rc);
}

static void node_aad(uint64_t ref, uint32_t node, uint32_t epoch, uint8_t aad[24])
{
    memcpy(aad, "grpnode\0", 8);
    for (int i = 0; i < 8; i++)
        aad[8 + i] = (uint8_t)(ref >> (56 - 8 * i));
    for (int i = 0; i < 4; i++) {
        aad[16 + i] = (uint8_t)(node >> (24 - 8 * i));
        aad[20 + i] = (uint8_t)(epoch >> (24 - 8 * i));
    }
}

static int save_node(struct store_conn *c, const struct seal_kek *kek, uint64_t ref,
                     const struct group_tree *t, uint32_t node)
{
    struct store_stmt *st;
    int rc;
    if (t->count[node] == 0) {
        if ((rc = store_stmt(c, "DELETE FROM group_node_keys WHERE ref = ? AND node = ?", &st)) !=
            IOTSEC_OK)
            return rc;
        store_bind_int64(st, 1, ref_sql(ref));
        store_bind_int64(st, 2, node);
        return done(c, st, store_step(st));
    }
    uint8_t aad[24], env[GROUP_KEY_LEN + SEAL_OVERHEAD];
    node_aad(ref, node, t->epoch, aad);
    if ((rc = seal(kek, aad, sizeof(aad), t->key[node], GROUP_KEY_LEN, env)) != IOTSEC_OK)
        return rc;
    if ((rc =
             store_stmt(c,
                        "INSERT INTO group_node_keys (ref, node, epoch, sealed) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (ref, node) DO UPDATE SET epoch = excluded.epoch,"
                        " sealed = excluded.sealed",
                        &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_int64(st, 2, node);
    store_bind_int64(st, 3, t->epoch);
    store_bind_blob(st, 4, env, sizeof(env));
    return done(c, st, store_step(st));
}

int group_store_save_rekey(struct store_conn *c, const struct seal_kek *kek, uint64_t ref,
                           const struct group_tree *t, const uint8_t *msg, size_t msg_len,
                           int64_t now)
{
    int rc = IOTSEC_OK;
    for (uint32_t i = 0; rc == IOTSEC_OK && i < t->nrenewed; i++)
        rc = save_node(c, kek, ref, t, t->renewed[i]);
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    if ((rc = store_stmt(c, "UPDATE groups SET epoch = ? WHERE ref = ?", &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, t->epoch);
    store_bind_int64(st, 2, ref_sql(ref));
    if ((rc = done(c, st, store_step(st))) != IOTSEC_OK)
        return rc;
    if ((rc = store_stmt(c,
                         "INSERT INTO group_rekeys (ref, epoch, message, created_at)"
                         " VALUES (?, ?, ?, ?)",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_int64(st, 2, t->epoch);
    store_bind_blob(st, 3, msg, (int)msg_len);
    store_bind_int64(st, 4, now);
    return done(c, st, store_step(st));
}

static void count_member(const char *supi, uint32_t leaf, void *ctx)
{
    (void)supi;
    struct group_tree *t = ctx;
    if (!group_tree_valid_leaf(t, leaf) || t->count[leaf] != 0)
        return; /* impossible with the unique (ref, leaf) index: ignored */
    for (uint32_t n = leaf;; n = group_node_parent(n, t->arity)) {
        t->count[n]++;
        if (n == 0)
            break;
    }
    t->members++;
}

int group_store_load_tree(struct store_conn *c, const struct seal_kek *kek,
                          const struct group_row *g, struct group_tree *t)
{
    int rc = group_tree_init(t, g->arity, g->depth);
    if (rc != IOTSEC_OK)
        return rc;
    t->epoch = g->epoch;
    if ((rc = group_store_members(c, g->ref, count_member, t)) != IOTSEC_OK)
        goto fail;
    struct store_stmt *st;
    if ((rc = store_stmt(c, "SELECT node, epoch, sealed FROM group_node_keys WHERE ref = ?",
                         &st)) != IOTSEC_OK)
        goto fail;
    store_bind_int64(st, 1, ref_sql(g->ref));
    while ((rc = store_step(st)) == STORE_ROW) {
        int64_t node = store_col_int64(st, 0), epoch = store_col_int64(st, 1);
        int len = store_col_bytes(st, 2);
        uint8_t aad[24];
        if (node < 0 || node >= t->nodes || len != GROUP_KEY_LEN + SEAL_OVERHEAD) {
            rc = IOTSEC_ERR_INVALID;
            break;
        }
        node_aad(g->ref, (uint32_t)node, (uint32_t)epoch, aad);
        if ((rc = unseal(kek, aad, sizeof(aad), store_col_blob(st, 2), (size_t)len,
                         t->key[node])) != IOTSEC_OK)
            break;
    }
    if ((rc = done(c, st, rc)) == IOTSEC_OK)
        return IOTSEC_OK;
fail:
    group_tree_free(t);
    return rc;
}

int group_store_reserve_seq(struct store_conn *c, uint64_t ref, uint32_t sender, uint32_t block,
                            uint64_t *first)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO group_senders (ref, sender, seq_reserved) VALUES (?, ?, ?)"
                        " ON CONFLICT (ref, sender) DO UPDATE"
                        " SET seq_reserved = group_senders.seq_reserved + ?"
                        " RETURNING seq_reserved",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_int64(st, 2, sender);
    store_bind_int64(st, 3, 1 + (int64_t)block); /* sequences start at 1 */
    store_bind_int64(st, 4, block);
    int64_t end;
    if ((rc = store_step_id(c, st, &end)) == IOTSEC_OK)
        *first = (uint64_t)(end - block);
    return rc;
}

static const char signing_aad[] = "group signing key";

size_t group_signing_aad(const char *unused, int64_t id, char *buf, size_t cap)
{
    (void)unused;
    if (id != 1 || cap < sizeof(signing_aad))
        return 0;
    memcpy(buf, signing_aad, sizeof(signing_aad) - 1);
    return sizeof(signing_aad) - 1;
}

int group_store_signing_key(struct store_conn *c, const struct seal_kek *kek,
                            uint8_t seed[PROV_ED25519_SEED_LEN])
{
    const char *aad = signing_aad;
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT sealed FROM group_signing WHERE id = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    rc = store_step(st);
    if (rc == STORE_ROW) {
        int len = store_col_bytes(st, 0);
        rc = len == PROV_ED25519_SEED_LEN + SEAL_OVERHEAD
                 ? unseal(kek, aad, sizeof(signing_aad) - 1, store_col_blob(st, 0), (size_t)len,
                          seed)
                 : IOTSEC_ERR_INVALID;
        store_reset(st);
        return rc;
    }
    store_reset(st);
    if (rc != STORE_DONE)
        return store_error(c, rc);
    uint8_t pub[PROV_ED25519_PUB_LEN], env[PROV_ED25519_SEED_LEN + SEAL_OVERHEAD];
    if ((rc = prov_ed25519_keygen(seed, pub)) != IOTSEC_OK ||
        (rc = seal(kek, aad, sizeof(signing_aad) - 1, seed, PROV_ED25519_SEED_LEN, env)) !=
            IOTSEC_OK)
        return rc;
    if ((rc = store_stmt(c, "INSERT INTO group_signing (id, pub, sealed) VALUES (1, ?, ?)", &st)) !=
        IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, pub, sizeof(pub));
    store_bind_blob(st, 2, env, sizeof(env));
    return done(c, st, store_step(st));
}

int group_store_groups_of(struct store_conn *c, const char *supi, group_row_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT " ROW_COLS " FROM groups g JOIN group_members gm ON gm.ref = g.ref"
                        " WHERE gm.supi = ? ORDER BY g.external_id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    struct group_row g;
    while ((rc = store_step(st)) == STORE_ROW) {
        read_row(st, &g);
        fn(&g, ctx);
    }
    return done(c, st, rc);
}
