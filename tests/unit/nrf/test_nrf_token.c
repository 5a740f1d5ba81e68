/* src/nrf's pure parts: the AccessTokenClaims rules (issuer, audience as a type or our
 * instances, times, scope form, PLMN), scope matching by whole service name, the audience each
 * service needs, the bounded token cache, the NF profiles and the instance ids file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "nrf/nrf_int.h"

#define NRF  "8f7c2a14-5b3e-4d6a-9c1f-0a2b3c4d5e6f"
#define AMF  "5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01"
#define AUSF "11111111-2222-4333-8444-555555555555"
#define UDM  "66666666-7777-4888-8999-aaaaaaaaaaaa"
#define NOW  1800000000LL

static const struct nrf_ids ids = {AUSF, UDM};

static enum nrf_token_reason check(const char *claims, struct nrf_token_info *info)
{
    json_t *j = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    struct nrf_token_expect ex = {
        .iss = NRF, .ids = &ids, .mcc = "001", .mnc = "01", .now = NOW, .leeway = 30};
    struct nrf_token_info tmp;
    enum nrf_token_reason r = nrf_token_check(j, &ex, info ? info : &tmp);
    json_decref(j);
    return r;
}

#define C(aud, extra)                                                                              \
    "{\"iss\":\"" NRF "\",\"sub\":\"" AMF "\",\"aud\":" aud ",\"scope\":\"nausf-auth\","           \
    "\"exp\":1800000600" extra "}"

static void test_claims(void **state)
{
    (void)state;
    struct nrf_token_info info;
    assert_int_equal(check(C("\"AUSF\"", ""), &info), NRF_TOKEN_OK);
    assert_int_equal(info.aud, NRF_AUD_AUSF_TYPE);
    assert_string_equal(info.sub, AMF);
    assert_string_equal(info.scope, "nausf-auth");
    assert_int_equal(info.exp, 1800000600);
    assert_int_equal(check(C("[\"" UDM "\"]", ""), &info), NRF_TOKEN_OK);
    assert_int_equal(info.aud, NRF_AUD_UDM_ID);
    /* instance ids compare without case */
    assert_int_equal(check(C("[\"66666666-7777-4888-8999-AAAAAAAAAAAA\",\"" AUSF "\"]", ""), &info),
                     NRF_TOKEN_OK);
    assert_int_equal(info.aud, NRF_AUD_UDM_ID | NRF_AUD_AUSF_ID);
    assert_int_equal(check(C("\"SMF\"", ""), NULL), NRF_TOKEN_AUDIENCE);
    assert_int_equal(check(C("[\"" AMF "\"]", ""), NULL), NRF_TOKEN_AUDIENCE);
    assert_int_equal(check(C("[]", ""), NULL), NRF_TOKEN_CLAIMS);
    assert_int_equal(check(C("[\"not-a-uuid\"]", ""), NULL), NRF_TOKEN_CLAIMS);
    assert_int_equal(check(C("7", ""), NULL), NRF_TOKEN_CLAIMS);
    /* times */
    assert_int_equal(check(C("\"AUSF\"", ",\"nbf\":1800000020"), NULL), NRF_TOKEN_OK);
    assert_int_equal(check(C("\"AUSF\"", ",\"nbf\":1800000031"), NULL), NRF_TOKEN_NOT_YET);
    assert_int_equal(check(C("\"AUSF\"", ",\"iat\":1800000100"), NULL), NRF_TOKEN_NOT_YET);
    assert_int_equal(check(C("\"AUSF\"", ",\"iat\":\"1\""), NULL), NRF_TOKEN_CLAIMS);
    assert_int_equal(check("{\"iss\":\"" NRF "\",\"sub\":\"" AMF "\",\"aud\":\"AUSF\","
                           "\"scope\":\"nausf-auth\",\"exp\":1799999969}",
                           NULL),
                     NRF_TOKEN_EXPIRED);
    assert_int_equal(check("{\"iss\":\"" NRF "\",\"sub\":\"" AMF "\",\"aud\":\"AUSF\","
                           "\"scope\":\"nausf-auth\",\"exp\":1800000600.5}",
                           NULL),
                     NRF_TOKEN_CLAIMS);
    /* issuer, subject, scope form */
    assert_int_equal(check("{\"iss\":\"" AMF "\",\"sub\":\"" AMF "\",\"aud\":\"AUSF\","
                           "\"scope\":\"nausf-auth\",\"exp\":1800000600}",
                           NULL),
                     NRF_TOKEN_ISSUER);
    assert_int_equal(check("{\"iss\":\"" NRF "\",\"aud\":\"AUSF\",\"scope\":\"nausf-auth\","
                           "\"exp\":1800000600}",
                           NULL),
                     NRF_TOKEN_CLAIMS);
    assert_int_equal(check("{\"iss\":\"" NRF "\",\"sub\":\"" AMF "\",\"aud\":\"AUSF\","
                           "\"scope\":\"nausf-auth  nudm-ueau\",\"exp\":1800000600}",
                           NULL),
                     NRF_TOKEN_CLAIMS);
    assert_int_equal(check("{\"iss\":\"" NRF "\",\"sub\":\"" AMF "\",\"aud\":\"AUSF\","
                           "\"scope\":\"nausf-auth\"}",
                           NULL),
                     NRF_TOKEN_CLAIMS);
    /* producerPlmnId, when present, is ours */
    assert_int_equal(
        check(C("\"AUSF\"", ",\"producerPlmnId\":{\"mcc\":\"001\",\"mnc\":\"01\"}"), NULL),
        NRF_TOKEN_OK);
    assert_int_equal(
        check(C("\"AUSF\"", ",\"producerPlmnId\":{\"mcc\":\"208\",\"mnc\":\"93\"}"), NULL),
        NRF_TOKEN_PLMN);
}

