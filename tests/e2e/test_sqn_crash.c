/* No SQN is ever issued twice, even when iotsecd is killed (SIGKILL) in the middle of a burst
 * of authentications, twenty times over: every AUTN handed out is recorded, its SQN
 * recovered (AUTN XOR AK), and checked against all the others of its subscriber. The
 * database passes PRAGMA integrity_check at the end. A small SQN block (7) makes the daemon
 * reserve often, so kills land between reservations and the SQNs served from them. */
#include <setjmp.h>
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

#define SUBSCRIBERS 4
#define ROUNDS      20
#define IN_FLIGHT   16

static struct daemon_fixture fx;
static struct sqn_ledger ledger[SUBSCRIBERS];

static void kill_daemon(void *ctx)
{
    (void)ctx;
    fixture_stop(&fx, SIGKILL);
}

/* Drives requests until deadline_ms, then kills the daemon; returns vectors received. */
static size_t burst_then_kill(long deadline_ms)
{
    struct av_burst b = {.fx = &fx,
                         .instances = 1,
                         .avoid = -1,
                         .supi_prefix = "imsi-00101000000010",
                         .ledger = ledger,
                         .subscribers = SUBSCRIBERS,
                         .in_flight = IN_FLIGHT,
                         .at_deadline = kill_daemon};
    return av_burst_run(&b, deadline_ms);
}

static void test_no_sqn_reuse_across_kills(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("seed %u\n", seed);
    assert_int_equal(fixture_init(&fx, NULL), 0);
    assert_int_equal(fixture_config_replace(&fx, "sqn_block: 1000", "sqn_block: 7"), 0);
    assert_int_equal(fixture_start(&fx), 0);
    for (int s = 0; s < SUBSCRIBERS; s++) {
        char json[320], k[33], opc[33];
        for (int i = 0; i < 16; i++) {
            ledger[s].k[i] = (uint8_t)(rand());
            ledger[s].opc[i] = (uint8_t)(rand());
        }
        hex_encode(ledger[s].k, 16, k);
        hex_encode(ledger[s].opc, 16, opc);
        snprintf(
            json, sizeof(json),
            "{\"supi\":\"imsi-00101000000010%d\",\"k\":\"%s\",\"opc\":\"%s\",\"amf\":\"8000\"}", s,
            k, opc);
        assert_int_equal(fixture_add_subscriber(&fx, json), 0);
        sqn_ledger_init(&ledger[s]);
    }
    size_t total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        if (round > 0)
            assert_int_equal(fixture_start(&fx), 0);
        size_t got = burst_then_kill(100 + rand() % 300);
        total += got;
        printf("round %2d: %zu vectors before SIGKILL\n", round, got);
    }
    printf("%zu vectors in all, none repeated\n", total);
    assert_true(total > ROUNDS * 20); /* the bursts really exercised the daemon */

    assert_int_equal(fixture_db_integrity(&fx), IOTSEC_OK);
    for (int s = 0; s < SUBSCRIBERS; s++)
        sqn_ledger_free(&ledger[s]);
    fixture_cleanup(&fx);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_sqn_reuse_across_kills)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
