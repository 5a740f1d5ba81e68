/* Issue 16, "everything written can be read back", against the real iotsecd (HTTP/2 + TLS):
 * each kind of object the admin API creates is created, then read back through its list
 * (with a filter, and paged across two pages or more with a small limit) and its show; an
 * unknown query parameter and a bad filter value are 400s naming the parameter; overlapping
 * enrollment ranges are refused naming the enrollment; enrollments update and delete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "test_provision_util.h"

static struct daemon_fixture fx;

static json_t *call(const char *method, const char *path, const char *body, long want)
{
    long st;
    json_t *o = tadmin(&fx, method, path, body, &st);
    if (st != want)
        fprintf(stderr, "%s %s -> %ld (want %ld): %s\n", method, path, st, want,
                o ? json_dumps(o, JSON_COMPACT) : "(no json)");
    assert_int_equal(st, want);
    return o;
}

static json_t *get(const char *path, long want)
{
    return call("GET", path, NULL, want);
}

/* A 400 whose invalidParams names param. */
static void refused(const char *path, const char *param)
{
    json_t *p = get(path, 400);
    const char *named = json_string_value(
        json_object_get(json_array_get(json_object_get(p, "invalidParams"), 0), "param"));
    if (named == NULL || strcmp(named, param) != 0)
        fail_msg("%s: named %s, not %s", path, named ? named : "(nothing)", param);
    json_decref(p);
}

/* Reads a whole collection page by page with limit; returns every item (caller frees) and
 * the number of pages it took. key: the collection's array. */
static json_t *read_all(const char *path, const char *key, int limit, int *pages)
{
    json_t *all = json_array(), *next = NULL;
    *pages = 0;
    for (;;) {
        char url[512], cursor[160] = "";
        if (next) {
            char *esc =
                json_is_integer(next) ? NULL : curl_easy_escape(NULL, json_string_value(next), 0);
            if (esc)
                snprintf(cursor, sizeof(cursor), "&after=%s", esc);
            else
                snprintf(cursor, sizeof(cursor), "&after=%lld",
                         (long long)json_integer_value(next));
            curl_free(esc);
        }
        snprintf(url, sizeof(url), "%s%slimit=%d%s", path, strchr(path, '?') ? "&" : "?", limit,
                 cursor);
        json_t *o = get(url, 200);
        (*pages)++;
        /* every list answers under "items"; an older one also under its old name (key),
         * the same rows (deprecated, one release) */
        json_t *items = json_object_get(o, "items");
        assert_true(json_is_array(items));
        if (strcmp(key, "items") != 0)
            assert_true(json_equal(json_object_get(o, key), items));
        assert_true(json_array_size(items) <= (size_t)limit);
        json_array_extend(all, items);
        json_decref(next);
        next = json_incref(json_object_get(o, "next"));
        if (next == NULL)
            assert_true(json_array_size(items) < (size_t)limit || json_array_size(items) == 0);
        json_decref(o);
        if (next == NULL)
            break;
        assert_true(*pages < 50);
    }
    return all;
}

static bool has(json_t *items, const char *key, const char *value)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *v = json_string_value(json_object_get(it, key));
        if (v && strcmp(v, value) == 0)
            return true;
    }
    return false;
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return fixture_init(&fx, NULL) != 0 || fixture_start(&fx) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&fx, 15);
    int bad = fixture_sanitizer_report(&fx);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return bad;
}

