/* Console sessions in the store (idle and absolute timeouts, tokens only by their hash, shared
 * by every instance on one database) and the per-address login limiter. Time is passed in: no
 * waiting. Runs on SQLite and, as test_console_session_pg, on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "console/console.h"
#include "store/store.h"
#include "test_db.h"

struct fixture {
    struct test_db db;
    struct store *store, *other; /* other: a second instance's handle on the same database */
};

static int open_store(struct fixture *f, struct store **out)
{
    static const struct store_migration m[] = {
        {28, "console sessions", CONSOLE_MIGRATION_SESSIONS, NULL}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 1;
    return store_open(f->db.target, &opt, out);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    if (open_store(f, &f->store) != IOTSEC_OK || open_store(f, &f->other) != IOTSEC_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->other);
    store_close(f->store);
    test_db_remove(&f->db);
    free(f);
    return 0;
}

static int64_t rows_with(struct fixture *f, const char *text)
{
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), IOTSEC_OK);
    assert_int_equal(store_stmt(conn,
                                "SELECT count(*) FROM console_sessions WHERE token_hash = ?"
                                " OR name = ? OR csrf = ?",
                                &st),
                     IOTSEC_OK);
    for (int i = 1; i <= 3; i++)
        store_bind_text(st, i, text, -1);
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_col_int64(st, 0);
    store_reset(st);
    return n;
}

static void test_session_lifetimes(void **state)
{
    struct fixture *f = *state;
    struct console_sessions *s = console_sessions_new(f->store, 60, 300);
    char t1[CONSOLE_TOKEN_LEN + 1], t2[CONSOLE_TOKEN_LEN + 1];
    struct console_session a, b, got;
    assert_int_equal(console_session_open(s, "alice", 1000, t1, &a), IOTSEC_OK);
    assert_int_equal(console_session_open(s, "bob", 1000, t2, &b), IOTSEC_OK);
    assert_int_equal(strlen(t1), CONSOLE_TOKEN_LEN);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(a.csrf, b.csrf);
    assert_string_not_equal(a.csrf, t1);   /* the CSRF token is not the cookie */
    assert_int_equal(rows_with(f, t1), 0); /* the database never holds the cookie's value */
    assert_int_equal(rows_with(f, "alice"), 1);
    assert_int_equal(console_session_get(s, t1, 1030, &got), IOTSEC_OK);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.csrf, a.csrf);
    /* idle: each use moves the deadline; 60 s without one ends it */
    for (int64_t t = 1080; t < 1300; t += 50)
        assert_int_equal(console_session_get(s, t1, t, &got), IOTSEC_OK);
    assert_int_equal(console_session_get(s, t1, 1300, &got), IOTSEC_ERR_NOTFOUND); /* 300 s */
    assert_int_equal(console_session_get(s, t1, 1000, &got), IOTSEC_ERR_NOTFOUND); /* gone */
    assert_int_equal(rows_with(f, "alice"), 0);
    assert_int_equal(console_session_get(s, t2, 1061, &got), IOTSEC_ERR_NOTFOUND); /* idle */
    /* unknown, malformed, closed */
    char t3[CONSOLE_TOKEN_LEN + 1];
    assert_int_equal(console_session_open(s, "carol", 2000, t3, &a), IOTSEC_OK);
    char wrong[CONSOLE_TOKEN_LEN + 1];
    strcpy(wrong, t3);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(console_session_get(s, wrong, 2001, &got), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(console_session_get(s, "short", 2001, &got), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(console_session_get(s, NULL, 2001, &got), IOTSEC_ERR_NOTFOUND);
    console_session_close(s, t3);
    assert_int_equal(console_session_get(s, t3, 2001, &got), IOTSEC_ERR_NOTFOUND);
    console_sessions_free(s);
}

/* A session opened on one instance is served by another; a logout there ends it here; the
 * idle deadline moved on one holds on the other. A login sweeps the expired rows. */
static void test_sessions_shared_by_instances(void **state)
{
    struct fixture *f = *state;
    struct console_sessions *a = console_sessions_new(f->store, 60, 3000);
    struct console_sessions *b = console_sessions_new(f->other, 60, 3000);
    char t[CONSOLE_TOKEN_LEN + 1], u[CONSOLE_TOKEN_LEN + 1];
    struct console_session s, got;
    assert_int_equal(console_session_open(a, "alice", 1000, t, &s), IOTSEC_OK);
    assert_int_equal(console_session_get(b, t, 1050, &got), IOTSEC_OK); /* moves last_seen */
    assert_string_equal(got.csrf, s.csrf);
    assert_int_equal(console_session_get(a, t, 1100, &got), IOTSEC_OK); /* 50 s idle, not 100 */
    assert_int_equal(console_session_get(a, t, 1101, &got), IOTSEC_OK); /* within TOUCH_S */
    assert_int_equal(got.last_seen, 1100);
    console_session_close(b, t);
    assert_int_equal(console_session_get(a, t, 1102, &got), IOTSEC_ERR_NOTFOUND);
    /* an abandoned session is swept by the next login, on any instance */
    assert_int_equal(console_session_open(a, "bob", 1200, t, &s), IOTSEC_OK);
    assert_int_equal(console_session_open(b, "carol", 1300, u, &s), IOTSEC_OK);
    assert_int_equal(rows_with(f, "bob"), 0);
    assert_int_equal(rows_with(f, "carol"), 1);
    console_sessions_free(a);
    console_sessions_free(b);
}

static void test_limiter(void **state)
{
    (void)state;
    struct console_limiter *l = console_limiter_new(3, 10);
    for (int i = 0; i < 3; i++)
        assert_true(console_limiter_take(l, "192.0.2.1:5000", 100));
    assert_false(console_limiter_take(l, "192.0.2.1:5001", 100)); /* another port: same host */
    assert_true(console_limiter_take(l, "192.0.2.2:5000", 100));  /* another host */
    assert_false(console_limiter_take(l, "192.0.2.1:5000", 109));
    assert_true(console_limiter_take(l, "192.0.2.1:5000", 110)); /* one back after 10 s */
    assert_false(console_limiter_take(l, "192.0.2.1:5000", 110));
    console_limiter_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_lifetimes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_shared_by_instances, setup, teardown),
        cmocka_unit_test(test_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
