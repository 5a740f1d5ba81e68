/* iotsec-sim pin: a household's Personal IoT Network against a running iotsecd, through the
 * real SDK code (sdk/pin.h) on the device face and real AF clients (mTLS + OAuth2) on the
 * northbound face. One PEMC, two PEGCs, N PINEs (one rogue never approved, one removed
 * mid-run, one whose relayed authentication its PEGC tampers with) plus one symmetric PINE
 * (enrolment code and HMAC, no public-key crypto), two PINs (the household's
 * and a second one) and two AFs, each granted one PIN; the AF of the second PIN tries the
 * household's. Prints the JSON object as its last line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "base/b64url.h"
#include "base/err.h"
#include "onboard_http.h"
#include "pin.h"
#include "sim.h"

struct hh {
    const struct sim_instance *in;
    struct onboard_http *http;
    struct pin_ue pemc, gw[2];
    char pemc_supi[32], gw_supi[2][32];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int add_sub(const struct sim_instance *in, const char *supi, const uint8_t k[16],
                   const char *owner, bool gw, bool mgr)
{
    char khex[33], body[320], path[160], *out = NULL;
    for (int i = 0; i < 16; i++)
        sprintf(khex + 2 * i, "%02x", k[i]);
    snprintf(body, sizeof(body),
             "{\"supi\":\"%s\",\"k\":\"%s\",\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\","
             "\"amf\":\"8000\",\"owner\":\"%s\"}",
             supi, khex, owner);
    long st = sim_admin(in, "POST", "/admin/v1/subscribers", body, strlen(body), &out);
    free(out);
    if (st != 201)
        return -1;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/pin-roles", supi);
    snprintf(body, sizeof(body), "{\"gateway\":%s,\"manager\":%s}", gw ? "true" : "false",
             mgr ? "true" : "false");
    st = sim_admin(in, "PUT", path, body, strlen(body), &out);
    free(out);
    return st == 200 ? 0 : -1;
}

static int ue_new(struct hh *h, struct pin_ue *u, char *supi, uint32_t msin, const char *owner,
                  bool gw, bool mgr)
{
    uint8_t k[16];
    RAND_bytes(k, sizeof(k));
    snprintf(supi, 32, "imsi-%s%s%0*u", h->in->mcc, h->in->mnc, 15 - 3 - (int)strlen(h->in->mnc),
             msin);
    int rc = add_sub(h->in, supi, k, owner, gw, mgr);
    if (rc == 0)
        rc = pin_ue_init(u, supi, k, 16, 1) == IOTSEC_OK ? 0 : -1;
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

static int nonce(struct hh *h, uint8_t n[PIN_NONCE_LEN])
{
    long st;
    uint32_t ra;
    char *out = NULL;
    size_t len;
    int rc = onboard_http_post(h->http, "/device/v1/pin/nonce", "{}", 2, &st, &ra, &out, &len);
    rc = rc == IOTSEC_OK && st == 200 ? pin_parse_nonce(out, len, n) : IOTSEC_ERR_IO;
    free(out);
    return rc;
}

/* One PIN operation with nonce n; status returned, *answer parsed (may be NULL). */
static long op_n(struct hh *h, const struct pin_ue *u, const char *op, const uint8_t *n,
                 const char *req, json_t **answer, char **raw)
{
    char *env, *out = NULL, path[96];
    size_t len, alen;
    long st = -1;
    uint32_t ra;
    if (pin_ue_envelope(u, op, n, req, strlen(req), &env, &len) != IOTSEC_OK)
        return -1;
    snprintf(path, sizeof(path), "/device/v1/pin/%s", op);
    if (onboard_http_post(h->http, path, env, len, &st, &ra, &out, &alen) != IOTSEC_OK)
        st = -1;
    free(env);
    if (answer)
        *answer = out ? json_loads(out, 0, NULL) : NULL;
    if (raw)
        *raw = out;
    else
        free(out);
    return st;
}

static long op(struct hh *h, const struct pin_ue *u, const char *name, const char *req,
               json_t **answer)
{
    uint8_t n[PIN_NONCE_LEN];
    if (nonce(h, n) != IOTSEC_OK)
        return -1;
    return op_n(h, u, name, n, req, answer, NULL);
}

struct net {
    char pin_id[80], gw[2][32];
    uint8_t ca[32];
};

