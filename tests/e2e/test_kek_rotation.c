/* KEK rotation (keys/kek.h) end to end: subscribers authenticate while every KEK-sealed row is
 * re-wrapped under a new KEK (every vector answered, no SQN issued twice, as an independent
 * UE-side computation checks); afterwards every sealed row names the new KEK (read through the
 * store), the old KEK's file is gone, and a restart with the new KEK alone serves them. A
 * daemon killed right after a rotation started resumes and finishes it at its next start. Bad
 * input: a second rotation while one runs (409), no admin certificate (403), a malformed body
 * (400), a KEK this instance does not hold (404). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "av_burst.h"
#include "base/err.h"
#include "base/hex.h"
#include "fixture.h"
#include "sqn_ledger.h"

#define AUTHENTICATING 6    /* subscribers in the burst, K/OPc known to the test */
#define BULK           3000 /* more subscriptions, each with its data key under the KEK */

static struct daemon_fixture fx;
static struct sqn_ledger ledger[AUTHENTICATING];
static int refused;

static long admin(const char *method, const char *path, const char *body, json_t **out)
{
    char url[256], *answer = NULL;
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    long st = fixture_request(&fx, AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                              body ? strlen(body) : 0, &answer);
    if (out)
        *out = answer ? json_loads(answer, 0, NULL) : NULL;
    free(answer);
    return st;
}

static void add_subscribers(void)
{
    for (int s = 0; s < AUTHENTICATING; s++) {
        char json[320], k[33], opc[33];
        for (int i = 0; i < 16; i++) {
            ledger[s].k[i] = (uint8_t)rand();
            ledger[s].opc[i] = (uint8_t)rand();
        }
        hex_encode(ledger[s].k, 16, k);
        hex_encode(ledger[s].opc, 16, opc);
        snprintf(
            json, sizeof(json),
            "{\"supi\":\"imsi-00101000000000%d\",\"k\":\"%s\",\"opc\":\"%s\",\"amf\":\"8000\"}", s,
            k, opc);
        assert_int_equal(fixture_add_subscriber(&fx, json), 0);
        sqn_ledger_init(&ledger[s]);
    }
    size_t cap = 64 + (size_t)BULK * 100, len = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    len += (size_t)snprintf(csv, cap, "supi,k,opc,amf\n");
    for (int i = 0; i < BULK; i++)
        len += (size_t)snprintf(csv + len, cap - len, "imsi-00101000001%04d,%032x,%032x,8000\n", i,
                                i + 1, i + 7);
    char url[256], *answer = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/import", fx.admin);
    long st = fixture_request(&fx, AS_ADMIN, "POST", url, "text/csv", csv, len, &answer);
    if (st != 200 && st != 201)
        printf("import: %ld %s\n", st, answer ? answer : "");
    assert_true(st == 200 || st == 201);
    free(answer);
    free(csv);
}

/* The status once this instance's driver is idle (at most 60 s). */
static json_t *settled_status(void)
{
    for (int i = 0; i < 600; i++) {
        json_t *st = NULL;
        assert_int_equal(admin("GET", "/admin/v1/keys/kek", NULL, &st), 200);
        if (!json_is_true(json_object_get(st, "running")) &&
            !json_is_true(json_object_get(st, "rotating")))
            return st;
        json_decref(st);
        usleep(100000);
    }
    fail_msg("the rotation did not finish within 60 s");
    return NULL;
}

