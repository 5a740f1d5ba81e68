/* Schema migrations: order, record, idempotence, and the refusals (bad arrays, a database
 * newer than the code, history that disagrees with the code, a failing migration). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/store.h"
#include "store_test_util.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Each migration depends on the previous one: applied out of order, they fail. */
static const struct store_migration three[] = {
    {1, "create t", "CREATE TABLE t (a INTEGER PRIMARY KEY);", NULL},
    {2, "add b", "ALTER TABLE t ADD COLUMN b TEXT; CREATE INDEX t_b ON t (b);", NULL},
    {5, "seed", "INSERT INTO t (a, b) VALUES (1, 'one'), (2, 'two');", NULL},
};

static int setup(void **state)
{
    static struct tmpdb t;
    tmpdb_make(&t);
    *state = &t;
    return 0;
}

static int teardown(void **state)
{
    tmpdb_remove(*state);
    return 0;
}

static int open_with(const char *path, const struct store_migration *m, size_t n, struct store **s)
{
    struct store_options o;
    store_options_init(&o);
    o.migrations = m;
    o.migration_count = n;
    return store_open(path, &o, s);
}

static long long count(struct store *s, const char *sql)
{
    return read_int(s, sql);
}

static void test_apply_in_order_and_record(void **state)
{
    struct tmpdb *t = *state;
    struct store *s;
    assert_int_equal(open_with(t->path, three, COUNT(three), &s), IOTSEC_OK);
    int v = -1;
    assert_int_equal(store_schema_version(s, &v), IOTSEC_OK);
    assert_int_equal(v, 5);
    assert_int_equal(count(s, "SELECT count(*) FROM t WHERE b IS NOT NULL"), 2);
    assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations"), 3);
    assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations WHERE version IN (1, 2, 5)"),
                     3);
    assert_int_equal(count(s, "SELECT name = 'add b' FROM schema_migrations WHERE version = 2"), 1);
    /* applied_at is an ISO 8601 UTC time, and in order. */
    assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations WHERE applied_at"
                              " LIKE '____-__-__T%Z' AND length(applied_at) >= 20"),
                     3);
    long long t1 = count(s, "SELECT count(*) FROM schema_migrations a JOIN schema_migrations b"
                            " ON a.version < b.version WHERE a.applied_at > b.applied_at");
    assert_int_equal(t1, 0);
    store_close(s);
}

static void test_idempotent_on_reopen(void **state)
{
    struct tmpdb *t = *state;
    struct store *s;
    assert_int_equal(open_with(t->path, three, COUNT(three), &s), IOTSEC_OK);
    char first[64];
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    assert_int_equal(
        store_stmt(c, "SELECT min(applied_at) || max(applied_at) FROM schema_migrations", &st),
        IOTSEC_OK);
    assert_int_equal(store_step(st), STORE_ROW);
    strncpy(first, store_col_text(st, 0), sizeof(first) - 1);
    first[sizeof(first) - 1] = '\0';
    store_reset(st);
    store_close(s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(open_with(t->path, three, COUNT(three), &s), IOTSEC_OK);
        /* The seed ran once: a second run would have failed on the primary key anyway. */
        assert_int_equal(count(s, "SELECT count(*) FROM t"), 2);
        assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations"), 3);
        assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
        assert_int_equal(
            store_stmt(c, "SELECT min(applied_at) || max(applied_at) FROM schema_migrations", &st),
            IOTSEC_OK);
        assert_int_equal(store_step(st), STORE_ROW);
        assert_true(strncmp(first, store_col_text(st, 0), 63) == 0);
        store_reset(st);
        store_close(s);
    }
}

static void test_later_migrations_added(void **state)
{
    struct tmpdb *t = *state;
    struct store *s;
    assert_int_equal(open_with(t->path, three, 2, &s), IOTSEC_OK);
    assert_int_equal(count(s, "SELECT count(*) FROM t"), 0);
    store_close(s);
    assert_int_equal(open_with(t->path, three, 3, &s), IOTSEC_OK);
    assert_int_equal(count(s, "SELECT count(*) FROM t"), 2);
    store_close(s);
}

