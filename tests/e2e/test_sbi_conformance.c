/* Issue 12's conformance, end to end on a real daemon: one behaviour for bad bodies on every
 * face (SBI, admin, device; the northbound face in test_t8_monitoring), HEAD wherever GET is,
 * chunked HTTP/1.1 bodies within the same limits, the admin face's 4 MiB limit, and the UDM's
 * AuthEvent resource (TS 29.503 ConfirmAuth / DeleteAuth). Every SBI exchange here is also
 * validated against the official OpenAPI documents by the openapi_sbi test. */
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

#define K_HEX   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"
#define SUPI    "imsi-001010000000001"
#define AUSF_ID "5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01"

static struct daemon_fixture fx;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    const char *sub = "{\"supi\":\"" SUPI "\",\"k\":\"" K_HEX "\",\"opc\":\"" OPC_HEX "\","
                      "\"amf\":\"8000\"}";
    return fixture_add_subscriber(&fx, sub);
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One exchange; checks the status and, for an error, the ProblemDetails, its media type and
 * (if given) its cause. Returns the answer's JSON (the caller frees it) or NULL. */
static json_t *call(enum client_identity who, const char *method, const char *url,
                    const char *ctype, const char *body, bool http1, bool chunked, long want,
                    const char *cause, struct fixture_answer *keep)
{
    struct fixture_call c = {who,   method, url, ctype, body, body ? strlen(body) : 0,
                             http1, chunked};
    struct fixture_answer a;
    long got = fixture_exchange(&fx, &c, &a);
    if (got != want)
        fail_msg("%s %s (%s%s): status %ld, expected %ld: %s", method, url,
                 http1 ? "HTTP/1.1" : "HTTP/2", chunked ? ", chunked" : "", got, want,
                 a.body ? a.body : "");
    json_t *j = a.body && a.body_len ? json_loads(a.body, 0, NULL) : NULL;
    if (want >= 400 && strcmp(method, "HEAD") != 0) {
        assert_string_equal(a.content_type, "application/problem+json");
        assert_true(json_is_object(j));
        assert_int_equal(json_integer_value(json_object_get(j, "status")), want);
        const char *c2 = json_string_value(json_object_get(j, "cause"));
        if (cause && (c2 == NULL || strcmp(c2, cause) != 0))
            fail_msg("%s %s: cause %s, expected %s", method, url, c2 ? c2 : "(none)", cause);
    }
    if (keep)
        *keep = a;
    else
        free(a.body);
    return j;
}

static const char *first_param(json_t *problem)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(problem, "invalidParams"), 0), "param"));
}

/* A body that is not JSON, and a body of another media type, get the same answer on every
 * face and both protocols: 400 INVALID_MSG_FORMAT, 415 UNSUPPORTED_MEDIA_TYPE. */
static void test_bad_bodies_alike_on_every_face(void **state)
{
    (void)state;
    char urls[6][200];
    const enum client_identity who[6] = {AS_NF, AS_NF, AS_ADMIN, AS_ADMIN, AS_ADMIN, AS_NOBODY};
    snprintf(urls[0], sizeof(urls[0]), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(urls[1], sizeof(urls[1]), "%s/nudm-ueau/v1/" SUPI "/auth-events", fx.sbi);
    snprintf(urls[2], sizeof(urls[2]), "%s/admin/v1/subscribers", fx.admin);
    snprintf(urls[3], sizeof(urls[3]), "%s/admin/v1/afs", fx.admin);
    snprintf(urls[4], sizeof(urls[4]), "%s/admin/v1/enrollments", fx.admin);
    snprintf(urls[5], sizeof(urls[5]), "%s/device/v1/onboard", fx.device);
    for (int i = 0; i < 6; i++)
        for (int h1 = 0; h1 < 2; h1++) {
            json_t *p = call(who[i], "POST", urls[i], "application/json", "{not json", h1, false,
                             400, "INVALID_MSG_FORMAT", NULL);
            json_decref(p);
            p = call(who[i], "POST", urls[i], "application/json", "[1]", h1, false, 400,
                     "INVALID_MSG_FORMAT", NULL);
            json_decref(p);
            struct fixture_answer a;
            p = call(who[i], "POST", urls[i], "text/plain", "{}", h1, false, 415,
                     "UNSUPPORTED_MEDIA_TYPE", &a);
            assert_non_null(strstr(a.body, "application/json"));
            free(a.body);
            json_decref(p);
            p = call(who[i], "POST", urls[i], NULL, "{}", h1, false, 415, "UNSUPPORTED_MEDIA_TYPE",
                     NULL);
            json_decref(p);
        }
    /* A parameter on the media type, or another case, is still JSON. */
    char body[200];
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"" SUPI "\",\"servingNetworkName\":\"%s\"}",
             fx.snn);
    json_decref(call(AS_NF, "POST", urls[0], "Application/JSON; charset=utf-8", body, false, false,
                     201, NULL, NULL));
    /* A missing or incorrect IE is named by a JSON Pointer (TS 29.571). */
    json_t *p = call(AS_NF, "POST", urls[0], "application/json", "{}", false, false, 400,
                     "MANDATORY_IE_MISSING", NULL);
    json_decref(p);
    p = call(AS_NF, "POST", urls[0], "application/json",
             "{\"supiOrSuci\":\"imsi-12\",\"servingNetworkName\":\"5G:mnc001.mcc001."
             "3gppnetwork.org\"}",
             false, false, 400, "MANDATORY_IE_INCORRECT", NULL);
    assert_string_equal(first_param(p), "/supiOrSuci");
    json_decref(p);
}

