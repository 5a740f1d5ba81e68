/* Fleet conditions over a real store (SQLite, and PostgreSQL as test_an_conditions_pg): a
 * group's outage opens one row named by the group's name, later windows update it, the
 * first window the fleet recovers closes it; two instances reporting the same outage share
 * one row, and a close by one does not take a row the other saw in that window. The admin
 * findings list filters by the device's group and its provisioning enrollment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "base/err.h"
#include "crypto/seal.h"
#include "provision/provision.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

static const struct seal_kek kek = {.id = 1, .key = {9, 8, 7}};
static char dir[64], key_path[128];
static struct test_db db;
static struct store *store;
static const struct store_migration migrations[] = {
    {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
    {3, "provision", PROVISION_MIGRATION_1, NULL},
    {9, "analytics", ANALYTICS_MIGRATION_1, NULL},
    {18, "provision names", PROVISION_MIGRATION_NAMES, NULL},
    {21, "analytics mud", ANALYTICS_MIGRATION_MUD, NULL},
    {30, "analytics conditions", ANALYTICS_MIGRATION_CONDITIONS, NULL}};

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
    strcpy(dir, "/tmp/iotsec-an-cond-XXXXXX");
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

#define ROWS 8
struct rows {
    struct an_condition_row r[ROWS];
    int n;
};

static void collect(const struct an_condition_row *r, void *ctx)
{
    struct rows *c = ctx;
    if (c->n < ROWS)
        c->r[c->n++] = *r;
}

static struct rows list(struct store *s, enum an_condition_state state, const char *group,
                        int64_t since)
{
    struct rows c = {0};
    struct an_conditions_query q = {.state = state, .target = group, .since = since, .limit = ROWS};
    assert_int_equal(an_store_conditions_list(s, &q, collect, &c), IOTSEC_OK);
    return c;
}

struct report {
    struct an_condition_row r;
    bool cleared;
    bool closed;
};

static int report_run(struct store_conn *conn, void *arg)
{
    struct report *p = arg;
    if (!p->cleared)
        return an_store_condition_seen(conn, &p->r);
    return an_store_condition_close(conn, p->r.kind, p->r.scope, p->r.target, p->r.last_window,
                                    p->r.first_seen, &p->closed);
}

/* Group g's report of window w (failing of 10 members), or its close at w. */
static bool report(struct store *s, const char *g, int64_t w, int failing, bool cleared)
{
    struct report p = {.cleared = cleared};
    snprintf(p.r.kind, sizeof(p.r.kind), "ENDPOINT_UNREACHABLE");
    snprintf(p.r.scope, sizeof(p.r.scope), "group");
    snprintf(p.r.target, sizeof(p.r.target), "%s", g);
    p.r.devices = failing;
    p.r.active = 10;
    p.r.share_pct = (unsigned)(failing * 10);
    if (!cleared && failing > 5) {
        snprintf(p.r.endpoint, sizeof(p.r.endpoint), "198.51.100.7");
        p.r.port = 443;
    }
    p.r.first_seen = w * 60;
    p.r.last_seen = w * 60 + 60;
    p.r.last_window = w;
    assert_int_equal(store_write_sync(s, report_run, &p), IOTSEC_OK);
    return p.closed;
}

static void test_open_update_close_across_instances(void **state)
{
    (void)state;
    struct store *other; /* a second instance on the same database */
    assert_int_equal(open_store(&other), IOTSEC_OK);
    report(store, "building-7-meters", 100, 9, false);
    report(other, "building-7-meters", 100, 8, false); /* the same window seen elsewhere */
    report(store, "cameras", 100, 6, false);
    struct rows c = list(store, AN_COND_OPEN, "building-7-meters", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].windows, 1);
    assert_int_equal(c.r[0].devices, 8); /* the latest report */
    assert_string_equal(c.r[0].endpoint, "198.51.100.7");
    assert_int_equal(c.r[0].port, 443);
    report(other, "building-7-meters", 101, 4, false); /* no endpoint stood out: kept */
    c = list(store, AN_COND_OPEN, "building-7-meters", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].windows, 2);
    assert_int_equal(c.r[0].first_seen, 6000);
    assert_int_equal(c.r[0].last_seen, 6120);
    assert_int_equal(c.r[0].share_pct, 40);
    assert_string_equal(c.r[0].endpoint, "198.51.100.7");
    int64_t first_id = c.r[0].id;

    /* One instance saw window 101 recover, the other still reported it: not closed. */
    assert_false(report(store, "building-7-meters", 101, 0, true));
    assert_int_equal(list(store, AN_COND_OPEN, "building-7-meters", 0).n, 1);
    /* Window 102 recovered: closed at its start; the other group stays open. */
    assert_true(report(store, "building-7-meters", 102, 0, true));
    assert_false(report(other, "building-7-meters", 102, 0, true)); /* closed once */
    assert_int_equal(list(store, AN_COND_OPEN, "building-7-meters", 0).n, 0);
    c = list(store, AN_COND_CLOSED, NULL, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].closed_at, 102 * 60);
    c = list(store, AN_COND_OPEN, NULL, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.r[0].target, "cameras");

    /* A new outage later is a new condition; the closed one stays as it was. */
    report(other, "building-7-meters", 200, 7, false);
    c = list(store, AN_COND_ANY, "building-7-meters", 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].id, first_id);
    assert_true(c.r[1].id > first_id);
    assert_int_equal(c.r[1].windows, 1);
    assert_int_equal(c.r[1].closed_at, 0);
    /* since: last seen at or after */
    c = list(store, AN_COND_ANY, NULL, 200 * 60);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].id, c.r[0].id);
    assert_string_equal(c.r[0].target, "building-7-meters");
    /* paging: one at a time after the cursor */
    struct rows p = {0};
    struct an_conditions_query q = {.after = first_id, .limit = 1};
    assert_int_equal(an_store_conditions_list(store, &q, collect, &p), IOTSEC_OK);
    assert_int_equal(p.n, 1);
    assert_true(p.r[0].id > first_id);
    assert_int_equal(list(store, AN_COND_ANY, "nobody", 0).n, 0);
    store_close(other);
}

