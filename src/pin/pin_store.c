/* The SQL of PINs (portable: INTEGER/TEXT/BLOB, `?` placeholders, ON CONFLICT, no
 * engine-specific statements). Reads run on the calling thread's reader and are never cached:
 * every authentication and check sees revocations committed by any instance. Writes are jobs
 * (pin_write_run) and bump the topic "pin" for instances that would cache. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "pin/pin.h"

const char PIN_MIGRATION_1[] =
    "CREATE TABLE pin_roles (supi TEXT PRIMARY KEY, gateway INTEGER NOT NULL,"
    " manager INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE pin_networks (pin_id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL,"
    " policy TEXT NOT NULL, ca_pub BLOB NOT NULL, ca_sealed BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX pin_networks_owner ON pin_networks (owner);"
    "CREATE TABLE pin_gateways (pin_id TEXT NOT NULL, supi TEXT NOT NULL, gw_id TEXT NOT NULL,"
    " state INTEGER NOT NULL, PRIMARY KEY (pin_id, supi), UNIQUE (pin_id, gw_id));"
    "CREATE INDEX pin_gateways_supi ON pin_gateways (supi);"
    "CREATE TABLE pin_elements (pin_id TEXT NOT NULL, pine_id TEXT NOT NULL, name TEXT NOT NULL,"
    " pub BLOB NOT NULL, state INTEGER NOT NULL, grant_json TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (pin_id, pine_id),"
    " UNIQUE (pin_id, pub));"
    "CREATE TABLE pin_af_grants (pin_id TEXT NOT NULL, af_id TEXT NOT NULL,"
    " services INTEGER NOT NULL, granted_at INTEGER NOT NULL, PRIMARY KEY (pin_id, af_id));"
    "CREATE TABLE pin_routing (pin_id TEXT PRIMARY KEY, af_id TEXT NOT NULL,"
    " policy TEXT NOT NULL, updated_at INTEGER NOT NULL);";

/* One row per (PIN, PINE name) the PEMC expects with a code: the code's hash only (docs/pin.md),
 * the grant, the expiry and the wrong proofs so far. Deleted when used, replaced when the PEMC
 * issues a new code, deleted with its PIN. */
const char PIN_MIGRATION_2[] =
    "CREATE TABLE pin_enrolments (pin_id TEXT NOT NULL, name TEXT NOT NULL,"
    " code_hash BLOB NOT NULL, grant_json TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (pin_id, name));";

/* Symmetric PINEs (docs/pin.md): their MAC key sealed under the KEK (NULL for Ed25519 PINEs,
 * whose pub column is their public key; a symmetric PINE's pub is its key-derivation salt). */
const char PIN_MIGRATION_3[] = "ALTER TABLE pin_elements ADD COLUMN sym_sealed BLOB;";

/* A column's text, cut to cap - 1 bytes (memcpy: this runs per row of every read). */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = 0;
}

static int reader_stmt(struct store *s, const char *sql, struct store_stmt **st)
{
    struct store_conn *c;
    int rc = store_reader_get(s, &c);
    return rc == IOTSEC_OK ? store_stmt(c, sql, st) : rc;
}

