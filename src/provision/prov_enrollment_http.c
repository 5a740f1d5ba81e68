/* Enrollments on the admin face:
 *   POST   /admin/v1/enrollments                   create; 409 naming an enrollment whose
 *                                                  SUPI range overlaps
 *   GET    /admin/v1/enrollments[?owner=&kind=individual|group&enabled=&manufacturer=&name=
 *                               &after=&limit=]    {"enrollments": [...], "next"}
 *   GET    /admin/v1/enrollments/{id}              by id or by name
 *   PATCH  /admin/v1/enrollments/{id}              name, enabled, owner, credential_lifetime_s,
 *                                                  max_credential_age_s, quota, rate_per_s,
 *                                                  requires_activation, reprovision
 *   DELETE /admin/v1/enrollments/{id}              409 while devices are registered under it
 *   POST   /admin/v1/enrollments/{id}/{action}     enable, disable
 * Create validates every field before anything is written. A derived-key group key is sealed
 * at rest, bound to its row; when iotsecd generates it, the 201 answer is the only place it
 * ever appears. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "http/http.h"
#include "http/query.h"
#include "provision/prov_admin.h"
#include "provision/prov_admin_store.h"

#define DEFAULT_LIFETIME_S (365LL * 24 * 3600)

static json_t *enrollment_json(const struct prov_enrollment *e)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:s, s:{s:s, s:s}, s:I, s:s, s:b, s:s, s:I}",
                          "id", (json_int_t)e->id, "kind",
                          e->individual ? "individual" : "group", "attestation",
                          e->derived_key ? "derived_key" : "x509", "enabled", e->enabled,
                          "owner", e->owner, "supi_range", "first", e->supi_first, "last",
                          e->supi_last, "credential_lifetime_s", (json_int_t)e->lifetime_s,
                          "reprovision", prov_reprovision_name(e->reprovision),
                          "requires_activation", e->requires_activation, "routing_indicator",
                          e->routing_ind, "devices", (json_int_t)e->devices);
    if (e->manufacturer_id)
        json_object_set_new(o, "manufacturer_id", json_integer(e->manufacturer_id));
    if (e->reg_id[0])
        json_object_set_new(o, "registration_id", json_string(e->reg_id));
    if (e->cert_sha256[0])
        json_object_set_new(o, "cert_sha256", json_string(e->cert_sha256));
    if (e->serial[0])
        json_object_set_new(o, "serial", json_string(e->serial));
    if (e->quota)
        json_object_set_new(o, "quota", json_integer(e->quota));
    if (e->rate_per_s)
        json_object_set_new(o, "rate_per_s", json_integer(e->rate_per_s));
    if (e->max_cred_age_s)
        json_object_set_new(o, "max_credential_age_s", json_integer(e->max_cred_age_s));
    if (e->name[0])
        json_object_set_new(o, "name", json_string(e->name));
    return o;
}

/* The validated request, kept in the job. */
struct enr_in {
    struct prov_enrollment e;
    char manufacturer[PROV_NAME_MAX + 1];
    char *service; /* JSON text */
    bool generated_key;
};

static void enr_free(struct adm_job *a)
{
    struct enr_in *in = a->extra;
    if (in) {
        free(in->service);
        free(in);
    }
}

static bool opt_str(json_t *o, const char *name, char *out, size_t len, bool (*ok)(const char *))
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return true;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) >= len || (ok && !ok(s)))
        return false;
    snprintf(out, len, "%s", s);
    return true;
}

static bool opt_int(json_t *o, const char *name, int64_t *out, int64_t min, int64_t max)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool opt_bool(json_t *o, const char *name, bool *out)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return true;
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

static bool id_ok(const char *s)
{
    return prov_id_valid(s, strlen(s));
}

/* A name is told from an id in a path by holding something other than digits. */
static bool name_ok(const char *s)
{
    return id_ok(s) && strlen(s) <= PROV_NAME_MAX && strspn(s, "0123456789") < strlen(s);
}

static bool hex_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static bool digits_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n >= 1 && n <= 4;
}

/* The fields an enrollment can change, as create and update both take them, onto e: on
 * update a null name, a limit of 0 (max_credential_age_s, quota, rate_per_s) removes it; on
 * create a limit given is a real one. Returns the offending field (and *reason) or NULL. */
