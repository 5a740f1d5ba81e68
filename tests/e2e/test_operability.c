/* Operability (issue 16): each face describes itself (GET /openapi.json), /metrics covers every
 * face (requests and TLS handshake failures labelled by face), and SIGHUP reloads the faces'
 * certificates and the log level without dropping a connection, keeping everything as it was
 * when the new configuration does not load. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "capture.h"
#include "fixture.h"

static struct daemon_fixture fx;
static char console_url[64]; /* the console face (console.listen): a fifth TLS face */

static int setup(void **state)
{
    (void)state;
    char yaml[128];
    uint16_t port = fixture_free_port();
    snprintf(yaml, sizeof(yaml), "console:\n  listen: \"127.0.0.1:%u\"\n", port);
    snprintf(console_url, sizeof(console_url), "https://127.0.0.1:%u", port);
    if (fixture_init(&fx, yaml) != 0 || fixture_start(&fx) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_cleanup(&fx);
    return 0;
}

/* ---- GET /openapi.json ---- */

static void expect_document(const char *base, enum client_identity who, const char *title_word,
                            const char *a_path)
{
    char url[160], *body = NULL;
    snprintf(url, sizeof(url), "%s/openapi.json", base);
    struct fixture_call call = {who, "GET", url, NULL, NULL, 0, false, false};
    struct fixture_answer a;
    assert_int_equal(fixture_exchange(&fx, &call, &a), 200);
    body = a.body;
    assert_non_null(strstr(a.content_type, "application/json"));
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    assert_memory_equal(json_string_value(json_object_get(doc, "openapi")), "3.0", 3);
    const char *title = json_string_value(json_object_get(json_object_get(doc, "info"), "title"));
    assert_non_null(title);
    assert_non_null(strstr(title, title_word));
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(json_object_get(paths, "/openapi.json")); /* it describes itself */
    assert_non_null(json_object_get(paths, a_path));
    json_decref(doc);
    free(body);
}

static void test_each_face_serves_its_document(void **state)
{
    (void)state;
    expect_document(fx.admin, AS_ADMIN, "admin", "/admin/v1/subscribers");
    expect_document(fx.device, AS_NOBODY, "device", "/device/v1/onboard");
    expect_document(fx.north, AS_NF, "northbound", "/oauth2/token");
    expect_document(fx.sbi, AS_NF, "SBI", "/nnwdaf-iotsec/v1/flow-records");
}

/* ---- /metrics by face ---- */

/* Counts lines of the daemon's log that contain needle. */
static int log_count(const char *needle)
{
    char path[128], line[2048];
    snprintf(path, sizeof(path), "%s/daemon.log", fx.dir);
    FILE *fp = fopen(path, "r");
    int n = 0;
    while (fp && fgets(line, sizeof(line), fp))
        n += strstr(line, needle) != NULL;
    if (fp)
        fclose(fp);
    return n;
}

/* The value of the sample line that starts with prefix in text (-1: none). */
static long long sample(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            const char *sp = strchr(p, ' ');
            return sp ? atoll(sp + 1) : -1;
        }
    }
    return -1;
}