/* The UDM's vector for a 5G AKA and for an EAP-AKA' subscription (validated against
 * TS 29.503 by openapi_sbi, as every exchange here). */
static void test_udm_vectors(void **state)
{
    (void)state;
    const char *eap = "{\"supi\":\"imsi-001010000000004\",\"k\":\"" K_HEX "\",\"opc\":\"" OPC_HEX
                      "\",\"amf\":\"8000\",\"auth_method\":\"EAP_AKA_PRIME\"}";
    assert_int_equal(fixture_add_subscriber(&fx, eap), 0);
    static const char *const supis[] = {SUPI, "imsi-001010000000004"};
    static const char *const types[] = {"5G_HE_AKA", "EAP_AKA_PRIME"};
    for (int i = 0; i < 2; i++) {
        char url[200], body[200];
        snprintf(url, sizeof(url), "%s/nudm-ueau/v1/%s/security-information/generate-auth-data",
                 fx.sbi, supis[i]);
        snprintf(body, sizeof(body),
                 "{\"servingNetworkName\":\"%s\",\"ausfInstanceId\":\"" AUSF_ID "\"}", fx.snn);
        struct fixture_answer a;
        json_t *v = call(AS_NF, "POST", url, "application/json", body, false, false, 200, NULL, &a);
        assert_string_equal(a.content_type, "application/json");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(v, "authenticationVector"), "avType")),
                            types[i]);
        free(a.body);
        json_decref(v);
    }
}

/* HEAD wherever GET is, on every face: the GET's status and headers, no body. */
static void test_head_everywhere(void **state)
{
    (void)state;
    char urls[3][200];
    const enum client_identity who[3] = {AS_NF, AS_ADMIN, AS_ADMIN};
    snprintf(urls[0], sizeof(urls[0]), "%s/healthz", fx.sbi);
    snprintf(urls[1], sizeof(urls[1]), "%s/admin/v1/subscribers/" SUPI, fx.admin);
    snprintf(urls[2], sizeof(urls[2]), "%s/admin/v1/subscribers/" SUPI "/auth-events", fx.admin);
    for (int i = 0; i < 3; i++)
        for (int h1 = 0; h1 < 2; h1++) {
            struct fixture_answer g, h;
            json_decref(call(who[i], "GET", urls[i], NULL, NULL, h1, false, 200, NULL, &g));
            json_decref(call(who[i], "HEAD", urls[i], NULL, NULL, h1, false, 200, NULL, &h));
            assert_int_equal(h.body_len, 0);
            assert_string_equal(h.content_type, g.content_type);
            if (g.content_length[0]) /* HTTP/1.1 and HTTP/2 both send it */
                assert_string_equal(h.content_length, g.content_length);
            free(g.body);
            free(h.body);
        }
    /* A HEAD on a path without GET is a 405 that lists what is allowed. */
    char url[200];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    struct fixture_answer a;
    json_decref(call(AS_NF, "HEAD", url, NULL, NULL, true, false, 405, NULL, &a));
    assert_string_equal(a.allow, "POST");
    free(a.body);
}

/* Chunked HTTP/1.1 bodies are taken like any other (an AF on Node's http.request sends them),
 * within the same limits. */
