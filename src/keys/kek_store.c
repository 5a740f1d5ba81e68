/* The SQL of KEK rotation (kek.h): its state, which instance holds which KEK, and the sealed
 * columns' counts and re-wraps. The key id is the envelope's second byte: substr(x, 2, 1) is
 * that byte as a blob on both engines (SQLite BLOB, PostgreSQL bytea). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "keys/kek_int.h"

const char KEK_MIGRATION_1[] =
    "CREATE TABLE kek_state (k INTEGER PRIMARY KEY CHECK (k = 1), current_id INTEGER NOT NULL,"
    " rotating INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,"
    " old_ids TEXT NOT NULL DEFAULT ',');" /* ",1,2,": ids once current (retired when free) */
    "CREATE TABLE kek_holders (instance TEXT PRIMARY KEY, ids TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL);";

static int finish(struct store_conn *c, struct store_stmt *st, int step)
{
    store_reset(st);
    return step == STORE_DONE || step == STORE_ROW ? IOTSEC_OK : store_error(c, step);
}

int kek_state_get(struct store_conn *c, uint8_t *current, bool *rotating)
{
    struct store_stmt *st;
    *current = 1;
    *rotating = false;
    int rc = store_stmt(c, "SELECT current_id, rotating FROM kek_state WHERE k = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step = store_step(st);
    if (step == STORE_ROW) {
        int64_t id = store_col_int64(st, 0);
        *current = id >= 1 && id <= KEK_ID_MAX ? (uint8_t)id : 0;
        *rotating = store_col_int64(st, 1) != 0;
    }
    rc = finish(c, st, step);
    return rc == IOTSEC_OK && *current == 0 ? IOTSEC_ERR_INVALID : rc;
}

int kek_state_set(struct store_conn *c, uint8_t current, bool rotating, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO kek_state (k, current_id, rotating, updated_at, old_ids)"
                        " VALUES (1, $1, $2, $3, $4) ON CONFLICT (k) DO UPDATE SET"
                        " current_id = excluded.current_id, rotating = excluded.rotating,"
                        " updated_at = excluded.updated_at, old_ids = CASE WHEN"
                        " kek_state.current_id <> excluded.current_id THEN kek_state.old_ids ||"
                        " CAST(kek_state.current_id AS TEXT) || ',' ELSE kek_state.old_ids END",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, current);
    store_bind_int(st, 2, rotating ? 1 : 0);
    store_bind_int64(st, 3, now);
    store_bind_text(st, 4, current != 1 ? ",1," : ",", -1); /* the first row: KEK 1 was current */
    rc = finish(c, st, store_step(st));
    return rc == IOTSEC_OK ? store_topic_bump(c, "kek") : rc;
}

int kek_state_was_current(struct store_conn *c, uint8_t id, bool *was)
{
    struct store_stmt *st;
    *was = false;
    int rc = store_stmt(c, "SELECT old_ids FROM kek_state WHERE k = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step = store_step(st);
    if (step == STORE_ROW) {
        char want[8];
        const char *ids = store_col_text(st, 0);
        snprintf(want, sizeof(want), ",%u,", id);
        *was = ids != NULL && strstr(ids, want) != NULL;
    }
    return finish(c, st, step);
}

static void ids_text(const uint8_t *ids, size_t n, char *out, size_t cap)
{
    size_t used = (size_t)snprintf(out, cap, ",");
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%u,", ids[i]);
}

int kek_holders_set(struct store_conn *c, const char *instance, const uint8_t *ids, size_t n,
                    int64_t now)
{
    char text[4 * (KEK_ID_MAX + 1) + 2];
    ids_text(ids, n, text, sizeof(text));
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO kek_holders (instance, ids, updated_at) VALUES ($1, $2, $3)"
                        " ON CONFLICT (instance) DO UPDATE SET ids = $2, updated_at = $3",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, instance, -1);
    store_bind_text(st, 2, text, -1);
    store_bind_int64(st, 3, now);
    return finish(c, st, store_step(st));
}

int kek_live_missing(struct store_conn *c, const char *me, uint8_t id, int64_t now_ms,
                     char *missing, size_t cap)
{
    char want[8];
    snprintf(want, sizeof(want), ",%u,", id);
    struct store_stmt *st;
    /* The live instances are the holders of an unexpired SQN slot lease (every serving
     * instance holds one); what each holds is what it recorded at its start. */
    int rc = store_stmt(c,
                        "SELECT s.holder, h.ids FROM sqn_slots s LEFT JOIN kek_holders h"
                        " ON h.instance = s.holder WHERE s.lease_until > $1 AND s.holder <> $2",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, now_ms);
    store_bind_text(st, 2, me, -1);
    int step;
    bool lacking = false;
    while (!lacking && (step = store_step(st)) == STORE_ROW) {
        const char *ids = store_col_text(st, 1);
        if (ids == NULL || strstr(ids, want) == NULL) {
            snprintf(missing, cap, "%s", store_col_text(st, 0));
            lacking = true;
        }
    }
    rc = finish(c, st, lacking ? STORE_DONE : step);
    return rc == IOTSEC_OK && lacking ? IOTSEC_ERR_STATE : rc;
}

