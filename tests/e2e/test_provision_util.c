/* See test_provision_util.h. Assertions are cmocka's: a helper that cannot do its job fails
 * the test that called it. */
#include "test_provision_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/b64url.h"
#include "capture.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/hmac_sha256.h"
#include "usim.h"

void tcert_make(struct tcert *c, const char *dir, const char *name, const char *cn,
                const struct tcert *issuer)
{
    static long serial = 1000;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->x509) : n);
    X509_set_pubkey(x, k);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer->x509 : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                              issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!issuer) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, issuer ? issuer->pkey : k, EVP_sha256()) > 0);
    c->x509 = x;
    c->pkey = k;
    snprintf(c->crt, sizeof(c->crt), "%s/%s.crt", dir, name);
    snprintf(c->key, sizeof(c->key), "%s/%s.key", dir, name);
    FILE *f = fopen(c->crt, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(c->key, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    unsigned char md[32];
    unsigned len;
    X509_digest(x, EVP_sha256(), md, &len);
    hex_encode(md, 32, c->sha256);
}

void tcert_free(struct tcert *c)
{
    X509_free(c->x509);
    EVP_PKEY_free(c->pkey);
    c->x509 = c->pkey = NULL;
}

char *tcert_pem(const struct tcert *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, c->x509);
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)len);
    BIO_free(b);
    return out;
}

void tb64(const uint8_t *in, size_t n, char *out)
{
    b64url_encode(in, n, out);
}

/* The server's base64url, decoded strictly (a lenient answer would be a server bug). */
static size_t unb64(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(b64url_decode(s, strlen(s), out, cap, &n), IOTSEC_OK);
    return n;
}

char *tcert_der_b64(const struct tcert *c)
{
    unsigned char *der = NULL;
    int len = i2d_X509(c->x509, &der);
    char *out = malloc((size_t)len * 2 + 8);
    tb64(der, (size_t)len, out);
    OPENSSL_free(der);
    return out;
}

static size_t header_cb(char *p, size_t size, size_t n, void *user)
{
    unsigned *ra = user;
    if (ra && strncasecmp(p, "retry-after:", 12) == 0)
        *ra = (unsigned)atoi(p + 12);
    return size * n;
}

long treq(const struct daemon_fixture *f, const struct tcert *client, const char *url,
          const char *body, char **out, unsigned *retry_after)
{
    CURL *c = curl_easy_init();
    struct fixture_buf b = {0};
    char ca[128];
    snprintf(ca, sizeof(ca), "%s/inst/pki/ca.crt", f->dir);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (client) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, client->crt);
        curl_easy_setopt(c, CURLOPT_SSLKEY, client->key);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (retry_after)
        *retry_after = 0;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, retry_after);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    capture_exchange(f, c, status, "POST", "application/json", body ? body : "",
                     body ? strlen(body) : 0, b.data, b.len, NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = b.data;
    else
        free(b.data);
    return status;
}

json_t *tadmin(const struct daemon_fixture *f, const char *method, const char *path,
               const char *body, long *status)
{
    char url[256], *out = NULL;
    snprintf(url, sizeof(url), "%s%s", f->admin, path);
    *status = fixture_request(f, AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                              body ? strlen(body) : 0, &out);
    json_t *o = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return o;
}

long tcount(const struct daemon_fixture *f, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    return fixture_db_int(f, sql, NULL);
}

void tsub_state(const struct daemon_fixture *f, const char *supi, char *out, size_t len)
{
    fixture_db_text(f, "SELECT state FROM subscriptions WHERE supi = ?", supi, out, len);
}

void tdevice_begin(const struct daemon_fixture *f, struct tdevice *d)
{
    char url[128], *out = NULL;
    snprintf(url, sizeof(url), "%s/device/v1/nonce", f->device);
    assert_int_equal(treq(f, NULL, url, "{}", &out, NULL), 200);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    const char *n = json_string_value(json_object_get(o, "nonce"));
    assert_non_null(n);
    assert_int_equal(unb64(n, d->nonce, sizeof(d->nonce)), PROV_NONCE_LEN);
    json_decref(o);
    assert_int_equal(prov_x25519_keygen(d->priv, d->pub), IOTSEC_OK);
}

