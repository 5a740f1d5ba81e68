/* The northbound face's security against the real daemon (issue 5): two AFs with client
 * certificates from two different CAs minted here, a stranger, token issuance and every
 * refusal over HTTP, external IDs per AF, consents (revocation effective at once), signing-key
 * rotation, the audit log and its verification against a tampered row. Every response goes
 * through the SUPI leak scanner (northbound_client.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "base/err.h"
#include "crypto/hmac_sha256.h"
#include "crypto/seal.h"
#include "expose/expose_int.h"
#include "fixture.h"
#include "store/store.h"
#include "northbound_client.h"

#define S1 "imsi-001010000000001"
#define S2 "imsi-001010000000002"
#define S3 "imsi-001010000000003"

static struct daemon_fixture F;
static char dir[96];
static struct nb_identity A, B, D, STRANGER, NOBODY;
static char cert_a[128], key_a[128], cert_b[128], key_b[128], cert_d[128], key_d[128],
    cert_s[128], key_s[128];
static char af_a[80], af_b[80], af_d[80];
static char ext_a_s1[300], ext_b_s1[300], ext_a_s3[300], consent_a_s1[80];

/* ---- helpers ---- */


static void register_af(const char *name, const char *cert, const char *services, char *af_id)
{
    char *pem = nb_read_file(cert);
    json_t *svcs = json_array();
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s", services);
    for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ","))
        json_array_append_new(svcs, json_string(t));
    json_t *o = nb_admin_json(&F, "POST", "/admin/v1/afs",
                           json_pack("{s:s, s:s, s:o}", "name", name, "cert_pem", pem, "services",
                                     svcs), 201);
    free(pem);
    snprintf(af_id, 80, "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
}

/* grants and returns the external id of supi (for a device consent) */
static void grant(const char *af, const char *kind, const char *target, char *consent_id,
                  const char *supi, char *extid)
{
    json_t *o = nb_admin_json(&F, "POST", "/admin/v1/consents",
                           json_pack("{s:s, s:s, s:s}", "af_id", af, "scope", "monitoring-event",
                                     kind, target), 201);
    if (consent_id)
        snprintf(consent_id, 80, "%s", json_string_value(json_object_get(o, "consent_id")));
    if (extid)
        snprintf(extid, 300, "%s",
                 json_string_value(json_object_get(json_object_get(o, "external_ids"), supi)));
    json_decref(o);
}

static long token_req(const struct nb_identity *who, const char *content_type, const char *form,
                      char **token, json_t **json)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/oauth2/token", F.north);
    struct nb_response r;
    nb_call(&F, who, "POST", url, NULL, content_type, form, 1, &r);
    json_t *o = json_loads(r.body, 0, NULL);
    if (token)
        *token = r.status == 200 ? strdup(json_string_value(json_object_get(o, "access_token")))
                                 : NULL;
    if (json)
        *json = o;
    else
        json_decref(o);
    long st = r.status;
    nb_response_free(&r);
    return st;
}

static char *token_for(const struct nb_identity *who, const char *scope)
{
    char form[128], *t = NULL;
    snprintf(form, sizeof(form), "grant_type=client_credentials&scope=%s", scope);
    assert_int_equal(token_req(who, "application/x-www-form-urlencoded", form, &t, NULL), 200);
    return t;
}

static long whoami(const struct nb_identity *who, const char *af, const char *token, int h2,
                   struct nb_response *r)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/iotsec-exposure/v1/%s/whoami", F.north, af);
    nb_call(&F, who, "GET", url, token, NULL, NULL, h2, r);
    return r->status;
}

static long authorisation(const struct nb_identity *who, const char *af, const char *token,
                          const char *ext, struct nb_response *r)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/iotsec-exposure/v1/%s/devices/%s/authorisation", F.north, af,
             ext);
    nb_call(&F, who, "GET", url, token, NULL, NULL, 1, r);
    return r->status;
}