static const char *decode_mutable(json_t *o, struct prov_enrollment *e, bool update,
                                  const char **reason)
{
    *reason = update ? "1..64 visible ASCII characters, not only digits; null removes it"
                     : "1..64 visible ASCII characters, not only digits";
    if (update && json_is_null(json_object_get(o, "name")))
        e->name[0] = '\0';
    else if (!opt_str(o, "name", e->name, sizeof(e->name), name_ok))
        return "name";
    *reason = "a string of allowed characters and length";
    if (!opt_str(o, "owner", e->owner, sizeof(e->owner), id_ok))
        return "owner";
    *reason = "an integer in range";
    if (!opt_int(o, "credential_lifetime_s", &e->lifetime_s, 60, 100LL * 365 * 24 * 3600))
        return "credential_lifetime_s";
    /* Rotation on a schedule: a credential older than this gets a waiting version. */
    if (!opt_int(o, "max_credential_age_s", &e->max_cred_age_s, update ? 0 : 60,
                 100LL * 365 * 24 * 3600))
        return "max_credential_age_s";
    if (!opt_int(o, "quota", &e->quota, update ? 0 : 1, INT64_MAX))
        return "quota";
    if (!opt_int(o, "rate_per_s", &e->rate_per_s, update ? 0 : 1, 1000000))
        return "rate_per_s";
    *reason = "true or false";
    if (!opt_bool(o, "enabled", &e->enabled))
        return "enabled";
    if (!opt_bool(o, "requires_activation", &e->requires_activation))
        return "requires_activation";
    const char *rp = json_string_value(json_object_get(o, "reprovision"));
    *reason = "keep, reset or never";
    if (json_object_get(o, "reprovision") && prov_reprovision_parse(rp, &e->reprovision))
        return "reprovision";
    return NULL;
}

