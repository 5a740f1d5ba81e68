/* iotsecd and the NRF (issue 12), against the test NRF of test_nrf_server.c:
 *   - registration at start (two NF instances, AUSF and UDM, ids kept in the instance), the
 *     ready line and /metrics saying so; heartbeats at the NRF's heartBeatTimer; the NRF
 *     restarting (heartbeat 404) and iotsecd registering again; deregistration on SIGTERM;
 *     an unreachable NRF not holding the faces;
 *   - NRF-issued access tokens on the SBI: good ones (ES256 and RS256, AUSF and UDM), and
 *     none, malformed, wrong audience, wrong scope, expired, wrong signature, alg none,
 *     another NF's token on this connection, each with its status and WWW-Authenticate.
 * With IOTSEC_NRF_DUMP=DIR, every body iotsecd sent the NRF, and the token exchange, are
 * written there for tests/openapi/validate.js (openapi_nrf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "base/b64url.h"
#include "capture.h"
#include "fixture.h"
#include "jose/jws.h"
#include "test_nrf_server.h"

#define AMF_ID   "5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01" /* pki/nf.crt's urn:uuid SAN */
#define OTHER_ID "0c9d7b52-3e1a-4f6b-8d2c-7a6b5c4d3e2f"
#define SUPI     "imsi-001010000000001"
#define K_HEX    "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX  "cd63cb71954a9f4e48a5994e37a02baf"

static int dump_seq;

/* Writes body to $IOTSEC_NRF_DUMP/<schema>-NNN.json. */
static void dump(const char *schema, const char *body)
{
    const char *dir = getenv("IOTSEC_NRF_DUMP");
    if (dir == NULL || body == NULL)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%03d.json", dir, schema, dump_seq++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
}

static void dump_records(struct tnrf *t)
{
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->req[i].method, "PUT") == 0)
            dump("NFProfile", t->req[i].body);
        else if (strcmp(t->req[i].method, "PATCH") == 0)
            dump("PatchItemList", t->req[i].body);
    }
    pthread_mutex_unlock(&t->mu);
}

static void write_pub(EVP_PKEY *k, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
}

static void inst(const struct daemon_fixture *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/inst/%s", f->dir, name);
}

/* Appends the nrf: section (and more) to the instance's configuration. */
static void configure(struct daemon_fixture *f, const char *nrf_url, const char *extra)
{
    char path[160];
    inst(f, "iotsec.yaml", path, sizeof(path));
    FILE *y = fopen(path, "a");
    assert_non_null(y);
    fprintf(y,
            "nrf:\n  url: %s\n  ca_file: pki/ca.crt\n  client_cert: pki/nf.crt\n"
            "  client_key: pki/nf.key\n  nf_set_id: \"1\"\n  capacity: 200\n  priority: 2\n"
            "  supi_ranges: [\"001010000000000-001019999999999\"]\n"
            "  routing_indicators: [\"0000\"]\n  instance_id: " TNRF_INSTANCE "\n"
            "  token_keys: [nrf-es256.pem, nrf-rs256.pem]\n%s",
            nrf_url, extra ? extra : "");
    fclose(y);
}

static void read_ids(const struct daemon_fixture *f, char ausf[40], char udm[40])
{
    char path[160];
    inst(f, "nf-instance-ids.json", path, sizeof(path));
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    snprintf(ausf, 40, "%s", json_string_value(json_object_get(j, "ausf")));
    snprintf(udm, 40, "%s", json_string_value(json_object_get(j, "udm")));
    json_decref(j);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static EVP_PKEY *es_key, *rs_key, *stranger_key;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    es_key = EVP_EC_gen("P-256");
    rs_key = EVP_RSA_gen(2048);
    stranger_key = EVP_EC_gen("P-256");
    return es_key && rs_key && stranger_key ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(es_key);
    EVP_PKEY_free(rs_key);
    EVP_PKEY_free(stranger_key);
    curl_global_cleanup();
    return 0;
}

static void init_with_keys(struct daemon_fixture *f)
{
    assert_int_equal(fixture_init(f, NULL), 0);
    char path[160];
    inst(f, "nrf-es256.pem", path, sizeof(path));
    write_pub(es_key, path);
    inst(f, "nrf-rs256.pem", path, sizeof(path));
    write_pub(rs_key, path);
}

