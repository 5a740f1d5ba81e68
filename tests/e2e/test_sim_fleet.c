/* The device side of issue 4 against the real iotsecd: `iotsec-sim fleet` with certificate
 * and derived-key devices (a quarter through a gateway, sdk/gateway) onboards, authenticates
 * rotates and transfers every device it should, and prints exactly the documented JSON. (The relay
 * proofs, a bit-flipping relay and a K/OPc search of what a relay saw, are in
 * test_provision.c.) */
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
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    snprintf(inst, sizeof(inst), "%s/inst", fx.dir);
    return fixture_write_ready(&fx, ready_file, sizeof(ready_file));
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Runs the simulator; returns its JSON line and exit status. */
static json_t *run_sim(const char *extra, int *exit_status)
{
    char cmd[1024], line[1024] = "";
    snprintf(cmd, sizeof(cmd), "%s fleet --dir %s --ready %s --threads 8 %s", IOTSEC_SIM_PATH, inst,
             ready_file, extra);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *got = fgets(line, sizeof(line), p);
    int st = pclose(p);
    *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return got ? json_loads(line, 0, NULL) : NULL;
}

static void check_fleet(json_t *o)
{
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 7); /* exactly the documented members */
    assert_int_equal(json_integer_value(json_object_get(o, "devices")), 40);
    assert_int_equal(json_integer_value(json_object_get(o, "onboarded")), 40);
    assert_int_equal(json_integer_value(json_object_get(o, "via_gateway")), 10);
    assert_int_equal(json_integer_value(json_object_get(o, "authenticated")), 40);
    assert_int_equal(json_integer_value(json_object_get(o, "failed")), 0);
    double p50 = json_number_value(json_object_get(o, "p50_ms"));
    double p99 = json_number_value(json_object_get(o, "p99_ms"));
    assert_true(p50 > 0 && p50 <= p99);
}

static void test_fleet_certificates(void **state)
{
    (void)state;
    int st;
    /* 3 rotate, then authenticate with the new K; the last is transferred, re-onboards */
    json_t *o = run_sim("--devices 40 --via-gateway 10 --rotate 3 --transfer-to e2e-owner", &st);
    check_fleet(o);
    assert_int_equal(st, 0);
    json_decref(o);
}

static void test_fleet_derived_keys(void **state)
{
    (void)state;
    int st;
    json_t *o = run_sim("--devices 40 --via-gateway 10 --derived-keys --rotate 2", &st);
    check_fleet(o);
    assert_int_equal(st, 0);
    json_decref(o);
}

/* Devices that wait for a bulk activation that never comes onboard but cannot attach: the
 * simulator counts them as failed and exits 1. */
static void test_fleet_unactivated_fails(void **state)
{
    (void)state;
    int st;
    json_t *o = run_sim("--devices 6 --via-gateway 2 --requires-activation 2>/dev/null", &st);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "onboarded")), 6);
    assert_int_equal(json_integer_value(json_object_get(o, "authenticated")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "failed")), 6);
    assert_int_equal(st, 1);
    json_decref(o);
}

static void test_fleet_bad_usage(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s fleet --dir %s --devices 0 2>/dev/null", IOTSEC_SIM_PATH, inst);
    int st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
    snprintf(cmd, sizeof(cmd), "%s fleet --dir /nonexistent --devices 3 2>/dev/null",
             IOTSEC_SIM_PATH);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_certificates),
        cmocka_unit_test(test_fleet_derived_keys),
        cmocka_unit_test(test_fleet_unactivated_fails),
        cmocka_unit_test(test_fleet_bad_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
