/* Expiry end to end (issue 4, lifecycle): with subscriber.expiry_sweep_s: 1, a subscription
 * whose not_after passes is refused by authentication at once, and the sweep marks it
 * `expired` with an event (actor "sweep") that `subscriber show` lists. A bad interval
 * (0, or more than a day) keeps the daemon from starting. */
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

#include "fixture.h"

#define SUPI "imsi-001010000000051"

static long authenticate(const struct daemon_fixture *f)
{
    char url[128], body[256], *out = NULL;
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", f->sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"" SUPI "\",\"servingNetworkName\":\"%s\"}",
             f->snn);
    long st = fixture_request(f, AS_NF, "POST", url, "application/json", body, strlen(body), &out);
    free(out);
    return st;
}

static json_t *show(const struct daemon_fixture *f)
{
    char url[128], *out = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/" SUPI, f->admin);
    assert_int_equal(fixture_request(f, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(o);
    return o;
}

static void test_expired_is_refused_and_marked(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, "subscriber:\n  expiry_sweep_s: 1\n"), 0);
    assert_int_equal(fixture_start(&f), 0);
    char json[384], when[32];
    time_t t = time(NULL) + 2;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(json, sizeof(json),
             "{\"supi\":\"" SUPI "\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
             "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\","
             "\"not_after\":\"%s\"}",
             when);
    assert_int_equal(fixture_add_subscriber(&f, json), 0);
    assert_int_equal(authenticate(&f), 201); /* still valid */
    /* Past not_after: refused at once (before the sweep), then marked by the sweep. */
    while (time(NULL) < t)
        usleep(100 * 1000);
    long st = authenticate(&f);
    assert_true(st == 403 || st == 404);
    const char *state_now = "";
    json_t *o = NULL;
    for (int i = 0; i < 40; i++) {
        json_decref(o);
        o = show(&f);
        state_now = json_string_value(json_object_get(o, "state"));
        if (strcmp(state_now, "expired") == 0)
            break;
        usleep(100 * 1000);
    }
    assert_string_equal(state_now, "expired");
    json_t *events = json_object_get(o, "events"), *last;
    assert_true(json_array_size(events) >= 2); /* create, expire */
    last = json_array_get(events, json_array_size(events) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "expire");
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "sweep");
    assert_string_equal(json_string_value(json_object_get(last, "to")), "expired");
    json_decref(o);
    st = authenticate(&f);
    assert_true(st == 403 || st == 404);
    int status = fixture_stop(&f, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fixture_cleanup(&f);
}

static void test_bad_interval_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"subscriber:\n  expiry_sweep_s: 0\n",
                                      "subscriber:\n  expiry_sweep_s: 86401\n",
                                      "subscriber:\n  expiry_sweep: 5\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct daemon_fixture f;
        assert_int_equal(fixture_init(&f, bad[i]), 0);
        assert_int_equal(fixture_start(&f), -1);
        int status = fixture_stop(&f, SIGKILL);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        fixture_cleanup(&f);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_is_refused_and_marked),
        cmocka_unit_test(test_bad_interval_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