static void test_manufacturers_and_gateways(void **state)
{
    (void)state;
    struct tcert ca[3], gw[2];
    char name[32], json[8192];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "mfr-%d", i);
        tcert_make(&ca[i], fx.dir, name, name, NULL);
        char *pem = tcert_pem(&ca[i]);
        json_t *b = json_pack("{s:s, s:s}", "name", name, "ca_pem", pem);
        char *s = json_dumps(b, JSON_COMPACT);
        json_decref(call("POST", "/admin/v1/manufacturers", s, 201));
        free(s);
        free(pem);
        json_decref(b);
    }
    int pages;
    json_t *all = read_all("/admin/v1/manufacturers", "manufacturers", 2, &pages);
    assert_int_equal(json_array_size(all), 3);
    assert_int_equal(pages, 2);
    assert_true(has(all, "name", "mfr-2"));
    assert_null(json_object_get(json_array_get(all, 0), "ca_pem")); /* fingerprints only */
    long id = (long)json_integer_value(json_object_get(json_array_get(all, 1), "id"));
    json_decref(all);
    json_t *one = get("/admin/v1/manufacturers?name=mfr-1", 200);
    assert_int_equal(json_array_size(json_object_get(one, "manufacturers")), 1);
    json_decref(one);
    snprintf(json, sizeof(json), "/admin/v1/manufacturers/%ld", id);
    one = get(json, 200);
    assert_string_equal(json_string_value(json_object_get(one, "name")), "mfr-1");
    json_decref(one);
    json_decref(get("/admin/v1/manufacturers/999999", 404));
    refused("/admin/v1/manufacturers?nmae=mfr-1", "nmae");

    /* gateways: one relays for an enrollment, one for none */
    json_t *e = call("POST", "/admin/v1/enrollments",
                     "{\"kind\":\"group\",\"attestation\":\"derived_key\",\"name\":\"gw-fleet\","
                     "\"supi_range\":{\"first\":\"imsi-001010007000000\","
                     "\"last\":\"imsi-001010007000099\"}}",
                     201);
    long enr = (long)json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "gw-%d", i);
        tcert_make(&gw[i], fx.dir, name, name, &ca[0]);
        char *pem = tcert_pem(&gw[i]);
        json_t *b = i ? json_pack("{s:s, s:s, s:[I]}", "name", name, "cert_pem", pem, "enrollments",
                                  (json_int_t)enr)
                      : json_pack("{s:s, s:s}", "name", name, "cert_pem", pem);
        char *s = json_dumps(b, JSON_COMPACT);
        json_decref(call("POST", "/admin/v1/gateways", s, 201));
        free(s);
        free(pem);
        json_decref(b);
    }
    all = read_all("/admin/v1/gateways", "items", 1, &pages);
    assert_int_equal(json_array_size(all), 2);
    assert_int_equal(pages, 3); /* two full pages of one, then an empty one */
    json_decref(all);
    snprintf(json, sizeof(json), "/admin/v1/gateways?enrollment=%ld", enr);
    json_t *l = get(json, 200);
    json_t *items = json_object_get(l, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                        "gw-1");
    snprintf(json, sizeof(json), "/admin/v1/gateways/%lld",
             (long long)json_integer_value(json_object_get(json_array_get(items, 0), "id")));
    json_decref(l);
    one = get(json, 200);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(one, "enrollments"), 0)),
                     enr);
    json_decref(one);
    json_decref(get("/admin/v1/gateways/0", 404));
    refused("/admin/v1/gateways?enrollment=first", "enrollment");
    for (int i = 0; i < 3; i++)
        tcert_free(&ca[i]);
    for (int i = 0; i < 2; i++)
        tcert_free(&gw[i]);
}

