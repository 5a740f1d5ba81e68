/* Accounts on the admin face, and the admin face's gate that names who makes each request.
 *   POST /admin/v1/users                  {name, role, password?, totp?, cert_pem?}
 *                                         -> 201 {name, role, password (when generated),
 *                                            totp_uri (when asked)}: shown once, never stored
 *   GET  /admin/v1/users?after=&limit=    {"items": [...], "next"}
 *   GET  /admin/v1/users/{name}
 *   POST /admin/v1/users/{name}/{action}  disable | enable | unlock | clear-cert |
 *                                         reset-password {password?, totp?} | set-cert {cert_pem}
 * All of it needs the admin role. Passwords are hashed here and never logged or echoed
 * (except a generated one, once, to the admin who asked for it). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"
#include "base/b64url.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "http/http.h"

#define LIST_MAX 1000

bool account_authorize(struct http_request *req, enum account_role role)
{
    enum account_role need = account_role_required(
        http_request_method(req), http_request_route(req), http_request_param(req, "action"));
    if (role >= need)
        return true;
    char detail[128];
    snprintf(detail, sizeof(detail), "this needs the %s role; %s has the %s role",
             account_role_name(need), http_request_principal(req), account_role_name(role));
    http_respond_problem(req, 403, NULL, detail, "ROLE", NULL, 0);
    return false;
}

bool account_admin_gate(struct http_request *req, void *user)
{
    struct account_service *svc = user;
    const struct http_peer *peer = http_request_peer(req);
    if (!peer->has_cert)
        return true;
    if (strcmp(peer->cert_sha256_hex, svc->admin_cert_sha256) == 0) {
        http_request_set_principal(req, "admin");
        return true;
    }
    struct account a;
    if (account_get_by_cert(svc->store, peer->cert_sha256_hex, &a) != IOTSEC_OK || a.disabled)
        return true; /* unnamed: the handlers refuse it */
    http_request_set_principal(req, a.name);
    return account_authorize(req, a.role);
}

/* ---- the handlers ---- */

static bool admin_only(struct http_request *req)
{
    const char *who = http_request_principal(req);
    if (who != NULL) /* the gate checked the role against the route */
        return true;
    http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL, 0);
    return false;
}

static json_t *account_json(const struct account *a)
{
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:i, s:I, s:I}", "name", a->name, "role",
                          account_role_name(a->role), "disabled", a->disabled, "totp", a->has_totp,
                          "failed_logins", a->failed_logins, "created_at",
                          (json_int_t)a->created_at, "updated_at", (json_int_t)a->updated_at);
    if (a->cert_sha256[0])
        json_object_set_new(o, "cert_sha256", json_string(a->cert_sha256));
    if (a->locked_until > (int64_t)time(NULL))
        json_object_set_new(o, "locked_until", json_integer(a->locked_until));
    return o;
}

static void bad(struct http_request *req, const char *pointer, const char *reason)
{
    http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", pointer, reason);
}

/* SHA-256 (hex) of the DER of one PEM certificate. */
static int cert_fingerprint(const char *pem, char out[65])
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    X509_free(x);
    if (n <= 0)
        return IOTSEC_ERR_INVALID;
    uint8_t md[32];
    unsigned len = 0;
    int ok = EVP_Digest(der, (size_t)n, md, &len, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok || len != 32)
        return IOTSEC_ERR_CRYPTO;
    hex_encode(md, 32, out);
    return IOTSEC_OK;
}

/* Sets a->pw_hash from body's "password", or from a generated one copied to generated
 * (""when the body gave one). Answers and returns false on bad input. */
static bool set_password(struct http_request *req, json_t *body, struct account *a,
                         char generated[40])
{
    json_t *pw = json_object_get(body, "password");
    char mine[40] = "";
    const char *use = NULL;
    if (pw != NULL) {
        use = json_string_value(pw);
        if (!account_password_acceptable(use)) {
            bad(req, "/password", "12..128 printable ASCII characters");
            return false;
        }
    } else {
        uint8_t r[18];
        crypto_random(r, sizeof(r));
        b64url_encode(r, sizeof(r), mine); /* 24 characters, 144 bits */
        secure_wipe(r, sizeof(r));
        use = mine;
    }
    int rc = account_password_hash(use, 0, a->pw_hash);
    snprintf(generated, 40, "%s", pw ? "" : mine);
    secure_wipe(mine, sizeof(mine));
    if (rc != IOTSEC_OK) {
        http_respond_error(req, rc, "password");
        return false;
    }
    return true;
}