static struct analytics *open_instance(void)
{
    struct analytics_options o = {
        .window_s = 60, .key_path = key_path, .kek = &kek, .store = store};
    char err[256];
    struct analytics *a = analytics_new(&o, err, sizeof(err));
    assert_non_null(a);
    return a;
}

/* One window of the fleet 10.0.1.1..10: every member retries the dead cloud (failed) or
 * reaches it (established). */
static void fleet_window(struct analytics *a, double t, bool failing, int members)
{
    static char text[64 * 160];
    size_t len = 0;
    for (int d = 1; d <= members; d++)
        for (int i = 0; i < 4; i++)
            len += (size_t)snprintf(text + len, sizeof(text) - len,
                                    "{\"ts\":%.1f,\"src\":\"10.0.1.%d\",\"dst\":\"198.51.100.7\","
                                    "\"dport\":443,\"proto\":\"tcp\",\"outcome\":\"%s\"}\n",
                                    t + d + i * 0.5, d, failing ? "failed" : "established");
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, len, &r), IOTSEC_OK);
    assert_int_equal(r.unmapped, 0);
}

/* The fleet 10.0.1.1..10 (fleet_window's addresses) mapped into group. */
static void map_fleet(struct analytics *a, const char *group)
{
    char supi[32], ip[32];
    for (int d = 1; d <= 10; d++) {
        snprintf(supi, sizeof(supi), "imsi-0010100000001%02d", d);
        snprintf(ip, sizeof(ip), "10.0.1.%d", d);
        assert_int_equal(analytics_session(a, supi, ip, true, group), IOTSEC_OK);
    }
}

/* The daemon's instance: a fleet retrying its dead cloud is one condition named by the
 * group's name (never its number), no device finding; the condition closes when the fleet
 * recovers. */
static void test_instance_reports_by_group_name(void **state)
{
    (void)state;
    struct analytics *a = open_instance();
    map_fleet(a, "plug-x fleet");
    double t = 1700000040;
    for (int w = 0; w < 3; w++)
        fleet_window(a, t + 60 * w, true, 10);
    fleet_window(a, t + 180, false, 10); /* closes window 2: still failing */
    analytics_flush(a);
    struct rows c = list(store, AN_COND_OPEN, "plug-x fleet", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].windows, 3);
    assert_int_equal(c.r[0].devices, 10);
    assert_int_equal(c.r[0].share_pct, 100);
    assert_string_equal(c.r[0].endpoint, "198.51.100.7");
    assert_int_equal(list(store, AN_COND_ANY, NULL, 0).n, 1); /* by name only */
    struct an_findings_query fq = {.limit = 16};
    json_t *arr;
    assert_int_equal(analytics_findings_list(a, &fq, &arr), IOTSEC_OK);
    assert_int_equal(json_array_size(arr), 0); /* nobody blamed for the outage */
    json_decref(arr);
    fleet_window(a, t + 240, false, 10); /* closes window 3: recovered */
    analytics_flush(a);
    assert_int_equal(list(store, AN_COND_OPEN, NULL, 0).n, 0);
    c = list(store, AN_COND_CLOSED, "plug-x fleet", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].closed_at, (int64_t)(t / 60 + 3) * 60);
    analytics_free(a);
}

/* A restart in the middle of an outage: the new engine does not know the outage it (or
 * another instance) reported, and the group's first healthy window still closes the row left
 * open; while the outage lasts it is the same row, updated. */
