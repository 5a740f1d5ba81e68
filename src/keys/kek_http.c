/* The admin face of KEK rotation:
 *   POST /admin/v1/keys/kek/rotate  {"kekId": N}?  start (admin role; 202, 409 while one runs)
 *   GET  /admin/v1/keys/kek                         rows per column and KEK id, progress
 * The admin face's request log audits who asked (principal, path, status). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "http/http.h"
#include "keys/kek.h"

struct kek_routes {
    struct kek_rotation *kr;
    const char *admin_cert_sha256;
};

static bool admin_ok(struct http_request *req, const struct kek_routes *r)
{
    if (http_request_principal(req) != NULL) /* an account, its role checked by the gate */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && strcmp(peer->cert_sha256_hex, r->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static void handle_rotate(struct http_request *req, void *user)
{
    struct kek_routes *r = user;
    if (!admin_ok(req, r))
        return;
    size_t len = 0;
    const void *body = http_request_body(req, &len);
    json_int_t want = 0;
    if (len > 0) {
        json_error_t jerr;
        json_t *o = json_loadb(body, len, 0, &jerr), *id = json_object_get(o, "kekId");
        bool ok = json_is_object(o) && (id == NULL || json_is_integer(id)) &&
                  json_object_size(o) == (id ? 1u : 0u);
        want = ok && id ? json_integer_value(id) : 0;
        json_decref(o);
        if (!ok || want < 0 || want > KEK_ID_MAX || (id && want == 0)) {
            http_respond_problem(req, 400, NULL, "body: {\"kekId\": 1..200} or nothing", NULL, NULL,
                                 0);
            return;
        }
    }
    uint8_t made = 0;
    char missing[128], detail[256];
    int rc = kek_rotation_start(r->kr, (uint8_t)want, &made, missing, sizeof(missing));
    const char *who = http_request_principal(req);
    log_msg(LOG_INFO, http_request_id(req), "KEK rotation asked by %s: %s", who ? who : "admin",
            iotsec_strerror(rc));
    switch (rc) {
    case IOTSEC_OK:
        http_respond_json(req, 202, json_pack("{s:i,s:s}", "kekId", made, "state", "rotating"));
        return;
    case IOTSEC_ERR_CONFLICT:
        snprintf(detail, sizeof(detail), "a KEK rotation is under way (or KEK %d is current)",
                 (int)want);
        http_respond_problem(req, 409, NULL, detail, NULL, NULL, 0);
        return;
    case IOTSEC_ERR_STATE:
        snprintf(detail, sizeof(detail),
                 "instance %s does not hold KEK %d: install its file there and restart it first",
                 missing, (int)want);
        http_respond_problem(req, 409, NULL, detail, NULL, NULL, 0);
        return;
    case IOTSEC_ERR_NOTFOUND:
        snprintf(detail, sizeof(detail), "this instance holds no KEK %d", (int)want);
        http_respond_problem(req, 404, NULL, detail, NULL, NULL, 0);
        return;
    default:
        http_respond_error(req, rc, "KEK rotation");
    }
}

static void handle_status(struct http_request *req, void *user)
{
    struct kek_routes *r = user;
    if (!admin_ok(req, r))
        return;
    struct kek_status st;
    int rc = kek_rotation_status(r->kr, &st);
    if (rc != IOTSEC_OK) {
        http_respond_error(req, rc, "KEK status");
        return;
    }
    json_t *held = json_array(), *rows = json_array();
    for (size_t i = 0; i < st.nheld; i++)
        json_array_append_new(held, json_integer(st.held[i]));
    for (size_t i = 0; i < st.nrows; i++)
        json_array_append_new(rows,
                              json_pack("{s:s,s:i,s:I}", "column", st.rows[i].column, "kekId",
                                        st.rows[i].kek_id, "rows", (json_int_t)st.rows[i].rows));
    free(st.rows);
    json_t *o = json_pack("{s:i,s:b,s:b,s:o,s:o,s:I,s:I,s:f}", "current", st.current, "rotating",
                          st.rotating, "running", st.running, "held", held, "rows", rows,
                          "rewrapped", (json_int_t)st.rewrapped, "unreadable",
                          (json_int_t)st.unreadable, "rowsPerSecond", st.rows_per_s);
    if (o && st.error[0])
        json_object_set_new(o, "error", json_string(st.error));
    http_respond_json(req, 200, o);
}

int kek_admin_routes(struct http_server *adm, struct kek_rotation *kr,
                     const char *admin_cert_sha256)
{
    static struct kek_routes r; /* one daemon per process */
    r = (struct kek_routes){kr, admin_cert_sha256};
    int rc = http_server_route(adm, "POST", "/admin/v1/keys/kek/rotate", handle_rotate, &r);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/keys/kek", handle_status, &r);
    return rc;
}
