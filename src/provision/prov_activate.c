/* Bulk activation (POST /admin/v1/activations): binds devices, by registration id or serial,
 * to accounts and service parameters, all lines or none. Every line is validated before the
 * job is queued (a bad line names itself and nothing is written); the job then runs one
 * savepoint on the writer: an activation row per line, and each device that has already
 * onboarded and confirmed becomes active at once. The others become active when they
 * confirm (prov_jobs.c checks prov_activations). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/http.h"
#include "provision/prov_admin.h"
#include "subscriber/subscriber.h"

#define ITEMS_MAX 1000000
/* Past this many items the report is only the compact "results" string (one character per
 * line): a 100,000-line report of objects would be megabytes. */
#define LINES_DETAIL_MAX 1000

struct act_line {
    const char *key_kind; /* "reg" or "serial" */
    const char *id;
    const char *account;
    const char *supi; /* pre-bound, or NULL */
    char *service;    /* compact JSON, malloc'd */
};

struct act_in {
    size_t n;
    struct act_line *lines;
};

static void act_free(struct adm_job *a)
{
    struct act_in *in = a->extra;
    if (in == NULL)
        return;
    for (size_t i = 0; i < in->n; i++)
        free(in->lines[i].service);
    free(in->lines);
    free(in);
}

static bool hex_serial(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return n >= 1 && n <= PROV_SERIAL_MAX;
}