static void test_outage_left_open_by_a_restart_closes(void **state)
{
    (void)state;
    struct analytics *a = open_instance();
    map_fleet(a, "plug-y fleet");
    double t = 1700000040;
    fleet_window(a, t, true, 10);
    fleet_window(a, t + 60, true, 10); /* closes window 0: the outage */
    analytics_flush(a);
    analytics_free(a); /* the daemon stops; its mappings stay in the store */
    assert_int_equal(list(store, AN_COND_OPEN, "plug-y fleet", 0).n, 1);

    a = open_instance(); /* the restarted daemon: the outage still on */
    fleet_window(a, t + 120, true, 10);
    fleet_window(a, t + 180, true, 10); /* closes window 2 */
    analytics_flush(a);
    struct rows c = list(store, AN_COND_OPEN, "plug-y fleet", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(list(store, AN_COND_ANY, "plug-y fleet", 0).n, 1); /* the same row */
    analytics_free(a);

    a = open_instance(); /* restarted again, and the cloud is back meanwhile */
    fleet_window(a, t + 300, false, 10);
    fleet_window(a, t + 360, false, 10); /* closes window 5: healthy */
    analytics_flush(a);
    assert_int_equal(list(store, AN_COND_OPEN, "plug-y fleet", 0).n, 0);
    c = list(store, AN_COND_CLOSED, "plug-y fleet", 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].closed_at, (int64_t)(t / 60 + 5) * 60);
    analytics_free(a);
}

static int prov_run(struct store_conn *conn, void *arg)
{
    (void)arg;
    static const char *const sql[] = {
        "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision, created_at,"
        " name) VALUES (5, 'group', 'x509', 3600, 'keep', 1, 'meters-2026')",
        "INSERT INTO prov_registrations(reg_id, enrollment_id, supi, state, created_at,"
        " updated_at) VALUES ('m1', 5, 'imsi-001010000000042', 'assigned', 1, 1)"};
    for (size_t i = 0; i < 2; i++) {
        struct store_stmt *st;
        int rc = store_stmt(conn, sql[i], &st);
        if (rc != IOTSEC_OK)
            return rc;
        if ((rc = store_step(st)) != STORE_DONE)
            return store_error(conn, rc);
    }
    return IOTSEC_OK;
}

/* n flows of a UDP flood from src in the window at t, closed by a record of the next. */
static void flood(struct analytics *a, const char *src, double t)
{
    static char text[310 * 120];
    size_t len = 0;
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "{\"ts\":%.1f,\"src\":\"%s\",\"dst\":\"203.0.113.9\","
                                "\"proto\":\"udp\"}\n",
                                t + i * 0.1, src);
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "{\"ts\":%.1f,\"src\":\"%s\",\"dst\":\"198.51.100.1\"}\n", t + 61, src);
    struct analytics_batch_result r;
    assert_int_equal(analytics_ingest_text(a, AN_FMT_JSONL, text, len, &r), IOTSEC_OK);
    assert_true(r.findings >= 1);
}

static size_t count_findings(struct analytics *a, const char *group, const char *enrollment)
{
    struct an_findings_query q = {.group = group, .enrollment = enrollment, .limit = 16};
    json_t *arr;
    assert_int_equal(analytics_findings_list(a, &q, &arr), IOTSEC_OK);
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

static void test_findings_by_group_and_enrollment(void **state)
{
    (void)state;
    assert_int_equal(store_write_sync(store, prov_run, NULL), IOTSEC_OK);
    struct analytics *a = open_instance();
    assert_int_equal(analytics_session(a, "imsi-001010000000042", "10.0.0.1", true, "b7"),
                     IOTSEC_OK);
    assert_int_equal(analytics_session(a, "imsi-001010000000043", "10.0.0.2", true, "b9"),
                     IOTSEC_OK);
    flood(a, "10.0.0.1", 1700000040);
    flood(a, "10.0.0.2", 1700000040 + 120);
    size_t all = count_findings(a, NULL, NULL);
    assert_true(all >= 2);
    size_t b7 = count_findings(a, "b7", NULL), b9 = count_findings(a, "b9", NULL);
    assert_true(b7 >= 1 && b9 >= 1);
    assert_int_equal(b7 + b9, all);
    assert_int_equal(count_findings(a, "b8", NULL), 0);
    assert_int_equal(count_findings(a, NULL, "meters-2026"), b7); /* by name */
    assert_int_equal(count_findings(a, NULL, "5"), b7);           /* by id */
    assert_int_equal(count_findings(a, NULL, "6"), 0);
    assert_int_equal(count_findings(a, "b9", "meters-2026"), 0); /* both must hold */
    analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_update_close_across_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_reports_by_group_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_left_open_by_a_restart_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_findings_by_group_and_enrollment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
