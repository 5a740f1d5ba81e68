/* MUD files on the admin face: PUT /admin/v1/analytics/mud/{group} (validated: a bad file is
 * 400 with the JSON path of what is wrong), GET one or all, DELETE. A change bumps the
 * AN_MUD_TOPIC store topic in its own transaction, and every instance (this one included)
 * brings its engine in line at its next tick (analytics_mud_sync), as at start. A group is the name
 * given with a UE address mapping (the enrollment, the device type): every device mapped into it is
 * checked against its MUD. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "analytics/mud.h"
#include "base/err.h"
#include "base/log.h"
#include "http/http.h"
#include "http/query.h"

static bool group_ok(const char *g)
{
    size_t n = g ? strlen(g) : 0;
    if (n == 0 || n > 64)
        return false;
    for (; *g; g++)
        if (!((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z') || (*g >= '0' && *g <= '9') ||
              *g == '-' || *g == '_' || *g == '.'))
            return false;
    return true;
}

struct sync_ctx {
    struct analytics *a;
    unsigned bad;
    char **groups; /* the groups the store has a MUD for */
    size_t n, cap;
    bool nomem;
};

static void sync_row(void *ctx, const char *group, const char *url, const char *doc, int64_t at)
{
    struct sync_ctx *r = ctx;
    (void)url, (void)at;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        char **g = realloc(r->groups, cap * sizeof(*g));
        if (g == NULL) {
            r->nomem = true;
            return;
        }
        r->groups = g;
        r->cap = cap;
    }
    if ((r->groups[r->n] = strdup(group)) == NULL) {
        r->nomem = true;
        return;
    }
    r->n++;
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    if (m == NULL || an_mud_parse(doc, strlen(doc), m, err, sizeof(err)) != IOTSEC_OK ||
        analytics_group_mud(r->a, group, m) != IOTSEC_OK)
        r->bad++;
    free(m);
}

int analytics_mud_sync(struct analytics *a, struct store *s, int64_t *seq)
{
    int64_t now;
    /* the sequence before the rows: a change committed meanwhile moves it again */
    int rc = store_topic_seq(s, AN_MUD_TOPIC, &now);
    if (rc != IOTSEC_OK || now == *seq)
        return rc;
    struct sync_ctx r = {.a = a};
    rc = an_store_mud_load(s, NULL, sync_row, &r);
    if (rc == IOTSEC_OK && r.nomem)
        rc = IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK) /* the groups whose row is gone: deleted (here or elsewhere) */
        rc = analytics_groups_mud_retain(a, (const char *const *)r.groups, r.n);
    if (rc == IOTSEC_OK) {
        *seq = now; /* else: again at the next tick */
        if (r.bad)
            log_msg(LOG_WARN, NULL, "analytics: %u persisted MUD files not applied", r.bad);
    }
    for (size_t i = 0; i < r.n; i++)
        free(r.groups[i]);
    free(r.groups);
    return rc;
}

static bool admin_ok(struct http_request *req, struct analytics *a)
{
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert &&
        strcmp(peer->cert_sha256_hex, analytics_options_get(a)->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static const char *group_param(struct http_request *req)
{
    const char *g = http_request_param(req, "group");
    if (!group_ok(g)) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "group",
                             "1 to 64 of A-Z a-z 0-9 - _ .");
        return NULL;
    }
    return g;
}

struct put_job {
    const char *group, *url, *doc;
    int64_t at;
};

static int put_run(struct store_conn *conn, void *arg)
{
    struct put_job *j = arg;
    return an_store_mud_put(conn, j->group, j->url, j->doc, j->at);
}

/* "path: why" -> the path and the reason (a path never holds ": "). */
static void respond_bad_mud(struct http_request *req, char *err)
{
    char *sep = strstr(err, ": ");
    const char *reason = "invalid";
    if (sep) {
        *sep = '\0';
        reason = sep + 2;
    }
    struct http_invalid_param p = {err, reason};
    http_respond_problem(req, 400, NULL, "invalid MUD file", "MANDATORY_IE_INCORRECT", &p, 1);
}