static int create(struct hh *h, const char *name, struct net *n)
{
    char req[512];
    json_t *a = NULL;
    snprintf(req, sizeof(req),
             "{\"name\":\"%s\",\"gateways\":[\"%s\",\"%s\"],\"policy\":{\"dnns\":[\"internet\","
             "\"iot\"],\"qos_classes\":[9,7],\"max_lifetime_s\":3600}}",
             name, h->gw_supi[0], h->gw_supi[1]);
    if (op(h, &h->pemc, "create", req, &a) != 201) {
        json_decref(a);
        return -1;
    }
    snprintf(n->pin_id, sizeof(n->pin_id), "%s", json_string_value(json_object_get(a, "pin_id")));
    const char *ca = json_string_value(json_object_get(a, "ca_public_key"));
    size_t cl = 0;
    b64url_decode(ca, strlen(ca), n->ca, sizeof(n->ca), &cl);
    json_t *g = json_object_get(a, "gateways");
    for (size_t i = 0; i < 2; i++)
        snprintf(n->gw[i], sizeof(n->gw[i]), "%s",
                 json_string_value(json_object_get(json_array_get(g, i), "gw_id")));
    json_decref(a);
    return cl == 32 ? 0 : -1;
}

/* One PINE authenticating through gateway g; tamper: the PEGC flips a bit of the PINE's
 * signature. Returns the status; on 200 the PEGC's table takes the decision. */
static long authenticate(struct hh *h, const struct net *n, int g, struct pin_pegc *table,
                         const struct pin_pine_key *k, const char *pine, bool tamper)
{
    uint8_t nn[PIN_NONCE_LEN], sig[PIN_SIG_LEN];
    char s64[128], req[512], *raw = NULL;
    if (nonce(h, nn) != IOTSEC_OK ||
        pin_pine_auth_sig(k, n->pin_id, pine, n->gw[g], nn, sig) != IOTSEC_OK)
        return -1;
    if (tamper)
        sig[5] ^= 0x20;
    b64url_encode(sig, sizeof(sig), s64);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"signature\":\"%s\"}",
             n->pin_id, pine, s64);
    long st = op_n(h, &h->gw[g], "auth", nn, req, NULL, &raw);
    if (st == 200 && pin_pegc_accept(table, raw, strlen(raw), nn, 0) != IOTSEC_OK)
        st = -2; /* the network's decision did not verify: never expected */
    free(raw);
    return st;
}

/* The same for a symmetric PINE: its MAC instead of a signature; the PINE checks the
 * decision's MAC too. tamper: the PEGC alters one character of the PINE's MAC. */
static long authenticate_sym(struct hh *h, const struct net *n, int g, struct pin_pegc *table,
                             const struct pin_sym_pine *p, bool tamper)
{
    uint8_t nn[PIN_NONCE_LEN];
    char req[512], *raw = NULL;
    if (nonce(h, nn) != IOTSEC_OK || pin_sym_auth_request(p, n->gw[g], nn, req, sizeof(req)))
        return -1;
    char *mac = strstr(req, "\"mac\":\"");
    if (tamper && (mac == NULL || mac[7] == 0 || mac[7] == '"'))
        return -1;
    if (tamper) /* another base64url character: the MAC no longer verifies */
        mac[7] = mac[7] == 'A' ? 'B' : 'A';
    long st = op_n(h, &h->gw[g], "auth", nn, req, NULL, &raw);
    if (st == 200 && (pin_pegc_accept(table, raw, strlen(raw), nn, 0) != IOTSEC_OK ||
                      pin_sym_decision_check(p, raw, strlen(raw)) != IOTSEC_OK))
        st = -2;
    free(raw);
    return st;
}

/* A symmetric PINE named name joins a through gateway g with a code its PEMC registered. */
static int join_sym(struct hh *h, const struct net *a, int g, const char *name,
                    struct pin_sym_pine *p)
{
    char code[13], req[512], *raw = NULL;
    uint8_t nn[PIN_NONCE_LEN];
    if (pin_pine_code_new(code) != IOTSEC_OK)
        return -1;
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"name\":\"%s\",\"code\":\"%s\"}", a->pin_id,
             name, code);
    if (op(h, &h->pemc, "enrol-code", req, NULL) != 201 ||
        pin_sym_join_request(p, a->pin_id, name, code, req, sizeof(req)) != IOTSEC_OK ||
        nonce(h, nn) != IOTSEC_OK)
        return -1;
    long st = op_n(h, &h->gw[g], "join", nn, req, NULL, &raw);
    int rc = st == 201 && raw && pin_sym_pine_accept(p, raw, strlen(raw)) == IOTSEC_OK ? 0 : -1;
    free(raw);
    return rc;
}

