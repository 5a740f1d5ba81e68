/* Flows from IPFIX into the running daemon: with analytics.ipfix configured, a libfixbuf
 * exporter sends over TCP and UDP, the records reach the analytics engine (its stats count
 * them), /metrics shows the collector's counters, and SIGTERM stops it cleanly. A port in
 * use refuses the start. */
#include <setjmp.h>
#include <signal.h>
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
#include "ipfix_gen.h"

static long stat_of(const struct daemon_fixture *f, const char *key)
{
    char url[128], *out = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/analytics/stats", f->admin);
    assert_int_equal(fixture_request(f, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    json_t *o = json_loads(out, 0, NULL);
    free(out);
    long v = (long)json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

static char *metrics(const struct daemon_fixture *f)
{
    char url[128], *out = NULL;
    snprintf(url, sizeof(url), "%s/metrics", f->admin);
    assert_int_equal(fixture_request(f, AS_ADMIN, "GET", url, NULL, NULL, 0, &out), 200);
    return out;
}

static void configure(struct daemon_fixture *f, uint16_t port)
{
    char to[256];
    snprintf(to, sizeof(to),
             "  ipfix:\n    udp: \"127.0.0.1:%u\"\n    tcp: \"127.0.0.1:%u\"\n"
             "  findings_retention_days: 90",
             port, port);
    assert_int_equal(fixture_config_replace(f, "  findings_retention_days: 90", to), 0);
}

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void test_ipfix_into_the_engine(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, NULL), 0);
    uint16_t port = fixture_free_port();
    configure(&f, port);
    assert_int_equal(fixture_start(&f), 0);
    enum { N = 300 };
    struct ipfix_gen_flow g[N];
    ipfix_gen_random(g, N, 5, 0.2);
    char svc[8];
    snprintf(svc, sizeof(svc), "%u", port);
    assert_int_equal(ipfix_gen_send("127.0.0.1", svc, true, g, N, 1), 0);
    assert_int_equal(ipfix_gen_send("127.0.0.1", svc, false, g, N, 2), 0);
    /* No UE address is mapped: every flow is counted as unmapped by the engine. */
    long unmapped = 0;
    for (int i = 0; i < 1000 && (unmapped = stat_of(&f, "unmapped")) < 2 * N; i++)
        nap();
    assert_int_equal(unmapped, 2 * N);
    char *m = metrics(&f);
    assert_non_null(strstr(m, "iotsec_ipfix_records_total{outcome=\"flow\"} 600\n"));
    assert_non_null(strstr(m, "iotsec_ipfix_messages_total{outcome=\"malformed\"} 0\n"));
    assert_non_null(strstr(m, "iotsec_ipfix_connections_total{outcome=\"accepted\"} 1\n"));
    free(m);
    int status = fixture_stop(&f, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_sanitizer_report(&f), 0);
    fixture_cleanup(&f);
}

static void test_port_in_use_refuses_start(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, NULL), 0);
    configure(&f, f.admin_port); /* the admin face's TCP port: taken by the daemon itself */
    assert_int_not_equal(fixture_start(&f), 0);
    fixture_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipfix_into_the_engine),
        cmocka_unit_test(test_port_in_use_refuses_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