static void test_bad_arrays_rejected(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = NULL;
    const struct store_migration dup[] = {{1, "a", "SELECT 1", NULL}, {1, "b", "SELECT 1", NULL}};
    const struct store_migration down[] = {{2, "a", "SELECT 1", NULL}, {1, "b", "SELECT 1", NULL}};
    const struct store_migration zero[] = {{0, "a", "SELECT 1", NULL}};
    const struct store_migration negative[] = {{-3, "a", "SELECT 1", NULL}};
    const struct store_migration no_sql[] = {{1, "a", NULL, NULL}};
    const struct store_migration no_name[] = {{1, NULL, "SELECT 1", NULL}};
    assert_int_equal(open_with(t->path, dup, 2, &s), IOTSEC_ERR_INVALID);
    assert_non_null(strstr(store_errmsg(), "strictly increasing"));
    assert_int_equal(open_with(t->path, down, 2, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(open_with(t->path, zero, 1, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(open_with(t->path, negative, 1, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(open_with(t->path, no_sql, 1, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(open_with(t->path, no_name, 1, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(open_with(t->path, NULL, 2, &s), IOTSEC_ERR_INVALID);
    assert_null(s);
}

static void test_newer_database_refused(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = NULL;
    assert_int_equal(open_with(t->path, three, 3, &s), IOTSEC_OK);
    store_close(s);
    s = NULL;
    assert_int_equal(open_with(t->path, three, 2, &s), IOTSEC_ERR_STATE);
    assert_null(s);
    assert_non_null(strstr(store_errmsg(), "newer than this build"));
    assert_int_equal(open_with(t->path, NULL, 0, &s), IOTSEC_ERR_STATE);
    /* The refusal changed nothing. */
    assert_int_equal(open_with(t->path, three, 3, &s), IOTSEC_OK);
    assert_int_equal(count(s, "SELECT count(*) FROM schema_migrations"), 3);
    store_close(s);
}

static void test_history_must_match(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = NULL;
    const struct store_migration v1 = {1, "create t", "CREATE TABLE t (a INTEGER);", NULL};
    const struct store_migration v2 = {2, "create u", "CREATE TABLE u (a INTEGER);", NULL};
    const struct store_migration v3 = {3, "create v", "CREATE TABLE v (a INTEGER);", NULL};
    const struct store_migration one_and_three[] = {v1, v3};
    assert_int_equal(open_with(t->path, one_and_three, 2, &s), IOTSEC_OK);
    store_close(s);
    /* The code now has a migration 2 the database skipped: refuse rather than guess. */
    const struct store_migration all[] = {v1, v2, v3};
    assert_int_equal(open_with(t->path, all, 3, &s), IOTSEC_ERR_STATE);
    assert_non_null(strstr(store_errmsg(), "lacks 1 older"));
    /* Same version, other name. */
    const struct store_migration renamed[] = {{1, "create t v2", v1.sql, NULL}, v3};
    assert_int_equal(open_with(t->path, renamed, 2, &s), IOTSEC_ERR_STATE);
    assert_non_null(strstr(store_errmsg(), "'create t'"));
    /* A recorded version the code dropped, below its newest one. */
    const struct store_migration dropped[] = {v3,
                                              {4, "create w", "CREATE TABLE w (a INTEGER);", NULL}};
    assert_int_equal(open_with(t->path, dropped, 2, &s), IOTSEC_ERR_STATE);
    assert_null(s);
    /* And the agreeing history still opens. */
    assert_int_equal(open_with(t->path, one_and_three, 2, &s), IOTSEC_OK);
    store_close(s);
}

static void test_failing_migration_keeps_previous_version(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = NULL;
    const struct store_migration broken[] = {
        three[0],
        three[1],
        /* The first statement works, the second fails: both must be undone. */
        {3, "broken", "CREATE TABLE x (a INTEGER); INSERT INTO nowhere VALUES (1);", NULL},
        {4, "after", "CREATE TABLE y (a INTEGER);", NULL},
    };
    assert_int_equal(open_with(t->path, broken, 4, &s), IOTSEC_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(store_errmsg(), "migration 3 (broken) failed"));
    assert_non_null(strstr(store_errmsg(), t->pg ? "relation \"nowhere\" does not exist"
                                                 : "no such table: nowhere"));
    assert_int_equal(open_with(t->path, broken, 2, &s), IOTSEC_OK);
    int v = 0;
    assert_int_equal(store_schema_version(s, &v), IOTSEC_OK);
    assert_int_equal(v, 2);
    assert_int_equal(count(s, t->pg
                                  ? "SELECT count(*) FROM pg_tables WHERE tablename IN ('x', 'y')"
                                  : "SELECT count(*) FROM sqlite_schema WHERE name IN ('x', 'y')"),
                     0);
    store_close(s);

    /* A migration cannot commit half of itself. */
    const struct store_migration sneaky[] = {
        three[0],
        three[1],
        {3, "sneaky", "CREATE TABLE z (a INTEGER); COMMIT; CREATE TABLE w (a INTEGER);", NULL}};
    assert_int_equal(open_with(t->path, sneaky, 3, &s), IOTSEC_ERR_IO);
    assert_int_equal(open_with(t->path, sneaky, 2, &s), IOTSEC_OK);
    assert_int_equal(count(s, t->pg
                                  ? "SELECT count(*) FROM pg_tables WHERE tablename IN ('z', 'w')"
                                  : "SELECT count(*) FROM sqlite_schema WHERE name IN ('z', 'w')"),
                     0);
    store_close(s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_apply_in_order_and_record),
        T(test_idempotent_on_reopen),
        T(test_later_migrations_added),
        T(test_bad_arrays_rejected),
        T(test_newer_database_refused),
        T(test_history_must_match),
        T(test_failing_migration_keeps_previous_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
