/* T8 subscriptions at rest (table monitoring_subscription, migration 5 of location.h), and
 * the consent query behind area counts (tables of migration 4, expose_store.c: consents,
 * groups, owners' opt-outs). The body is
 * the subscription as accepted, with its external ID: never a SUPI. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "expose/t8_int.h"
#include "store/store.h"

/* Migration 16: how many notifications each subscription has produced, counted in the store so
 * that maximumNumberOfReports holds across instances (each instance sees only the events that
 * reach it). */
const char EXPOSE_MIGRATION_T8_REPORTS[] =
    "ALTER TABLE monitoring_subscription ADD COLUMN reports INTEGER NOT NULL DEFAULT 0;";

struct put {
    const struct t8_sub *s;
    char *body;
};

static int put_run(struct store_conn *conn, void *arg)
{
    struct put *p = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO monitoring_subscription (af_id, subscription_id, "
                        "external_id, body, created_at, expires_at) VALUES (?1, ?2, ?3, "
                        "?4, ?5, ?6) ON CONFLICT(af_id, subscription_id) DO UPDATE SET "
                        "external_id = ?3, body = ?4, expires_at = ?6, reports = 0",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, p->s->af.af_id, -1);
    store_bind_text(st, 2, p->s->id, -1);
    const char *ext = p->s->req.external_id[0] ? p->s->req.external_id : p->s->req.msisdn;
    store_bind_text(st, 3, ext, -1);
    store_bind_text(st, 4, p->body, -1);
    store_bind_int64(st, 5, (int64_t)time(NULL));
    store_bind_int64(st, 6, (int64_t)(p->s->req.expire_ms / 1000));
    int s = store_step(st);
    store_reset(st);
    return s == STORE_DONE ? store_topic_bump(conn, T8_TOPIC) : store_error(conn, s);
}

int t8_store_put(struct store *st, struct t8_sub *s)
{
    struct put p = {s, json_dumps(s->body, JSON_COMPACT)};
    if (p.body == NULL)
        return IOTSEC_ERR_NOMEM;
    s->stored_hash = t8_text_hash(p.body);
    int rc = store_write_sync(st, put_run, &p);
    free(p.body);
    return rc;
}

struct del {
    const char *af_id, *id;
};

static int del_run(struct store_conn *conn, void *arg)
{
    struct del *d = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "DELETE FROM monitoring_subscription WHERE af_id = ?1 AND "
                        "subscription_id = ?2",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, d->af_id, -1);
    store_bind_text(st, 2, d->id, -1);
    int s = store_step(st);
    store_reset(st);
    if (s != STORE_DONE)
        return store_error(conn, s);
    return store_changes(conn) > 0 ? store_topic_bump(conn, T8_TOPIC) : IOTSEC_OK;
}

int t8_store_delete(struct store *st, const char *af_id, const char *id)
{
    struct del d = {af_id, id};
    return store_write_sync(st, del_run, &d);
}

int t8_store_each(struct store *st,
                  int (*fn)(void *ctx, const char *af_id, const char *id, const char *external_id,
                            const char *body),
                  void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *s = NULL;
    int rc = store_reader_get(st, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT af_id, subscription_id, external_id, body FROM "
                        "monitoring_subscription ORDER BY created_at",
                        &s);
    while (rc == IOTSEC_OK && store_step(s) == STORE_ROW)
        rc = fn(ctx, store_col_text(s, 0), store_col_text(s, 1), store_col_text(s, 2),
                store_col_text(s, 3));
    if (s)
        store_reset(s);
    return rc;
}

int t8_store_list(struct store *st, const char *af_id, const char *after_af, const char *after_id,
                  size_t limit, t8_row_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *s = NULL;
    int rc = store_reader_get(st, &conn);
    /* keyset on the primary key: page 10,000 costs what page 1 does */
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT af_id, subscription_id, external_id, consent_id, body, created_at,"
                        " expires_at, reports FROM monitoring_subscription"
                        " WHERE (?1 IS NULL OR af_id = ?1)"
                        " AND (?2 IS NULL OR af_id > ?2 OR (af_id = ?2 AND subscription_id > ?3))"
                        " ORDER BY af_id, subscription_id LIMIT ?4",
                        &s);
    if (rc != IOTSEC_OK)
        return rc;
    if (af_id)
        store_bind_text(s, 1, af_id, -1);
    if (after_af) {
        store_bind_text(s, 2, after_af, -1);
        store_bind_text(s, 3, after_id ? after_id : "", -1);
    }
    store_bind_int64(s, 4, (int64_t)limit);
    int step;
    while ((step = store_step(s)) == STORE_ROW) {
        struct t8_row r = {store_col_text(s, 0),  store_col_text(s, 1), store_col_text(s, 2),
                           store_col_text(s, 3),  store_col_text(s, 4), store_col_int64(s, 5),
                           store_col_int64(s, 6), store_col_int64(s, 7)};
        fn(ctx, &r);
    }
    store_reset(s);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

struct report {
    const char *af_id, *id;
    int64_t n;
};

static int report_run(struct store_conn *conn, void *arg)
{
    struct report *r = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "UPDATE monitoring_subscription SET reports = reports + 1 WHERE "
                        "af_id = ?1 AND subscription_id = ?2 RETURNING reports",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, r->af_id, -1);
    store_bind_text(st, 2, r->id, -1);
    int s = store_step(st);
    if (s == STORE_ROW)
        r->n = store_col_int64(st, 0);
    else if (s == STORE_DONE)
        r->n = 0;
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(conn, s);
}

int t8_store_count_report(struct store *st, const char *af_id, const char *id, int64_t *n)
{
    struct report r = {af_id, id, 0};
    int rc = store_write_sync(st, report_run, &r);
    *n = r.n;
    return rc;
}

int t8_store_consented(struct store *st, const char *af_id, int64_t now_s,
                       int (*fn)(void *ctx, const char *supi), void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *s = NULL;
    int rc = store_reader_get(st, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT supi FROM (SELECT c.target_id AS supi FROM expose_consents c "
                        "WHERE c.af_id = ?1 AND c.target_kind = 'device' AND c.revoked_at IS "
                        "NULL AND (c.expires = 0 OR c.expires > ?2) AND (c.services & ?3) != 0 "
                        "UNION SELECT g.supi FROM expose_consents c JOIN expose_groups g ON "
                        "g.group_id = c.target_id WHERE c.af_id = ?1 AND c.target_kind = "
                        "'group' AND c.revoked_at IS NULL AND (c.expires = 0 OR c.expires > ?2) "
                        "AND (c.services & ?3) != 0) AS t WHERE supi NOT IN (SELECT supi FROM "
                        "expose_opt_outs)",
                        &s);
    if (rc == IOTSEC_OK) {
        store_bind_text(s, 1, af_id, -1);
        store_bind_int64(s, 2, (int64_t)now_s);
        store_bind_int(s, 3, (int)EXPOSE_SVC_MONITORING_EVENT);
    }
    while (rc == IOTSEC_OK && store_step(s) == STORE_ROW)
        rc = fn(ctx, store_col_text(s, 0));
    if (s)
        store_reset(s);
    return rc;
}