static void test_metrics_cover_every_face(void **state)
{
    (void)state;
    char url[160], *body = NULL;
    const struct {
        const char *base;
        enum client_identity who;
        const char *face;
    } faces[] = {{fx.device, AS_NOBODY, "device"},
                 {fx.north, AS_NF, "northbound"},
                 {fx.admin, AS_ADMIN, "admin"}};
    for (size_t i = 0; i < sizeof(faces) / sizeof(faces[0]); i++) {
        snprintf(url, sizeof(url), "%s/healthz", faces[i].base);
        assert_int_equal(fixture_request(&fx, faces[i].who, "GET", url, NULL, NULL, 0, NULL), 200);
    }
    /* The northbound face requires a client certificate: a handshake without one fails. */
    snprintf(url, sizeof(url), "%s/healthz", fx.north);
    assert_int_equal(fixture_request(&fx, AS_NOBODY, "GET", url, NULL, NULL, 0, NULL), -1);
    /* ... and the log names the face and the port (the worker logs it: wait for the line). */
    char line[160];
    snprintf(line, sizeof(line), "(northbound face): tls handshake with 127.0.0.1:");
    for (int i = 0; i < 500 && log_count(line) == 0; i++)
        usleep(10000);
    snprintf(line, sizeof(line), "on port %u failed", fx.north_port);
    assert_int_equal(log_count(line), 1);

    snprintf(url, sizeof(url), "%s/metrics", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &body), 200);
    for (size_t i = 0; i < sizeof(faces) / sizeof(faces[0]); i++) {
        char prefix[200];
        snprintf(prefix, sizeof(prefix),
                 "iotsec_http_requests_total{face=\"%s\",method=\"GET\",route=\"/healthz\","
                 "code=\"200\"}",
                 faces[i].face);
        assert_true(sample(body, prefix) >= 1);
        snprintf(prefix, sizeof(prefix),
                 "iotsec_http_request_duration_seconds_count{face=\"%s\",method=\"GET\","
                 "route=\"/healthz\"}",
                 faces[i].face);
        assert_true(sample(body, prefix) >= 1);
    }
    assert_true(sample(body, "iotsec_http_tls_handshake_failures_total{face=\"northbound\"}") >= 1);
    assert_int_equal(sample(body, "iotsec_http_tls_handshake_failures_total{face=\"admin\"}"), 0);
    assert_true(sample(body, "iotsec_http_connections_open{face=\"sbi\"}") >= 0);
    assert_true(sample(body, "iotsec_http_connections_open{face=\"console\"}") >= 0);
    /* The capabilities counted in the database (nothing made yet on this instance). */
    assert_non_null(strstr(body, "# TYPE iotsec_findings_stored gauge\n"));
    assert_non_null(strstr(body, "# TYPE iotsec_policy_actions_total counter\n"));
    assert_int_equal(sample(body, "iotsec_devices_quarantined "), 0);
    assert_int_equal(sample(body, "iotsec_message_groups "), 0);
    assert_int_equal(sample(body, "iotsec_pins "), 0);
    free(body);
}

/* ---- one log line per admin change ---- */

/* Waits (5 s at most) for a log line holding needle; returns how many there are. */
static int wait_log(const char *needle)
{
    for (int i = 0; i < 500 && log_count(needle) == 0; i++)
        usleep(10000);
    return log_count(needle);
}

static void test_admin_changes_logged_without_secrets(void **state)
{
    (void)state;
    static const char k[] = "465b5ce8b199b49faa5f0a2ee238a6bc",
                      opc[] = "cd63cb71954a9f4e48a5994e37a02baf";
    char json[256], url[160];
    snprintf(json, sizeof(json),
             "{\"supi\":\"imsi-001010000000077\",\"k\":\"%s\",\"opc\":\"%s\",\"amf\":\"8000\"}", k,
             opc);
    assert_int_equal(fixture_add_subscriber(&fx, json), 0);
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", fx.admin);
    assert_int_equal(
        fixture_request(&fx, AS_ADMIN, "POST", url, "application/json", json, strlen(json), NULL),
        409); /* a refused change is logged too, with its status */
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers/imsi-001010000000077", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, NULL), 200);
    assert_int_equal(wait_log("change: POST /admin/v1/subscribers by iotsec-admin (sha256 "), 2);
    assert_int_equal(log_count("change: GET"), 0); /* reads are not changes */
    assert_true(log_count("from 127.0.0.1:") >= 2);
    assert_int_equal(log_count(": 201\""), 1);
    assert_int_equal(log_count(": 409\""), 1);
    /* The body (K, OPc) never reaches the log. */
    assert_int_equal(log_count(k), 0);
    assert_int_equal(log_count(opc), 0);
}

/* ---- SIGHUP ---- */

static void inst_path(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/inst/%s", fx.dir, name);
}

/* A server certificate for 127.0.0.1 with subject CN cn, signed by the instance's CA, into
 * inst/pki/<name>.crt and .key. */
static void mint_server_cert(const char *name, const char *cn)
{
    char pki[128], cmd[2048];
    inst_path("pki", pki, sizeof(pki));
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -subj /O=iotsec/CN=%s -out %s.csr 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' "
             "> %s.ext && openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 30 -extfile %s.ext -out %s.crt 2>/dev/null",
             pki, name, cn, name, name, name, name, name);
    assert_int_equal(system(cmd), 0);
}

/* A request on handle c (reused across calls: libcurl keeps its connection) to the admin
 * face's /healthz; the server certificate's subject into subject. */
static long admin_get(CURL *c, char *subject, size_t cap, long *new_connections)
{
    char url[160], ca[128], crt[128], key[128];
    struct fixture_buf b = {0};
    snprintf(url, sizeof(url), "%s/healthz", fx.admin);
    inst_path("pki/ca.crt", ca, sizeof(ca));
    inst_path("pki/admin.crt", crt, sizeof(crt));
    inst_path("pki/admin.key", key, sizeof(key));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    capture_exchange(&fx, c, status, "GET", NULL, NULL, 0, b.data, b.len, NULL);
    free(b.data);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, new_connections);
    /* The certificate of the connection's handshake (none for a reused connection). */
    struct curl_certinfo *ci = NULL;
    subject[0] = '\0';
    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0)
        for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
            if (strncmp(s->data, "Subject:", 8) == 0)
                snprintf(subject, cap, "%s", s->data + 8);
    return status;
}

