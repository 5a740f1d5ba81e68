/* The admin face's lists of provisioning objects (devices, enrollments, manufacturers,
 * gateways, owners, pending activations): keyset pages (WHERE key > ? ORDER BY key LIMIT ?)
 * with optional filters, on the calling thread's reader. An absent filter binds NULL (or 0
 * for an id, -1 for a flag). Strings handed to callbacks live during the call only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "provision/prov_admin_store.h"

static void bind_opt(struct store_stmt *st, int idx, const char *s)
{
    if (s)
        store_bind_text(st, idx, s, -1);
    else
        store_bind_null(st, idx);
}

/* The device filters (parameters 2..6) and the page's limit (7): ?1 is the cursor. */
static void bind_filters(struct store_stmt *st, const struct prov_device_filter *f, int64_t limit)
{
    store_bind_int64(st, 2, f->enrollment);
    bind_opt(st, 3, f->state);
    bind_opt(st, 4, f->owner);
    bind_opt(st, 5, f->account);
    store_bind_int(st, 6, f->confirmed);
    store_bind_int64(st, 7, limit);
}

/* Steps st to its end calling row(st, ctx) per row; resets it. */
static int each_row(struct store_conn *c, struct store_stmt *st,
                    void (*row)(struct store_stmt *st, void *ctx), void *ctx, size_t *n)
{
    int s;
    size_t count = 0;
    while ((s = store_step(st)) == STORE_ROW) {
        row(st, ctx);
        count++;
    }
    store_reset(st);
    if (n)
        *n = count;
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* ---- devices (registrations) ---- */

#define DEVICE_COLS                                                                                \
    "reg_id, enrollment_id, coalesce(supi, ''), owner, account, state, cred_version, confirmed,"   \
    " coalesce(pend_version, 0), id"

struct dev_ctx {
    prov_device_fn fn;
    void *ctx;
};

static void device_row(struct store_stmt *st, void *arg)
{
    struct dev_ctx *x = arg;
    struct prov_device_row d = {
        .reg_id = store_col_text(st, 0),
        .enrollment = store_col_int64(st, 1),
        .supi = store_col_text(st, 2),
        .owner = store_col_text(st, 3),
        .account = store_col_is_null(st, 4) ? NULL : store_col_text(st, 4),
        .state = store_col_text(st, 5),
        .cred_version = store_col_int64(st, 6),
        .confirmed = store_col_int(st, 7),
        .waiting_version = store_col_int64(st, 8),
        .id = store_col_int64(st, 9),
    };
    x->fn(&d, x->ctx);
}

/* The optional filters other than the enrollment; the enrollment is a plain equality when
 * given, so that its index (enrollment_id, id; migration 18) serves the page rather than a
 * walk of every registration. */
#define DEVICE_FILTERS                                                                             \
    " AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) AND (CAST(?4 AS TEXT) IS NULL OR owner = ?4)"   \
    " AND (CAST(?5 AS TEXT) IS NULL OR account = ?5) AND (?6 < 0 OR confirmed = ?6)"               \
    " ORDER BY id LIMIT ?7"

int prov_devices_list(struct store *s, const struct prov_device_filter *f, int64_t after,
                      int64_t limit, prov_device_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        f->enrollment ? "SELECT " DEVICE_COLS " FROM prov_registrations"
                                        " WHERE enrollment_id = ?2 AND id > ?1" DEVICE_FILTERS
                                      : "SELECT " DEVICE_COLS " FROM prov_registrations"
                                        " WHERE id > ?1 AND ?2 = 0" DEVICE_FILTERS,
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    bind_filters(st, f, limit);
    struct dev_ctx x = {fn, ctx};
    return each_row(c, st, device_row, &x, NULL);
}

/* The filters once more for the sorted pages (parameters 2..6; ?1 the cursor, ?7 the limit). */
#define DEVICE_SORT_FILTERS                                                                        \
    " AND (?2 = 0 OR enrollment_id = ?2)"                                                          \
    " AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) AND (CAST(?4 AS TEXT) IS NULL OR owner = ?4)"   \
    " AND (CAST(?5 AS TEXT) IS NULL OR account = ?5) AND (?6 < 0 OR confirmed = ?6)"

int prov_devices_sorted(struct store *s, const struct prov_device_filter *f,
                        enum prov_device_sort sort, const char *after, int64_t limit,
                        prov_device_fn fn, void *ctx)
{
    /* One statement per order, each a walk of an index (the primary key, reg_id's UNIQUE)
     * from the cursor: a page costs its rows, not the table. */
    static const char *const sql[] = {
        [PROV_SORT_ID] =
            "SELECT " DEVICE_COLS " FROM prov_registrations WHERE id > ?1" DEVICE_SORT_FILTERS
            " ORDER BY id LIMIT ?7",
        [PROV_SORT_ID_DESC] =
            "SELECT " DEVICE_COLS " FROM prov_registrations WHERE id < ?1" DEVICE_SORT_FILTERS
            " ORDER BY id DESC LIMIT ?7",
        [PROV_SORT_REG] =
            "SELECT " DEVICE_COLS " FROM prov_registrations WHERE reg_id > ?1" DEVICE_SORT_FILTERS
            " ORDER BY reg_id LIMIT ?7",
        [PROV_SORT_REG_DESC] = "SELECT " DEVICE_COLS " FROM prov_registrations WHERE"
                               " (CAST(?1 AS TEXT) IS NULL OR reg_id < ?1)" DEVICE_SORT_FILTERS
                               " ORDER BY reg_id DESC LIMIT ?7",
    };
    if ((unsigned)sort > PROV_SORT_REG_DESC)
        return IOTSEC_ERR_INVALID;
    int64_t id = 0;
    if (sort == PROV_SORT_ID || sort == PROV_SORT_ID_DESC) {
        char *end = NULL;
        long long v = after ? strtoll(after, &end, 10) : 0;
        if (after && (end == after || *end != '\0' || v < 0))
            return IOTSEC_ERR_INVALID; /* not a cursor of this order */
        id = after ? v : sort == PROV_SORT_ID ? 0 : INT64_MAX;
    }
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, sql[sort], &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (sort == PROV_SORT_ID || sort == PROV_SORT_ID_DESC)
        store_bind_int64(st, 1, id);
    else if (sort == PROV_SORT_REG)
        store_bind_text(st, 1, after ? after : "", -1);
    else
        bind_opt(st, 1, after);
    bind_filters(st, f, limit);
    struct dev_ctx x = {fn, ctx};
    return each_row(c, st, device_row, &x, NULL);
}

int prov_devices_search(struct store *s, const char *text, int64_t limit, prov_device_fn fn,
                        void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT " DEVICE_COLS " FROM prov_registrations WHERE id IN ("
                        "SELECT id FROM prov_registrations WHERE reg_id = ?1 UNION "
                        "SELECT id FROM prov_registrations WHERE supi = ?1 UNION "
                        "SELECT id FROM prov_registrations WHERE serial = ?1) ORDER BY id LIMIT ?2",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, text, -1);
    store_bind_int64(st, 2, limit);
    struct dev_ctx x = {fn, ctx};
    return each_row(c, st, device_row, &x, NULL);
}

int prov_device_find(struct store *s, const char *reg_id, prov_device_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, "SELECT " DEVICE_COLS " FROM prov_registrations WHERE reg_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, reg_id, -1);
    struct dev_ctx x = {fn, ctx};
    size_t n;
    rc = each_row(c, st, device_row, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}

/* ---- enrollments ---- */

struct enr_ctx {
    prov_enrollment_fn fn;
    void *ctx;
};

static void enrollment_row(struct store_stmt *st, void *arg)
{
    struct enr_ctx *x = arg;
    struct prov_enrollment e;
    prov_enrollment_row(st, &e);
    x->fn(&e, x->ctx);
}

int prov_enrollments_list(struct store *s, const struct prov_enrollment_filter *f, int64_t after,
                          int64_t limit, prov_enrollment_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT " PROV_ENROLLMENT_COLS " FROM prov_enrollments WHERE id > ?1"
                        " AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2) AND (CAST(?3 AS TEXT) IS "
                        "NULL OR kind = ?3)"
                        " AND (?4 < 0 OR enabled = ?4) AND (?5 = 0 OR manufacturer_id = ?5)"
                        " AND (CAST(?6 AS TEXT) IS NULL OR name = ?6) ORDER BY id LIMIT ?7",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    bind_opt(st, 2, f->owner);
    bind_opt(st, 3, f->kind);
    store_bind_int(st, 4, f->enabled);
    store_bind_int64(st, 5, f->manufacturer);
    bind_opt(st, 6, f->name);
    store_bind_int64(st, 7, limit);
    struct enr_ctx x = {fn, ctx};
    return each_row(c, st, enrollment_row, &x, NULL);
}

/* ---- manufacturers ---- */

#define MFR_COLS "id, name, ca_sha256, created_at, root_pub IS NOT NULL"

struct mfr_ctx {
    prov_manufacturer_fn fn;
    void *ctx;
};

static void mfr_row(struct store_stmt *st, void *arg)
{
    struct mfr_ctx *x = arg;
    struct prov_manufacturer_row m = {store_col_int64(st, 0), store_col_text(st, 1),
                                      store_col_text(st, 2), store_col_int64(st, 3),
                                      store_col_int(st, 4) != 0};
    x->fn(&m, x->ctx);
}

int prov_manufacturers_list(struct store *s, const char *name, int64_t after, int64_t limit,
                            prov_manufacturer_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT " MFR_COLS " FROM prov_manufacturers WHERE id > ?1"
                        " AND (CAST(?2 AS TEXT) IS NULL OR name = ?2) ORDER BY id LIMIT ?3",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    bind_opt(st, 2, name);
    store_bind_int64(st, 3, limit);
    struct mfr_ctx x = {fn, ctx};
    return each_row(c, st, mfr_row, &x, NULL);
}

int prov_manufacturer_get(struct store *s, int64_t id, prov_manufacturer_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, "SELECT " MFR_COLS " FROM prov_manufacturers WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    struct mfr_ctx x = {fn, ctx};
    size_t n;
    rc = each_row(c, st, mfr_row, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}

/* ---- gateways ---- */

struct gw_ctx {
    prov_gateway_fn fn;
    void *ctx;
};

static void gw_row(struct store_stmt *st, void *arg)
{
    struct gw_ctx *x = arg;
    struct prov_gateway_row g = {store_col_int64(st, 0), store_col_text(st, 1),
                                 store_col_text(st, 2), store_col_int64(st, 3)};
    x->fn(&g, x->ctx);
}

int prov_gateways_list(struct store *s, int64_t enrollment, int64_t after, int64_t limit,
                       prov_gateway_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT id, name, cert_sha256, created_at FROM prov_gateways g"
                        " WHERE id > ?1 AND (?2 = 0 OR EXISTS (SELECT 1 FROM"
                        " prov_gateway_enrollments ge WHERE ge.gateway_id = g.id"
                        " AND ge.enrollment_id = ?2)) ORDER BY id LIMIT ?3",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    store_bind_int64(st, 2, enrollment);
    store_bind_int64(st, 3, limit);
    struct gw_ctx x = {fn, ctx};
    return each_row(c, st, gw_row, &x, NULL);
}

int prov_gateway_get(struct store *s, int64_t id, prov_gateway_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT id, name, cert_sha256, created_at FROM prov_gateways"
                        " WHERE id = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    struct gw_ctx x = {fn, ctx};
    size_t n;
    rc = each_row(c, st, gw_row, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}

struct ids_ctx {
    void (*fn)(int64_t id, void *ctx);
    void *ctx;
};

static void id_row(struct store_stmt *st, void *arg)
{
    struct ids_ctx *x = arg;
    x->fn(store_col_int64(st, 0), x->ctx);
}

int prov_gateway_enrollments(struct store *s, int64_t gateway, void (*fn)(int64_t, void *),
                             void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT enrollment_id FROM prov_gateway_enrollments"
                        " WHERE gateway_id = ? ORDER BY enrollment_id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, gateway);
    struct ids_ctx x = {fn, ctx};
    return each_row(c, st, id_row, &x, NULL);
}

/* ---- owners ---- */

struct owner_ctx {
    prov_owner_fn fn;
    void *ctx;
};

static void owner_row(struct store_stmt *st, void *arg)
{
    struct owner_ctx *x = arg;
    struct prov_owner_row o = {store_col_int64(st, 0), store_col_text(st, 1),
                               store_col_int64(st, 2), NULL};
    if (store_col_bytes(st, 3) == PROV_ED25519_PUB_LEN)
        o.pub = store_col_blob(st, 3);
    x->fn(&o, x->ctx);
}

int prov_owners_list(struct store *s, int64_t after, int64_t limit, prov_owner_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT id, name, created_at, pub FROM prov_owners WHERE id > ?"
                        " ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    store_bind_int64(st, 2, limit);
    struct owner_ctx x = {fn, ctx};
    return each_row(c, st, owner_row, &x, NULL);
}

int prov_owner_get(struct store *s, const char *name, prov_owner_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, "SELECT id, name, created_at, pub FROM prov_owners WHERE name = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    struct owner_ctx x = {fn, ctx};
    size_t n;
    rc = each_row(c, st, owner_row, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}

/* ---- activations ----
 * An activation is pending until a confirmed registration answers to its key ("reg:<id>" or
 * "serial:<hex>"); then "device" names that registration. */

#define ACTIVATION_SELECT                                                                          \
    "SELECT key, account, service, supi, created_at, device FROM (SELECT a.key, a.account,"        \
    " a.service, a.supi, a.created_at, (SELECT r.reg_id FROM prov_registrations r"                 \
    " WHERE r.confirmed = 1 AND ((substr(a.key, 1, 4) = 'reg:' AND r.reg_id = substr(a.key, 5))"   \
    " OR (substr(a.key, 1, 7) = 'serial:' AND r.serial = substr(a.key, 8)))"                       \
    " ORDER BY r.id LIMIT 1) AS device FROM prov_activations a"

struct act_ctx {
    prov_activation_fn fn;
    void *ctx;
};

static void activation_row(struct store_stmt *st, void *arg)
{
    struct act_ctx *x = arg;
    struct prov_activation_row r = {
        store_col_text(st, 0),  store_col_text(st, 1),
        store_col_text(st, 2),  store_col_is_null(st, 3) ? NULL : store_col_text(st, 3),
        store_col_int64(st, 4), store_col_is_null(st, 5) ? NULL : store_col_text(st, 5),
    };
    x->fn(&r, x->ctx);
}

int prov_activations_list(struct store *s, const char *account, int pending, const char *after,
                          int64_t limit, prov_activation_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        ACTIVATION_SELECT
                        " WHERE a.key > ?1 AND (CAST(?2 AS TEXT) IS NULL OR a.account = ?2))"
                        " x WHERE (?3 < 0 OR (?3 = 1 AND device IS NULL)"
                        " OR (?3 = 0 AND device IS NOT NULL))"
                        " ORDER BY key LIMIT ?4",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, after ? after : "", -1);
    bind_opt(st, 2, account);
    store_bind_int(st, 3, pending);
    store_bind_int64(st, 4, limit);
    struct act_ctx x = {fn, ctx};
    return each_row(c, st, activation_row, &x, NULL);
}

int prov_activation_get(struct store *s, const char *key, prov_activation_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, ACTIVATION_SELECT " WHERE a.key = ?) x", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, key, -1);
    struct act_ctx x = {fn, ctx};
    size_t n;
    rc = each_row(c, st, activation_row, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}
