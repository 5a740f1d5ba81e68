/* Terminal security monitoring end to end (issue 6): a real iotsecd, a building of meters
 * mapped to their UE addresses, normal traffic then Mirai-like flood flows from three of them
 * posted to the SBI ingestion endpoint. The bots are flagged (SUSPICION_OF_DDOS_ATTACK with
 * the victim's address), quarantined once (however many findings), refused at their next 5G
 * authentication (403 on the SBI face), the rest untouched and still authenticating, the
 * webhook notified; an operator release restores one. Bad input: malformed batch (400 with
 * the line), oversized (413), too many records (413), wrong content type (415), unknown
 * format (400), mapping of an unknown SUPI (404) or a bad address (400): ProblemDetails each,
 * and nothing applied. Webhook destinations: credentials, plain http off loopback, link-local
 * and loopback addresses refused at PUT unless in iotsec.yaml's webhook_allow. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fixture.h"
#include "flow_text.h"

#define METERS 10
#define BOTS   3 /* meters 0..2 */
#define VICTIM "203.0.113.66"
#define T0     1700000040 /* replayed record time: a window boundary */

static struct daemon_fixture fx;

static void supi_of(int i, char *out, size_t len)
{
    snprintf(out, len, "imsi-0010100000001%02d", i);
}

/* ---- a webhook sink: counts POSTs whose body names a DDoS finding ---- */

static int sink_fd = -1;
static uint16_t sink_port;
static int sink_ddos;
static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t sink_thread;

