/* The SQL of group delivery (group_deliver_store.c) in a real database, SQLite and (the _pg run)
 * PostgreSQL: member endpoints, the multicast address, the targets of a fan-out (members with
 * an endpoint, active or not), the re-check of one leaf, a consent's owner, and an AF's
 * deliveries (insert, counts, read, another AF cannot delete, listed by AF). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "group/group_deliver.h"
#include "store_test_util.h"

/* The tables the queries join, as far as they read them (subscriptions, expose_consents). */
static const char STUBS[] = "CREATE TABLE subscriptions (id INTEGER PRIMARY KEY, supi TEXT NOT NULL"
                            " UNIQUE, state TEXT NOT NULL);"
                            "CREATE TABLE expose_consents (consent_id TEXT PRIMARY KEY,"
                            " owner TEXT NOT NULL);"
                            "INSERT INTO subscriptions (id, supi, state) VALUES"
                            " (1, 'imsi-001010000000001', 'active'),"
                            " (2, 'imsi-001010000000002', 'quarantined'),"
                            " (3, 'imsi-001010000000003', 'active');"
                            "INSERT INTO expose_consents VALUES ('consent-1', 'utility');";

static const struct store_migration migrations[] = {
    {1, "stubs", STUBS, NULL},
    {2, "group", GROUP_MIGRATION_1, NULL},
    {3, "group delivery", GROUP_MIGRATION_2, NULL},
};

static struct tmpdb db;
static struct store *s;
static const uint64_t REF = 0x0abcdef012345678ull;

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&db);
    struct store_options o;
    store_options_init(&o);
    o.migrations = migrations;
    o.migration_count = 3;
    assert_int_equal(store_open(db.path, &o, &s), IOTSEC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    tmpdb_remove(&db);
    return 0;
}

static int setup_run(struct store_conn *c, void *arg)
{
    (void)arg;
    struct group_row g = {.ref = REF,
                          .external_id = "valves@utility.example",
                          .owner = "utility",
                          .arity = 4,
                          .depth = 2,
                          .confidential = true,
                          .created_at = 1700000000};
    int rc = group_store_create(c, &g);
    for (int i = 1; rc == IOTSEC_OK && i <= 3; i++) {
        char supi[32];
        snprintf(supi, sizeof(supi), "imsi-00101000000000%d", i);
        rc = group_store_member_add(c, REF, supi, 4 + (uint32_t)i, 1700000000);
    }
    /* endpoints for 1 and 2 (2 is quarantined), none for 3; 1 set twice: the last wins */
    if (rc == IOTSEC_OK)
        rc = group_store_endpoint_set(c, "imsi-001010000000001", "https://old.example/m");
    if (rc == IOTSEC_OK)
        rc = group_store_endpoint_set(c, "imsi-001010000000001", "https://m1.example/m");
    if (rc == IOTSEC_OK)
        rc = group_store_endpoint_set(c, "imsi-001010000000002", "https://m2.example/m");
    if (rc == IOTSEC_OK)
        rc = group_store_multicast_set(c, REF, "239.1.2.3:5000", "");
    if (rc == IOTSEC_OK)
        rc = group_store_multicast_set(c, REF, "239.1.2.4:5001", "10.0.0.1");
    return rc;
}

struct seen {
    int n, with_url, active;
    uint32_t leaves;
};

static int target(const char *supi, const char *url, uint32_t leaf, bool active, void *ctx)
{
    struct seen *x = ctx;
    x->n++;
    x->with_url += url[0] != 0;
    x->active += active;
    x->leaves += leaf;
    if (strcmp(supi, "imsi-001010000000001") == 0)
        assert_string_equal(url, "https://m1.example/m");
    return IOTSEC_OK;
}