/* Every sealed row counted by the daemon names KEK id (and there are rows to count). */
static void assert_all_under(json_t *st, int id)
{
    assert_int_equal(json_integer_value(json_object_get(st, "current")), id);
    json_t *rows = json_object_get(st, "rows"), *r;
    size_t i;
    long total = 0, deks = 0;
    json_array_foreach(rows, i, r)
    {
        long n = (long)json_integer_value(json_object_get(r, "rows"));
        if (json_integer_value(json_object_get(r, "kekId")) != id)
            fail_msg("%s: %ld rows under KEK %lld", json_string_value(json_object_get(r, "column")),
                     n, json_integer_value(json_object_get(r, "kekId")));
        if (strcmp(json_string_value(json_object_get(r, "column")), "subscription_deks.dek") == 0)
            deks = n;
        total += n;
    }
    assert_int_equal(deks, BULK + AUTHENTICATING);
    assert_true(total > deks); /* the home network keys and the services' keys too */
    json_t *held = json_object_get(st, "held");
    assert_int_equal(json_array_size(held), 1); /* the old KEK retired */
    assert_int_equal(json_integer_value(json_array_get(held, 0)), id);
}

/* The same, read from the database directly (not through the daemon's own count). */
static void assert_store_under(int id)
{
    const char *pg = getenv("IOTSEC_TEST_STORE_URL");
    char lit[24], sql[256];
    snprintf(lit, sizeof(lit), pg && *pg ? "'\\x%02x'::bytea" : "x'%02x'", id);
    static const char *const cols[][2] = {{"subscription_deks", "dek"},
                                          {"hn_keys", "private_key"},
                                          {"expose_signing_keys", "sealed_d"},
                                          {"prov_keys", "seed"}};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE substr(%s, 2, 1) <> %s",
                 cols[i][0], cols[i][1], lit);
        assert_int_equal(fixture_db_int(&fx, sql, NULL), 0);
    }
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM subscription_deks WHERE substr(dek, 2, 1) = %s", lit);
    assert_int_equal(fixture_db_int(&fx, sql, NULL), BULK + AUTHENTICATING);
}

static void kek_files(bool *old, bool *new2)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/inst/kek.key", fx.dir);
    *old = stat(path, &st) == 0;
    snprintf(path, sizeof(path), "%s/inst/kek.key.2", fx.dir);
    *new2 = stat(path, &st) == 0;
    if (*new2)
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void on_refused(void *ctx, int instance, long status, const char *answer)
{
    (void)ctx;
    (void)instance;
    printf("refused during rotation: %ld %s\n", status, answer);
    refused++;
}

static void nothing(void *ctx)
{
    (void)ctx;
}

static size_t burst(long ms)
{
    struct av_burst b = {.fx = &fx,
                         .instances = 1,
                         .avoid = -1,
                         .supi_prefix = "imsi-00101000000000",
                         .ledger = ledger,
                         .subscribers = AUTHENTICATING,
                         .in_flight = 8,
                         .refused = on_refused,
                         .at_deadline = nothing};
    return av_burst_run(&b, ms);
}

/* Started from the burst's deadline callback would be too late: a thread starts the rotation
 * while the burst runs. */
static void *rotate_during_burst(void *arg)
{
    long *status = arg;
    usleep(300000);
    status[0] = admin("POST", "/admin/v1/keys/kek/rotate", NULL, NULL);
    status[1] = admin("POST", "/admin/v1/keys/kek/rotate", NULL, NULL); /* one runs: 409 */
    return NULL;
}

