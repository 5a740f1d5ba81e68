/* Personal IoT Networks end to end (issue 14, docs/pin.md): the real daemon over TLS, the SDK's
 * PEMC/PEGC/PINE code. Roles and proofs, PIN CRUD, PINE join/approval, authentication through
 * the PEGC and every attack of the list, revocation, malformed bodies. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/provision_crypto.h"
#include "fixture.h"
#include "northbound_client.h"
#include "pin.h"
#include "pin/pin.h"

static struct daemon_fixture fx;

/* Subscriptions: K differs per UE (its last byte). */
#define PEMC   "imsi-001010000001001"
#define PEGC1  "imsi-001010000001002"
#define PEGC2  "imsi-001010000001003"
#define NOROLE "imsi-001010000001004"
#define PEMC_B "imsi-001010000001005" /* another household */
#define PEGC_B "imsi-001010000001006"

static void key_of(const char *supi, uint8_t k[16])
{
    memset(k, 0x42, 16);
    k[15] = (uint8_t)(supi[strlen(supi) - 1] - '0');
}

static void ue(struct pin_ue *u, const char *supi)
{
    uint8_t k[16];
    key_of(supi, k);
    assert_int_equal(pin_ue_init(u, supi, k, 16, 1), IOTSEC_OK);
}

static void add_sub(const char *supi, const char *owner)
{
    uint8_t k[16];
    char khex[33], json[256];
    key_of(supi, k);
    for (int i = 0; i < 16; i++)
        sprintf(khex + 2 * i, "%02x", k[i]);
    snprintf(json, sizeof(json),
             "{\"supi\":\"%s\",\"k\":\"%s\",\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\","
             "\"amf\":\"8000\",\"owner\":\"%s\"}",
             supi, khex, owner);
    assert_int_equal(fixture_add_subscriber(&fx, json), 0);
}

static long admin(const char *method, const char *path, const char *body, char **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    return fixture_request(&fx, AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                           body ? strlen(body) : 0, out);
}

static void roles(const char *supi, bool gw, bool mgr)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/pin-roles", supi);
    snprintf(body, sizeof(body), "{\"gateway\":%s,\"manager\":%s}", gw ? "true" : "false",
             mgr ? "true" : "false");
    assert_int_equal(admin("PUT", path, body, NULL), 200);
}

static long device(const char *path, const char *body, size_t len, char **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx.device, path);
    return fixture_request(&fx, AS_NOBODY, "POST", url, "application/json", body, len, out);
}

static void nonce(uint8_t n[PIN_NONCE_LEN])
{
    char *out = NULL;
    assert_int_equal(device("/device/v1/pin/nonce", "{}", 2, &out), 200);
    assert_int_equal(pin_parse_nonce(out, strlen(out), n), IOTSEC_OK);
    free(out);
}

/* One operation with a given nonce; the envelope is kept in *env_out when asked (replays). */
static long call_n(const struct pin_ue *u, const char *op, const uint8_t n[PIN_NONCE_LEN],
                   const char *request, json_t **answer, char **env_out)
{
    char *env, *out = NULL, path[96];
    size_t len;
    assert_int_equal(pin_ue_envelope(u, op, n, request, strlen(request), &env, &len), IOTSEC_OK);
    snprintf(path, sizeof(path), "/device/v1/pin/%s", op);
    long st = device(path, env, len, &out);
    if (answer)
        *answer = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (env_out)
        *env_out = env;
    else
        free(env);
    return st;
}

static long call(const struct pin_ue *u, const char *op, const char *request, json_t **answer)
{
    uint8_t n[PIN_NONCE_LEN];
    nonce(n);
    return call_n(u, op, n, request, answer, NULL);
}

static const char *cause(const json_t *a)
{
    const char *c = json_string_value(json_object_get(a, "cause"));
    return c ? c : "";
}

static void b64dec(const char *s, uint8_t *out, size_t want)
{
    size_t n = 0;
    assert_non_null(s);
    assert_int_equal(b64url_decode(s, strlen(s), out, want, &n), IOTSEC_OK);
    assert_int_equal(n, want);
}

/* A PIN of PEMC with gateways; its id, CA key and the gw_id of each gateway. */
struct net {
    char pin_id[80];
    uint8_t ca[32];
    char gw[2][32];
};

static void create(const struct pin_ue *pemc, const char *gws_json, struct net *n)
{
    char req[512];
    json_t *a = NULL;
    snprintf(req, sizeof(req),
             "{\"name\":\"home\",\"gateways\":%s,\"policy\":{\"dnns\":[\"internet\",\"iot\"],"
             "\"qos_classes\":[9,7],\"max_lifetime_s\":600}}",
             gws_json);
    assert_int_equal(call(pemc, "create", req, &a), 201);
    snprintf(n->pin_id, sizeof(n->pin_id), "%s", json_string_value(json_object_get(a, "pin_id")));
    b64dec(json_string_value(json_object_get(a, "ca_public_key")), n->ca, 32);
    json_t *g = json_object_get(a, "gateways");
    for (size_t i = 0; i < json_array_size(g) && i < 2; i++)
        snprintf(n->gw[i], sizeof(n->gw[i]), "%s",
                 json_string_value(json_object_get(json_array_get(g, i), "gw_id")));
    assert_string_equal(json_string_value(json_object_get(a, "owner")), "house-1");
    json_decref(a);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    add_sub(PEMC, "house-1");
    add_sub(PEGC1, "house-1");
    add_sub(PEGC2, "house-1");
    add_sub(NOROLE, "house-1");
    add_sub(PEMC_B, "house-2");
    add_sub(PEGC_B, "house-2");
    roles(PEMC, false, true);
    roles(PEGC1, true, false);
    roles(PEGC2, true, false);
    roles(PEMC_B, false, true);
    roles(PEGC_B, true, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Who may act: a valid proof is needed, then the role, then ownership. */
static void test_roles_and_proofs(void **state)
{
    (void)state;
    struct pin_ue pemc, norole, pegc, forged;
    ue(&pemc, PEMC);
    ue(&norole, NOROLE);
    ue(&pegc, PEGC1);
    json_t *a = NULL;
    const char *req = "{\"name\":\"x\",\"gateways\":[\"" PEGC1 "\"],\"policy\":{\"dnns\":[\"iot\"],"
                      "\"qos_classes\":[9]}}";
    /* a UE without the manager role (proved) */
    assert_int_equal(call(&norole, "create", req, &a), 403);
    assert_string_equal(cause(a), "ROLE_REQUIRED");
    json_decref(a);
    /* a gateway is not a manager */
    assert_int_equal(call(&pegc, "create", req, &a), 403);
    assert_string_equal(cause(a), "ROLE_REQUIRED");
    json_decref(a);
    /* the manager's SUPI with a wrong K: no proof */
    uint8_t wrong[16] = {0};
    assert_int_equal(pin_ue_init(&forged, PEMC, wrong, 16, 1), IOTSEC_OK);
    assert_int_equal(call(&forged, "create", req, &a), 401);
    assert_string_equal(cause(a), "PROOF_INVALID");
    json_decref(a);
    /* an unknown subscription: the same 401 */
    assert_int_equal(pin_ue_init(&forged, "imsi-001010000009999", wrong, 16, 1), IOTSEC_OK);
    assert_int_equal(call(&forged, "list", "{}", &a), 401);
    json_decref(a);
    /* the right K but an old credential version */
    uint8_t k[16];
    key_of(PEMC, k);
    assert_int_equal(pin_ue_init(&forged, PEMC, k, 16, 2), IOTSEC_OK);
    assert_int_equal(call(&forged, "list", "{}", &a), 401);
    json_decref(a);
    /* a proof for one operation does not authorise another; a replay is refused */
    uint8_t n[PIN_NONCE_LEN];
    char *env = NULL, *out = NULL;
    nonce(n);
    assert_int_equal(call_n(&pemc, "list", n, "{}", &a, &env), 200);
    json_decref(a);
    assert_int_equal(device("/device/v1/pin/list", env, strlen(env), &out), 401);
    assert_non_null(strstr(out, "NONCE_INVALID"));
    free(out);
    out = NULL;
    assert_int_equal(device("/device/v1/pin/delete", env, strlen(env), &out), 401);
    assert_non_null(strstr(out, "PROOF_INVALID"));
    free(out);
    free(env);
    /* a gateway without the role cannot be named */
    const char *bad_gw = "{\"name\":\"x\",\"gateways\":[\"" NOROLE "\"],\"policy\":{\"dnns\":"
                         "[\"iot\"],\"qos_classes\":[9]}}";
    assert_int_equal(call(&pemc, "create", bad_gw, &a), 403);
    assert_string_equal(cause(a), "GATEWAY_ROLE_MISSING");
    json_decref(a);
    /* roles removed: the next request is refused */
    roles(PEMC, false, false);
    assert_int_equal(call(&pemc, "list", "{}", &a), 403);
    json_decref(a);
    roles(PEMC, false, true);
    /* a suspended subscription proves nothing any more */
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/suspend", NOROLE);
    roles(NOROLE, false, true);
    assert_int_equal(admin("POST", path, "{}", NULL), 200);
    assert_int_equal(call(&norole, "list", "{}", &a), 403);
    assert_string_equal(cause(a), "SUBSCRIPTION_NOT_ACTIVE");
    json_decref(a);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&norole);
    pin_ue_wipe(&pegc);
}

/* The PEMC's PIN: create, list, get, update; another household sees nothing of it. */
static void test_pin_crud(void **state)
{
    (void)state;
    struct pin_ue pemc, pemc_b, pegc;
    ue(&pemc, PEMC);
    ue(&pemc_b, PEMC_B);
    ue(&pegc, PEGC1);
    struct net n;
    create(&pemc, "[\"" PEGC1 "\",\"" PEGC2 "\"]", &n);
    char req[256];
    json_t *a = NULL;
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\"}", n.pin_id);
    assert_int_equal(call(&pemc, "get", req, &a), 200);
    assert_int_equal(json_array_size(json_object_get(a, "gateways")), 2);
    json_decref(a);
    /* a gateway sees the PIN, its own gw_id, and no SUPI */
    assert_int_equal(call(&pegc, "get", req, &a), 200);
    assert_string_equal(json_string_value(json_object_get(a, "gw_id")), n.gw[0]);
    assert_null(json_object_get(a, "gateways"));
    char *dump = json_dumps(a, 0);
    assert_null(strstr(dump, "imsi-"));
    free(dump);
    json_decref(a);
    /* another household's manager: the same 403 as for a PIN that does not exist */
    assert_int_equal(call(&pemc_b, "get", req, &a), 403);
    assert_string_equal(cause(a), "NOT_YOUR_PIN");
    json_decref(a);
    assert_int_equal(call(&pemc_b, "get", "{\"pin_id\":\"pin-0000000000000000\"}", &a), 403);
    assert_string_equal(cause(a), "NOT_YOUR_PIN");
    json_decref(a);
    assert_int_equal(call(&pemc_b, "delete", req, &a), 403);
    json_decref(a);
    /* update: a name and a policy; outside-range values refused */
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"name\":\"flat\"}", n.pin_id);
    assert_int_equal(call(&pemc, "update", req, &a), 200);
    json_decref(a);
    snprintf(req, sizeof(req),
             "{\"pin_id\":\"%s\",\"policy\":{\"dnns\":[\"iot\"],\"qos_classes\":[0]}}", n.pin_id);
    assert_int_equal(call(&pemc, "update", req, &a), 400);
    json_decref(a);
    assert_int_equal(call(&pemc, "list", "{}", &a), 200);
    assert_true(json_array_size(json_object_get(a, "pins")) >= 1);
    json_decref(a);
    /* the operator sees it */
    char *out = NULL, path[128];
    snprintf(path, sizeof(path), "/admin/v1/pins/%s", n.pin_id);
    assert_int_equal(admin("GET", path, NULL, &out), 200);
    assert_non_null(strstr(out, "\"flat\""));
    free(out);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&pemc_b);
    pin_ue_wipe(&pegc);
}

