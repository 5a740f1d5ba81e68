/* Reading back what the provisioning admin API wrote (docs/admin-api.md's paging contract):
 *   GET /admin/v1/manufacturers[?name=&after=&limit=]     {"manufacturers": [...], "next"}
 *   GET /admin/v1/manufacturers/{id}
 *   GET /admin/v1/gateways[?enrollment=&after=&limit=]    {"items": [...], "next"}
 *   GET /admin/v1/gateways/{id}                           with the enrollments it relays for
 *   GET /admin/v1/owners[?after=&limit=]                  {"items": [...], "next"}
 *   GET /admin/v1/owners/{name}                           with its public key
 *   GET /admin/v1/activations[?account=&state=pending|applied&after=&limit=]
 *                                                         {"items": [...], "next"} by key
 *   GET /admin/v1/activations/{key}                       key: reg:<id> or serial:<hex>
 * Every query goes through http_query_parse: an unknown parameter or a bad value is a 400
 * naming it. Certificates' PEM and group keys are never listed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/log.h"
#include "http/http.h"
#include "http/query.h"
#include "provision/prov_admin.h"
#include "provision/prov_admin_store.h"
#include "subscriber/subscriber.h"

static json_t *time_json(int64_t t)
{
    char s[32];
    sub_format_time(t, s, sizeof(s));
    return json_string(s);
}

/* A positive integer path parameter {id}, or 0. */
static int64_t id_param(struct http_request *req)
{
    const char *s = http_request_param(req, "id");
    char *end;
    long long v = s && *s >= '1' && *s <= '9' ? strtoll(s, &end, 10) : 0;
    return v > 0 && *end == '\0' ? v : 0;
}

static void not_found(struct http_request *req, const char *what, const char *cause)
{
    char detail[64];
    snprintf(detail, sizeof(detail), "no such %s", what);
    http_respond_problem(req, 404, NULL, detail, cause, NULL, 0);
}

static void log_read_error(struct http_request *req, int rc, const char *what)
{
    if (rc != IOTSEC_ERR_BUSY && rc != IOTSEC_ERR_FULL && rc != IOTSEC_ERR_NOTFOUND)
        log_msg(LOG_ERROR, http_request_id(req), "reading %s: %s (%s)", what, iotsec_strerror(rc),
                store_errmsg());
}

/* The answer to a failed read: 404 for NOTFOUND, the shared mapping otherwise. */
static void read_failed(struct http_request *req, int rc, const char *what, const char *cause)
{
    if (rc == IOTSEC_ERR_NOTFOUND)
        not_found(req, what, cause);
    else {
        log_read_error(req, rc, what);
        http_respond_error(req, rc, what);
    }
}

struct page {
    json_t *items;
    json_t *last; /* the cursor of the last item */
};

static void page_done(struct http_request *req, int rc, struct page *pg, const char *key,
                      size_t limit, const char *what)
{
    if (rc != IOTSEC_OK) {
        json_decref(pg->items);
        json_decref(pg->last);
        log_read_error(req, rc, what);
        http_respond_error(req, rc, what);
        return;
    }
    http_respond_page(req, key, pg->items, limit, pg->last);
}

static void set_last(struct page *pg, json_t *cursor)
{
    json_decref(pg->last);
    pg->last = cursor;
}

/* ---- manufacturers ---- */

static json_t *mfr_json(const struct prov_manufacturer_row *m)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:o}", "id", (json_int_t)m->id, "name", m->name,
                     "ca_sha256", m->ca_sha256, "voucher_root", m->has_root, "created_at",
                     time_json(m->created_at));
}

static void mfr_item(const struct prov_manufacturer_row *m, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, mfr_json(m));
    set_last(pg, json_integer(m->id));
}

static bool name_ok(const char *s)
{
    return prov_id_valid(s, strlen(s));
}

static void h_mfr_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "name",
         .type = HTTP_Q_STR,
         .max = PROV_NAME_MAX,
         .valid = name_ok,
         .reason = "a manufacturer's name"},
    };
    struct http_qval q[3];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 3, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {json_array(), NULL};
    int rc = prov_manufacturers_list(p->store, q[2].s, q[0].i, (int64_t)limit, mfr_item, &pg);
    page_done(req, rc, &pg, "manufacturers", limit, "manufacturers");
}

static void mfr_one(const struct prov_manufacturer_row *m, void *ctx)
{
    *(json_t **)ctx = mfr_json(m);
}

static void h_mfr_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p) || !http_query_parse(req, NULL, 0, NULL))
        return;
    json_t *o = NULL;
    int64_t id = id_param(req);
    int rc = id ? prov_manufacturer_get(p->store, id, mfr_one, &o) : IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        read_failed(req, rc, "manufacturer", "MANUFACTURER_NOT_FOUND");
    else
        http_respond_json(req, 200, o);
}

/* ---- gateways ---- */

static json_t *gw_json(const struct prov_gateway_row *g)
{
    return json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)g->id, "name", g->name,
                     "cert_sha256", g->cert_sha256, "created_at", time_json(g->created_at));
}

static void gw_item(const struct prov_gateway_row *g, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, gw_json(g));
    set_last(pg, json_integer(g->id));
}

static void h_gw_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "enrollment",
         .type = HTTP_Q_INT,
         .min = 1,
         .max = INT64_MAX,
         .reason = "an enrollment id"},
    };
    struct http_qval q[3];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 3, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {json_array(), NULL};
    int rc = prov_gateways_list(p->store, q[2].i, q[0].i, (int64_t)limit, gw_item, &pg);
    page_done(req, rc, &pg, "items", limit, "gateways");
}