static void test_chunked_bodies(void **state)
{
    (void)state;
    char url[200], body[200];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"" SUPI "\",\"servingNetworkName\":\"%s\"}",
             fx.snn);
    struct fixture_answer a;
    json_t *ctx = call(AS_NF, "POST", url, "application/json", body, true, true, 201, NULL, &a);
    assert_string_equal(a.content_type, "application/3gppHal+json");
    assert_non_null(json_object_get(ctx, "5gAuthData"));
    free(a.body);
    json_decref(ctx);
    /* bad JSON sent chunked: the same answer as with a length */
    json_decref(call(AS_NF, "POST", url, "application/json", "{not json", true, true, 400,
                     "INVALID_MSG_FORMAT", NULL));
    /* 2 MiB chunked to the SBI (1 MiB limit): refused once past the limit */
    size_t big = 2u << 20;
    char *s = malloc(big + 1);
    memset(s, ' ', big);
    s[0] = '{', s[big - 1] = '}', s[big] = '\0';
    struct fixture_call c = {AS_NF, "POST", url, "application/json", s, big, true, true};
    long st = fixture_exchange(&fx, &c, &a);
    free(s);
    free(a.body);
    assert_int_equal(st, 413);
}

/* The admin face takes bodies up to the documented 4 MiB (413 above), but a bulk import up to
 * 256 MiB. */
static void test_admin_body_limits(void **state)
{
    (void)state;
    size_t big = 5u << 20;
    char *s = malloc(big + 1);
    memset(s, ' ', big);
    s[0] = '{', s[big - 1] = '}', s[big] = '\0';
    char url[200];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", fx.admin);
    json_decref(call(AS_ADMIN, "POST", url, "application/json", s, false, false, 413, NULL, NULL));
    /* 5 MiB of CSV whose first row is bad: read whole and refused for its content, not size */
    static const char head[] = "supi,k,opc,amf\nimsi-001010000000003,zz,00,8000\n";
    memcpy(s, head, sizeof(head) - 1);
    memset(s + sizeof(head) - 1, '\n', big - (sizeof(head) - 1));
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/import", fx.admin);
    json_decref(call(AS_ADMIN, "POST", url, "text/csv", s, false, false, 400, NULL, NULL));
    free(s);
}

static void event_body(char *out, size_t cap, const char *extra)
{
    snprintf(out, cap,
             "{\"nfInstanceId\":\"" AUSF_ID "\",\"success\":true,"
             "\"timeStamp\":\"2026-12-07T10:00:00Z\",\"authType\":\"5G_AKA\","
             "\"servingNetworkName\":\"%s\"%s}",
             fx.snn, extra ? extra : "");
}

static json_t *admin_events(void)
{
    char url[200];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/" SUPI "/auth-events", fx.admin);
    json_t *j = call(AS_ADMIN, "GET", url, NULL, NULL, false, false, 200, NULL, NULL);
    json_t *list = json_incref(json_object_get(j, "authEvents"));
    json_decref(j);
    assert_true(json_is_array(list));
    return list;
}

/* TS 29.503 ConfirmAuth (201 + Location, stored) and DeleteAuth (PUT with authRemovalInd:
 * 204); Rel-18 defines no DELETE there (405). Shown on the admin face, newest first, bounded. */
