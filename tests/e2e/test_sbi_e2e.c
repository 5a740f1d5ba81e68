/* The 5G core's view, end to end: a real iotsecd, a test AMF speaking HTTP/2 over mutual
 * TLS, and the device's USIM module (sdk/usim). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "aka/aka_eap.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/eap_aka_prime.h"
#include "crypto/fiveg_aka.h"
#include "crypto/kdf.h"
#include "crypto/milenage.h"
#include "crypto/suci.h"
#include "fixture.h"
#include "usim.h"

#define K_HEX "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"

static struct daemon_fixture fx;

static void add(const char *supi, const char *extra)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"supi\":\"%s\",\"k\":\"" K_HEX "\",\"opc\":\"" OPC_HEX "\",\"amf\":\"8000\","
             "\"sqn\":\"000000000020\"%s}",
             supi, extra ? extra : "");
    assert_int_equal(fixture_add_subscriber(&fx, json), 0);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    /* A graceful stop exits 0. */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void usim_for_test(struct usim *u)
{
    uint8_t k[16], opc[16];
    hex_decode(K_HEX, k, 16);
    hex_decode(OPC_HEX, opc, 16);
    usim_init(u, k, opc);
    u->seq_ms[0] = 1; /* personalised with SQN 0x20: SEQ 1 in slot 0 */
}

static json_t *send_json(const char *method, const char *url, const char *body, long *status)
{
    char *out = NULL;
    *status = fixture_request(&fx, AS_NF, method, url, "application/json", body, strlen(body),
                              &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static json_t *post_json(const char *url, const char *body, long *status)
{
    return send_json("POST", url, body, status);
}

static json_t *put_json(const char *url, const char *body, long *status)
{
    return send_json("PUT", url, body, status);
}

/* The stored authentication events of supi (admin face), newest first. */
static json_t *auth_events(const char *supi)
{
    char url[160], *out = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/%s/auth-events", fx.admin, supi);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    json_t *list = json_incref(json_object_get(j, "authEvents"));
    json_decref(j);
    assert_true(json_is_array(list));
    return list;
}

/* POST ue-authentications for id (SUPI or SUCI), optionally with resynchronisation info. */
static json_t *authenticate(const char *id, const char *resync_json, long *status)
{
    char url[128], body[1024];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"%s\"%s%s}", id,
             fx.snn, resync_json ? ",\"resynchronizationInfo\":" : "",
             resync_json ? resync_json : "");
    return post_json(url, body, status);
}

static void hex_field(json_t *o, const char *path1, const char *path2, uint8_t *out, size_t len)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    assert_non_null(json_string_value(v));
    assert_int_equal(hex_decode(json_string_value(v), out, len), IOTSEC_OK);
}

/* Runs one 5G AKA for id with usim, expecting success. Returns the confirmation. */
static void full_5g_aka_at(const char *id, struct usim *u, const char *expect_supi,
                           char *confirm_url, size_t cap);

static void full_5g_aka(const char *id, struct usim *u, const char *expect_supi)
{
    full_5g_aka_at(id, u, expect_supi, NULL, 0);
}