static void expect_refused(const struct nb_identity *who, const char *af, const char *token,
                           long status, const char *www_error)
{
    struct nb_response r;
    assert_int_equal(whoami(who, af, token, 0, &r), status);
    char www[512] = "";
    if (www_error) {
        assert_int_equal(nb_header(&r, "www-authenticate", www, sizeof(www)), 0);
        assert_non_null(strstr(www, "Bearer"));
        assert_non_null(strstr(www, www_error));
    }
    assert_non_null(strstr(r.body, "\"status\""));
    nb_response_free(&r);
}

/* The daemon's current signing key, read as an attacker with the KEK would: lets the tests
 * forge validly signed tokens that must still be refused (expired, wrong audience...). */
static struct jwt_keyset *daemon_keys(void)
{
    char path[160], dbp[720];
    snprintf(path, sizeof(path), "%s/inst/kek.key", F.dir);
    struct seal_kek kek;
    assert_int_equal(seal_kek_load(path, 1, &kek), 0);
    fixture_db_path(&F, dbp, sizeof(dbp));
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *s;
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_open(dbp, &so, &s), IOTSEC_OK);
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    /* the newest key: SQLite breaks a tie of created_at by rowid, PostgreSQL by kid (as
     * the daemon does) */
    assert_int_equal(store_stmt(c, F.db.pg ? "SELECT kid, sealed_d FROM expose_signing_keys WHERE"
                                             " retired_at IS NULL ORDER BY created_at DESC,"
                                             " kid DESC LIMIT 1"
                                           : "SELECT kid, sealed_d FROM expose_signing_keys WHERE"
                                             " retired_at IS NULL ORDER BY created_at DESC,"
                                             " rowid DESC LIMIT 1",
                                &st),
                     IOTSEC_OK);
    assert_int_equal(store_step(st), STORE_ROW);
    const char *kid = store_col_text(st, 0);
    char aad[128];
    int alen = snprintf(aad, sizeof(aad), "iotsec-expose-key%c%s", 0, kid);
    uint8_t d[32];
    assert_int_equal(unseal(&kek, aad, (size_t)alen, store_col_blob(st, 1),
                            (size_t)store_col_bytes(st, 1), d), 0);
    struct jwt_key *key;
    assert_int_equal(jwt_key_from_private(kid, d, &key), 0);
    store_reset(st);
    store_close(s);
    struct jwt_keyset *ks;
    assert_int_equal(jwt_keyset_new(&ks), 0);
    assert_int_equal(jwt_keyset_rotate(ks, key), 0);
    seal_kek_wipe(&kek);
    return ks;
}

static void cert_thumb(const char *pem_path, uint8_t out[32])
{
    FILE *fp = fopen(pem_path, "rb");
    assert_non_null(fp);
    fclose(fp);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -outform DER", pem_path);
    FILE *p = popen(cmd, "r");
    uint8_t der[4096];
    size_t n = fread(der, 1, sizeof(der), p);
    pclose(p);
    jwt_cert_thumbprint(der, n, out);
}

static char *forge_as(const char *aud, int64_t iat, int64_t exp, const char *sub,
                      const char *client_id, const char *cert)
{
    struct jwt_keyset *ks = daemon_keys();
    char iss[160];
    /* the issuer is the configured northbound address */
    snprintf(iss, sizeof(iss), "https://127.0.0.1:%u", F.north_port);
    struct jwt_claims c = {.iss = iss, .sub = sub, .aud = aud, .scope = "monitoring-event",
                           .client_id = client_id, .iat = iat, .exp = exp};
    cert_thumb(cert, c.x5t_s256);
    char *t = NULL;
    assert_int_equal(jwt_sign(ks, &c, &t), 0);
    jwt_keyset_free(ks);
    return t;
}

static char *forge(const char *aud, int64_t iat, int64_t exp, const char *sub, const char *cert)
{
    return forge_as(aud, iat, exp, sub, sub, cert);
}