/* Validates the body into in; returns the offending field (and reason) or NULL. */
static const char *validate(json_t *o, struct enr_in *in, uint8_t *key, size_t *key_len,
                            const char **reason)
{
    struct prov_enrollment *e = &in->e;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *att = json_string_value(json_object_get(o, "attestation"));
    *reason = "individual or group";
    if (kind == NULL || (strcmp(kind, "individual") && strcmp(kind, "group")))
        return "kind";
    *reason = "x509 or derived_key";
    if (att == NULL || (strcmp(att, "x509") && strcmp(att, "derived_key")))
        return "attestation";
    e->individual = strcmp(kind, "individual") == 0;
    e->derived_key = strcmp(att, "derived_key") == 0;
    e->enabled = true;
    e->lifetime_s = DEFAULT_LIFETIME_S;
    snprintf(e->routing_ind, sizeof(e->routing_ind), "0000");
    *reason = "a string of allowed characters and length";
    if (!opt_str(o, "registration_id", e->reg_id, sizeof(e->reg_id), id_ok))
        return "registration_id";
    if (!opt_str(o, "cert_sha256", e->cert_sha256, sizeof(e->cert_sha256), hex_ok) ||
        (e->cert_sha256[0] && strlen(e->cert_sha256) != 64))
        return "cert_sha256";
    if (!opt_str(o, "serial", e->serial, sizeof(e->serial), hex_ok))
        return "serial";
    if (!opt_str(o, "manufacturer", in->manufacturer, sizeof(in->manufacturer), id_ok))
        return "manufacturer";
    if (!opt_str(o, "routing_indicator", e->routing_ind, sizeof(e->routing_ind), digits_ok))
        return "routing_indicator";
    const char *bad = decode_mutable(o, e, false, reason);
    if (bad)
        return bad;
    json_t *range = json_object_get(o, "supi_range");
    struct prov_supi_range r;
    *reason = "{first, last}: imsi-<6..15 digits> of equal length, first <= last";
    if (!json_is_object(range) ||
        prov_supi_range_parse(json_string_value(json_object_get(range, "first")),
                              json_string_value(json_object_get(range, "last")), &r))
        return "supi_range";
    snprintf(e->supi_first, sizeof(e->supi_first), "%s",
             json_string_value(json_object_get(range, "first")));
    snprintf(e->supi_last, sizeof(e->supi_last), "%s",
             json_string_value(json_object_get(range, "last")));
    json_t *svc = json_object_get(o, "service");
    *reason = "a JSON object of at most 16 KiB";
    if (svc && !json_is_object(svc))
        return "service";
    in->service = svc ? json_dumps(svc, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    if (in->service == NULL || strlen(in->service) > PROV_SERVICE_MAX)
        return "service";
    int named = !!e->reg_id[0] + !!e->cert_sha256[0] + !!e->serial[0];
    *reason = "an individual enrollment names its device by exactly one of registration_id,"
              " cert_sha256, serial (derived_key: registration_id)";
    if (e->individual && (named != 1 || (e->derived_key && !e->reg_id[0])))
        return "registration_id";
    *reason = "a group does not name a device";
    if (!e->individual && named)
        return "registration_id";
    *reason = "an x509 group needs its manufacturer";
    if (!e->individual && !e->derived_key && !in->manufacturer[0])
        return "manufacturer";
    const char *gk = json_string_value(json_object_get(o, "group_key"));
    *reason = "16..128 bytes in base64url without padding (derived_key only)";
    if (json_object_get(o, "group_key") &&
        (!e->derived_key || gk == NULL ||
         b64url_decode(gk, strlen(gk), key, PROV_GROUP_KEY_MAX, key_len) != IOTSEC_OK ||
         *key_len < PROV_GROUP_KEY_MIN))
        return "group_key";
    if (e->derived_key && *key_len == 0) {
        *key_len = 32;
        in->generated_key = true;
        if (crypto_random(key, 32) != IOTSEC_OK) {
            *reason = "no randomness";
            return "group_key";
        }
    }
    return NULL;
}

static void overlap_fail(struct adm_job *a, const struct prov_enrollment *other)
{
    char detail[256];
    snprintf(detail, sizeof(detail), "the SUPI range overlaps enrollment %lld%s%s%s (%s..%s)",
             (long long)other->id, other->name[0] ? " (" : "", other->name,
             other->name[0] ? ")" : "", other->supi_first, other->supi_last);
    adm_fail(a, 409, "SUPI_RANGE_OVERLAP", "supi_range", detail);
}

static int run_enr_add(struct store_conn *c, struct adm_job *a)
{
    struct enr_in *in = a->extra;
    struct prov_enrollment *e = &in->e;
    int rc;
    if (in->manufacturer[0]) {
        if ((rc = prov_manufacturer_id(c, in->manufacturer, &e->manufacturer_id)) != IOTSEC_OK)
            return rc;
        if (e->manufacturer_id == 0) {
            adm_fail(a, 404, "MANUFACTURER_NOT_FOUND", "manufacturer", "no such manufacturer");
            return IOTSEC_ERR_NOTFOUND;
        }
    }
    struct prov_enrollment other;
    if ((rc = prov_enrollment_overlap(c, e->supi_first, e->supi_last, 0, &other)) != IOTSEC_OK) {
        if (rc == IOTSEC_ERR_CONFLICT)
            overlap_fail(a, &other);
        return rc;
    }
    if ((rc = prov_enrollment_insert(c, e, in->service, a->now, &e->id)) == IOTSEC_ERR_CONFLICT)
        adm_fail(a, 409, "NAME_TAKEN", "name", "an enrollment has this name already");
    if (rc != IOTSEC_OK)
        return rc;
    if (a->secret_len) {
        uint8_t env[PROV_GROUP_KEY_MAX + SEAL_OVERHEAD];
        char aad[64];
        size_t aad_len = prov_group_key_aad(e->id, aad, sizeof(aad));
        if ((rc = seal(a->p->kek, aad, aad_len, a->secret, a->secret_len, env)) != IOTSEC_OK ||
            (rc = prov_enrollment_group_key_set(c, e->id, env, a->secret_len + SEAL_OVERHEAD)) !=
                IOTSEC_OK)
            return rc;
    }
    if ((rc = prov_enrollment_load(c, e->id, e)) != IOTSEC_OK)
        return rc;
    a->out = enrollment_json(e);
    if (in->generated_key) {
        char b64[200];
        b64url_encode(a->secret, a->secret_len, b64);
        json_object_set_new(a->out, "group_key", json_string(b64));
        secure_wipe(b64, sizeof(b64));
    }
    return IOTSEC_OK;
}

void prov_h_enr_add(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    struct adm_job *a = adm_job_new(req, p, run_enr_add, 201);
    struct enr_in *in = a ? calloc(1, sizeof(*in)) : NULL;
    if (in == NULL) {
        free(a);
        json_decref(o);
        if (a)
            http_respond_error(req, IOTSEC_ERR_NOMEM, "provisioning");
        return;
    }
    a->extra = in;
    a->free_extra = enr_free;
    a->in = o;
    const char *reason = NULL;
    const char *bad = validate(o, in, a->secret, &a->secret_len, &reason);
    if (bad) {
        adm_bad(req, bad, reason);
        enr_free(a);
        json_decref(o);
        secure_wipe(a, sizeof(*a));
        free(a);
        return;
    }
    adm_submit(a);
}

struct enr_page {
    json_t *arr;
    int64_t last;
};

static void enr_item(const struct prov_enrollment *e, void *ctx)
{
    struct enr_page *pg = ctx;
    json_array_append_new(pg->arr, enrollment_json(e));
    pg->last = e->id;
}

static bool owner_ok(const char *s)
{
    return id_ok(s);
}

void prov_h_enr_list(struct http_request *req, void *user)
{
    struct provision *p = user;
    static const char *const kinds[] = {"individual", "group", NULL};
    static const struct http_qspec spec[] = {
        HTTP_QSPEC_AFTER_ID,
        HTTP_QSPEC_LIMIT,
        {.name = "owner", .type = HTTP_Q_STR, .max = PROV_OWNER_MAX, .valid = owner_ok,
         .reason = "an owner's name"},
        {.name = "kind", .type = HTTP_Q_ENUM, .values = kinds, .reason = "individual or group"},
        {.name = "enabled", .type = HTTP_Q_BOOL, .reason = "true or false"},
        {.name = "manufacturer", .type = HTTP_Q_INT, .min = 1, .max = INT64_MAX,
         .reason = "a manufacturer id"},
        {.name = "name", .type = HTTP_Q_STR, .max = PROV_NAME_MAX, .valid = name_ok,
         .reason = "an enrollment's name"},
    };
    struct http_qval q[7];
    if (!adm_admin_ok(req, p) || !http_query_parse(req, spec, 7, q))
        return;
    struct prov_enrollment_filter f = {q[2].s, q[3].s, q[6].s, q[4].set ? (int)q[4].i : -1,
                                       q[5].i};
    size_t limit = http_query_limit(&q[1]);
    struct enr_page pg = {json_array(), 0};
    int rc = prov_enrollments_list(p->store, &f, q[0].i, (int64_t)limit, enr_item, &pg);
    if (rc != IOTSEC_OK) {
        json_decref(pg.arr);
        http_respond_error(req, rc, "enrollments");
        return;
    }
    http_respond_page(req, "enrollments", pg.arr, limit, json_integer(pg.last));
}

static int64_t id_param(struct http_request *req)
{
    const char *s = http_request_param(req, "id");
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && *end == '\0' && v > 0 ? v : 0;
}

/* The enrollment {id} names, by id or by name; false after answering. */
static bool find_enrollment(struct http_request *req, struct provision *p,
                            struct prov_enrollment *e)
{
    const char *s = http_request_param(req, "id");
    int64_t id = id_param(req);
    int rc = id            ? prov_enrollment_get(p->store, id, e)
             : name_ok(s) ? prov_enrollment_get_by_name(p->store, s, e)
                          : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_OK)
        return true;
    if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_problem(req, 404, NULL, "no such enrollment", "ENROLLMENT_NOT_FOUND", NULL,
                             0);
    else
        http_respond_error(req, rc, "enrollment");
    return false;
}

