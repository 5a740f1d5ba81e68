/* T8 monitoring subscriptions shared by two instances on one PostgreSQL (issue 10 part 4):
 * a subscription created on one instance is served (GET) and acted on (its device's events
 * produce notifications) by the other within the topic poll; maximumNumberOfReports counts the
 * reports of both instances together; a PUT on one changes the destination on the other; a
 * DELETE on one stops the other's notifications; the decisions of both land in one audit
 * chain that verifies. PostgreSQL only. */
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
#include <jansson.h>

#include "fixture.h"
#include "northbound_client.h"
#include "test_t8_sink.h"

#define PLMN    "{\"mcc\":\"001\",\"mnc\":\"01\"}"
#define API     "/3gpp-monitoring-event/v1"
#define SUPI    "imsi-001010000000077"
#define SYNC_MS 5000 /* the stated bound is about a second (one tick); generous under load */

static struct daemon_fixture fx[2];
static struct nb_identity af;
static char cert[128], key[128], af_id[80], ext[300];
static char *token;
static struct sink sink1, sink2;
static int64_t clock_ms;

/* A T8 request to instance i; returns the status. */
static long t8(int i, const char *method, const char *path, const char *body, char *location)
{
    char url[700];
    snprintf(url, sizeof(url), "%s" API "/%s/subscriptions%s", fx[i].north, af_id, path);
    struct nb_response r;
    nb_call(&fx[i], &af, method, url, token, body ? "application/json" : NULL, body, 1, &r);
    if (location)
        nb_header(&r, "location", location, 300);
    long st = r.status;
    nb_response_free(&r);
    return st;
}

/* Polls GET of subscription id on instance i until it answers want (SYNC_MS at most). */
static void await_status(int i, const char *id, long want)
{
    char path[128];
    snprintf(path, sizeof(path), "/%s", id);
    long st = -1;
    for (int waited = 0; waited <= SYNC_MS; waited += 100) {
        if ((st = t8(i, "GET", path, NULL, NULL)) == want)
            return;
        usleep(100000);
    }
    fail_msg("instance %d: GET %s answered %ld, not %ld within %d ms", i, id, st, want, SYNC_MS);
}

/* The network reports the device's location to instance i. */
static void located(int i, unsigned cell)
{
    char body[1024], ts[40];
    clock_ms += 1000;
    time_t s = (time_t)(clock_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof(body),
             "{\"reportList\":[{\"type\":\"LOCATION_REPORT\",\"supi\":\"" SUPI "\","
             "\"timeStamp\":\"%s\",\"location\":{\"nrLocation\":{\"tai\":{\"plmnId\":" PLMN
             ",\"tac\":\"000001\"},\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"%09X\"}}}}]}",
             ts, cell);
    char url[160];
    snprintf(url, sizeof(url), "%s/namf-evts-notify/v1/ue-events", fx[i].sbi);
    assert_int_equal(
        fixture_request(&fx[i], AS_NF, "POST", url, "application/json", body, strlen(body), NULL),
        204);
}

static char *sub_body(const char *dest, int max_reports)
{
    char *b = malloc(1024);
    char more[64] = "";
    if (max_reports)
        snprintf(more, sizeof(more), ",\"maximumNumberOfReports\":%d", max_reports);
    snprintf(b, 1024,
             "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
             "\"notificationDestination\":\"%s\",\"locationType\":\"CURRENT_LOCATION\"%s}",
             ext, dest, more);
    return b;
}

/* Creates a subscription on instance i; its id in id. */
static void create(int i, const char *dest, int max_reports, char id[64])
{
    char *b = sub_body(dest, max_reports), loc[300] = "";
    assert_int_equal(t8(i, "POST", "", b, loc), 201);
    free(b);
    const char *slash = strrchr(loc, '/');
    assert_non_null(slash);
    snprintf(id, 64, "%s", slash + 1);
}

/* Waits until the sink holds n notifications (SYNC_MS at most). */
static void await_n(struct sink *s, int n)
{
    int have = sink_wait(s, n - 1, SYNC_MS);
    if (have < n)
        fail_msg("%d notifications, not %d, within %d ms", have, n, SYNC_MS);
}

/* ---- tests ---- */

static void one_subscription_two_instances(void **state)
{
    (void)state;
    char id[64];
    create(0, sink1.url, 3, id);
    await_status(1, id, 200); /* made on 0, known to 1 */
    /* events reach either instance; the three reports are counted together */
    located(1, 0x100);
    await_n(&sink1, 1);
    located(0, 0x101);
    await_n(&sink1, 2);
    located(1, 0x102);
    await_n(&sink1, 3);
    located(0, 0x103);
    located(1, 0x104);
    assert_int_equal(sink_wait(&sink1, 3, 1500), 3); /* no fourth, from either instance */
}