/* A new TOTP secret, sealed into a; uri gets the otpauth:// URI to show once. */
static int new_totp(const struct account_service *svc, struct account *a, char *uri, size_t cap)
{
    uint8_t secret[ACCOUNT_TOTP_LEN];
    char b32[40];
    crypto_random(secret, sizeof(secret));
    int rc = account_totp_seal(svc->kek, a->name, secret, a->totp_sealed);
    account_base32(secret, sizeof(secret), b32, sizeof(b32));
    secure_wipe(secret, sizeof(secret));
    if (rc == IOTSEC_OK) {
        a->has_totp = true;
        snprintf(uri, cap, "otpauth://totp/iotsec:%s?secret=%s&issuer=iotsec&digits=6&period=30",
                 a->name, b32);
    }
    secure_wipe(b32, sizeof(b32));
    return rc;
}

static void answer_secrets(struct http_request *req, int status, const struct account *a,
                           const char *generated, const char *uri)
{
    json_t *o = account_json(a);
    if (generated[0])
        json_object_set_new(o, "password", json_string(generated));
    if (uri[0])
        json_object_set_new(o, "totp_uri", json_string(uri));
    http_respond_json(req, status, o);
}

static void handle_add(struct http_request *req, void *user)
{
    struct account_service *svc = user;
    if (!admin_only(req))
        return;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    struct account a = {0};
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *role = json_string_value(json_object_get(body, "role"));
    json_t *totp = json_object_get(body, "totp"), *pem = json_object_get(body, "cert_pem");
    char generated[40] = "", uri[200] = "";
    if (!account_name_valid(name))
        bad(req, "/name", "1..32 of a-z 0-9 . _ - (starting with a letter or digit), not admin");
    else if (account_role_parse(role, &a.role) != IOTSEC_OK)
        bad(req, "/role", "viewer, operator or admin");
    else if (totp && !json_is_boolean(totp))
        bad(req, "/totp", "true or false");
    else if (pem && (!json_is_string(pem) ||
                     cert_fingerprint(json_string_value(pem), a.cert_sha256) != IOTSEC_OK))
        bad(req, "/cert_pem", "one PEM certificate");
    else {
        snprintf(a.name, sizeof(a.name), "%s", name);
        if (set_password(req, body, &a, generated)) {
            a.created_at = a.updated_at = (int64_t)time(NULL);
            int rc = json_is_true(totp) ? new_totp(svc, &a, uri, sizeof(uri)) : IOTSEC_OK;
            if (rc == IOTSEC_OK)
                rc = account_insert(svc->store, &a);
            if (rc == IOTSEC_OK) {
                log_msg(LOG_INFO, http_request_id(req), "account %s (%s) added by %s", a.name,
                        account_role_name(a.role), http_request_principal(req));
                answer_secrets(req, 201, &a, generated, uri);
            } else
                http_respond_error(req, rc,
                                   rc == IOTSEC_ERR_CONFLICT ? "the name or certificate is taken"
                                                             : "account");
        }
    }
    secure_wipe(generated, sizeof(generated));
    secure_wipe(uri, sizeof(uri));
    json_decref(body);
}

static void list_one(const struct account *a, void *ctx)
{
    json_array_append_new(ctx, account_json(a));
}

static void handle_list(struct http_request *req, void *user)
{
    struct account_service *svc = user;
    if (!admin_only(req))
        return;
    const char *after_s = http_request_query_param(req, "after");
    const char *limit_s = http_request_query_param(req, "limit");
    long long after = after_s ? atoll(after_s) : 0, limit = limit_s ? atoll(limit_s) : 100;
    if (after < 0 || limit < 1 || limit > LIST_MAX) {
        bad(req, "after|limit", "after >= 0; 1 <= limit <= 1000");
        return;
    }
    json_t *items = json_array();
    int64_t last = 0;
    int rc = account_list(svc->store, after, (size_t)limit, list_one, items, &last);
    if (rc != IOTSEC_OK) {
        json_decref(items);
        http_respond_error(req, rc, "accounts");
        return;
    }
    json_t *o = json_object();
    bool full = json_array_size(items) == (size_t)limit;
    json_object_set_new(o, "items", items);
    if (full)
        json_object_set_new(o, "next", json_integer(last));
    http_respond_json(req, 200, o);
}

