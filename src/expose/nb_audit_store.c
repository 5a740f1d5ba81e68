/* The reads of the audit log for the admin face (nb_audit_http.c holds no SQL): records in
 * order, the record at a position, and the chain's verification on a reader. */
#include "base/err.h"
#include "expose/nb_admin.h"

#define COLS                                                                                       \
    "SELECT seq, time_ms, principal, action, resource, reason, request_id, allow, hash"            \
    " FROM expose_audit "

static void audit_row(struct store_stmt *st, struct nb_audit_row *r)
{
    r->seq = store_col_int64(st, 0);
    r->time_ms = store_col_int64(st, 1);
    r->principal = store_col_text(st, 2);
    r->action = store_col_text(st, 3);
    r->resource = store_col_text(st, 4);
    r->reason = store_col_text(st, 5);
    r->request_id = store_col_text(st, 6);
    r->allow = store_col_int(st, 7);
    r->hash = store_col_bytes(st, 8) == AUDIT_HASH_LEN ? store_col_blob(st, 8) : NULL;
}

int nb_audit_list(struct store *s, const char *af, int64_t after, int64_t limit, nb_audit_row_fn fn,
                  void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        af ? COLS "WHERE principal = ? AND seq > ? ORDER BY seq LIMIT ?"
                           : COLS "WHERE ? IS NULL AND seq > ? ORDER BY seq LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (af)
        store_bind_text(st, 1, af, -1);
    store_bind_int64(st, 2, after);
    store_bind_int64(st, 3, limit);
    struct nb_audit_row r;
    while (store_step(st) == STORE_ROW) {
        audit_row(st, &r);
        fn(&r, ctx);
    }
    store_reset(st);
    return IOTSEC_OK;
}

int nb_audit_record_from(struct store *s, int64_t seq, nb_audit_row_fn fn, void *ctx)
{
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(s, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, COLS "WHERE seq >= ? ORDER BY seq LIMIT 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, seq);
    rc = IOTSEC_ERR_NOTFOUND;
    if (store_step(st) == STORE_ROW) {
        struct nb_audit_row r;
        audit_row(st, &r);
        fn(&r, ctx);
        rc = IOTSEC_OK;
    }
    store_reset(st);
    return rc;
}

int nb_audit_verify_store(struct store *s, uint64_t *count, int64_t *bad_seq,
                          struct audit_anchor *head)
{
    struct store_conn *conn;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = expose_audit_verify_db(conn, count, bad_seq, head);
    return rc;
}
