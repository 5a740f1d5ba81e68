/* Onboarded devices on the admin face:
 *   GET  /admin/v1/devices[?enrollment=&state=onboarded|revoked&owner=&account=&confirmed=
 *                          &sort=&search=&after=&limit=]   {"items": [...], "next"}
 *   GET  /admin/v1/devices/{id}                      by registration id
 *   POST /admin/v1/devices/{id}/rotate
 * List, show (with the subscription's state and the
 * registration's history), and rotation staged for the device (also reached from the
 * subscriber API's rotate through provision_ota_rotate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"
#include "http/query.h"
#include "provision/prov_admin.h"
#include "provision/prov_admin_store.h"
#include "subscriber/subscriber.h"

/* ---- devices ---- */

static json_t *device_json(const struct prov_device_row *d)
{
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b}", "registration_id", d->reg_id, "enrollment",
                  (json_int_t)d->enrollment, "supi", d->supi, "owner", d->owner, "state", d->state,
                  "credential_version", (json_int_t)d->cred_version, "confirmed", d->confirmed);
    json_object_set_new(o, "id", json_integer(d->id)); /* onboarding order: the list's cursor */
    if (d->account)
        json_object_set_new(o, "account", json_string(d->account));
    if (d->waiting_version)
        json_object_set_new(o, "waiting_version", json_integer(d->waiting_version));
    return o;
}

struct dev_list {
    json_t *arr;
    long long last;
    char last_reg[PROV_REG_ID_MAX + 1];
};

static void list_one(const struct prov_device_row *d, void *ctx)
{
    struct dev_list *l = ctx;
    json_array_append_new(l->arr, device_json(d));
    l->last = d->id;
    snprintf(l->last_reg, sizeof(l->last_reg), "%s", d->reg_id);
}

static bool owner_ok(const char *s)
{
    return prov_id_valid(s, strlen(s));
}

static void bad_cursor(struct http_request *req)
{
    struct http_invalid_param ip = {"after", "a cursor: the \"next\" of the page before"};
    http_respond_problem(req, 400, NULL, "query parameter after: not a cursor of this order",
                         "INVALID_QUERY_PARAM", &ip, 1);
}

/* ?enrollment=&state=onboarded|revoked&owner=&account=&confirmed=&sort=&search=&after=&limit=
 * sort: created (the default: "next" is the last id, a number), -created, registration or
 * -registration ("next" is then the last registration id); search: the devices whose
 * registration id, SUPI or serial is exactly this (no paging: a handful at most). The console's
 * sortable table: the same server-side cost whatever the number of devices. */
void prov_h_dev_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const char *const states[] = {"onboarded", "revoked", NULL};
    static const char *const sorts[] = {"created", "-created", "registration", "-registration",
                                        NULL};
    static const struct http_qspec spec[] = {
        {.name = "after",
         .type = HTTP_Q_STR,
         .max = PROV_REG_ID_MAX,
         .reason = "a cursor: the \"next\" of the page before"},
        HTTP_QSPEC_LIMIT,
        {.name = "enrollment",
         .type = HTTP_Q_INT,
         .min = 1,
         .max = INT64_MAX,
         .reason = "an enrollment id"},
        {.name = "state", .type = HTTP_Q_ENUM, .values = states, .reason = "onboarded or revoked"},
        {.name = "owner",
         .type = HTTP_Q_STR,
         .max = PROV_OWNER_MAX,
         .valid = owner_ok,
         .reason = "an owner's name"},
        {.name = "account", .type = HTTP_Q_STR, .max = PROV_OWNER_MAX, .reason = "an account name"},
        {.name = "confirmed", .type = HTTP_Q_BOOL, .reason = "true or false"},
        {.name = "sort",
         .type = HTTP_Q_ENUM,
         .values = sorts,
         .reason = "created, -created, registration or -registration"},
        {.name = "search",
         .type = HTTP_Q_STR,
         .max = 128,
         .reason = "a registration id, SUPI or serial"},
    };
    struct http_qval q[9];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 9, q))
        return;
    struct prov_device_filter f = {q[2].i, q[3].s, q[4].s, q[5].s, q[6].set ? (int)q[6].i : -1};
    enum prov_device_sort sort = PROV_SORT_ID;
    for (int i = 0; q[7].set && sorts[i]; i++)
        if (strcmp(q[7].s, sorts[i]) == 0)
            sort = (enum prov_device_sort)i;
    size_t limit = http_query_limit(&q[1]);
    struct dev_list dl = {json_array(), 0, ""};
    int rc;
    if (q[8].set) {
        rc = prov_devices_search(p->store, q[8].s, (int64_t)limit, list_one, &dl);
    } else if (!q[7].set) { /* the default order: an enrollment's own index serves it */
        char *end = NULL;
        long long after = q[0].set ? strtoll(q[0].s, &end, 10) : 0;
        rc = q[0].set && (*end != '\0' || after < 0)
                 ? IOTSEC_ERR_INVALID
                 : prov_devices_list(p->store, &f, after, (int64_t)limit, list_one, &dl);
    } else
        rc = prov_devices_sorted(p->store, &f, sort, q[0].set ? q[0].s : NULL, (int64_t)limit,
                                 list_one, &dl);
    if (rc != IOTSEC_OK) {
        json_decref(dl.arr);
        if (rc == IOTSEC_ERR_INVALID)
            bad_cursor(req);
        else
            http_respond_error(req, rc, "devices");
        return;
    }
    bool by_id = sort == PROV_SORT_ID || sort == PROV_SORT_ID_DESC;
    json_t *next = q[8].set ? NULL : by_id ? json_integer(dl.last) : json_string(dl.last_reg);
    http_respond_page(req, "devices", dl.arr, limit, next);
}