/* The same; confirm_url (if not NULL) gets the confirmation resource. */
static void full_5g_aka_at(const char *id, struct usim *u, const char *expect_supi,
                           char *confirm_url, size_t cap)
{
    long st;
    json_t *ctx = authenticate(id, NULL, &st);
    assert_int_equal(st, 201);
    assert_string_equal(json_string_value(json_object_get(ctx, "authType")), "5G_AKA");
    uint8_t rand[16], autn[16], hxres[16], hres[16];
    hex_field(ctx, "5gAuthData", "rand", rand, 16);
    hex_field(ctx, "5gAuthData", "autn", autn, 16);
    hex_field(ctx, "5gAuthData", "hxresStar", hxres, 16);
    assert_null(json_object_get(json_object_get(ctx, "5gAuthData"), "kausf")); /* SE AV only */
    struct usim_response r;
    assert_int_equal(usim_authenticate(u, rand, autn, fx.snn, strlen(fx.snn), &r), USIM_OK);
    kdf_hres_star(rand, r.res_star, hres); /* what the SEAF checks */
    assert_memory_equal(hres, hxres, 16);

    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    assert_non_null(href);
    if (confirm_url)
        snprintf(confirm_url, cap, "%s", href);
    char res_hex[33], body[64];
    hex_encode(r.res_star, 16, res_hex);
    snprintf(body, sizeof(body), "{\"resStar\":\"%s\"}", res_hex);
    json_t *conf = put_json(href, body, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(conf, "authResult")),
                        "AUTHENTICATION_SUCCESS");
    assert_string_equal(json_string_value(json_object_get(conf, "supi")), expect_supi);
    uint8_t kseaf[32], want[32];
    hex_field(conf, "kseaf", NULL, kseaf, 32);
    assert_int_equal(kdf_kseaf(r.kausf, fx.snn, strlen(fx.snn), want), IOTSEC_OK);
    assert_memory_equal(kseaf, want, 32); /* both sides hold the same key hierarchy */

    /* The confirmation is accepted once. */
    json_t *again = put_json(href, body, &st);
    assert_int_equal(st, 404);
    assert_string_equal(json_string_value(json_object_get(again, "cause")), "CONTEXT_NOT_FOUND");
    json_decref(again);
    json_decref(conf);
    json_decref(ctx);
}

static void hn_public_key(enum suci_scheme scheme, uint8_t *pub, size_t *len)
{
    char url[128], *out = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/hn-keys", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    json_t *j = json_loads(out, 0, NULL), *k;
    free(out);
    size_t i;
    const char *want = scheme == SUCI_SCHEME_PROFILE_A ? "A" : "B";
    json_array_foreach(json_object_get(j, "hn_keys"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "profile")), want) == 0)
            assert_int_equal(hex_decode_var(json_string_value(json_object_get(k, "public_key")),
                                            pub, SUCI_PUBLIC_KEY_MAX, len),
                             IOTSEC_OK);
    }
    json_decref(j);
}

static void test_5g_aka_with_supi_and_both_suci_profiles(void **state)
{
    (void)state;
    add("imsi-001010000000001", NULL);
    struct usim u;
    usim_for_test(&u);
    full_5g_aka("imsi-001010000000001", &u, "imsi-001010000000001");
    static const struct {
        enum suci_scheme scheme;
        uint8_t key_id;
    } profiles[] = {{SUCI_SCHEME_PROFILE_A, 1}, {SUCI_SCHEME_PROFILE_B, 2}};
    for (int i = 0; i < 2; i++) {
        uint8_t pub[SUCI_PUBLIC_KEY_MAX];
        size_t pub_len = 0;
        hn_public_key(profiles[i].scheme, pub, &pub_len);
        struct supi supi;
        assert_int_equal(supi_parse("imsi-001010000000001", &supi), 0);
        struct suci_conceal_params p = {profiles[i].scheme, profiles[i].key_id, pub, pub_len,
                                        NULL, 2};
        char suci[SUCI_STRING_MAX];
        assert_int_equal(suci_conceal(&supi, &p, suci, sizeof(suci)), IOTSEC_OK);
        full_5g_aka(suci, &u, "imsi-001010000000001");
    }
    usim_wipe(&u);
}

/* TS 29.509: the created UEAuthenticationCtx is application/3gppHal+json, with Location. */
static void test_created_context_media_type(void **state)
{
    (void)state;
    char url[128], body[200];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(body, sizeof(body),
             "{\"supiOrSuci\":\"imsi-001010000000001\",\"servingNetworkName\":\"%s\"}", fx.snn);
    struct fixture_call c = {AS_NF, "POST", url, "application/json", body, strlen(body), false,
                             false};
    struct fixture_answer a;
    assert_int_equal(fixture_exchange(&fx, &c, &a), 201);
    assert_string_equal(a.content_type, "application/3gppHal+json");
    assert_int_equal(strncmp(a.location, url, strlen(url)), 0);
    free(a.body);
}