static void test_auth_events(void **state)
{
    (void)state;
    char url[200], body[400];
    snprintf(url, sizeof(url), "%s/nudm-ueau/v1/" SUPI "/auth-events", fx.sbi);
    event_body(body, sizeof(body), NULL);
    struct fixture_answer a;
    json_t *ev = call(AS_NF, "POST", url, "application/json", body, false, false, 201, NULL, &a);
    assert_string_equal(a.content_type, "application/json");
    assert_int_equal(strncmp(a.location, url, strlen(url)), 0);
    const char *id = strrchr(a.location, '/') + 1;
    assert_int_equal(strlen(id), 32);
    assert_string_equal(json_string_value(json_object_get(ev, "nfInstanceId")), AUSF_ID);
    assert_true(json_is_true(json_object_get(ev, "success")));
    json_decref(ev);
    char ev_url[700];
    snprintf(ev_url, sizeof(ev_url), "%s", a.location);
    free(a.body);

    json_t *list = admin_events();
    assert_int_equal(json_array_size(list), 1);
    json_t *e = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(e, "id")), strrchr(ev_url, '/') + 1);
    assert_string_equal(json_string_value(json_object_get(e, "servingNetworkName")), fx.snn);
    assert_string_equal(json_string_value(json_object_get(e, "authType")), "5G_AKA");
    assert_null(json_object_get(e, "authRemovalInd"));
    json_decref(list);

    /* DeleteAuth: the result is marked removed */
    event_body(body, sizeof(body), ",\"authRemovalInd\":false");
    json_t *p = call(AS_NF, "PUT", ev_url, "application/json", body, false, false, 400,
                     "MANDATORY_IE_INCORRECT", NULL);
    assert_string_equal(first_param(p), "/authRemovalInd");
    json_decref(p);
    event_body(body, sizeof(body), ",\"authRemovalInd\":true");
    json_decref(
        call(AS_NF, "PUT", ev_url, "application/json", body, false, false, 204, NULL, NULL));
    list = admin_events();
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "authRemovalInd")));
    json_decref(list);
    char other[300];
    snprintf(other, sizeof(other), "%s/00000000000000000000000000000000", url);
    json_decref(call(AS_NF, "PUT", other, "application/json", body, false, false, 404,
                     "DATA_NOT_FOUND", NULL));
    snprintf(other, sizeof(other), "%s/nudm-ueau/v1/imsi-001010000000002/auth-events/%s", fx.sbi,
             strrchr(ev_url, '/') + 1); /* another SUPI's path */
    json_decref(call(AS_NF, "PUT", other, "application/json", body, false, false, 404,
                     "DATA_NOT_FOUND", NULL));
    p = call(AS_NF, "DELETE", ev_url, NULL, NULL, false, false, 405, NULL, &a);
    assert_string_equal(a.allow, "PUT");
    free(a.body);
    json_decref(p);

    /* Bad events: each IE named by a JSON Pointer. */
    static const struct {
        const char *body, *cause, *param;
    } bad[] = {
        {"{\"success\":true,\"timeStamp\":\"2026-12-07T10:00:00Z\",\"authType\":\"5G_AKA\","
         "\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}",
         "MANDATORY_IE_MISSING", "/nfInstanceId"},
        {"{\"nfInstanceId\":\"ausf-1\",\"success\":true,\"timeStamp\":\"2026-12-07T10:00:00Z\","
         "\"authType\":\"5G_AKA\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}",
         "MANDATORY_IE_INCORRECT", "/nfInstanceId"},
        {"{\"nfInstanceId\":\"" AUSF_ID "\",\"success\":\"yes\",\"timeStamp\":\"2026-12-07T10:00:"
         "00Z\",\"authType\":\"5G_AKA\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork."
         "org\"}",
         "MANDATORY_IE_INCORRECT", "/success"},
        {"{\"nfInstanceId\":\"" AUSF_ID "\",\"success\":true,\"timeStamp\":\"yesterday\","
         "\"authType\":\"5G_AKA\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}",
         "MANDATORY_IE_INCORRECT", "/timeStamp"},
        {"{\"nfInstanceId\":\"" AUSF_ID "\",\"success\":true,\"timeStamp\":\"2026-12-07T10:00:"
         "00Z\",\"authType\":\"MAGIC\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork."
         "org\"}",
         "MANDATORY_IE_INCORRECT", "/authType"},
        {"{\"nfInstanceId\":\"" AUSF_ID "\",\"success\":true,\"timeStamp\":\"2026-12-07T10:00:"
         "00Z\",\"authType\":\"5G_AKA\",\"servingNetworkName\":\"internet\"}",
         "MANDATORY_IE_INCORRECT", "/servingNetworkName"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = call(AS_NF, "POST", url, "application/json", bad[i].body, false, false, 400,
                 bad[i].cause, NULL);
        assert_string_equal(first_param(p), bad[i].param);
        json_decref(p);
    }
    snprintf(other, sizeof(other), "%s/nudm-ueau/v1/imsi-001010000000999/auth-events", fx.sbi);
    event_body(body, sizeof(body), NULL);
    json_decref(call(AS_NF, "POST", other, "application/json", body, false, false, 404,
                     "USER_NOT_FOUND", NULL));
    snprintf(other, sizeof(other), "%s/nudm-ueau/v1/imsi-12/auth-events", fx.sbi);
    json_decref(call(AS_NF, "POST", other, "application/json", body, false, false, 400,
                     "MANDATORY_IE_INCORRECT", NULL));

    /* Bounded: the newest 32 per SUPI are kept. */
    for (int i = 0; i < 34; i++)
        json_decref(
            call(AS_NF, "POST", url, "application/json", body, false, false, 201, NULL, NULL));
    list = admin_events();
    assert_int_equal(json_array_size(list), 32);
    assert_null(json_object_get(json_array_get(list, 31), "authRemovalInd")); /* the first went */
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_bodies_alike_on_every_face),
        cmocka_unit_test(test_udm_vectors),
        cmocka_unit_test(test_head_everywhere),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_admin_body_limits),
        cmocka_unit_test(test_auth_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