/* A refusal whose ProblemDetails cause is the one expected. */
static void expect_cause(const struct nb_identity *who, const char *af, const char *token,
                         long status, const char *cause)
{
    struct nb_response r;
    assert_int_equal(whoami(who, af, token, 0, &r), status);
    char want[96];
    snprintf(want, sizeof(want), "\"cause\":\"%s\"", cause);
    assert_non_null(strstr(r.body, want));
    nb_response_free(&r);
}

static char *b64(const char *s, size_t n)
{
    char *out = malloc(B64URL_LEN(n) + 1);
    b64url_encode((const uint8_t *)s, n, out);
    return out;
}

/* header.payload.sig with a header of our choosing and A's real claims */
static char *hostile(const char *header, const char *real_token, const char *key, size_t key_len)
{
    const char *dot = strchr(real_token, '.');
    const char *dot2 = strchr(dot + 1, '.');
    char *h = b64(header, strlen(header));
    size_t len = strlen(h) + (size_t)(dot2 - dot) + 100;
    char *t = malloc(len);
    snprintf(t, len, "%s%.*s.", h, (int)(dot2 - dot), dot);
    free(h);
    if (key) {
        struct hmac_sha256 k;
        uint8_t mac[32];
        hmac_sha256_init(&k, key, key_len);
        hmac_sha256(&k, t, strlen(t) - 1, mac);
        char *m = b64((const char *)mac, 32);
        t = realloc(t, strlen(t) + strlen(m) + 1);
        strcat(t, m);
        free(m);
    }
    return t;
}

/* ---- setup ---- */

static void ident(struct nb_identity *id, char *cert, char *key, const char *name)
{
    snprintf(cert, 128, "%s/%s.pem", dir, name);
    snprintf(key, 128, "%s/%s.key", dir, name);
    id->cert = cert;
    id->key = key;
    assert_int_equal(nb_mint_client(dir, name), 0);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_init(&F, NULL) != 0 || fixture_start(&F) != 0)
        return -1;
    snprintf(dir, sizeof(dir), "%s", F.dir);
    ident(&A, cert_a, key_a, "afa");
    ident(&B, cert_b, key_b, "afb");
    ident(&D, cert_d, key_d, "afd");
    ident(&STRANGER, cert_s, key_s, "stranger");
    const char *subs[] = {S1, S2, S3};
    for (int i = 0; i < 3; i++) {
        char j[300];
        snprintf(j, sizeof(j),
                 "{\"supi\":\"%s\",\"k\":\"000102030405060708090a0b0c0d0e0f\","
                 "\"opc\":\"000102030405060708090a0b0c0d0e0f\",\"amf\":\"8000\",\"owner\":\"acme\"}",
                 subs[i]);
        if (fixture_add_subscriber(&F, j) != 0)
            return -1;
    }
    register_af("AF A", cert_a, "monitoring-event,as-session-with-qos", af_a);
    register_af("AF B", cert_b, "monitoring-event", af_b);
    register_af("AF D", cert_d, "monitoring-event", af_d);
    grant(af_a, "supi", S1, consent_a_s1, S1, ext_a_s1);
    grant(af_b, "supi", S1, NULL, S1, ext_b_s1);
    json_decref(nb_admin_json(&F, "POST", "/admin/v1/groups/fleet-1/members",
                           json_pack("{s:[s]}", "supis", S3), 200));
    grant(af_a, "group", "fleet-1", NULL, S3, ext_a_s3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&F, 15);
    fixture_cleanup(&F);
    return 0;
}

/* ---- tests ---- */

static void test_leak_scanner_sees_imsi_digits(void **state)
{
    (void)state;
    char found[300];
    const char *leaky = "{\"ueId\":\"x-001010000000002-y\"}";
    assert_int_equal(nb_leak_find(&F, leaky, strlen(leaky), found, sizeof(found)), 1);
    assert_string_equal(found, S2);
    assert_int_equal(nb_leak_find(&F, ext_a_s1, strlen(ext_a_s1), found, sizeof(found)), 0);
}