/* Heartbeat PATCHes of one instance, with their times. */
static int patch_times(struct tnrf *t, const char *id, double *at, int max)
{
    int n = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n && n < max; i++) {
        if (strcmp(t->req[i].method, "PATCH") == 0 && strstr(t->req[i].path, id) &&
            t->req[i].status == 204)
            at[n++] = t->req[i].at;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void test_register_heartbeat_restart_deregister(void **state)
{
    (void)state;
    struct daemon_fixture f;
    static struct tnrf t;
    char dir[128], ausf[40], udm[40];
    init_with_keys(&f);
    snprintf(dir, sizeof(dir), "%s/inst", f.dir);
    assert_int_equal(tnrf_start(&t, dir, 0, 1, es_key), 0);
    configure(&f, t.url, NULL);
    assert_int_equal(fixture_start(&f), 0);

    /* Registered before the ready line, which says so. */
    json_t *ready = json_loads(f.ready, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ready, "nrf")), "registered");
    json_decref(ready);
    read_ids(&f, ausf, udm);
    assert_true(tnrf_registered(&t, ausf));
    assert_true(tnrf_registered(&t, udm));
    assert_int_equal(tnrf_count(&t, "PUT", "/nnrf-nfm/v1/nf-instances/"), 2);

    /* The profiles: types, services, endpoint, PLMN, ranges, set. */
    pthread_mutex_lock(&t.mu);
    for (int i = 0; i < 2; i++) {
        json_t *p = json_loads(t.req[i].body, 0, NULL);
        assert_non_null(p);
        const char *type = json_string_value(json_object_get(p, "nfType"));
        int is_ausf = strcmp(type, "AUSF") == 0;
        assert_true(is_ausf || strcmp(type, "UDM") == 0);
        assert_string_equal(json_string_value(json_object_get(p, "nfInstanceId")),
                            is_ausf ? ausf : udm);
        assert_string_equal(json_string_value(json_object_get(p, "nfStatus")), "REGISTERED");
        assert_string_equal(t.req[i].content_type, "application/json");
        const char *svc = is_ausf ? "nausf-auth" : "nudm-ueau";
        json_t *s = json_object_get(json_object_get(p, "nfServiceList"), svc);
        assert_non_null(s);
        assert_string_equal(json_string_value(json_object_get(s, "scheme")), "https");
        json_t *ep = json_array_get(json_object_get(s, "ipEndPoints"), 0);
        assert_string_equal(json_string_value(json_object_get(ep, "ipv4Address")), "127.0.0.1");
        assert_int_equal(json_integer_value(json_object_get(ep, "port")), f.sbi_port);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(json_object_get(s, "versions"), 0),
                                              "apiVersionInUri")),
            "v1");
        assert_int_equal(json_integer_value(json_object_get(p, "capacity")), 200);
        assert_string_equal(json_string_value(json_array_get(json_object_get(p, "nfSetIdList"), 0)),
                            is_ausf ? "set1.ausfset.5gc.mnc001.mcc001"
                                    : "set1.udmset.5gc.mnc001.mcc001");
        json_t *info = json_object_get(p, is_ausf ? "ausfInfo" : "udmInfo");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(info, "routingIndicators"), 0)),
            "0000");
        json_decref(p);
    }
    pthread_mutex_unlock(&t.mu);

    /* Heartbeats at the NRF's heartBeatTimer (1 s): at least two each, not faster. */
    assert_true(tnrf_wait(&t, "PATCH", NULL, 4, 6000) >= 4);
    double at[16];
    int n = patch_times(&t, ausf, at, 16);
    assert_true(n >= 2);
    for (int i = 1; i < n; i++)
        assert_true(at[i] - at[i - 1] > 0.7);

    char url[160], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", f.admin);
    assert_int_equal(fixture_request(&f, AS_ADMIN, "GET", url, NULL, NULL, 0, &body), 200);
    assert_non_null(strstr(body, "iotsec_nrf_registered{nf_type=\"AUSF\"} 1"));
    assert_non_null(strstr(body, "iotsec_nrf_registered{nf_type=\"UDM\"} 1"));
    free(body);

    /* The NRF goes away, and comes back on the same port knowing nothing: the next
     * heartbeat answers 404 and iotsecd registers again. */
    uint16_t port = t.port;
    tnrf_stop(&t);
    sleep_ms(1500);
    assert_int_equal(tnrf_start(&t, dir, port, 1, es_key), 0);
    assert_true(tnrf_wait(&t, "PUT", NULL, 4, 15000) >= 4);
    assert_true(tnrf_count(&t, "PATCH", NULL) > 0);
    int saw_404 = 0;
    pthread_mutex_lock(&t.mu);
    for (int i = 0; i < t.n; i++)
        saw_404 |= strcmp(t.req[i].method, "PATCH") == 0 && t.req[i].status == 404;
    pthread_mutex_unlock(&t.mu);
    assert_true(saw_404);
    assert_true(tnrf_registered(&t, ausf));
    assert_true(tnrf_registered(&t, udm));

    /* SIGTERM: both deregistered before the process ends. */
    int status = fixture_stop(&f, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(tnrf_count(&t, "DELETE", "/nnrf-nfm/v1/nf-instances/"), 2);
    assert_false(tnrf_registered(&t, ausf));
    assert_false(tnrf_registered(&t, udm));

    /* The ids are the instance's: a restart registers the same ones. */
    char ausf2[40], udm2[40];
    assert_int_equal(fixture_start(&f), 0);
    read_ids(&f, ausf2, udm2);
    assert_string_equal(ausf, ausf2);
    assert_true(tnrf_registered(&t, ausf));
    fixture_stop(&f, SIGTERM);

    dump_records(&t);
    tnrf_stop(&t);
    tnrf_free_records(&t);
    fixture_cleanup(&f);
}