int pin_roles_get(struct store *s, const char *supi, bool *gateway, bool *manager)
{
    struct store_stmt *st;
    *gateway = *manager = false;
    int rc = reader_stmt(s, "SELECT gateway, manager FROM pin_roles WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    int r = store_step(st);
    if (r == STORE_ROW) {
        *gateway = store_col_int(st, 0) != 0;
        *manager = store_col_int(st, 1) != 0;
    }
    store_reset(st);
    return r == STORE_ROW || r == STORE_DONE ? IOTSEC_OK : r;
}

#define NET_COLS "pin_id, name, owner, policy, ca_pub, ca_sealed, created_at"

static void net_row(struct store_stmt *st, struct pin_net *n)
{
    memset(n, 0, sizeof(*n));
    copy_text(n->pin_id, sizeof(n->pin_id), store_col_text(st, 0));
    copy_text(n->name, sizeof(n->name), store_col_text(st, 1));
    copy_text(n->owner, sizeof(n->owner), store_col_text(st, 2));
    copy_text(n->policy_json, sizeof(n->policy_json), store_col_text(st, 3));
    if (store_col_bytes(st, 4) == PIN_PUB_LEN)
        memcpy(n->ca_pub, store_col_blob(st, 4), PIN_PUB_LEN);
    if (store_col_bytes(st, 5) == (int)sizeof(n->ca_sealed))
        memcpy(n->ca_sealed, store_col_blob(st, 5), sizeof(n->ca_sealed));
    n->created_at = store_col_int64(st, 6);
}

int pin_net_get(struct store *s, const char *pin_id, struct pin_net *out)
{
    struct store_stmt *st;
    int rc = reader_stmt(s, "SELECT " NET_COLS " FROM pin_networks WHERE pin_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    int r = store_step(st);
    if (r == STORE_ROW)
        net_row(st, out);
    store_reset(st);
    return r == STORE_ROW ? IOTSEC_OK : r == STORE_DONE ? IOTSEC_ERR_NOTFOUND : r;
}

static int net_list(struct store *s, const char *sql, const char *key, size_t limit, pin_net_fn fn,
                    void *ctx)
{
    struct store_stmt *st;
    int rc = reader_stmt(s, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    int i = 1;
    if (key)
        store_bind_text(st, i++, key, -1);
    store_bind_int64(st, i, (int64_t)limit);
    int r;
    struct pin_net n;
    while ((r = store_step(st)) == STORE_ROW) {
        net_row(st, &n);
        fn(&n, ctx);
    }
    store_reset(st);
    return r == STORE_DONE ? IOTSEC_OK : r;
}

int pin_net_list(struct store *s, const char *owner, size_t limit, pin_net_fn fn, void *ctx)
{
    if (owner == NULL)
        return net_list(s, "SELECT " NET_COLS " FROM pin_networks ORDER BY pin_id LIMIT ?", NULL,
                        limit, fn, ctx);
    return net_list(s,
                    "SELECT " NET_COLS " FROM pin_networks WHERE owner = ? ORDER BY pin_id LIMIT ?",
                    owner, limit, fn, ctx);
}

int pin_net_list_served(struct store *s, const char *supi, size_t limit, pin_net_fn fn, void *ctx)
{
    return net_list(s,
                    "SELECT n.pin_id, n.name, n.owner, n.policy, n.ca_pub, n.ca_sealed,"
                    " n.created_at FROM pin_networks n JOIN pin_gateways g ON g.pin_id = n.pin_id"
                    " WHERE g.supi = ? ORDER BY n.pin_id LIMIT ?",
                    supi, limit, fn, ctx);
}

static void gw_row(struct store_stmt *st, struct pin_gw *g)
{
    copy_text(g->gw_id, sizeof(g->gw_id), store_col_text(st, 0));
    copy_text(g->supi, sizeof(g->supi), store_col_text(st, 1));
    g->state = store_col_int(st, 2) == GW_SUSPENDED ? GW_SUSPENDED : GW_ACTIVE;
}

static int gw_one(struct store *s, const char *sql, const char *pin_id, const char *key,
                  struct pin_gw *out)
{
    struct store_stmt *st;
    int rc = reader_stmt(s, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, key, -1);
    int r = store_step(st);
    if (r == STORE_ROW)
        gw_row(st, out);
    store_reset(st);
    return r == STORE_ROW ? IOTSEC_OK : r == STORE_DONE ? IOTSEC_ERR_NOTFOUND : r;
}

int pin_gw_of(struct store *s, const char *pin_id, const char *supi, struct pin_gw *out)
{
    return gw_one(s, "SELECT gw_id, supi, state FROM pin_gateways WHERE pin_id = ? AND supi = ?",
                  pin_id, supi, out);
}

int pin_gw_by_id(struct store *s, const char *pin_id, const char *gw_id, struct pin_gw *out)
{
    return gw_one(s, "SELECT gw_id, supi, state FROM pin_gateways WHERE pin_id = ? AND gw_id = ?",
                  pin_id, gw_id, out);
}

int pin_gw_list(struct store *s, const char *pin_id, pin_gw_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = reader_stmt(
        s, "SELECT gw_id, supi, state FROM pin_gateways WHERE pin_id = ? ORDER BY gw_id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    int r;
    struct pin_gw g;
    while ((r = store_step(st)) == STORE_ROW) {
        gw_row(st, &g);
        fn(&g, ctx);
    }
    store_reset(st);
    return r == STORE_DONE ? IOTSEC_OK : r;
}

#define PINE_COLS "pine_id, name, pub, state, grant_json, created_at, sym_sealed"

static void pine_row(struct store_stmt *st, struct pin_pine *p)
{
    memset(p, 0, sizeof(*p));
    copy_text(p->pine_id, sizeof(p->pine_id), store_col_text(st, 0));
    copy_text(p->name, sizeof(p->name), store_col_text(st, 1));
    if (store_col_bytes(st, 2) == PIN_PUB_LEN)
        memcpy(p->pub, store_col_blob(st, 2), PIN_PUB_LEN);
    int state = store_col_int(st, 3);
    p->state = state == PINE_APPROVED  ? PINE_APPROVED
               : state == PINE_REFUSED ? PINE_REFUSED
                                       : PINE_PENDING;
    copy_text(p->grant_json, sizeof(p->grant_json), store_col_text(st, 4));
    p->created_at = store_col_int64(st, 5);
    if (store_col_bytes(st, 6) == (int)sizeof(p->sym_sealed)) {
        p->symmetric = true;
        memcpy(p->sym_sealed, store_col_blob(st, 6), sizeof(p->sym_sealed));
    }
}

int pin_pine_get(struct store *s, const char *pin_id, const char *pine_id, struct pin_pine *out)
{
    struct store_stmt *st;
    int rc = reader_stmt(
        s, "SELECT " PINE_COLS " FROM pin_elements WHERE pin_id = ? AND pine_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, pine_id, -1);
    int r = store_step(st);
    if (r == STORE_ROW)
        pine_row(st, out);
    store_reset(st);
    return r == STORE_ROW ? IOTSEC_OK : r == STORE_DONE ? IOTSEC_ERR_NOTFOUND : r;
}

int pin_pine_list(struct store *s, const char *pin_id, size_t limit, pin_pine_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = reader_stmt(
        s, "SELECT " PINE_COLS " FROM pin_elements WHERE pin_id = ? ORDER BY pine_id LIMIT ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_int64(st, 2, (int64_t)limit);
    int r;
    struct pin_pine p;
    while ((r = store_step(st)) == STORE_ROW) {
        pine_row(st, &p);
        fn(&p, ctx);
    }
    store_reset(st);
    return r == STORE_DONE ? IOTSEC_OK : r;
}

int pin_enrol_get(struct store *s, const char *pin_id, const char *name, struct pin_enrol *out)
{
    struct store_stmt *st;
    int rc = reader_stmt(s,
                         "SELECT name, code_hash, grant_json, expires_at, attempts"
                         " FROM pin_enrolments WHERE pin_id = ? AND name = ?",
                         &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, name, -1);
    int r = store_step(st);
    if (r == STORE_ROW) {
        memset(out, 0, sizeof(*out));
        copy_text(out->name, sizeof(out->name), store_col_text(st, 0));
        if (store_col_bytes(st, 1) == PIN_MAC_LEN)
            memcpy(out->code_hash, store_col_blob(st, 1), PIN_MAC_LEN);
        copy_text(out->grant_json, sizeof(out->grant_json), store_col_text(st, 2));
        out->expires_at = store_col_int64(st, 3);
        out->attempts = store_col_int(st, 4);
    }
    store_reset(st);
    return r == STORE_ROW ? IOTSEC_OK : r == STORE_DONE ? IOTSEC_ERR_NOTFOUND : r;
}

/* ---- writes ---- */

/* Runs one statement to its end; *changed gets the rows it changed. */
static int exec(struct store_conn *c, struct store_stmt *st, int64_t *changed)
{
    int r = store_step(st);
    store_reset(st);
    if (r != STORE_DONE)
        return store_error(c, r);
    if (changed)
        *changed = store_changes(c);
    return IOTSEC_OK;
}

static int w_roles(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc;
    if (!w->gateway && !w->manager) {
        rc = store_stmt(c, "DELETE FROM pin_roles WHERE supi = ?", &st);
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, w->supi, -1);
        return exec(c, st, NULL);
    }
    rc = store_stmt(c,
                    "INSERT INTO pin_roles (supi, gateway, manager, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (supi) DO UPDATE SET gateway = excluded.gateway,"
                    " manager = excluded.manager, updated_at = excluded.updated_at",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->supi, -1);
    store_bind_int(st, 2, w->gateway);
    store_bind_int(st, 3, w->manager);
    store_bind_int64(st, 4, w->now);
    return exec(c, st, NULL);
}

static int w_create(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO pin_networks (pin_id, name, owner, policy, ca_pub, ca_sealed,"
                        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->net.name, -1);
    store_bind_text(st, 3, w->net.owner, -1);
    store_bind_text(st, 4, w->net.policy_json, -1);
    store_bind_blob(st, 5, w->net.ca_pub, PIN_PUB_LEN);
    store_bind_blob(st, 6, w->net.ca_sealed, (int)sizeof(w->net.ca_sealed));
    store_bind_int64(st, 7, w->now);
    store_bind_int64(st, 8, w->now);
    if ((rc = exec(c, st, NULL)) != IOTSEC_OK)
        return rc;
    for (size_t i = 0; i < w->n_gws; i++) {
        rc = store_stmt(
            c, "INSERT INTO pin_gateways (pin_id, supi, gw_id, state) VALUES (?, ?, ?, ?)", &st);
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, w->net.pin_id, -1);
        store_bind_text(st, 2, w->gws[i].supi, -1);
        store_bind_text(st, 3, w->gws[i].gw_id, -1);
        store_bind_int(st, 4, GW_ACTIVE);
        if ((rc = exec(c, st, NULL)) != IOTSEC_OK)
            return rc;
    }
    return IOTSEC_OK;
}

/* Two plain statements rather than a CASE on a bound parameter: PostgreSQL cannot type a
 * parameter compared with a literal. */
static int w_update_col(struct store_conn *c, const char *sql, const char *v, struct pin_write *w)
{
    struct store_stmt *st;
    int rc = store_stmt(c, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, v, -1);
    store_bind_int64(st, 2, w->now);
    store_bind_text(st, 3, w->net.pin_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_update(struct store_conn *c, struct pin_write *w)
{
    int rc = w->net.name[0] || w->net.policy_json[0] ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK && w->net.name[0])
        rc = w_update_col(c, "UPDATE pin_networks SET name = ?, updated_at = ? WHERE pin_id = ?",
                          w->net.name, w);
    if (rc == IOTSEC_OK && w->net.policy_json[0])
        rc = w_update_col(c, "UPDATE pin_networks SET policy = ?, updated_at = ? WHERE pin_id = ?",
                          w->net.policy_json, w);
    return rc;
}

static int w_delete(struct store_conn *c, struct pin_write *w)
{
    static const char *const sql[] = {
        "DELETE FROM pin_af_grants WHERE pin_id = ?",  "DELETE FROM pin_routing WHERE pin_id = ?",
        "DELETE FROM pin_enrolments WHERE pin_id = ?", "DELETE FROM pin_elements WHERE pin_id = ?",
        "DELETE FROM pin_gateways WHERE pin_id = ?",   "DELETE FROM pin_networks WHERE pin_id = ?"};
    int64_t n = 0;
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        struct store_stmt *st;
        int rc = store_stmt(c, sql[i], &st);
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, w->net.pin_id, -1);
        if ((rc = exec(c, st, &n)) != IOTSEC_OK)
            return rc;
    }
    return n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_join(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    /* the PIN must still exist: a join racing a deletion leaves no orphan */
    int rc =
        store_stmt(c,
                   "INSERT INTO pin_elements (pin_id, pine_id, name, pub, state, grant_json,"
                   " created_at, updated_at, sym_sealed) SELECT pin_id, ?, ?, ?, ?, '', ?, ?, ?"
                   " FROM pin_networks WHERE pin_id = ?",
                   &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->pine.pine_id, -1);
    store_bind_text(st, 2, w->pine.name, -1);
    store_bind_blob(st, 3, w->pine.pub, PIN_PUB_LEN);
    store_bind_int(st, 4, PINE_PENDING);
    store_bind_int64(st, 5, w->now);
    store_bind_int64(st, 6, w->now);
    if (w->pine.symmetric)
        store_bind_blob(st, 7, w->pine.sym_sealed, sizeof(w->pine.sym_sealed));
    else
        store_bind_null(st, 7);
    store_bind_text(st, 8, w->net.pin_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_pine_state(struct store_conn *c, struct pin_write *w, int state)
{
    struct store_stmt *st;
    /* only a pending join is decided: an approval cannot be re-approved with a wider grant */
    int rc = store_stmt(c,
                        "UPDATE pin_elements SET state = ?, grant_json = ?, updated_at = ?"
                        " WHERE pin_id = ? AND pine_id = ? AND state = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, state);
    store_bind_text(st, 2, w->pine.grant_json, -1);
    store_bind_int64(st, 3, w->now);
    store_bind_text(st, 4, w->net.pin_id, -1);
    store_bind_text(st, 5, w->pine.pine_id, -1);
    store_bind_int(st, 6, PINE_PENDING);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_remove(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "DELETE FROM pin_elements WHERE pin_id = ? AND pine_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->pine.pine_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_gw_state(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "UPDATE pin_gateways SET state = ? WHERE pin_id = ? AND gw_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, w->gw.state);
    store_bind_text(st, 2, w->net.pin_id, -1);
    store_bind_text(st, 3, w->gw.gw_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

static int w_gw_add(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    /* at most PIN_GATEWAYS_MAX, and the PIN must still exist */
    int rc =
        store_stmt(c,
                   "INSERT INTO pin_gateways (pin_id, supi, gw_id, state) SELECT pin_id, ?, ?, ?"
                   " FROM pin_networks WHERE pin_id = ? AND (SELECT COUNT(*) FROM"
                   " pin_gateways g WHERE g.pin_id = ?) < ? ON CONFLICT DO NOTHING",
                   &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->gw.supi, -1);
    store_bind_text(st, 2, w->gw.gw_id, -1);
    store_bind_int(st, 3, GW_ACTIVE);
    store_bind_text(st, 4, w->net.pin_id, -1);
    store_bind_text(st, 5, w->net.pin_id, -1);
    store_bind_int(st, 6, PIN_GATEWAYS_MAX);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_CONFLICT;
}

static int w_gw_remove(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    /* a PIN keeps at least one gateway: the PEMC deletes the PIN instead */
    int rc = store_stmt(c,
                        "DELETE FROM pin_gateways WHERE pin_id = ? AND gw_id = ? AND (SELECT"
                        " COUNT(*) FROM pin_gateways g WHERE g.pin_id = ?) > 1",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->gw.gw_id, -1);
    store_bind_text(st, 3, w->net.pin_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_CONFLICT;
}

static int w_af_grant(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc;
    if (w->af_services == 0) {
        rc = store_stmt(c, "DELETE FROM pin_af_grants WHERE pin_id = ? AND af_id = ?", &st);
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, w->net.pin_id, -1);
        store_bind_text(st, 2, w->af_id, -1);
        int64_t n = 0;
        rc = exec(c, st, &n);
        return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
    }
    rc = store_stmt(c,
                    "INSERT INTO pin_af_grants (pin_id, af_id, services, granted_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (pin_id, af_id) DO UPDATE SET"
                    " services = excluded.services, granted_at = excluded.granted_at",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->af_id, -1);
    store_bind_int64(st, 3, w->af_services);
    store_bind_int64(st, 4, w->now);
    return exec(c, st, NULL);
}

static int w_routing(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO pin_routing (pin_id, af_id, policy, updated_at)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (pin_id) DO UPDATE SET"
                        " af_id = excluded.af_id, policy = excluded.policy,"
                        " updated_at = excluded.updated_at",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->af_id, -1);
    store_bind_text(st, 3, w->net.policy_json, -1);
    store_bind_int64(st, 4, w->now);
    return exec(c, st, NULL);
}

static int w_enrol_set(struct store_conn *c, struct pin_write *w)
{
    struct store_stmt *st;
    /* the PIN must still exist; a new code for the same name replaces the old one */
    int rc = store_stmt(c,
                        "INSERT INTO pin_enrolments (pin_id, name, code_hash, grant_json,"
                        " expires_at, attempts, created_at) SELECT pin_id, ?, ?, ?, ?, 0, ?"
                        " FROM pin_networks WHERE pin_id = ?"
                        " ON CONFLICT (pin_id, name) DO UPDATE SET code_hash = excluded.code_hash,"
                        " grant_json = excluded.grant_json, expires_at = excluded.expires_at,"
                        " attempts = 0, created_at = excluded.created_at",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->enrol.name, -1);
    store_bind_blob(st, 2, w->enrol.code_hash, PIN_MAC_LEN);
    store_bind_text(st, 3, w->enrol.grant_json, -1);
    store_bind_int64(st, 4, w->enrol.expires_at);
    store_bind_int64(st, 5, w->now);
    store_bind_text(st, 6, w->net.pin_id, -1);
    int64_t n = 0;
    rc = exec(c, st, &n);
    return rc != IOTSEC_OK ? rc : n == 1 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

/* The enrolment row as judged (same hash: not replaced since), for one more wrong proof or
 * its single use. */
static int enrol_stmt(struct store_conn *c, const char *sql, struct pin_write *w, int64_t *changed)
{
    struct store_stmt *st;
    int rc = store_stmt(c, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, w->net.pin_id, -1);
    store_bind_text(st, 2, w->enrol.name, -1);
    store_bind_blob(st, 3, w->enrol.code_hash, PIN_MAC_LEN);
    store_bind_int64(st, 4, w->now);
    store_bind_int(st, 5, PIN_CODE_ATTEMPTS);
    return exec(c, st, changed);
}

static int w_enrol_fail(struct store_conn *c, struct pin_write *w)
{
    return enrol_stmt(c,
                      "UPDATE pin_enrolments SET attempts = attempts + 1 WHERE pin_id = ?"
                      " AND name = ? AND code_hash = ? AND expires_at > ? AND attempts < ?",
                      w, NULL);
}

static int w_enrol_use(struct store_conn *c, struct pin_write *w)
{
    int64_t n = 0;
    /* consumed in the same transaction as the PINE's row: two joins racing with one code, one
     * wins; an expired or locked code is not consumed */
    int rc = enrol_stmt(c,
                        "DELETE FROM pin_enrolments WHERE pin_id = ? AND name = ?"
                        " AND code_hash = ? AND expires_at > ? AND attempts < ?",
                        w, &n);
    if (rc != IOTSEC_OK)
        return rc;
    if (n != 1)
        return IOTSEC_ERR_CONFLICT;
    if ((rc = w_join(c, w)) != IOTSEC_OK)
        return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_ERR_CONFLICT : rc;
    w->pine.state = PINE_PENDING;
    snprintf(w->pine.grant_json, sizeof(w->pine.grant_json), "%s", w->enrol.grant_json);
    rc = w_pine_state(c, w, PINE_APPROVED);
    return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_ERR_CONFLICT : rc;
}

int pin_af_grant_get(struct store *s, const char *pin_id, const char *af_id, uint32_t *services)
{
    struct store_stmt *st;
    *services = 0;
    int rc =
        reader_stmt(s, "SELECT services FROM pin_af_grants WHERE pin_id = ? AND af_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, af_id, -1);
    int r = store_step(st);
    if (r == STORE_ROW)
        *services = (uint32_t)store_col_int64(st, 0);
    store_reset(st);
    return r == STORE_ROW || r == STORE_DONE ? IOTSEC_OK : r;
}

int pin_af_grant_net(struct store *s, const char *pin_id, const char *af_id, uint32_t *services,
                     struct pin_net *out)
{
    struct store_stmt *st;
    *services = 0;
    int rc = reader_stmt(s,
                         "SELECT n.pin_id, n.name, n.owner, n.policy, n.ca_pub, n.ca_sealed,"
                         " n.created_at, g.services FROM pin_af_grants g JOIN pin_networks n"
                         " ON n.pin_id = g.pin_id WHERE g.pin_id = ? AND g.af_id = ?",
                         &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, af_id, -1);
    int r = store_step(st);
    if (r == STORE_ROW) {
        net_row(st, out);
        *services = (uint32_t)store_col_int64(st, 7);
    }
    store_reset(st);
    return r == STORE_ROW ? IOTSEC_OK : r == STORE_DONE ? IOTSEC_ERR_NOTFOUND : r;
}

int pin_af_view(struct store *s, const char *pin_id, const char *af_id, size_t max_elements,
                pin_view_fn fn, void *ctx)
{
    struct store_stmt *st;
    /* one statement (a read's fixed cost is most of it): the grant row, then the gateways, then
     * the elements (read only under a grant), each part in its index's order and the limit on
     * the elements alone: no sort, no temporary table (a global ORDER BY made SQLite sort into
     * temporary b-trees, a third of the face's CPU per request) */
    int rc = reader_stmt(
        s,
        "SELECT 0 AS kind, n.pin_id AS id, n.name AS name, g.services AS v FROM pin_af_grants g"
        " JOIN pin_networks n ON n.pin_id = g.pin_id WHERE g.pin_id = ? AND g.af_id = ?"
        " UNION ALL SELECT * FROM (SELECT 1 AS kind, gw_id AS id, '' AS name, state AS v"
        " FROM pin_gateways WHERE pin_id = ? ORDER BY gw_id) AS gw"
        " UNION ALL SELECT * FROM (SELECT 2 AS kind, pine_id AS id, name, state AS v"
        " FROM pin_elements WHERE pin_id = ? AND EXISTS (SELECT 1 FROM pin_af_grants"
        " WHERE pin_id = ? AND af_id = ?) ORDER BY pine_id LIMIT ?) AS el",
        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, pin_id, -1);
    store_bind_text(st, 2, af_id, -1);
    store_bind_text(st, 3, pin_id, -1);
    store_bind_text(st, 4, pin_id, -1);
    store_bind_text(st, 5, pin_id, -1);
    store_bind_text(st, 6, af_id, -1);
    store_bind_int64(st, 7, (int64_t)max_elements);
    int r;
    while ((r = store_step(st)) == STORE_ROW) {
        int kind = store_col_int(st, 0);
        fn(kind == 0   ? PIN_VIEW_GRANT
           : kind == 1 ? PIN_VIEW_GATEWAY
                       : PIN_VIEW_ELEMENT,
           store_col_text(st, 1), store_col_text(st, 2), store_col_int64(st, 3), ctx);
    }
    store_reset(st);
    return r == STORE_DONE ? IOTSEC_OK : r;
}

int pin_af_grants_of(struct store *s, const char *af_id, size_t limit, pin_id_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = reader_stmt(
        s, "SELECT pin_id FROM pin_af_grants WHERE af_id = ? ORDER BY pin_id LIMIT ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, af_id, -1);
    store_bind_int64(st, 2, (int64_t)limit);
    int r;
    while ((r = store_step(st)) == STORE_ROW)
        fn(store_col_text(st, 0), ctx);
    store_reset(st);
    return r == STORE_DONE ? IOTSEC_OK : r;
}

int pin_write_run(struct store_conn *c, void *arg)
{
    struct pin_write *w = arg;
    int rc;
    switch (w->kind) {
    case PIN_W_ROLES:
        rc = w_roles(c, w);
        break;
    case PIN_W_CREATE:
        rc = w_create(c, w);
        break;
    case PIN_W_UPDATE:
        rc = w_update(c, w);
        break;
    case PIN_W_DELETE:
        rc = w_delete(c, w);
        break;
    case PIN_W_JOIN:
        rc = w_join(c, w);
        break;
    case PIN_W_APPROVE:
        rc = w_pine_state(c, w, PINE_APPROVED);
        break;
    case PIN_W_REFUSE:
        rc = w_pine_state(c, w, PINE_REFUSED);
        break;
    case PIN_W_REMOVE:
        rc = w_remove(c, w);
        break;
    case PIN_W_GW_STATE:
        rc = w_gw_state(c, w);
        break;
    case PIN_W_AF_GRANT:
        rc = w_af_grant(c, w);
        break;
    case PIN_W_GW_ADD:
        rc = w_gw_add(c, w);
        break;
    case PIN_W_GW_REMOVE:
        rc = w_gw_remove(c, w);
        break;
    case PIN_W_ROUTING:
        rc = w_routing(c, w);
        break;
    case PIN_W_ENROL_SET:
        rc = w_enrol_set(c, w);
        break;
    case PIN_W_ENROL_FAIL:
        rc = w_enrol_fail(c, w);
        break;
    case PIN_W_ENROL_USE:
        rc = w_enrol_use(c, w);
        break;
    default:
        rc = IOTSEC_ERR_INVALID;
    }
    return rc == IOTSEC_OK ? store_topic_bump(c, "pin") : rc;
}

size_t pin_sealed_aad(const char *key, int64_t unused, char *buf, size_t cap)
{
    (void)unused;
    size_t n = strlen(key);
    if (n == 0 || n >= cap)
        return 0;
    memcpy(buf, key, n);
    return n;
}