static void test_token_issued_bound_to_certificate(void **state)
{
    (void)state;
    json_t *o;
    char *t;
    assert_int_equal(token_req(&A, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&scope=monitoring-event&client_id=x",
                               &t, NULL), 401); /* client_id must be the AF's */
    char form[200];
    snprintf(form, sizeof(form), "grant_type=client_credentials&scope=monitoring-event&client_id=%s",
             af_a);
    assert_int_equal(token_req(&A, "application/x-www-form-urlencoded", form, &t, &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(o, "expires_in")), 300);
    assert_string_equal(json_string_value(json_object_get(o, "scope")), "monitoring-event");
    json_decref(o);
    /* the claims: sub, aud, cnf.x5t#S256 = A's certificate */
    const char *p = strchr(t, '.') + 1;
    uint8_t claims[2048];
    size_t n;
    assert_int_equal(b64url_decode(p, (size_t)(strchr(p, '.') - p), claims, sizeof(claims), &n), 0);
    json_t *c = json_loadb((const char *)claims, n, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), af_a);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), "3gpp-monitoring-event");
    uint8_t th[32];
    char th64[64];
    cert_thumb(cert_a, th);
    b64url_encode(th, 32, th64);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "cnf"), "x5t#S256")),
                        th64);
    json_decref(c);
    /* the token works over HTTP/1.1 and h2, and again (the cache) */
    for (int i = 0; i < 4; i++) {
        struct nb_response r;
        assert_int_equal(whoami(&A, af_a, t, i & 1, &r), 200);
        assert_non_null(strstr(r.body, af_a));
        nb_response_free(&r);
    }
    free(t);
    /* JWKS at both addresses */
    char url[128];
    struct nb_response r;
    snprintf(url, sizeof(url), "%s/.well-known/jwks.json", F.north);
    nb_call(&F, &B, "GET", url, NULL, NULL, NULL, 1, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ES256\""));
    assert_null(strstr(r.body, "\"d\""));
    nb_response_free(&r);
}

