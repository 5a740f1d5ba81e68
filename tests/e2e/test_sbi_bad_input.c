/* Bad input on the SBI and admin faces: every case gets its 4xx with a ProblemDetails body
 * (3GPP cause where one applies), and the daemon keeps serving afterwards. */
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

#include "fixture.h"

static struct daemon_fixture fx;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    return fixture_add_subscriber(&fx, "{\"supi\":\"imsi-001010000000001\","
                                       "\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                                       "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\","
                                       "\"amf\":\"8000\"}");
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Sends and checks status, the problem+json shape, and (if given) the cause. */
static void expect_problem(enum client_identity who, const char *method, const char *url,
                           const char *ctype, const char *body, size_t len, long status,
                           const char *cause)
{
    char *out = NULL;
    long got = fixture_request(&fx, who, method, url, ctype, body, len, &out);
    if (got != status)
        fail_msg("%s %s: status %ld, expected %ld (%s)", method, url, got, status,
                 out ? out : "");
    json_t *p = out ? json_loads(out, 0, NULL) : NULL;
    if (!json_is_object(p))
        fail_msg("%s %s: no JSON ProblemDetails body", method, url);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), status);
    assert_non_null(json_string_value(json_object_get(p, "title")));
    if (cause != NULL) {
        const char *c = json_string_value(json_object_get(p, "cause"));
        if (c == NULL || strcmp(c, cause) != 0)
            fail_msg("%s %s: cause %s, expected %s", method, url, c ? c : "(none)", cause);
    }
    /* No SUPI of the store in an error body. */
    assert_null(strstr(out, "001010000000001"));
    json_decref(p);
    free(out);
}

#define AUSF_ID "5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01"

static void test_udm_bad_input(void **state)
{
    (void)state;
    char url[256], ok_body[] = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                               "\"ausfInstanceId\":\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}";
#define UDM(id) (snprintf(url, sizeof(url), "%s/nudm-ueau/v1/%s/security-information/"   \
                          "generate-auth-data", fx.sbi, id), url)
    const char *json = "application/json";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, "{bad", 4, 400,
                   "INVALID_MSG_FORMAT");
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, "[1,2]", 5, 400,
                   "INVALID_MSG_FORMAT");
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), "text/plain", ok_body,
                   strlen(ok_body), 415, NULL);
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000999"), json, ok_body, strlen(ok_body),
                   404, "USER_NOT_FOUND");
    expect_problem(AS_NF, "POST", UDM("imsi-12"), json, ok_body, strlen(ok_body), 400,
                   "MANDATORY_IE_INCORRECT");
    /* SUCI failures (TS 29.503 §6.1.7.3): a scheme output too short to de-conceal... */
    expect_problem(AS_NF, "POST", UDM("suci-0-001-01-0-1-1-0011"), json, ok_body,
                   strlen(ok_body), 403, "INVALID_SCHEME_OUTPUT");
    /* ... a home network key id we do not have (403, never 501: some AMFs bar the network) */
    expect_problem(AS_NF, "POST",
                   UDM("suci-0-001-01-0-1-9-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1"
                       "f587d07d8457dcb02352410cddd9e730ef3fa87"),
                   json, ok_body, strlen(ok_body), 403, "INVALID_HN_PUBLIC_KEY_IDENTIFIER");
    /* ... a SUCI for key 1 whose MAC tag does not verify (the C.4.3.1 output, another key) */
    expect_problem(AS_NF, "POST",
                   UDM("suci-0-001-01-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1"
                       "f587d07d8457dcb02352410cddd9e730ef3fa87"),
                   json, ok_body, strlen(ok_body), 403, "INVALID_SCHEME_OUTPUT");
    /* ... a protection scheme nobody implements: the one 501 */
    expect_problem(AS_NF, "POST", UDM("suci-0-001-01-0-7-1-0011"), json, ok_body,
                   strlen(ok_body), 501, "UNSUPPORTED_PROTECTION_SCHEME");
    /* ausfInstanceId is an NfInstanceId: a UUID */
    const char *bad_ausf = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                           "\"ausfInstanceId\":\"ausf-1\"}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, bad_ausf, strlen(bad_ausf),
                   400, "MANDATORY_IE_INCORRECT");
    const char *no_snn = "{\"ausfInstanceId\":\"x\"}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, no_snn, strlen(no_snn), 400,
                   "MANDATORY_IE_MISSING");
    const char *bad_snn = "{\"servingNetworkName\":\"internet\",\"ausfInstanceId\":\"x\"}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, bad_snn, strlen(bad_snn),
                   400, "MANDATORY_IE_INCORRECT");
    const char *no_ausf = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, no_ausf, strlen(no_ausf),
                   400, "MANDATORY_IE_MISSING");
    const char *bad_resync = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                             "\"ausfInstanceId\":\"" AUSF_ID "\",\"resynchronizationInfo\":{\"rand\":\"00\"}}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, bad_resync,
                   strlen(bad_resync), 400, "MANDATORY_IE_INCORRECT");
    const char *forged_auts =
        "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\",\"ausfInstanceId\":\"" AUSF_ID "\","
        "\"resynchronizationInfo\":{\"rand\":\"00112233445566778899aabbccddeeff\","
        "\"auts\":\"0000000000000000000000000000\"}}";
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, forged_auts,
                   strlen(forged_auts), 403, "AUTHENTICATION_REJECTED");
    /* Oversized: 2 MiB of JSON. */
    size_t big_len = 2u << 20;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    expect_problem(AS_NF, "POST", UDM("imsi-001010000000001"), json, big, big_len, 413, NULL);
    free(big);