/* ---- the AFs: mTLS with an in-memory certificate, OAuth2 client credentials ---- */

/* The AF's token for the pin service: it carries the PINs granted to the AF now, so the AF
 * asks for it after its grants (a token from before a grant does not cover that PIN). */
static int af_token(const struct sim_instance *in, struct sim_af *a)
{
    return sim_af_token(in, a, "pin");
}

static int af_new(const struct sim_instance *in, struct sim_ca *ca, const char *name,
                  struct sim_af *a)
{
    return sim_af_register(in, ca, name, "pin", a);
}

/* The AF's three PIN operations on PIN n (a PINE of it: pine): how many were allowed. */
static int af_try(const struct sim_instance *in, const struct sim_af *a, const struct net *n,
                  const char *pine)
{
    char path[320], body[256];
    int ok = 0;
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", a->af_id, n->pin_id);
    ok += sim_af_call(in, a, "GET", path, NULL, NULL, NULL) == 200;
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements/%s/qos", a->af_id, n->pin_id,
             pine);
    ok += sim_af_call(in, a, "POST", path, "application/json",
                      "{\"notificationDestination\":\"https://af.example/n\",\"qosReference\":"
                      "\"5qi-7\"}",
                      NULL) == 201;
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/routing", a->af_id, n->pin_id);
    snprintf(body, sizeof(body), "{\"pinId\":\"%s\",\"dnn\":\"iot\"}", n->pin_id);
    ok += sim_af_call(in, a, "PUT", path, "application/json", body, NULL) == 200;
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int sim_pin_run(const struct sim_instance *in, uint32_t n_pines)
{
    struct hh h = {.in = in};
    struct onboard_http_config hc = {.base_url = in->device, .ca_file = in->ca};
    if (n_pines < 4 || onboard_http_new(&hc, &h.http) != IOTSEC_OK) {
        fprintf(stderr, "iotsec-sim pin: needs --pines >= 4 and the device face\n");
        return 2;
    }
    uint32_t base;
    RAND_bytes((uint8_t *)&base, sizeof(base));
    base = 1000000 + base % 8000000;
    char owner[48];
    snprintf(owner, sizeof(owner), "household-%u", base);
    struct net a, b;
    if (ue_new(&h, &h.pemc, h.pemc_supi, base, owner, false, true) ||
        ue_new(&h, &h.gw[0], h.gw_supi[0], base + 1, owner, true, false) ||
        ue_new(&h, &h.gw[1], h.gw_supi[1], base + 2, owner, true, false) ||
        create(&h, "home", &a) || create(&h, "garden", &b)) {
        fprintf(stderr, "iotsec-sim pin: cannot set up the household (daemon running?)\n");
        onboard_http_free(h.http);
        return 2;
    }
    struct pin_pine_key *keys = calloc(n_pines, sizeof(*keys));
    char(*ids)[32] = calloc(n_pines, 32);
    double *lat = calloc(n_pines, sizeof(double));
    struct pin_pegc table[2];
    pin_pegc_init(&table[0], a.pin_id, a.gw[0], a.ca, n_pines);
    pin_pegc_init(&table[1], a.pin_id, a.gw[1], a.ca, n_pines);
    uint32_t approved = 0, authenticated = 0, rogue_refused = 0, removed_refused = 0,
             tamper_refused = 0, nlat = 0;
    /* PINE 0: rogue (never approved); 1: tampered by its PEGC; 2: removed mid-run */
    for (uint32_t i = 0; i < n_pines; i++) {
        char name[32], req[512];
        json_t *ans = NULL;
        snprintf(name, sizeof(name), "pine-%u", i);
        pin_pine_keygen(&keys[i]);
        pin_pine_join_request(&keys[i], a.pin_id, name, req, sizeof(req));
        if (op(&h, &h.gw[i % 2], "join", req, &ans) == 202)
            snprintf(ids[i], 32, "%s", json_string_value(json_object_get(ans, "pine_id")));
        json_decref(ans);
        if (i == 0 || !ids[i][0])
            continue;
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id, ids[i]);
        approved += op(&h, &h.pemc, "approve", req, NULL) == 200;
    }
    for (uint32_t i = 0; i < n_pines; i++) {
        int g = (int)(i % 2);
        double t0 = now_ms();
        long st = authenticate(&h, &a, g, &table[g], &keys[i], ids[i], i == 1);
        if (st == 200) {
            lat[nlat++] = now_ms() - t0;
            authenticated++;
        } else if (i == 0 && (st == 403 || st == 401))
            rogue_refused++;
        else if (i == 1 && st == 401)
            tamper_refused++;
    }
    /* removal mid-run: the next authentication and the PEGC's next re-checked packet */
    {
        char req[256];
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id, ids[2]);
        if (op(&h, &h.pemc, "remove", req, NULL) == 200 &&
            authenticate(&h, &a, 0, &table[0], &keys[2], ids[2], false) == 403)
            removed_refused++;
    }
    /* a PINE enrolled by the one-time code it shows: the owner types it into the PEMC, the
     * PINE proves it through its PEGC (a wrong code is refused) and is approved at once */
    int code_enrolled = 0, code_wrong_refused = 0;
    {
        char code[13], wrong[13], req[640], cpine[32] = "";
        struct pin_pine_key ck;
        json_t *ans = NULL;
        if (pin_pine_code_new(code) == IOTSEC_OK && pin_pine_code_new(wrong) == IOTSEC_OK &&
            pin_pine_keygen(&ck) == IOTSEC_OK) {
            snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"name\":\"doorbell\",\"code\":\"%s\"}",
                     a.pin_id, code);
            if (op(&h, &h.pemc, "enrol-code", req, NULL) == 201 &&
                pin_pine_join_code_request(&ck, a.pin_id, "doorbell", wrong, req, sizeof(req)) ==
                    IOTSEC_OK)
                code_wrong_refused = op(&h, &h.gw[0], "join", req, NULL) == 403;
            if (pin_pine_join_code_request(&ck, a.pin_id, "doorbell", code, req, sizeof(req)) ==
                    IOTSEC_OK &&
                op(&h, &h.gw[0], "join", req, &ans) == 201)
                snprintf(cpine, sizeof(cpine), "%s",
                         json_string_value(json_object_get(ans, "pine_id")));
            json_decref(ans);
            if (cpine[0] && authenticate(&h, &a, 0, &table[0], &ck, cpine, false) == 200)
                code_enrolled = 1;
            pin_pine_wipe(&ck);
        }
    }
    /* a PINE without public-key crypto (a thermostat): enrolled by its code through the other
     * PEGC, its key derived end to end; a MAC its PEGC alters is refused, the genuine one is
     * authenticated and the PINE checks the network's MAC over the decision */
    int sym_authenticated = 0, sym_tamper_refused = 0;
    {
        struct pin_sym_pine sp;
        memset(&sp, 0, sizeof(sp));
        if (join_sym(&h, &a, 1, "thermostat", &sp) == 0) {
            sym_tamper_refused = authenticate_sym(&h, &a, 1, &table[1], &sp, true) == 401;
            sym_authenticated = authenticate_sym(&h, &a, 1, &table[1], &sp, false) == 200;
        }
        pin_sym_pine_wipe(&sp);
    }
    /* the AFs: af1 granted the household's PIN, af2 the other one */
    struct sim_ca *ca = NULL;
    struct sim_af af1, af2;
    int own_ok = 0, other_refused = 0;
    if (sim_ca_new("iotsec-sim AF CA", &ca) == IOTSEC_OK && af_new(in, ca, "sim-af-1", &af1) == 0 &&
        af_new(in, ca, "sim-af-2", &af2) == 0) {
        char req[256];
        snprintf(req, sizeof(req),
                 "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\",\"qos\","
                 "\"routing\"]}",
                 a.pin_id, af1.af_id);
        op(&h, &h.pemc, "grant-af", req, NULL);
        snprintf(req, sizeof(req),
                 "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\",\"qos\","
                 "\"routing\"]}",
                 b.pin_id, af2.af_id);
        op(&h, &h.pemc, "grant-af", req, NULL);
        if (af_token(in, &af1) != 0 || af_token(in, &af2) != 0)
            fprintf(stderr, "iotsec-sim pin: no AF token\n");
        own_ok = af_try(in, &af1, &a, ids[3]);
        other_refused = 3 - af_try(in, &af2, &a, ids[3]);
        sim_af_free(&af1);
        sim_af_free(&af2);
    } else
        fprintf(stderr, "iotsec-sim pin: cannot register the AFs\n");
    sim_ca_free(ca);
    qsort(lat, nlat, sizeof(double), cmp_double);
    double p99 = nlat ? lat[(size_t)((nlat - 1) * 0.99)] : 0;
    printf("{\"pines\":%u,\"approved\":%u,\"authenticated\":%u,\"rogue_refused\":%u,"
           "\"removed_refused\":%u,\"tamper_refused\":%u,\"af_own_pin_ok\":%d,"
           "\"af_other_pin_refused\":%d,\"p99_ms\":%.2f,\"code_enrolled\":%d,"
           "\"code_wrong_refused\":%d,\"sym_pines\":1,\"sym_authenticated\":%d,"
           "\"sym_tamper_refused\":%d,\"pin_id\":\"%s\"}\n",
           n_pines, approved, authenticated, rogue_refused, removed_refused, tamper_refused, own_ok,
           other_refused, p99, code_enrolled, code_wrong_refused, sym_authenticated,
           sym_tamper_refused, a.pin_id);
    fflush(stdout);
    for (uint32_t i = 0; i < n_pines; i++)
        pin_pine_wipe(&keys[i]);
    free(keys);
    free(ids);
    free(lat);
    pin_pegc_free(&table[0]);
    pin_pegc_free(&table[1]);
    pin_ue_wipe(&h.pemc);
    pin_ue_wipe(&h.gw[0]);
    pin_ue_wipe(&h.gw[1]);
    onboard_http_free(h.http);
    bool ok = approved == n_pines - 1 && rogue_refused == 1 && removed_refused == 1 &&
              tamper_refused == 1 && own_ok == 3 && other_refused == 3 && code_enrolled == 1 &&
              code_wrong_refused == 1 && sym_authenticated == 1 && sym_tamper_refused == 1;
    return ok ? 0 : 1;
}

