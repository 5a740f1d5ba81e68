/* Consents and groups on the admin face:
 *   POST /admin/v1/groups/{groupId}/members     {supis: [...]}: adds devices to a group (the
 *                                               minimal group model: a named set of SUPIs)
 *   POST /admin/v1/consents                     grant {af_id, scope, supi | group, expires?,
 *                                               owner?, purpose?} -> {consent_id, external_ids}
 *   POST /admin/v1/consents/{consentId}/revoke  effective for the very next decision: the
 *                                               consent cache of decisions (nb_dcache.c) is
 *                                               invalidated after every commit here, before
 *                                               the answer
 *   POST /admin/v1/monitoring-opt-out           {supi, opt_out: true|false}: the owner's opt-out
 *                                               of monitoring, which beats any consent
 * Read back (GET consents, groups): nb_consent_list.c.
 * Granting creates the AF's external IDs of the devices concerned (a group's members now, and
 * members added later to a group with live consents). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "expose/nb_admin.h"
#include "subscriber/subscriber.h"

#define GROUP_MEMBERS_MAX 10000

struct extid_row {
    char supi[SUPI_STRING_MAX];
    char extid[EXTID_MAX];
};

static int extid_insert(struct store_conn *c, const char *af_id, const struct extid_row *r)
{
    return nb_extid_insert(c, af_id, r->extid, r->supi, nb_now());
}

/* ---- groups ---- */

struct group_job {
    struct expose_nb *nb;
    const char *group_id;
    struct extid_row *rows;
    size_t n;
};

static int group_add_run(struct store_conn *c, void *arg)
{
    struct group_job *j = arg;
    for (size_t i = 0; i < j->n; i++) {
        int rc = nb_group_member_add(c, j->group_id, j->rows[i].supi);
        if (rc != IOTSEC_OK)
            return rc;
    }
    /* every AF with a live consent on the group gets the new members' external IDs */
    char afs[64][EXPOSE_ID_MAX + 1];
    size_t n_afs = 0;
    int rc = nb_group_consent_afs(c, j->group_id, afs, 64, &n_afs);
    if (rc != IOTSEC_OK)
        return rc;
    for (size_t a = 0; a < n_afs; a++) {
        for (size_t i = 0; i < j->n; i++) {
            struct extid_row r = j->rows[i];
            if ((rc = expose_nb_external_id(j->nb, afs[a], r.supi, r.extid)) != IOTSEC_OK ||
                (rc = extid_insert(c, afs[a], &r)) != IOTSEC_OK)
                return rc;
        }
    }
    return IOTSEC_OK;
}

static void handle_group_add(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    const char *group = http_request_param(req, "groupId");
    if (!nb_id_valid(group)) {
        struct http_invalid_param ip = {"groupId", "1..64 characters of [A-Za-z0-9._-]"};
        http_respond_problem(req, 400, NULL, "invalid group id", NULL, &ip, 1);
        return;
    }
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    json_t *supis = json_object_get(o, "supis");
    size_t n = json_array_size(supis);
    if (!json_is_array(supis) || n == 0 || n > GROUP_MEMBERS_MAX) {
        struct http_invalid_param ip = {"supis", "an array of 1..10000 SUPIs"};
        http_respond_problem(req, 400, NULL, "invalid members", NULL, &ip, 1);
        json_decref(o);
        return;
    }
    struct group_job j = {.nb = nb, .group_id = group, .rows = calloc(n, sizeof(*j.rows)), .n = n};
    int rc = j.rows ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    for (size_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        const char *s = json_string_value(json_array_get(supis, i));
        struct subscription sub;
        if (s == NULL || strlen(s) >= SUPI_STRING_MAX ||
            subscriber_get(nb->store, s, &sub) != IOTSEC_OK) {
            struct http_invalid_param ip = {"supis", "every SUPI must be a subscription"};
            http_respond_problem(req, 400, NULL, "unknown subscription", NULL, &ip, 1);
            free(j.rows);
            json_decref(o);
            return;
        }
        snprintf(j.rows[i].supi, sizeof(j.rows[i].supi), "%s", s);
    }
    if (rc == IOTSEC_OK)
        rc = nb_write_sync(nb, group_add_run, &j);
    nb_dcache_invalidate(nb->dcache); /* committed (or not): decisions read the store again */
    free(j.rows);
    json_decref(o);
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc);
        return;
    }
    char res[128];
    snprintf(res, sizeof(res), "group:%s members:%zu", group, n);
    nb_admin_audit(nb, req, "group.add", res);
    http_respond_json(req, 200, json_pack("{s:s, s:I}", "group_id", group, "added", (json_int_t)n));
}