static bool load(struct http_request *req, struct account_service *svc, struct account *a)
{
    const char *name = http_request_param(req, "name");
    int rc = account_name_valid(name) ? account_get(svc->store, name, a) : IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        http_respond_error(req, rc, "account");
    return rc == IOTSEC_OK;
}

static void handle_show(struct http_request *req, void *user)
{
    struct account a;
    if (admin_only(req) && load(req, user, &a))
        http_respond_json(req, 200, account_json(&a));
}

static void handle_action(struct http_request *req, void *user)
{
    struct account_service *svc = user;
    struct account a;
    if (!admin_only(req) || !load(req, svc, &a))
        return;
    const char *action = http_request_param(req, "action");
    char generated[40] = "", uri[200] = "";
    json_t *body = NULL;
    bool ok = true;
    if (strcmp(action, "disable") == 0 || strcmp(action, "enable") == 0)
        a.disabled = action[0] == 'd';
    else if (strcmp(action, "unlock") == 0)
        a.failed_logins = 0, a.locked_until = 0;
    else if (strcmp(action, "clear-cert") == 0)
        a.cert_sha256[0] = '\0';
    else if (strcmp(action, "set-cert") == 0 || strcmp(action, "reset-password") == 0) {
        size_t len;
        http_request_body(req, &len);
        body = len ? http_request_json(req) : json_object();
        if (body == NULL)
            return;
        if (action[0] == 's') {
            const char *pem = json_string_value(json_object_get(body, "cert_pem"));
            if (pem == NULL || cert_fingerprint(pem, a.cert_sha256) != IOTSEC_OK) {
                bad(req, "/cert_pem", "one PEM certificate");
                ok = false;
            }
        } else {
            json_t *totp = json_object_get(body, "totp");
            ok = set_password(req, body, &a, generated);
            if (ok && totp && !json_is_boolean(totp)) {
                bad(req, "/totp", "true or false");
                ok = false;
            }
            if (ok && json_is_false(totp))
                a.has_totp = false;
            if (ok && json_is_true(totp) && new_totp(svc, &a, uri, sizeof(uri)) != IOTSEC_OK) {
                http_respond_error(req, IOTSEC_ERR_CRYPTO, "totp");
                ok = false;
            }
            a.failed_logins = 0, a.locked_until = 0;
        }
    } else {
        struct http_invalid_param ip = {"action", "disable, enable, unlock, reset-password, "
                                                  "set-cert or clear-cert"};
        http_respond_problem(req, 404, NULL, "no such action", NULL, &ip, 1);
        ok = false;
    }
    if (ok) {
        a.updated_at = (int64_t)time(NULL);
        int rc = account_update(svc->store, &a);
        if (rc == IOTSEC_OK) {
            log_msg(LOG_INFO, http_request_id(req), "account %s: %s by %s", a.name, action,
                    http_request_principal(req));
            answer_secrets(req, 200, &a, generated, uri);
        } else
            http_respond_error(req, rc,
                               rc == IOTSEC_ERR_CONFLICT ? "the certificate is registered already"
                                                         : "account");
    }
    secure_wipe(generated, sizeof(generated));
    secure_wipe(uri, sizeof(uri));
    json_decref(body);
}

int account_admin_routes(struct http_server *adm, struct account_service *svc)
{
    int rc = http_server_route(adm, "POST", "/admin/v1/users", handle_add, svc);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/users", handle_list, svc);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "GET", "/admin/v1/users/{name}", handle_show, svc);
    if (rc == IOTSEC_OK)
        rc = http_server_route(adm, "POST", "/admin/v1/users/{name}/{action}", handle_action, svc);
    return rc;
}