static void test_wrong_res_star_fails(void **state)
{
    (void)state;
    add("imsi-001010000000002", NULL);
    struct usim u;
    usim_for_test(&u);
    long st;
    json_t *ctx = authenticate("imsi-001010000000002", NULL, &st);
    assert_int_equal(st, 201);
    uint8_t rand[16], autn[16];
    hex_field(ctx, "5gAuthData", "rand", rand, 16);
    hex_field(ctx, "5gAuthData", "autn", autn, 16);
    struct usim_response r;
    assert_int_equal(usim_authenticate(&u, rand, autn, fx.snn, strlen(fx.snn), &r), USIM_OK);
    r.res_star[3] ^= 0x20;
    char res_hex[33], body[64];
    hex_encode(r.res_star, 16, res_hex);
    snprintf(body, sizeof(body), "{\"resStar\":\"%s\"}", res_hex);
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    json_t *conf = put_json(href, body, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(conf, "authResult")),
                        "AUTHENTICATION_FAILURE");
    assert_null(json_object_get(conf, "kseaf")); /* no key on failure */
    assert_null(json_object_get(conf, "supi"));
    json_decref(conf);
    json_decref(ctx);
}

static void test_stale_sqn_resync_then_success(void **state)
{
    (void)state;
    add("imsi-001010000000003", NULL);
    struct usim u;
    usim_for_test(&u);
    for (unsigned i = 0; i < USIM_IND_SLOTS; i++)
        u.seq_ms[i] = 5000; /* the USIM has seen far more than the network remembers */
    long st;
    json_t *ctx = authenticate("imsi-001010000000003", NULL, &st);
    assert_int_equal(st, 201);
    uint8_t rand[16], autn[16];
    hex_field(ctx, "5gAuthData", "rand", rand, 16);
    hex_field(ctx, "5gAuthData", "autn", autn, 16);
    struct usim_response r;
    assert_int_equal(usim_authenticate(&u, rand, autn, fx.snn, strlen(fx.snn), &r),
                     USIM_SYNC_FAILURE);
    char rand_hex[33], auts_hex[29], resync[128];
    hex_encode(rand, 16, rand_hex);
    hex_encode(r.auts, 14, auts_hex);
    snprintf(resync, sizeof(resync), "{\"rand\":\"%s\",\"auts\":\"%s\"}", rand_hex, auts_hex);
    json_decref(ctx);
    /* The AMF asks again with the AUTS; the new challenge is fresh for the USIM. */
    json_t *ctx2 = authenticate("imsi-001010000000003", resync, &st);
    assert_int_equal(st, 201);
    hex_field(ctx2, "5gAuthData", "rand", rand, 16);
    hex_field(ctx2, "5gAuthData", "autn", autn, 16);
    assert_int_equal(usim_authenticate(&u, rand, autn, fx.snn, strlen(fx.snn), &r), USIM_OK);
    json_decref(ctx2);

    /* A tampered AUTS is refused. */
    auts_hex[27] = auts_hex[27] == '0' ? '1' : '0';
    snprintf(resync, sizeof(resync), "{\"rand\":\"%s\",\"auts\":\"%s\"}", rand_hex, auts_hex);
    json_t *bad = authenticate("imsi-001010000000003", resync, &st);
    assert_int_equal(st, 403);
    json_decref(bad);
}