static void show_one(const struct prov_device_row *d, void *ctx)
{
    *(json_t **)ctx = device_json(d);
}

static void history_one(const char *event, const char *detail, int64_t at, void *ctx)
{
    char t[32];
    sub_format_time(at, t, sizeof(t));
    json_t *h = json_pack("{s:s, s:s}", "event", event, "at", t);
    if (detail)
        json_object_set_new(h, "detail", json_string(detail));
    json_array_append_new(ctx, h);
}

void prov_h_dev_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p) || !http_query_parse(req, NULL, 0, NULL))
        return;
    const char *id = http_request_param(req, "id");
    json_t *o = NULL;
    prov_device_find(p->store, id, show_one, &o);
    if (o == NULL) {
        http_respond_problem(req, 404, NULL, "no such device", "REGISTRATION_NOT_FOUND", NULL, 0);
        return;
    }
    struct subscription sub;
    const char *supi = json_string_value(json_object_get(o, "supi"));
    if (supi && supi[0] && subscriber_get(p->store, supi, &sub) == IOTSEC_OK)
        json_object_set_new(o, "subscription_state", json_string(sub_state_name(sub.state)));
    json_t *hist = json_array();
    prov_history_each(p->store, id, history_one, hist);
    json_object_set_new(o, "history", hist);
    http_respond_json(req, 200, o);
}

static void stage_done(void *arg, int rc)
{
    struct prov_job *j = arg;
    if (rc == IOTSEC_OK)
        http_respond_json(j->req, 202,
                          json_pack("{s:s, s:I, s:s}", "registration_id", j->reg_id,
                                    "waiting_version", (json_int_t)j->out_version, "rotation",
                                    "over_the_air"));
    else if (j->fail == PROV_FAIL_NOTFOUND)
        http_respond_problem(j->req, 404, NULL, "no such device", "REGISTRATION_NOT_FOUND", NULL,
                             0);
    else if (j->fail != PROV_FAIL_NONE)
        http_respond_problem(j->req, 409, NULL, "the device's credential cannot be rotated",
                             "STATE", NULL, 0);
    else
        http_respond_error(j->req, rc, "rotation");
    prov_job_free(j);
}

static void stage(struct provision *p, struct http_request *req, const char *id)
{
    struct prov_job *j = calloc(1, sizeof(*j));
    if (j == NULL || !prov_id_valid(id, strlen(id))) {
        free(j);
        http_respond_problem(req, 404, NULL, "no such device", "REGISTRATION_NOT_FOUND", NULL, 0);
        return;
    }
    j->kind = PROV_JOB_STAGE;
    j->p = p;
    j->req = req;
    j->now = (int64_t)time(NULL);
    snprintf(j->reg_id, sizeof(j->reg_id), "%s", id);
    http_request_defer(req);
    struct store_job sj = {prov_job_run, stage_done, j};
    int rc = store_submit(p->store, &sj);
    if (rc != IOTSEC_OK)
        stage_done(j, rc);
}

void prov_h_dev_rotate(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (adm_admin_ok(req, p))
        stage(p, req, http_request_param(req, "id"));
}

bool provision_ota_rotate(void *ctx, const char *supi, struct http_request *req)
{
    struct provision *p = ctx;
    char reg_id[PROV_REG_ID_MAX + 1] = "";
    if (prov_reg_id_by_supi(p->store, supi, reg_id) != IOTSEC_OK)
        return false;
    stage(p, req, reg_id);
    return true;
}