/* ---- load (iotsec-bench pin) ---- */

struct load {
    struct hh *h; /* shared read-only: the household's PIN and UEs */
    const struct net *n;
    struct pin_pine_key key;
    struct pin_sym_pine sym;
    bool symmetric;
    char pine[PIN_ID_MAX + 1];
    int g;
    double end;
    uint64_t done, failed;
    double *lat;
    size_t nlat, cap;
};

static void *load_worker(void *arg)
{
    struct load *l = arg;
    struct hh h = *l->h; /* its own connection */
    struct onboard_http_config hc = {.base_url = h.in->device, .ca_file = h.in->ca};
    if (onboard_http_new(&hc, &h.http) != IOTSEC_OK)
        return NULL;
    struct pin_pegc table;
    pin_pegc_init(&table, l->n->pin_id, l->n->gw[l->g], l->n->ca, 4);
    while (now_ms() < l->end) {
        double t0 = now_ms();
        if ((l->symmetric ? authenticate_sym(&h, l->n, l->g, &table, &l->sym, false)
                          : authenticate(&h, l->n, l->g, &table, &l->key, l->pine, false)) == 200) {
            l->done++;
            if (l->nlat < l->cap)
                l->lat[l->nlat++] = now_ms() - t0;
        } else
            l->failed++;
    }
    pin_pegc_free(&table);
    onboard_http_free(h.http);
    return NULL;
}