/* One PINE joined through gw and its pine_id. */
static void join(const struct pin_ue *gw, const struct net *n, const struct pin_pine_key *k,
                 const char *name, char *pine_id, long want)
{
    char req[512];
    json_t *a = NULL;
    assert_int_equal(pin_pine_join_request(k, n->pin_id, name, req, sizeof(req)), IOTSEC_OK);
    assert_int_equal(call(gw, "join", req, &a), want);
    if (want == 202)
        snprintf(pine_id, 32, "%s", json_string_value(json_object_get(a, "pine_id")));
    json_decref(a);
}

static void decide(const struct pin_ue *pemc, const struct net *n, const char *pine, const char *op,
                   const char *extra, long want)
{
    char req[512];
    json_t *a = NULL;
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"%s}", n->pin_id, pine, extra);
    assert_int_equal(call(pemc, op, req, &a), want);
    json_decref(a);
}

/* An authentication of PINE k (id pine) through gw (its gw_id gw_id), optionally tampered by
 * the PEGC (flip: one bit of the PINE's signature). Returns the status; *g gets the decision. */
static long authenticate(const struct pin_ue *gw, const char *gw_id, const struct net *n,
                         const struct pin_pine_key *k, const char *pine, bool flip,
                         struct pin_pegc *g)
{
    uint8_t nn[PIN_NONCE_LEN], sig[PIN_SIG_LEN];
    nonce(nn);
    assert_int_equal(pin_pine_auth_sig(k, n->pin_id, pine, gw_id, nn, sig), IOTSEC_OK);
    if (flip)
        sig[10] ^= 0x04;
    char s64[128], req[512];
    b64url_encode(sig, sizeof(sig), s64);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"signature\":\"%s\"}",
             n->pin_id, pine, s64);
    char *env, *out = NULL;
    size_t len;
    assert_int_equal(pin_ue_envelope(gw, "auth", nn, req, strlen(req), &env, &len), IOTSEC_OK);
    long st = device("/device/v1/pin/auth", env, len, &out);
    free(env);
    if (st == 200 && g)
        assert_int_equal(pin_pegc_accept(g, out, strlen(out), nn, 0), IOTSEC_OK);
    free(out);
    return st;
}

struct checker {
    const struct pin_ue *gw;
    const struct net *n;
};

static bool check_net(void *ctx, const char *pine_id)
{
    struct checker *c = ctx;
    char req[256];
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", c->n->pin_id, pine_id);
    return call(c->gw, "check", req, NULL) == 200;
}

