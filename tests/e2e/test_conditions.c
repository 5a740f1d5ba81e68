/* Fleet conditions against the real daemon (issue 17): a fleet of ten meters retrying its dead
 * cloud is ONE condition, listed on the admin face by the group's name with the share, the
 * device count and the endpoint, no meter quarantined and no finding; when the fleet reaches
 * its cloud again the condition closes. The list's filters and paging, the findings list's
 * group and enrollment filters, bad query values (400 ProblemDetails), and
 * `iotsecctl analytics conditions` (its flags and their misuse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "flow_text.h"

#define T0    1700000040 /* replayed record time: a window boundary */
#define FLEET 10
#define GROUP "meters-b7"
#define CLOUD "198.51.100.23"

static struct daemon_fixture fx;

static void supi_of(int i, char *out, size_t len)
{
    snprintf(out, len, "imsi-0010100000008%02d", i);
}

static json_t *admin(const char *path, long want)
{
    char url[512], *out = NULL;
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    long st = fixture_request(&fx, AS_ADMIN, "GET", url, NULL, NULL, 0, &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (st != want)
        fail_msg("GET %s: %ld, want %ld", path, st, want);
    return j;
}

static long req(const char *method, const char *base, const char *path, const char *ct,
                const char *body)
{
    char url[512], *out = NULL;
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st = fixture_request(&fx, base == fx.sbi ? AS_NF : AS_ADMIN, method, url, ct, body,
                              body ? strlen(body) : 0, &out);
    free(out);
    return st;
}

/* Windows w0..w1-1: every meter opens its cloud four times, failing or answered; one record
 * of window w1 closes the last. */
static void fleet(int w0, int w1, bool failing)
{
    struct text t = {0};
    for (int w = w0; w <= w1; w++)
        for (int m = 0; m < (w < w1 ? FLEET : 1); m++)
            for (int k = 0; k < (w < w1 ? 4 : 1); k++)
                add_line(&t,
                         "{\"ts\":%.2f,\"src\":\"10.80.0.%d\",\"sport\":%d,\"dst\":\"" CLOUD "\","
                         "\"dport\":443,\"proto\":\"tcp\",\"out_bytes\":%d,\"in_bytes\":%d,"
                         "\"out_pkts\":%d,\"in_pkts\":%d,\"outcome\":\"%s\"}",
                         T0 + 60.0 * w + m + k * 0.5, 10 + m, 40000 + k,
                         failing && w < w1 ? 60 : 900, failing && w < w1 ? 0 : 2400,
                         failing && w < w1 ? 1 : 8, failing && w < w1 ? 0 : 7,
                         failing && w < w1 ? "failed" : "established");
    assert_int_equal(
        req("POST", fx.sbi, "/nnwdaf-iotsec/v1/flow-records", "application/x-ndjson", t.data), 200);
    free(t.data);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0)
        return -1;
    struct text map = {0};
    for (int i = 0; i < FLEET; i++) {
        char supi[32], json[512];
        supi_of(i, supi, sizeof(supi));
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\","
                 "\"sqn\":\"000000000020\"}",
                 supi);
        if (fixture_add_subscriber(&fx, json) != 0)
            return -1;
        add_line(&map, "%s{\"supi\":\"%s\",\"ipv4\":\"10.80.0.%d\",\"group\":\"" GROUP "\"}",
                 i ? "," : "[", supi, 10 + i);
    }
    add_line(&map, "]");
    long st =
        req("PUT", fx.admin, "/admin/v1/analytics/ue-addresses", "application/json", map.data);
    free(map.data);
    return st == 200 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static size_t count(const char *path)
{
    json_t *j = admin(path, 200);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

static int ctl(const char *args, char *out, size_t cap)
{
    return fixture_tool(&fx, IOTSECCTL_PATH, NULL, args, out, cap);
}

static void test_outage_is_one_condition(void **state)
{
    (void)state;
    fleet(0, 3, true); /* three windows of a dead cloud */
    json_t *j = admin("/admin/v1/analytics/conditions?state=open", 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *c = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "ENDPOINT_UNREACHABLE");
    assert_string_equal(json_string_value(json_object_get(c, "group")), GROUP); /* its name */
    assert_int_equal(json_integer_value(json_object_get(c, "devices")), FLEET);
    assert_int_equal(json_integer_value(json_object_get(c, "share_pct")), 100);
    assert_int_equal(json_integer_value(json_object_get(c, "windows")), 3);
    assert_true(json_is_true(json_object_get(c, "open")));
    json_t *d = json_array_get(json_object_get(c, "destinations"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "endpoint")), CLOUD);
    assert_int_equal(json_integer_value(json_object_get(d, "port")), 443);
    char *text = json_dumps(j, 0); /* admin-only, and still no SUPI in it */
    assert_null(strstr(text, "imsi-"));
    free(text);
    json_decref(j);

    /* Nobody blamed: no finding for the fleet, no meter quarantined. */
    assert_int_equal(count("/admin/v1/analytics/findings?group=" GROUP), 0);
    for (int i = 0; i < FLEET; i++) {
        char supi[32], path[128];
        supi_of(i, supi, sizeof(supi));
        snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
        json_t *s = admin(path, 200);
        assert_string_not_equal(json_string_value(json_object_get(s, "state")), "quarantined");
        json_decref(s);
    }

    /* The CLI says the same, --enrollment naming the fleet's group. */
    char out[8192];
    assert_int_equal(ctl("analytics conditions --open --enrollment " GROUP, out, sizeof(out)), 0);
    if (strstr(out, "\"group\":\"" GROUP "\"") == NULL)
        fail_msg("iotsecctl analytics conditions: %s", out);
    assert_non_null(strstr(out, CLOUD));
    assert_int_equal(ctl("analytics conditions --closed", out, sizeof(out)), 0);
    assert_null(strstr(out, GROUP));
    assert_int_equal(ctl("analytics conditions --open --closed", out, sizeof(out)), 2);
    assert_int_equal(ctl("analytics conditions --bogus x", out, sizeof(out)), 2);
    assert_int_equal(ctl("analytics conditions --limit 0", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "limit"));

    /* The cloud answers again: the first healthy window closes the condition. */
    fleet(3, 5, false);
    assert_int_equal(count("/admin/v1/analytics/conditions?state=open"), 0);
    j = admin("/admin/v1/analytics/conditions?state=closed&group=" GROUP, 200);
    c = json_array_get(json_object_get(j, "items"), 0);
    assert_non_null(c);
    assert_true(json_is_false(json_object_get(c, "open")));
    assert_string_equal(json_string_value(json_object_get(c, "closed_at")),
                        "2023-11-14T22:17:00Z"); /* T0 + 3 windows */
    json_decref(j);
    assert_int_equal(count("/admin/v1/analytics/conditions?group=other"), 0);
    assert_int_equal(count("/admin/v1/analytics/conditions?since=2030-01-01T00:00:00Z"), 0);
    assert_int_equal(count("/admin/v1/analytics/conditions?limit=1&after=0"), 1);
    assert_int_equal(count("/admin/v1/analytics/findings?enrollment=nobody"), 0);
}

/* Bad query values: 400 with the parameter named, never a 5xx. */
static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *path, *param;
    } cases[] = {
        {"/admin/v1/analytics/conditions?state=maybe", "state"},
        {"/admin/v1/analytics/conditions?group=a%01b", "group"},
        {"/admin/v1/analytics/conditions?since=yesterday", "since"},
        {"/admin/v1/analytics/conditions?limit=0", "limit"},
        {"/admin/v1/analytics/conditions?after=-1", "after"},
        {"/admin/v1/analytics/conditions?supi=imsi-001010000000800", "supi"},
        {"/admin/v1/analytics/findings?group=a%0Ab", "group"},
        {"/admin/v1/analytics/findings?enrollment=", "enrollment"},
        {"/admin/v1/analytics/findings?building=b7", "building"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *p = admin(cases[i].path, 400);
        json_t *inv = json_array_get(json_object_get(p, "invalidParams"), 0);
        if (inv == NULL ||
            strcmp(json_string_value(json_object_get(inv, "param")), cases[i].param) != 0)
            fail_msg("%s: not a 400 naming %s", cases[i].path, cases[i].param);
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outage_is_one_condition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