static void test_endpoints_targets_recheck(void **state)
{
    (void)state;
    assert_int_equal(store_write_sync(s, setup_run, NULL), IOTSEC_OK);
    struct store_conn *c;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    char url[256], dest[64], iface[64];
    assert_int_equal(group_store_endpoint_get(c, "imsi-001010000000001", url, sizeof(url)),
                     IOTSEC_OK);
    assert_string_equal(url, "https://m1.example/m");
    assert_int_equal(group_store_endpoint_get(c, "imsi-001010000000003", url, sizeof(url)),
                     IOTSEC_ERR_NOTFOUND);
    assert_int_equal(group_store_multicast_get(c, REF, dest, sizeof(dest), iface, sizeof(iface)),
                     IOTSEC_OK);
    assert_string_equal(dest, "239.1.2.4:5001");
    assert_string_equal(iface, "10.0.0.1");
    assert_int_equal(
        group_store_multicast_get(c, REF + 1, dest, sizeof(dest), iface, sizeof(iface)),
        IOTSEC_ERR_NOTFOUND);
    struct seen x = {0};
    assert_int_equal(group_store_targets(c, REF, target, &x), IOTSEC_OK);
    assert_int_equal(x.n, 3);
    assert_int_equal(x.with_url, 2);
    assert_int_equal(x.active, 2);
    assert_int_equal(x.leaves, 5 + 6 + 7);
    bool yes;
    assert_int_equal(group_store_leaf_active(c, REF, 5, &yes), IOTSEC_OK);
    assert_true(yes);
    assert_int_equal(group_store_leaf_active(c, REF, 6, &yes), IOTSEC_OK);
    assert_false(yes); /* quarantined */
    assert_int_equal(group_store_leaf_active(c, REF, 9, &yes), IOTSEC_OK);
    assert_false(yes); /* nobody there */
    assert_int_equal(group_store_leaf_active(c, REF + 1, 5, &yes), IOTSEC_OK);
    assert_false(yes); /* another group */
    char owner[64];
    assert_int_equal(group_store_consent_owner(c, "consent-1", owner, sizeof(owner)), IOTSEC_OK);
    assert_string_equal(owner, "utility");
    assert_int_equal(group_store_consent_owner(c, "consent-2", owner, sizeof(owner)),
                     IOTSEC_ERR_NOTFOUND);
    store_reader_release(s);
}

static int insert_run(struct store_conn *c, void *arg)
{
    struct group_delivery_row d = {.del_ref = "gmd-1",
                                   .af_id = "af-a",
                                   .external_id = "valves@utility.example",
                                   .notif_uri = "https://af.example/n",
                                   .start_time = "2026-12-07T20:00:00Z",
                                   .stop_time = "2026-12-08T20:00:00Z",
                                   .serv_area = "{\"taiList\":[]}",
                                   .epoch = 3,
                                   .created_at = 1700000001,
                                   .total = 2,
                                   .multicast = true};
    int rc = group_store_delivery_insert(c, &d);
    snprintf(d.del_ref, sizeof(d.del_ref), "gmd-2");
    snprintf(d.af_id, sizeof(d.af_id), "af-b");
    if (rc == IOTSEC_OK)
        rc = group_store_delivery_insert(c, &d);
    if (rc == IOTSEC_OK)
        rc = group_store_delivery_counts(c, "gmd-1", 1, 1);
    (void)arg;
    return rc;
}

static int insert_again_run(struct store_conn *c, void *arg)
{
    (void)arg;
    struct group_delivery_row d = {.del_ref = "gmd-1", .af_id = "af-c"};
    return group_store_delivery_insert(c, &d);
}

static int delete_run(struct store_conn *c, void *arg)
{
    const char *const *who = arg;
    return group_store_delivery_delete(c, who[0], who[1]);
}

static void count_of(const struct group_delivery_row *d, void *ctx)
{
    assert_string_equal(d->af_id, "af-a");
    (*(int *)ctx)++;
}

static void test_deliveries(void **state)
{
    (void)state;
    assert_int_equal(store_write_sync(s, insert_run, NULL), IOTSEC_OK);
    assert_int_equal(store_write_sync(s, insert_again_run, NULL), IOTSEC_ERR_CONFLICT);
    struct store_conn *c;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    struct group_delivery_row d;
    assert_int_equal(group_store_delivery_get(c, "gmd-1", &d), IOTSEC_OK);
    assert_string_equal(d.external_id, "valves@utility.example");
    assert_string_equal(d.serv_area, "{\"taiList\":[]}");
    assert_int_equal(d.total, 2);
    assert_int_equal(d.delivered, 1);
    assert_int_equal(d.failed, 1);
    assert_int_equal(d.epoch, 3);
    assert_true(d.multicast);
    assert_int_equal(group_store_delivery_get(c, "gmd-9", &d), IOTSEC_ERR_NOTFOUND);
    int n = 0;
    assert_int_equal(group_store_deliveries_of(c, "af-a", count_of, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    store_reader_release(s);
    const char *other[2] = {"gmd-1", "af-b"}, *own[2] = {"gmd-1", "af-a"};
    assert_int_equal(store_write_sync(s, delete_run, (void *)other), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(store_write_sync(s, delete_run, (void *)own), IOTSEC_OK);
    assert_int_equal(store_write_sync(s, delete_run, (void *)own), IOTSEC_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints_targets_recheck),
        cmocka_unit_test(test_deliveries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