static char *base_body(const struct tdevice *d, const char *att, const char *extra)
{
    char n[64], p[64], *s = malloc(8192);
    tb64(d->nonce, PROV_NONCE_LEN, n);
    tb64(d->pub, PROV_X25519_LEN, p);
    snprintf(s, 8192,
             "{\"registration_id\":\"%s\",\"nonce\":\"%s\",\"device_pub\":\"%s\","
             "\"attestation\":\"%s\"%s}",
             d->reg_id, n, p, att, extra);
    return s;
}

static struct prov_onboard_ctx octx(const struct tdevice *d)
{
    struct prov_onboard_ctx c = {.reg_id = d->reg_id, .reg_id_len = strlen(d->reg_id)};
    memcpy(c.server_nonce, d->nonce, PROV_NONCE_LEN);
    memcpy(c.device_pub, d->pub, PROV_X25519_LEN);
    return c;
}

char *tbody_derived(const struct tdevice *d, const uint8_t *group_key, size_t gk_len)
{
    uint8_t dk[PROV_KEY_LEN], mac[PROV_MAC_LEN];
    struct prov_onboard_ctx c = octx(d);
    assert_int_equal(prov_device_key(group_key, gk_len, d->reg_id, strlen(d->reg_id), dk),
                     IOTSEC_OK);
    assert_int_equal(prov_proof_compute(dk, &c, mac), IOTSEC_OK);
    char m[64], extra[96];
    tb64(mac, sizeof(mac), m);
    snprintf(extra, sizeof(extra), ",\"mac\":\"%s\"", m);
    return base_body(d, "derived_key", extra);
}

char *tbody_tls(const struct tdevice *d)
{
    return base_body(d, "tls", "");
}

char *tbody_x509_sig(const struct tdevice *d, const struct tcert *c)
{
    static const char label[] = "iotsec-onboard-v1 cert-proof";
    uint8_t msg[512];
    struct prov_writer w = {msg, sizeof(msg), 0, false};
    prov_put_lp(&w, label, sizeof(label) - 1);
    prov_put_lp(&w, d->nonce, PROV_NONCE_LEN);
    prov_put_lp(&w, d->reg_id, strlen(d->reg_id));
    prov_put_lp(&w, d->pub, PROV_X25519_LEN);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t sig[128];
    size_t sig_len = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, c->pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, msg, w.len), 1);
    EVP_MD_CTX_free(ctx);
    char *der = tcert_der_b64(c), s64[200], *extra = malloc(strlen(der) + 300);
    tb64(sig, sig_len, s64);
    sprintf(extra, ",\"certificate\":\"%s\",\"signature\":\"%s\"", der, s64);
    char *body = base_body(d, "x509_signature", extra);
    free(der);
    free(extra);
    return body;
}

uint8_t *tenvelope(const char *answer, size_t *len)
{
    json_t *o = json_loads(answer, 0, NULL);
    const char *e = json_string_value(json_object_get(o, "envelope"));
    assert_non_null(e);
    uint8_t *env = malloc(strlen(e));
    *len = unb64(e, env, strlen(e));
    json_decref(o);
    return env;
}

int topen(const struct tdevice *d, const char *answer, uint8_t *pt, size_t *pt_len,
          struct prov_bundle *b)
{
    size_t len;
    uint8_t *env = tenvelope(answer, &len);
    struct prov_onboard_ctx c = octx(d);
    int rc = prov_envelope_open(d->pinned, d->priv, &c, env, len, pt, 65536, pt_len);
    free(env);
    if (rc == IOTSEC_OK)
        rc = prov_bundle_parse(pt, *pt_len, b);
    return rc;
}