/* ---- consents ---- */

/* A message group (src/group, docs/group.md) is named by its External Group ID, <id>@<domain>,
 * which is what its consents name too; a consent group's id never has an '@'. */
static bool message_group_id(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') || strlen(s) > 128)
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

struct consent_job {
    struct expose_nb *nb;
    char consent_id[EXPOSE_ID_MAX + 1];
    const char *af_id, *owner, *purpose, *kind, *target;
    uint32_t services;
    int64_t expires;
    struct extid_row *rows; /* filled by the job: the devices concerned */
    size_t n, cap;
};

static bool member_one(const char *supi, void *ctx)
{
    struct consent_job *j = ctx;
    if (j->n >= j->cap)
        return false;
    snprintf(j->rows[j->n++].supi, sizeof(j->rows[0].supi), "%s", supi);
    return true;
}

static int consent_grant_run(struct store_conn *c, void *arg)
{
    struct consent_job *j = arg;
    struct nb_consent_row row = {j->consent_id, j->owner,  j->af_id,    j->purpose,
                                 j->kind,       j->target, j->services, j->expires};
    int rc = nb_consent_insert(c, &row, nb_now());
    if (rc != IOTSEC_OK)
        return rc;
    j->n = 0;
    if (strcmp(j->kind, "device") == 0) {
        snprintf(j->rows[0].supi, sizeof(j->rows[0].supi), "%s", j->target);
        j->n = 1;
    } else {
        if ((rc = nb_group_members_each(c, j->target, member_one, j)) != IOTSEC_OK)
            return rc;
    }
    for (size_t i = 0; i < j->n; i++) {
        if ((rc = expose_nb_external_id(j->nb, j->af_id, j->rows[i].supi, j->rows[i].extid)) !=
                IOTSEC_OK ||
            (rc = extid_insert(c, j->af_id, &j->rows[i])) != IOTSEC_OK)
            return rc;
    }
    return IOTSEC_OK;
}

static void handle_consent_grant(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    struct consent_job j = {.nb = nb};
    j.af_id = json_string_value(json_object_get(o, "af_id"));
    const char *scope = json_string_value(json_object_get(o, "scope"));
    const char *supi = json_string_value(json_object_get(o, "supi"));
    const char *group = json_string_value(json_object_get(o, "group"));
    const char *expires = json_string_value(json_object_get(o, "expires"));
    j.owner = json_string_value(json_object_get(o, "owner"));
    j.purpose = json_string_value(json_object_get(o, "purpose"));
    j.services = expose_services_from_scope(scope);
    struct nb_af af;
    struct subscription sub;
    struct http_invalid_param ip = {NULL, NULL};
    int64_t now = nb_now();
    if (!nb_id_valid(j.af_id) || !nb_af_find(nb, j.af_id, NULL, &af))
        ip = (struct http_invalid_param){"af_id", "not a registered AF"};
    else if (j.services == 0 || (j.services & ~af.services))
        ip = (struct http_invalid_param){"scope", "services the AF is registered for"};
    else if ((supi == NULL) == (group == NULL))
        ip = (struct http_invalid_param){"supi", "give exactly one of supi and group"};
    else if (supi && (strlen(supi) >= SUPI_STRING_MAX ||
                      subscriber_get(nb->store, supi, &sub) != IOTSEC_OK))
        ip = (struct http_invalid_param){"supi", "not a subscription"};
    else if (group && !nb_id_valid(group) && !message_group_id(group))
        ip = (struct http_invalid_param){
            "group", "1..64 characters of [A-Za-z0-9._-], or a message group's <id>@<domain>"};
    else if (expires && (sub_parse_time(expires, &j.expires) != IOTSEC_OK || j.expires <= now))
        ip = (struct http_invalid_param){"expires", "an RFC 3339 time in the future"};
    else if (j.purpose && strlen(j.purpose) > 256)
        ip = (struct http_invalid_param){"purpose", "at most 256 characters"};
    else if (j.owner && strlen(j.owner) > 256)
        ip = (struct http_invalid_param){"owner", "at most 256 characters"};
    if (ip.param) {
        http_respond_problem(req, 400, NULL, "invalid consent", NULL, &ip, 1);
        json_decref(o);
        return;
    }
    if (j.owner == NULL)
        j.owner = supi && sub.owner[0] ? sub.owner : "operator";
    if (j.purpose == NULL)
        j.purpose = "";
    j.kind = supi ? "device" : "group";
    j.target = supi ? supi : group;
    j.cap = supi ? 1 : GROUP_MEMBERS_MAX;
    j.rows = calloc(j.cap, sizeof(*j.rows));
    nb_random_id("consent-", j.consent_id, sizeof(j.consent_id));
    int rc = j.rows ? nb_write_sync(nb, consent_grant_run, &j) : IOTSEC_ERR_NOMEM;
    nb_dcache_invalidate(nb->dcache); /* committed (or not): decisions read the store again */
    if (rc != IOTSEC_OK) {
        free(j.rows);
        json_decref(o);
        nb_store_failed(req, rc);
        return;
    }
    char res[NB_AUDIT_TEXT];
    /* a device consent names no SUPI here */
    snprintf(res, sizeof(res), "consent:%s af:%s %s%s%s", j.consent_id, j.af_id, j.kind,
             supi ? "" : ":", supi ? "" : group);
    nb_admin_audit(nb, req, authz_action_str(ACTION_CONSENT_GRANT), res);
    json_t *ids = json_object();
    for (size_t i = 0; i < j.n; i++)
        json_object_set_new(ids, j.rows[i].supi, json_string(j.rows[i].extid));
    free(j.rows);
    json_t *out = json_pack("{s:s, s:s, s:o}", "consent_id", j.consent_id, "af_id", j.af_id,
                            "external_ids", ids);
    json_decref(o);
    http_respond_json(req, 201, out);
}

struct revoke_job {
    const char *consent_id;
};

static int consent_revoke_run(struct store_conn *c, void *arg)
{
    struct revoke_job *j = arg;
    return nb_consent_revoke_row(c, j->consent_id, nb_now());
}

static void handle_consent_revoke(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    struct revoke_job j = {http_request_param(req, "consentId")};
    int rc =
        nb_id_valid(j.consent_id) ? nb_write_sync(nb, consent_revoke_run, &j) : IOTSEC_ERR_NOTFOUND;
    nb_dcache_invalidate(nb->dcache); /* committed (or not): decisions read the store again */
    if (rc != IOTSEC_OK) {
        nb_store_failed(req, rc == IOTSEC_ERR_NOTFOUND ? rc : rc);
        return;
    }
    /* Decisions read consents from the store again (the consent cache was invalidated after
     * the commit, above); the token cache holds no consent, but is dropped too so that nothing
     * derived from before the revocation lives. */
    nb_cache_clear(nb->cache);
    char res[128];
    snprintf(res, sizeof(res), "consent:%s", j.consent_id);
    nb_admin_audit(nb, req, authz_action_str(ACTION_CONSENT_REVOKE), res);
    http_respond_json(req, 200, json_pack("{s:s, s:b}", "consent_id", j.consent_id, "revoked", 1));
}

/* ---- monitoring opt-outs: the owner's no, stronger than any consent ---- */

struct opt_job {
    const char *supi;
    bool out;
};

static int opt_run(struct store_conn *c, void *arg)
{
    struct opt_job *j = arg;
    return nb_opt_out_set(c, j->supi, j->out, nb_now());
}

static void handle_opt(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    if (!nb_admin_ok(req, nb))
        return;
    json_t *o = http_request_json(req);
    if (o == NULL)
        return;
    const char *supi = json_string_value(json_object_get(o, "supi"));
    json_t *v = json_object_get(o, "opt_out");
    struct subscription sub;
    if (supi == NULL || strlen(supi) >= SUPI_STRING_MAX || !json_is_boolean(v) ||
        subscriber_get(nb->store, supi, &sub) != IOTSEC_OK) {
        struct http_invalid_param ip = {"supi", "a subscription, and opt_out true or false"};
        http_respond_problem(req, 400, NULL, "invalid opt-out", NULL, &ip, 1);
        json_decref(o);
        return;
    }
    struct opt_job j = {supi, json_is_true(v)};
    int rc = nb_write_sync(nb, opt_run, &j);
    nb_dcache_invalidate(nb->dcache); /* committed (or not): decisions read the store again */
    if (rc != IOTSEC_OK) {
        json_decref(o);
        nb_store_failed(req, rc);
        return;
    }
    nb_admin_audit(nb, req, j.out ? "monitoring.opt_out" : "monitoring.opt_in", "device");
    http_respond_json(req, 200, json_pack("{s:s, s:b}", "supi", supi, "opt_out", j.out));
    json_decref(o);
}

int nb_consent_routes(struct expose_nb *nb, struct http_server *adm)
{
    int rc =
        http_server_route(adm, "POST", "/admin/v1/groups/{groupId}/members", handle_group_add, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/consents", handle_consent_grant, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/consents/{consentId}/revoke",
                               handle_consent_revoke, nb);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/monitoring-opt-out", handle_opt, nb);
    if (rc == IOTSEC_OK)
        rc = nb_consent_list_routes(nb, adm);
    return rc;
}
