/* The PEMC's operations on its PINs (create, list, get, update, delete, gateways, approve,
 * refuse, remove). A PIN belongs to its owner: any manager whose subscription has that owner
 * manages it. An unknown PIN and another owner's PIN get the same 403, so PIN ids cannot be
 * probed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/supi.h"
#include "expose/northbound.h"
#include "pin/pin_int.h"

/* The PIN named by the request's pin_id if the caller manages it; else answers (false). */
bool pin_load_owned(struct pin_ctx *x, struct pin_net *n)
{
    const char *id = pin_in_id(x, "pin_id");
    if (id == NULL)
        return false;
    int rc = pin_net_get(x->p->store, id, n);
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        pin_failed(x->req, rc);
        return false;
    }
    if (rc == IOTSEC_ERR_NOTFOUND || !x->manager || !x->sub.owner[0] ||
        strcmp(n->owner, x->sub.owner) != 0) {
        pin_problem(x->req, 403, "NOT_YOUR_PIN", "this subscription does not manage that PIN",
                    NULL);
        return false;
    }
    return true;
}

static bool name_ok(const char *s)
{
    size_t n = s ? strnlen(s, PIN_NAME_MAX + 1) : 0;
    if (n == 0 || n > PIN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

static void b64(const uint8_t *in, size_t len, char *out)
{
    b64url_encode(in, len, out);
}

static void add_gw(const struct pin_gw *g, void *ctx)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s}", "gw_id", g->gw_id, "supi", g->supi,
                                         "state", g->state == GW_ACTIVE ? "active" : "suspended"));
}

static const char *pine_state(enum pin_pine_state s)
{
    return s == PINE_APPROVED ? "approved" : s == PINE_REFUSED ? "refused" : "pending";
}

static void add_pine(const struct pin_pine *p, void *ctx)
{
    char pub[64];
    b64(p->pub, PIN_PUB_LEN, pub);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "pine_id", p->pine_id, "name", p->name, "state",
                  pine_state(p->state), "credential", p->symmetric ? "symmetric" : "ed25519");
    if (!p->symmetric) /* a symmetric PINE's pub column is its salt: not a key to show */
        json_object_set_new(o, "public_key", json_string(pub));
    json_t *g = p->grant_json[0] ? json_loads(p->grant_json, 0, NULL) : NULL;
    if (g)
        json_object_set_new(o, "grant", g);
    json_array_append_new(ctx, o);
}

json_t *pin_view_json(struct pin *p, const struct pin_net *n, const char *gateway_supi)
{
    char ca[64];
    b64(n->ca_pub, PIN_PUB_LEN, ca);
    json_t *policy = json_loads(n->policy_json, 0, NULL);
    json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "pin_id", n->pin_id, "name", n->name,
                          "ca_public_key", ca, "policy", policy ? policy : json_object());
    if (gateway_supi) { /* a gateway sees its own id only: not the others, not the PINEs */
        struct pin_gw g;
        if (pin_gw_of(p->store, n->pin_id, gateway_supi, &g) == IOTSEC_OK) {
            json_object_set_new(o, "gw_id", json_string(g.gw_id));
            json_object_set_new(o, "gw_state",
                                json_string(g.state == GW_ACTIVE ? "active" : "suspended"));
        }
        return o;
    }
    json_t *gws = json_array(), *pines = json_array();
    pin_gw_list(p->store, n->pin_id, add_gw, gws);
    pin_pine_list(p->store, n->pin_id, 10000, add_pine, pines);
    json_object_set_new(o, "owner", json_string(n->owner));
    json_object_set_new(o, "gateways", gws);
    json_object_set_new(o, "elements", pines);
    return o;
}

