/* The operator's side of PINs (admin face, pinned admin certificate):
 *   PUT  /admin/v1/subscribers/{supi}/pin-roles   {"gateway":bool, "manager":bool}
 *   GET  /admin/v1/subscribers/{supi}/pin-roles
 *   GET  /admin/v1/pins[?owner=]                  every PIN (of an owner)
 *   GET  /admin/v1/pins/{pinId}                   one, with its gateways and elements
 *   DELETE /admin/v1/pins/{pinId}                 revokes every PINE of it at once
 * Writes wait for their commit (store_write_sync): the admin face has its own worker and these
 * are rare operator actions. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/supi.h"
#include "http/query.h"
#include "pin/pin_int.h"

static bool admin_ok(struct http_request *req, struct pin *p)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && strcmp(peer->cert_sha256_hex, p->admin_fp) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

/* The path's SUPI in canonical form, of an existing subscription; else answers. */
static bool path_supi(struct http_request *req, struct pin *p, char out[PIN_SUPI_MAX + 1])
{
    const char *s = http_request_param(req, "supi");
    struct supi parsed;
    if (s == NULL || strlen(s) > PIN_SUPI_MAX || supi_parse(s, &parsed) != IOTSEC_OK) {
        pin_problem(req, 400, "MALFORMED_PATH", "not a SUPI", "supi");
        return false;
    }
    supi_format(&parsed, out, PIN_SUPI_MAX + 1);
    struct subscription sub;
    int rc = subscriber_get(p->store, out, &sub);
    if (rc != IOTSEC_OK) {
        pin_failed(req, rc);
        return false;
    }
    return true;
}

static void handle_roles_put(struct http_request *req, void *user)
{
    struct pin *p = user;
    char supi[PIN_SUPI_MAX + 1];
    if (!admin_ok(req, p) || !path_supi(req, p, supi))
        return;
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *gw = json_object_get(o, "gateway"), *mg = json_object_get(o, "manager");
    if (!json_is_object(o) || (gw && !json_is_boolean(gw)) || (mg && !json_is_boolean(mg))) {
        json_decref(o);
        pin_problem(req, 400, "MALFORMED_BODY", "{\"gateway\": bool, \"manager\": bool}", "body");
        return;
    }
    struct pin_write w = {.kind = PIN_W_ROLES,
                          .gateway = json_is_true(gw),
                          .manager = json_is_true(mg),
                          .now = pin_now()};
    json_decref(o);
    snprintf(w.supi, sizeof(w.supi), "%s", supi);
    int rc = store_write_sync(p->store, pin_write_run, &w);
    if (rc != IOTSEC_OK) {
        pin_failed(req, rc);
        return;
    }
    log_msg(LOG_INFO, http_request_id(req), "pin: roles set (gateway %d, manager %d)", w.gateway,
            w.manager);
    http_respond_json(
        req, 200,
        json_pack("{s:s, s:b, s:b}", "supi", supi, "gateway", w.gateway, "manager", w.manager));
}

static void handle_roles_get(struct http_request *req, void *user)
{
    struct pin *p = user;
    char supi[PIN_SUPI_MAX + 1];
    bool gw, mg;
    if (!admin_ok(req, p) || !path_supi(req, p, supi))
        return;
    int rc = pin_roles_get(p->store, supi, &gw, &mg);
    if (rc != IOTSEC_OK) {
        pin_failed(req, rc);
        return;
    }
    http_respond_json(req, 200,
                      json_pack("{s:s, s:b, s:b}", "supi", supi, "gateway", gw, "manager", mg));
}

static void add_net(const struct pin_net *n, void *ctx)
{
    json_array_append_new(
        ctx, json_pack("{s:s, s:s, s:s}", "pin_id", n->pin_id, "name", n->name, "owner", n->owner));
}

static void handle_list(struct http_request *req, void *user)
{
    struct pin *p = user;
    static const struct http_qspec spec[] = {
        {.name = "owner", .type = HTTP_Q_STR, .reason = "an owner (1..256 characters)"},
    };
    struct http_qval q[1];
    if (!admin_ok(req, p) || !http_query_parse(req, spec, 1, q))
        return;
    json_t *arr = json_array();
    int rc = pin_net_list(p->store, q[0].s, 10000, add_net, arr);
    if (rc != IOTSEC_OK) {
        json_decref(arr);
        pin_failed(req, rc);
        return;
    }
    http_respond_json(req, 200, http_list_json("pins", arr));
}

static bool path_pin(struct http_request *req, struct pin *p, struct pin_net *n)
{
    const char *id = http_request_param(req, "pinId");
    int rc = pin_id_ok(id) ? pin_net_get(p->store, id, n) : IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        pin_failed(req, rc);
    return rc == IOTSEC_OK;
}

static void handle_show(struct http_request *req, void *user)
{
    struct pin *p = user;
    struct pin_net n;
    if (admin_ok(req, p) && path_pin(req, p, &n)) {
        json_t *o = pin_view_json(p, &n, NULL);
        json_object_set_new(o, "owner", json_string(n.owner));
        http_respond_json(req, 200, o);
    }
}

static void handle_delete(struct http_request *req, void *user)
{
    struct pin *p = user;
    struct pin_net n;
    if (!admin_ok(req, p) || !path_pin(req, p, &n))
        return;
    struct pin_write w = {.kind = PIN_W_DELETE, .now = pin_now()};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    int rc = store_write_sync(p->store, pin_write_run, &w);
    if (rc != IOTSEC_OK) {
        pin_failed(req, rc);
        return;
    }
    http_respond(req, 204, NULL, NULL, 0);
}

int pin_admin_routes(struct pin *p, struct http_server *adm)
{
    int rc = http_server_route(adm, "PUT", "/admin/v1/subscribers/{supi}/pin-roles",
                               handle_roles_put, p);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/subscribers/{supi}/pin-roles",
                               handle_roles_get, p);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/pins", handle_list, p);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/pins/{pinId}", handle_show, p);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "DELETE", "/admin/v1/pins/{pinId}", handle_delete, p);
    return rc;
}
