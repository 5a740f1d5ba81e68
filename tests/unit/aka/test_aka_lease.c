/* The SQN slot lease is renewed from aka_tick through the store's writer, and stays usable:
 * a renewal that does not find its own lease would stop every vector of the instance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aka/aka_int.h"
#include "base/err.h"

static void test_lease_renewed_by_tick(void **state)
{
    (void)state;
    char dir[] = "/tmp/iotsec-lease-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/db", dir);
    static const struct store_migration m[] = {
        {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
        {8, "subscriber: SQN slots", SUBSCRIBER_MIGRATION_SQN_SLOTS, NULL}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 2;
    struct store *s;
    assert_int_equal(store_open(path, &opt, &s), IOTSEC_OK);
    /* 6 s: usable for 1 s past the 5 s margin, renewed after 2 s */
    struct aka_config cfg = {.lease_s = 6};
    struct seal_kek kek = {0};
    struct aka *a = aka_new(&cfg, s, &kek, NULL);
    assert_non_null(a);
    assert_int_equal(aka_lease_claim(a, "host:/test"), IOTSEC_OK);
    int64_t first = atomic_load(&a->lease_until_ms);
    assert_true(aka_lease_usable(a));
    usleep(2100 * 1000);
    aka_tick(a); /* submits the renewal */
    for (int i = 0; i < 200 && atomic_load(&a->lease_until_ms) == first; i++)
        usleep(10 * 1000);
    assert_true(atomic_load(&a->lease_until_ms) > first); /* renewed, not lost */
    assert_true(aka_lease_usable(a));
    assert_int_equal(aka_lease_slot(a), 0);
    aka_lease_release(a);
    aka_free(a);
    store_close(s);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_renewed_by_tick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