/* Key issue 1: join, approval, authentication through the PEGC, every attack, revocation. */
static void test_pine_lifecycle(void **state)
{
    (void)state;
    struct pin_ue pemc, gw1, gw2, gwb, pemc_b;
    ue(&pemc, PEMC);
    ue(&gw1, PEGC1);
    ue(&gw2, PEGC2);
    ue(&gwb, PEGC_B);
    ue(&pemc_b, PEMC_B);
    struct net a, b;
    create(&pemc, "[\"" PEGC1 "\",\"" PEGC2 "\"]", &a);
    /* household B: its own PIN with its own gateway */
    {
        json_t *r = NULL;
        assert_int_equal(call(&pemc_b, "create",
                              "{\"name\":\"b\",\"gateways\":[\"" PEGC_B
                              "\"],\"policy\":{\"dnns\":[\"iot\"],"
                              "\"qos_classes\":[9]}}",
                              &r),
                         201);
        snprintf(b.pin_id, sizeof(b.pin_id), "%s", json_string_value(json_object_get(r, "pin_id")));
        json_decref(r);
    }
    struct pin_pine_key lamp, lock, rogue;
    assert_int_equal(pin_pine_keygen(&lamp), IOTSEC_OK);
    assert_int_equal(pin_pine_keygen(&lock), IOTSEC_OK);
    assert_int_equal(pin_pine_keygen(&rogue), IOTSEC_OK);
    char lamp_id[32], lock_id[32], rogue_id[32];
    join(&gw1, &a, &lamp, "lamp", lamp_id, 202);
    join(&gw2, &a, &lock, "lock", lock_id, 202);
    join(&gw1, &a, &rogue, "rogue", rogue_id, 202);
    /* a PEGC claiming a PIN it does not serve */
    char dummy[32];
    join(&gwb, &a, &lamp, "lamp2", dummy, 403);
    /* a join whose key the PEGC swapped: the PINE's signature no longer verifies */
    {
        char req[512];
        json_t *r = NULL;
        assert_int_equal(pin_pine_join_request(&lamp, a.pin_id, "evil", req, sizeof(req)),
                         IOTSEC_OK);
        char *pk = strstr(req, "\"public_key\":\"") + 14;
        *pk = *pk == 'A' ? 'B' : 'A';
        assert_int_equal(call(&gw1, "join", req, &r), 401);
        assert_string_equal(cause(r), "PINE_SIGNATURE_INVALID");
        json_decref(r);
    }
    /* not approved yet: no authentication */
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lamp, lamp_id, false, NULL), 403);
    /* approvals: within the policy only; the other household cannot decide */
    decide(&pemc, &a, lamp_id, "approve", ",\"qos_class\":5", 403);
    decide(&pemc, &a, lamp_id, "approve", ",\"lifetime_s\":100000", 400);
    decide(&pemc_b, &a, lamp_id, "approve", "", 403);
    decide(&pemc, &a, lamp_id, "approve", ",\"dnns\":[\"iot\"],\"qos_class\":7", 200);
    decide(&pemc, &a, lamp_id, "approve", "", 409); /* decided once */
    decide(&pemc, &a, lock_id, "approve", "", 200);
    decide(&pemc, &a, rogue_id, "refuse", "", 200);

    struct pin_pegc g1, g2;
    assert_int_equal(pin_pegc_init(&g1, a.pin_id, a.gw[0], a.ca, 16), IOTSEC_OK);
    assert_int_equal(pin_pegc_init(&g2, a.pin_id, a.gw[1], a.ca, 16), IOTSEC_OK);
    /* the PINE authenticates through either gateway; each PEGC verifies the decision */
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lamp, lamp_id, false, &g1), 200);
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, &g2), 200);
    struct checker c1 = {&gw1, &a}, c2 = {&gw2, &a};
    assert_true(pin_pegc_forward(&g1, lamp_id, "iot", 10, check_net, &c1));
    assert_false(pin_pegc_forward(&g1, lamp_id, "internet", 10, check_net, &c1)); /* not granted */
    assert_false(pin_pegc_forward(&g1, lock_id, "iot", 10, check_net, &c1));      /* not its PINE */
    /* the refused rogue, and a PEGC flipping a bit of a relayed authentication */
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &rogue, rogue_id, false, NULL), 403);
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lamp, lamp_id, true, NULL), 401);
    /* a PINE's signature replayed: as another PINE, through another gateway, with the nonce
     * it was made for (consumed) */
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lamp, lock_id, false, NULL), 401);
    assert_int_equal(authenticate(&gw2, a.gw[0], &a, &lamp, lamp_id, false, NULL), 401);
    {
        uint8_t nn[PIN_NONCE_LEN], sig[PIN_SIG_LEN];
        char s64[128], req[512], *env;
        nonce(nn);
        assert_int_equal(pin_pine_auth_sig(&lamp, a.pin_id, lamp_id, a.gw[0], nn, sig), IOTSEC_OK);
        b64url_encode(sig, sizeof(sig), s64);
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"signature\":\"%s\"}",
                 a.pin_id, lamp_id, s64);
        assert_int_equal(call_n(&gw1, "auth", nn, req, NULL, &env), 200);
        /* the same bytes again, and the PINE's signature under a fresh envelope nonce */
        assert_int_equal(device("/device/v1/pin/auth", env, strlen(env), NULL), 401);
        free(env);
        assert_int_equal(call(&gw1, "auth", req, NULL), 401);
    }
    /* PIN A's PINE ids used in PIN B by B's gateway: unknown there */
    {
        char req[256];
        json_t *r = NULL;
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", b.pin_id, lamp_id);
        assert_int_equal(call(&gwb, "check", req, &r), 403);
        json_decref(r);
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\"}", a.pin_id, lamp_id);
        assert_int_equal(call(&gwb, "check", req, &r), 403);
        assert_string_equal(cause(r), "NOT_A_GATEWAY_OF_PIN");
        json_decref(r);
    }

    /* revocation: removing the lamp; its next authentication and its next re-checked packet */
    decide(&pemc, &a, lamp_id, "remove", "", 200);
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lamp, lamp_id, false, NULL), 403);
    assert_false(pin_pegc_forward(&g1, lamp_id, "iot", 5000, check_net, &c1));
    assert_false(pin_pegc_forward(&g1, lamp_id, "iot", 5001, check_net, &c1)); /* dropped */
    /* suspending gateway 2: the lock can no longer be authenticated through it */
    {
        char req[256];
        json_t *r = NULL;
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"gw_id\":\"%s\"}", a.pin_id, a.gw[1]);
        assert_int_equal(call(&pemc, "suspend-gateway", req, &r), 200);
        json_decref(r);
        assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, NULL), 403);
        assert_false(pin_pegc_forward(&g2, lock_id, "iot", 5000, check_net, &c2));
        assert_int_equal(call(&pemc, "resume-gateway", req, &r), 200);
        json_decref(r);
    }
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, NULL), 200);
    /* deleting the PIN revokes every PINE of it */
    decide(&pemc, &a, lock_id, "delete", "", 200);
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, NULL), 403);
    pin_pegc_free(&g1);
    pin_pegc_free(&g2);
    pin_pine_wipe(&lamp);
    pin_pine_wipe(&lock);
    pin_pine_wipe(&rogue);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&gw1);
    pin_ue_wipe(&gw2);
    pin_ue_wipe(&gwb);
    pin_ue_wipe(&pemc_b);
}

/* A PEGC removed from a PIN (and one added): the removed one relays nothing more (its next
 * authentication and its PEGC's next re-check are refused), the PINE still authenticates
 * through the other gateway, a gateway added later gets a new gw_id. */
static void test_gateway_membership(void **state)
{
    (void)state;
    struct pin_ue pemc, gw1, gw2, pemc_b;
    ue(&pemc, PEMC);
    ue(&gw1, PEGC1);
    ue(&gw2, PEGC2);
    ue(&pemc_b, PEMC_B);
    struct net a;
    create(&pemc, "[\"" PEGC1 "\",\"" PEGC2 "\"]", &a);
    struct pin_pine_key lock;
    char lock_id[32], req[256];
    assert_int_equal(pin_pine_keygen(&lock), IOTSEC_OK);
    join(&gw2, &a, &lock, "lock", lock_id, 202);
    decide(&pemc, &a, lock_id, "approve", "", 200);
    struct pin_pegc g2;
    assert_int_equal(pin_pegc_init(&g2, a.pin_id, a.gw[1], a.ca, 4), IOTSEC_OK);
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, &g2), 200);
    struct checker c2 = {&gw2, &a};
    assert_true(pin_pegc_forward(&g2, lock_id, "iot", 10, check_net, &c2));

    json_t *r = NULL;
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"gw_id\":\"%s\"}", a.pin_id, a.gw[1]);
    assert_int_equal(call(&pemc_b, "remove-gateway", req, NULL), 403); /* not its PIN */
    assert_int_equal(call(&gw2, "remove-gateway", req, NULL), 403);    /* not a manager */
    assert_int_equal(call(&pemc, "remove-gateway", req, NULL), 200);
    assert_int_equal(call(&pemc, "remove-gateway", req, NULL), 404);
    /* removed: no authentication through it, and its PEGC drops the PINE at the re-check */
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, NULL), 403);
    assert_false(pin_pegc_forward(&g2, lock_id, "iot", 5000, check_net, &c2));
    assert_false(pin_pegc_forward(&g2, lock_id, "iot", 5001, check_net, &c2));
    /* the PINE through the remaining gateway */
    assert_int_equal(authenticate(&gw1, a.gw[0], &a, &lock, lock_id, false, NULL), 200);
    /* the last gateway stays */
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"gw_id\":\"%s\"}", a.pin_id, a.gw[0]);
    assert_int_equal(call(&pemc, "remove-gateway", req, &r), 409);
    assert_string_equal(cause(r), "LAST_GATEWAY");
    json_decref(r);
    /* added again: a new gw_id; a UE without the gateway role and a gateway twice refused */
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"supi\":\"" NOROLE "\"}", a.pin_id);
    assert_int_equal(call(&pemc, "add-gateway", req, NULL), 403);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"supi\":\"" PEGC1 "\"}", a.pin_id);
    assert_int_equal(call(&pemc, "add-gateway", req, NULL), 409);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"supi\":\"bad\"}", a.pin_id);
    assert_int_equal(call(&pemc, "add-gateway", req, NULL), 400);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"supi\":\"" PEGC2 "\"}", a.pin_id);
    assert_int_equal(call(&pemc, "add-gateway", req, &r), 201);
    char new_gw[32];
    snprintf(new_gw, sizeof(new_gw), "%s", json_string_value(json_object_get(r, "gw_id")));
    json_decref(r);
    assert_string_not_equal(new_gw, a.gw[1]);
    assert_int_equal(authenticate(&gw2, a.gw[1], &a, &lock, lock_id, false, NULL), 401);
    assert_int_equal(authenticate(&gw2, new_gw, &a, &lock, lock_id, false, NULL), 200);
    decide(&pemc, &a, lock_id, "delete", "", 200);
    pin_pegc_free(&g2);
    pin_pine_wipe(&lock);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&gw1);
    pin_ue_wipe(&gw2);
    pin_ue_wipe(&pemc_b);
}