/* Validates item i; returns the reason it is bad, or NULL. */
static const char *validate(json_t *it, struct act_line *l)
{
    if (!json_is_object(it))
        return "an object";
    const char *reg = json_string_value(json_object_get(it, "registration_id"));
    const char *serial = json_string_value(json_object_get(it, "serial"));
    if ((reg == NULL) == (serial == NULL))
        return "exactly one of registration_id, serial";
    if (reg && !prov_id_valid(reg, strlen(reg)))
        return "registration_id: 1..128 visible ASCII characters";
    if (serial && !hex_serial(serial))
        return "serial: lower-case hex";
    l->key_kind = reg ? "reg" : "serial";
    l->id = reg ? reg : serial;
    l->account = json_string_value(json_object_get(it, "account"));
    if (l->account == NULL || l->account[0] == '\0' || strlen(l->account) > PROV_OWNER_MAX)
        return "account: a string of 1..64 characters";
    l->supi = json_string_value(json_object_get(it, "supi"));
    struct supi parsed;
    if (json_object_get(it, "supi") &&
        (l->supi == NULL || strncmp(l->supi, "imsi-", 5) != 0 || strlen(l->supi) >= 40 ||
         supi_parse(l->supi, &parsed) != IOTSEC_OK))
        return "supi: imsi-<digits>";
    json_t *svc = json_object_get(it, "service");
    if (svc && !json_is_object(svc))
        return "service: an object";
    l->service = svc ? json_dumps(svc, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (l->service == NULL || strlen(l->service) > PROV_SERVICE_MAX)
        return "service: at most 16 KiB";
    return NULL;
}

/* The device's registration if it onboarded: its SUPI and whether it confirmed. */
static int find_device(struct store_conn *c, const struct act_line *l, char *supi, size_t len,
                       bool *confirmed, int64_t *row)
{
    struct store_stmt *st;
    int rc = store_stmt(c, strcmp(l->key_kind, "reg") == 0
                               ? "SELECT id, coalesce(supi, ''), confirmed FROM prov_registrations"
                                 " WHERE reg_id = ?"
                               : "SELECT id, coalesce(supi, ''), confirmed FROM prov_registrations"
                                 " WHERE serial = ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, l->id, -1);
    int s = store_step(st);
    *row = 0;
    if (s == STORE_ROW) {
        *row = store_col_int64(st, 0);
        snprintf(supi, len, "%s", store_col_text(st, 1));
        *confirmed = store_col_int(st, 2) != 0;
    }
    store_reset(st);
    return s == STORE_ROW || s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

static int run_activate(struct store_conn *c, struct adm_job *a)
{
    struct act_in *in = a->extra;
    json_t *report = json_array();
    char *codes = malloc(in->n + 1);
    size_t now_active = 0;
    if (codes == NULL) {
        json_decref(report);
        return IOTSEC_ERR_NOMEM;
    }
    a->out = json_object();
    for (size_t i = 0; i < in->n; i++) {
        const struct act_line *l = &in->lines[i];
        char key[PROV_REG_ID_MAX + 8];
        snprintf(key, sizeof(key), "%s:%s", l->key_kind, l->id);
        struct store_stmt *st;
        int rc = store_stmt(c, "INSERT INTO prov_activations(key, account, service,"
                               " created_at, supi) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO"
                               " UPDATE SET account = excluded.account, service ="
                               " excluded.service, created_at = excluded.created_at, supi ="
                               " excluded.supi", &st);
        if (rc != IOTSEC_OK)
            goto fail;
        store_bind_text(st, 1, key, -1);
        store_bind_text(st, 2, l->account, -1);
        store_bind_text(st, 3, l->service, -1);
        store_bind_int64(st, 4, a->now);
        if (l->supi)
            store_bind_text(st, 5, l->supi, -1);
        int s = store_step(st);
        if (s != STORE_DONE) {
            rc = store_error(c, s);
            goto fail;
        }
        char supi[SUPI_STRING_MAX] = "";
        bool confirmed = false;
        int64_t row;
        if ((rc = find_device(c, l, supi, sizeof(supi), &confirmed, &row)) != IOTSEC_OK)
            goto fail;
        const char *result = "pending";
        if (row) {
            if ((rc = store_stmt(c, "UPDATE prov_registrations SET account = ? WHERE id = ?",
                                 &st)) != IOTSEC_OK)
                goto fail;
            store_bind_text(st, 1, l->account, -1);
            store_bind_int64(st, 2, row);
            if ((s = store_step(st)) != STORE_DONE) {
                rc = store_error(c, s);
                goto fail;
            }
        }
        if (row && confirmed && supi[0]) {
            struct sub_op ev = {.kind = SUB_OP_EVENT, .event = SUB_EV_ACTIVATE, .now = a->now,
                                .actor = "activation"};
            snprintf(ev.supi, sizeof(ev.supi), "%s", supi);
            rc = sub_op_run(c, &ev);
            if (rc == IOTSEC_OK) {
                result = "active";
                now_active++;
            } else if (rc == IOTSEC_ERR_STATE) { /* active already, suspended, revoked... */
                result = "unchanged";
            } else {
                goto fail;
            }
        }
        codes[i] = result[0]; /* a(ctive), p(ending), u(nchanged) */
        if (i < LINES_DETAIL_MAX)
            json_array_append_new(report, json_pack("{s:I, s:s, s:s}", "line", (json_int_t)(i + 1),
                                                strcmp(l->key_kind, "reg") == 0
                                                    ? "registration_id"
                                                    : "serial",
                                                l->id, "result", result));
        continue;
    fail:
        json_decref(report);
        free(codes);
        return rc;
    }
    json_object_set_new(a->out, "activated", json_integer((json_int_t)now_active));
    json_object_set_new(a->out, "pending", json_integer((json_int_t)(in->n - now_active)));
    codes[in->n] = '\0';
    json_object_set_new(a->out, "results", json_string(codes));
    free(codes);
    if (in->n <= LINES_DETAIL_MAX)
        json_object_set_new(a->out, "lines", report);
    else
        json_decref(report);
    return IOTSEC_OK;
}

void prov_h_activations(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    json_t *items = json_object_get(o, "items");
    size_t n = json_array_size(items);
    if (!json_is_array(items) || n == 0 || n > ITEMS_MAX) {
        adm_bad(req, "items", "an array of 1..1000000 activations");
        json_decref(o);
        return;
    }
    struct adm_job *a = adm_job_new(req, p, run_activate, 200);
    struct act_in *in = a ? calloc(1, sizeof(*in)) : NULL;
    if (in)
        in->lines = calloc(n, sizeof(*in->lines));
    if (in == NULL || in->lines == NULL) {
        free(in);
        free(a);
        json_decref(o);
        http_respond_error(req, IOTSEC_ERR_NOMEM, "provisioning");
        return;
    }
    a->in = o;
    a->extra = in;
    a->free_extra = act_free;
    for (size_t i = 0; i < n; i++) {
        in->n = i + 1;
        const char *why = validate(json_array_get(items, i), &in->lines[i]);
        if (why) {
            char param[32], detail[160];
            snprintf(param, sizeof(param), "/items/%zu", i);
            snprintf(detail, sizeof(detail), "line %zu: %s; nothing was activated", i + 1, why);
            struct http_invalid_param ip = {param, why};
            http_respond_problem(req, 400, NULL, detail, "MANDATORY_IE_INCORRECT", &ip, 1);
            act_free(a);
            json_decref(o);
            free(a);
            return;
        }
    }
    adm_submit(a);
}
