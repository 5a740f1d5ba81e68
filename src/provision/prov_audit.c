/* The credential audit (GET /admin/v1/audit/credentials, `iotsecctl audit`): credentials
 * expiring within 30 days, expired ones, revoked (or erased) ones still seen by the
 * authentication path, and ones seen from two serving networks at once (aka's last-seen
 * table). Read-only; each list is capped. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aka/aka.h"
#include "base/err.h"
#include "http/http.h"
#include "provision/prov_admin.h"
#include "subscriber/subscriber.h"

#define SOON_S   (30 * 24 * 3600)
#define LIST_CAP 1000
#define PAGE     1000

struct audit {
    struct provision *p;
    int64_t now;
    json_t *soon, *expired, *revoked_seen, *shared;
    bool truncated;
};

static void add(struct audit *a, json_t *list, json_t *item)
{
    if (json_array_size(list) < LIST_CAP)
        json_array_append_new(list, item);
    else {
        json_decref(item);
        a->truncated = true;
    }
}

static json_t *cred(const struct subscription *s)
{
    char supi[SUPI_STRING_MAX], t[32];
    supi_format(&s->supi, supi, sizeof(supi));
    sub_format_time(s->not_after, t, sizeof(t));
    return json_pack("{s:s, s:I, s:s, s:s}", "supi", supi, "credential_version",
                     (json_int_t)s->cred_version, "not_after", t, "state",
                     sub_state_name(s->state));
}

static void each_sub(const struct subscription *s, void *ctx)
{
    struct audit *a = ctx;
    if (s->state == SUB_EXPIRED || (s->not_after > 0 && s->not_after <= a->now &&
                                    s->state != SUB_REVOKED))
        add(a, a->expired, cred(s));
    else if (s->state != SUB_REVOKED && s->not_after > a->now &&
             s->not_after <= a->now + SOON_S)
        add(a, a->soon, cred(s));
}

static void each_seen(const struct aka_seen_info *i, void *ctx)
{
    struct audit *a = ctx;
    char t[32];
    sub_format_time(i->at, t, sizeof(t));
    if (i->other_network) {
        char t2[32];
        sub_format_time(i->shared_at, t2, sizeof(t2));
        add(a, a->shared,
            json_pack("{s:s, s:I, s:[s, s], s:s}", "supi", i->supi, "credential_version",
                      (json_int_t)i->cred_version, "serving_networks", i->other_network,
                      i->serving_network, "at", t2));
    }
    if (i->refused) {
        struct subscription s;
        int rc = subscriber_get(a->p->store, i->supi, &s);
        if (rc == IOTSEC_ERR_NOTFOUND || (rc == IOTSEC_OK && s.state == SUB_REVOKED))
            add(a, a->revoked_seen,
                json_pack("{s:s, s:s, s:s, s:s}", "supi", i->supi, "state",
                          rc == IOTSEC_OK ? "revoked" : "erased", "serving_network",
                          i->serving_network, "last_seen", t));
    }
}

static void h_audit(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    struct audit a = {p, (int64_t)time(NULL), json_array(), json_array(), json_array(),
                      json_array(), false};
    int64_t after = 0, last = 0;
    for (;;) {
        if (subscriber_list(p->store, -1, after, PAGE, each_sub, &a, &last) != IOTSEC_OK ||
            last == after)
            break;
        after = last;
    }
    aka_seen_list(p->aka, each_seen, &a);
    http_respond_json(req, 200,
                      json_pack("{s:o, s:o, s:o, s:o, s:b}", "expiring_soon", a.soon, "expired",
                                a.expired, "revoked_seen", a.revoked_seen, "shared", a.shared,
                                "truncated", a.truncated));
}

int prov_audit_routes(struct provision *p, struct http_server *adm)
{
    return http_server_route(adm, "GET", "/admin/v1/audit/credentials", h_audit, p);
}