int kek_count(struct store_conn *c, const struct kek_column *col, kek_count_fn fn, void *ctx)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT substr(%s, 2, 1), count(*) FROM %s WHERE %s IS NOT NULL"
             " GROUP BY substr(%s, 2, 1)",
             col->column, col->table, col->column, col->column);
    struct store_stmt *st;
    int rc = store_stmt(c, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        const uint8_t *id = store_col_blob(st, 0);
        fn(col, store_col_bytes(st, 0) == 1 && id ? id[0] : 0, store_col_int64(st, 1), ctx);
    }
    return finish(c, st, step);
}

/* One envelope: opened under the KEK it names, sealed under the current one, written back
 * where the old one still is. */
static int rewrap_one(struct store_conn *c, const struct seal_kek *kek,
                      const struct kek_column *col, struct store_stmt *upd, const char *ktext,
                      int64_t knum, const uint8_t *env, size_t len, int64_t *rewrapped,
                      int64_t *unreadable)
{
    char aad[512];
    uint8_t pt[512], out[512];
    size_t aad_len = col->aad(ktext, knum, aad, sizeof(aad));
    if (len < SEAL_OVERHEAD || len > sizeof(out) || aad_len == 0) {
        (*unreadable)++;
        return IOTSEC_OK;
    }
    int rc = unseal(kek, aad, aad_len, env, len, pt);
    if (rc == IOTSEC_OK)
        rc = seal(kek, aad, aad_len, pt, len - SEAL_OVERHEAD, out);
    secure_wipe(pt, sizeof(pt));
    if (rc == IOTSEC_ERR_AUTH || rc == IOTSEC_ERR_NOTFOUND || rc == IOTSEC_ERR_INVALID) {
        (*unreadable)++; /* it could not be used either: left as it is */
        return IOTSEC_OK;
    }
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_blob(upd, 1, out, (int)len);
    store_bind_blob(upd, 2, env, (int)len);
    store_bind_text(upd, 3, ktext, -1);
    store_bind_int64(upd, 4, knum);
    int step = store_step(upd);
    store_reset(upd);
    if (step != STORE_DONE)
        return store_error(c, step);
    *rewrapped += store_changes(c);
    return IOTSEC_OK;
}

int kek_rewrap_chunk(struct store_conn *c, const struct seal_kek *kek, const struct kek_column *col,
                     int limit, struct kek_cursor *cur, int64_t *rewrapped, int64_t *unreadable)
{
    struct store_stmt *scan, *upd;
    int rc = store_prepare(c, col->scan_sql, &scan);
    if (rc != IOTSEC_OK)
        return rc;
    if ((rc = store_prepare(c, col->update_sql, &upd)) != IOTSEC_OK) {
        store_finalize(scan);
        return rc;
    }
    uint8_t id = seal_kek_current_id(kek);
    store_bind_blob(scan, 1, &id, 1);
    store_bind_text(scan, 2, cur->text, -1);
    store_bind_int64(scan, 3, cur->num);
    store_bind_int(scan, 4, limit);
    /* Read the chunk first: some engines do not allow writes to a table while a statement
     * reading it is open. */
    struct row {
        char text[160];
        int64_t num;
        uint8_t env[512];
        size_t len;
    } *rows = calloc((size_t)limit, sizeof(*rows));
    int n = 0, step = STORE_DONE;
    if (rows == NULL)
        rc = IOTSEC_ERR_NOMEM;
    while (rc == IOTSEC_OK && n < limit && (step = store_step(scan)) == STORE_ROW) {
        const char *t = store_col_text(scan, 0);
        int len = store_col_bytes(scan, 2);
        snprintf(rows[n].text, sizeof(rows[n].text), "%s", t ? t : "");
        rows[n].num = store_col_int64(scan, 1);
        rows[n].len = len > 0 && (size_t)len <= sizeof(rows[n].env) ? (size_t)len : 0;
        if (rows[n].len)
            memcpy(rows[n].env, store_col_blob(scan, 2), rows[n].len);
        n++;
    }
    if (rc == IOTSEC_OK && step != STORE_ROW && step != STORE_DONE)
        rc = store_error(c, step);
    store_finalize(scan);
    for (int i = 0; rc == IOTSEC_OK && i < n; i++)
        rc = rewrap_one(c, kek, col, upd, rows[i].text, rows[i].num, rows[i].env, rows[i].len,
                        rewrapped, unreadable);
    store_finalize(upd);
    if (rc == IOTSEC_OK) {
        cur->end = n < limit;
        if (n > 0) {
            snprintf(cur->text, sizeof(cur->text), "%s", rows[n - 1].text);
            cur->num = rows[n - 1].num;
        }
    }
    if (rows != NULL) {
        secure_wipe(rows, (size_t)limit * sizeof(*rows));
        free(rows);
    }
    return rc;
}
