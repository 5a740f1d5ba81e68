/* The daemon's whole schema (every capability's migrations, in their global order) applies on
 * the engine under test, twice without change, and passes the engine's integrity check. On
 * PostgreSQL this is where a migration written for SQLite alone (a type, a trigger, a reserved
 * word) shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/err.h"
#include "daemon/daemon.h"
#include "store/store.h"
#include "test_db.h"

static void test_daemon_schema_applies(void **state)
{
    (void)state;
    struct test_db t;
    test_db_make(&t);
    size_t n = 0;
    const struct store_migration *m = daemon_migrations(&n);
    struct store_options o;
    store_options_init(&o);
    o.migrations = m;
    o.migration_count = n;
    for (int round = 0; round < 2; round++) {
        struct store *s = NULL;
        int rc = store_open(t.target, &o, &s);
        if (rc != IOTSEC_OK)
            fail_msg("round %d: %s: %s", round, iotsec_strerror(rc), store_errmsg());
        int v = 0;
        assert_int_equal(store_schema_version(s, &v), IOTSEC_OK);
        assert_int_equal(v, m[n - 1].version);
        rc = store_integrity_check(s);
        if (rc != IOTSEC_OK)
            fail_msg("integrity: %s", store_errmsg());
        store_close(s);
    }
    test_db_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_schema_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