static void test_enrollments(void **state)
{
    (void)state;
    char json[512];
    for (int i = 0; i < 3; i++) {
        snprintf(json, sizeof(json),
                 "{\"kind\":\"group\",\"attestation\":\"derived_key\",\"name\":\"block-%d\","
                 "\"owner\":\"%s\",\"supi_range\":{\"first\":\"imsi-00101000710%d000\","
                 "\"last\":\"imsi-00101000710%d999\"}}",
                 i, i == 2 ? "tenant-b" : "tenant-a", i, i);
        json_t *o = call("POST", "/admin/v1/enrollments", json, 201);
        char want[16];
        snprintf(want, sizeof(want), "block-%d", i);
        assert_string_equal(json_string_value(json_object_get(o, "name")), want);
        json_decref(o);
    }
    /* an overlapping range is refused, naming the enrollment it overlaps */
    json_t *p = call("POST", "/admin/v1/enrollments",
                     "{\"kind\":\"group\",\"attestation\":\"derived_key\",\"supi_range\":{"
                     "\"first\":\"imsi-001010007101500\",\"last\":\"imsi-001010007102500\"}}",
                     409);
    assert_string_equal(json_string_value(json_object_get(p, "cause")), "SUPI_RANGE_OVERLAP");
    assert_non_null(strstr(json_string_value(json_object_get(p, "detail")), "block-1"));
    json_decref(p);
    /* a taken name is refused too */
    json_decref(call("POST", "/admin/v1/enrollments",
                     "{\"kind\":\"group\",\"attestation\":\"derived_key\",\"name\":\"block-0\","
                     "\"supi_range\":{\"first\":\"imsi-001010007200000\","
                     "\"last\":\"imsi-001010007200009\"}}",
                     409));
    int pages;
    json_t *all = read_all("/admin/v1/enrollments?owner=tenant-a", "enrollments", 1, &pages);
    assert_int_equal(json_array_size(all), 2);
    assert_true(has(all, "name", "block-0") && has(all, "name", "block-1"));
    assert_false(has(all, "name", "block-2"));
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it) assert_null(json_object_get(it, "group_key"));
    json_decref(all);
    /* show by name; update; delete */
    json_t *o = get("/admin/v1/enrollments/block-2", 200);
    long id = (long)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    o = call("PATCH", "/admin/v1/enrollments/block-2",
             "{\"name\":\"block-2b\",\"enabled\":false,\"quota\":50}", 200);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "block-2b");
    assert_false(json_is_true(json_object_get(o, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(o, "quota")), 50);
    json_decref(o);
    o = get("/admin/v1/enrollments?enabled=false&name=block-2b", 200);
    assert_int_equal(json_array_size(json_object_get(o, "enrollments")), 1);
    json_decref(o);
    p = call("PATCH", "/admin/v1/enrollments/block-2b", "{\"supi_range\":{}}", 400);
    json_decref(p);
    json_decref(call("PATCH", "/admin/v1/enrollments/block-2b", "{\"name\":\"block-0\"}", 409));
    snprintf(json, sizeof(json), "/admin/v1/enrollments/%ld", id);
    json_decref(call("DELETE", json, NULL, 204));
    json_decref(get(json, 404));
    json_decref(get("/admin/v1/enrollments/block-2b", 404));
    refused("/admin/v1/enrollments?enabled=maybe", "enabled");
    refused("/admin/v1/enrollments?kind=batch", "kind");
    refused("/admin/v1/enrollments?limit=1001", "limit");
}

static void test_owners_and_activations(void **state)
{
    (void)state;
    char json[512], b64[64];
    uint8_t pub[32];
    for (int i = 0; i < 3; i++) {
        memset(pub, 0x30 + i, sizeof(pub));
        tb64(pub, sizeof(pub), b64);
        snprintf(json, sizeof(json), "{\"name\":\"owner-%d\",\"public_key\":\"%s\"}", i, b64);
        json_decref(call("POST", "/admin/v1/owners", json, 201));
    }
    int pages;
    json_t *all = read_all("/admin/v1/owners", "items", 2, &pages);
    assert_int_equal(json_array_size(all), 3);
    assert_int_equal(pages, 2);
    json_decref(all);
    json_t *o = get("/admin/v1/owners/owner-1", 200);
    memset(pub, 0x31, sizeof(pub));
    tb64(pub, sizeof(pub), b64);
    assert_string_equal(json_string_value(json_object_get(o, "public_key")), b64);
    json_decref(o);
    json_decref(get("/admin/v1/owners/nobody", 404));

    json_decref(call("POST", "/admin/v1/activations",
                     "{\"items\":[{\"registration_id\":\"lobby-1\",\"account\":\"flat-1\"},"
                     "{\"registration_id\":\"lobby-2\",\"account\":\"flat-2\"},"
                     "{\"serial\":\"00c0ffee\",\"account\":\"flat-2\","
                     "\"service\":{\"tariff\":\"day\"}}]}",
                     200));
    all = read_all("/admin/v1/activations?state=pending", "items", 2, &pages);
    assert_int_equal(json_array_size(all), 3);
    assert_int_equal(pages, 2);
    json_decref(all);
    o = get("/admin/v1/activations?account=flat-2", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 2);
    json_decref(o);
    o = get("/admin/v1/activations?state=applied", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    o = get("/admin/v1/activations/serial:00c0ffee", 200);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "service"), "tariff")),
                        "day");
    json_decref(o);
    json_decref(get("/admin/v1/activations/reg:nobody", 404));
    refused("/admin/v1/activations?state=done", "state");
}