/* No NRF at all: the faces serve anyway; the ready line says registration is pending. */
static void test_unreachable_nrf_does_not_hold_the_faces(void **state)
{
    (void)state;
    struct daemon_fixture f;
    init_with_keys(&f);
    configure(&f, "https://127.0.0.1:1", NULL);
    assert_int_equal(fixture_start(&f), 0);
    json_t *ready = json_loads(f.ready, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ready, "nrf")), "registering");
    json_decref(ready);
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", f.sbi);
    assert_int_equal(fixture_request(&f, AS_NF, "GET", url, NULL, NULL, 0, NULL), 200);
    snprintf(url, sizeof(url), "%s/metrics", f.admin);
    char *body = NULL;
    assert_int_equal(fixture_request(&f, AS_ADMIN, "GET", url, NULL, NULL, 0, &body), 200);
    assert_non_null(strstr(body, "iotsec_nrf_registered{nf_type=\"AUSF\"} 0"));
    assert_non_null(strstr(body, "iotsec_nrf_requests_total{op=\"register\",outcome=\"failed\"}"));
    free(body);
    int status = fixture_stop(&f, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fixture_cleanup(&f);
}

/* ---- tokens ---- */

struct answer {
    long status;
    char www[256];
    char content_type[64];
    char *body;
};

static size_t header_cb(char *b, size_t size, size_t n, void *user)
{
    struct answer *a = user;
    size_t len = size * n;
    if (len > 18 && strncasecmp(b, "www-authenticate: ", 18) == 0)
        snprintf(a->www, sizeof(a->www), "%.*s", (int)(len - 18 - 2), b + 18);
    if (len > 14 && strncasecmp(b, "content-type: ", 14) == 0)
        snprintf(a->content_type, sizeof(a->content_type), "%.*s", (int)(len - 14 - 2), b + 14);
    return len;
}

/* One request with the NF (AMF) certificate and an optional Authorization value. */
static void call(const struct daemon_fixture *f, const char *method, const char *url,
                 const char *authz, const char *ctype, const char *body, struct answer *a)
{
    CURL *c = curl_easy_init();
    struct fixture_buf b = {0};
    struct curl_slist *h = NULL;
    char ca[160], cert[160], key[160], line[4200];
    inst(f, "pki/ca.crt", ca, sizeof(ca));
    inst(f, "pki/nf.crt", cert, sizeof(cert));
    inst(f, "pki/nf.key", key, sizeof(key));
    memset(a, 0, sizeof(*a));
    if (authz) {
        snprintf(line, sizeof(line), "Authorization: %s", authz);
        h = curl_slist_append(h, line);
    }
    if (ctype) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    a->status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    capture_exchange(f, c, a->status, method, ctype, body, body ? strlen(body) : 0, b.data, b.len,
                     NULL);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    a->body = b.data;
}

/* Asks the test NRF for a token as a consumer does (Nnrf_AccessToken, form body). */
static char *get_token(const struct daemon_fixture *f, struct tnrf *t, const char *form)
{
    char url[128];
    struct answer a;
    snprintf(url, sizeof(url), "%s/oauth2/token", t->url);
    call(f, "POST", url, NULL, "application/x-www-form-urlencoded", form, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "application/json");
    dump("AccessTokenRsp", a.body);
    /* the request as JSON, for its schema (AccessTokenReq) */
    json_t *req = json_object();
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", form);
    for (char *save, *kv = strtok_r(copy, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        json_object_set_new(req, kv, json_string(eq + 1));
    }
    char *req_text = json_dumps(req, JSON_COMPACT);
    dump("AccessTokenReq", req_text);
    free(req_text);
    json_decref(req);
    json_t *j = json_loads(a.body, 0, NULL);
    char *tok = strdup(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    free(a.body);
    /* and its claims (AccessTokenClaims) */
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    uint8_t claims[2048];
    size_t n;
    assert_int_equal(b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), claims, sizeof(claims) - 1, &n),
                     0);
    claims[n] = '\0';
    dump("AccessTokenClaims", (const char *)claims);
    return tok;
}

