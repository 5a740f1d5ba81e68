/* The SQL of consents, groups, external IDs and opt-outs for nb_consent.c, which holds none:
 * every function runs inside a job on the job's connection. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "expose/nb_admin.h"

int nb_extid_insert(struct store_conn *c, const char *af_id, const char *external_id,
                    const char *supi, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO expose_external_ids (af_id, external_id, supi,"
                        " created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, af_id, -1);
    store_bind_text(st, 2, external_id, -1);
    store_bind_text(st, 3, supi, -1);
    store_bind_int64(st, 4, now);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_group_member_add(struct store_conn *c, const char *group_id, const char *supi)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO expose_groups (group_id, supi) VALUES (?, ?)"
                        " ON CONFLICT DO NOTHING",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group_id, -1);
    store_bind_text(st, 2, supi, -1);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_group_consent_afs(struct store_conn *c, const char *group_id, char afs[][EXPOSE_ID_MAX + 1],
                         size_t max, size_t *n)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT DISTINCT af_id FROM expose_consents WHERE target_kind = 'group'"
                        " AND target_id = ? AND revoked_at IS NULL",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group_id, -1);
    *n = 0;
    while (store_step(st) == STORE_ROW && *n < max)
        snprintf(afs[(*n)++], EXPOSE_ID_MAX + 1, "%s", store_col_text(st, 0));
    store_reset(st);
    return IOTSEC_OK;
}

int nb_consent_insert(struct store_conn *c, const struct nb_consent_row *r, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO expose_consents (consent_id, owner, af_id, services,"
                        " purpose, target_kind, target_id, expires, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, r->consent_id, -1);
    store_bind_text(st, 2, r->owner, -1);
    store_bind_text(st, 3, r->af_id, -1);
    store_bind_int64(st, 4, r->services);
    store_bind_text(st, 5, r->purpose, -1);
    store_bind_text(st, 6, r->kind, -1);
    store_bind_text(st, 7, r->target, -1);
    store_bind_int64(st, 8, r->expires);
    store_bind_int64(st, 9, now);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

int nb_group_members_each(struct store_conn *c, const char *group_id, nb_supi_fn fn, void *ctx)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT supi FROM expose_groups WHERE group_id = ? ORDER BY supi", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group_id, -1);
    while (store_step(st) == STORE_ROW && fn(store_col_text(st, 0), ctx))
        ;
    store_reset(st);
    return IOTSEC_OK;
}

int nb_consent_revoke_row(struct store_conn *c, const char *consent_id, int64_t now)
{
    return nb_store_stamp(c,
                          "UPDATE expose_consents SET revoked_at = ? WHERE consent_id = ? AND"
                          " revoked_at IS NULL",
                          now, consent_id);
}

int nb_opt_out_set(struct store_conn *c, const char *supi, bool out, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        out ? "INSERT INTO expose_opt_outs (supi, at) VALUES (?, ?)"
                              " ON CONFLICT DO NOTHING"
                            : "DELETE FROM expose_opt_outs WHERE supi = ? AND ? IS NOT NULL",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_int64(st, 2, now);
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* ---- reading consents back (the admin face's lists; on the calling thread's reader) ---- */

#define CONSENT_COLS                                                                               \
    "consent_id, owner, af_id, purpose, target_kind, target_id, services, expires, created_at,"    \
    " coalesce(revoked_at, 0)"

struct consent_ctx {
    nb_consent_info_fn fn;
    void *ctx;
};