static void test_repeated_synch_failures_are_rejected(void **state)
{
    (void)state;
    add("imsi-001010000000004", NULL);
    struct usim u;
    usim_for_test(&u);
    long st;
    int statuses[2];
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < USIM_IND_SLOTS; i++)
            u.seq_ms[i] = 100000 * (round + 1); /* a USIM that always runs ahead */
        json_t *ctx = authenticate("imsi-001010000000004", NULL, &st);
        assert_int_equal(st, 201);
        uint8_t rand[16], autn[16];
        hex_field(ctx, "5gAuthData", "rand", rand, 16);
        hex_field(ctx, "5gAuthData", "autn", autn, 16);
        json_decref(ctx);
        struct usim_response r;
        assert_int_equal(usim_authenticate(&u, rand, autn, fx.snn, strlen(fx.snn), &r),
                         USIM_SYNC_FAILURE);
        char rand_hex[33], auts_hex[29], resync[128];
        hex_encode(rand, 16, rand_hex);
        hex_encode(r.auts, 14, auts_hex);
        snprintf(resync, sizeof(resync), "{\"rand\":\"%s\",\"auts\":\"%s\"}", rand_hex, auts_hex);
        json_t *res = authenticate("imsi-001010000000004", resync, &st);
        statuses[round] = (int)st;
        json_decref(res);
    }
    assert_int_equal(statuses[0], 201); /* the first resynchronisation is served */
    assert_int_equal(statuses[1], 403); /* the second in a row is refused */
}

static void admin_action(const char *supi, const char *action, long want)
{
    char url[160];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/%s/%s", fx.admin, supi, action);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "POST", url, NULL, NULL, 0, NULL), want);
}

static void test_non_active_subscriptions_are_rejected(void **state)
{
    (void)state;
    add("imsi-001010000000005", NULL);
    add("imsi-001010000000006", ",\"not_after\":\"2001-01-01T00:00:00Z\"");
    admin_action("imsi-001010000000005", "suspend", 200);
    long st;
    json_t *r = authenticate("imsi-001010000000005", NULL, &st);
    assert_int_equal(st, 403);
    assert_string_equal(json_string_value(json_object_get(r, "cause")), "AUTHENTICATION_REJECTED");
    json_decref(r);
    admin_action("imsi-001010000000005", "resume", 200);
    r = authenticate("imsi-001010000000005", NULL, &st);
    assert_int_equal(st, 201);
    json_decref(r);
    admin_action("imsi-001010000000005", "revoke", 200);
    r = authenticate("imsi-001010000000005", NULL, &st);
    assert_int_equal(st, 403);
    json_decref(r);
    admin_action("imsi-001010000000005", "resume", 409); /* revoked is final */
    r = authenticate("imsi-001010000000006", NULL, &st); /* past not_after */
    assert_int_equal(st, 403);
    json_decref(r);
}

