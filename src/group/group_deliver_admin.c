/* The operator's side of group delivery, on the admin face (pinned admin certificate):
 *   PUT /admin/v1/group-endpoints/{supi}            {"url"}: the member's unicast endpoint,
 *                                                   checked by the outbound policy (SSRF)
 *   PUT /admin/v1/message-groups/{ext}/multicast    {"dest": "a.b.c.d:port", "iface"?}: the
 *                                                   group's multicast address (224/4) and the
 *                                                   local address of the interface to use
 *   GET /admin/v1/group-endpoints[?after&limit], GET /admin/v1/group-endpoints/{supi},
 *   GET /admin/v1/message-groups/{ext}/multicast: what was set (read back) */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/supi.h"
#include "group/group_deliver_int.h"
#include "http/query.h"
#include "subscriber/subscriber.h"

static bool admin_ok(struct http_request *req, struct group_delivery *d)
{
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert &&
        strcmp(peer->cert_sha256_hex, group_service_options(d->gs)->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

struct endpoint_job {
    const char *supi, *url;
};

static int endpoint_run(struct store_conn *c, void *arg)
{
    struct endpoint_job *j = arg;
    return group_store_endpoint_set(c, j->supi, j->url);
}

static void put_endpoint(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    if (!admin_ok(req, d))
        return;
    const char *supi = http_request_param(req, "supi");
    struct supi s;
    struct subscription sub;
    if (strlen(supi) >= 64 || supi_parse(supi, &s) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "supi", "a SUPI");
        return;
    }
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    const char *url = json_string_value(json_object_get(o, "url")), *why = "an https URL";
    if (url == NULL || strlen(url) >= OUTBOUND_URL_MAX ||
        outbound_url_check(url, &d->cfg.rules, &why) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/url", why);
        json_decref(o);
        return;
    }
    int rc = subscriber_get(d->store, supi, &sub);
    struct endpoint_job j = {supi, url};
    if (rc == IOTSEC_OK)
        rc = store_write_sync(d->store, endpoint_run, &j);
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200, json_pack("{s:s, s:s}", "supi", supi, "url", url));
    else if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "no such subscription", "SUBSCRIPTION_NOT_FOUND", NULL,
                             0);
    else
        http_respond_error(req, rc, "the endpoint could not be saved");
    json_decref(o);
}

struct mc_job {
    const char *ext, *dest, *iface;
};

static int mc_run(struct store_conn *c, void *arg)
{
    struct mc_job *j = arg;
    struct group_row g;
    int rc = group_store_find(c, j->ext, &g);
    return rc == IOTSEC_OK ? group_store_multicast_set(c, g.ref, j->dest, j->iface) : rc;
}

static void put_multicast(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    if (!admin_ok(req, d))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    struct mc_job j = {http_request_param(req, "ext"),
                       json_string_value(json_object_get(o, "dest")),
                       json_string_value(json_object_get(o, "iface"))};
    struct in_addr ifa;
    if (j.iface == NULL)
        j.iface = "";
    if (j.dest == NULL || !group_multicast_dest_valid(j.dest)) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/dest",
                             "a multicast address and port: 239.1.2.3:5000");
    } else if (j.iface[0] && inet_pton(AF_INET, j.iface, &ifa) != 1) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "/iface",
                             "the IPv4 address of the interface to send by");
    } else {
        int rc = store_write_sync(d->store, mc_run, &j);
        if (rc == IOTSEC_OK)
            http_respond_json(req, 200,
                              json_pack("{s:s, s:s, s:s}", "externalGroupId", j.ext, "dest", j.dest,
                                        "iface", j.iface));
        else if (rc == IOTSEC_ERR_NOTFOUND)
            http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        else
            http_respond_error(req, rc, "the multicast address could not be saved");
    }
    json_decref(o);
}

/* ---- read back ---------------------------------------------------------------------------- */

static void get_endpoint(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    if (!admin_ok(req, d))
        return;
    const char *supi = http_request_param(req, "supi");
    struct supi s;
    if (strlen(supi) >= 64 || supi_parse(supi, &s) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "INVALID_MSG_FORMAT", "supi", "a SUPI");
        return;
    }
    struct store_conn *c;
    char url[OUTBOUND_URL_MAX + 1];
    int rc = store_reader_get(d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_endpoint_get(c, supi, url, sizeof(url));
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200, json_pack("{s:s, s:s}", "supi", supi, "url", url));
    else if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "no endpoint for this subscription",
                             "ENDPOINT_NOT_FOUND", NULL, 0);
    else
        http_respond_error(req, rc, "the endpoint could not be read");
}

struct page {
    json_t *items;
    const char *last;
    char last_buf[64];
};

static void endpoint_one(const char *supi, const char *url, void *ctx)
{
    struct page *p = ctx;
    json_array_append_new(p->items, json_pack("{s:s, s:s}", "supi", supi, "url", url));
    snprintf(p->last_buf, sizeof(p->last_buf), "%s", supi);
    p->last = p->last_buf;
}

static void list_endpoints(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    if (!admin_ok(req, d))
        return;
    const struct http_qspec spec[] = {HTTP_QSPEC_AFTER_KEY, HTTP_QSPEC_LIMIT};
    struct http_qval q[2];
    if (!http_query_parse(req, spec, 2, q))
        return;
    size_t limit = http_query_limit(&q[1]);
    struct page p = {.items = json_array()};
    struct store_conn *c;
    int rc = store_reader_get(d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_endpoints(c, q[0].set ? q[0].s : "", limit, endpoint_one, &p);
    if (rc != IOTSEC_OK) {
        json_decref(p.items);
        http_respond_error(req, rc, "the endpoints could not be read");
        return;
    }
    http_respond_page(req, "endpoints", p.items, limit, p.last ? json_string(p.last) : NULL);
}

struct mc_read {
    const char *ext;
    char dest[64], iface[64];
};

static void get_multicast(struct http_request *req, void *user)
{
    struct group_delivery *d = user;
    if (!admin_ok(req, d))
        return;
    struct mc_read j = {.ext = http_request_param(req, "ext")};
    struct group_row g;
    struct store_conn *c;
    int rc = store_reader_get(d->store, &c);
    if (rc == IOTSEC_OK)
        rc = group_store_find(c, j.ext, &g);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        http_respond_problem(req, 404, NULL, "no such group", "GROUP_NOT_FOUND", NULL, 0);
        return;
    }
    if (rc == IOTSEC_OK)
        rc = group_store_multicast_get(c, g.ref, j.dest, sizeof(j.dest), j.iface, sizeof(j.iface));
    if (rc == IOTSEC_OK)
        http_respond_json(req, 200,
                          json_pack("{s:s, s:s, s:s}", "externalGroupId", j.ext, "dest", j.dest,
                                    "iface", j.iface));
    else if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "the group has no multicast address",
                             "MULTICAST_NOT_SET", NULL, 0);
    else
        http_respond_error(req, rc, "the multicast address could not be read");
}

int group_delivery_admin_routes(struct group_delivery *d, struct http_server *adm)
{
    int rc = http_server_route(adm, "PUT", "/admin/v1/group-endpoints/{supi}", put_endpoint, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/group-endpoints/{supi}", get_endpoint, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/group-endpoints", list_endpoints, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "PUT", "/admin/v1/message-groups/{ext}/multicast",
                               put_multicast, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/message-groups/{ext}/multicast",
                               get_multicast, d);
    return rc;
}