/* An Ed25519 PINE named name joins a through gateway g; its PEMC approves it. */
static int join_ed(struct hh *h, const struct net *a, int g, const char *name, struct load *l)
{
    char req[512];
    json_t *ans = NULL;
    pin_pine_keygen(&l->key);
    pin_pine_open(&l->key); /* a PINE keeps its key opened: no derivation per signature */
    pin_pine_join_request(&l->key, a->pin_id, name, req, sizeof(req));
    if (op(h, &h->gw[g], "join", req, &ans) != 202) {
        json_decref(ans);
        return -1;
    }
    snprintf(l->pine, sizeof(l->pine), "%s", json_string_value(json_object_get(ans, "pine_id")));
    json_decref(ans);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a->pin_id, l->pine);
    return op(h, &h->pemc, "approve", req, NULL) == 200 ? 0 : -1;
}

int sim_pin_load(const struct sim_instance *in, double seconds, unsigned threads, bool symmetric,
                 double *rate, double *p99_ms, double *revoke_ms)
{
    struct hh h = {.in = in};
    struct onboard_http_config hc = {.base_url = in->device, .ca_file = in->ca};
    if (threads == 0 || threads > 256 || onboard_http_new(&hc, &h.http) != IOTSEC_OK)
        return -1;
    uint32_t base;
    RAND_bytes((uint8_t *)&base, sizeof(base));
    base = 1000000 + base % 8000000;
    char owner[48];
    snprintf(owner, sizeof(owner), "bench-%u", base);
    struct net a;
    struct load *l = calloc(threads, sizeof(*l));
    pthread_t *t = calloc(threads, sizeof(*t));
    int rc = l && t && !ue_new(&h, &h.pemc, h.pemc_supi, base, owner, false, true) &&
                     !ue_new(&h, &h.gw[0], h.gw_supi[0], base + 1, owner, true, false) &&
                     !ue_new(&h, &h.gw[1], h.gw_supi[1], base + 2, owner, true, false) &&
                     !create(&h, "bench", &a)
                 ? 0
                 : -1;
    for (unsigned i = 0; rc == 0 && i < threads; i++) {
        char name[32];
        snprintf(name, sizeof(name), "load-%u", i);
        l[i].g = (int)(i % 2);
        l[i].symmetric = symmetric;
        rc = symmetric ? join_sym(&h, &a, l[i].g, name, &l[i].sym)
                       : join_ed(&h, &a, l[i].g, name, &l[i]);
        if (symmetric && rc == 0)
            snprintf(l[i].pine, sizeof(l[i].pine), "%s", l[i].sym.pine_id);
        l[i].h = &h;
        l[i].n = &a;
        l[i].cap = 200000;
        l[i].lat = calloc(l[i].cap, sizeof(double));
    }
    double t0 = now_ms();
    for (unsigned i = 0; rc == 0 && i < threads; i++) {
        l[i].end = t0 + seconds * 1000;
        pthread_create(&t[i], NULL, load_worker, &l[i]);
    }
    uint64_t done = 0, failed = 0;
    size_t nlat = 0;
    for (unsigned i = 0; rc == 0 && i < threads; i++) {
        pthread_join(t[i], NULL);
        done += l[i].done;
        failed += l[i].failed;
        nlat += l[i].nlat;
    }
    double elapsed = (now_ms() - t0) / 1000;
    if (rc == 0) {
        double *all = calloc(nlat + 1, sizeof(double));
        size_t k = 0;
        for (unsigned i = 0; i < threads; i++)
            for (size_t j = 0; j < l[i].nlat; j++)
                all[k++] = l[i].lat[j];
        qsort(all, k, sizeof(double), cmp_double);
        *rate = done / elapsed;
        *p99_ms = k ? all[(size_t)((k - 1) * 0.99)] : 0;
        free(all);
        if (failed)
            fprintf(stderr, "iotsec-sim pin load: %llu authentications failed\n",
                    (unsigned long long)failed);
        /* revocation: from the removal request until the PEGC's next check is refused */
        char req[256];
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id, l[0].pine);
        double r0 = now_ms();
        long st = op(&h, &h.pemc, "remove", req, NULL);
        long chk = op(&h, &h.gw[l[0].g], "check", req, NULL);
        *revoke_ms = now_ms() - r0;
        if (st != 200 || chk != 403)
            rc = -1;
    }
    for (unsigned i = 0; l && i < threads; i++) {
        free(l[i].lat);
        pin_pine_wipe(&l[i].key);
        pin_sym_pine_wipe(&l[i].sym);
    }
    free(l);
    free(t);
    pin_ue_wipe(&h.pemc);
    pin_ue_wipe(&h.gw[0]);
    pin_ue_wipe(&h.gw[1]);
    onboard_http_free(h.http);
    return rc;
}

