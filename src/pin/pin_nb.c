/* The northbound PIN API (key issue 2, docs/pin.md), on the northbound face through the
 * exposure service (OAuth2 token bound to the AF's certificate, scope "pin"):
 *   GET  /3gpp-pin/v1/{afId}/pins/{pinId}/elements                 the PIN's elements
 *   POST /3gpp-pin/v1/{afId}/pins/{pinId}/elements/{pineId}/qos    AsSessionWithQoS for a PINE
 *   PUT  /3gpp-pin/v1/{afId}/pins/{pinId}/routing                  ServiceParameter with pinId
 * An AF acts on a PIN only within its owner's current grant (as the store holds it at every
 * request, on every instance: a revoked grant is refused at the next one), only on elements of that
 * PIN (PIN-local ids), and never sees a SUPI (gateways are named by gw_id). An unknown PIN and a
 * PIN without a grant are the same 403. Every decision goes to the hash-chained audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "expose/northbound.h"
#include "pin/pin_int.h"

/* Whether the space-separated list has the word prefix || id. */
static bool has_word(const char *list, const char *prefix, const char *id)
{
    size_t n = strlen(id), pl = strlen(prefix);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (w == pl + n && memcmp(p, prefix, pl) == 0 && memcmp(p + pl, id, n) == 0)
            return true;
        p += w;
        p += strspn(p, " ");
    }
    return false;
}

/* Whether the token's resource words include "pin:<pin_id>". */
static bool pin_in_token(const struct expose_af *af, const char *pin_id)
{
    return pin_id_ok(pin_id) && has_word(af->resources, "pin:", pin_id);
}

/* What a token for the pin service carries (expose_nb_set_resources): every PIN granted to
 * the AF now (asked ""), or the PINs it named, each granted now. */
struct grants_out {
    char *out;
    size_t cap, len;
    bool full;
};

static void add_id(const char *id, void *ctx)
{
    struct grants_out *g = ctx;
    size_t n = strlen(id);
    if (g->len + n + 2 > g->cap) {
        g->full = true;
        return;
    }
    if (g->len)
        g->out[g->len++] = ' ';
    memcpy(g->out + g->len, id, n);
    g->len += n;
    g->out[g->len] = 0;
}

static int token_pins(void *user, const char *af_id, const char *asked, char *out, size_t cap)
{
    struct pin *p = user;
    struct grants_out g = {out, cap, 0, false};
    out[0] = 0;
    if (asked[0] == 0) {
        int rc = pin_af_grants_of(p->store, af_id, 64, add_id, &g);
        return rc != IOTSEC_OK ? rc : g.full ? IOTSEC_ERR_INVALID : IOTSEC_OK;
    }
    for (const char *a = asked; *a;) {
        size_t n = strcspn(a, " ");
        char id[PIN_ID_MAX + 1];
        uint32_t services = 0;
        if (n == 0 || n > PIN_ID_MAX)
            return IOTSEC_ERR_AUTH;
        memcpy(id, a, n);
        id[n] = 0;
        int rc = pin_id_ok(id) ? pin_af_grant_get(p->store, id, af_id, &services) : IOTSEC_ERR_AUTH;
        if (rc != IOTSEC_OK)
            return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_ERR_AUTH : rc;
        if (services == 0)
            return IOTSEC_ERR_AUTH;
        if (!has_word(out, "", id))
            add_id(id, &g);
        if (g.full)
            return IOTSEC_ERR_INVALID;
        a += n;
        a += strspn(a, " ");
    }
    return IOTSEC_OK;
}

/* The checks before any grant: the token, the path's AF, the PIN in the token. On success
 * *af and resource are filled and *pin_id is the path's. Answers otherwise. */
static bool admit_token(struct pin *p, struct http_request *req, const char *action,
                        struct expose_af *af, const char **pin_id, char *resource, size_t cap)
{
    if (expose_nb_authenticate(p->nb, req, EXPOSE_SVC_PIN, af) != IOTSEC_OK)
        return false;
    const char *path_af = http_request_param(req, "afId");
    *pin_id = http_request_param(req, "pinId");
    snprintf(resource, cap, "pin:%s", pin_id_ok(*pin_id) ? *pin_id : "?");
    const char *rid = http_request_id(req);
    if (path_af == NULL || strcmp(path_af, af->af_id) != 0) {
        expose_nb_audit(p->nb, af, action, resource, false, "DENY_OTHER_AF_PATH", rid);
        pin_problem(req, 403, "DENY_OTHER_AF_PATH", "the path names another AF", NULL);
        return false;
    }
    /* the token carries the PINs it may act on (those granted when it was issued, or the ones
     * the AF named): another PIN is refused whatever the grants say now */
    if (!pin_in_token(af, *pin_id)) {
        expose_nb_audit(p->nb, af, action, resource, false, "DENY_PIN_NOT_IN_TOKEN", rid);
        pin_problem(req, 403, "DENY_PIN_NOT_IN_TOKEN",
                    "the access token does not carry this PIN: ask for a token naming it", NULL);
        return false;
    }
    return true;
}