void prov_h_enr_show(struct http_request *req, void *user)
{
    struct provision *p = user;
    struct prov_enrollment e;
    if (adm_admin_ok(req, p) && http_query_parse(req, NULL, 0, NULL) &&
        find_enrollment(req, p, &e))
        http_respond_json(req, 200, enrollment_json(&e));
}

/* ---- update and delete ---- */

/* Applies the body's fields to e; the offending field, or NULL. */
static const char *apply_patch(json_t *o, struct prov_enrollment *e, const char **reason)
{
    static const char *const mutable[] = {"name", "enabled", "owner", "credential_lifetime_s",
                                          "max_credential_age_s", "quota", "rate_per_s",
                                          "requires_activation", "reprovision", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const char *const *m = mutable;
        while (*m && strcmp(*m, key) != 0)
            m++;
        *reason = "not a field that can change (create a new enrollment instead)";
        if (*m == NULL)
            return key;
    }
    return decode_mutable(o, e, true, reason);
}

static int run_enr_update(struct store_conn *c, struct adm_job *a)
{
    struct prov_enrollment *e = a->extra;
    int rc = prov_enrollment_update(c, e);
    if (rc == IOTSEC_ERR_CONFLICT)
        adm_fail(a, 409, "NAME_TAKEN", "name", "an enrollment has this name already");
    else if (rc == IOTSEC_ERR_NOTFOUND)
        adm_fail(a, 404, "ENROLLMENT_NOT_FOUND", NULL, "no such enrollment");
    if (rc == IOTSEC_OK && (rc = prov_enrollment_load(c, e->id, e)) == IOTSEC_OK)
        a->out = enrollment_json(e);
    return rc;
}