/* ---- key issue 2 under load: the AF's token-checked reads (iotsec-bench pin) ---- */

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

int sim_pin_af_setup(const struct sim_instance *in, const char *dir, char *path, size_t path_cap,
                     char *token, size_t token_cap)
{
    struct hh h = {.in = in};
    struct onboard_http_config hc = {.base_url = in->device, .ca_file = in->ca};
    if (onboard_http_new(&hc, &h.http) != IOTSEC_OK)
        return -1;
    uint32_t base;
    RAND_bytes((uint8_t *)&base, sizeof(base));
    base = 1000000 + base % 8000000;
    char owner[48], req[512];
    snprintf(owner, sizeof(owner), "afbench-%u", base);
    struct net a;
    struct pin_pine_key k = {0};
    struct sim_ca *ca = NULL;
    struct sim_af af = {0};
    json_t *ans = NULL;
    int rc = !ue_new(&h, &h.pemc, h.pemc_supi, base, owner, false, true) &&
                     !ue_new(&h, &h.gw[0], h.gw_supi[0], base + 1, owner, true, false) &&
                     !ue_new(&h, &h.gw[1], h.gw_supi[1], base + 2, owner, true, false) &&
                     !create(&h, "afbench", &a) && pin_pine_keygen(&k) == IOTSEC_OK &&
                     pin_pine_join_request(&k, a.pin_id, "lamp", req, sizeof(req)) == IOTSEC_OK &&
                     op(&h, &h.gw[0], "join", req, &ans) == 202
                 ? 0
                 : -1;
    if (rc == 0) {
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id,
                 json_string_value(json_object_get(ans, "pine_id")));
        rc = op(&h, &h.pemc, "approve", req, NULL) == 200 ? 0 : -1;
    }
    json_decref(ans);
    if (rc == 0)
        rc = sim_ca_new("iotsec-bench AF CA", &ca) == IOTSEC_OK &&
                     af_new(in, ca, "bench-pin-af", &af) == 0
                 ? 0
                 : -1;
    if (rc == 0) {
        snprintf(req, sizeof(req),
                 "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\"]}", a.pin_id,
                 af.af_id);
        rc = op(&h, &h.pemc, "grant-af", req, NULL) == 200 && af_token(in, &af) == 0 ? 0 : -1;
    }
    if (rc == 0)
        rc = write_file(dir, "pin-af.pem", af.id.cert_pem, af.id.cert_pem_len) ||
                     write_file(dir, "pin-af.key", af.id.key_pem, af.id.key_pem_len)
                 ? -1
                 : 0;
    if (rc == 0) {
        snprintf(path, path_cap, "/3gpp-pin/v1/%s/pins/%s/elements", af.af_id, a.pin_id);
        snprintf(token, token_cap, "%s", af.token);
        rc = af_try(in, &af, &a, "none") >= 1 ? 0 : -1; /* the read is allowed */
    }
    sim_af_free(&af);
    sim_ca_free(ca);
    pin_pine_wipe(&k);
    pin_ue_wipe(&h.pemc);
    pin_ue_wipe(&h.gw[0]);
    pin_ue_wipe(&h.gw[1]);
    onboard_http_free(h.http);
    return rc;
}