/* Malformed envelopes and requests on every operation: 4xx ProblemDetails, never 5xx. */
static void test_malformed(void **state)
{
    (void)state;
    static const char *const ops[] = {
        "create", "list",    "get",    "update", "delete", "suspend-gateway", "resume-gateway",
        "join",   "approve", "refuse", "remove", "auth",   "check",           "enrol-code"};
    static const char *const envelopes[] = {
        "",
        "[]",
        "{",
        "{\"supi\":\"imsi-001010000001001\"}",
        "{\"supi\":\"not-a-supi\",\"nonce\":\"AAAA\",\"request\":\"e30\",\"mac\":\"AAAA\"}",
        "{\"supi\":\"imsi-001010000001001\",\"nonce\":\"!!\",\"request\":\"e30\",\"mac\":\"AA\"}",
        "{\"supi\":\"imsi-001010000001001\",\"supi\":\"imsi-001010000001002\"}",
        "{\"supi\":12,\"nonce\":null,\"request\":[],\"mac\":{}}",
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        for (size_t j = 0; j < sizeof(envelopes) / sizeof(envelopes[0]); j++) {
            char path[96];
            snprintf(path, sizeof(path), "/device/v1/pin/%s", ops[i]);
            long st = device(path, envelopes[j], strlen(envelopes[j]), NULL);
            assert_true(st == 400);
        }
    assert_int_equal(device("/device/v1/pin/nope", "{}", 2, NULL), 404);
    /* well-proved requests with bad inner bodies: 400 on every operation of each role */
    struct pin_ue pemc, gw;
    ue(&pemc, PEMC);
    ue(&gw, PEGC1);
    static const char *const inner[] = {"",
                                        "[1]",
                                        "{\"pin_id\":5}",
                                        "{\"pin_id\":\"a b\"}",
                                        "{\"pin_id\":\"\"}",
                                        "null",
                                        "{\"name\":\"\\u0000\"}"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        for (size_t j = 0; j < sizeof(inner) / sizeof(inner[0]); j++) {
            const struct pin_ue *u = strcmp(ops[i], "join") == 0 || strcmp(ops[i], "auth") == 0 ||
                                             strcmp(ops[i], "check") == 0
                                         ? &gw
                                         : &pemc;
            json_t *a = NULL;
            long st = call(u, ops[i], inner[j], &a);
            if (strcmp(ops[i], "list") == 0 && st == 200 && json_is_object(a)) {
                json_decref(a); /* list takes no member: any object lists */
                continue;
            }
            assert_true(st == 400 || st == 403);
            json_decref(a);
        }
    /* the admin side */
    assert_int_equal(admin("PUT", "/admin/v1/subscribers/nope/pin-roles", "{}", NULL), 400);
    assert_int_equal(
        admin("PUT", "/admin/v1/subscribers/" PEMC "/pin-roles", "{\"gateway\":1}", NULL), 400);
    assert_int_equal(admin("PUT", "/admin/v1/subscribers/imsi-001010000009999/pin-roles",
                           "{\"gateway\":true}", NULL),
                     404);
    assert_int_equal(admin("GET", "/admin/v1/pins/pin-nope", NULL, NULL), 404);
    assert_int_equal(admin("DELETE", "/admin/v1/pins/pin-nope", NULL, NULL), 404);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&gw);
}

/* ---- key issue 2: AFs confined to their PIN ---- */

static void register_af(const char *name, char *af_id, struct nb_identity *id, char *cert,
                        char *key)
{
    assert_int_equal(nb_mint_client(fx.dir, name), 0);
    snprintf(cert, 128, "%s/%s.pem", fx.dir, name);
    snprintf(key, 128, "%s/%s.key", fx.dir, name);
    id->cert = cert;
    id->key = key;
    char *pem = nb_read_file(cert);
    json_t *o = nb_admin_json(
        &fx, "POST", "/admin/v1/afs",
        json_pack("{s:s, s:s, s:[s]}", "name", name, "cert_pem", pem, "services", "pin"), 201);
    free(pem);
    snprintf(af_id, 80, "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
}

static char *token(const struct nb_identity *who, const char *scope)
{
    char url[128], form[128];
    snprintf(url, sizeof(url), "%s/oauth2/token", fx.north);
    snprintf(form, sizeof(form), "grant_type=client_credentials&scope=%s", scope);
    struct nb_response r;
    nb_call(&fx, who, "POST", url, NULL, "application/x-www-form-urlencoded", form, 1, &r);
    json_t *o = json_loads(r.body, 0, NULL);
    char *t =
        r.status == 200 ? strdup(json_string_value(json_object_get(o, "access_token"))) : NULL;
    json_decref(o);
    nb_response_free(&r);
    return t;
}

/* IOTSEC_PIN_DUMP=DIR (tests/openapi): the accepted QoS and routing bodies and every
 * ProblemDetails are written there as <Schema>-NNN.json for the OpenAPI validation. */
static void dump(const char *schema, const char *body)
{
    static int seq;
    const char *dir = getenv("IOTSEC_PIN_DUMP");
    if (dir == NULL || body == NULL || body[0] == '\0')
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%03d.json", dir, schema, seq++);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(body, f);
        fclose(f);
    }
}

/* One northbound request; the leak scanner runs over every answer (no SUPI may appear). */
static long nb(const struct nb_identity *who, const char *tok, const char *method, const char *path,
               const char *body, json_t **answer)
{
    char url[640];
    snprintf(url, sizeof(url), "%s%s", fx.north, path);
    struct nb_response r;
    nb_call(&fx, who, method, url, tok, body ? "application/json" : NULL, body, 1, &r);
    if (answer)
        *answer = json_loads(r.body, 0, NULL);
    long st = r.status;
    if (st == 201 && strstr(path, "/qos")) {
        dump("AsSessionWithQoSSubscription", body);
        dump("AsSessionWithQoSSubscription", r.body);
    } else if (st == 200 && strstr(path, "/routing"))
        dump("ServiceParameterData", body);
    else if (st >= 400 && st != 401) /* 401 answers carry WWW-Authenticate, no body shape */
        dump("ProblemDetails", r.body);
    nb_response_free(&r);
    return st;
}

static void test_af_confined_to_pin(void **state)
{
    (void)state;
    struct nb_identity id1, id2;
    char af1[80], af2[80], c1[128], k1[128], c2[128], k2[128];
    register_af("pinaf1", af1, &id1, c1, k1);
    register_af("pinaf2", af2, &id2, c2, k2);
    char *t1 = token(&id1, "pin"), *t2 = token(&id2, "pin");
    assert_non_null(t1);
    assert_non_null(t2);
    assert_null(token(&id1, "monitoring-event")); /* not registered for it */
    struct pin_ue pemc, pemc_b, gw, gwb;
    ue(&pemc, PEMC);
    ue(&pemc_b, PEMC_B);
    ue(&gw, PEGC1);
    ue(&gwb, PEGC_B);
    struct net a, b;
    create(&pemc, "[\"" PEGC1 "\"]", &a);
    json_t *r = NULL;
    assert_int_equal(call(&pemc_b, "create",
                          "{\"name\":\"b\",\"gateways\":[\"" PEGC_B "\"],\"policy\":{"
                          "\"dnns\":[\"iot\"],\"qos_classes\":[9]}}",
                          &r),
                     201);
    snprintf(b.pin_id, sizeof(b.pin_id), "%s", json_string_value(json_object_get(r, "pin_id")));
    json_decref(r);
    struct pin_pine_key lamp, cam;
    char lamp_id[32], cam_id[32];
    assert_int_equal(pin_pine_keygen(&lamp), IOTSEC_OK);
    assert_int_equal(pin_pine_keygen(&cam), IOTSEC_OK);
    join(&gw, &a, &lamp, "lamp", lamp_id, 202);
    decide(&pemc, &a, lamp_id, "approve", "", 200);
    join(&gwb, &b, &cam, "cam", cam_id, 202);
    decide(&pemc_b, &b, cam_id, "approve", "", 200);

    char path[512], req[512];
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, a.pin_id);
    /* without the owner's grant: the token carries no PIN, and none can be asked for */
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_PIN_NOT_IN_TOKEN");
    json_decref(r);
    snprintf(req, sizeof(req), "pin+pin:%s", a.pin_id);
    assert_null(token(&id1, req));
    /* the owners grant: A to af1 (all), B to af2 (elements); only the owner may */
    snprintf(req, sizeof(req),
             "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\",\"qos\","
             "\"routing\"]}",
             a.pin_id, af1);
    assert_int_equal(call(&pemc_b, "grant-af", req, NULL), 403);
    assert_int_equal(call(&pemc, "grant-af", req, NULL), 200);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\"]}",
             b.pin_id, af2);
    assert_int_equal(call(&pemc_b, "grant-af", req, NULL), 200);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"nope\",\"services\":[\"elements\"]}",
             a.pin_id);
    assert_int_equal(call(&pemc, "grant-af", req, NULL), 404);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"all\"]}",
             a.pin_id, af1);
    assert_int_equal(call(&pemc, "grant-af", req, NULL), 400);

    /* tokens carry no more than the PINs granted: the one from before the grant still covers
     * nothing; a new one covers A (af1) and B (af2); one naming a PIN without grant, or a
     * resource of another kind, is refused */
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, a.pin_id);
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_PIN_NOT_IN_TOKEN");
    json_decref(r);
    free(t1);
    free(t2);
    t1 = token(&id1, "pin");
    t2 = token(&id2, "pin");
    assert_non_null(t1);
    assert_non_null(t2);
    snprintf(req, sizeof(req), "pin+pin:%s", b.pin_id);
    assert_null(token(&id1, req));
    assert_null(token(&id1, "pin+group:x"));
    assert_null(token(&id1, "pin+pin:"));
    snprintf(req, sizeof(req), "monitoring-event+pin:%s", a.pin_id);
    assert_null(token(&id1, req));
    /* a second PIN C of household A granted to af1 later: the earlier token does not carry
     * it; a token naming C covers C and nothing else */
    struct net c;
    create(&pemc, "[\"" PEGC1 "\"]", &c);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\"]}",
             c.pin_id, af1);
    assert_int_equal(call(&pemc, "grant-af", req, NULL), 200);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, c.pin_id);
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_PIN_NOT_IN_TOKEN");
    json_decref(r);
    snprintf(req, sizeof(req), "pin+pin:%s", c.pin_id);
    char *t1_c = token(&id1, req);
    assert_non_null(t1_c);
    assert_int_equal(nb(&id1, t1_c, "GET", path, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, a.pin_id);
    assert_int_equal(nb(&id1, t1_c, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_PIN_NOT_IN_TOKEN");
    json_decref(r);
    free(t1_c);

    /* af1 reads PIN A's elements by PIN-local ids; no SUPI (the scanner checks every answer) */
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "elements"), 0), "pineId")),
                        lamp_id);
    json_decref(r);
    /* af2 on PIN A; af1 on PIN B; af1 naming af2 in the path */
    assert_int_equal(nb(&id2, t2, "GET", path, NULL, NULL), 403);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, b.pin_id);
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, NULL), 403);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af2, b.pin_id);
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, NULL), 403);
    assert_int_equal(nb(&id2, t2, "GET", path, NULL, NULL), 200);
    /* a grant on B without "elements" (routing only): the elements are refused, then given
     * again when the owner grants them back */
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"routing\"]}",
             b.pin_id, af2);
    assert_int_equal(call(&pemc_b, "grant-af", req, NULL), 200);
    assert_int_equal(nb(&id2, t2, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_NO_PIN_GRANT");
    assert_null(json_object_get(r, "elements"));
    json_decref(r);
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\",\"services\":[\"elements\"]}",
             b.pin_id, af2);
    assert_int_equal(call(&pemc_b, "grant-af", req, NULL), 200);
    assert_int_equal(nb(&id2, t2, "GET", path, NULL, NULL), 200);
    /* another AF's token on af1's connection: refused by the binding */
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, a.pin_id);
    assert_int_equal(nb(&id1, t2, "GET", path, NULL, NULL), 401);

    /* QoS for a PINE of the PIN (within the policy); a PINE of PIN B named under PIN A; a
     * class outside the policy; af2 has no qos grant on B */
    const char *qos = "{\"notificationDestination\":\"https://af.example/n\","
                      "\"qosReference\":\"5qi-7\",\"ueIpv4Addr\":\"10.45.0.7\","
                      "\"flowInfo\":[{\"flowId\":1,\"flowDescriptions\":[\"permit out ip from "
                      "10.45.0.7 to any\"]}]}";
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements/%s/qos", af1, a.pin_id, lamp_id);
    assert_int_equal(nb(&id1, t1, "POST", path, qos, NULL), 201);
    assert_int_equal(nb(&id1, t1, "POST", path,
                        "{\"notificationDestination\":\"x\",\"qosReference\":\"5qi-1\"}", NULL),
                     403);
    assert_int_equal(nb(&id1, t1, "POST", path, "{\"qosReference\":\"5qi-7\"}", NULL), 400);
    assert_int_equal(nb(&id1, t1, "POST", path, "[]", NULL), 400);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements/%s/qos", af1, a.pin_id, cam_id);
    assert_int_equal(nb(&id1, t1, "POST", path, qos, &r), 403);
    assert_string_equal(cause(r), "DENY_NOT_IN_PIN");
    json_decref(r);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements/%s/qos", af2, b.pin_id, cam_id);
    assert_int_equal(nb(&id2, t2, "POST", path, qos, NULL), 403);

    /* routing policy: ServiceParameter with this pinId and one of its DNNs */
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/routing", af1, a.pin_id);
    snprintf(req, sizeof(req), "{\"pinId\":\"%s\",\"dnn\":\"iot\",\"snssai\":{\"sst\":1}}",
             a.pin_id);
    assert_int_equal(nb(&id1, t1, "PUT", path, req, NULL), 200);
    snprintf(req, sizeof(req), "{\"pinId\":\"%s\",\"dnn\":\"iot\"}", b.pin_id);
    assert_int_equal(nb(&id1, t1, "PUT", path, req, NULL), 403);
    snprintf(req, sizeof(req), "{\"pinId\":\"%s\",\"dnn\":\"ims\"}", a.pin_id);
    assert_int_equal(nb(&id1, t1, "PUT", path, req, NULL), 403);
    assert_int_equal(nb(&id1, t1, "PUT", path, "{\"dnn\":5}", NULL), 400);

    /* the owner revokes: the very next request is refused */
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"af_id\":\"%s\"}", a.pin_id, af1);
    assert_int_equal(call(&pemc, "revoke-af", req, NULL), 200);
    snprintf(path, sizeof(path), "/3gpp-pin/v1/%s/pins/%s/elements", af1, a.pin_id);
    assert_int_equal(nb(&id1, t1, "GET", path, NULL, &r), 403);
    assert_string_equal(cause(r), "DENY_NO_PIN_GRANT"); /* the token carries A; A's grant is gone */
    json_decref(r);

    /* every decision is in the hash-chained audit, and the chain verifies */
    char *out = NULL;
    assert_int_equal(admin("GET", "/admin/v1/audit?limit=1000", NULL, &out), 200);
    assert_non_null(strstr(out, "DENY_NO_PIN_GRANT"));
    assert_non_null(strstr(out, "DENY_NOT_IN_PIN"));
    assert_non_null(strstr(out, "ALLOW_PIN_GRANT"));
    assert_non_null(strstr(out, "DENY_PIN_NOT_IN_TOKEN"));
    assert_non_null(strstr(out, "RESOURCE_NOT_GRANTED"));
    assert_null(strstr(out, PEGC1));
    free(out);
    out = NULL;
    assert_int_equal(admin("GET", "/admin/v1/audit/verify", NULL, &out), 200);
    free(out);
    free(t1);
    free(t2);
    pin_pine_wipe(&lamp);
    pin_pine_wipe(&cam);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&pemc_b);
    pin_ue_wipe(&gw);
    pin_ue_wipe(&gwb);
}