static void free_extra(struct adm_job *a)
{
    free(a->extra);
}

void prov_h_enr_update(struct http_request *req, void *user)
{
    struct provision *p = user;
    struct prov_enrollment *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "provisioning");
        return;
    }
    json_t *o = NULL;
    if (!adm_admin_ok(req, p) || !find_enrollment(req, p, e) || (o = adm_body(req)) == NULL) {
        free(e);
        return;
    }
    const char *reason = NULL, *bad = apply_patch(o, e, &reason);
    struct adm_job *a = bad ? NULL : adm_job_new(req, p, run_enr_update, 200);
    if (a == NULL) {
        if (bad)
            adm_bad(req, bad, reason);
        json_decref(o);
        free(e);
        return;
    }
    json_decref(o);
    a->extra = e;
    a->free_extra = free_extra;
    adm_submit(a);
}

static int run_enr_delete(struct store_conn *c, struct adm_job *a)
{
    int64_t devices = 0;
    int rc = prov_enrollment_delete(c, a->id, &devices);
    if (rc == IOTSEC_ERR_STATE) {
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "%lld device(s) registered under this enrollment: disable it instead",
                 (long long)devices);
        adm_fail(a, 409, "ENROLLMENT_IN_USE", NULL, detail);
    } else if (rc == IOTSEC_ERR_NOTFOUND) {
        adm_fail(a, 404, "ENROLLMENT_NOT_FOUND", NULL, "no such enrollment");
    }
    return rc;
}

void prov_h_enr_delete(struct http_request *req, void *user)
{
    struct provision *p = user;
    struct prov_enrollment e;
    if (!adm_admin_ok(req, p) || !find_enrollment(req, p, &e))
        return;
    struct adm_job *a = adm_job_new(req, p, run_enr_delete, 204);
    if (a == NULL)
        return;
    a->id = e.id;
    adm_submit(a);
}

static int run_enr_action(struct store_conn *c, struct adm_job *a)
{
    int rc = prov_enrollment_set_enabled(c, a->id, strcmp(a->text, "enable") == 0);
    if (rc != IOTSEC_OK)
        return rc;
    struct prov_enrollment e;
    if ((rc = prov_enrollment_load(c, a->id, &e)) == IOTSEC_ERR_NOTFOUND)
        adm_fail(a, 404, "ENROLLMENT_NOT_FOUND", NULL, "no such enrollment");
    if (rc == IOTSEC_OK)
        a->out = enrollment_json(&e);
    return rc;
}

void prov_h_enr_action(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    const char *action = http_request_param(req, "action");
    int64_t id = id_param(req);
    if (strcmp(action, "enable") != 0 && strcmp(action, "disable") != 0) {
        http_respond_problem(req, 404, NULL, "actions: enable, disable", NULL, NULL, 0);
        return;
    }
    if (id == 0) {
        http_respond_problem(req, 404, NULL, "no such enrollment", "ENROLLMENT_NOT_FOUND", NULL,
                             0);
        return;
    }
    struct adm_job *a = adm_job_new(req, p, run_enr_action, 200);
    if (a == NULL)
        return;
    a->id = id;
    snprintf(a->text, sizeof(a->text), "%s", action);
    adm_submit(a);
}