/* A fresh connection's view: status and the certificate's subject. */
static long fresh_get(char *subject, size_t cap)
{
    CURL *c = curl_easy_init();
    long connects = 0, st = admin_get(c, subject, cap, &connects);
    curl_easy_cleanup(c);
    assert_int_equal(connects, 1);
    return st;
}

/* SIGHUP, then waits (10 s at most) for the daemon to log one more line holding needle. */
static void sighup_and_wait(const char *needle)
{
    int before = log_count(needle);
    assert_int_equal(kill(fx.pid, SIGHUP), 0);
    for (int i = 0; i < 1000 && log_count(needle) == before; i++)
        usleep(10000);
    assert_int_equal(log_count(needle), before + 1);
}

/* The subject of the certificate a fresh connection to the console face gets. */
static void console_subject(char *subject, size_t cap)
{
    char ca[128], url[128];
    inst_path("pki/ca.crt", ca, sizeof(ca));
    snprintf(url, sizeof(url), "%s/", console_url);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    subject[0] = '\0';
    struct curl_certinfo *ci = NULL;
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0)
        for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
            if (strncmp(s->data, "Subject:", 8) == 0)
                snprintf(subject, cap, "%s", s->data + 8);
    curl_easy_cleanup(c);
}

static void test_sighup_reloads_certificates_and_log_level(void **state)
{
    (void)state;
    char subject[256];
    long connects = 0;
    CURL *kept = curl_easy_init(); /* a connection open across the reloads */
    assert_int_equal(admin_get(kept, subject, sizeof(subject), &connects), 200);
    assert_int_equal(connects, 1);
    assert_non_null(strstr(subject, "CN = localhost"));
    assert_int_equal(log_count("\"level\":\"debug\""), 0);

    /* A new certificate and the debug level: new connections see it; the open one goes on. */
    mint_server_cert("server2", "reloaded");
    assert_int_equal(fixture_config_replace(&fx, "cert: pki/server.crt", "cert: pki/server2.crt"),
                     0);
    assert_int_equal(fixture_config_replace(&fx, "key: pki/server.key", "key: pki/server2.key"), 0);
    assert_int_equal(fixture_config_replace(&fx, "log_level: info", "log_level: debug"), 0);
    sighup_and_wait("SIGHUP: reloaded");
    assert_int_equal(fresh_get(subject, sizeof(subject)), 200);
    assert_non_null(strstr(subject, "CN = reloaded"));
    console_subject(subject, sizeof(subject)); /* the console face too */
    assert_non_null(strstr(subject, "CN = reloaded"));
    assert_int_equal(admin_get(kept, subject, sizeof(subject), &connects), 200);
    assert_int_equal(connects, 0); /* the same connection (and handshake), undisturbed */
    assert_true(log_count("\"level\":\"debug\"") > 0); /* the new level applies */

    /* A certificate that does not load: refused, the log says why, nothing changes. */
    assert_int_equal(fixture_config_replace(&fx, "cert: pki/server2.crt", "cert: pki/gone.crt"), 0);
    sighup_and_wait("reload refused");
    assert_true(log_count("gone.crt") > 0);
    assert_int_equal(fresh_get(subject, sizeof(subject)), 200);
    assert_non_null(strstr(subject, "CN = reloaded"));

    /* A configuration that does not parse: refused too, the daemon serves on. */
    assert_int_equal(fixture_config_replace(&fx, "log_level: debug", "log_level: loud"), 0);
    sighup_and_wait("reload refused");
    assert_int_equal(fresh_get(subject, sizeof(subject)), 200);
    assert_non_null(strstr(subject, "CN = reloaded"));
    assert_int_equal(admin_get(kept, subject, sizeof(subject), &connects), 200);
    assert_int_equal(connects, 0);
    curl_easy_cleanup(kept);
    assert_int_equal(fixture_sanitizer_report(&fx), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_face_serves_its_document),
        cmocka_unit_test(test_metrics_cover_every_face),
        cmocka_unit_test(test_admin_changes_logged_without_secrets),
        cmocka_unit_test(test_sighup_reloads_certificates_and_log_level),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
