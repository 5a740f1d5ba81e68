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
#include "http/query.h"

#define LIST_MAX   1000

static json_t *row_json(const struct nb_audit_row *r)
{
    char hex[2 * AUDIT_HASH_LEN + 1] = "";
    if (r->hash)
        hex_encode(r->hash, AUDIT_HASH_LEN, hex);
    return json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "seq", (json_int_t)r->seq,
                     "time_ms", (json_int_t)r->time_ms, "principal", r->principal, "action",
                     r->action, "resource", r->resource, "allow", r->allow, "reason", r->reason,
                     "request_id", r->request_id, "hash", hex);
}

static void list_one(const struct nb_audit_row *r, void *ctx)
{
    json_array_append_new(ctx, row_json(r));
}

static void record_one(const struct nb_audit_row *r, void *ctx)
{
    json_object_set_new(ctx, "record", row_json(r));
}

static void handle_audit_log(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    static const struct http_qspec spec[] = {
        {.name = "after", .type = HTTP_Q_INT, .min = -1, .max = INT64_MAX,
         .reason = "a record's seq (an integer)"},
        {.name = "limit", .type = HTTP_Q_INT, .min = 1, .max = LIST_MAX,
         .reason = "an integer from 1 to 1000"},
        {.name = "af", .type = HTTP_Q_STR, .reason = "a principal (an AF id or admin)"},
    };
    struct http_qval q[3];
    if (!http_query_parse(req, spec, 3, q))
        return;
    const char *af = q[2].s;
    long long after = q[0].set ? q[0].i : -1;
    long long limit = q[1].set ? q[1].i : LIST_MAX;
    /* decisions are answered before their records commit: show every one answered before
     * this request (a store that refuses the barrier still shows what it has) */
    nb_audit_barrier(&nb->audit);
    json_t *arr = json_array();
    int rc = nb_audit_list(nb->store, af, after, limit, list_one, arr);
    if (rc != IOTSEC_OK) {
        json_decref(arr);
        nb_store_failed(req, rc);
        return;
    }
    size_t n = json_array_size(arr);
    json_t *last = n ? json_object_get(json_array_get(arr, n - 1), "seq") : NULL;
    http_respond_page(req, "records", arr, (size_t)limit, json_incref(last));
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
    int rc = nb_audit_verify_store(nb->store, &count, &bad, &head);
    if (rc == IOTSEC_ERR_AUTH || rc == IOTSEC_ERR_INVALID) {
        json_t *o = json_pack("{s:b, s:I, s:s}", "ok", 0, "first_bad_seq", (json_int_t)bad,
                              "detail", "the record is altered, out of place or missing");
        nb_audit_record_from(nb->store, bad, record_one, o);
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
