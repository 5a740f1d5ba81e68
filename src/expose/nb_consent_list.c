/* Consents and groups read back on the admin face (the admin face may name SUPIs; the
 * northbound face never does):
 *   GET /admin/v1/consents[?af=&owner=&supi=&group=&state=active|revoked|expired&after=&limit=]
 *                                          {"items": [...], "next"} by consent id
 *   GET /admin/v1/consents/{consentId}     with "external_ids": {SUPI: the AF's external ID}
 *                                          for the consent's devices (a group's members now)
 *   GET /admin/v1/groups[?after=&limit=]   {"items": [{group_id, members}], "next"}
 *   GET /admin/v1/groups/{groupId}[?after=&limit=]
 *                                          {group_id, "items": [SUPI...], "next"} its members
 * External IDs are pseudonyms, not secrets: granting prints them once, and these read them
 * back. Queries go through http_query_parse (unknown parameters and bad values: 400). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "expose/nb_admin.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

#define EXTIDS_MAX 10000 /* a group's members: GROUP_MEMBERS_MAX */

static json_t *time_json(int64_t t)
{
    char s[32];
    sub_format_time(t, s, sizeof(s));
    return json_string(s);
}

static json_t *consent_json(const struct nb_consent_info *c, int64_t now)
{
    const struct nb_consent_row *r = &c->row;
    char scope[128];
    nb_services_scope(r->services, scope, sizeof(scope));
    const char *state = c->revoked_at                     ? "revoked"
                        : r->expires && r->expires <= now ? "expired"
                                                          : "active";
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "consent_id", r->consent_id,
                          "af_id", r->af_id, "owner", r->owner, "scope", scope, "state", state,
                          strcmp(r->kind, "device") == 0 ? "supi" : "group", r->target,
                          "created_at", time_json(c->created_at));
    if (r->purpose[0])
        json_object_set_new(o, "purpose", json_string(r->purpose));
    if (r->expires)
        json_object_set_new(o, "expires", time_json(r->expires));
    if (c->revoked_at)
        json_object_set_new(o, "revoked_at", time_json(c->revoked_at));
    return o;
}

struct page {
    json_t *items;
    char last[EXPOSE_ID_MAX + SUPI_STRING_MAX];
    int64_t now;
};

static void consent_item(const struct nb_consent_info *c, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, consent_json(c, pg->now));
    snprintf(pg->last, sizeof(pg->last), "%s", c->row.consent_id);
}

static bool id_ok(const char *s)
{
    return nb_id_valid(s);
}

static bool supi_ok(const char *s)
{
    struct supi parsed;
    return supi_parse(s, &parsed) == IOTSEC_OK;
}

static void respond_page(struct http_request *req, int rc, struct page *pg, size_t limit)
{
    if (rc != IOTSEC_OK) {
        json_decref(pg->items);
        nb_store_failed(req, rc);
        return;
    }
    http_respond_page(req, "items", pg->items, limit, json_string(pg->last));
}

static void handle_list(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    static const char *const states[] = {"any", "active", "revoked", "expired", NULL};
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_KEY,
        HTTP_QSPEC_LIMIT,
        {.name = "af", .type = HTTP_Q_STR, .valid = id_ok, .reason = "an AF id"},
        {.name = "owner", .type = HTTP_Q_STR, .reason = "an owner (1..256 characters)"},
        {.name = "supi", .type = HTTP_Q_STR, .valid = supi_ok, .reason = "a SUPI"},
        {.name = "group", .type = HTTP_Q_STR, .valid = id_ok, .reason = "a group id"},
        {.name = "state",
         .type = HTTP_Q_ENUM,
         .values = states,
         .reason = "active, revoked or expired"},
    };
    struct http_qval q[7];
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, spec, 7, q))
        return;
    struct nb_consent_filter f = {q[2].s, q[3].s, q[4].s, q[5].s,
                                  q[6].set ? (enum nb_consent_state)q[6].i : NB_CONSENT_ANY};
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {.items = json_array(), .now = nb_now()};
    int rc = nb_consents_list(nb->store, &f, pg.now, q[0].s, (int64_t)limit, consent_item, &pg);
    respond_page(req, rc, &pg, limit);
}