/* A join with the code proof of `code` for key k (the code itself is never sent). */
static long join_code(const struct pin_ue *gw, const struct net *n, const struct pin_pine_key *k,
                      const char *name, const char *code, json_t **a)
{
    char req[640];
    assert_int_equal(pin_pine_join_code_request(k, n->pin_id, name, code, req, sizeof(req)),
                     IOTSEC_OK);
    assert_null(strstr(req, code));
    return call(gw, "join", req, a);
}

static void enrol(const struct pin_ue *pemc, const struct net *n, const char *name,
                  const char *code, const char *extra, long want)
{
    char req[512];
    json_t *a = NULL;
    snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"name\":\"%s\",\"code\":\"%s\"%s}", n->pin_id,
             name, code, extra);
    assert_int_equal(call(pemc, "enrol-code", req, &a), want);
    json_decref(a);
}

/* One-time enrolment codes: only the owner registers one; the PINE proves it through the PEGC
 * without revealing it; single use; a wrong code, a key swapped by the PEGC, reuse, expiry
 * and brute force are refused; the credential it yields works in its PIN only. */
static void test_enrolment_code(void **state)
{
    (void)state;
    struct pin_ue pemc, gw, pemc_b, gwb;
    ue(&pemc, PEMC);
    ue(&gw, PEGC1);
    ue(&pemc_b, PEMC_B);
    ue(&gwb, PEGC_B);
    struct net a, b;
    create(&pemc, "[\"" PEGC1 "\"]", &a);
    {
        json_t *r = NULL;
        assert_int_equal(call(&pemc_b, "create",
                              "{\"name\":\"b\",\"gateways\":[\"" PEGC_B
                              "\"],\"policy\":{\"dnns\":[\"iot\"],\"qos_classes\":[9]}}",
                              &r),
                         201);
        snprintf(b.pin_id, sizeof(b.pin_id), "%s", json_string_value(json_object_get(r, "pin_id")));
        b64dec(json_string_value(json_object_get(r, "ca_public_key")), b.ca, 32);
        snprintf(b.gw[0], sizeof(b.gw[0]), "%s",
                 json_string_value(
                     json_object_get(json_array_get(json_object_get(r, "gateways"), 0), "gw_id")));
        json_decref(r);
    }
    char code[13], other[13];
    assert_int_equal(pin_pine_code_new(code), IOTSEC_OK);
    assert_int_equal(pin_pine_code_new(other), IOTSEC_OK);
    assert_string_not_equal(code, other);
    struct pin_pine_key thermo, evil;
    assert_int_equal(pin_pine_keygen(&thermo), IOTSEC_OK);
    assert_int_equal(pin_pine_keygen(&evil), IOTSEC_OK);

    /* only the PIN's manager registers a code; codes and grants are checked */
    enrol(&pemc_b, &a, "thermo", code, "", 403);
    enrol(&gw, &a, "thermo", code, "", 403);
    enrol(&pemc, &a, "thermo", "short", "", 400);
    enrol(&pemc, &a, "thermo", "abcdefghijkl", "", 400);
    enrol(&pemc, &a, "thermo", code, ",\"code_ttl_s\":0", 400);
    enrol(&pemc, &a, "thermo", code, ",\"qos_class\":5", 403);
    enrol(&pemc, &a, "thermo", code, ",\"dnns\":[\"iot\"],\"qos_class\":7", 201);

    json_t *r = NULL;
    /* no code registered for that name; a wrong code; a malformed proof */
    assert_int_equal(join_code(&gw, &a, &thermo, "fridge", code, &r), 403);
    assert_string_equal(cause(r), "ENROLMENT_INVALID");
    json_decref(r);
    assert_int_equal(join_code(&gw, &a, &thermo, "thermo", other, &r), 403);
    assert_string_equal(cause(r), "ENROLMENT_CODE_WRONG");
    json_decref(r);
    {
        char req[640];
        assert_int_equal(pin_pine_join_request(&thermo, a.pin_id, "thermo", req, sizeof(req)),
                         IOTSEC_OK);
        strcpy(req + strlen(req) - 1, ",\"code_proof\":\"!!\"}");
        assert_int_equal(call(&gw, "join", req, NULL), 400);
    }
    /* the PEGC swaps in its own key, keeping the PINE's proof: the proof binds the key */
    {
        char mine[640], evil_req[640];
        assert_int_equal(
            pin_pine_join_code_request(&thermo, a.pin_id, "thermo", code, mine, sizeof(mine)),
            IOTSEC_OK);
        assert_int_equal(
            pin_pine_join_request(&evil, a.pin_id, "thermo", evil_req, sizeof(evil_req)),
            IOTSEC_OK);
        strcpy(evil_req + strlen(evil_req) - 1, strstr(mine, ",\"code_proof\""));
        assert_int_equal(call(&gw, "join", evil_req, &r), 403);
        assert_string_equal(cause(r), "ENROLMENT_CODE_WRONG");
        json_decref(r);
    }
    /* the right code through a PEGC of another PIN: not its PIN */
    assert_int_equal(join_code(&gwb, &a, &thermo, "thermo", code, NULL), 403);
    /* the right code: approved at once with the owner's grant and a certificate of PIN A */
    assert_int_equal(join_code(&gw, &a, &thermo, "thermo", code, &r), 201);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "approved");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "grant"), "qos_class")),
                     7);
    char thermo_id[32];
    snprintf(thermo_id, sizeof(thermo_id), "%s", json_string_value(json_object_get(r, "pine_id")));
    uint8_t cert[PIN_SIG_LEN], msg[PIN_MSG_MAX];
    size_t mlen;
    b64dec(json_string_value(json_object_get(r, "certificate")), cert, PIN_SIG_LEN);
    json_decref(r);
    assert_int_equal(pin_msg_cert(a.pin_id, thermo_id, thermo.pub, msg, &mlen), IOTSEC_OK);
    assert_int_equal(prov_ed25519_verify(a.ca, msg, mlen, cert), IOTSEC_OK);
    /* never usable in another PIN: B's CA does not vouch for it, and under B's id ... */
    assert_int_not_equal(prov_ed25519_verify(b.ca, msg, mlen, cert), IOTSEC_OK);
    assert_int_equal(pin_msg_cert(b.pin_id, thermo_id, thermo.pub, msg, &mlen), IOTSEC_OK);
    assert_int_not_equal(prov_ed25519_verify(b.ca, msg, mlen, cert), IOTSEC_OK);
    /* ... B's network knows no such PINE, even when the same key joins B (a new, pending
     * element with its own id: A's approval carries nothing over) */
    struct pin_pegc ga;
    assert_int_equal(pin_pegc_init(&ga, a.pin_id, a.gw[0], a.ca, 4), IOTSEC_OK);
    assert_int_equal(authenticate(&gw, a.gw[0], &a, &thermo, thermo_id, false, &ga), 200);
    assert_int_equal(ga.entries[0].qos_class, 7);
    assert_int_equal(authenticate(&gwb, b.gw[0], &b, &thermo, thermo_id, false, NULL), 403);
    char in_b[32];
    join(&gwb, &b, &thermo, "thermo", in_b, 202);
    assert_string_not_equal(in_b, thermo_id);
    assert_int_equal(authenticate(&gwb, b.gw[0], &b, &thermo, in_b, false, NULL), 403);
    pin_pegc_free(&ga);

    /* single use: the same code again, with the same key or another */
    assert_int_equal(join_code(&gw, &a, &thermo, "thermo", code, &r), 403);
    assert_string_equal(cause(r), "ENROLMENT_INVALID");
    json_decref(r);
    assert_int_equal(join_code(&gw, &a, &evil, "thermo", code, NULL), 403);

    /* brute force: PIN_CODE_ATTEMPTS wrong proofs lock the code, the right one then fails;
     * a new code from the owner works */
    struct pin_pine_key lock;
    assert_int_equal(pin_pine_keygen(&lock), IOTSEC_OK);
    enrol(&pemc, &a, "lock", code, "", 201);
    for (int i = 0; i < PIN_CODE_ATTEMPTS; i++) {
        char guess[13];
        assert_int_equal(pin_pine_code_new(guess), IOTSEC_OK);
        assert_int_equal(join_code(&gw, &a, &lock, "lock", guess, NULL), 403);
    }
    assert_int_equal(join_code(&gw, &a, &lock, "lock", code, &r), 403);
    assert_string_equal(cause(r), "ENROLMENT_LOCKED");
    json_decref(r);
    enrol(&pemc, &a, "lock", other, "", 201);
    assert_int_equal(join_code(&gw, &a, &lock, "lock", other, NULL), 201);

    /* expiry: a code of one second, used after two */
    struct pin_pine_key lamp;
    assert_int_equal(pin_pine_keygen(&lamp), IOTSEC_OK);
    enrol(&pemc, &a, "lamp", code, ",\"code_ttl_s\":1", 201);
    struct timespec two = {2, 100000000};
    nanosleep(&two, NULL);
    assert_int_equal(join_code(&gw, &a, &lamp, "lamp", code, &r), 403);
    assert_string_equal(cause(r), "ENROLMENT_EXPIRED");
    json_decref(r);

    decide(&pemc, &a, thermo_id, "delete", "", 200);
    pin_pine_wipe(&thermo);
    pin_pine_wipe(&evil);
    pin_pine_wipe(&lock);
    pin_pine_wipe(&lamp);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&gw);
    pin_ue_wipe(&pemc_b);
    pin_ue_wipe(&gwb);
}

