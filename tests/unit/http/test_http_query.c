/* The query-string checker (http/query.h): what every admin list handler relies on to refuse
 * unknown parameters and bad values with the parameter named, instead of ignoring them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/query.h"

static const char *const states[] = {"pending", "active", NULL};

static bool no_space(const char *s)
{
    return strchr(s, ' ') == NULL;
}

static const struct http_qspec spec[] = {
    HTTP_QSPEC_AFTER_ID,
    HTTP_QSPEC_LIMIT,
    {.name = "state", .type = HTTP_Q_ENUM, .values = states, .reason = "pending or active"},
    {.name = "owner", .type = HTTP_Q_STR, .max = 8, .valid = no_space, .reason = "a name"},
    {.name = "enrollment", .type = HTTP_Q_INT, .min = 1, .max = 99, .reason = "an id"},
    {.name = "revoked", .type = HTTP_Q_BOOL, .reason = "true or false"},
};
#define N (sizeof(spec) / sizeof(spec[0]))

/* Decodes q; returns the rc and sets *bad (NULL when good). */
static int run(const char *q, struct http_qval *out, const char **bad)
{
    static char buf[512];
    const char *reason;
    int rc = http_query_decode(q, spec, N, out, buf, sizeof(buf), bad, &reason);
    if (rc == IOTSEC_OK)
        assert_null(*bad);
    else
        assert_non_null(reason);
    return rc;
}

static void test_good(void **state)
{
    (void)state;
    struct http_qval v[N];
    const char *bad;
    assert_int_equal(run("", v, &bad), IOTSEC_OK);
    for (size_t i = 0; i < N; i++)
        assert_false(v[i].set);
    assert_int_equal(http_query_limit(&v[1]), HTTP_QUERY_LIMIT_DEFAULT);
    assert_int_equal(
        run("after=42&limit=1000&state=active&owner=a%2Db&enrollment=4&revoked=true", v, &bad),
        IOTSEC_OK);
    assert_true(v[0].set && v[0].i == 42);
    assert_int_equal(http_query_limit(&v[1]), 1000);
    assert_true(v[2].set && v[2].i == 1 && strcmp(v[2].s, "active") == 0);
    assert_string_equal(v[3].s, "a-b");
    assert_int_equal(v[4].i, 4);
    assert_int_equal(v[5].i, 1);
    assert_int_equal(run("revoked=false&&", v, &bad), IOTSEC_OK);
    assert_true(v[5].set && v[5].i == 0);
}

static void test_refused_named(void **state)
{
    (void)state;
    static const struct {
        const char *query, *bad;
    } cases[] = {
        {"enrollment=4&stat=pending", "stat"}, /* the typo: ignored before */
        {"limit=10&x%41=1", "xA"},             /* named decoded */
        {"state=Pending", "state"},
        {"state=", "state"},
        {"limit=0", "limit"},
        {"limit=1001", "limit"},
        {"limit=ten", "limit"},
        {"limit=5x", "limit"},
        {"after=-1", "after"},
        {"after=99999999999999999999", "after"},
        {"enrollment=100", "enrollment"},
        {"owner=abcdefghi", "owner"}, /* too long */
        {"owner=a+b", "owner"},       /* valid() refuses the decoded space */
        {"owner=a%zz", "owner"},      /* bad escape */
        {"owner=a%00", "owner"},      /* encoded NUL */
        {"revoked=yes", "revoked"},
        {"limit=1&limit=2", "limit"}, /* repeated */
        /* found by fuzz_query: a name the answer's JSON could not carry (empty, not UTF-8)
         * was echoed as such, and the client got invalidParams without a param */
        {"=3", "query"},
        {"=liM=ti1", "query"},
        {"limit=1&%FF=1", "query"},
        {"caf%C3%A9=1", "caf\xc3\xa9"}, /* UTF-8 is echoed */
        {"x=%zz", "x"},                  /* an unknown name is the first thing wrong */
    };
    struct http_qval v[N];
    const char *bad;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (run(cases[i].query, v, &bad) != IOTSEC_ERR_INVALID)
            fail_msg("accepted: %s", cases[i].query);
        if (strcmp(bad, cases[i].bad) != 0)
            fail_msg("%s: named %s, not %s", cases[i].query, bad, cases[i].bad);
    }
}

static void test_small_buffer(void **state)
{
    (void)state;
    struct http_qval v[N];
    char buf[4];
    const char *bad, *reason;
    assert_int_equal(http_query_decode("limit=10", spec, N, v, buf, sizeof(buf), &bad, &reason),
                     IOTSEC_ERR_INVALID);
}

/* An older list answers under "items" and its old name, the same rows; a newer one only
 * under "items". */
static void test_list_json(void **state)
{
    (void)state;
    json_t *o = http_list_json("afs", json_pack("[{s:s}]", "af_id", "af-1"));
    assert_int_equal(json_object_size(o), 2);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    assert_true(json_equal(json_object_get(o, "afs"), json_object_get(o, "items")));
    char *text = json_dumps(o, JSON_COMPACT);
    assert_string_equal(text, "{\"afs\":[{\"af_id\":\"af-1\"}],\"items\":[{\"af_id\":\"af-1\"}]}");
    free(text);
    json_decref(o);
    o = http_list_json("items", json_array());
    assert_int_equal(json_object_size(o), 1);
    assert_true(json_is_array(json_object_get(o, "items")));
    json_decref(o);
    o = http_list_json(NULL, json_array());
    assert_int_equal(json_object_size(o), 1);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_refused_named),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_list_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