static void test_token_endpoint_refusals(void **state)
{
    (void)state;
    json_t *o;
    const char *form = "grant_type=client_credentials&scope=monitoring-event";
    /* no client certificate: the handshake itself is refused */
    assert_int_equal(token_req(&NOBODY, "application/x-www-form-urlencoded", form, NULL, NULL), -1);
    /* a certificate nobody registered */
    assert_int_equal(token_req(&STRANGER, "application/x-www-form-urlencoded", form, NULL, &o), 401);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "invalid_client");
    json_decref(o);
    assert_int_equal(token_req(&A, "application/x-www-form-urlencoded",
                               "grant_type=password&scope=monitoring-event", NULL, &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "unsupported_grant_type");
    json_decref(o);
    assert_int_equal(token_req(&A, "application/x-www-form-urlencoded", "scope=monitoring-event",
                               NULL, &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "invalid_request");
    json_decref(o);
    assert_int_equal(token_req(&A, "application/json", "{\"grant_type\":\"client_credentials\"}",
                               NULL, NULL), 400);
    assert_int_equal(token_req(&A, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&grant_type=client_credentials",
                               NULL, NULL), 400);
    /* scope beyond the registration, or unknown */
    assert_int_equal(token_req(&B, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&scope=as-session-with-qos", NULL,
                               &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "invalid_scope");
    json_decref(o);
    assert_int_equal(token_req(&B, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&scope=everything", NULL, NULL), 400);
    assert_int_equal(token_req(&B, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials&scope=monitoring-event%2", NULL,
                               NULL), 400);
}

static void test_api_refusals(void **state)
{
    (void)state;
    char *ta = token_for(&A, "monitoring-event");
    int64_t now = (int64_t)time(NULL);
    /* no token: 401 with a bare Bearer challenge */
    expect_refused(&A, af_a, NULL, 401, "realm");
    /* the token of A on B's connection (B's certificate): binding */
    expect_refused(&B, af_b, ta, 401, "invalid_token");
    expect_refused(&B, af_a, ta, 401, "invalid_token");
    /* ... or on a stranger's */
    expect_refused(&STRANGER, af_a, ta, 401, "invalid_token");
    /* A's token, B's path */
    expect_refused(&A, af_b, ta, 403, NULL);
    /* validly signed by the daemon's key, but expired / for another API / too long-lived */
    char *t = forge("3gpp-monitoring-event", now - 400, now - 100, af_a, cert_a);
    expect_refused(&A, af_a, t, 401, "invalid_token");
    free(t);
    t = forge("3gpp-monitoring-event", now, now + 3600, af_a, cert_a);
    expect_refused(&A, af_a, t, 401, "invalid_token");
    free(t);
    t = forge("3gpp-monitoring-event", now, now + 100, af_a, cert_b); /* bound to B */
    expect_refused(&A, af_a, t, 401, "invalid_token");
    free(t);
    /* signed, bound to A, subject A, but issued to another client: sub must be client_id */
    t = forge_as("3gpp-monitoring-event", now, now + 100, af_a, af_b, cert_a);
    expect_refused(&A, af_a, t, 401, "invalid_token");
    expect_cause(&A, af_a, t, 401, "TOKEN_SUBJECT");
    free(t);
    char *other = token_for(&A, "as-session-with-qos"); /* a real token for another API */
    expect_refused(&A, af_a, other, 401, "invalid_token");
    free(other);
    /* alg none, and HS256 keyed with the public key (the JWKS) */
    t = hostile("{\"alg\":\"none\",\"typ\":\"at+jwt\"}", ta, NULL, 0);
    expect_refused(&A, af_a, t, 401, "invalid_token");
    free(t);
    char url[128];
    struct nb_response r;
    snprintf(url, sizeof(url), "%s/oauth2/jwks", F.north);
    nb_call(&F, &A, "GET", url, NULL, NULL, NULL, 1, &r);
    json_t *jwks = json_loads(r.body, 0, NULL);
    const char *kid = json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "kid"));
    char hdr[200];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
    t = hostile(hdr, ta, r.body, strlen(r.body));
    expect_refused(&A, af_a, t, 401, "invalid_token");
    free(t);
    json_decref(jwks);
    nb_response_free(&r);
    /* garbage token */
    expect_refused(&A, af_a, "not.a.token", 401, "invalid_token");
    free(ta);
    /* the refusals are in the audit log under A */
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/audit?af=%s", af_a);
    json_t *log = nb_admin_json(&F, "GET", path, NULL, 200);
    char *dump = json_dumps(log, 0);
    assert_non_null(strstr(dump, "TOKEN_EXPIRED"));
    assert_non_null(strstr(dump, "TOKEN_AUDIENCE"));
    assert_non_null(strstr(dump, "TOKEN_ALG"));
    assert_non_null(strstr(dump, "TOKEN_LIFETIME"));
    assert_non_null(strstr(dump, "TOKEN_BINDING"));
    assert_non_null(strstr(dump, "TOKEN_SUBJECT"));
    free(dump);
    json_decref(log);
}

static void test_disabled_af_refused_at_once(void **state)
{
    (void)state;
    char *t = token_for(&D, "monitoring-event");
    struct nb_response r;
    assert_int_equal(whoami(&D, af_d, t, 1, &r), 200); /* now cached */
    nb_response_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/afs/%s/disable", af_d);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    expect_refused(&D, af_d, t, 401, "invalid_token");
    assert_int_equal(token_req(&D, "application/x-www-form-urlencoded",
                               "grant_type=client_credentials", NULL, NULL), 401);
    /* Enabled again: the tokens it held before the disable stay dead, for good; a new one
     * works. */
    snprintf(path, sizeof(path), "/admin/v1/afs/%s/enable", af_d);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    expect_refused(&D, af_d, t, 401, "invalid_token");
    expect_cause(&D, af_d, t, 401, "TOKEN_REVOKED");
    char *fresh = token_for(&D, "monitoring-event");
    assert_int_equal(whoami(&D, af_d, fresh, 1, &r), 200);
    nb_response_free(&r);
    /* ... also after a restart (the generation is stored, not a cache) */
    int status = fixture_stop(&F, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_start(&F), 0);
    expect_cause(&D, af_d, t, 401, "TOKEN_REVOKED");
    assert_int_equal(whoami(&D, af_d, fresh, 1, &r), 200);
    nb_response_free(&r);
    free(fresh);
    free(t);
}

static void test_external_ids_and_consent(void **state)
{
    (void)state;
    struct nb_response r;
    char *ta = token_for(&A, "monitoring-event"), *tb = token_for(&B, "monitoring-event");
    /* two AFs, two unlinkable names for one device; neither is the SUPI */
    assert_string_not_equal(ext_a_s1, ext_b_s1);
    assert_null(strstr(ext_a_s1, "001010000000001"));
    assert_int_equal(authorisation(&A, af_a, ta, ext_a_s1, &r), 200);
    assert_non_null(strstr(r.body, consent_a_s1));
    nb_response_free(&r);
    assert_int_equal(authorisation(&B, af_b, tb, ext_b_s1, &r), 200);
    nb_response_free(&r);
    /* B presents A's external id: refused like an unknown one, and audited */
    assert_int_equal(authorisation(&B, af_b, tb, ext_a_s1, &r), 403);
    assert_non_null(strstr(r.body, "UNKNOWN_EXTERNAL_ID"));
    nb_response_free(&r);
    /* an IMSI in place of an external id: malformed, never resolved */
    assert_int_equal(authorisation(&A, af_a, ta, S1, &r), 400);
    nb_response_free(&r);
    /* the group consent */
    assert_int_equal(authorisation(&A, af_a, ta, ext_a_s3, &r), 200);
    nb_response_free(&r);
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/audit?af=%s", af_b);
    json_t *log = nb_admin_json(&F, "GET", path, NULL, 200);
    char *dump = json_dumps(log, 0);
    assert_non_null(strstr(dump, "UNKNOWN_EXTERNAL_ID"));
    free(dump);
    json_decref(log);
    /* the owner's opt-out beats the consent, at once; opting in again restores it */
    json_decref(nb_admin_json(&F, "POST", "/admin/v1/monitoring-opt-out",
                           json_pack("{s:s, s:b}", "supi", S1, "opt_out", 1), 200));
    assert_int_equal(authorisation(&A, af_a, ta, ext_a_s1, &r), 403);
    assert_non_null(strstr(r.body, "DENY_OPTED_OUT"));
    nb_response_free(&r);
    json_decref(nb_admin_json(&F, "POST", "/admin/v1/monitoring-opt-out",
                           json_pack("{s:s, s:b}", "supi", S1, "opt_out", 0), 200));
    assert_int_equal(authorisation(&A, af_a, ta, ext_a_s1, &r), 200);
    nb_response_free(&r);
    /* revocation: refused by the very next request */
    snprintf(path, sizeof(path), "/admin/v1/consents/%s/revoke", consent_a_s1);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    assert_int_equal(authorisation(&A, af_a, ta, ext_a_s1, &r), 403);
    assert_non_null(strstr(r.body, "DENY_CONSENT_REVOKED"));
    nb_response_free(&r);
    free(ta);
    free(tb);
}

static void test_signing_key_rotation(void **state)
{
    (void)state;
    char *old = token_for(&B, "monitoring-event");
    json_t *jwks0 = NULL;
    struct nb_response r;
    assert_int_equal(whoami(&B, af_b, old, 1, &r), 200);
    nb_response_free(&r);
    json_t *k = nb_admin_json(&F, "POST", "/admin/v1/expose/signing-keys/rotate", NULL, 200);
    char kid_new[80];
    snprintf(kid_new, sizeof(kid_new), "%s", json_string_value(json_object_get(k, "kid")));
    json_decref(k);
    char *fresh = token_for(&B, "monitoring-event");
    assert_int_equal(whoami(&B, af_b, old, 0, &r), 200); /* the old key still verifies */
    nb_response_free(&r);
    assert_int_equal(whoami(&B, af_b, fresh, 0, &r), 200);
    nb_response_free(&r);
    /* the old kid from the old token's header */
    uint8_t hdr[512];
    size_t n;
    assert_int_equal(b64url_decode(old, (size_t)(strchr(old, '.') - old), hdr, sizeof(hdr), &n), 0);
    json_t *h = json_loadb((const char *)hdr, n, 0, NULL);
    char path[200];
    snprintf(path, sizeof(path), "/admin/v1/expose/signing-keys/%s/retire",
             json_string_value(json_object_get(h, "kid")));
    json_decref(h);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 200));
    expect_refused(&B, af_b, old, 401, "invalid_token");
    assert_int_equal(whoami(&B, af_b, fresh, 0, &r), 200);
    nb_response_free(&r);
    /* the current key cannot be retired */
    snprintf(path, sizeof(path), "/admin/v1/expose/signing-keys/%s/retire", kid_new);
    json_decref(nb_admin_json(&F, "POST", path, NULL, 409));
    /* 8 keys are accepted at most: the 9th rotation is refused, nothing stored */
    for (int i = 0; i < 7; i++)
        json_decref(nb_admin_json(&F, "POST", "/admin/v1/expose/signing-keys/rotate", NULL, 200));
    json_decref(nb_admin_json(&F, "POST", "/admin/v1/expose/signing-keys/rotate", NULL, 409));
    assert_int_equal(whoami(&B, af_b, fresh, 0, &r), 200);
    nb_response_free(&r);
    json_decref(jwks0);
    free(old);
    free(fresh);
}