void pin_op_create(struct pin_ctx *x)
{
    if (!x->sub.owner[0]) {
        pin_problem(x->req, 403, "NO_OWNER", "the manager's subscription has no owner", NULL);
        return;
    }
    const char *name = json_string_value(json_object_get(x->in, "name"));
    const json_t *gws = json_object_get(x->in, "gateways");
    const char *bad = NULL;
    struct pin_write *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        pin_failed(x->req, IOTSEC_ERR_NOMEM);
        return;
    }
    struct pin_policy pol;
    if (!name_ok(name)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "1..64 printable characters", "name");
        goto out;
    }
    if (!json_is_array(gws) || json_array_size(gws) == 0 ||
        json_array_size(gws) > PIN_GATEWAYS_MAX) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "1..8 gateway SUPIs", "gateways");
        goto out;
    }
    if (pin_policy_parse(json_object_get(x->in, "policy"), &pol, &bad) != IOTSEC_OK) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "invalid policy", bad);
        goto out;
    }
    w->kind = PIN_W_CREATE;
    for (size_t i = 0; i < json_array_size(gws); i++) {
        const char *s = json_string_value(json_array_get(gws, i));
        struct supi parsed;
        bool gw = false, mgr = false;
        if (s == NULL || strlen(s) > PIN_SUPI_MAX || supi_parse(s, &parsed) != IOTSEC_OK) {
            pin_problem(x->req, 400, "MALFORMED_BODY", "not a SUPI", "gateways");
            goto out;
        }
        supi_format(&parsed, w->gws[i].supi, sizeof(w->gws[i].supi));
        for (size_t j = 0; j < i; j++)
            if (strcmp(w->gws[j].supi, w->gws[i].supi) == 0) {
                pin_problem(x->req, 400, "MALFORMED_BODY", "a gateway twice", "gateways");
                goto out;
            }
        if (pin_roles_get(x->p->store, w->gws[i].supi, &gw, &mgr) != IOTSEC_OK || !gw) {
            pin_problem(x->req, 403, "GATEWAY_ROLE_MISSING",
                        "a named gateway's subscription has no PIN gateway role", "gateways");
            goto out;
        }
        pin_random_id("gw-", 4, w->gws[i].gw_id, sizeof(w->gws[i].gw_id));
        w->n_gws++;
    }
    json_t *pj = pin_policy_json(&pol);
    char *ptext = json_dumps(pj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(pj);
    if (ptext == NULL || strlen(ptext) >= sizeof(w->net.policy_json)) {
        free(ptext);
        pin_failed(x->req, IOTSEC_ERR_NOMEM);
        goto out;
    }
    snprintf(w->net.policy_json, sizeof(w->net.policy_json), "%s", ptext);
    free(ptext);
    pin_random_id("pin-", 8, w->net.pin_id, sizeof(w->net.pin_id));
    snprintf(w->net.name, sizeof(w->net.name), "%s", name);
    snprintf(w->net.owner, sizeof(w->net.owner), "%s", x->sub.owner);
    uint8_t seed[PIN_KEY_LEN];
    int rc = prov_ed25519_keygen(seed, w->net.ca_pub);
    if (rc == IOTSEC_OK)
        rc = seal(x->p->kek, w->net.pin_id, strlen(w->net.pin_id), seed, sizeof(seed),
                  w->net.ca_sealed);
    secure_wipe(seed, sizeof(seed));
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        goto out;
    }
    char ca[64];
    b64(w->net.ca_pub, PIN_PUB_LEN, ca);
    json_t *ga = json_array();
    for (size_t i = 0; i < w->n_gws; i++)
        json_array_append_new(ga, json_pack("{s:s, s:s, s:s}", "gw_id", w->gws[i].gw_id, "supi",
                                            w->gws[i].supi, "state", "active"));
    json_t *answer = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "pin_id", w->net.pin_id, "name",
                               w->net.name, "owner", w->net.owner, "ca_public_key", ca, "policy",
                               pin_policy_json(&pol), "gateways", ga);
    pin_submit(x, w, 201, answer);
out:
    free(w);
}

struct list_ctx {
    json_t *arr;
    const char *role;
};

static void add_net(const struct pin_net *n, void *ctx)
{
    struct list_ctx *l = ctx;
    json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s}", "pin_id", n->pin_id, "name", n->name,
                                            "role", l->role));
}

void pin_op_list(struct pin_ctx *x)
{
    json_t *arr = json_array();
    int rc = IOTSEC_OK;
    if (x->manager && x->sub.owner[0]) {
        struct list_ctx l = {arr, "manager"};
        rc = pin_net_list(x->p->store, x->sub.owner, 1000, add_net, &l);
    }
    if (rc == IOTSEC_OK && x->gateway) {
        struct list_ctx l = {arr, "gateway"};
        rc = pin_net_list_served(x->p->store, x->supi, 1000, add_net, &l);
    }
    if (rc != IOTSEC_OK) {
        json_decref(arr);
        pin_failed(x->req, rc);
        return;
    }
    http_respond_json(x->req, 200, json_pack("{s:o}", "pins", arr));
}

