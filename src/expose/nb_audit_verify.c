/* The audit chain checked from the table: chunks of rows, each verified from where the
 * previous one ended. Takes any read connection, so that the CLI can run it on the database
 * without a daemon (a store opened read_only). */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "expose/northbound.h"

#define VERIFY_CHUNK 4096

struct chunk {
    struct audit_record r[VERIFY_CHUNK];
    char *text[VERIFY_CHUNK][5];
    size_t n;
};

static void chunk_clear(struct chunk *k)
{
    for (size_t i = 0; i < k->n; i++)
        for (int f = 0; f < 5; f++)
            free(k->text[i][f]);
    k->n = 0;
}

static char *dup_col(struct store_stmt *st, int col)
{
    const char *t = store_col_text(st, col);
    return strdup(t ? t : "");
}

static void read_row(struct store_stmt *st, struct chunk *k)
{
    struct audit_record *r = &k->r[k->n];
    char **t = k->text[k->n];
    memset(r, 0, sizeof(*r));
    r->seq = (uint64_t)store_col_int64(st, 0);
    r->time_ms = store_col_int64(st, 1);
    for (int f = 0; f < 5; f++)
        t[f] = dup_col(st, 2 + f);
    r->principal = t[0];
    r->action = t[1];
    r->resource = t[2];
    r->reason = t[3];
    r->request_id = t[4];
    r->allow = store_col_int(st, 7) != 0;
    if (store_col_bytes(st, 8) == AUDIT_HASH_LEN)
        memcpy(r->hash, store_col_blob(st, 8), AUDIT_HASH_LEN);
    k->n++;
}

int expose_audit_verify_db(struct store_conn *db, uint64_t *count, int64_t *bad_seq,
                           struct audit_anchor *head)
{
    struct store_stmt *st = NULL;
    if (store_prepare(db,
                      "SELECT seq, time_ms, principal, action, resource, reason, request_id,"
                      " allow, hash FROM expose_audit WHERE seq >= ? ORDER BY seq LIMIT ?",
                      &st) != IOTSEC_OK)
        return IOTSEC_ERR_IO;
    struct chunk *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        store_finalize(st);
        return IOTSEC_ERR_NOMEM;
    }
    memset(head, 0, sizeof(*head));
    *count = 0;
    *bad_seq = -1;
    int rc = IOTSEC_OK;
    for (;;) {
        store_bind_int64(st, 1, (int64_t)head->seq);
        store_bind_int64(st, 2, VERIFY_CHUNK);
        int s;
        while ((s = store_step(st)) == STORE_ROW)
            read_row(st, k);
        store_reset(st);
        if (s != STORE_DONE) {
            rc = IOTSEC_ERR_IO;
            break;
        }
        if (k->n == 0)
            break;
        size_t bad = 0;
        /* a row's seq must be its position (audit_verify): a gap is a missing record */
        rc = audit_verify(k->r, k->n, head, NULL, &bad);
        if (rc != IOTSEC_OK) {
            *bad_seq = (int64_t)(head->seq + bad);
            break;
        }
        head->seq += k->n;
        memcpy(head->hash, k->r[k->n - 1].hash, AUDIT_HASH_LEN);
        *count += k->n;
        bool last = k->n < VERIFY_CHUNK;
        chunk_clear(k);
        if (last)
            break;
    }
    chunk_clear(k);
    free(k);
    store_finalize(st);
    return rc;
}