static void test_devices_refuse_what_they_ignored(void **state)
{
    (void)state;
    /* the example: "state=pending" was ignored and every device came back */
    refused("/admin/v1/devices?enrollment=4&state=pending", "state");
    refused("/admin/v1/devices?enrolment=4", "enrolment");
    refused("/admin/v1/devices?enrollment=-4", "enrollment");
    refused("/admin/v1/devices?limit=1&limit=2", "limit");
    json_t *o = get("/admin/v1/devices?enrollment=4&state=onboarded&confirmed=true", 200);
    assert_int_equal(json_array_size(json_object_get(o, "devices")), 0);
    json_decref(o);
    /* the console's server-side order and search */
    refused("/admin/v1/devices?sort=state", "sort");
    refused("/admin/v1/devices?after=abc", "after"); /* the default order's cursor is an id */
    refused("/admin/v1/devices?sort=-created&after=x1", "after");
    o = get("/admin/v1/devices?sort=-registration&after=zzz&state=onboarded", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    o = get("/admin/v1/devices?search=imsi-001019999999999", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
    assert_null(json_object_get(o, "next"));
    json_decref(o);
    refused("/admin/v1/subscribers?state=asleep", "state");
    refused("/admin/v1/subscribers?after=x", "after");
    refused("/admin/v1/subscribers?sort=state", "sort"); /* not one of the orders */
    refused("/admin/v1/subscribers?sort=-created&after=imsi-001010000000001", "after");
    json_decref(get("/admin/v1/subscribers?sort=-supi&after=imsi-001010000000001", 200));
    refused("/admin/v1/subscribers/imsi-001010000000001?verbose=1", "verbose"); /* shows too */
    refused("/admin/v1/devices/m-1?history=no", "history");
    refused("/admin/v1/audit?limit=0", "limit");
    refused("/admin/v1/analytics/findings?exception=NOPE", "exception");
    refused("/admin/v1/policy/actions?supi=bob", "supi");
    refused("/admin/v1/policy/actions?limit=0", "limit");
    refused("/admin/v1/message-groups?owner=x", "owner");
}

static void test_consents_and_external_ids(void **state)
{
    (void)state;
    char json[512], supi[3][32], af[64], consent[3][64];
    for (int i = 0; i < 3; i++) {
        snprintf(supi[i], sizeof(supi[i]), "imsi-00101000730000%d", i);
        snprintf(json, sizeof(json),
                 "{\"supi\":\"%s\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\","
                 "\"owner\":\"%s\"}",
                 supi[i], i == 2 ? "bob" : "alice");
        assert_int_equal(fixture_add_subscriber(&fx, json), 0);
    }
    struct tcert cert;
    tcert_make(&cert, fx.dir, "af-lists", "af-lists", NULL);
    char *pem = tcert_pem(&cert);
    json_t *b = json_pack("{s:s, s:s, s:[s]}", "name", "AF lists", "cert_pem", pem, "services",
                          "monitoring-event");
    char *s = json_dumps(b, JSON_COMPACT);
    json_t *o = call("POST", "/admin/v1/afs", s, 201);
    snprintf(af, sizeof(af), "%s", json_string_value(json_object_get(o, "af_id")));
    json_decref(o);
    free(s);
    free(pem);
    json_decref(b);
    tcert_free(&cert);
    snprintf(json, sizeof(json), "/admin/v1/afs/%s", af);
    o = get(json, 200);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "AF lists");
    json_decref(o);
    json_decref(get("/admin/v1/afs/af-nobody", 404));
    o = get("/admin/v1/afs?state=active&service=monitoring-event", 200);
    assert_true(has(json_object_get(o, "afs"), "af_id", af));
    json_decref(o);
    refused("/admin/v1/afs?state=on", "state");

    json_t *given = json_object(); /* SUPI -> the external ID the grant printed once */
    for (int i = 0; i < 3; i++) {
        snprintf(json, sizeof(json),
                 "{\"af_id\":\"%s\",\"scope\":\"monitoring-event\",\"supi\":\"%s\","
                 "\"purpose\":\"metering\"}",
                 af, supi[i]);
        o = call("POST", "/admin/v1/consents", json, 201);
        snprintf(consent[i], sizeof(consent[i]), "%s",
                 json_string_value(json_object_get(o, "consent_id")));
        json_object_update(given, json_object_get(o, "external_ids"));
        json_decref(o);
    }
    /* a group consent: the members' external IDs come back through the show too */
    snprintf(json, sizeof(json), "{\"supis\":[\"%s\",\"%s\"]}", supi[0], supi[1]);
    json_decref(call("POST", "/admin/v1/groups/lists-grp/members", json, 200));
    snprintf(json, sizeof(json),
             "{\"af_id\":\"%s\",\"scope\":\"monitoring-event\",\"group\":\"lists-grp\"}", af);
    o = call("POST", "/admin/v1/consents", json, 201);
    char group_consent[64];
    snprintf(group_consent, sizeof(group_consent), "%s",
             json_string_value(json_object_get(o, "consent_id")));
    json_decref(o);

    char path[256];
    snprintf(path, sizeof(path), "/admin/v1/consents?af=%s", af);
    int pages;
    json_t *all = read_all(path, "items", 2, &pages);
    assert_int_equal(json_array_size(all), 4);
    assert_int_equal(pages, 3); /* 2 + 2, then an empty page */
    assert_true(has(all, "consent_id", consent[1]) && has(all, "group", "lists-grp"));
    json_decref(all);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/admin/v1/consents/%s", consent[i]);
        o = get(path, 200);
        assert_string_equal(json_string_value(json_object_get(o, "supi")), supi[i]);
        assert_string_equal(json_string_value(json_object_get(o, "purpose")), "metering");
        const char *ext =
            json_string_value(json_object_get(json_object_get(o, "external_ids"), supi[i]));
        assert_non_null(ext);
        assert_string_equal(ext, json_string_value(json_object_get(given, supi[i])));
        json_decref(o);
    }
    snprintf(path, sizeof(path), "/admin/v1/consents/%s", group_consent);
    o = get(path, 200);
    json_t *ids = json_object_get(o, "external_ids");
    assert_int_equal(json_object_size(ids), 2);
    assert_string_equal(json_string_value(json_object_get(ids, supi[1])),
                        json_string_value(json_object_get(given, supi[1])));
    json_decref(o);
    json_decref(given);
    /* filters: by owner, by device, by state after a revocation */
    o = get("/admin/v1/consents?owner=bob", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    snprintf(path, sizeof(path), "/admin/v1/consents?supi=%s", supi[0]);
    o = get(path, 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    snprintf(path, sizeof(path), "/admin/v1/consents/%s/revoke", consent[0]);
    json_decref(call("POST", path, NULL, 200));
    o = get("/admin/v1/consents?state=revoked", 200);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "items"), 0), "consent_id")),
                        consent[0]);
    json_decref(o);
    json_decref(get("/admin/v1/consents/consent-0000000000000000", 404));
    refused("/admin/v1/consents?supi=alice", "supi");
    refused("/admin/v1/consents?state=live", "state");
    refused("/admin/v1/consents?af_id=x", "af_id");
    /* the consent groups */
    o = get("/admin/v1/groups", 200);
    assert_true(has(json_object_get(o, "items"), "group_id", "lists-grp"));
    json_decref(o);
    all = read_all("/admin/v1/groups/lists-grp", "items", 1, &pages);
    assert_int_equal(json_array_size(all), 2);
    assert_int_equal(pages, 3);
    json_decref(all);
    json_decref(get("/admin/v1/groups/no-such-group", 404));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manufacturers_and_gateways),
        cmocka_unit_test(test_enrollments),
        cmocka_unit_test(test_owners_and_activations),
        cmocka_unit_test(test_devices_refuse_what_they_ignored),
        cmocka_unit_test(test_consents_and_external_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