static void replaced_and_deleted_elsewhere(void **state)
{
    (void)state;
    char id[64], path[128];
    create(1, sink1.url, 100, id);
    await_status(0, id, 200);
    int before = sink1.n;
    located(0, 0x200);
    await_n(&sink1, before + 1);
    /* PUT on 0 moves the destination; 1 follows */
    char *b = sub_body(sink2.url, 100);
    snprintf(path, sizeof(path), "/%s", id);
    assert_int_equal(t8(0, "PUT", path, b, NULL), 200);
    free(b);
    int sent = 0;
    for (int waited = 0; waited <= SYNC_MS && sent == 0; waited += 250) {
        usleep(250000);
        located(1, 0x201 + (unsigned)waited);
        sent = sink_wait(&sink2, 0, 200) > 0;
    }
    assert_true(sent);
    /* DELETE on 1: 0 forgets it, and its events produce nothing more */
    assert_int_equal(t8(1, "DELETE", path, NULL, NULL), 204);
    await_status(0, id, 404);
    int n1 = sink1.n, n2 = sink2.n;
    located(0, 0x300);
    located(1, 0x301);
    assert_int_equal(sink_wait(&sink1, n1, 1500), n1);
    assert_int_equal(sink_wait(&sink2, n2, 10), n2);
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    if (getenv("IOTSEC_TEST_STORE_URL") == NULL) {
        printf("PostgreSQL only (IOTSEC_TEST_STORE_URL unset): skipped\n");
        return 0;
    }
    clock_ms = (int64_t)time(NULL) * 1000 - 600000;
    return fixture_init(&fx[0], "location:\n  notify_http_loopback: true\noauth2:\n  "
                                "northbound_issuer: https://nb.cluster.example\n") == 0
               ? 0
               : -1;
}

static void start_both(void)
{
    assert_int_equal(fixture_start(&fx[0]), 0);
    assert_int_equal(fixture_add_subscriber(&fx[0], "{\"supi\":\"" SUPI "\",\"k\":\"00010203040506"
                                                    "0708090a0b0c0d0e0f\",\"opc\":\"000102030405"
                                                    "060708090a0b0c0d0e0f\",\"amf\":\"8000\"}"),
                     0);
    assert_int_equal(fixture_clone(&fx[0], &fx[1]), 0);
    assert_int_equal(fixture_start(&fx[1]), 0);
    snprintf(cert, sizeof(cert), "%s/af.pem", fx[0].dir);
    snprintf(key, sizeof(key), "%s/af.key", fx[0].dir);
    af.cert = cert;
    af.key = key;
    assert_int_equal(nb_mint_client(fx[0].dir, "af"), 0);
    char *pem = nb_read_file(cert);
    json_t *o = nb_admin_json(&fx[0], "POST", "/admin/v1/afs",
                              json_pack("{s:s, s:s, s:[s]}", "name", "AF", "cert_pem", pem,
                                        "services", "monitoring-event"),
                              201);
    free(pem);
    snprintf(af_id, sizeof(af_id), "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
    o = nb_admin_json(
        &fx[0], "POST", "/admin/v1/consents",
        json_pack("{s:s, s:s, s:s}", "af_id", af_id, "scope", "monitoring-event", "supi", SUPI),
        201);
    snprintf(ext, sizeof(ext), "%s",
             json_string_value(json_object_get(json_object_get(o, "external_ids"), SUPI)));
    json_decref(o);
    char url[128];
    snprintf(url, sizeof(url), "%s/oauth2/token", fx[0].north);
    struct nb_response r;
    nb_call(&fx[0], &af, "POST", url, NULL, "application/x-www-form-urlencoded",
            "grant_type=client_credentials&scope=monitoring-event", 1, &r);
    assert_int_equal(r.status, 200);
    o = json_loads(r.body, 0, NULL);
    token = strdup(json_string_value(json_object_get(o, "access_token")));
    json_decref(o);
    nb_response_free(&r);
    assert_int_equal(sink_start(&sink1, false), 0);
    assert_int_equal(sink_start(&sink2, false), 0);
}

/* Both instances wrote decisions to one audit log: one chain, whole, with the records of both
 * (each instance chains after the tail as stored, under the log's lock). */
static void one_audit_chain(void)
{
    long records[2];
    for (int i = 0; i < 2; i++) {
        json_t *o = nb_admin_json(&fx[i], "GET", "/admin/v1/audit/verify", NULL, 200);
        assert_true(json_is_true(json_object_get(o, "ok")));
        records[i] = (long)json_integer_value(json_object_get(o, "records"));
        json_decref(o);
    }
    assert_true(records[0] >= 10); /* tokens, creations, reads, deletions on both */
    assert_int_equal(records[0], records[1]);
}

static void cluster(void **state)
{
    if (getenv("IOTSEC_TEST_STORE_URL") == NULL)
        skip();
    start_both();
    one_subscription_two_instances(state);
    replaced_and_deleted_elsewhere(state);
    one_audit_chain();
    for (int i = 1; i >= 0; i--) {
        int status = fixture_stop(&fx[i], 15);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    sink_stop(&sink1);
    sink_stop(&sink2);
    free(token);
    fixture_cleanup(&fx[1]);
    fixture_cleanup(&fx[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(cluster)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
