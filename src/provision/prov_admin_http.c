/* The operator's provisioning API on the admin face (docs/provisioning.md): the provisioning
 * public key, manufacturers, enrollments, gateways, devices, staged rotation. Writes are jobs
 * on the store's writer, answered from their completion. Secrets (group keys) are accepted
 * and, when iotsecd generates one, returned once; never listed. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "http/http.h"
#include "provision/prov_admin.h"
#include "provision/prov_admin_store.h"
#include "subscriber/subscriber.h"

#define PEM_MAX  16384

bool adm_admin_ok(struct http_request *req, const struct provision *p)
{
    if (http_request_principal(req) != NULL) /* named by the face's gate (account.h) */
        return true;
    const struct http_peer *peer = http_request_peer(req);
    if (peer->has_cert && strcmp(peer->cert_sha256_hex, p->admin_cert_sha256) == 0)
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                         0);
    return false;
}

void adm_bad(struct http_request *req, const char *param, const char *reason)
{
    char ptr[80];
    snprintf(ptr, sizeof(ptr), "%s%s", param[0] == '/' ? "" : "/", param);
    http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", ptr, reason);
}

static void adm_done(void *arg, int rc)
{
    struct adm_job *a = arg;
    if (rc == IOTSEC_OK && a->out == NULL) {
        http_respond(a->req, a->status, NULL, NULL, 0); /* 204 */
    } else if (rc == IOTSEC_OK) {
        http_respond_json(a->req, a->status, a->out);
        a->out = NULL;
    } else if (a->err_status) {
        http_respond_problem(a->req, a->err_status, NULL, a->err_detail, a->err_cause,
                             a->err_param[0] ? &(struct http_invalid_param){a->err_param, NULL}
                                             : NULL,
                             a->err_param[0] ? 1 : 0);
    } else if (rc == IOTSEC_ERR_CONFLICT) {
        http_respond_problem(a->req, 409, NULL, "exists already", "CONFLICT", NULL, 0);
    } else {
        if (rc != IOTSEC_ERR_BUSY && rc != IOTSEC_ERR_FULL)
            log_msg(LOG_ERROR, http_request_id(a->req), "provisioning admin: %s (%s)",
                    iotsec_strerror(rc), store_errmsg());
        http_respond_error(a->req, rc, "provisioning");
    }
    json_decref(a->in);
    json_decref(a->out);
    if (a->free_extra)
        a->free_extra(a);
    secure_wipe(a, sizeof(*a));
    free(a);
}

void adm_fail(struct adm_job *a, int status, const char *cause, const char *param,
              const char *detail)
{
    a->err_status = status;
    a->err_cause = cause;
    snprintf(a->err_param, sizeof(a->err_param), "%s", param ? param : "");
    snprintf(a->err_detail, sizeof(a->err_detail), "%s", detail);
}

static int adm_run(struct store_conn *c, void *arg)
{
    struct adm_job *a = arg;
    return a->run(c, a);
}

struct adm_job *adm_job_new(struct http_request *req, struct provision *p, adm_run_fn run,
                            int status)
{
    struct adm_job *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "provisioning");
        return NULL;
    }
    a->p = p;
    a->req = req;
    a->run = run;
    a->status = status;
    a->now = (int64_t)time(NULL);
    return a;
}

void adm_submit(struct adm_job *a)
{
    http_request_defer(a->req);
    struct store_job j = {adm_run, adm_done, a};
    int rc = store_submit(a->p->store, &j);
    if (rc != IOTSEC_OK)
        adm_done(a, rc);
}

json_t *adm_body(struct http_request *req)
{
    return http_request_json(req);
}

/* ---- provisioning key ---- */

static void h_key(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    char b64[64];
    b64url_encode(p->sign_pub, sizeof(p->sign_pub), b64);
    http_respond_json(req, 200, json_pack("{s:s, s:s}", "algorithm", "Ed25519", "public_key",
                                          b64));
}

/* ---- manufacturers ---- */

static int cert_sha256(const char *pem, char out[65])
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char md[32];
    unsigned n = 0;
    int rc = x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32 ? IOTSEC_OK
                                                                       : IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK)
        hex_encode(md, 32, out);
    X509_free(x);
    BIO_free(bio);
    return rc;
}

static int run_mfr_add(struct store_conn *c, struct adm_job *a)
{
    const char *name = json_string_value(json_object_get(a->in, "name"));
    const char *pem = json_string_value(json_object_get(a->in, "ca_pem"));
    int64_t id;
    int rc = prov_manufacturer_insert(c, name, pem, a->text, a->now,
                                      a->secret_len == PROV_ED25519_PUB_LEN ? a->secret : NULL,
                                      &id);
    if (rc != IOTSEC_OK)
        return rc;
    a->out = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "name", name, "ca_sha256",
                       a->text);
    return IOTSEC_OK;
}

