/* The location history through the real daemon: fixes reported on the SBI face and read on the
 * admin face (GET /admin/v1/devices/{supi}/locations): newest first, paged with a cursor, a
 * time range, the area check of each fix (outside-area fixes flagged with their cause), the
 * retention sweep (location.history_max_fixes / history_days, here 3 fixes and 1 day), and bad
 * input answered 400/404 with ProblemDetails. The fixes are written in the background, so the
 * test waits (bounded) for them to appear. */
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

#include "fixture.h"

static struct daemon_fixture fx;

#define PLMN  "{\"mcc\":\"001\",\"mnc\":\"01\"}"
#define SUPI1 "imsi-001010000000071" /* restricted to cell 000000010 */
#define SUPI2 "imsi-001010000000072" /* unrestricted: retention by count and age */
#define KEYS                                                                                       \
    "\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\",\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\","     \
    "\"amf\":\"8000\""

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, "location:\n  history_max_fixes: 3\n  history_days: 1\n") != 0 ||
        fixture_start(&fx) != 0)
        return -1;
    return fixture_add_subscriber(&fx, "{\"supi\":\"" SUPI1 "\"," KEYS "}") != 0 ||
                   fixture_add_subscriber(&fx, "{\"supi\":\"" SUPI2 "\"," KEYS "}") != 0
               ? -1
               : 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static long call(const char *method, const char *base, const char *path, const char *body,
                 json_t **out)
{
    char url[1024], *resp = NULL;
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st =
        fixture_request(&fx, body ? AS_NF : AS_ADMIN, method, url, body ? "application/json" : NULL,
                        body, body ? strlen(body) : 0, &resp);
    if (out)
        *out = resp && *resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return st;
}

/* now - ago_s as RFC 3339 with milliseconds (ms: distinct times in one second). */
static void stamp(char out[40], long ago_s, int ms)
{
    time_t t = time(NULL) - ago_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[24];
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%03dZ", s, ms);
}

/* One notification of n LOCATION_REPORTs of supi in cells[i], at ago_s ago + i ms. */
static void report(const char *supi, long ago_s, const char *const *cells, int n)
{
    char body[8192];
    int len = snprintf(body, sizeof(body), "{\"notifyCorrelationId\":\"amf-1\",\"reportList\":[");
    for (int i = 0; i < n; i++) {
        char ts[40];
        stamp(ts, ago_s, i);
        len +=
            snprintf(body + len, sizeof(body) - (size_t)len,
                     "%s{\"type\":\"LOCATION_REPORT\",\"supi\":\"%s\",\"timeStamp\":\"%s\","
                     "\"location\":{\"nrLocation\":{\"tai\":{\"plmnId\":" PLMN
                     ",\"tac\":\"000001\"},\"ncgi\":{\"plmnId\":" PLMN ",\"nrCellId\":\"%s\"}}}}",
                     i ? "," : "", supi, ts, cells[i]);
    }
    snprintf(body + len, sizeof(body) - (size_t)len, "]}");
    assert_int_equal(call("POST", fx.sbi, "/namf-evts-notify/v1/ue-events", body, NULL), 204);
}

static json_t *page(const char *supi, const char *query)
{
    char path[512];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/locations%s", supi, query);
    json_t *o = NULL;
    assert_int_equal(call("GET", fx.admin, path, NULL, &o), 200);
    assert_non_null(o);
    assert_true(json_is_array(json_object_get(o, "items")));
    return o;
}

static const char *cell_of(json_t *item);

/* Waits (at most 15 s) until supi has exactly n fixes, the newest in cell newest (NULL: any):
 * the writes and the sweep are in the background. */
static void wait_fixes_newest(const char *supi, size_t n, const char *newest)
{
    size_t got = 0;
    for (int i = 0; i < 150; i++) {
        json_t *o = page(supi, "?limit=1000");
        json_t *items = json_object_get(o, "items");
        got = json_array_size(items);
        bool ok = got == n && (newest == NULL ||
                               (got && strcmp(cell_of(json_array_get(items, 0)), newest) == 0));
        json_decref(o);
        if (ok)
            return;
        usleep(100000);
    }
    fail_msg("%s: %zu fixes, expected %zu", supi, got, n);
}

static void wait_fixes(const char *supi, size_t n)
{
    wait_fixes_newest(supi, n, NULL);
}

static const char *cell_of(json_t *item)
{
    return json_string_value(json_object_get(json_object_get(item, "ncgi"), "nrCellId"));
}

/* Inside, outside, inside again (one notification): newest first, the outside one flagged
 * with its cause; paging by 2 with the cursor; then the count limit keeps the newest 3. */