#undef UDM
}

static void test_ausf_bad_input(void **state)
{
    (void)state;
    char url[256];
    const char *json = "application/json";
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    expect_problem(AS_NF, "POST", url, json, "{}", 2, 400, "MANDATORY_IE_MISSING");
    const char *no_id = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}";
    expect_problem(AS_NF, "POST", url, json, no_id, strlen(no_id), 400, "MANDATORY_IE_MISSING");
    snprintf(url, sizeof(url),
             "%s/nausf-auth/v1/ue-authentications/00000000000000000000000000000000/"
             "5g-aka-confirmation",
             fx.sbi);
    const char *res = "{\"resStar\":\"00112233445566778899aabbccddeeff\"}";
    expect_problem(AS_NF, "PUT", url, json, res, strlen(res), 404, "CONTEXT_NOT_FOUND");
    expect_problem(AS_NF, "PUT", url, json, "{\"resStar\":\"0011\"}", 18, 400,
                   "MANDATORY_IE_INCORRECT");
    expect_problem(AS_NF, "PUT", url, json, "{}", 2, 400, "MANDATORY_IE_MISSING");
    snprintf(url, sizeof(url),
             "%s/nausf-auth/v1/ue-authentications/00000000000000000000000000000000/eap-session",
             fx.sbi);
    expect_problem(AS_NF, "POST", url, json, "{}", 2, 400, "MANDATORY_IE_MISSING");
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/nothing-here", fx.sbi);
    expect_problem(AS_NF, "POST", url, json, "{}", 2, 404, NULL);
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    expect_problem(AS_NF, "GET", url, NULL, NULL, 0, 405, NULL);
}

static void test_authorisation(void **state)
{
    (void)state;
    char url[256];
    /* No client certificate: the TLS handshake is refused on both TLS faces. */
    snprintf(url, sizeof(url), "%s/healthz", fx.sbi);
    assert_int_equal(fixture_request(&fx, AS_NOBODY, "GET", url, NULL, NULL, 0, NULL), -1);
    snprintf(url, sizeof(url), "%s/healthz", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_NOBODY, "GET", url, NULL, NULL, 0, NULL), -1);
    /* An NF certificate (same CA) cannot administer. */
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", fx.admin);
    expect_problem(AS_NF, "GET", url, NULL, NULL, 0, 403, NULL);
    snprintf(url, sizeof(url), "%s/admin/v1/hn-keys", fx.admin);
    expect_problem(AS_NF, "GET", url, NULL, NULL, 0, 403, NULL);
}

static void test_admin_bad_input(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", fx.admin);
    const char *dup = "{\"supi\":\"imsi-001010000000001\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                      "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}";
    expect_problem(AS_ADMIN, "POST", url, "application/json", dup, strlen(dup), 409, NULL);
    const char *short_k = "{\"supi\":\"imsi-001010000000002\",\"k\":\"465b\","
                          "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}";
    expect_problem(AS_ADMIN, "POST", url, "application/json", short_k, strlen(short_k), 400,
                   NULL);
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/imsi-001010000000999", fx.admin);
    expect_problem(AS_ADMIN, "GET", url, NULL, NULL, 0, 404, NULL);
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/imsi-001010000000001/fly", fx.admin);
    expect_problem(AS_ADMIN, "POST", url, NULL, NULL, 0, 404, NULL);
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers?limit=0", fx.admin);
    expect_problem(AS_ADMIN, "GET", url, NULL, NULL, 0, 400, NULL);
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/import", fx.admin);
    const char *csv = "supi,k,opc,amf\nimsi-001010000000003,465b,00,8000\n";
    expect_problem(AS_ADMIN, "POST", url, "text/csv", csv, strlen(csv), 400, NULL);
    expect_problem(AS_ADMIN, "POST", url, "application/xml", csv, strlen(csv), 415, NULL);
}

static void test_still_serving(void **state)
{
    (void)state;
    char url[256], *out = NULL;
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    const char *ok = "{\"supiOrSuci\":\"imsi-001010000000001\","
                     "\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}";
    assert_int_equal(fixture_request(&fx, AS_NF, "POST", url, "application/json", ok, strlen(ok),
                                     &out),
                     201);
    free(out);
    snprintf(url, sizeof(url), "%s/metrics", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    assert_non_null(strstr(out, "iotsec_authentications_total{result=\"unknown_user\"} 1"));
    assert_non_null(strstr(out, "iotsec_subscriptions{state=\"active\"} 1"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udm_bad_input),    cmocka_unit_test(test_ausf_bad_input),
        cmocka_unit_test(test_authorisation),    cmocka_unit_test(test_admin_bad_input),
        cmocka_unit_test(test_still_serving),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
