/* Several instances, active-active on one PostgreSQL, never reuse an SQN (issue 10, part 5).
 *
 * Three iotsecd instances (three directories: the same KEK, PKI and database, their own ports)
 * serve one authentication burst spread over all three. Twenty times a random instance is
 * killed with SIGKILL mid-burst and restarted; once, the PostgreSQL server itself is restarted
 * mid-burst (the instances answer 503 while it is down, then recover). Then:
 * - no SQN was issued twice for any subscriber, across all instances and kills (every AUTN
 *   recovered with an independent Milenage computation, AUTN xor AK);
 * - every UE's next authentications succeed without any resynchronisation: a fresh USIM
 *   (sdk/usim: per-IND freshness and the delta limit, TS 33.102 C.2.2) accepts one vector
 *   from each instance in turn, twice round, because each instance issues under its own IND
 *   values (its leased SQN slot) and its SEQs only grow;
 * - the database passes amcheck (store_integrity_check) and the rows are where they belong.
 * A small SQN block (7) makes the instances reserve constantly, so kills land between a
 * reservation and the SQNs served from it. Runs only on PostgreSQL (the *_pg ctest run). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "av_burst.h"
#include "base/err.h"
#include "base/hex.h"
#include "fixture.h"
#include "sqn_ledger.h"
#include "usim.h"

#define INSTANCES   3
#define SUBSCRIBERS 4
#define ROUNDS      20
#define IN_FLIGHT   24

static struct daemon_fixture fx[INSTANCES];
static struct sqn_ledger ledger[SUBSCRIBERS];
static size_t answered_503;

static const char body[] = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                           "\"ausfInstanceId\":\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}";

/* The directory of the test's PostgreSQL server: the URL's host=DIR. */
static void pg_dir(char *out, size_t cap)
{
    const char *url = getenv("IOTSEC_TEST_STORE_URL");
    const char *h = url ? strstr(url, "host=") : NULL;
    assert_non_null(h);
    h += 5;
    size_t n = strcspn(h, "&");
    assert_true(n < cap);
    memcpy(out, h, n);
    out[n] = '\0';
}

/* Restarts the PostgreSQL server at once (-m immediate: as a crash would). */
static void pg_restart(void)
{
    char dir[256], cmd[768];
    pg_dir(dir, sizeof(dir));
    snprintf(cmd, sizeof(cmd),
             "b=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1);"
             " u=''; [ \"$(id -u)\" = 0 ] && u='runuser -u postgres --';"
             " $u $b/pg_ctl -D %s/data -m immediate -w -t 60 restart -l %s/log >/dev/null",
             dir, dir);
    assert_int_equal(system(cmd), 0);
}

/* Drives requests at every live instance until deadline_ms, then does `then`. */
enum after { KILL, PG_RESTART };

struct disruption {
    enum after then;
    int victim;
};

static void disrupt(void *ctx)
{
    const struct disruption *d = ctx;
    if (d->then == KILL)
        fixture_stop(&fx[d->victim], SIGKILL);
    else
        pg_restart();
}

static void refused(void *ctx, int instance, long status, const char *answer)
{
    (void)ctx;
    if (status == 503)
        answered_503++; /* the database away: a clean refusal, nothing issued */
    else
        fail_msg("instance %d answered %ld: %s", instance, status, answer);
}

static size_t burst(long deadline_ms, enum after then, int victim)
{
    struct disruption d = {then, victim};
    struct av_burst b = {.fx = fx,
                         .instances = INSTANCES,
                         .avoid = then == KILL ? victim : -1,
                         .supi_prefix = "imsi-00101000000020",
                         .ledger = ledger,
                         .subscribers = SUBSCRIBERS,
                         .in_flight = IN_FLIGHT,
                         .refused = refused,
                         .at_deadline = disrupt,
                         .ctx = &d};
    return av_burst_run(&b, deadline_ms);
}

/* One fresh USIM per subscriber takes vectors from the instances in turn: every one must be
 * accepted (no synchronisation failure). */