struct shown {
    json_t *o;
    struct expose_nb *nb;
    int rc;
};

static void extid_one(const char *supi, const char *extid, void *ctx)
{
    json_object_set_new(ctx, supi, json_string(extid));
}

static void consent_one(const struct nb_consent_info *c, void *ctx)
{
    struct shown *s = ctx;
    s->o = consent_json(c, nb_now());
    json_t *ids = json_object();
    s->rc = nb_consent_external_ids(s->nb->store, &c->row, EXTIDS_MAX, extid_one, ids);
    json_object_set_new(s->o, "external_ids", ids);
}

static void handle_show(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, NULL, 0, NULL))
        return;
    const char *id = http_request_param(req, "consentId");
    struct shown s = {NULL, nb, IOTSEC_OK};
    int rc = nb_id_valid(id) ? nb_consent_get(nb->store, id, consent_one, &s) : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK)
        rc = s.rc;
    if (rc == IOTSEC_ERR_NOTFOUND) {
        json_decref(s.o);
        http_respond_problem(req, 404, NULL, "no such consent", "CONSENT_NOT_FOUND", NULL, 0);
    } else if (rc != IOTSEC_OK) {
        json_decref(s.o);
        nb_store_failed(req, rc);
    } else {
        http_respond_json(req, 200, s.o);
    }
}

/* ---- groups ---- */

static void group_item(const char *group_id, int64_t members, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(
        pg->items, json_pack("{s:s, s:I}", "group_id", group_id, "members", (json_int_t)members));
    snprintf(pg->last, sizeof(pg->last), "%s", group_id);
}

static void handle_groups(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    static const struct http_qspec spec[] = {HTTP_QSPEC_AFTER_KEY, HTTP_QSPEC_LIMIT};
    struct http_qval q[2];
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, spec, 2, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {.items = json_array()};
    int rc = nb_groups_list(nb->store, q[0].s, (int64_t)limit, group_item, &pg);
    respond_page(req, rc, &pg, limit);
}

static bool member_item(const char *supi, void *ctx)
{
    struct page *pg = ctx;
    json_array_append_new(pg->items, json_string(supi));
    snprintf(pg->last, sizeof(pg->last), "%s", supi);
    return true;
}

static void handle_group(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    static const struct http_qspec spec[] = {
        {.name = "after",
         .type = HTTP_Q_STR,
         .valid = supi_ok,
         .reason = "a cursor: the \"next\" of the page before (a SUPI)"},
        HTTP_QSPEC_LIMIT,
    };
    struct http_qval q[2];
    if (!nb_admin_ok(req, nb) || !http_query_parse(req, spec, 2, q))
        return;
    const char *group = http_request_param(req, "groupId");
    size_t limit = http_query_limit(&q[1]);
    struct page pg = {.items = json_array()};
    int rc = nb_id_valid(group)
                 ? nb_group_members_page(nb->store, group, q[0].s, (int64_t)limit, member_item, &pg)
                 : IOTSEC_OK;
    if (rc == IOTSEC_OK && json_array_size(pg.items) == 0 && !q[0].set) {
        json_decref(pg.items); /* a group is its members: none, no group */
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        return;
    }
    if (rc != IOTSEC_OK) {
        json_decref(pg.items);
        nb_store_failed(req, rc);
        return;
    }
    json_t *o = json_pack("{s:s, s:o}", "group_id", group, "items", pg.items);
    if (json_array_size(pg.items) == limit)
        json_object_set_new(o, "next", json_string(pg.last));
    http_respond_json(req, 200, o);
}

int nb_consent_list_routes(struct expose_nb *nb, struct http_server *adm)
{
    int rc = http_server_route(adm, "GET", "/admin/v1/consents", handle_list, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/consents/{consentId}", handle_show, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/groups", handle_groups, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/groups/{groupId}", handle_group, nb);
    return rc;
}