/* No grant now for what was asked (rc NOTFOUND or OK), or the store failed: answers. */
static void refuse_grant(struct pin *p, struct http_request *req, const struct expose_af *af,
                         const char *action, const char *resource, int rc)
{
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        pin_failed(req, rc);
        return;
    }
    expose_nb_audit(p->nb, af, action, resource, false, "DENY_NO_PIN_GRANT", http_request_id(req));
    pin_problem(req, 403, "DENY_NO_PIN_GRANT", "the PIN's owner has not granted this", NULL);
}

/* The common checks; on success *af and *n are filled. Answers otherwise. */
static bool admit(struct pin *p, struct http_request *req, uint32_t want, const char *action,
                  struct expose_af *af, struct pin_net *n, char *resource, size_t cap)
{
    const char *pin_id;
    if (!admit_token(p, req, action, af, &pin_id, resource, cap))
        return false;
    /* the grant as it is now and the PIN, in one read */
    uint32_t granted = 0;
    int rc = pin_id_ok(pin_id) ? pin_af_grant_net(p->store, pin_id, af->af_id, &granted, n)
                               : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK && (granted & want))
        return true;
    refuse_grant(p, req, af, action, resource, rc);
    return false;
}

static void get_elements(struct http_request *req, void *user)
{
    struct pin *p = user;
    struct expose_af af;
    const char *pin_id, *action = "pin_elements_read";
    char res[96], *body = NULL;
    size_t len = 0;
    if (!admit_token(p, req, action, &af, &pin_id, res, sizeof(res)))
        return;
    /* the grant as it is now, the PIN and its members: the instance's copy while no PIN
     * change was committed anywhere since it was read (pin_nb_view.c), else one read */
    int rc = pin_view_get(p, pin_id, af.af_id, &body, &len);
    if (rc != IOTSEC_OK) {
        refuse_grant(p, req, &af, action, res, rc);
        return;
    }
    if (expose_nb_audit_allow(p->nb, req, &af, action, res, "ALLOW_PIN_GRANT") == IOTSEC_OK)
        http_respond(req, 200, "application/json", body, len);
    free(body);
}

/* The PINE of the path, in this PIN and approved; else audited 403. */
static bool pine_in_pin(struct pin *p, struct http_request *req, const struct expose_af *af,
                        const struct pin_net *n, const char *action, struct pin_pine *pe, char *res,
                        size_t cap)
{
    const char *id = http_request_param(req, "pineId");
    if (pin_id_ok(id) && pin_pine_get(p->store, n->pin_id, id, pe) == IOTSEC_OK &&
        pe->state == PINE_APPROVED) {
        snprintf(res, cap, "pin:%s/pine:%s", n->pin_id, pe->pine_id);
        return true;
    }
    expose_nb_audit(p->nb, af, action, res, false, "DENY_NOT_IN_PIN", http_request_id(req));
    pin_problem(req, 403, "DENY_NOT_IN_PIN", "no approved element of that id in this PIN", NULL);
    return false;
}

static json_t *body_object(struct http_request *req)
{
    size_t len;
    const char *b = http_request_body(req, &len);
    json_t *o = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        pin_problem(req, 400, "MALFORMED_BODY", "the body must be a JSON object", "body");
        return NULL;
    }
    return o;
}

static struct pin_policy *policy_of(const struct pin_net *n, struct pin_policy *pol)
{
    const char *bad;
    json_t *pj = json_loads(n->policy_json, 0, NULL);
    int rc = pin_policy_parse(pj, pol, &bad);
    json_decref(pj);
    return rc == IOTSEC_OK ? pol : NULL;
}

/* AsSessionWithQoSSubscription (TS 29.122): notificationDestination and qosReference are
 * required here; qosReference names a 5QI the PIN's policy allows ("5qi-<n>"). */