void pin_op_get(struct pin_ctx *x)
{
    const char *id = pin_in_id(x, "pin_id");
    if (id == NULL)
        return;
    struct pin_net n;
    struct pin_gw g;
    int rc = pin_net_get(x->p->store, id, &n);
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        pin_failed(x->req, rc);
        return;
    }
    if (rc == IOTSEC_OK && x->manager && x->sub.owner[0] && strcmp(n.owner, x->sub.owner) == 0)
        http_respond_json(x->req, 200, pin_view_json(x->p, &n, NULL));
    else if (rc == IOTSEC_OK && x->gateway && pin_gw_of(x->p->store, id, x->supi, &g) == IOTSEC_OK)
        http_respond_json(x->req, 200, pin_view_json(x->p, &n, x->supi));
    else
        pin_problem(x->req, 403, "NOT_YOUR_PIN",
                    "this subscription neither manages nor serves "
                    "that PIN",
                    NULL);
}

void pin_op_update(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    struct pin_write w = {.kind = PIN_W_UPDATE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    const json_t *name = json_object_get(x->in, "name"), *pol = json_object_get(x->in, "policy");
    if (name == NULL && pol == NULL) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "nothing to update", "name");
        return;
    }
    if (name) {
        if (!name_ok(json_string_value(name))) {
            pin_problem(x->req, 400, "MALFORMED_BODY", "1..64 printable characters", "name");
            return;
        }
        snprintf(w.net.name, sizeof(w.net.name), "%s", json_string_value(name));
    }
    if (pol) {
        struct pin_policy p;
        const char *bad;
        if (pin_policy_parse(pol, &p, &bad) != IOTSEC_OK) {
            pin_problem(x->req, 400, "MALFORMED_BODY", "invalid policy", bad);
            return;
        }
        json_t *pj = pin_policy_json(&p);
        char *t = json_dumps(pj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(pj);
        snprintf(w.net.policy_json, sizeof(w.net.policy_json), "%s", t ? t : "");
        free(t);
    }
    pin_submit(x, &w, 200, json_pack("{s:s, s:b}", "pin_id", n.pin_id, "updated", 1));
}

void pin_op_delete(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    struct pin_write w = {.kind = PIN_W_DELETE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    pin_submit(x, &w, 200, json_pack("{s:s, s:b}", "pin_id", n.pin_id, "deleted", 1));
}

static void gw_state(struct pin_ctx *x, enum pin_gw_state state)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *gw = pin_in_id(x, "gw_id");
    if (gw == NULL)
        return;
    struct pin_write w = {.kind = PIN_W_GW_STATE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.gw.gw_id, sizeof(w.gw.gw_id), "%s", gw);
    w.gw.state = state;
    pin_submit(
        x, &w, 200,
        json_pack("{s:s, s:s}", "gw_id", gw, "state", state == GW_ACTIVE ? "active" : "suspended"));
}

void pin_op_gw_suspend(struct pin_ctx *x)
{
    gw_state(x, GW_SUSPENDED);
}

void pin_op_gw_resume(struct pin_ctx *x)
{
    gw_state(x, GW_ACTIVE);
}

/* `add-gateway {pin_id, supi}`: a UE with the gateway role becomes a PEGC of the PIN, with a
 * new gw_id. `remove-gateway {pin_id, gw_id}`: it no longer serves the PIN; its next relayed
 * authentication and check are refused (NOT_A_GATEWAY_OF_PIN), and a PINE's signature made
 * for its gw_id is worthless through any other gateway. */
static void count_gw(const struct pin_gw *g, void *ctx)
{
    (void)g;
    (*(size_t *)ctx)++;
}