static void test_eap_aka_prime_session(void **state)
{
    (void)state;
    add("imsi-001010000000007", ",\"auth_method\":\"EAP_AKA_PRIME\"");
    long st;
    json_t *ctx = authenticate("imsi-001010000000007", NULL, &st);
    assert_int_equal(st, 201);
    assert_string_equal(json_string_value(json_object_get(ctx, "authType")), "EAP_AKA_PRIME");
    uint8_t pkt[512];
    size_t len;
    assert_int_equal(aka_base64_decode(json_string_value(json_object_get(ctx, "5gAuthData")), pkt,
                                       sizeof(pkt), &len),
                     IOTSEC_OK);
    assert_int_equal(pkt[0], EAP_CODE_REQUEST);
    assert_int_equal(pkt[4], EAP_TYPE_AKA_PRIME);
    const uint8_t *at_rand, *at_autn, *at_mac;
    size_t l1, l2, l3;
    assert_int_equal(aka_eap_find_attr(pkt, len, EAP_AT_RAND, &at_rand, &l1), 0);
    assert_int_equal(aka_eap_find_attr(pkt, len, EAP_AT_AUTN, &at_autn, &l2), 0);
    assert_int_equal(aka_eap_find_attr(pkt, len, EAP_AT_MAC, &at_mac, &l3), 0);

    /* The peer: USIM computations, then the EAP-AKA' keys, then verify AT_MAC. */
    uint8_t k[16], opc[16];
    hex_decode(K_HEX, k, 16);
    hex_decode(OPC_HEX, opc, 16);
    struct fiveg_ue_response ue;
    assert_int_equal(fiveg_ue_authenticate(k, opc, at_rand + 2, at_autn + 2, fx.snn,
                                           strlen(fx.snn), &ue),
                     IOTSEC_OK);
    uint8_t ck_p[16], ik_p[16], mac[16], got_mac[16];
    assert_int_equal(eap_aka_prime_ck_ik_prime(ue.ck, ue.ik, fx.snn, strlen(fx.snn), at_autn + 2,
                                               ck_p, ik_p),
                     0);
    struct eap_aka_prime_keys keys;
    assert_int_equal(eap_aka_prime_keys(ck_p, ik_p, "001010000000007", 15, &keys), 0);
    memcpy(got_mac, at_mac + 2, 16);
    memset((uint8_t *)at_mac + 2, 0, 16);
    aka_eap_mac(keys.k_aut, pkt, len, mac);
    assert_memory_equal(mac, got_mac, 16); /* the network is authentic */

    /* Response: AT_RES (RES, 64 bits) and AT_MAC. */
    struct milenage_out m;
    assert_int_equal(milenage_compute(k, opc, at_rand + 2, NULL, NULL, MILENAGE_F2_F5, &m), 0);
    uint8_t resp[64] = {EAP_CODE_RESPONSE, pkt[1], 0, 40, EAP_TYPE_AKA_PRIME,
                        EAP_SUBTYPE_CHALLENGE, 0, 0,
                        EAP_AT_RES, 3, 0, 64};
    memcpy(resp + 12, m.res, 8);
    resp[20] = EAP_AT_MAC;
    resp[21] = 5;
    aka_eap_mac(keys.k_aut, resp, 40, resp + 24);
    char *b64 = aka_base64_encode(resp, 40), body[256], url[256];
    snprintf(body, sizeof(body), "{\"eapPayload\":\"%s\"}", b64);
    free(b64);
    const char *href = json_string_value(json_object_get(
        json_object_get(json_object_get(ctx, "_links"), "eap-session"), "href"));
    snprintf(url, sizeof(url), "%s", href);
    json_t *res = post_json(url, body, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(res, "authResult")),
                        "AUTHENTICATION_SUCCESS");
    uint8_t kseaf[32], want[32];
    hex_field(res, "kSeaf", NULL, kseaf, 32);
    assert_int_equal(kdf_kseaf(keys.emsk, fx.snn, strlen(fx.snn), want), 0);
    assert_memory_equal(kseaf, want, 32);
    assert_int_equal(aka_base64_decode(json_string_value(json_object_get(res, "eapPayload")), pkt,
                                       sizeof(pkt), &len),
                     0);
    assert_int_equal(pkt[0], EAP_CODE_SUCCESS);
    json_decref(res);
    json_decref(ctx);

    /* The AMF cancels the EAP result: 204, reported to the UDM as a removal. */
    assert_int_equal(fixture_request(&fx, AS_NF, "DELETE", url, NULL, NULL, 0, NULL), 204);
    json_t *ev = auth_events("imsi-001010000000007");
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "authType")),
                        "EAP_AKA_PRIME");
    assert_true(json_is_true(json_object_get(json_array_get(ev, 0), "authRemovalInd")));
    json_decref(ev);
}

/* TS 29.509 Delete5gAkaAuthenticationResult: the AMF cancels a confirmed result (204, the
 * AUSF drops it and reports it to the UDM as an auth event with authRemovalInd), once; an
 * authentication still in progress can be cancelled too, and then cannot be confirmed. */