static void handle_put(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!admin_ok(req, a))
        return;
    const char *group = group_param(req);
    if (group == NULL)
        return;
    if (!http_request_media_type_is(req, "application/json") &&
        !http_request_media_type_is(req, "application/mud+json")) {
        http_respond_unsupported_media(req, "application/mud+json, application/json");
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    if (m == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "MUD");
        return;
    }
    if (an_mud_parse(body, len, m, err, sizeof(err)) != IOTSEC_OK) {
        free(m);
        respond_bad_mud(req, err);
        return;
    }
    char *doc = strndup(body, len);
    struct put_job j = {group, m->url, doc, (int64_t)time(NULL)};
    int rc =
        doc ? store_write_sync(analytics_options_get(a)->store, put_run, &j) : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = analytics_group_mud(a, group, m);
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200,
                          json_pack("{s:s,s:s,s:s,s:i}", "group", group, "mud_url", m->url,
                                    "systeminfo", m->systeminfo, "rules", (int)m->n));
    else
        http_respond_error(req, rc, "saving the MUD file");
    free(doc);
    free(m);
}

static void row_json(void *ctx, const char *group, const char *url, const char *doc, int64_t at)
{
    json_t *out = ctx;
    json_t *o =
        json_pack("{s:s,s:s,s:I}", "group", group, "mud_url", url, "updated_at", (json_int_t)at);
    if (json_is_object(out)) { /* one group: with its document and what it permits */
        struct an_mud *m = malloc(sizeof(*m));
        char err[256];
        if (m && an_mud_parse(doc, strlen(doc), m, err, sizeof(err)) == IOTSEC_OK) {
            json_object_set_new(o, "systeminfo", json_string(m->systeminfo));
            json_object_set_new(o, "rules", json_integer(m->n));
        }
        free(m);
        json_object_set_new(o, "mud", json_loads(doc, 0, NULL));
        json_object_update(out, o);
        json_decref(o);
    } else {
        json_array_append_new(out, o);
    }
}

static void handle_get(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!admin_ok(req, a))
        return;
    const char *group = group_param(req);
    if (group == NULL)
        return;
    json_t *o = json_object();
    int rc = an_store_mud_load(analytics_options_get(a)->store, group, row_json, o);
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200, o);
    else {
        json_decref(o);
        if (rc == IOTSEC_ERR_NOTFOUND)
            http_respond_problem(req, 404, NULL, "no MUD file for this group", "DATA_NOT_FOUND",
                                 NULL, 0);
        else
            http_respond_error(req, rc, "reading the MUD file");
    }
}

static void handle_list(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!admin_ok(req, a))
        return;
    json_t *arr = json_array();
    int rc = an_store_mud_load(analytics_options_get(a)->store, NULL, row_json, arr);
    if (rc != IOTSEC_OK) {
        json_decref(arr);
        http_respond_error(req, rc, "listing the MUD files");
        return;
    }
    http_respond_json(req, 200, http_list_json("muds", arr));
}

struct del_job {
    const char *group;
    bool found;
};

static int del_run(struct store_conn *conn, void *arg)
{
    struct del_job *j = arg;
    return an_store_mud_del(conn, j->group, &j->found);
}

static void handle_delete(struct http_request *req, void *user)
{
    struct analytics *a = user;
    if (!admin_ok(req, a))
        return;
    const char *group = group_param(req);
    if (group == NULL)
        return;
    struct del_job j = {group, false};
    int rc = store_write_sync(analytics_options_get(a)->store, del_run, &j);
    if (rc == IOTSEC_OK && !j.found) {
        http_respond_problem(req, 404, NULL, "no MUD file for this group", "DATA_NOT_FOUND", NULL,
                             0);
        return;
    }
    if (rc == IOTSEC_OK)
        rc = analytics_group_mud(a, group, NULL);
    if (rc == IOTSEC_OK)
        http_respond(req, 204, NULL, NULL, 0);
    else
        http_respond_error(req, rc, "deleting the MUD file");
}

int analytics_mud_routes(struct http_server *srv, struct analytics *a)
{
    int rc = http_server_route(srv, "GET", "/admin/v1/analytics/mud", handle_list, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "PUT", "/admin/v1/analytics/mud/{group}", handle_put, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "GET", "/admin/v1/analytics/mud/{group}", handle_get, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "DELETE", "/admin/v1/analytics/mud/{group}", handle_delete, a);
    return rc;
}