/* ---- a PIN with many PINEs (iotsec-bench pin) ---- */

struct scale {
    struct hh *h;
    const struct net *n;
    struct pin_pine_key *keys;
    char (*ids)[32];
    uint32_t n_pines, from, step;
    int phase; /* 0 join, 1 approve, 2 authenticate */
    uint32_t ok;
};

static void *scale_worker(void *arg)
{
    struct scale *s = arg;
    struct hh h = *s->h;
    struct onboard_http_config hc = {.base_url = h.in->device, .ca_file = h.in->ca};
    if (onboard_http_new(&hc, &h.http) != IOTSEC_OK)
        return NULL;
    struct pin_pegc table[2];
    size_t cap = s->n_pines / s->step + 2;
    pin_pegc_init(&table[0], s->n->pin_id, s->n->gw[0], s->n->ca, cap);
    pin_pegc_init(&table[1], s->n->pin_id, s->n->gw[1], s->n->ca, cap);
    for (uint32_t i = s->from; i < s->n_pines; i += s->step) {
        char req[512], name[32];
        int g = (int)(i % 2);
        if (s->phase == 0) {
            json_t *ans = NULL;
            snprintf(name, sizeof(name), "pine-%u", i);
            if (pin_pine_join_request(&s->keys[i], s->n->pin_id, name, req, sizeof(req)) ==
                    IOTSEC_OK &&
                op(&h, &h.gw[g], "join", req, &ans) == 202) {
                snprintf(s->ids[i], 32, "%s", json_string_value(json_object_get(ans, "pine_id")));
                s->ok++;
            }
            json_decref(ans);
        } else if (s->phase == 1 && s->ids[i][0]) {
            snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", s->n->pin_id,
                     s->ids[i]);
            s->ok += op(&h, &h.pemc, "approve", req, NULL) == 200;
        } else if (s->phase == 2 && s->ids[i][0])
            s->ok += authenticate(&h, s->n, g, &table[g], &s->keys[i], s->ids[i], false) == 200;
    }
    pin_pegc_free(&table[0]);
    pin_pegc_free(&table[1]);
    onboard_http_free(h.http);
    return NULL;
}