static void next_authentications_succeed(void)
{
    for (int s = 0; s < SUBSCRIBERS; s++) {
        struct usim ue;
        usim_init(&ue, ledger[s].k, ledger[s].opc);
        for (int round = 0; round < 2 * INSTANCES; round++) {
            int i = round % INSTANCES;
            char url[160], *answer = NULL;
            snprintf(url, sizeof(url),
                     "%s/nudm-ueau/v1/imsi-00101000000020%d/security-information/"
                     "generate-auth-data",
                     fx[i].sbi, s);
            long st = fixture_request(&fx[i], AS_NF, "POST", url, "application/json", body,
                                      strlen(body), &answer);
            if (st != 200)
                fail_msg("instance %d, subscriber %d: %ld %s", i, s, st, answer ? answer : "");
            json_t *o = json_loads(answer, 0, NULL);
            free(answer);
            json_t *av = json_object_get(o, "authenticationVector");
            uint8_t rand_b[16], autn[16];
            hex_decode(json_string_value(json_object_get(av, "rand")), rand_b, 16);
            hex_decode(json_string_value(json_object_get(av, "autn")), autn, 16);
            json_decref(o);
            struct usim_response r;
            int result = usim_authenticate(&ue, rand_b, autn, fx[i].snn, strlen(fx[i].snn), &r);
            if (result != USIM_OK)
                fail_msg("subscriber %d: the USIM refused instance %d's vector (%d: 1 is a "
                         "synchronisation failure)",
                         s, i, result);
        }
    }
}

static void test_three_instances_kills_and_a_database_restart(void **state)
{
    (void)state;
    if (getenv("IOTSEC_TEST_STORE_URL") == NULL) {
        printf("PostgreSQL only (IOTSEC_TEST_STORE_URL unset): skipped\n");
        skip();
    }
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("seed %u\n", seed);
    assert_int_equal(fixture_init(&fx[0], NULL), 0);
    assert_int_equal(fixture_config_replace(&fx[0], "sqn_block: 1000", "sqn_block: 7"), 0);
    /* Each clone takes its ports while the instances before it listen on theirs, so a port
     * handed out as free cannot be one an earlier instance has not bound yet. */
    assert_int_equal(fixture_start(&fx[0]), 0);
    for (int i = 1; i < INSTANCES; i++) {
        assert_int_equal(fixture_clone(&fx[0], &fx[i]), 0);
        assert_int_equal(fixture_start(&fx[i]), 0);
    }
    for (int s = 0; s < SUBSCRIBERS; s++) {
        char json[320], k[33], opc[33];
        for (int b = 0; b < 16; b++) {
            ledger[s].k[b] = (uint8_t)rand();
            ledger[s].opc[b] = (uint8_t)rand();
        }
        hex_encode(ledger[s].k, 16, k);
        hex_encode(ledger[s].opc, 16, opc);
        snprintf(
            json, sizeof(json),
            "{\"supi\":\"imsi-00101000000020%d\",\"k\":\"%s\",\"opc\":\"%s\",\"amf\":\"8000\"}", s,
            k, opc);
        assert_int_equal(fixture_add_subscriber(&fx[s % INSTANCES], json), 0);
        sqn_ledger_init(&ledger[s]);
    }
    size_t total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int victim = rand() % INSTANCES;
        size_t got = burst(150 + rand() % 300, KILL, victim);
        assert_int_equal(fixture_start(&fx[victim]), 0); /* takes its own slot back */
        total += got;
        printf("round %2d: %zu vectors, then instance %d killed and restarted\n", round, got,
               victim);
    }
    /* The database itself restarts mid-burst: clean 503s while it is away, then recovery. */
    size_t got = burst(300, PG_RESTART, -1);
    total += got;
    sleep(1);
    size_t after = burst(1500, KILL, 0); /* every instance serves again */
    assert_true(after > 0);
    assert_int_equal(fixture_start(&fx[0]), 0);
    total += after;
    printf("%zu vectors in all, none repeated; %zu answered 503 while the database was away\n",
           total, answered_503);
    assert_true(total > ROUNDS * 20);

    next_authentications_succeed();
    assert_int_equal(fixture_db_integrity(&fx[0]), IOTSEC_OK);
    assert_int_equal(fixture_db_int(&fx[0], "SELECT count(*) FROM subscriptions", NULL),
                     SUBSCRIBERS);
    /* Three live instances hold three distinct slots. */
    assert_int_equal(
        fixture_db_int(&fx[0], "SELECT count(DISTINCT holder) FROM sqn_slots WHERE holder <> ''",
                       NULL),
        INSTANCES);
    for (int i = INSTANCES - 1; i >= 0; i--) {
        fixture_stop(&fx[i], SIGTERM);
        if (i > 0) { /* the database is instance 0's: only its cleanup drops it */
            char cmd[128];
            snprintf(cmd, sizeof(cmd), "rm -rf %s", fx[i].dir);
            assert_int_equal(system(cmd), 0);
        }
    }
    fixture_cleanup(&fx[0]);
    for (int s = 0; s < SUBSCRIBERS; s++)
        sqn_ledger_free(&ledger[s]);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_instances_kills_and_a_database_restart)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