/* A symmetric PINE's authentication through gw with its MAC (flip: the PEGC flips one bit of
 * it). The envelope is kept in *env_out when asked (replays). */
static long sym_auth(const struct pin_ue *gw, const char *gw_id, const struct pin_sym_pine *p,
                     bool flip, char **answer, char **env_out)
{
    uint8_t nn[PIN_NONCE_LEN];
    char req[512], *env, *out = NULL;
    size_t len;
    nonce(nn);
    assert_int_equal(pin_sym_auth_request(p, gw_id, nn, req, sizeof(req)), IOTSEC_OK);
    if (flip) {
        char *m = strstr(req, "\"mac\":\"") + 7;
        *m = *m == 'A' ? 'B' : 'A'; /* the first base64url character: its top bits */
    }
    assert_int_equal(pin_ue_envelope(gw, "auth", nn, req, strlen(req), &env, &len), IOTSEC_OK);
    long st = device("/device/v1/pin/auth", env, len, &out);
    if (answer)
        *answer = out;
    else
        free(out);
    if (env_out)
        *env_out = env;
    else
        free(env);
    return st;
}

static long sym_join(const struct pin_ue *gw, const char *pin_id, const char *name,
                     const char *code, struct pin_sym_pine *p, char **answer)
{
    char req[512], *env, *out = NULL;
    size_t len;
    uint8_t nn[PIN_NONCE_LEN];
    assert_int_equal(pin_sym_join_request(p, pin_id, name, code, req, sizeof(req)), IOTSEC_OK);
    assert_null(strstr(req, code));
    nonce(nn);
    assert_int_equal(pin_ue_envelope(gw, "join", nn, req, strlen(req), &env, &len), IOTSEC_OK);
    long st = device("/device/v1/pin/join", env, len, &out);
    free(env);
    *answer = out;
    return st;
}

