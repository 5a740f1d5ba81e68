/* The SQL of consents, groups, external IDs and opt-outs for nb_consent.c, which holds none:
 * every function runs inside a job on the job's connection. */
#include <stdio.h>

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
