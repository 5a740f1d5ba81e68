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

#include "base/err.h"
#include "base/hex.h"
#include "fixture.h"
#include "sqn_ledger.h"

#define SUBSCRIBERS 4
#define ROUNDS      20
#define IN_FLIGHT   16

static struct daemon_fixture fx;
static struct sqn_ledger ledger[SUBSCRIBERS];

struct call {
    CURL *easy;
    int subscriber;
    struct fixture_buf answer;
};

static const char body[] = "{\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\","
                           "\"ausfInstanceId\":\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}";
static struct curl_slist *headers;
static char pki[3][128]; /* the AMF's view: CA, NF certificate and key */

static void launch(CURLM *multi, struct call *c)
{
    char url[160];
    c->subscriber = rand() % SUBSCRIBERS;
    snprintf(url, sizeof(url),
             "%s/nudm-ueau/v1/imsi-00101000000010%d/security-information/"
             "generate-auth-data",
             fx.sbi, c->subscriber);
    free(c->answer.data);
    c->answer = (struct fixture_buf){0};
    curl_easy_reset(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c->easy, CURLOPT_CAINFO, pki[0]);
    curl_easy_setopt(c->easy, CURLOPT_SSLCERT, pki[1]);
    curl_easy_setopt(c->easy, CURLOPT_SSLKEY, pki[2]);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->answer);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_multi_add_handle(multi, c->easy);
}

/* Records the SQN of one answered vector; fails the test on a repeat. */
static void record(struct call *c)
{
    char who[32];
    snprintf(who, sizeof(who), "subscriber %d", c->subscriber);
    sqn_ledger_record(&ledger[c->subscriber], c->answer.data, who);
}

/* Drives requests until deadline_ms, then kills the daemon; returns vectors received. */
static size_t burst_then_kill(long deadline_ms)
{
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    struct call calls[IN_FLIGHT] = {0};
    for (int i = 0; i < IN_FLIGHT; i++) {
        calls[i].easy = curl_easy_init();
        launch(multi, &calls[i]);
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t got = 0;
    bool killed = false;
    int running = 1;
    while (running || !killed) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 20, NULL);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            struct call *c;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            long status = 0;
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
            curl_multi_remove_handle(multi, c->easy);
            if (msg->data.result == CURLE_OK && status == 200) {
                record(c);
                got++;
            }
            if (!killed)
                launch(multi, c);
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (!killed && elapsed >= deadline_ms) {
            fixture_stop(&fx, SIGKILL);
            killed = true;
        }
    }
    for (int i = 0; i < IN_FLIGHT; i++) {
        curl_multi_remove_handle(multi, calls[i].easy);
        curl_easy_cleanup(calls[i].easy);
        free(calls[i].answer.data);
    }
    curl_multi_cleanup(multi);
    return got;
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
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(pki[0], sizeof(pki[0]), "%s/inst/pki/ca.crt", fx.dir);
    snprintf(pki[1], sizeof(pki[1]), "%s/inst/pki/nf.crt", fx.dir);
    snprintf(pki[2], sizeof(pki[2]), "%s/inst/pki/nf.key", fx.dir);
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
    curl_slist_free_all(headers);
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
