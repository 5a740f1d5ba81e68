/* GET /admin/v1/subscribers/{supi}/memberships:
 *   {"supi", "groups": [{external_id, owner, members, confidential, epoch}],
 *    "pin_roles": {gateway, manager},
 *    "pins": [{pin_id, name, owner, as: "gateway" | "manager"}]}
 * Message groups through group_store_groups_of (the local group id stays inside); PINs
 * through pin_roles_get, pin_net_list_served (the PINs it serves as gateway) and, for a
 * manager, pin_net_list of its subscription's owner (docs/pin.md: a manager manages the PINs of
 * its owner). At most MAX_PINS of each. */
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "daemon/device_view.h"
#include "group/group_store.h"
#include "http/http.h"
#include "pin/pin.h"
#include "subscriber/subscriber.h"

#define MAX_PINS 200

static void group_item(const struct group_row *g, void *ctx)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:I, s:b, s:I}", "external_id", g->external_id,
                                         "owner", g->owner, "members", (json_int_t)g->members,
                                         "confidential", g->confidential, "epoch",
                                         (json_int_t)g->epoch));
}

struct pins {
    json_t *items;
    const char *as;
};

static void pin_item(const struct pin_net *n, void *ctx)
{
    struct pins *p = ctx;
    json_array_append_new(p->items, json_pack("{s:s, s:s, s:s, s:s}", "pin_id", n->pin_id, "name",
                                              n->name, "owner", n->owner, "as", p->as));
}

static void handle_memberships(struct http_request *req, void *user)
{
    struct store *store = user;
    if (http_request_principal(req) == NULL) { /* the face's gate names every admin */
        http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                             0);
        return;
    }
    const char *param = http_request_param(req, "supi");
    struct supi parsed;
    char supi[SUPI_STRING_MAX];
    if (param == NULL || supi_parse(param, &parsed) != IOTSEC_OK) {
        http_respond_problem(req, 400, NULL, "expected imsi-<digits> or nai-<user>@<realm>", NULL,
                             NULL, 0);
        return;
    }
    supi_format(&parsed, supi, sizeof(supi));
    struct subscription sub;
    int rc = subscriber_get(store, supi, &sub);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such subscription", NULL, NULL, 0);
        return;
    }
    json_t *groups = json_array(), *pins = json_array();
    struct store_conn *conn;
    if (rc == IOTSEC_OK)
        rc = store_reader_get(store, &conn);
    if (rc == IOTSEC_OK)
        rc = group_store_groups_of(conn, supi, group_item, groups);
    bool gateway = false, manager = false;
    if (rc == IOTSEC_OK)
        rc = pin_roles_get(store, supi, &gateway, &manager);
    struct pins served = {pins, "gateway"}, managed = {pins, "manager"};
    if (rc == IOTSEC_OK && gateway)
        rc = pin_net_list_served(store, supi, MAX_PINS, pin_item, &served);
    if (rc == IOTSEC_OK && manager && sub.owner[0])
        rc = pin_net_list(store, sub.owner, MAX_PINS, pin_item, &managed);
    if (rc != IOTSEC_OK) {
        json_decref(groups);
        json_decref(pins);
        http_respond_error(req, rc, "memberships");
        return;
    }
    http_respond_json(req, 200,
                      json_pack("{s:s, s:o, s:{s:b, s:b}, s:o}", "supi", supi, "groups", groups,
                                "pin_roles", "gateway", gateway, "manager", manager, "pins", pins));
}

int device_view_routes(struct http_server *adm, struct store *store)
{
    return http_server_route(adm, "GET", "/admin/v1/subscribers/{supi}/memberships",
                             handle_memberships, store);
}
