/* The SQL of group message delivery: see group_deliver.h. Backend-neutral (`?`, ON CONFLICT). */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "group/group_deliver.h"

const char GROUP_MIGRATION_2[] =
    "CREATE TABLE group_endpoints (" /* a member's unicast delivery endpoint */
    " supi TEXT PRIMARY KEY,"
    " url TEXT NOT NULL);"
    "CREATE TABLE group_multicast ("
    " ref INTEGER PRIMARY KEY REFERENCES groups(ref) ON DELETE CASCADE,"
    " dest TEXT NOT NULL," /* a.b.c.d:port */
    " iface TEXT NOT NULL);"
    "CREATE TABLE group_deliveries (" /* an AF's MBS group message delivery (TS 29.522) */
    " del_ref TEXT PRIMARY KEY,"
    " af_id TEXT NOT NULL,"
    " external_id TEXT NOT NULL,"
    " notif_uri TEXT NOT NULL,"
    " start_time TEXT NOT NULL,"
    " stop_time TEXT NOT NULL,"
    " serv_area TEXT NOT NULL,"
    " epoch INTEGER NOT NULL,"
    " total INTEGER NOT NULL,"
    " delivered INTEGER NOT NULL,"
    " failed INTEGER NOT NULL,"
    " multicast INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX group_deliveries_af ON group_deliveries(af_id, created_at);";

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

/* One row's first text column into out, or IOTSEC_ERR_NOTFOUND. */
static int one_text(struct store_conn *c, struct store_stmt *st, char *out, size_t cap)
{
    int rc = store_step(st);
    if (rc == STORE_ROW)
        snprintf(out, cap, "%s", store_col_text(st, 0));
    store_reset(st);
    return rc == STORE_ROW    ? IOTSEC_OK
           : rc == STORE_DONE ? IOTSEC_ERR_NOTFOUND
                              : store_error(c, rc);
}

int group_store_endpoint_set(struct store_conn *c, const char *supi, const char *url)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO group_endpoints (supi, url) VALUES (?, ?)"
                        " ON CONFLICT (supi) DO UPDATE SET url = excluded.url",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_text(st, 2, url, -1);
    return done(c, st, store_step(st));
}

int group_store_endpoint_get(struct store_conn *c, const char *supi, char *url, size_t cap)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT url FROM group_endpoints WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    return one_text(c, st, url, cap);
}

int group_store_endpoints(struct store_conn *c, const char *after, size_t limit,
                          group_endpoint_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT supi, url FROM group_endpoints WHERE supi > ?"
                        " ORDER BY supi LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, after ? after : "", -1);
    store_bind_int64(st, 2, (int64_t)limit);
    while ((rc = store_step(st)) == STORE_ROW)
        fn(store_col_text(st, 0), store_col_text(st, 1), ctx);
    return done(c, st, rc);
}

int group_store_multicast_set(struct store_conn *c, uint64_t ref, const char *dest,
                              const char *iface)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO group_multicast (ref, dest, iface) VALUES (?, ?, ?)"
                        " ON CONFLICT (ref) DO UPDATE SET dest = excluded.dest,"
                        " iface = excluded.iface",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_text(st, 2, dest, -1);
    store_bind_text(st, 3, iface, -1);
    return done(c, st, store_step(st));
}

int group_store_multicast_get(struct store_conn *c, uint64_t ref, char *dest, size_t dcap,
                              char *iface, size_t icap)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT dest, iface FROM group_multicast WHERE ref = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    rc = store_step(st);
    if (rc == STORE_ROW) {
        snprintf(dest, dcap, "%s", store_col_text(st, 0));
        snprintf(iface, icap, "%s", store_col_text(st, 1));
    }
    store_reset(st);
    return rc == STORE_ROW    ? IOTSEC_OK
           : rc == STORE_DONE ? IOTSEC_ERR_NOTFOUND
                              : store_error(c, rc);
}

int group_store_targets(struct store_conn *c, uint64_t ref, group_target_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT m.supi, COALESCE(e.url, ''), s.state, m.leaf FROM group_members m"
                        " LEFT JOIN group_endpoints e ON e.supi = m.supi"
                        " LEFT JOIN subscriptions s ON s.supi = m.supi"
                        " WHERE m.ref = ? ORDER BY m.leaf",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    while ((rc = store_step(st)) == STORE_ROW) {
        const char *state = store_col_text(st, 2);
        int frc = fn(store_col_text(st, 0), store_col_text(st, 1), (uint32_t)store_col_int64(st, 3),
                     state != NULL && strcmp(state, "active") == 0, ctx);
        if (frc != IOTSEC_OK) {
            store_reset(st);
            return frc;
        }
    }
    return done(c, st, rc);
}

