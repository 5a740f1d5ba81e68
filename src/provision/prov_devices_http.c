/* Onboarded devices on the admin face: list, show (with the subscription's state and the
 * registration's history), and rotation staged for the device (also reached from the
 * subscriber API's rotate through provision_ota_rotate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"
#include "provision/prov_admin.h"
#include "subscriber/subscriber.h"

#define LIST_MAX 1000

/* ---- devices ---- */

static json_t *device_json(struct store_stmt *st)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b}", "registration_id",
                          store_col_text(st, 0), "enrollment",
                          (json_int_t)store_col_int64(st, 1), "supi",
                          store_col_text(st, 2), "owner", store_col_text(st, 3),
                          "state", store_col_text(st, 5), "credential_version",
                          (json_int_t)store_col_int64(st, 6), "confirmed",
                          store_col_int(st, 7));
    if (!store_col_is_null(st, 4))
        json_object_set_new(o, "account", json_string(store_col_text(st, 4)));
    if (store_col_int64(st, 8))
        json_object_set_new(o, "waiting_version", json_integer(store_col_int64(st, 8)));
    return o;
}

#define DEVICE_COLS                                                                            \
    "reg_id, enrollment_id, coalesce(supi, ''), owner, account, state, cred_version, confirmed," \
    " coalesce(pend_version, 0), id"

void prov_h_dev_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    const char *after = http_request_query_param(req, "after");
    const char *limit = http_request_query_param(req, "limit");
    long long a = after ? atoll(after) : 0, l = limit ? atoll(limit) : 100;
    if (l <= 0 || l > LIST_MAX)
        l = LIST_MAX;
    struct store_conn *c;
    struct store_stmt *st;
    json_t *arr = json_array();
    long long last = 0;
    if (store_reader_get(p->store, &c) == IOTSEC_OK &&
        store_stmt(c, "SELECT " DEVICE_COLS " FROM prov_registrations WHERE id > ? ORDER BY id"
                      " LIMIT ?", &st) == IOTSEC_OK) {
        store_bind_int64(st, 1, a);
        store_bind_int64(st, 2, l);
        while (store_step(st) == STORE_ROW) {
            json_array_append_new(arr, device_json(st));
            last = store_col_int64(st, 9);
        }
        store_reset(st);
    }
    json_t *o = json_pack("{s:o}", "devices", arr);
    if ((long long)json_array_size(arr) == l)
        json_object_set_new(o, "next", json_integer(last));
    http_respond_json(req, 200, o);
}

void prov_h_dev_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    const char *id = http_request_param(req, "id");
    struct store_conn *c;
    struct store_stmt *st;
    json_t *o = NULL;
    if (store_reader_get(p->store, &c) == IOTSEC_OK &&
        store_stmt(c, "SELECT " DEVICE_COLS " FROM prov_registrations WHERE reg_id = ?", &st) ==
            IOTSEC_OK) {
        store_bind_text(st, 1, id, -1);
        if (store_step(st) == STORE_ROW)
            o = device_json(st);
        store_reset(st);
    }
    if (o == NULL) {
        http_respond_problem(req, 404, NULL, "no such device", "REGISTRATION_NOT_FOUND", NULL, 0);
        return;
    }
    struct subscription sub;
    const char *supi = json_string_value(json_object_get(o, "supi"));
    if (supi && supi[0] && subscriber_get(p->store, supi, &sub) == IOTSEC_OK)
        json_object_set_new(o, "subscription_state", json_string(sub_state_name(sub.state)));
    json_t *hist = json_array();
    if (store_stmt(c, "SELECT event, detail, at FROM prov_history WHERE reg_id = ? ORDER BY id",
                   &st) == IOTSEC_OK) {
        store_bind_text(st, 1, id, -1);
        while (store_step(st) == STORE_ROW) {
            char t[32];
            sub_format_time(store_col_int64(st, 2), t, sizeof(t));
            json_t *h = json_pack("{s:s, s:s}", "event", store_col_text(st, 0), "at", t);
            if (!store_col_is_null(st, 1))
                json_object_set_new(h, "detail",
                                    json_string(store_col_text(st, 1)));
            json_array_append_new(hist, h);
        }
        store_reset(st);
    }
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
        http_respond_problem(j->req, rc == IOTSEC_ERR_BUSY ? 503 : 500, NULL, "rotation failed",
                             NULL, NULL, 0);
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
    struct store_conn *c;
    struct store_stmt *st;
    char reg_id[PROV_REG_ID_MAX + 1] = "";
    if (store_reader_get(p->store, &c) != IOTSEC_OK ||
        store_stmt(c, "SELECT reg_id FROM prov_registrations WHERE supi = ?", &st) != IOTSEC_OK)
        return false;
    store_bind_text(st, 1, supi, -1);
    if (store_step(st) == STORE_ROW)
        snprintf(reg_id, sizeof(reg_id), "%s", store_col_text(st, 0));
    store_reset(st);
    if (reg_id[0] == '\0')
        return false;
    stage(p, req, reg_id);
    return true;
}

