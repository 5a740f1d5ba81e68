/* Message groups against the real daemon (docs/group.md): the operator's API on the admin face,
 * the core's membership question on the SBI face (one SUPI's answer, nothing about the others),
 * a quarantine evicting the member with a rekey, and who may ask. */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

static struct daemon_fixture fx;
#define G "meters-b12@utility.example"

static const char *supi_of(int i)
{
    static char buf[4][32];
    snprintf(buf[i], sizeof(buf[i]), "imsi-00101000000010%d", i);
    return buf[i];
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}",
                 supi_of(i));
        if (fixture_add_subscriber(&fx, json) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    int report = fixture_sanitizer_report(&fx);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && !report ? 0 : -1;
}

static json_t *call(enum client_identity who, const char *base, const char *method,
                    const char *path, const char *body, long want)
{
    char url[512], *out = NULL;
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st = fixture_request(&fx, who, method, url, body ? "application/json" : NULL, body,
                              body ? strlen(body) : 0, &out);
    if (st != want)
        fail_msg("%s %s: %ld, want %ld (%s)", method, path, st, want, out ? out : "");
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static bool is_member(int i, long want_status)
{
    char path[256];
    snprintf(path, sizeof(path), "/iotsec-group/v1/groups/%s/members/%s", G, supi_of(i));
    json_t *j = call(AS_NF, fx.sbi, "GET", path, NULL, want_status);
    bool m = json_is_true(json_object_get(j, "member"));
    if (j != NULL) {
        /* one SUPI's answer: no other member, no count, no local id */
        char *text = json_dumps(j, 0);
        for (int k = 0; k < 4; k++)
            if (k != i)
                assert_null(strstr(text, supi_of(k)));
        assert_null(json_object_get(j, "members"));
        assert_null(json_object_get(j, "localGroupId"));
        free(text);
    }
    json_decref(j);
    return m;
}

static void test_membership_and_quarantine(void **state)
{
    (void)state;
    json_t *g = call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups",
                     "{\"externalGroupId\":\"" G "\",\"owner\":\"utility\",\"capacity\":64}", 201);
    assert_true(json_is_true(json_object_get(g, "confidential")));
    json_decref(g);
    char body[256];
    snprintf(body, sizeof(body), "{\"supis\":[\"%s\",\"%s\",\"%s\"]}", supi_of(0), supi_of(1),
             supi_of(2));
    json_t *r =
        call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups/" G "/members", body, 200);
    assert_int_equal(json_integer_value(json_object_get(r, "epoch")), 1);
    json_decref(r);

    assert_true(is_member(0, 200));
    assert_true(is_member(2, 200));
    assert_false(is_member(3, 200)); /* a subscription, not a member */

    /* a quarantine evicts the member, with a rekey (epoch 2) */
    char path[256];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/quarantine", supi_of(1));
    json_decref(call(AS_ADMIN, fx.admin, "POST", path, "{\"reason\":\"tamper alarm\"}", 200));
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        gone = !is_member(1, 200);
        if (!gone)
            usleep(20000);
    }
    assert_true(gone);
    json_t *show = call(AS_ADMIN, fx.admin, "GET", "/admin/v1/message-groups/" G, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(show, "members")), 2);
    assert_int_equal(json_integer_value(json_object_get(show, "epoch")), 2);
    json_decref(show);
}

static void test_bad_questions(void **state)
{
    (void)state;
    json_decref(call(AS_NF, fx.sbi, "GET",
                     "/iotsec-group/v1/groups/nope@x.y/members/"
                     "imsi-001010000000100",
                     NULL, 404));
    json_decref(
        call(AS_NF, fx.sbi, "GET", "/iotsec-group/v1/groups/" G "/members/imsi-12x", NULL, 400));
    json_decref(call(AS_NF, fx.sbi, "GET",
                     "/iotsec-group/v1/groups/no-at-sign/members/imsi-001010000000100", NULL, 400));
    /* the admin routes are not on the SBI face, the SBI route not on the admin face */
    json_decref(call(AS_NF, fx.sbi, "GET", "/admin/v1/message-groups", NULL, 404));
    json_decref(call(AS_ADMIN, fx.admin, "GET",
                     "/iotsec-group/v1/groups/" G "/members/imsi-001010000000100", NULL, 404));
    /* an NF certificate cannot administer groups */
    char *out = NULL;
    char url[256];
    snprintf(url, sizeof(url), "%s/admin/v1/message-groups", fx.admin);
    long st = fixture_request(&fx, AS_NF, "GET", url, NULL, NULL, 0, &out);
    assert_true(st == 403 || st == -1);
    free(out);
    /* bad bodies: 400, never 5xx */
    json_decref(call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups", "{", 400));
    json_decref(call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups",
                     "{\"externalGroupId\":\"x@y\",\"owner\":\"o\",\"arity\":99}", 400));
    json_decref(call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups/" G "/members",
                     "{\"supis\":[]}", 400));
    json_decref(call(AS_ADMIN, fx.admin, "POST", "/admin/v1/message-groups/" G "/members",
                     "{\"supis\":[\"imsi-001010000000999\"]}", 404));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership_and_quarantine),
        cmocka_unit_test(test_bad_questions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