char *tbody_confirm(const struct tdevice *d, const struct prov_bundle *b)
{
    struct prov_confirm_ctx c = {d->reg_id, strlen(d->reg_id), b->cred_id, strlen(b->cred_id),
                                 b->cred_version, {0}};
    memcpy(c.server_nonce, d->nonce, PROV_NONCE_LEN);
    uint8_t mac[PROV_MAC_LEN];
    assert_int_equal(prov_confirm_compute(b->k, b->k_len, &c, mac), IOTSEC_OK);
    char n[64], m[64], *s = malloc(1024);
    tb64(d->nonce, PROV_NONCE_LEN, n);
    tb64(mac, PROV_MAC_LEN, m);
    snprintf(s, 1024,
             "{\"registration_id\":\"%s\",\"nonce\":\"%s\",\"credential_id\":\"%s\","
             "\"credential_version\":%u,\"mac\":\"%s\"}",
             d->reg_id, n, b->cred_id, b->cred_version, m);
    return s;
}

/* The rotation MAC exactly as docs/provisioning.md writes it (an independent computation). */
char *tbody_rotate(const struct tdevice *d, const struct prov_bundle *cur)
{
    static const char label[] = "iotsec-onboard-v1 rotate-key";
    uint8_t msg[256], rk[32], mac[PROV_MAC_LEN];
    struct prov_writer w = {msg, sizeof(msg), 0, false};
    prov_put_lp(&w, label, sizeof(label) - 1);
    prov_put_lp(&w, cur->cred_id, strlen(cur->cred_id));
    prov_put_u32(&w, cur->cred_version);
    struct hmac_sha256 h;
    hmac_sha256_init(&h, cur->k, cur->k_len);
    hmac_sha256(&h, msg, w.len, rk);
    hmac_sha256_wipe(&h);
    struct prov_onboard_ctx c = octx(d);
    assert_int_equal(prov_proof_compute(rk, &c, mac), IOTSEC_OK);
    char n[64], p[64], m[64], *s = malloc(1024);
    tb64(d->nonce, PROV_NONCE_LEN, n);
    tb64(d->pub, PROV_X25519_LEN, p);
    tb64(mac, PROV_MAC_LEN, m);
    snprintf(s, 1024,
             "{\"registration_id\":\"%s\",\"nonce\":\"%s\",\"device_pub\":\"%s\","
             "\"credential_id\":\"%s\",\"credential_version\":%u,\"mac\":\"%s\"}",
             d->reg_id, n, p, cur->cred_id, cur->cred_version, m);
    return s;
}

bool tauth(const struct daemon_fixture *f, const char *supi, const uint8_t *k,
           const uint8_t *opc)
{
    char url[256], body[512], *out = NULL;
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", f->sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"%s\"}", supi,
             f->snn);
    long st = fixture_request(f, AS_NF, "POST", url, "application/json", body, strlen(body), &out);
    json_t *ctx = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (st != 201) {
        json_decref(ctx);
        return false;
    }
    json_t *ad = json_object_get(ctx, "5gAuthData");
    uint8_t rand[16], autn[16];
    hex_decode(json_string_value(json_object_get(ad, "rand")), rand, 16);
    hex_decode(json_string_value(json_object_get(ad, "autn")), autn, 16);
    struct usim u;
    usim_init(&u, k, opc);
    struct usim_response r;
    enum usim_result ur = usim_authenticate(&u, rand, autn, f->snn, strlen(f->snn), &r);
    usim_wipe(&u);
    if (ur != USIM_OK) {
        json_decref(ctx);
        return false;
    }
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    char res[33];
    hex_encode(r.res_star, 16, res);
    snprintf(body, sizeof(body), "{\"resStar\":\"%s\"}", res);
    st = fixture_request(f, AS_NF, "PUT", href, "application/json", body, strlen(body), &out);
    json_t *conf = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    bool ok = st == 200 && strcmp(json_string_value(json_object_get(conf, "authResult")) ?: "",
                                  "AUTHENTICATION_SUCCESS") == 0;
    json_decref(conf);
    json_decref(ctx);
    return ok;
}