/* A PINE without public-key crypto: it joins with its one-time code and gets a PIN-scoped MAC
 * key the relaying PEGC cannot compute; it authenticates through the PEGC with a MAC over the
 * network's nonce: a flipped bit, a replay, a proof of the other kind and a key of another PIN
 * are refused; its decision carries a MAC it can check; removal revokes it. */
static void test_symmetric_pine(void **state)
{
    (void)state;
    struct pin_ue pemc, gw, pemc_b, gwb;
    ue(&pemc, PEMC);
    ue(&gw, PEGC1);
    ue(&pemc_b, PEMC_B);
    ue(&gwb, PEGC_B);
    struct net a, b;
    create(&pemc, "[\"" PEGC1 "\"]", &a);
    {
        json_t *r = NULL;
        assert_int_equal(call(&pemc_b, "create",
                              "{\"name\":\"b\",\"gateways\":[\"" PEGC_B
                              "\"],\"policy\":{\"dnns\":[\"iot\"],\"qos_classes\":[9]}}",
                              &r),
                         201);
        snprintf(b.pin_id, sizeof(b.pin_id), "%s", json_string_value(json_object_get(r, "pin_id")));
        snprintf(b.gw[0], sizeof(b.gw[0]), "%s",
                 json_string_value(
                     json_object_get(json_array_get(json_object_get(r, "gateways"), 0), "gw_id")));
        json_decref(r);
    }
    char code[13], other[13], *ans = NULL;
    assert_int_equal(pin_pine_code_new(code), IOTSEC_OK);
    assert_int_equal(pin_pine_code_new(other), IOTSEC_OK);
    struct pin_sym_pine bulb, wrong, bulb_b;

    /* a wrong code is refused and counted, like a public-key join's */
    enrol(&pemc, &a, "bulb", code, ",\"dnns\":[\"iot\"],\"qos_class\":7", 201);
    assert_int_equal(sym_join(&gw, a.pin_id, "bulb", other, &wrong, &ans), 403);
    assert_non_null(strstr(ans, "ENROLMENT_CODE_WRONG"));
    free(ans);
    /* the right code: approved at once, a salt and the network's confirmation, no key */
    assert_int_equal(sym_join(&gw, a.pin_id, "bulb", code, &bulb, &ans), 201);
    json_t *r = json_loads(ans, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "credential")), "symmetric");
    assert_string_equal(json_string_value(json_object_get(r, "state")), "approved");
    assert_null(json_object_get(r, "certificate"));
    json_decref(r);
    /* a PEGC that alters the salt in the answer is caught by the PINE (confirmation) */
    {
        struct pin_sym_pine copy = bulb;
        char *t = strdup(ans), *salt = strstr(t, "\"salt\":\"") + 8;
        *salt = *salt == 'A' ? 'B' : 'A';
        assert_int_equal(pin_sym_pine_accept(&copy, t, strlen(t)), IOTSEC_ERR_AUTH);
        free(t);
        pin_sym_pine_wipe(&copy);
    }
    assert_int_equal(pin_sym_pine_accept(&bulb, ans, strlen(ans)), IOTSEC_OK);
    free(ans);
    /* the network keeps the key sealed (a 62-byte envelope), never the 32 raw bytes */
    assert_int_equal(fixture_db_int(&fx,
                                    "SELECT length(sym_sealed) FROM pin_elements WHERE pine_id = ?",
                                    bulb.pine_id),
                     PIN_KEY_LEN + 30);
    /* the PEMC sees its kind, no public key */
    {
        char req[256];
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\"}", a.pin_id);
        assert_int_equal(call(&pemc, "get", req, &r), 200);
        json_t *els = json_object_get(r, "elements");
        bool seen = false;
        for (size_t i = 0; i < json_array_size(els); i++) {
            json_t *e = json_array_get(els, i);
            if (strcmp(json_string_value(json_object_get(e, "pine_id")), bulb.pine_id) == 0) {
                seen = true;
                assert_string_equal(json_string_value(json_object_get(e, "credential")),
                                    "symmetric");
                assert_null(json_object_get(e, "public_key"));
            }
        }
        assert_true(seen);
        json_decref(r);
    }

    /* authentication through the PEGC: the CA's decision for the PEGC, a MAC for the PINE */
    struct pin_pegc ga;
    char *env = NULL;
    assert_int_equal(pin_pegc_init(&ga, a.pin_id, a.gw[0], a.ca, 4), IOTSEC_OK);
    assert_int_equal(sym_auth(&gw, a.gw[0], &bulb, false, &ans, &env), 200);
    assert_int_equal(pin_sym_decision_check(&bulb, ans, strlen(ans)), IOTSEC_OK);
    {
        char *t = strdup(ans), *m = strstr(t, "\"pine_mac\":\"") + 12;
        *m = *m == 'A' ? 'B' : 'A';
        assert_int_equal(pin_sym_decision_check(&bulb, t, strlen(t)), IOTSEC_ERR_AUTH);
        free(t);
    }
    free(ans);
    /* replay: the same envelope (its nonce is spent) */
    {
        char *out = NULL;
        assert_int_equal(device("/device/v1/pin/auth", env, strlen(env), &out), 401);
        free(out);
        free(env);
    }
    /* replay of the PINE's MAC under a fresh nonce: the MAC binds the nonce it was made for */
    {
        uint8_t n1[PIN_NONCE_LEN], n2[PIN_NONCE_LEN];
        char req[512], *e2, *out = NULL;
        size_t len;
        nonce(n1);
        nonce(n2);
        assert_int_equal(pin_sym_auth_request(&bulb, a.gw[0], n1, req, sizeof(req)), IOTSEC_OK);
        assert_int_equal(pin_ue_envelope(&gw, "auth", n2, req, strlen(req), &e2, &len), IOTSEC_OK);
        assert_int_equal(device("/device/v1/pin/auth", e2, len, &out), 401);
        assert_non_null(strstr(out, "PINE_AUTH_FAILED"));
        free(out);
        free(e2);
    }
    /* a bit flipped by the PEGC */
    assert_int_equal(sym_auth(&gw, a.gw[0], &bulb, true, &ans, NULL), 401);
    assert_non_null(strstr(ans, "PINE_AUTH_FAILED"));
    free(ans);
    /* the wrong kind of proof: a signature for a symmetric PINE; a MAC for an Ed25519 one */
    {
        char req[512];
        snprintf(
            req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"signature\":\"%s\"}",
            a.pin_id, bulb.pine_id,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            "AAA");
        assert_int_equal(call(&gw, "auth", req, NULL), 401);
        struct pin_pine_key ed;
        char ed_id[32];
        assert_int_equal(pin_pine_keygen(&ed), IOTSEC_OK);
        join(&gw, &a, &ed, "ed", ed_id, 202);
        decide(&pemc, &a, ed_id, "approve", "", 200);
        struct pin_sym_pine fake = bulb;
        snprintf(fake.pine_id, sizeof(fake.pine_id), "%s", ed_id);
        assert_int_equal(sym_auth(&gw, a.gw[0], &fake, false, &ans, NULL), 401);
        free(ans);
        snprintf(req, sizeof(req),
                 "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"signature\":\"x\",\"mac\":\"y\"}",
                 a.pin_id, bulb.pine_id);
        assert_int_equal(call(&gw, "auth", req, NULL), 400);
        snprintf(req, sizeof(req), "{\"pin_id\":\"%s\",\"pine_id\":\"%s\",\"mac\":\"AAAA\"}",
                 a.pin_id, bulb.pine_id);
        assert_int_equal(call(&gw, "auth", req, NULL), 400); /* not 32 bytes */
        pin_sym_pine_wipe(&fake);
        pin_pine_wipe(&ed);
    }

    /* PIN A's credential is useless in PIN B: unknown there under A's id, and under the id of
     * B's own symmetric PINE the key is not B's */
    {
        struct pin_sym_pine in_b = bulb;
        snprintf(in_b.pin_id, sizeof(in_b.pin_id), "%.64s", b.pin_id);
        assert_int_equal(sym_auth(&gwb, b.gw[0], &in_b, false, &ans, NULL), 403);
        free(ans);
        enrol(&pemc_b, &b, "bulb", code, "", 201); /* even with the same code */
        assert_int_equal(sym_join(&gwb, b.pin_id, "bulb", code, &bulb_b, &ans), 201);
        assert_int_equal(pin_sym_pine_accept(&bulb_b, ans, strlen(ans)), IOTSEC_OK);
        free(ans);
        assert_memory_not_equal(bulb_b.key, bulb.key, PIN_KEY_LEN);
        snprintf(in_b.pine_id, sizeof(in_b.pine_id), "%s", bulb_b.pine_id);
        assert_int_equal(sym_auth(&gwb, b.gw[0], &in_b, false, &ans, NULL), 401);
        free(ans);
        assert_int_equal(sym_auth(&gwb, b.gw[0], &bulb_b, false, &ans, NULL), 200);
        free(ans);
        pin_sym_pine_wipe(&in_b);
    }
    /* the code was single use */
    assert_int_equal(sym_join(&gw, a.pin_id, "bulb", code, &wrong, &ans), 403);
    assert_non_null(strstr(ans, "ENROLMENT_INVALID"));
    free(ans);

    /* removal revokes at once */
    decide(&pemc, &a, bulb.pine_id, "remove", "", 200);
    assert_int_equal(sym_auth(&gw, a.gw[0], &bulb, false, &ans, NULL), 403);
    free(ans);

    pin_pegc_free(&ga);
    decide(&pemc, &a, "x", "delete", "", 200);
    decide(&pemc_b, &b, "x", "delete", "", 200);
    pin_sym_pine_wipe(&bulb);
    pin_sym_pine_wipe(&bulb_b);
    pin_sym_pine_wipe(&wrong);
    pin_ue_wipe(&pemc);
    pin_ue_wipe(&gw);
    pin_ue_wipe(&pemc_b);
    pin_ue_wipe(&gwb);
}