static void gw_one(const struct prov_gateway_row *g, void *ctx)
{
    *(json_t **)ctx = gw_json(g);
}

static void enr_id(int64_t id, void *ctx)
{
    json_array_append_new(ctx, json_integer(id));
}

static void h_gw_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p) || !http_query_parse(req, NULL, 0, NULL))
        return;
    json_t *o = NULL, *ids = json_array();
    int64_t id = id_param(req);
    int rc = id ? prov_gateway_get(p->store, id, gw_one, &o) : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK)
        rc = prov_gateway_enrollments(p->store, id, enr_id, ids);
    if (rc != IOTSEC_OK) {
        json_decref(o);
        json_decref(ids);
        read_failed(req, rc, "gateway", "GATEWAY_NOT_FOUND");
        return;
    }
    json_object_set_new(o, "enrollments", ids);
    http_respond_json(req, 200, o);
}

/* ---- owners ---- */

static json_t *owner_json(const struct prov_owner_row *o)
{
    json_t *j = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)o->id, "name", o->name, "created_at",
                          time_json(o->created_at));
    if (o->pub) {
        char b64[64];
        b64url_encode(o->pub, PROV_ED25519_PUB_LEN, b64);
        json_object_set_new(j, "public_key", json_string(b64));
    }
    return j;
}

static void owner_item(const struct prov_owner_row *o, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, owner_json(o));
    set_last(pg, json_integer(o->id));
}

static void h_owner_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const struct http_qspec spec[] = {HTTP_QSPEC_AFTER_ID, HTTP_QSPEC_LIMIT};
    struct http_qval q[2];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 2, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {json_array(), NULL};
    int rc = prov_owners_list(p->store, q[0].i, (int64_t)limit, owner_item, &pg);
    page_done(req, rc, &pg, "items", limit, "owners");
}

static void owner_one(const struct prov_owner_row *o, void *ctx)
{
    *(json_t **)ctx = owner_json(o);
}

static void h_owner_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p) || !http_query_parse(req, NULL, 0, NULL))
        return;
    const char *name = http_request_param(req, "name");
    json_t *o = NULL;
    int rc = name_ok(name) ? prov_owner_get(p->store, name, owner_one, &o) : IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        read_failed(req, rc, "owner", "OWNER_NOT_FOUND");
    else
        http_respond_json(req, 200, o);
}

/* ---- activations ---- */

static json_t *activation_json(const struct prov_activation_row *r)
{
    json_t *svc = json_loads(r->service, 0, NULL);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:o}", "key", r->key, "account", r->account, "state",
                  r->device ? "applied" : "pending", "created_at", time_json(r->created_at));
    if (strncmp(r->key, "reg:", 4) == 0)
        json_object_set_new(o, "registration_id", json_string(r->key + 4));
    else if (strncmp(r->key, "serial:", 7) == 0)
        json_object_set_new(o, "serial", json_string(r->key + 7));
    if (svc)
        json_object_set_new(o, "service", svc);
    if (r->supi)
        json_object_set_new(o, "supi", json_string(r->supi));
    if (r->device)
        json_object_set_new(o, "device", json_string(r->device));
    return o;
}

static void activation_item(const struct prov_activation_row *r, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, activation_json(r));
    set_last(pg, json_string(r->key));
}

static void h_act_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const char *const states[] = {"applied", "pending", NULL};
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_KEY,
        HTTP_QSPEC_LIMIT,
        {.name = "account", .type = HTTP_Q_STR, .max = PROV_OWNER_MAX, .reason = "an account name"},
        {.name = "state", .type = HTTP_Q_ENUM, .values = states, .reason = "pending or applied"},
    };
    struct http_qval q[4];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 4, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {json_array(), NULL};
    int rc = prov_activations_list(p->store, q[2].s, q[3].set ? (int)q[3].i : -1, q[0].s,
                                   (int64_t)limit, activation_item, &pg);
    page_done(req, rc, &pg, "items", limit, "activations");
}

static void activation_one(const struct prov_activation_row *r, void *ctx)
{
    *(json_t **)ctx = activation_json(r);
}

static void h_act_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p) || !http_query_parse(req, NULL, 0, NULL))
        return;
    const char *key = http_request_param(req, "key");
    json_t *o = NULL;
    int rc = strlen(key) <= PROV_REG_ID_MAX + 8
                 ? prov_activation_get(p->store, key, activation_one, &o)
                 : IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        read_failed(req, rc, "activation", "ACTIVATION_NOT_FOUND");
    else
        http_respond_json(req, 200, o);
}

int prov_list_routes(struct provision *p, struct http_server *adm)
{
    static const struct {
        const char *path;
        http_handler_fn fn;
    } routes[] = {
        {"/admin/v1/manufacturers", h_mfr_list}, {"/admin/v1/manufacturers/{id}", h_mfr_show},
        {"/admin/v1/gateways", h_gw_list},       {"/admin/v1/gateways/{id}", h_gw_show},
        {"/admin/v1/owners", h_owner_list},      {"/admin/v1/owners/{name}", h_owner_show},
        {"/admin/v1/activations", h_act_list},   {"/admin/v1/activations/{key}", h_act_show},
    };
    int rc = IOTSEC_OK;
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(routes) / sizeof(routes[0]); i++)
        rc = http_server_route(adm, "GET", routes[i].path, routes[i].fn, p);
    return rc;
}
