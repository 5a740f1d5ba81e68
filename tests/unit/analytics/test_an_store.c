/* The analytics instance over a real store: findings persisted with their SUPI, victim and
 * evidence, listed by device and exception a page at a time; ids that go on after a reopen;
 * the UE address mappings restored at open (a session stop forgets its row); the retention
 * sweep bounded per run; MUD changes made through one store handle reaching an instance on
 * another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "base/err.h"
#include "crypto/seal.h"
#include "provision/provision.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

#define SUPI "imsi-001010000000042"

static const struct seal_kek kek = {.id = 1, .key = {9, 8, 7}};
static char dir[64], key_path[128];
static struct test_db db; /* SQLite file, or a PostgreSQL database (IOTSEC_TEST_STORE_URL) */
static struct store *store;
static const struct store_migration migrations[] = {
    {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
    {3, "provision", PROVISION_MIGRATION_1, NULL}, /* the findings' enrollment filter */
    {9, "analytics", ANALYTICS_MIGRATION_1, NULL},
    {18, "provision names", PROVISION_MIGRATION_NAMES, NULL},
    {19, "analytics mud", ANALYTICS_MIGRATION_MUD, NULL},
    {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG}};

static int open_store(struct store **out)
{
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = migrations;
    opt.migration_count = sizeof(migrations) / sizeof(migrations[0]);
    return store_open(db.target, &opt, out);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/iotsec-an-store-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(key_path, sizeof(key_path), "%s/analytics.key", dir);
    test_db_make(&db);
    return open_store(&store) == IOTSEC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_close(store);
    test_db_remove(&db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct analytics *open_instance_on(struct store *s)
{
    struct analytics_options o = {.window_s = 60, .key_path = key_path, .kek = &kek, .store = s};
    char err[256];
    struct analytics *a = analytics_new(&o, err, sizeof(err));
    assert_non_null(a);
    return a;
}

static struct analytics *open_instance(void)
{
    return open_instance_on(store);
}

/* n flows from 10.0.0.1 to the victim in the window starting at t, and one record of the next
 * window that closes it. */
static struct analytics_batch_result flood(struct analytics *a, double t, int n)
{
    static char text[400 * 120];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "{\"ts\":%.1f,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.9\","
                                "\"proto\":\"udp\"}\n",
                                t + i * 0.1);
    len +=
        (size_t)snprintf(text + len, sizeof(text) - len,
                         "{\"ts\":%.1f,\"src\":\"10.0.0.1\",\"dst\":\"198.51.100.1\"}\n", t + 61);
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, len, &r), IOTSEC_OK);
    return r;
}

struct rows {
    int64_t id[16];
    char supi[16][ANALYTICS_SUPI_MAX];
    char victim[16][48];
    bool fired[16];
    int n;
};

static void collect(const struct an_finding_row *r, void *ctx)
{
    struct rows *c = ctx;
    if (c->n == 16)
        return;
    c->id[c->n] = r->id;
    snprintf(c->supi[c->n], sizeof(c->supi[0]), "%s", r->supi);
    snprintf(c->victim[c->n], sizeof(c->victim[0]), "%s", r->victim);
    json_t *e = json_loads(r->evidence, 0, NULL);
    c->fired[c->n] =
        json_integer_value(json_object_get(json_object_get(e, "fired"), "level")) >= 1 &&
        json_is_object(json_object_get(e, "finding"));
    json_decref(e);
    c->n++;
}

static int count_all(void)
{
    struct rows c = {0};
    struct an_findings_query q = {.limit = 16};
    assert_int_equal(an_store_findings_list(store, &q, collect, &c), IOTSEC_OK);
    return c.n;
}