static int scale_phase(struct scale *proto, unsigned threads, int phase, double *secs, uint32_t *ok)
{
    struct scale *s = calloc(threads, sizeof(*s));
    pthread_t *t = calloc(threads, sizeof(*t));
    if (s == NULL || t == NULL) {
        free(s);
        free(t);
        return -1;
    }
    double t0 = now_ms();
    for (unsigned i = 0; i < threads; i++) {
        s[i] = *proto;
        s[i].from = i;
        s[i].step = threads;
        s[i].phase = phase;
        pthread_create(&t[i], NULL, scale_worker, &s[i]);
    }
    *ok = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        *ok += s[i].ok;
    }
    *secs = (now_ms() - t0) / 1000;
    free(s);
    free(t);
    return 0;
}

int sim_pin_scale(const struct sim_instance *in, uint32_t n, unsigned threads,
                  struct sim_pin_scale *out)
{
    memset(out, 0, sizeof(*out));
    struct hh h = {.in = in};
    struct onboard_http_config hc = {.base_url = in->device, .ca_file = in->ca};
    if (n == 0 || threads == 0 || threads > 256 || onboard_http_new(&hc, &h.http) != IOTSEC_OK)
        return -1;
    uint32_t base;
    RAND_bytes((uint8_t *)&base, sizeof(base));
    base = 1000000 + base % 8000000;
    char owner[48];
    snprintf(owner, sizeof(owner), "scale-%u", base);
    struct net a;
    struct scale proto = {.h = &h, .n = &a, .n_pines = n};
    proto.keys = calloc(n, sizeof(*proto.keys));
    proto.ids = calloc(n, 32);
    int rc = proto.keys && proto.ids &&
                     !ue_new(&h, &h.pemc, h.pemc_supi, base, owner, false, true) &&
                     !ue_new(&h, &h.gw[0], h.gw_supi[0], base + 1, owner, true, false) &&
                     !ue_new(&h, &h.gw[1], h.gw_supi[1], base + 2, owner, true, false) &&
                     !create(&h, "scale", &a)
                 ? 0
                 : -1;
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        if (pin_pine_keygen(&proto.keys[i]) != IOTSEC_OK)
            rc = -1;
    if (rc == 0)
        rc = scale_phase(&proto, threads, 0, &out->join_s, &out->joined);
    if (rc == 0)
        rc = scale_phase(&proto, threads, 1, &out->approve_s, &out->approved);
    if (rc == 0)
        rc = scale_phase(&proto, threads, 2, &out->auth_s, &out->authenticated);
    if (rc == 0 && out->authenticated != n)
        rc = -1;
    if (rc == 0) {
        /* revocation in a PIN of n PINEs: the removal, then the PEGC's next check refused */
        char req[256];
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id,
                 proto.ids[n / 2]);
        double r0 = now_ms();
        long st = op(&h, &h.pemc, "remove", req, NULL);
        long chk = op(&h, &h.gw[(n / 2) % 2], "check", req, NULL);
        out->revoke_ms = now_ms() - r0;
        if (st != 200 || chk != 403)
            rc = -1;
    }
    for (uint32_t i = 0; proto.keys && i < n; i++)
        pin_pine_wipe(&proto.keys[i]);
    free(proto.keys);
    free(proto.ids);
    pin_ue_wipe(&h.pemc);
    pin_ue_wipe(&h.gw[0]);
    pin_ue_wipe(&h.gw[1]);
    onboard_http_free(h.http);
    return rc;
}