static void test_scope_and_audience_rules(void **state)
{
    (void)state;
    assert_true(nrf_scope_has("nausf-auth", "nausf-auth"));
    assert_true(nrf_scope_has("nudm-sdm nausf-auth nudm-ueau", "nudm-ueau"));
    assert_true(nrf_scope_has("nudm-sdm nausf-auth nudm-ueau", "nausf-auth"));
    assert_false(nrf_scope_has("nausf-authx", "nausf-auth"));
    assert_false(nrf_scope_has("nausf-auth", "nausf"));
    assert_false(nrf_scope_has("nausf-auth:ue-authentications:create", "nausf-auth"));
    assert_false(nrf_scope_has("", "nausf-auth"));
    assert_int_equal(nrf_aud_needed("nausf-auth"), NRF_AUD_AUSF_TYPE | NRF_AUD_AUSF_ID);
    assert_int_equal(nrf_aud_needed("nudm-ueau"), NRF_AUD_UDM_TYPE | NRF_AUD_UDM_ID);
    assert_int_equal(nrf_aud_needed("namf-evts-notify") & NRF_AUD_AUSF_TYPE, NRF_AUD_AUSF_TYPE);
}

static void test_cache(void **state)
{
    (void)state;
    struct nrf_cache *c = nrf_cache_new(1); /* one slot: every put replaces */
    uint8_t k1[32] = {1}, k2[32] = {2};
    struct nrf_token_info in = {.exp = 42, .aud = NRF_AUD_UDM_ID}, out;
    strcpy(in.sub, AMF);
    assert_false(nrf_cache_get(c, k1, &out));
    nrf_cache_put(c, k1, &in);
    assert_true(nrf_cache_get(c, k1, &out));
    assert_int_equal(out.exp, 42);
    assert_string_equal(out.sub, AMF);
    assert_false(nrf_cache_get(c, k2, &out));
    nrf_cache_put(c, k2, &in);
    assert_false(nrf_cache_get(c, k1, &out)); /* bounded: k1 went */
    assert_true(nrf_cache_get(c, k2, &out));
    nrf_cache_free(c);
    assert_null(nrf_cache_new(0));
}