void pin_op_gw_add(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *s = json_string_value(json_object_get(x->in, "supi"));
    struct supi parsed;
    struct pin_write w = {.kind = PIN_W_GW_ADD};
    bool gw = false, mgr = false;
    if (s == NULL || strlen(s) > PIN_SUPI_MAX || supi_parse(s, &parsed) != IOTSEC_OK) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "not a SUPI", "supi");
        return;
    }
    supi_format(&parsed, w.gw.supi, sizeof(w.gw.supi));
    if (pin_roles_get(x->p->store, w.gw.supi, &gw, &mgr) != IOTSEC_OK || !gw) {
        pin_problem(x->req, 403, "GATEWAY_ROLE_MISSING",
                    "that subscription has no PIN gateway role", "supi");
        return;
    }
    struct pin_gw g;
    size_t count = 0;
    if (pin_gw_of(x->p->store, n.pin_id, w.gw.supi, &g) == IOTSEC_OK) {
        pin_problem(x->req, 409, "ALREADY_A_GATEWAY", "that UE serves this PIN already", "supi");
        return;
    }
    if (pin_gw_list(x->p->store, n.pin_id, count_gw, &count) != IOTSEC_OK ||
        count >= PIN_GATEWAYS_MAX) {
        pin_problem(x->req, 409, "TOO_MANY_GATEWAYS", "a PIN has at most 8 gateways", NULL);
        return;
    }
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    pin_random_id("gw-", 4, w.gw.gw_id, sizeof(w.gw.gw_id));
    pin_submit(x, &w, 201,
               json_pack("{s:s, s:s, s:s, s:s}", "pin_id", n.pin_id, "gw_id", w.gw.gw_id, "supi",
                         w.gw.supi, "state", "active"));
}

void pin_op_gw_remove(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *gw = pin_in_id(x, "gw_id");
    if (gw == NULL)
        return;
    struct pin_gw g;
    int rc = pin_gw_by_id(x->p->store, n.pin_id, gw, &g);
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return;
    }
    size_t count = 0;
    if (pin_gw_list(x->p->store, n.pin_id, count_gw, &count) != IOTSEC_OK || count <= 1) {
        pin_problem(x->req, 409, "LAST_GATEWAY",
                    "a PIN keeps at least one gateway (delete the PIN instead)", "gw_id");
        return;
    }
    struct pin_write w = {.kind = PIN_W_GW_REMOVE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.gw.gw_id, sizeof(w.gw.gw_id), "%s", g.gw_id);
    pin_submit(x, &w, 200, json_pack("{s:s, s:b}", "gw_id", g.gw_id, "removed", 1));
}

/* The pending PINE named by the request in a PIN the caller manages. */
static bool load_pine(struct pin_ctx *x, struct pin_net *n, struct pin_pine *pe)
{
    if (!pin_load_owned(x, n))
        return false;
    const char *id = pin_in_id(x, "pine_id");
    if (id == NULL)
        return false;
    int rc = pin_pine_get(x->p->store, n->pin_id, id, pe);
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return false;
    }
    return true;
}

int pin_grant_from_request(struct pin_ctx *x, const struct pin_net *n, struct pin_grant *g,
                           char **text)
{
    struct pin_policy pol;
    const char *bad;
    json_t *pj = json_loads(n->policy_json, 0, NULL);
    int rc = pin_policy_parse(pj, &pol, &bad);
    json_decref(pj);
    if (rc == IOTSEC_OK && (rc = pin_grant_parse(x->in, &pol, g, &bad)) != IOTSEC_OK) {
        pin_problem(x->req, rc == IOTSEC_ERR_STATE ? 403 : 400,
                    rc == IOTSEC_ERR_STATE ? "OUTSIDE_POLICY" : "MALFORMED_BODY",
                    "the grant must lie within the PIN's policy", bad);
        return rc;
    }
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return rc;
    }
    json_t *d = json_array();
    for (size_t i = 0; i < g->n_dnns; i++)
        json_array_append_new(d, json_string(g->dnns[i]));
    json_t *grant = json_pack("{s:o, s:i, s:I}", "dnns", d, "qos_class", g->qos_class, "lifetime_s",
                              (json_int_t)g->lifetime_s);
    *text = json_dumps(grant, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(grant);
    if (*text == NULL || strlen(*text) >= PIN_POLICY_MAX) {
        free(*text);
        *text = NULL;
        pin_failed(x->req, IOTSEC_ERR_NOMEM);
        return IOTSEC_ERR_NOMEM;
    }
    return IOTSEC_OK;
}