static void h_mfr_add(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pem = json_string_value(json_object_get(o, "ca_pem"));
    const char *root = json_string_value(json_object_get(o, "root_public_key"));
    uint8_t root_pub[PROV_ED25519_PUB_LEN];
    size_t root_len = 0;
    char fp[65];
    if (name == NULL || !prov_id_valid(name, strlen(name)) || strlen(name) > PROV_NAME_MAX)
        adm_bad(req, "name", "1..64 visible ASCII characters");
    else if (pem == NULL || strlen(pem) > PEM_MAX || cert_sha256(pem, fp) != IOTSEC_OK)
        adm_bad(req, "ca_pem", "a PEM X.509 CA certificate");
    else if (json_object_get(o, "root_public_key") &&
             (root == NULL || b64url_decode(root, strlen(root), root_pub, sizeof(root_pub),
                                              &root_len) != IOTSEC_OK ||
              root_len != PROV_ED25519_PUB_LEN))
        adm_bad(req, "root_public_key", "an Ed25519 public key: 32 bytes in base64url");
    else {
        struct adm_job *a = adm_job_new(req, p, run_mfr_add, 201);
        if (a) {
            memcpy(a->secret, root_pub, root_len);
            a->secret_len = root_len;
            a->in = o;
            snprintf(a->text, sizeof(a->text), "%s", fp);
            adm_submit(a);
            return;
        }
    }
    json_decref(o);
}

/* ---- gateways ---- */

static int run_gw_add(struct store_conn *c, struct adm_job *a)
{
    const char *name = json_string_value(json_object_get(a->in, "name"));
    int64_t id;
    int rc = prov_gateway_insert(c, name, a->text, a->now, &id);
    if (rc != IOTSEC_OK)
        return rc;
    json_t *ids = json_object_get(a->in, "enrollments");
    size_t i;
    json_t *it;
    json_array_foreach(ids, i, it) {
        struct prov_enrollment e;
        if (prov_enrollment_load(c, json_integer_value(it), &e) != IOTSEC_OK) {
            adm_fail(a, 404, "ENROLLMENT_NOT_FOUND", "enrollments", "no such enrollment");
            return IOTSEC_ERR_NOTFOUND;
        }
        if ((rc = prov_gateway_enrollment_add(c, id, e.id)) != IOTSEC_OK)
            return rc;
    }
    /* "o" steals: a reference of our own to the request's array, or the new empty one. */
    a->out = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "name", name, "cert_sha256",
                       a->text, "enrollments", ids ? json_incref(ids) : json_array());
    return IOTSEC_OK;
}

static void h_gw_add(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pem = json_string_value(json_object_get(o, "cert_pem"));
    json_t *ids = json_object_get(o, "enrollments");
    bool ids_ok = ids == NULL || json_is_array(ids);
    size_t i;
    json_t *it;
    json_array_foreach(ids, i, it) ids_ok = ids_ok && json_is_integer(it);
    char fp[65];
    if (name == NULL || !prov_id_valid(name, strlen(name)) || strlen(name) > PROV_NAME_MAX)
        adm_bad(req, "name", "1..64 visible ASCII characters");
    else if (pem == NULL || strlen(pem) > PEM_MAX || cert_sha256(pem, fp) != IOTSEC_OK)
        adm_bad(req, "cert_pem", "a PEM X.509 certificate");
    else if (!ids_ok)
        adm_bad(req, "enrollments", "an array of enrollment ids");
    else {
        struct adm_job *a = adm_job_new(req, p, run_gw_add, 201);
        if (a) {
            a->in = o;
            snprintf(a->text, sizeof(a->text), "%s", fp);
            adm_submit(a);
            return;
        }
    }
    json_decref(o);
}

int provision_admin_routes(struct provision *p, struct http_server *adm)
{
    static const struct {
        const char *method, *path;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/admin/v1/provisioning-key", h_key},
        {"POST", "/admin/v1/manufacturers", h_mfr_add},
        {"POST", "/admin/v1/enrollments", prov_h_enr_add},
        {"GET", "/admin/v1/enrollments", prov_h_enr_list},
        {"GET", "/admin/v1/enrollments/{id}", prov_h_enr_show},
        {"PATCH", "/admin/v1/enrollments/{id}", prov_h_enr_update},
        {"DELETE", "/admin/v1/enrollments/{id}", prov_h_enr_delete},
        {"POST", "/admin/v1/enrollments/{id}/{action}", prov_h_enr_action},
        {"POST", "/admin/v1/gateways", h_gw_add},
        {"GET", "/admin/v1/devices", prov_h_dev_list},
        {"GET", "/admin/v1/devices/{id}", prov_h_dev_show},
        {"POST", "/admin/v1/devices/{id}/rotate", prov_h_dev_rotate},
        {"POST", "/admin/v1/activations", prov_h_activations},
        {"POST", "/admin/v1/owners", prov_h_owner_add},
        {"POST", "/admin/v1/devices/{id}/transfer", prov_h_transfer},
        {"POST", "/admin/v1/devices/{id}/accept", prov_h_accept},
    };
    int rc = prov_audit_routes(p, adm);
    if (rc == IOTSEC_OK)
        rc = prov_list_routes(p, adm);
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(routes) / sizeof(routes[0]); i++)
        rc = http_server_route(adm, routes[i].method, routes[i].path, routes[i].fn, p);
    return rc;
}