static void test_rotation_while_authenticating(void **state)
{
    (void)state;
    assert_int_equal(fixture_init(&fx, NULL), 0);
    assert_int_equal(fixture_start(&fx), 0);
    add_subscribers();

    /* Bad input first: nothing starts. */
    char url[256];
    snprintf(url, sizeof(url), "%s/admin/v1/keys/kek/rotate", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_NF, "POST", url, NULL, NULL, 0, NULL), 403);
    assert_int_equal(admin("POST", "/admin/v1/keys/kek/rotate", "{\"kekId\":\"two\"}", NULL), 400);
    assert_int_equal(admin("POST", "/admin/v1/keys/kek/rotate", "{\"kekId\":1,\"x\":1}", NULL),
                     400);
    assert_int_equal(admin("POST", "/admin/v1/keys/kek/rotate", "{\"kekId\":9}", NULL), 404);
    assert_int_equal(admin("POST", "/admin/v1/keys/kek/rotate", "{\"kekId\":1}", NULL), 409);
    json_t *st = settled_status();
    assert_int_equal(json_integer_value(json_object_get(st, "current")), 1);
    json_decref(st);

    pthread_t t;
    long status[2] = {0, 0};
    assert_int_equal(pthread_create(&t, NULL, rotate_during_burst, status), 0);
    size_t got = burst(2500);
    pthread_join(t, NULL);
    printf("%zu vectors during the rotation, %d refused\n", got, refused);
    assert_int_equal(status[0], 202);
    assert_int_equal(status[1], 409);
    assert_int_equal(refused, 0);
    assert_true(got > 50);

    st = settled_status();
    assert_all_under(st, 2);
    json_decref(st);
    assert_store_under(2);
    bool old, new2;
    kek_files(&old, &new2);
    assert_false(old); /* retired: its file zeroised and removed */
    assert_true(new2);

    /* The operator's view: iotsecctl keys status, and a bad flag refused with exit 2. */
    char out[8192];
    assert_int_equal(fixture_tool(&fx, IOTSECCTL_PATH, NULL, "keys status", out, sizeof(out)), 0);
    json_t *cli = json_loads(out, 0, NULL);
    assert_non_null(cli);
    assert_int_equal(json_integer_value(json_object_get(cli, "current")), 2);
    json_decref(cli);
    assert_int_equal(
        fixture_tool(&fx, IOTSECCTL_PATH, NULL, "keys rotate-kek --kek-id 0", out, sizeof(out)), 2);
    assert_int_equal(
        fixture_tool(&fx, IOTSECCTL_PATH, NULL, "keys rotate-kek --kek-id 2", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "KEK 2 is current")); /* the daemon's 409, not the parser's */

    /* The new KEK alone opens everything: restarted, the same subscribers authenticate. */
    assert_int_equal(fixture_stop(&fx, SIGTERM), 0);
    assert_int_equal(fixture_start(&fx), 0);
    got = burst(500);
    assert_int_equal(refused, 0);
    assert_true(got > 10);
    assert_int_equal(fixture_stop(&fx, SIGTERM), 0);
    assert_int_equal(fixture_sanitizer_report(&fx), 0);
    for (int s = 0; s < AUTHENTICATING; s++)
        sqn_ledger_free(&ledger[s]);
    fixture_cleanup(&fx);
}

static void test_restart_mid_rotation_resumes(void **state)
{
    (void)state;
    memset(ledger, 0, sizeof(ledger));
    assert_int_equal(fixture_init(&fx, NULL), 0);
    assert_int_equal(fixture_start(&fx), 0);
    add_subscribers();
    json_t *st = NULL;
    assert_int_equal(admin("POST", "/admin/v1/keys/kek/rotate", NULL, &st), 202);
    assert_int_equal(json_integer_value(json_object_get(st, "kekId")), 2);
    json_decref(st);
    fixture_stop(&fx, SIGKILL); /* wherever it is: recorded as started, some rows or none done */
    bool old, new2;
    kek_files(&old, &new2);
    assert_true(new2);

    assert_int_equal(fixture_start(&fx), 0);
    st = settled_status();
    assert_all_under(st, 2);
    json_decref(st);
    assert_store_under(2);
    kek_files(&old, &new2);
    assert_false(old);
    size_t got = burst(500);
    assert_int_equal(refused, 0);
    assert_true(got > 10);
    assert_int_equal(fixture_stop(&fx, SIGTERM), 0);
    assert_int_equal(fixture_sanitizer_report(&fx), 0);
    for (int s = 0; s < AUTHENTICATING; s++)
        sqn_ledger_free(&ledger[s]);
    fixture_cleanup(&fx);
}

int main(void)
{
    srand((unsigned)time(NULL));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rotation_while_authenticating),
                                       cmocka_unit_test(test_restart_mid_rotation_resumes)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