static void test_cancelled_5g_aka_result(void **state)
{
    (void)state;
    add("imsi-001010000000008", NULL);
    struct usim u;
    usim_for_test(&u);
    char confirm[256];
    full_5g_aka_at("imsi-001010000000008", &u, "imsi-001010000000008", confirm, sizeof(confirm));
    json_t *before = auth_events("imsi-001010000000008");
    assert_int_equal(json_array_size(before), 0); /* a confirmation alone stores nothing */
    json_decref(before);
    struct fixture_call del = {AS_NF, "DELETE", confirm, NULL, NULL, 0, false, false};
    struct fixture_answer a;
    assert_int_equal(fixture_exchange(&fx, &del, &a), 204);
    assert_int_equal(a.body_len, 0);
    free(a.body);
    json_t *ev = auth_events("imsi-001010000000008");
    assert_int_equal(json_array_size(ev), 1);
    json_t *e = json_array_get(ev, 0);
    assert_true(json_is_true(json_object_get(e, "authRemovalInd")));
    assert_true(json_is_true(json_object_get(e, "success")));
    assert_string_equal(json_string_value(json_object_get(e, "authType")), "5G_AKA");
    assert_string_equal(json_string_value(json_object_get(e, "servingNetworkName")), fx.snn);
    json_decref(ev);
    assert_int_equal(fixture_exchange(&fx, &del, &a), 404); /* once */
    assert_non_null(strstr(a.body, "CONTEXT_NOT_FOUND"));
    free(a.body);

    /* in progress: cancelled, then the UE's answer finds nothing; no event for it */
    long st;
    json_t *ctx = authenticate("imsi-001010000000008", NULL, &st);
    assert_int_equal(st, 201);
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    assert_int_equal(fixture_request(&fx, AS_NF, "DELETE", href, NULL, NULL, 0, NULL), 204);
    json_t *again = put_json(href, "{\"resStar\":null}", &st);
    assert_int_equal(st, 404);
    json_decref(again);
    ev = auth_events("imsi-001010000000008");
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);
    /* the wrong method's resource for this context */
    ctx = (json_decref(ctx), authenticate("imsi-001010000000008", NULL, &st));
    char eap_url[300];
    href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    snprintf(eap_url, sizeof(eap_url), "%.*s/eap-session",
             (int)(strrchr(href, '/') - href), href);
    assert_int_equal(fixture_request(&fx, AS_NF, "DELETE", eap_url, NULL, NULL, 0, NULL), 404);
    json_decref(ctx);
    usim_wipe(&u);
}

/* Rel-17 deregistration: every context of the SUPI goes; 204 also when there was none. */
static void test_deregister(void **state)
{
    (void)state;
    add("imsi-001010000000009", NULL);
    long st;
    json_t *ctx = authenticate("imsi-001010000000009", NULL, &st);
    assert_int_equal(st, 201);
    const char *href = json_string_value(
        json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
    char url[256];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications/deregister", fx.sbi);
    json_t *r = post_json(url, "{\"supi\":\"imsi-001010000000009\"}", &st);
    assert_int_equal(st, 204);
    json_decref(r);
    json_t *again = put_json(href, "{\"resStar\":null}", &st);
    assert_int_equal(st, 404); /* the context is gone */
    json_decref(again);
    r = post_json(url, "{\"supi\":\"imsi-001010000000009\"}", &st);
    assert_int_equal(st, 204);
    json_decref(r);
    r = post_json(url, "{}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(json_string_value(json_object_get(r, "cause")), "MANDATORY_IE_MISSING");
    json_decref(r);
    r = post_json(url, "{\"supi\":\"suci-0-001-01-0-0-0-1\"}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "invalidParams"), 0), "param")),
                        "/supi");
    json_decref(r);
    json_decref(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5g_aka_with_supi_and_both_suci_profiles),
        cmocka_unit_test(test_created_context_media_type),
        cmocka_unit_test(test_wrong_res_star_fails),
        cmocka_unit_test(test_stale_sqn_resync_then_success),
        cmocka_unit_test(test_repeated_synch_failures_are_rejected),
        cmocka_unit_test(test_non_active_subscriptions_are_rejected),
        cmocka_unit_test(test_eap_aka_prime_session),
        cmocka_unit_test(test_cancelled_5g_aka_result),
        cmocka_unit_test(test_deregister),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