int group_store_leaf_active(struct store_conn *c, uint64_t ref, uint32_t leaf, bool *yes)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT s.state FROM group_members m JOIN subscriptions s"
                        " ON s.supi = m.supi WHERE m.ref = ? AND m.leaf = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, ref_sql(ref));
    store_bind_int64(st, 2, leaf);
    char state[32] = "";
    rc = one_text(c, st, state, sizeof(state));
    *yes = rc == IOTSEC_OK && strcmp(state, "active") == 0;
    return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_OK : rc;
}

int group_store_consent_owner(struct store_conn *c, const char *consent_id, char *owner, size_t cap)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT owner FROM expose_consents WHERE consent_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, consent_id, -1);
    return one_text(c, st, owner, cap);
}

int group_store_delivery_insert(struct store_conn *c, const struct group_delivery_row *d)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO group_deliveries (del_ref, af_id, external_id, notif_uri,"
                        " start_time, stop_time, serv_area, epoch, total, delivered, failed,"
                        " multicast, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, d->del_ref, -1);
    store_bind_text(st, 2, d->af_id, -1);
    store_bind_text(st, 3, d->external_id, -1);
    store_bind_text(st, 4, d->notif_uri, -1);
    store_bind_text(st, 5, d->start_time, -1);
    store_bind_text(st, 6, d->stop_time, -1);
    store_bind_text(st, 7, d->serv_area, -1);
    store_bind_int64(st, 8, d->epoch);
    store_bind_int64(st, 9, d->total);
    store_bind_int64(st, 10, d->delivered);
    store_bind_int64(st, 11, d->failed);
    store_bind_int(st, 12, d->multicast ? 1 : 0);
    store_bind_int64(st, 13, d->created_at);
    return done(c, st, store_step(st));
}

int group_store_delivery_counts(struct store_conn *c, const char *del_ref, int64_t delivered,
                                int64_t failed)
{
    struct store_stmt *st;
    int rc = store_stmt(
        c, "UPDATE group_deliveries SET delivered = ?, failed = ? WHERE del_ref = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, delivered);
    store_bind_int64(st, 2, failed);
    store_bind_text(st, 3, del_ref, -1);
    return done(c, st, store_step(st));
}

#define DEL_COLS                                                                                   \
    "del_ref, af_id, external_id, notif_uri, start_time, stop_time, serv_area, epoch, total,"      \
    " delivered, failed, multicast, created_at"

static void read_delivery(struct store_stmt *st, struct group_delivery_row *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->del_ref, sizeof(d->del_ref), "%s", store_col_text(st, 0));
    snprintf(d->af_id, sizeof(d->af_id), "%s", store_col_text(st, 1));
    snprintf(d->external_id, sizeof(d->external_id), "%s", store_col_text(st, 2));
    snprintf(d->notif_uri, sizeof(d->notif_uri), "%s", store_col_text(st, 3));
    snprintf(d->start_time, sizeof(d->start_time), "%s", store_col_text(st, 4));
    snprintf(d->stop_time, sizeof(d->stop_time), "%s", store_col_text(st, 5));
    snprintf(d->serv_area, sizeof(d->serv_area), "%s", store_col_text(st, 6));
    d->epoch = (uint32_t)store_col_int64(st, 7);
    d->total = store_col_int64(st, 8);
    d->delivered = store_col_int64(st, 9);
    d->failed = store_col_int64(st, 10);
    d->multicast = store_col_int(st, 11) != 0;
    d->created_at = store_col_int64(st, 12);
}

int group_store_delivery_get(struct store_conn *c, const char *del_ref,
                             struct group_delivery_row *out)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT " DEL_COLS " FROM group_deliveries WHERE del_ref = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, del_ref, -1);
    rc = store_step(st);
    if (rc == STORE_ROW)
        read_delivery(st, out);
    store_reset(st);
    return rc == STORE_ROW    ? IOTSEC_OK
           : rc == STORE_DONE ? IOTSEC_ERR_NOTFOUND
                              : store_error(c, rc);
}

int group_store_delivery_delete(struct store_conn *c, const char *del_ref, const char *af_id)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "DELETE FROM group_deliveries WHERE del_ref = ? AND af_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, del_ref, -1);
    store_bind_text(st, 2, af_id, -1);
    if ((rc = done(c, st, store_step(st))) != IOTSEC_OK)
        return rc;
    return store_changes(c) > 0 ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

int group_store_deliveries_of(struct store_conn *c, const char *af_id, group_delivery_fn fn,
                              void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT " DEL_COLS " FROM group_deliveries WHERE af_id = ?"
                        " ORDER BY created_at, del_ref LIMIT 1000",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, af_id, -1);
    struct group_delivery_row d;
    while ((rc = store_step(st)) == STORE_ROW) {
        read_delivery(st, &d);
        fn(&d, ctx);
    }
    return done(c, st, rc);
}