static void history_order_flag_paging(void **state)
{
    (void)state;
    const char *area = "{\"cells\":[{\"plmnId\":" PLMN ",\"nrCellId\":\"000000010\"}]}";
    char url[256], *resp = NULL;
    snprintf(url, sizeof(url), "%s/admin/v1/location/areas/" SUPI1, fx.admin);
    assert_int_equal(
        fixture_request(&fx, AS_ADMIN, "PUT", url, "application/json", area, strlen(area), &resp),
        200);
    free(resp);
    static const char *const cells[] = {"000000010", "000000099", "000000010"};
    report(SUPI1, 60, cells, 3);
    wait_fixes(SUPI1, 3);

    json_t *o = page(SUPI1, "?limit=2");
    json_t *items = json_object_get(o, "items");
    assert_int_equal(json_array_size(items), 2);
    json_t *a = json_array_get(items, 0), *b = json_array_get(items, 1);
    assert_string_equal(cell_of(a), "000000010"); /* the last reported */
    assert_string_equal(json_string_value(json_object_get(a, "areaCheck")), "inside");
    assert_true(json_is_false(json_object_get(a, "outsideAuthorisedArea")));
    assert_string_equal(cell_of(b), "000000099");
    assert_true(json_is_true(json_object_get(b, "outsideAuthorisedArea")));
    assert_string_equal(json_string_value(json_object_get(b, "areaCheck")), "outside");
    assert_string_equal(json_string_value(json_object_get(b, "cause")), "OUTSIDE_AUTHORISED_AREA");
    assert_true(strcmp(json_string_value(json_object_get(a, "time")),
                       json_string_value(json_object_get(b, "time"))) > 0);
    const char *next = json_string_value(json_object_get(o, "next"));
    assert_non_null(next);
    char q[128];
    snprintf(q, sizeof(q), "?limit=2&after=%s", next);
    json_t *o2 = page(SUPI1, q);
    json_t *rest = json_object_get(o2, "items");
    assert_int_equal(json_array_size(rest), 1); /* the first reported, and no "next" */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rest, 0), "areaCheck")),
                        "inside");
    assert_null(json_object_get(o2, "next"));
    json_decref(o2);
    json_decref(o);

    /* until before every fix: none; since after every fix: none. */
    char ts[40], qq[128];
    stamp(ts, 3600, 0);
    snprintf(qq, sizeof(qq), "?until=%s", ts);
    o = page(SUPI1, qq);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    stamp(ts, -3600, 0);
    snprintf(qq, sizeof(qq), "?since=%s", ts);
    o = page(SUPI1, qq);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);

    /* Two more: the sweep keeps the newest 3 (history_max_fixes). */
    static const char *const more[] = {"000000011", "000000012"};
    report(SUPI1, 30, more, 2);
    wait_fixes_newest(SUPI1, 3, "000000012"); /* written, then trimmed */
    o = page(SUPI1, "");
    items = json_object_get(o, "items");
    assert_string_equal(cell_of(json_array_get(items, 0)), "000000012");
    assert_string_equal(cell_of(json_array_get(items, 1)), "000000011");
    assert_string_equal(cell_of(json_array_get(items, 2)), "000000010");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "areaCheck")),
                        "outside");
    json_decref(o);
}

/* A fix two days old goes at the sweep (history_days 1); an unrestricted device's fixes say
 * so. */
static void retention_by_age(void **state)
{
    (void)state;
    static const char *const old[] = {"000000020"};
    static const char *const now[] = {"000000021"};
    report(SUPI2, 2 * 86400, old, 1);
    report(SUPI2, 0, now, 1);
    wait_fixes_newest(SUPI2, 1, "000000021");
    json_t *o = page(SUPI2, "");
    json_t *it = json_array_get(json_object_get(o, "items"), 0);
    assert_string_equal(cell_of(it), "000000021");
    assert_string_equal(json_string_value(json_object_get(it, "areaCheck")), "unrestricted");
    json_decref(o);
}

static void expect_problem(const char *path, long status, const char *param)
{
    char url[1024], *resp = NULL;
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    struct fixture_call c = {.who = AS_ADMIN, .method = "GET", .url = url};
    struct fixture_answer a = {0};
    long st = fixture_exchange(&fx, &c, &a);
    assert_int_equal(st, status);
    assert_non_null(strstr(a.content_type, "application/problem+json"));
    json_t *o = json_loads(a.body, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), status);
    if (param) {
        json_t *ip = json_array_get(json_object_get(o, "invalidParams"), 0);
        assert_string_equal(json_string_value(json_object_get(ip, "param")), param);
    }
    json_decref(o);
    free(a.body);
    free(resp);
}

static void bad_input(void **state)
{
    (void)state;
    expect_problem("/admin/v1/devices/not-a-supi/locations", 400, "supi");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?since=yesterday", 400, "since");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?until=2026-13-01T00:00:00Z", 400,
                   "until");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?after=12", 400, "after");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?after=1.0", 400, "after");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?limit=0", 400, "limit");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?limit=1001", 400, "limit");
    expect_problem("/admin/v1/devices/" SUPI1 "/locations?colour=red", 400, "colour");
    expect_problem("/admin/v1/devices/" SUPI1
                   "/locations?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                   400, "until");
    expect_problem("/admin/v1/devices/imsi-001019999999999/locations", 404, NULL);
    /* An NF's certificate is not the admin's. */
    char url[512];
    snprintf(url, sizeof(url), "%s/admin/v1/devices/" SUPI1 "/locations", fx.admin);
    long st = fixture_request(&fx, AS_NF, "GET", url, NULL, NULL, 0, NULL);
    assert_true(st == 403 || st == 401 || st == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(history_order_flag_paging),
        cmocka_unit_test(retention_by_age),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