static void test_findings_and_mappings_persist(void **state)
{
    (void)state;
    struct analytics *a = open_instance();
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, "b"), IOTSEC_OK);
    struct analytics_batch_result r = flood(a, 1700000040, 300);
    assert_int_equal(r.unmapped, 0);
    assert_true(r.findings >= 1);
    analytics_flush(a);
    struct rows c = {0};
    struct an_findings_query q = {
        .supi = SUPI, .exception = "SUSPICION_OF_DDOS_ATTACK", .limit = 16};
    assert_int_equal(an_store_findings_list(store, &q, collect, &c), IOTSEC_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.supi[0], SUPI);
    assert_string_equal(c.victim[0], "203.0.113.9");
    assert_true(c.fired[0]);
    int64_t first = c.id[0];
    analytics_free(a);

    /* Reopened: the mapping is back (counted, not unmapped), ids go on. */
    a = open_instance();
    r = flood(a, 1700000040 + 600, 300);
    assert_int_equal(r.unmapped, 0);
    assert_true(r.counted > 0);
    analytics_flush(a);
    memset(&c, 0, sizeof(c));
    assert_int_equal(an_store_findings_list(store, &q, collect, &c), IOTSEC_OK);
    assert_int_equal(c.n, 2);
    assert_true(c.id[1] > first);
    /* Pages: one at a time, the cursor being the last id. */
    struct an_findings_query page = {.limit = 1, .after = first};
    memset(&c, 0, sizeof(c));
    assert_int_equal(an_store_findings_list(store, &page, collect, &c), IOTSEC_OK);
    assert_int_equal(c.n, 1);
    assert_true(c.id[0] > first);
    /* Filters that match nothing. */
    struct an_findings_query none = {.supi = "imsi-001019999999999", .limit = 16};
    memset(&c, 0, sizeof(c));
    assert_int_equal(an_store_findings_list(store, &none, collect, &c), IOTSEC_OK);
    assert_int_equal(c.n, 0);
    none = (struct an_findings_query){.since = (int64_t)time(NULL) + 3600, .limit = 16};
    assert_int_equal(an_store_findings_list(store, &none, collect, &c), IOTSEC_OK);
    assert_int_equal(c.n, 0);

    /* The session ends: the row goes; after a reopen the address maps to nothing. */
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", false, NULL), IOTSEC_OK);
    analytics_free(a);
    a = open_instance();
    r = flood(a, 1700000040 + 1200, 10);
    assert_int_equal(r.counted, 0);
    assert_int_equal(r.unmapped, 11);
    analytics_free(a);
}

static int barrier(struct store_conn *conn, void *arg)
{
    (void)conn, (void)arg;
    return IOTSEC_OK;
}

static void test_retention_sweep_is_bounded(void **state)
{
    (void)state;
    struct analytics *a = open_instance();
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, NULL), IOTSEC_OK);
    for (int w = 0; w < 3; w++)
        flood(a, 1700000040 + 120.0 * w, 300);
    analytics_free(a);
    int before = count_all();
    assert_true(before >= 3);
    /* Everything is older than "now + 10 s"; a run deletes at most its limit. */
    assert_int_equal(an_sweep_submit(store, (int64_t)time(NULL) + 10, 2), IOTSEC_OK);
    assert_int_equal(store_write_sync(store, barrier, NULL), IOTSEC_OK);
    assert_int_equal(count_all(), before - 2);
    /* Nothing younger than the cut is touched. */
    assert_int_equal(an_sweep_submit(store, (int64_t)time(NULL) - 3600, 100), IOTSEC_OK);
    assert_int_equal(store_write_sync(store, barrier, NULL), IOTSEC_OK);
    assert_int_equal(count_all(), before - 2);
}

/* Plug-x's MUD: TCP to cloud.plugx.example; with ssh, also TCP to port 22 anywhere. */
static char *mud_doc(bool ssh)
{
    static char doc[1024];
    snprintf(doc, sizeof(doc),
             "{\"ietf-mud:mud\":{\"mud-version\":1,\"mud-url\":\"https://plugx.example/m\","
             "\"last-update\":\"2026-01-01T00:00:00Z\",\"is-supported\":true,"
             "\"from-device-policy\":{\"access-lists\":{\"access-list\":[{\"name\":\"a\"}]}}},"
             "\"ietf-access-control-list:acls\":{\"acl\":[{\"name\":\"a\",\"aces\":{\"ace\":["
             "{\"name\":\"c\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":"
             "\"cloud.plugx.example\",\"protocol\":6}},\"actions\":{\"forwarding\":\"accept\"}}%s"
             "]}}]}}",
             ssh ? ",{\"name\":\"s\",\"matches\":{\"ipv4\":{\"protocol\":6},\"tcp\":{"
                   "\"destination-port\":{\"operator\":\"eq\",\"port\":22}}},"
                   "\"actions\":{\"forwarding\":\"accept\"}}"
                 : "");
    return doc;
}

