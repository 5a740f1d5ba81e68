/* The SQN slot's lease (subscriber.h, "SQN slots"): renewed while the daemon runs, and when
 * another instance has taken the slot over, this one stops issuing vectors (503 NF_CONGESTION)
 * instead of feeding a UE SEQs under IND values someone else now uses. A short lease (6 s,
 * renewed every 2 s) keeps the test short. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "fixture.h"

#define SUPI "imsi-001010000000088"

static struct daemon_fixture fx;

static long vector(char **answer)
{
    char url[192], body[160];
    snprintf(url, sizeof(url), "%s/nudm-ueau/v1/" SUPI "/security-information/generate-auth-data",
             fx.sbi);
    snprintf(body, sizeof(body),
             "{\"servingNetworkName\":\"%s\",\"ausfInstanceId\":"
             "\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}",
             fx.snn);
    return fixture_request(&fx, AS_NF, "POST", url, "application/json", body, strlen(body), answer);
}

/* The value of a metric line "name value" on the admin face's /metrics (-1 when absent). */
static long long metric(const char *name)
{
    char url[128], *text = NULL;
    snprintf(url, sizeof(url), "%s/metrics", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &text), 200);
    long long v = -1;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        size_t n = strlen(name);
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            v = atoll(line + n + 1);
    }
    free(text);
    return v;
}

static void exec_sql(const char *sql)
{
    char path[256];
    fixture_db_path(&fx, path, sizeof(path));
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_lease_renewed_then_lost(void **state)
{
    (void)state;
    assert_int_equal(fixture_init(&fx, NULL), 0);
    assert_int_equal(fixture_config_replace(&fx, "max_synch_failures: 2",
                                            "max_synch_failures: 2\n  sqn_lease_s: 6"),
                     0);
    assert_int_equal(fixture_start(&fx), 0);
    assert_int_equal(fixture_add_subscriber(&fx, "{\"supi\":\"" SUPI "\",\"k\":"
                                                 "\"465b5ce8b199b49faa5f0a2ee238a6bc\",\"opc\":"
                                                 "\"cd63cb71954a9f4e48a5994e37a02baf\","
                                                 "\"amf\":\"8000\"}"),
                     0);
    char *answer = NULL;
    assert_int_equal(vector(&answer), 200);
    free(answer);
    assert_int_equal(metric("iotsec_sqn_slot"), 0);
    /* Past the first lease's end: vectors still come, because it was renewed. */
    sleep(8);
    assert_int_equal(vector(&answer), 200);
    free(answer);
    assert_int_equal(metric("iotsec_sqn_lease_refusals_total"), 0);

    /* Another instance takes the slot over (as if this one had stalled past its lease). */
    exec_sql("UPDATE sqn_slots SET holder = 'other-host:/other', lease_until = 9999999999999"
             " WHERE slot = 0");
    long st = 200;
    for (int i = 0; i < 40 && st == 200; i++) { /* the next renewal notices: 2 s at most */
        usleep(100 * 1000);
        answer = NULL;
        st = vector(&answer);
        if (st != 200)
            assert_non_null(strstr(answer ? answer : "", "NF_CONGESTION"));
        free(answer);
    }
    assert_int_equal(st, 503);
    assert_true(metric("iotsec_sqn_lease_refusals_total") >= 1);
    assert_int_equal(metric("iotsec_sqn_slot"), -1);
    fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lease_renewed_then_lost)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