static void *sink_run(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(sink_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[16384];
        size_t n = 0;
        ssize_t r;
        /* Read until the body (small) has arrived: headers, then Content-Length bytes. */
        while (n < sizeof(buf) - 1 && (r = read(c, buf + n, sizeof(buf) - 1 - n)) > 0) {
            n += (size_t)r;
            buf[n] = '\0';
            char *body = strstr(buf, "\r\n\r\n");
            char *cl = strcasestr(buf, "content-length:");
            if (body && cl && (size_t)(buf + n - (body + 4)) >= (size_t)atol(cl + 15))
                break;
        }
        buf[n] = '\0';
        if (strncmp(buf, "POST ", 5) == 0 && strstr(buf, "SUSPICION_OF_DDOS_ATTACK")) {
            pthread_mutex_lock(&sink_mu);
            sink_ddos++;
            pthread_mutex_unlock(&sink_mu);
        }
        static const char ok[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
        ssize_t w = write(c, ok, sizeof(ok) - 1);
        (void)w;
        close(c);
    }
}

static int sink_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    sink_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (sink_fd < 0 || bind(sink_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(sink_fd, 16) != 0 || getsockname(sink_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    sink_port = ntohs(a.sin_port);
    return pthread_create(&sink_thread, NULL, sink_run, NULL) == 0 ? 0 : -1;
}

static void sink_stop(void)
{
    shutdown(sink_fd, SHUT_RDWR);
    close(sink_fd);
    pthread_join(sink_thread, NULL);
}

/* ---- requests ---- */

static json_t *call(enum client_identity who, const char *method, const char *url,
                    const char *ct, const char *body, size_t len, long *status)
{
    char *out = NULL;
    *status = fixture_request(&fx, who, method, url, ct, body, len, &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static json_t *admin(const char *method, const char *path, const char *body, long *status)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    return call(AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                body ? strlen(body) : 0, status);
}

/* Posts a batch to the SBI ingestion endpoint. */
static json_t *ingest(const char *query, const char *ct, const char *body, size_t len,
                      long *status)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/nnwdaf-iotsec/v1/flow-records%s", fx.sbi, query);
    return call(AS_NF, "POST", url, ct, body, len, status);
}

/* A ProblemDetails with this status. */
static void assert_problem(json_t *p, long status, long want)
{
    assert_int_equal(status, want);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), want);
    assert_non_null(json_string_value(json_object_get(p, "title")));
}

static json_int_t stat_of(const char *name)
{
    long st;
    json_t *s = admin("GET", "/admin/v1/analytics/stats", NULL, &st);
    assert_int_equal(st, 200);
    json_int_t v = json_integer_value(json_object_get(s, name));
    json_decref(s);
    return v;
}

static const char *state_of(int i, char *buf, size_t len)
{
    char supi[32], path[96];
    long st;
    supi_of(i, supi, sizeof(supi));
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
    json_t *s = admin("GET", path, NULL, &st);
    assert_int_equal(st, 200);
    snprintf(buf, len, "%s", json_string_value(json_object_get(s, "state")));
    json_decref(s);
    return buf;
}

/* The SBI's answer to the start of a 5G authentication: 201 (a vector) or 403 (refused). */
static long authenticate(int i)
{
    char supi[32], url[160], body[256];
    supi_of(i, supi, sizeof(supi));
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    snprintf(body, sizeof(body), "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"%s\"}", supi,
             fx.snn);
    long st;
    json_t *j = call(AS_NF, "POST", url, "application/json", body, strlen(body), &st);
    json_decref(j);
    return st;
}

/* ---- traffic ---- */

/* A meter's reading upload: one HTTPS flow that the server answers. */
static void normal_flow(struct text *t, int meter, double ts)
{
    add_line(t,
             "{\"ts\":%.2f,\"src\":\"10.60.0.%d\",\"sport\":%d,\"dst\":\"198.51.100.10\","
             "\"dport\":443,\"proto\":\"tcp\",\"out_bytes\":900,\"in_bytes\":2400,"
             "\"out_pkts\":8,\"in_pkts\":7,\"outcome\":\"established\"}",
             ts, 10 + meter, 40000 + (int)(ts - T0) % 20000);
}

/* Mirai's UDP flood: a new flow every 0.2 s at the victim, nothing answers. */
static void flood_flow(struct text *t, int meter, double ts, int k)
{
    add_line(t,
             "{\"ts\":%.2f,\"src\":\"10.60.0.%d\",\"sport\":%d,\"dst\":\"" VICTIM "\","
             "\"dport\":80,\"proto\":\"udp\",\"out_bytes\":512,\"in_bytes\":0,"
             "\"out_pkts\":1,\"in_pkts\":0,\"outcome\":\"noreply\"}",
             ts, 10 + meter, 1024 + k);
}

/* Windows w0 .. w1-1 of traffic, in time order; bots flood in flood windows. */
static void traffic(struct text *t, int w0, int w1, bool flood)
{
    for (int w = w0; w < w1; w++) {
        for (int k = 0; k < 250; k++) {
            double ts = T0 + 60.0 * w + k * 0.2;
            for (int m = 0; m < METERS; m++) {
                if (flood && m < BOTS)
                    flood_flow(t, m, ts, k);
                else if (k % 80 == 0)
                    normal_flow(t, m, ts);
            }
        }
    }
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char yaml[160]; /* the lab switch for the http sink; one allow-listed https port */
    if (sink_start() != 0)
        return -1;
    snprintf(yaml, sizeof(yaml),
             "policy:\n  webhook_http_loopback: true\n  webhook_allow:\n    - \"127.0.0.1:%u\"\n",
             sink_port);
    if (fixture_init(&fx, yaml) != 0 || fixture_start(&fx) != 0)
        return -1;
    for (int i = 0; i < METERS; i++) {
        char supi[32], json[512];
        supi_of(i, supi, sizeof(supi));
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}",
                 supi);
        if (fixture_add_subscriber(&fx, json) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    sink_stop();
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_bad_input_applies_nothing(void **state)
{
    (void)state;
    long st;
    /* A mapping list with an unknown SUPI: 404, and its valid entry not applied either. */
    json_t *p = admin("PUT", "/admin/v1/analytics/ue-addresses",
                      "[{\"supi\":\"imsi-001010000000100\",\"ipv4\":\"10.60.0.10\"},"
                      "{\"supi\":\"imsi-001019999999999\",\"ipv4\":\"10.60.0.99\"}]",
                      &st);
    assert_problem(p, st, 404);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(p, "invalidParams"), 0), "param")),
                        "/1/supi");
    json_decref(p);
    assert_int_equal(stat_of("mappings"), 0);
    p = admin("PUT", "/admin/v1/analytics/ue-addresses",
              "[{\"supi\":\"imsi-001010000000100\",\"ipv4\":\"10.60.0.300\"}]", &st);
    assert_problem(p, st, 400);
    json_decref(p);
    p = admin("PUT", "/admin/v1/analytics/ue-addresses",
              "[{\"supi\":\"imsi-001010000000100\",\"ipv4\":\"fd00::1\"}]", &st);
    assert_problem(p, st, 400); /* an IPv6 address under ipv4 */
    json_decref(p);
    assert_int_equal(stat_of("mappings"), 0);

    /* A batch with a bad third line: 400 naming it, and its good lines not counted. */
    const char *bad = "{\"ts\":1700000000,\"src\":\"10.60.0.10\",\"dst\":\"198.51.100.10\"}\n"
                      "{\"ts\":1700000001,\"src\":\"10.60.0.10\",\"dst\":\"198.51.100.10\"}\n"
                      "{\"ts\":1700000002,\"src\":\"10.60.0.10\",\"dst\":\"198.51.100.\"}\n";
    p = ingest("", "application/x-ndjson", bad, strlen(bad), &st);
    assert_problem(p, st, 400);
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(p, "invalidParams"), 0), "param")),
                        "line 3");
    json_decref(p);
    assert_int_equal(stat_of("records") + stat_of("unmapped"), 0);
    assert_int_equal(stat_of("batches_rejected"), 1);

    /* Wrong content type, unknown format, a format the content type contradicts, none. */
    const char *one = "{\"ts\":1700000000,\"src\":\"10.60.0.10\",\"dst\":\"198.51.100.10\"}\n";
    p = ingest("", "application/xml", one, strlen(one), &st);
    assert_problem(p, st, 415);
    json_decref(p);
    p = ingest("?format=pcap", "text/plain", one, strlen(one), &st);
    assert_problem(p, st, 400);
    json_decref(p);
    p = ingest("?format=zeek", "text/csv", one, strlen(one), &st);
    assert_problem(p, st, 400);
    json_decref(p);
    p = ingest("", "text/plain", one, strlen(one), &st);
    assert_problem(p, st, 400);
    json_decref(p);

    /* Oversized: past the SBI's body limit (1 MiB), and past the records limit (10000). */
    struct text big = {0};
    for (int i = 0; i < 10001; i++)
        add_line(&big, "{\"ts\":%d,\"src\":\"10.60.0.10\",\"dst\":\"198.51.100.10\"}",
                 1700000000 + i % 50);
    p = ingest("", "application/x-ndjson", big.data, big.len + 700000, &st);
    assert_int_equal(st, 413);
    json_decref(p);
    char url[256];
    snprintf(url, sizeof(url), "%s/admin/v1/analytics/flow-records", fx.admin);
    p = call(AS_ADMIN, "POST", url, "application/x-ndjson", big.data, big.len, &st);
    assert_problem(p, st, 413);
    json_decref(p);
    free(big.data);
    /* Only the admin certificate may use the admin face's endpoint. */
    p = call(AS_NF, "POST", url, "application/x-ndjson", one, strlen(one), &st);
    assert_problem(p, st, 403);
    json_decref(p);
    assert_int_equal(stat_of("records") + stat_of("unmapped"), 0);
}