static int mud_put_run(struct store_conn *conn, void *arg)
{
    return an_store_mud_put(conn, "plug-x", "https://plugx.example/m", arg, 1700000000);
}

static int mud_del_run(struct store_conn *conn, void *arg)
{
    bool *found = arg;
    return an_store_mud_del(conn, "plug-x", found);
}

/* The findings of one window of the device: three SSH sessions to 203.0.113.host (outside
 * plug-x's first MUD), closed by a record of the next window. A host named by a finding is
 * never expected again (whatever the MUD says), so each step after one uses a fresh host. */
static unsigned ssh_window(struct analytics *a, double t, int host)
{
    char text[800];
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "{\"ts\":%.0f,\"src\":\"10.0.0.1\",\"dst\":\"203.0.113.%d\","
                                "\"dport\":22,\"proto\":\"tcp\",\"outcome\":\"established\"}\n",
                                t + i, host);
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "{\"ts\":%.0f,\"src\":\"10.0.0.1\",\"dst\":\"224.0.0.251\","
                            "\"dport\":5353,\"proto\":\"udp\"}\n",
                            t + 60);
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, len, &r), IOTSEC_OK);
    assert_int_equal(r.unmapped, 0);
    return r.findings;
}

/* A MUD added, replaced and deleted through one store handle reaches an instance on another
 * handle of the same database at its next tick, and only then (instances share the store,
 * not memory). */
static void test_mud_changes_reach_other_instances(void **state)
{
    (void)state;
    struct store *other;
    assert_int_equal(open_store(&other), IOTSEC_OK);
    struct analytics *b = open_instance_on(other);
    assert_int_equal(analytics_session(b, SUPI, "10.0.0.1", true, "plug-x"), IOTSEC_OK);
    double t = 1700000040, now = (double)time(NULL);
    assert_int_equal(ssh_window(b, t, 9), 0); /* no MUD: a device learning raises nothing */

    /* Added through the first handle: not seen until b's tick, then SSH is outside it. */
    assert_int_equal(store_write_sync(store, mud_put_run, mud_doc(false)), IOTSEC_OK);
    assert_int_equal(ssh_window(b, t += 120, 9), 0);
    analytics_tick(b, now);
    assert_int_equal(ssh_window(b, t += 120, 9), 1);
    analytics_tick(b, now); /* nothing moved: the MUD stays */
    assert_int_equal(ssh_window(b, t += 120, 9), 1);

    /* Replaced by one that permits SSH. */
    assert_int_equal(store_write_sync(store, mud_put_run, mud_doc(true)), IOTSEC_OK);
    analytics_tick(b, now);
    assert_int_equal(ssh_window(b, t += 120, 10), 0);

    /* Back to the first, then deleted: the device is judged without a MUD again. */
    assert_int_equal(store_write_sync(store, mud_put_run, mud_doc(false)), IOTSEC_OK);
    analytics_tick(b, now);
    assert_int_equal(ssh_window(b, t += 120, 11), 1);
    bool found = false;
    assert_int_equal(store_write_sync(store, mud_del_run, &found), IOTSEC_OK);
    assert_true(found);
    analytics_tick(b, now);
    assert_int_equal(ssh_window(b, t += 120, 12), 0);

    /* A new instance on the first handle starts from the store as it is: no MUD. */
    struct analytics *a = open_instance();
    assert_int_equal(analytics_session(a, SUPI, "10.0.0.1", true, "plug-x"), IOTSEC_OK);
    assert_int_equal(ssh_window(a, t += 120, 13), 0);
    assert_int_equal(store_write_sync(other, mud_put_run, mud_doc(false)), IOTSEC_OK);
    analytics_tick(a, now);
    assert_int_equal(ssh_window(a, t += 120, 13), 1);
    analytics_free(a);
    analytics_free(b);
    store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_findings_and_mappings_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_sweep_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mud_changes_reach_other_instances, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
