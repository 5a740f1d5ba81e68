/* The location history (location.h): the area check each fix records (location_ingest_fix),
 * the fixes' rows written and paged newest first with a cursor and a time range, and the
 * retention sweep (count and age limits, its walk of the devices, one instance at a time).
 * Runs on SQLite and, as test_location_history_pg, on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "location/location.h"
#include "store/store.h"
#include "test_db.h"

struct fixture {
    struct test_db db;
    struct store *store, *other; /* other: a second instance on the same database */
};

static int open_store(struct fixture *f, const char *instance, struct store **out)
{
    static const struct store_migration m[] = {
        {32, "location history", LOCATION_MIGRATION_HISTORY, NULL}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 1;
    int rc = store_open(f->db.target, &opt, out);
    if (rc == IOTSEC_OK)
        store_set_instance(*out, instance);
    return rc;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    if (open_store(f, "a", &f->store) != IOTSEC_OK || open_store(f, "b", &f->other) != IOTSEC_OK)
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

static struct location_fix fix(const char *supi, int64_t t, uint64_t cell, enum loc_fix_check c)
{
    struct location_fix x = {.time_ms = t, .has_ncgi = true, .check = c};
    snprintf(x.supi, sizeof(x.supi), "%s", supi);
    strcpy(x.ncgi.plmn, "00101");
    x.ncgi.nr_cell_id = cell;
    if (c == LOC_FIX_OUTSIDE)
        x.cause = "OUTSIDE_AUTHORISED_AREA";
    if (cell % 2) { /* some with a TA too, some without */
        x.has_tai = true;
        strcpy(x.tai.plmn, "00101");
        x.tai.tac = (uint32_t)cell;
    }
    return x;
}

struct write {
    const struct location_fix *f;
    size_t n;
};

static int write_run(struct store_conn *conn, void *arg)
{
    struct write *w = arg;
    return location_store_fixes(conn, w->f, w->n);
}

static void put(struct fixture *f, const struct location_fix *x, size_t n)
{
    struct write w = {x, n};
    assert_int_equal(store_write_sync(f->store, write_run, &w), IOTSEC_OK);
}

struct got {
    struct location_fix f[64];
    size_t n;
};

static void collect(void *ctx, const struct location_fix *x)
{
    struct got *g = ctx;
    assert_true(g->n < 64);
    g->f[g->n] = *x;
    if (x->cause) /* the copy's cause points into the copy */
        g->f[g->n].cause = g->f[g->n].cause_buf;
    g->n++;
}

static size_t count(struct fixture *f, const char *supi)
{
    struct got g = {0};
    assert_int_equal(location_store_fixes_page(f->store, supi, 0, INT64_MAX, 0, 0, 64, collect, &g),
                     IOTSEC_OK);
    return g.n;
}

/* 11 fixes (one 8-row INSERT and three single ones), read back in pages of 4, newest first,
 * each field as written; equal times ordered by id; since inclusive, until exclusive. */
static void test_write_and_page(void **state)
{
    struct fixture *f = *state;
    struct location_fix in[11];
    for (int i = 0; i < 11; i++)
        in[i] = fix("imsi-001010000000001", 1000 + (i < 10 ? i : 9), 0x100 + (uint64_t)i,
                    i % 3 == 0   ? LOC_FIX_OUTSIDE
                    : i % 3 == 1 ? LOC_FIX_INSIDE
                                 : LOC_FIX_UNRESTRICTED);
    put(f, in, 11);
    struct location_fix other = fix("imsi-001010000000002", 1005, 7, LOC_FIX_INSIDE);
    put(f, &other, 1);

    struct got all = {0};
    int64_t bt = 0, bid = 0;
    for (int page = 0; page < 4; page++) {
        struct got g = {0};
        assert_int_equal(location_store_fixes_page(f->store, "imsi-001010000000001", 0, INT64_MAX,
                                                   bt, bid, 4, collect, &g),
                         IOTSEC_OK);
        assert_int_equal(g.n, page < 2 ? 4 : page == 2 ? 3 : 0);
        for (size_t i = 0; i < g.n; i++)
            all.f[all.n++] = g.f[i];
        if (g.n) {
            bt = g.f[g.n - 1].time_ms;
            bid = g.f[g.n - 1].id;
        }
    }
    assert_int_equal(all.n, 11);
    /* Newest first: in[10] and in[9] share time 1009, the later row (in[10]) first. */
    for (size_t i = 0; i < 11; i++) {
        const struct location_fix *w = &in[10 - i], *g = &all.f[i];
        assert_int_equal(g->time_ms, w->time_ms);
        assert_int_equal(g->ncgi.nr_cell_id, w->ncgi.nr_cell_id);
        assert_string_equal(g->ncgi.plmn, "00101");
        assert_int_equal(g->has_tai, w->has_tai);
        if (w->has_tai)
            assert_int_equal(g->tai.tac, w->tai.tac);
        assert_int_equal(g->check, w->check);
        if (w->cause) /* g->cause pointed into the page's copy: its text is in cause_buf */
            assert_string_equal(g->cause_buf, w->cause);
        else
            assert_null(g->cause);
        if (i)
            assert_true(g->time_ms < all.f[i - 1].time_ms ||
                        (g->time_ms == all.f[i - 1].time_ms && g->id < all.f[i - 1].id));
    }
    struct got r = {0};
    assert_int_equal(location_store_fixes_page(f->store, "imsi-001010000000001", 1002, 1005, 0, 0,
                                               64, collect, &r),
                     IOTSEC_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.f[0].time_ms, 1004);
    assert_int_equal(r.f[2].time_ms, 1002);
    assert_int_equal(count(f, "imsi-001010000000003"), 0);
}

struct trim {
    char cursor[LOC_SUPI_MAX];
    size_t chunk;
    unsigned max;
    int64_t before;
    uint64_t deleted;
};

static int trim_run(struct store_conn *conn, void *arg)
{
    struct trim *t = arg;
    return location_store_fixes_trim(conn, t->cursor, t->chunk, t->max, t->before, &t->deleted);
}

/* Three devices of 6 fixes each; a walk of one device per job keeps the 4 newest of each and
 * none before time 103, moving its cursor on and back to "" at the end. */
static void test_trim_walk(void **state)
{
    struct fixture *f = *state;
    const char *dev[3] = {"imsi-001010000000011", "imsi-001010000000012", "imsi-001010000000013"};
    struct location_fix in[18];
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 6; i++)
            in[d * 6 + i] = fix(dev[d], 100 + i + (d == 2 ? 10 : 0), (uint64_t)i, LOC_FIX_INSIDE);
    put(f, in, 18);
    struct trim t = {"", 1, 4, 103, 0};
    uint64_t total = 0;
    for (int step = 0; step < 3; step++) {
        assert_int_equal(store_write_sync(f->store, trim_run, &t), IOTSEC_OK);
        total += t.deleted;
        assert_string_equal(t.cursor, dev[step]); /* a full chunk: the walk goes on */
    }
    assert_int_equal(store_write_sync(f->store, trim_run, &t), IOTSEC_OK);
    assert_string_equal(t.cursor, ""); /* the end: the next walk starts again */
    assert_int_equal(t.deleted, 0);
    /* dev 0 and 1: times 100..105, age keeps 103..105 (3); dev 2: 110..115, count keeps 4. */
    assert_int_equal(total, 3 + 3 + 2);
    assert_int_equal(count(f, dev[0]), 3);
    assert_int_equal(count(f, dev[1]), 3);
    assert_int_equal(count(f, dev[2]), 4);
    struct got g = {0};
    assert_int_equal(
        location_store_fixes_page(f->store, dev[2], 0, INT64_MAX, 0, 0, 64, collect, &g),
        IOTSEC_OK);
    assert_int_equal(g.f[3].time_ms, 112); /* the newest four: 115..112 */
    /* No limits (0, INT64_MIN): nothing goes. */
    struct trim none = {"", 10, 0, INT64_MIN, 0};
    assert_int_equal(store_write_sync(f->store, trim_run, &none), IOTSEC_OK);
    assert_int_equal(none.deleted, 0);
}

static int noop(struct store_conn *conn, void *arg)
{
    (void)conn;
    (void)arg;
    return IOTSEC_OK;
}

/* Two instances: the one holding the sweep's lease trims; the other's sweep does nothing.
 * Also: the background writes land, and history off (max_fixes 0) writes nothing. */
static void test_sweep_one_instance(void **state)
{
    struct fixture *f = *state;
    struct location_history_config c = {2, 0};
    struct location_history *a, *b, *off;
    assert_int_equal(location_history_new(f->store, &c, &a), IOTSEC_OK);
    assert_int_equal(location_history_new(f->other, &c, &b), IOTSEC_OK);
    struct location_history_config c0 = {0, 0};
    assert_int_equal(location_history_new(f->store, &c0, &off), IOTSEC_OK);
    struct location_fix *x = calloc(5, sizeof(*x));
    for (int i = 0; i < 5; i++)
        x[i] = fix("imsi-001010000000021", 200 + i, 1, LOC_FIX_INSIDE);
    location_history_submit(a, x, 5); /* takes x */
    x = calloc(1, sizeof(*x));
    x[0] = fix("imsi-001010000000022", 200, 1, LOC_FIX_INSIDE);
    location_history_submit(off, x, 1);
    assert_int_equal(store_write_sync(f->store, noop, NULL), IOTSEC_OK); /* after the jobs */
    assert_int_equal(count(f, "imsi-001010000000021"), 5);
    assert_int_equal(count(f, "imsi-001010000000022"), 0);

    location_history_sweep(a, 1000000);
    assert_int_equal(store_write_sync(f->store, noop, NULL), IOTSEC_OK);
    assert_int_equal(count(f, "imsi-001010000000021"), 2);
    x = calloc(3, sizeof(*x));
    for (int i = 0; i < 3; i++)
        x[i] = fix("imsi-001010000000021", 300 + i, 1, LOC_FIX_INSIDE);
    location_history_submit(a, x, 3);
    assert_int_equal(store_write_sync(f->store, noop, NULL), IOTSEC_OK);
    location_history_sweep(b, 1000001); /* a holds the lease: b leaves it */
    assert_int_equal(store_write_sync(f->other, noop, NULL), IOTSEC_OK);
    assert_int_equal(count(f, "imsi-001010000000021"), 5);
    location_history_sweep(a, 1000002);
    assert_int_equal(store_write_sync(f->store, noop, NULL), IOTSEC_OK);
    assert_int_equal(count(f, "imsi-001010000000021"), 2);
    struct location_history_metrics m;
    location_history_metrics_get(a, &m);
    assert_int_equal(m.written, 8);
    assert_int_equal(m.swept, 6);
    location_history_metrics_get(b, &m);
    assert_int_equal(m.swept, 0);
    location_history_free(a);
    location_history_free(b);
    location_history_free(off);
}

/* The area check a fix records: unrestricted, inside, outside (with the finding's cause);
 * an event without a location is no fix; a stale one is none either. */
static void test_ingest_fix(void **state)
{
    (void)state;
    struct location *loc;
    assert_int_equal(location_new(NULL, &loc), IOTSEC_OK);
    struct ncgi cell = {"00101", 0x10};
    struct loc_area area = {.kind = LOC_AREA_CELLS, .n = 1, .cells = &cell};
    assert_int_equal(location_set_area(loc, "imsi-001010000000031", &area), IOTSEC_OK);
    struct ue_event ev = {.supi = "imsi-001010000000030",
                          .time_ms = 1000,
                          .kind = UE_EV_LOCATION_REPORT,
                          .has_ncgi = true,
                          .ncgi = {"00101", 0x10}};
    bool is_fix;
    enum loc_fix_check c;
    const char *cause;
    assert_int_equal(location_ingest_fix(loc, &ev, &is_fix, &c, &cause), IOTSEC_OK);
    assert_true(is_fix);
    assert_int_equal(c, LOC_FIX_UNRESTRICTED);
    strcpy(ev.supi, "imsi-001010000000031");
    assert_int_equal(location_ingest_fix(loc, &ev, &is_fix, &c, &cause), IOTSEC_OK);
    assert_int_equal(c, LOC_FIX_INSIDE);
    assert_null(cause);
    ev.time_ms = 2000;
    ev.ncgi.nr_cell_id = 0x11;
    assert_int_equal(location_ingest_fix(loc, &ev, &is_fix, &c, &cause), IOTSEC_OK);
    assert_true(is_fix);
    assert_int_equal(c, LOC_FIX_OUTSIDE);
    assert_string_equal(cause, "OUTSIDE_AUTHORISED_AREA");
    ev.time_ms = 1500; /* older than the last location: stale */
    assert_int_equal(location_ingest_fix(loc, &ev, &is_fix, &c, &cause), IOTSEC_ERR_STATE);
    assert_false(is_fix);
    struct ue_event reg = {.supi = "imsi-001010000000031",
                           .time_ms = 3000,
                           .kind = UE_EV_REGISTRATION_STATE,
                           .registered = true};
    assert_int_equal(location_ingest_fix(loc, &reg, &is_fix, &c, &cause), IOTSEC_OK);
    assert_false(is_fix);
    location_free(loc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_one_instance, setup, teardown),
        cmocka_unit_test(test_ingest_fix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