void pin_op_approve(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_pine pe;
    if (!load_pine(x, &n, &pe))
        return;
    if (pe.state != PINE_PENDING) {
        pin_problem(x->req, 409, "NOT_PENDING", "only a pending join is decided", NULL);
        return;
    }
    struct pin_grant g;
    char *gt = NULL;
    if (pin_grant_from_request(x, &n, &g, &gt) != IOTSEC_OK)
        return;
    uint8_t msg[PIN_MSG_MAX], sig[PIN_SIG_LEN];
    size_t mlen;
    int rc = pin_msg_cert(n.pin_id, pe.pine_id, pe.pub, msg, &mlen);
    if (rc == IOTSEC_OK)
        rc = pin_ca_sign(x->p, &n, msg, mlen, sig);
    if (rc != IOTSEC_OK) {
        free(gt);
        pin_failed(x->req, rc);
        return;
    }
    json_t *grant = json_loads(gt, 0, NULL);
    struct pin_write w = {.kind = PIN_W_APPROVE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.pine.pine_id, sizeof(w.pine.pine_id), "%s", pe.pine_id);
    snprintf(w.pine.grant_json, sizeof(w.pine.grant_json), "%s", gt);
    free(gt);
    char cert[128];
    b64(sig, sizeof(sig), cert);
    pin_submit(x, &w, 200,
               json_pack("{s:s, s:s, s:s, s:o}", "pine_id", pe.pine_id, "state", "approved",
                         "certificate", cert, "grant", grant));
}

void pin_op_refuse(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_pine pe;
    if (!load_pine(x, &n, &pe))
        return;
    struct pin_write w = {.kind = PIN_W_REFUSE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.pine.pine_id, sizeof(w.pine.pine_id), "%s", pe.pine_id);
    pin_submit(x, &w, 200, json_pack("{s:s, s:s}", "pine_id", pe.pine_id, "state", "refused"));
}

void pin_op_remove(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_pine pe;
    if (!load_pine(x, &n, &pe))
        return;
    struct pin_write w = {.kind = PIN_W_REMOVE};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.pine.pine_id, sizeof(w.pine.pine_id), "%s", pe.pine_id);
    pin_submit(x, &w, 200, json_pack("{s:s, s:b}", "pine_id", pe.pine_id, "removed", 1));
}

/* The owner's grant to an AF on one PIN: {pin_id, af_id, services: ["elements","qos",
 * "routing"]}. The AF must be registered (with the pin service); the grant is read by every
 * northbound request, so a revocation is effective on the AF's next request. */
void pin_op_grant_af(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *af = pin_in_id(x, "af_id");
    if (af == NULL)
        return;
    const json_t *s = json_object_get(x->in, "services");
    uint32_t svcs = 0;
    for (size_t i = 0; json_is_array(s) && i < json_array_size(s); i++) {
        uint32_t b = pin_af_service_from_name(json_string_value(json_array_get(s, i)));
        if (b == 0 || (svcs & b)) {
            svcs = 0;
            break;
        }
        svcs |= b;
    }
    if (svcs == 0) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "1..3 of elements, qos, routing", "services");
        return;
    }
    struct expose_af cur;
    if (x->p->nb == NULL || expose_nb_af_current(x->p->nb, af, &cur) != IOTSEC_OK ||
        !(cur.services & EXPOSE_SVC_PIN)) {
        pin_problem(x->req, 404, "AF_UNKNOWN", "no active AF registered for the pin service",
                    "af_id");
        return;
    }
    struct pin_write w = {.kind = PIN_W_AF_GRANT, .af_services = svcs};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.af_id, sizeof(w.af_id), "%s", af);
    pin_submit(x, &w, 200,
               json_pack("{s:s, s:s, s:O}", "pin_id", n.pin_id, "af_id", af, "services", s));
}

void pin_op_revoke_af(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *af = pin_in_id(x, "af_id");
    if (af == NULL)
        return;
    struct pin_write w = {.kind = PIN_W_AF_GRANT, .af_services = 0};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.af_id, sizeof(w.af_id), "%s", af);
    pin_submit(x, &w, 200,
               json_pack("{s:s, s:s, s:b}", "pin_id", n.pin_id, "af_id", af, "revoked", 1));
}
