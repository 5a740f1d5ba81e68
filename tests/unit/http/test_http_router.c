/* White-box tests of the pieces without sockets: the router's patterns and matching, the
 * ProblemDetails builder, and the byte buffer and arena under the request object. */
#include <jansson.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/http.h"
#include "http/http_int.h"

static void nop(struct http_request *req, void *user)
{
    (void)req;
    (void)user;
}

static int match(const struct router *r, const char *method, const char *path,
                 struct route_match *m)
{
    return hrouter_match(r, method, path, strlen(path), m);
}

static void test_patterns(void **state)
{
    (void)state;
    struct router r = {0};
    const char *bad[] = {"",         "relative", "/a/{}", "/a/{b", "/a/b}",  "/a/{b}c", "/a/x{b}",
                         "/{a}/{a}", "/a b",     "/a\"b", "/a\\b", "/{a-b}", "/a?x=1",  "/a#frag"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hrouter_add(&r, "GET", bad[i], nop, NULL) != IOTSEC_ERR_INVALID)
            fail_msg("pattern accepted: %s", bad[i]);
    assert_int_equal(hrouter_add(&r, "", "/a", nop, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(hrouter_add(&r, "G(T", "/a", nop, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(hrouter_add(&r, "GET", "/a", NULL, NULL), IOTSEC_ERR_INVALID);
    char deep[200] = "";
    for (int i = 0; i < HTTP_MAX_SEGMENTS + 1; i++)
        strcat(deep, "/s");
    assert_int_equal(hrouter_add(&r, "GET", deep, nop, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(hrouter_add(&r, "GET", "/", nop, NULL), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "GET", "/a/{b_1}/c", nop, NULL), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "GET", "/a/{b_1}/c", nop, NULL), IOTSEC_ERR_CONFLICT);
    assert_int_equal(hrouter_add(&r, "POST", "/a/{b_1}/c", nop, NULL), IOTSEC_OK);
    assert_int_equal(r.n, 3);
    hrouter_free(&r);
}

static void test_matching(void **state)
{
    (void)state;
    struct router r = {0};
    static int u_param, u_lit, u_two, u_root;
    assert_int_equal(hrouter_add(&r, "GET", "/ue/{supi}/sdm", nop, &u_param), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "GET", "/ue/{supi}/{kind}", nop, &u_two), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "GET", "/ue/default/sdm", nop, &u_lit), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "PUT", "/ue/{supi}/sdm", nop, NULL), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "DELETE", "/ue/{x}/{y}", nop, NULL), IOTSEC_OK);
    assert_int_equal(hrouter_add(&r, "GET", "/", nop, &u_root), IOTSEC_OK);
    struct route_match m;

    assert_int_equal(match(&r, "GET", "/ue/imsi-001/sdm", &m), IOTSEC_OK);
    assert_ptr_equal(m.route->user, &u_param);
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0].name, "supi");
    assert_int_equal(m.params[0].len, 8);
    assert_memory_equal(m.params[0].raw, "imsi-001", 8);

    /* Literals win over parameters, in registration order or not. */
    assert_int_equal(match(&r, "GET", "/ue/default/sdm", &m), IOTSEC_OK);
    assert_ptr_equal(m.route->user, &u_lit);
    assert_int_equal(m.n_params, 0);
    assert_int_equal(match(&r, "GET", "/ue/x/am", &m), IOTSEC_OK);
    assert_ptr_equal(m.route->user, &u_two);
    assert_int_equal(m.n_params, 2);
    assert_string_equal(m.params[1].name, "kind");

    assert_int_equal(match(&r, "GET", "/", &m), IOTSEC_OK);
    assert_ptr_equal(m.route->user, &u_root);

    /* Unknown paths; empty segments never bind a parameter; a trailing slash matters. */
    const char *missing[] = {"/ue",         "/ue/x", "/ue//sdm", "/ue/x/sdm/",
                             "/ue/x/sdm/y", "",      "x",        "//"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        if (match(&r, "GET", missing[i], &m) != IOTSEC_ERR_NOTFOUND)
            fail_msg("matched: %s", missing[i]);

    /* Known path, wrong method: 405 with every method of the matching patterns, once. */
    assert_int_equal(match(&r, "PATCH", "/ue/x/sdm", &m), IOTSEC_ERR_STATE);
    assert_string_equal(m.allow, "GET, HEAD, PUT, DELETE");
    /* RFC 9110: HEAD wherever GET is, through the GET route (no HEAD route registered). */
    assert_int_equal(match(&r, "HEAD", "/ue/x/sdm", &m), IOTSEC_OK);
    assert_string_equal(m.route->method, "GET");
    assert_int_equal(match(&r, "POST", "/ue/x/am", &m), IOTSEC_ERR_STATE);
    assert_string_equal(m.allow, "GET, HEAD, DELETE");

    /* Deeper than any pattern may be. */
    char deep[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "/s");
    assert_int_equal(match(&r, "GET", deep, &m), IOTSEC_ERR_NOTFOUND);
    hrouter_free(&r);
}

static void test_problem_details(void **state)
{
    (void)state;
    struct http_invalid_param ip[] = {{"/a", "missing"}, {"/b", NULL}};
    json_t *p = http_problem_new(403, NULL, "no consent", "CONSENT_MISSING", ip, 2);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Forbidden");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 403);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "no consent");
    assert_string_equal(json_string_value(json_object_get(p, "cause")), "CONSENT_MISSING");
    json_t *arr = json_object_get(p, "invalidParams");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "reason")),
                        "missing");
    assert_null(json_object_get(json_array_get(arr, 1), "reason"));
    json_decref(p);

    /* Optional members are omitted; invalid UTF-8 loses its member, not the problem. */
    p = http_problem_new(404, "T\xff", NULL, NULL, NULL, 0);
    assert_non_null(p);
    assert_null(json_object_get(p, "title"));
    assert_null(json_object_get(p, "detail"));
    assert_null(json_object_get(p, "cause"));
    assert_null(json_object_get(p, "invalidParams"));
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 404);
    json_decref(p);

    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(299), "Unknown");
}

static void test_buf_and_arena(void **state)
{
    (void)state;
    struct http_buf b = {0};
    char chunk[700];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 10; i++)
        assert_int_equal(hbuf_append(&b, chunk, sizeof(chunk)), IOTSEC_OK);
    assert_int_equal(hbuf_size(&b), 7000);
    hbuf_consume(&b, 6990);
    assert_int_equal(hbuf_size(&b), 10);
    size_t cap = b.cap;
    assert_int_equal(hbuf_append(&b, "0123456789", 10), IOTSEC_OK); /* compacts, no growth */
    assert_int_equal(b.cap, cap);
    assert_memory_equal(hbuf_begin(&b) + 10, "0123456789", 10);
    hbuf_consume(&b, 20);
    assert_int_equal(hbuf_size(&b), 0);
    assert_int_equal(b.off, 0);
    hbuf_free(&b);

    char mem[100];
    struct arena a;
    harena_init(&a, mem, sizeof(mem));
    char *s = harena_strndup(&a, "hello", 5);
    assert_string_equal(s, "hello");
    assert_true(s >= mem && s < mem + sizeof(mem));
    void *p = harena_alloc(&a, 24);
    assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
    char *big = harena_chars(&a, 10000); /* overflows into a chunk */
    assert_non_null(big);
    memset(big, 1, 10000);
    char *after = harena_strndup(&a, "more", 4);
    assert_string_equal(after, "more");
    harena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_problem_details),
        cmocka_unit_test(test_buf_and_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