static int ctl(const char *args, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --dir %s/inst %s 2>/dev/null", IOTSECCTL_PATH, fx.dir, args);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The operator's command line: roles, PINs. */
static void test_cli(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(
        ctl("subscriber set-roles " NOROLE " --pin-gateway --pin-manager", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"manager\":true"));
    assert_int_equal(
        ctl("subscriber set-roles " NOROLE " --pin-gateway --pin-gateway", out, sizeof(out)), 2);
    assert_int_equal(ctl("subscriber set-roles " NOROLE " --owner x", out, sizeof(out)), 2);
    assert_int_equal(ctl("subscriber set-roles " NOROLE, out, sizeof(out)), 0);
    char path[128], *ans = NULL;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/pin-roles", NOROLE);
    assert_int_equal(admin("GET", path, NULL, &ans), 200);
    assert_non_null(strstr(ans, "\"gateway\":false"));
    free(ans);
    struct pin_ue pemc;
    ue(&pemc, PEMC);
    struct net n;
    create(&pemc, "[\"" PEGC1 "\"]", &n);
    assert_int_equal(ctl("pin list", out, sizeof(out)), 0);
    assert_non_null(strstr(out, n.pin_id));
    char args[160];
    snprintf(args, sizeof(args), "pin show %s", n.pin_id);
    assert_int_equal(ctl(args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "house-1"));
    snprintf(args, sizeof(args), "pin delete %s", n.pin_id);
    assert_int_equal(ctl(args, out, sizeof(out)), 0);
    snprintf(args, sizeof(args), "pin show %s", n.pin_id);
    assert_int_equal(ctl(args, out, sizeof(out)), 1); /* 404 */
    assert_int_equal(ctl("pin show 'a/b'", out, sizeof(out)), 2);
    pin_ue_wipe(&pemc);
}

/* iotsec-sim pin: the household through the daemon; its last line is the object. */
static void test_sim_pin(void **state)
{
    (void)state;
    char ready[128], cmd[512], line[1024], last[1024] = "";
    snprintf(ready, sizeof(ready), "%s/ready.json", fx.dir);
    FILE *fp = fopen(ready, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", fx.ready);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "%s pin --dir %s/inst --ready %s --pines 8", IOTSEC_SIM_PATH, fx.dir,
             ready);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p))
        snprintf(last, sizeof(last), "%s", line);
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    json_t *o = json_loads(last, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "pines")), 8);
    assert_int_equal(json_integer_value(json_object_get(o, "approved")), 7);
    /* 8 minus the rogue and the tampered one */
    assert_int_equal(json_integer_value(json_object_get(o, "authenticated")), 6);
    assert_int_equal(json_integer_value(json_object_get(o, "rogue_refused")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "removed_refused")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "tamper_refused")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "af_own_pin_ok")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "af_other_pin_refused")), 3);
    assert_true(json_is_number(json_object_get(o, "p99_ms")));
    assert_int_equal(json_integer_value(json_object_get(o, "code_enrolled")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "code_wrong_refused")), 1);
    /* the symmetric PINE: its MAC altered by the PEGC refused, the genuine one authenticated */
    assert_int_equal(json_integer_value(json_object_get(o, "sym_pines")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "sym_authenticated")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "sym_tamper_refused")), 1);
    /* and the daemon holds it, approved, in the household's PIN */
    char args[160], out[16384];
    snprintf(args, sizeof(args), "pin show %s", json_string_value(json_object_get(o, "pin_id")));
    assert_int_equal(ctl(args, out, sizeof(out)), 0);
    const char *t = strstr(out, "\"thermostat\"");
    assert_non_null(t);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_proofs),   cmocka_unit_test(test_pin_crud),
        cmocka_unit_test(test_pine_lifecycle),     cmocka_unit_test(test_gateway_membership),
        cmocka_unit_test(test_malformed),          cmocka_unit_test(test_cli),
        cmocka_unit_test(test_af_confined_to_pin), cmocka_unit_test(test_enrolment_code),
        cmocka_unit_test(test_symmetric_pine),     cmocka_unit_test(test_sim_pin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
