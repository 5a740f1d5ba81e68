/* The audit log on the admin face:
 *   GET /admin/v1/audit?af=ID&after=SEQ&limit=N   records in order (principal = the AF id)
 *   GET /admin/v1/audit/verify                    recomputes the whole chain from genesis
 * Verification reads the table (not the daemon's memory), so a row changed on disk is found:
 * the answer names the first record whose hash, position or content does not match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "expose/nb_admin.h"

#define LIST_MAX   1000

static json_t *row_json(struct store_stmt *st)
{
    char hex[2 * AUDIT_HASH_LEN + 1] = "";
    if (store_col_bytes(st, 8) == AUDIT_HASH_LEN)
        hex_encode(store_col_blob(st, 8), AUDIT_HASH_LEN, hex);
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "seq",
                     (json_int_t)store_col_int64(st, 0), "time_ms",
                     (json_int_t)store_col_int64(st, 1), "principal",
                     store_col_text(st, 2), "action",
                     store_col_text(st, 3), "resource",
                     store_col_text(st, 4), "allow",
                     store_col_int(st, 7), "reason",
                     store_col_text(st, 5), "request_id",
                     store_col_text(st, 6), "hash", hex);
}

#define COLS "SELECT seq, time_ms, principal, action, resource, reason, request_id, allow, hash" \
             " FROM expose_audit "

static void handle_audit_log(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    const char *af = http_request_query_param(req, "af");
    const char *after_s = http_request_query_param(req, "after");
    const char *limit_s = http_request_query_param(req, "limit");
    long long after = after_s ? atoll(after_s) : -1;
    long long limit = limit_s ? atoll(limit_s) : LIST_MAX;
    if (limit <= 0 || limit > LIST_MAX)
        limit = LIST_MAX;
    /* decisions are answered before their records commit: show every one answered before
     * this request (a store that refuses the barrier still shows what it has) */
    nb_audit_barrier(&nb->audit);
    struct store_conn *c;
    struct store_stmt *st;
    int rc = store_reader_get(nb->store, &c);
    if (rc == IOTSEC_OK)
        rc = store_stmt(c, af ? COLS "WHERE principal = ? AND seq > ? ORDER BY seq LIMIT ?"
                              : COLS "WHERE ? IS NULL AND seq > ? ORDER BY seq LIMIT ?", &st);
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    if (af)
        store_bind_text(st, 1, af, -1);
    store_bind_int64(st, 2, after);
    store_bind_int64(st, 3, limit);
    json_t *arr = json_array();
    while (store_step(st) == STORE_ROW)
        json_array_append_new(arr, row_json(st));
    store_reset(st);
    http_respond_json(req, 200, json_pack("{s:o}", "records", arr));
}

static void handle_audit_verify(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    uint64_t count = 0;
    int64_t bad = -1;
    struct audit_anchor head;
    nb_audit_barrier(&nb->audit); /* the chain as of every decision answered before */
    struct store_conn *conn;
    int rc = store_reader_get(nb->store, &conn);
    if (rc == IOTSEC_OK)
        rc = expose_audit_verify_db(conn, &count, &bad, &head);
    if (rc == IOTSEC_ERR_AUTH || rc == IOTSEC_ERR_INVALID) {
        json_t *o = json_pack("{s:b, s:I, s:s}", "ok", 0, "first_bad_seq", (json_int_t)bad,
                              "detail", "the record is altered, out of place or missing");
        struct store_conn *c;
        struct store_stmt *st;
        if (store_reader_get(nb->store, &c) == IOTSEC_OK &&
            store_stmt(c, COLS "WHERE seq >= ? ORDER BY seq LIMIT 1", &st) == IOTSEC_OK) {
            store_bind_int64(st, 1, bad);
            if (store_step(st) == STORE_ROW)
                json_object_set_new(o, "record", row_json(st));
            store_reset(st);
        }
        /* 200: the check ran; its verdict is in the body (the CLI exits non-zero on it) */
        http_respond_json(req, 200, o);
        return;
    }
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    char hex[2 * AUDIT_HASH_LEN + 1];
    hex_encode(head.hash, AUDIT_HASH_LEN, hex);
    http_respond_json(req, 200, json_pack("{s:b, s:I, s:s}", "ok", 1, "records",
                                          (json_int_t)count, "head_hash", hex));
}

int nb_audit_routes(struct expose_nb *nb, struct http_server *adm)
{
    int rc = http_server_route(adm, "GET", "/admin/v1/audit", handle_audit_log, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/audit/verify", handle_audit_verify, nb);
    return rc;
}