static char *signed_claims(EVP_PKEY *key, const char *sub, const char *aud, const char *scope,
                           long long exp_delta)
{
    char claims[512];
    long long now = (long long)time(NULL);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" TNRF_INSTANCE "\",\"sub\":\"%s\",\"aud\":%s,\"scope\":\"%s\","
             "\"exp\":%lld,\"iat\":%lld}",
             sub, aud, scope, now + exp_delta, now - 10);
    return tnrf_sign(key, claims);
}

static void expect(const struct daemon_fixture *f, const char *method, const char *url,
                   const char *bearer, const char *body, long status, const char *www)
{
    char authz[4200];
    struct answer a;
    if (bearer)
        snprintf(authz, sizeof(authz), "Bearer %s", bearer);
    call(f, method, url, bearer ? authz : NULL, body ? "application/json" : NULL, body, &a);
    if (a.status != status)
        fprintf(stderr, "%s %s: %ld %s\n", method, url, a.status, a.body ? a.body : "");
    assert_int_equal(a.status, status);
    if (www != NULL) {
        assert_string_equal(a.www, www);
        assert_string_equal(a.content_type, "application/problem+json");
    } else {
        assert_string_equal(a.www, "");
    }
    free(a.body);
}

static void test_access_tokens_on_the_sbi(void **state)
{
    (void)state;
    struct daemon_fixture f;
    static struct tnrf t;
    char dir[128], ausf[40], udm[40];
    init_with_keys(&f);
    snprintf(dir, sizeof(dir), "%s/inst", f.dir);
    assert_int_equal(tnrf_start(&t, dir, 0, 30, es_key), 0);
    configure(&f, t.url, "oauth2:\n  sbi: true\n  cert_identity: true\n");
    /* one worker: one token cache (they are per worker), so cache hits are countable */
    assert_int_equal(fixture_config_replace(&f, "workers: 0", "workers: 1"), 0);
    assert_int_equal(fixture_start(&f), 0);
    read_ids(&f, ausf, udm);
    char sub[512];
    snprintf(sub, sizeof(sub),
             "{\"supi\":\"" SUPI "\",\"k\":\"" K_HEX "\",\"opc\":\"" OPC_HEX "\",\"amf\":\"8000\","
             "\"sqn\":\"000000000020\"}");
    assert_int_equal(fixture_add_subscriber(&f, sub), 0);

    char auth_url[160], udm_url[200], health[128], body[256], udm_body[256];
    snprintf(auth_url, sizeof(auth_url), "%s/nausf-auth/v1/ue-authentications", f.sbi);
    snprintf(udm_url, sizeof(udm_url),
             "%s/nudm-ueau/v1/" SUPI "/security-information/generate-auth-data", f.sbi);
    snprintf(health, sizeof(health), "%s/healthz", f.sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"" SUPI "\",\"servingNetworkName\":\"%s\"}",
             f.snn);
    snprintf(udm_body, sizeof(udm_body),
             "{\"servingNetworkName\":\"%s\",\"ausfInstanceId\":\"%s\"}", f.snn, ausf);

    /* Tokens as a consumer gets them from the NRF. */
    char *ausf_tok = get_token(&f, &t,
                               "grant_type=client_credentials&nfInstanceId=" AMF_ID
                               "&nfType=AMF&targetNfType=AUSF&scope=nausf-auth");
    char form[256];
    snprintf(form, sizeof(form),
             "grant_type=client_credentials&nfInstanceId=" AMF_ID
             "&nfType=AUSF&targetNfInstanceId=%s&scope=nudm-ueau",
             udm);
    char *udm_tok = get_token(&f, &t, form);

    /* Good tokens pass, and the operations work; a second use is a cache hit. */
    expect(&f, "POST", auth_url, ausf_tok, body, 201, NULL);
    expect(&f, "POST", auth_url, ausf_tok, body, 201, NULL);
    expect(&f, "POST", udm_url, udm_tok, udm_body, 200, NULL);
    char *rs = signed_claims(rs_key, AMF_ID, "\"AUSF\"", "nausf-auth", 600);
    expect(&f, "POST", auth_url, rs, body, 201, NULL); /* RS256, the second key */
    /* /healthz is not an SBI service: load balancers probe it without a token. */
    expect(&f, "GET", health, NULL, NULL, 200, NULL);

    /* None: a bare challenge (RFC 6750 §3.1: no error code without credentials). */
    expect(&f, "POST", auth_url, NULL, body, 401, "Bearer");
    struct answer a;
    call(&f, "POST", auth_url, "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "application/json", body, &a);
    assert_int_equal(a.status, 401);
    assert_string_equal(a.www, "Bearer");
    free(a.body);
    call(&f, "POST", auth_url, "Bearer a b", "application/json", body, &a);
    assert_int_equal(a.status, 400);
    assert_string_equal(a.www, "Bearer error=\"invalid_request\"");
    free(a.body);

    /* Wrong audience: the UDM's token on the AUSF. */
    expect(&f, "POST", auth_url, udm_tok, body, 401, "Bearer error=\"invalid_token\"");
    char *aud_other = signed_claims(es_key, AMF_ID, "\"SMF\"", "nausf-auth", 600);
    expect(&f, "POST", auth_url, aud_other, body, 401, "Bearer error=\"invalid_token\"");
    /* Wrong scope: for the AUSF, but not for this service. */
    char *scope = signed_claims(es_key, AMF_ID, "\"AUSF\"", "nausf-sorprotection", 600);
    expect(&f, "POST", auth_url, scope, body, 403,
           "Bearer error=\"insufficient_scope\", scope=\"nausf-auth\"");
    /* Expired. */
    char *expired = signed_claims(es_key, AMF_ID, "\"AUSF\"", "nausf-auth", -120);
    expect(&f, "POST", auth_url, expired, body, 401, "Bearer error=\"invalid_token\"");
    /* Signed by a key that is not the NRF's. */
    char *forged = signed_claims(stranger_key, AMF_ID, "\"AUSF\"", "nausf-auth", 600);
    expect(&f, "POST", auth_url, forged, body, 401, "Bearer error=\"invalid_token\"");
    /* A good token with its signature altered. */
    char *altered = strdup(ausf_tok);
    char *last = altered + strlen(altered) - 2;
    *last = *last == 'A' ? 'B' : 'A';
    expect(&f, "POST", auth_url, altered, body, 401, "Bearer error=\"invalid_token\"");
    /* alg none. */
    char none[512], hdr[64], pl[300];
    long long now = (long long)time(NULL);
    char claims[256];
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" TNRF_INSTANCE "\",\"sub\":\"" AMF_ID "\",\"aud\":\"AUSF\","
             "\"scope\":\"nausf-auth\",\"exp\":%lld}",
             now + 600);
    b64url_encode((const uint8_t *)"{\"alg\":\"none\"}", 14, hdr);
    b64url_encode((const uint8_t *)claims, strlen(claims), pl);
    snprintf(none, sizeof(none), "%s.%s.", hdr, pl);
    expect(&f, "POST", auth_url, none, body, 401, "Bearer error=\"invalid_token\"");
    /* Another NF's token on this connection: sub is not the certificate's NF instance. */
    char *other = signed_claims(es_key, OTHER_ID, "\"AUSF\"", "nausf-auth", 600);
    expect(&f, "POST", auth_url, other, body, 401, "Bearer error=\"invalid_token\"");

    char url[128], *m = NULL;
    snprintf(url, sizeof(url), "%s/metrics", f.admin);
    assert_int_equal(fixture_request(&f, AS_ADMIN, "GET", url, NULL, NULL, 0, &m), 200);
    assert_non_null(strstr(m, "iotsec_sbi_oauth2_requests_total{outcome=\"cache_hit\"} 1\n"));
    assert_non_null(
        strstr(m, "iotsec_sbi_oauth2_requests_total{outcome=\"insufficient_scope\"} 1\n"));
    free(m);

    free(ausf_tok);
    free(udm_tok);
    free(rs);
    free(aud_other);
    free(scope);
    free(expired);
    free(forged);
    free(altered);
    free(other);
    fixture_stop(&f, SIGTERM);
    tnrf_stop(&t);
    tnrf_free_records(&t);
    fixture_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_heartbeat_restart_deregister),
        cmocka_unit_test(test_unreachable_nrf_does_not_hold_the_faces),
        cmocka_unit_test(test_access_tokens_on_the_sbi),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