static void post_qos(struct http_request *req, void *user)
{
    struct pin *p = user;
    struct expose_af af;
    struct pin_net n;
    struct pin_pine pe;
    struct pin_policy pol;
    char res[160];
    if (!admit(p, req, PIN_AF_QOS, "pin_qos_request", &af, &n, res, sizeof(res)) ||
        !pine_in_pin(p, req, &af, &n, "pin_qos_request", &pe, res, sizeof(res)))
        return;
    json_t *o = body_object(req);
    if (o == NULL)
        return;
    const char *dest = json_string_value(json_object_get(o, "notificationDestination"));
    const char *ref = json_string_value(json_object_get(o, "qosReference"));
    const json_t *flows = json_object_get(o, "flowInfo");
    int qos = 0, used = 0;
    const char *bad =
        dest == NULL || strlen(dest) == 0 || strlen(dest) > 1024 ? "notificationDestination"
        : ref == NULL || sscanf(ref, "5qi-%d%n", &qos, &used) != 1 || (size_t)used != strlen(ref)
            ? "qosReference"
        : flows != NULL && !json_is_array(flows) ? "flowInfo"
                                                 : NULL;
    if (bad) {
        json_decref(o);
        pin_problem(req, 400, "MALFORMED_BODY", "missing or invalid", bad);
        return;
    }
    if (policy_of(&n, &pol) == NULL || !pin_policy_has_qos(&pol, qos)) {
        json_decref(o);
        expose_nb_audit(p->nb, &af, "pin_qos_request", res, false, "DENY_OUTSIDE_PIN_POLICY",
                        http_request_id(req));
        pin_problem(req, 403, "DENY_OUTSIDE_PIN_POLICY", "the PIN's policy does not allow it",
                    "qosReference");
        return;
    }
    if (expose_nb_audit_allow(p->nb, req, &af, "pin_qos_request", res, "ALLOW_PIN_GRANT") !=
        IOTSEC_OK) {
        json_decref(o);
        return;
    }
    char self[256];
    snprintf(self, sizeof(self), "/3gpp-pin/v1/%s/pins/%s/elements/%s/qos", af.af_id, n.pin_id,
             pe.pine_id);
    json_object_set_new(o, "self", json_string(self));
    http_respond_json(req, 201, o);
}

/* ServiceParameter (TS 29.522) carrying the PIN's routing policy: pinId must name this PIN,
 * dnn one of its DNNs. */
static void put_routing(struct http_request *req, void *user)
{
    struct pin *p = user;
    struct expose_af af;
    struct pin_net n;
    struct pin_policy pol;
    char res[96];
    if (!admit(p, req, PIN_AF_ROUTING, "pin_routing_set", &af, &n, res, sizeof(res)))
        return;
    json_t *o = body_object(req);
    if (o == NULL)
        return;
    const char *pin = json_string_value(json_object_get(o, "pinId"));
    const char *dnn = json_string_value(json_object_get(o, "dnn"));
    const json_t *sn = json_object_get(o, "snssai");
    const char *bad =
        pin == NULL                      ? "pinId"
        : dnn == NULL || !pin_id_ok(dnn) ? "dnn"
        : sn != NULL && (!json_is_object(sn) || !json_is_integer(json_object_get(sn, "sst")) ||
                         json_integer_value(json_object_get(sn, "sst")) < 0 ||
                         json_integer_value(json_object_get(sn, "sst")) > 255)
            ? "snssai"
            : NULL;
    if (bad) {
        json_decref(o);
        pin_problem(req, 400, "MALFORMED_BODY", "missing or invalid", bad);
        return;
    }
    if (strcmp(pin, n.pin_id) != 0 || policy_of(&n, &pol) == NULL ||
        !pin_policy_has_dnn(&pol, dnn)) {
        json_decref(o);
        expose_nb_audit(p->nb, &af, "pin_routing_set", res, false, "DENY_OUTSIDE_PIN_POLICY",
                        http_request_id(req));
        pin_problem(req, 403, "DENY_OUTSIDE_PIN_POLICY",
                    "pinId must be this PIN and dnn one of its DNNs", NULL);
        return;
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    struct pin_write w = {.kind = PIN_W_ROUTING, .now = pin_now()};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.af_id, sizeof(w.af_id), "%s", af.af_id);
    int rc = text && strlen(text) < sizeof(w.net.policy_json) ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK)
        snprintf(w.net.policy_json, sizeof(w.net.policy_json), "%s", text);
    free(text);
    struct pin_ctx x = {.p = p, .req = req};
    if (rc != IOTSEC_OK) {
        expose_nb_audit(p->nb, &af, "pin_routing_set", res, false, "DENY_MALFORMED_POLICY",
                        http_request_id(req));
        json_decref(o);
        pin_failed(req, rc);
        return;
    }
    if (expose_nb_audit_allow(p->nb, req, &af, "pin_routing_set", res, "ALLOW_PIN_GRANT") !=
        IOTSEC_OK) {
        json_decref(o);
        return;
    }
    pin_submit(&x, &w, 200, o);
}

int pin_nb_routes(struct pin *p)
{
    if (p->nb == NULL)
        return IOTSEC_OK;
    expose_nb_set_resources(p->nb, EXPOSE_SVC_PIN, "pin", token_pins, p);
    int rc =
        expose_nb_route(p->nb, "GET", "/3gpp-pin/v1/{afId}/pins/{pinId}/elements", get_elements, p);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(p->nb, "POST",
                             "/3gpp-pin/v1/{afId}/pins/{pinId}/elements/{pineId}/qos", post_qos, p);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(p->nb, "PUT", "/3gpp-pin/v1/{afId}/pins/{pinId}/routing", put_routing,
                             p);
    return rc;
}