static int count_actions(const char *supi, const char *action)
{
    char path[160];
    long st;
    snprintf(path, sizeof(path), "/admin/v1/policy/actions?supi=%s", supi);
    json_t *a = admin("GET", path, NULL, &st);
    assert_int_equal(st, 200);
    size_t i;
    json_t *r;
    int n = 0;
    json_array_foreach(json_object_get(a, "actions"), i, r)
        n += strcmp(json_string_value(json_object_get(r, "action")), action) == 0;
    json_decref(a);
    return n;
}

static void wait_for_quarantine(void)
{
    char buf[32];
    for (int tries = 0; tries < 100; tries++) {
        int n = 0;
        for (int i = 0; i < BOTS; i++)
            n += strcmp(state_of(i, buf, sizeof(buf)), "quarantined") == 0;
        if (n == BOTS)
            return;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("the bots were not quarantined");
}

/* A policy whose webhook is url: answered want; a 400 names /webhooks/0 and says word. */
static void webhook_put(const char *url, long want, const char *word)
{
    char body[300];
    long st;
    snprintf(body, sizeof(body), "{\"default\":[\"notify\"],\"webhooks\":[\"%s\"]}", url);
    json_t *p = admin("PUT", "/admin/v1/policy", body, &st);
    if (st != want)
        fail_msg("%s: %ld", url, st);
    if (want == 400) {
        json_t *ip = json_array_get(json_object_get(p, "invalidParams"), 0);
        const char *param = json_string_value(json_object_get(ip, "param"));
        const char *reason = json_string_value(json_object_get(ip, "reason"));
        char said[400];
        snprintf(said, sizeof(said), "%s %s", param ? param : "", reason ? reason : "");
        if (strncmp(said, "/webhooks/0", 11) != 0 || strstr(said, word) == NULL)
            fail_msg("%s: %s", url, said);
    }
    json_decref(p);
}

static void test_webhook_destinations(void **state)
{
    (void)state;
    char url[128];
    webhook_put("https://user:pass@hooks.example/x", 400, "credentials");
    webhook_put("https://hooks.example@127.0.0.1/x", 400, "credentials");
    webhook_put("https://169.254.169.254/latest/meta-data", 400, "link-local");
    webhook_put("https://10.0.0.1/x", 400, "private");
    webhook_put("https://2130706433/x", 400, "loopback");
    webhook_put("http://10.0.0.1/x", 400, "http");
    webhook_put("http://127.attacker.example/x", 400, "resolve");
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", (unsigned)(sink_port ^ 1));
    webhook_put(url, 400, "loopback"); /* the allow-list names one port */
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", sink_port);
    webhook_put(url, 200, NULL);
    snprintf(url, sizeof(url), "http://localhost:%u/x", sink_port);
    webhook_put(url, 200, NULL); /* the lab switch: http to what resolves to loopback */
}

static void test_botnet_quarantined(void **state)
{
    (void)state;
    long st;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"rules\":[{\"exception\":\"SUSPICION_OF_DDOS_ATTACK\",\"min_level\":2,"
             "\"actions\":[\"quarantine\",\"notify\"]}],\"default\":[\"notify\"],"
             "\"webhooks\":[\"http://127.0.0.1:%u/findings\"]}",
             sink_port);
    json_decref(admin("PUT", "/admin/v1/policy", body, &st));
    assert_int_equal(st, 200);

    /* The building: ten meters, one group. */
    struct text map = {0};
    add_line(&map, "[");
    for (int i = 0; i < METERS; i++) {
        char supi[32];
        supi_of(i, supi, sizeof(supi));
        add_line(&map, "%s{\"supi\":\"%s\",\"ipv4\":\"10.60.0.%d\",\"group\":\"building-7\"}",
                 i ? "," : "", supi, 10 + i);
    }
    add_line(&map, "]");
    json_t *r = admin("PUT", "/admin/v1/analytics/ue-addresses", map.data, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(r, "mapped")), METERS);
    json_decref(r);
    free(map.data);

    /* Three quiet windows, then two of flood from three meters, then one record that closes
     * the last flood window (record time rules). Plus a flow from an unmapped address. */
    struct text t = {0};
    traffic(&t, 0, 3, false);
    traffic(&t, 3, 5, true);
    normal_flow(&t, 5, T0 + 60.0 * 5 + 1);
    add_line(&t, "{\"ts\":%d,\"src\":\"10.99.0.1\",\"dst\":\"198.51.100.10\"}", T0 + 301);
    r = ingest("", "application/x-ndjson", t.data, t.len, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(r, "unmapped")), 1);
    assert_true(json_integer_value(json_object_get(r, "findings")) >= 2 * BOTS);
    json_decref(r);
    free(t.data);

    /* Findings: each bot, SUSPICION_OF_DDOS_ATTACK naming the victim; no other meter. */
    json_t *f = admin("GET", "/admin/v1/analytics/findings", NULL, &st);
    size_t i;
    json_t *x;
    int ddos[METERS] = {0};
    json_array_foreach(json_object_get(f, "findings"), i, x) {
        json_t *ab = json_object_get(x, "abnormalBehaviour");
        const char *supi = json_string_value(json_object_get(x, "supi"));
        assert_non_null(supi);
        int m = atoi(supi + strlen(supi) - 2);
        assert_true(m < BOTS); /* the rest of the building is untouched */
        if (strcmp(json_string_value(json_object_get(json_object_get(ab, "excep"), "excepId")),
                   "SUSPICION_OF_DDOS_ATTACK") != 0)
            continue;
        json_t *v = json_object_get(json_object_get(json_object_get(ab, "addtMeasInfo"),
                                                    "ddosAttack"),
                                    "ipv4Addrs");
        assert_string_equal(json_string_value(json_array_get(v, 0)), VICTIM);
        ddos[m]++;
    }
    json_decref(f);
    for (int m = 0; m < BOTS; m++)
        assert_int_equal(ddos[m], 2); /* one per flood window */

    /* Quarantined, once each, whatever the number of findings; the rest untouched. */
    wait_for_quarantine();
    char buf[32], supi[32];
    for (int m = 0; m < METERS; m++) {
        supi_of(m, supi, sizeof(supi));
        assert_string_equal(state_of(m, buf, sizeof(buf)), m < BOTS ? "quarantined" : "active");
        assert_int_equal(count_actions(supi, "quarantine"), m < BOTS ? 1 : 0);
        assert_int_equal(authenticate(m), m < BOTS ? 403 : 201);
    }

    /* The same flood batch again (a retried POST): no second action. */
    struct text again = {0};
    traffic(&again, 6, 8, true);
    normal_flow(&again, 5, T0 + 60.0 * 8 + 1);
    json_decref(ingest("", "application/x-ndjson", again.data, again.len, &st));
    assert_int_equal(st, 200);
    free(again.data);
    for (int m = 0; m < BOTS; m++) {
        supi_of(m, supi, sizeof(supi));
        assert_int_equal(count_actions(supi, "quarantine"), 1);
        assert_int_equal(count_actions(supi, "notify") >= 1, 1);
    }

    /* The webhook heard of it. */
    int heard = 0;
    for (int tries = 0; tries < 100 && heard < BOTS; tries++) {
        pthread_mutex_lock(&sink_mu);
        heard = sink_ddos;
        pthread_mutex_unlock(&sink_mu);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(heard >= BOTS);

    /* The operator releases one bot: active, authenticating, the release audited. */
    supi_of(0, supi, sizeof(supi));
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/release", supi);
    json_decref(admin("POST", path, NULL, &st));
    assert_int_equal(st, 200);
    assert_string_equal(state_of(0, buf, sizeof(buf)), "active");
    assert_int_equal(authenticate(0), 201);
    assert_int_equal(count_actions(supi, "release"), 1);
    json_t *p = admin("POST", path, NULL, &st); /* not quarantined any more */
    assert_problem(p, st, 409);
    json_decref(p);
    p = admin("POST", "/admin/v1/devices/imsi-001019999999999/release", NULL, &st);
    assert_problem(p, st, 404);
    json_decref(p);
    assert_string_equal(state_of(1, buf, sizeof(buf)), "quarantined");
    assert_int_equal(authenticate(1), 403);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input_applies_nothing),
        cmocka_unit_test(test_webhook_destinations),
        cmocka_unit_test(test_botnet_quarantined),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
