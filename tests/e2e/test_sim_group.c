/* `iotsec-sim group` against the real iotsecd (docs/group.md): N simulated members (real SDK
 * receivers behind the sim's endpoints) join, an AF sends, K leave (removed, then quarantined),
 * it sends again; the last line is the JSON object and its numbers are exact: every
 * (member, message) pair verified, nothing read by a leaver, the forgery and the replay refused
 * by every stayer. */
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
static char inst[96], ready_file[128];

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, "location:\n  notify_http_loopback: true\n") != 0 ||
        fixture_start(&fx) != 0)
        return -1;
    snprintf(inst, sizeof(inst), "%s/inst", fx.dir);
    return fixture_write_ready(&fx, ready_file, sizeof(ready_file));
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

/* The simulator's last stdout line, parsed, and its exit status. */
static json_t *run_sim(const char *args, int *exit_status)
{
    char cmd[1024], line[2048] = "", last[2048] = "";
    snprintf(cmd, sizeof(cmd), "%s group --dir %s --ready %s %s", IOTSEC_SIM_PATH, inst, ready_file,
             args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p))
        memcpy(last, line, sizeof(last));
    int st = pclose(p);
    *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return json_loads(last, 0, NULL);
}

static void check(json_t *o, int n, int k, int m)
{
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "devices")), n);
    assert_int_equal(json_integer_value(json_object_get(o, "messages")), 2 * m);
    assert_int_equal(json_integer_value(json_object_get(o, "delivered")), n * m + (n - k) * m);
    assert_int_equal(json_integer_value(json_object_get(o, "leavers")), k);
    assert_int_equal(json_integer_value(json_object_get(o, "leaver_decrypted")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "forged_rejected")), n - k - 1);
    assert_int_equal(json_integer_value(json_object_get(o, "replayed_rejected")), n - k);
    assert_true(json_integer_value(json_object_get(o, "rekey_bytes")) > 0);
    assert_true(json_number_value(json_object_get(o, "p99_ms")) > 0);
}

static void test_removed_members(void **state)
{
    (void)state;
    int st;
    json_t *o = run_sim("--devices 16 --leave 3 --messages 2", &st);
    check(o, 16, 3, 2);
    assert_int_equal(st, 0);
    json_decref(o);
}

static void test_quarantined_member(void **state)
{
    (void)state;
    int st;
    json_t *o = run_sim("--devices 8 --leave 1 --messages 1 --quarantine", &st);
    check(o, 8, 1, 1);
    assert_int_equal(st, 0);
    json_decref(o);
}

static void test_usage(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s group --dir %s --devices 4 --leave 4 2>/dev/null",
             IOTSEC_SIM_PATH, inst);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2); /* K < N */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removed_members),
        cmocka_unit_test(test_quarantined_member),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