static void test_profiles(void **state)
{
    (void)state;
    struct nrf_profile_config p = {
        .ids = ids,
        .mcc = "001",
        .mnc = "01",
        .scheme = "https",
        .host = "192.0.2.7",
        .port = 7777,
        .capacity = 100,
        .priority = 1,
        .nf_set_id = "2",
        .heartbeat_s = 10,
        .supi_ranges = {"001010000000000-001010000009999", "^imsi-00101[0-9]{10}$"},
        .n_supi_ranges = 2,
        .routing_indicators = {"0000"},
        .n_routing_indicators = 1};
    char *s = nrf_profile_json(&p, NRF_NF_UDM);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    assert_string_equal(json_string_value(json_object_get(j, "nfInstanceId")), UDM);
    assert_string_equal(json_string_value(json_object_get(j, "nfType")), "UDM");
    assert_int_equal(json_integer_value(json_object_get(j, "heartBeatTimer")), 10);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "nfSetIdList"), 0)),
                        "set2.udmset.5gc.mnc001.mcc001");
    json_t *ranges = json_object_get(json_object_get(j, "udmInfo"), "supiRanges");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ranges, 0), "end")),
                        "001010000009999");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ranges, 1), "pattern")),
                        "^imsi-00101[0-9]{10}$");
    json_t *svc = json_object_get(json_object_get(j, "nfServiceList"), "nudm-ueau");
    assert_true(json_equal(svc, json_array_get(json_object_get(j, "nfServices"), 0)));
    json_t *ep = json_array_get(json_object_get(svc, "ipEndPoints"), 0);
    assert_string_equal(json_string_value(json_object_get(ep, "ipv4Address")), "192.0.2.7");
    assert_int_equal(json_integer_value(json_object_get(ep, "port")), 7777);
    assert_null(json_object_get(j, "ausfInfo"));
    json_decref(j);
    /* an FQDN instead of an address; no set, no ranges */
    strcpy(p.host, "ausf.5gc.mnc001.mcc001.3gppnetwork.org");
    p.nf_set_id[0] = '\0';
    p.n_supi_ranges = p.n_routing_indicators = 0;
    s = nrf_profile_json(&p, NRF_NF_AUSF);
    j = json_loads(s, 0, NULL);
    free(s);
    assert_string_equal(json_string_value(json_object_get(j, "fqdn")), p.host);
    assert_null(json_object_get(j, "ipv4Addresses"));
    assert_null(json_object_get(j, "nfSetIdList"));
    assert_null(json_object_get(j, "ausfInfo"));
    svc = json_object_get(json_object_get(j, "nfServiceList"), "nausf-auth");
    assert_string_equal(json_string_value(json_object_get(svc, "fqdn")), p.host);
    json_decref(j);
}

static void test_ids(void **state)
{
    (void)state;
    char dir[] = "/tmp/iotsec-nrf-ids-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ids.json", dir);
    struct nrf_ids a, b;
    assert_int_equal(nrf_ids_load_or_create(path, &a), IOTSEC_OK);
    assert_true(nrf_uuid_valid(a.ausf) && nrf_uuid_valid(a.udm));
    assert_string_not_equal(a.ausf, a.udm);
    assert_int_equal(a.ausf[14], '4'); /* version 4 */
    assert_int_equal(nrf_ids_load_or_create(path, &b), IOTSEC_OK);
    assert_string_equal(a.ausf, b.ausf);
    assert_string_equal(a.udm, b.udm);
    FILE *f = fopen(path, "w");
    fputs("{\"ausf\":\"x\",\"udm\":\"y\"}", f);
    fclose(f);
    assert_int_equal(nrf_ids_load_or_create(path, &b), IOTSEC_ERR_INVALID);
    unlink(path);
    rmdir(dir);
    assert_false(nrf_uuid_valid("5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a0"));
    assert_false(nrf_uuid_valid("5e4f0f36x0d8e-4a65-9b1f-2f1c6a2d0a01"));
    assert_false(nrf_uuid_valid("5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a0g"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims), cmocka_unit_test(test_scope_and_audience_rules),
        cmocka_unit_test(test_cache),  cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