static int consent_rows(struct store_conn *c, struct store_stmt *st, struct consent_ctx *x,
                        size_t *n)
{
    int s;
    *n = 0;
    while ((s = store_step(st)) == STORE_ROW) {
        struct nb_consent_info r = {
            .row = {store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2),
                    store_col_text(st, 3), store_col_text(st, 4), store_col_text(st, 5),
                    (uint32_t)store_col_int64(st, 6), store_col_int64(st, 7)},
            .created_at = store_col_int64(st, 8),
            .revoked_at = store_col_int64(st, 9),
        };
        x->fn(&r, x->ctx);
        (*n)++;
    }
    store_reset(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

static void bind_opt(struct store_stmt *st, int idx, const char *s)
{
    if (s)
        store_bind_text(st, idx, s, -1);
    else
        store_bind_null(st, idx);
}

int nb_consents_list(struct store *s, const struct nb_consent_filter *f, int64_t now,
                     const char *after, int64_t limit, nb_consent_info_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(
            c,
            "SELECT " CONSENT_COLS " FROM expose_consents WHERE consent_id > ?1"
            " AND (CAST(?2 AS TEXT) IS NULL OR af_id = ?2) AND (CAST(?3 AS TEXT) IS NULL OR owner "
            "= ?3)"
            " AND (CAST(?4 AS TEXT) IS NULL OR (target_kind = 'device' AND target_id = ?4))"
            " AND (CAST(?5 AS TEXT) IS NULL OR (target_kind = 'group' AND target_id = ?5))"
            " AND (?6 = 0 OR (?6 = 1 AND revoked_at IS NULL AND (expires = 0 OR"
            " expires > ?7)) OR (?6 = 2 AND revoked_at IS NOT NULL) OR (?6 = 3 AND"
            " revoked_at IS NULL AND expires <> 0 AND expires <= ?7))"
            " ORDER BY consent_id LIMIT ?8",
            &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, after ? after : "", -1);
    bind_opt(st, 2, f->af_id);
    bind_opt(st, 3, f->owner);
    bind_opt(st, 4, f->supi);
    bind_opt(st, 5, f->group);
    store_bind_int(st, 6, (int)f->state);
    store_bind_int64(st, 7, now);
    store_bind_int64(st, 8, limit);
    struct consent_ctx x = {fn, ctx};
    size_t n;
    return consent_rows(c, st, &x, &n);
}

int nb_consent_get(struct store *s, const char *consent_id, nb_consent_info_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc =
            store_stmt(c, "SELECT " CONSENT_COLS " FROM expose_consents WHERE consent_id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, consent_id, -1);
    struct consent_ctx x = {fn, ctx};
    size_t n;
    rc = consent_rows(c, st, &x, &n);
    return rc == IOTSEC_OK && n == 0 ? IOTSEC_ERR_NOTFOUND : rc;
}

int nb_consent_external_ids(struct store *s, const struct nb_consent_row *r, size_t max,
                            nb_extid_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    bool device = strcmp(r->kind, "device") == 0;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        device ? "SELECT supi, external_id FROM expose_external_ids"
                                 " WHERE af_id = ?1 AND supi = ?2 ORDER BY supi LIMIT ?3"
                               : "SELECT x.supi, x.external_id FROM expose_external_ids x"
                                 " JOIN expose_groups g ON g.supi = x.supi"
                                 " WHERE x.af_id = ?1 AND g.group_id = ?2"
                                 " ORDER BY x.supi LIMIT ?3",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, r->af_id, -1);
    store_bind_text(st, 2, r->target, -1);
    store_bind_int64(st, 3, (int64_t)max);
    int step;
    while ((step = store_step(st)) == STORE_ROW)
        fn(store_col_text(st, 0), store_col_text(st, 1), ctx);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(c, step);
}

int nb_groups_list(struct store *s, const char *after, int64_t limit, nb_group_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT group_id, count(*) FROM expose_groups WHERE group_id > ?"
                        " GROUP BY group_id ORDER BY group_id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, after ? after : "", -1);
    store_bind_int64(st, 2, limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW)
        fn(store_col_text(st, 0), store_col_int64(st, 1), ctx);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(c, step);
}

int nb_group_members_page(struct store *s, const char *group_id, const char *after, int64_t limit,
                          nb_supi_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT supi FROM expose_groups WHERE group_id = ? AND supi > ?"
                        " ORDER BY supi LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group_id, -1);
    store_bind_text(st, 2, after ? after : "", -1);
    store_bind_int64(st, 3, limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW && fn(store_col_text(st, 0), ctx))
        ;
    store_reset(st);
    return step == STORE_DONE || step == STORE_ROW ? IOTSEC_OK : store_error(c, step);
}