static int run_ctl(const char *args, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --dir %s/inst %s 2>/dev/null", IOTSECCTL_PATH, F.dir, args);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_audit_verify_detects_tampering(void **state)
{
    (void)state;
    char out[8192];
    /* records reach the database in a flush job: wait until the verify sees them */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(run_ctl("audit verify", out, sizeof(out)), 0);
        json_t *o = json_loads(out, 0, NULL);
        json_int_t n = json_integer_value(json_object_get(o, "records"));
        json_decref(o);
        if (n >= 20)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    assert_non_null(strstr(out, "\"ok\":true"));
    assert_int_equal(run_ctl("audit log --af nobody-at-all", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"records\":[]"));
    /* the database cannot be edited through the schema ... */
    if (F.db.pg) {
        assert_int_not_equal(test_db_exec(&F.db, "UPDATE expose_audit SET allow = 1 WHERE seq = 3"),
                             0);
        assert_int_equal(test_db_exec(&F.db, "DROP TRIGGER expose_audit_no_update ON expose_audit;"
                                             "UPDATE expose_audit SET reason = 'ALLOW_CONSENT',"
                                             " allow = 1 WHERE seq = 3"),
                         0);
    } else {
        char dbp[128];
        fixture_db_path(&F, dbp, sizeof(dbp));
        sqlite3 *db;
        assert_int_equal(sqlite3_open(dbp, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_not_equal(sqlite3_exec(db, "UPDATE expose_audit SET allow = 1 WHERE seq = 3", NULL,
                                          NULL, NULL), SQLITE_OK);
        /* ... but an attacker with the file can drop the trigger: the chain shows it */
        assert_int_equal(sqlite3_exec(db, "DROP TRIGGER expose_audit_no_update;"
                                          "UPDATE expose_audit SET reason = 'ALLOW_CONSENT',"
                                          " allow = 1 WHERE seq = 3", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
    assert_int_equal(run_ctl("audit verify", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "\"ok\":false"));
    assert_non_null(strstr(out, "\"first_bad_seq\":3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leak_scanner_sees_imsi_digits),
        cmocka_unit_test(test_token_issued_bound_to_certificate),
        cmocka_unit_test(test_token_endpoint_refusals),
        cmocka_unit_test(test_api_refusals),
        cmocka_unit_test(test_disabled_af_refused_at_once),
        cmocka_unit_test(test_external_ids_and_consent),
        cmocka_unit_test(test_signing_key_rotation),
        cmocka_unit_test(test_audit_verify_detects_tampering),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
