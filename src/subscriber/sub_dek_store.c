/* Converting credentials sealed before DEKs existed (sub_dek.h): the migration that created
 * subscription_deks listed every subscription then present in subscription_deks_todo; each
 * batch takes some of those ids (so several instances starting at once share the work, never
 * doing a row twice), opens each credential under the KEK and seals it anew under a DEK of
 * its own (the previous credential during its grace period too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "subscriber/sub_dek.h"
#include "subscriber/subscriber.h"

#define CONVERT_BATCH 500

struct dek_convert {
    const struct seal_kek *kek;
    size_t converted, unreadable, taken;
};

/* Seals credential `version` (legacy envelope env) anew: *out_cred and a DEK row. */
static int reseal(struct store_conn *conn, const struct seal_kek *kek, const struct supi *supi,
                  const char *supi_text, uint32_t version, const uint8_t *env, size_t env_len,
                  uint8_t out_cred[SUB_CRED_SEALED_LEN])
{
    struct sub_keys keys;
    uint8_t dek[SUB_DEK_SEALED_LEN];
    int rc = sub_cred_open(kek, supi, version, env, env_len, NULL, 0, &keys);
    if (rc == IOTSEC_OK)
        rc = sub_cred_seal(kek, supi, version, &keys, out_cred, dek);
    secure_wipe(&keys, sizeof(keys));
    struct store_stmt *st;
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "INSERT INTO subscription_deks (dek_supi, dek_version, dek)"
                        " VALUES (?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi_text, -1);
    store_bind_int64(st, 2, version);
    store_bind_blob(st, 3, dek, sizeof(dek));
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* One subscription: IOTSEC_OK (converted or nothing to do), IOTSEC_ERR_AUTH (does not open
 * under this KEK: left as it is), or a store error. */
static int convert_one(struct store_conn *conn, struct dek_convert *dc, int64_t id)
{
    struct store_stmt *st;
    int rc = store_stmt(
        conn,
        "SELECT supi, cred_version, cred, prev_cred_version, prev_cred,"
        " CASE WHEN dek IS NULL THEN 0 ELSE 1 END FROM subscriptions LEFT JOIN subscription_deks"
        " ON dek_supi = supi AND dek_version = cred_version WHERE id = ?",
        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, id);
    int step = store_step(st);
    if (step != STORE_ROW) {
        store_reset(st);
        return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step); /* deleted meanwhile */
    }
    char supi_text[SUPI_STRING_MAX];
    struct supi supi;
    uint8_t cred[SUB_CRED_SEALED_LEN], prev[SUB_CRED_SEALED_LEN];
    const char *t = store_col_text(st, 0);
    snprintf(supi_text, sizeof(supi_text), "%s", t ? t : "");
    uint32_t version = (uint32_t)store_col_int64(st, 1);
    bool has_prev = !store_col_is_null(st, 4) && store_col_bytes(st, 4) == SUB_CRED_SEALED_LEN;
    uint32_t prev_version = (uint32_t)store_col_int64(st, 3);
    bool done = store_col_int64(st, 5) != 0;
    bool ok =
        supi_parse(supi_text, &supi) == IOTSEC_OK && store_col_bytes(st, 2) == SUB_CRED_SEALED_LEN;
    if (ok)
        memcpy(cred, store_col_blob(st, 2), sizeof(cred));
    if (ok && has_prev)
        memcpy(prev, store_col_blob(st, 4), sizeof(prev));
    store_reset(st);
    if (done)
        return IOTSEC_OK;
    if (!ok)
        return IOTSEC_ERR_AUTH;
    if ((rc = reseal(conn, dc->kek, &supi, supi_text, version, cred, sizeof(cred), cred)) !=
        IOTSEC_OK)
        return rc;
    if (has_prev && reseal(conn, dc->kek, &supi, supi_text, prev_version, prev, sizeof(prev),
                           prev) != IOTSEC_OK)
        has_prev = false; /* a previous credential that does not open: destroyed below */
    if ((rc = store_stmt(conn,
                         has_prev
                             ? "UPDATE subscriptions SET cred = ?1, prev_cred = ?3 WHERE id = ?2"
                             : "UPDATE subscriptions SET cred = ?1, prev_cred = NULL,"
                               " prev_cred_version = NULL, prev_cred_until = NULL"
                               " WHERE id = ?2",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, cred, sizeof(cred));
    store_bind_int64(st, 2, id);
    if (has_prev)
        store_bind_blob(st, 3, prev, sizeof(prev));
    step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

static int convert_batch(struct store_conn *conn, void *arg)
{
    struct dek_convert *dc = arg;
    int64_t ids[CONVERT_BATCH];
    size_t n = 0;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "DELETE FROM subscription_deks_todo WHERE id IN (SELECT id FROM"
                        " subscription_deks_todo ORDER BY id LIMIT ?) RETURNING id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, CONVERT_BATCH);
    int step;
    while ((step = store_step(st)) == STORE_ROW)
        if (n < CONVERT_BATCH)
            ids[n++] = store_col_int64(st, 0);
    store_reset(st);
    if (step != STORE_DONE)
        return store_error(conn, step);
    dc->taken = n;
    for (size_t i = 0; i < n; i++) {
        rc = convert_one(conn, dc, ids[i]);
        if (rc == IOTSEC_ERR_AUTH)
            dc->unreadable++;
        else if (rc == IOTSEC_OK)
            dc->converted++;
        else
            return rc;
    }
    return IOTSEC_OK;
}

int subscriber_dek_convert(struct store *s, const struct seal_kek *kek, size_t *converted,
                           size_t *unreadable)
{
    struct dek_convert dc = {.kek = kek};
    int rc;
    do {
        dc.taken = 0;
        rc = store_write_sync(s, convert_batch, &dc);
    } while (rc == IOTSEC_OK && dc.taken > 0); /* a short batch: another instance took ids */
    *converted = dc.converted;
    *unreadable = dc.unreadable;
    return rc;
}
