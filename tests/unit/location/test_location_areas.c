/* The location capability over its API: events update state, areas raise findings (cells,
 * TAs, circle, polygon, stationary, unknown cell position), unrestricted devices are never
 * checked, stale reports change nothing, the table stays bounded, counts are suppressed below
 * k and filtered by consent, watches stop at once when removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "location/location.h"

#define T0 1763881200000LL

struct seen {
    int events, findings;
    char cause[64];
    char supi[LOC_SUPI_MAX];
};

static void on_event(void *ctx, const struct ue_event *ev)
{
    struct seen *s = ctx;
    s->events++;
    snprintf(s->supi, sizeof(s->supi), "%s", ev->supi);
}

static void on_finding(void *ctx, const struct location_finding *f)
{
    struct seen *s = ctx;
    s->findings++;
    assert_string_equal(f->exception_id, "UNEXPECTED_UE_LOCATION");
    snprintf(s->cause, sizeof(s->cause), "%s", f->cause);
}

static struct ue_event at(const char *supi, int64_t t, uint32_t tac, uint64_t cell)
{
    struct ue_event ev = {.time_ms = t, .kind = UE_EV_LOCATION_REPORT, .has_tai = true,
                          .has_ncgi = true};
    snprintf(ev.supi, sizeof(ev.supi), "%s", supi);
    strcpy(ev.tai.plmn, "00101");
    ev.tai.tac = tac;
    strcpy(ev.ncgi.plmn, "00101");
    ev.ncgi.nr_cell_id = cell;
    return ev;
}

static struct location *fresh(struct seen *s, const struct location_config *cfg)
{
    struct location *loc;
    assert_int_equal(location_new(cfg, &loc), IOTSEC_OK);
    assert_int_equal(location_observe(loc, on_event, s), IOTSEC_OK);
    assert_int_equal(location_on_finding(loc, on_finding, s), IOTSEC_OK);
    return loc;
}

static void cells_and_unrestricted(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    struct ncgi allowed[] = {{"00101", 0x10}, {"00101", 0x11}};
    struct loc_area a = {.kind = LOC_AREA_CELLS, .n = 2, .cells = allowed};
    assert_int_equal(location_set_area(loc, "imsi-001010000000001", &a), IOTSEC_OK);
    struct ue_event ev = at("imsi-001010000000001", T0, 1, 0x11);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    assert_int_equal(s.findings, 0);
    ev = at("imsi-001010000000001", T0 + 1, 1, 0x12);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    assert_int_equal(s.findings, 1);
    assert_string_equal(s.cause, "OUTSIDE_AUTHORISED_AREA");
    struct ue_state st;
    assert_int_equal(location_state(loc, "imsi-001010000000001", &st), IOTSEC_OK);
    assert_true(st.outside_area);
    assert_true(st.ncgi.nr_cell_id == 0x12);
    /* same PLMN digits but another cell id, and another PLMN with the same cell id */
    ev = at("imsi-001010000000001", T0 + 2, 1, 0x10);
    strcpy(ev.ncgi.plmn, "00102");
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    assert_int_equal(s.findings, 2);
    /* an unrestricted device is never checked */
    ev = at("imsi-001010000000002", T0, 9, 0x999);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    assert_int_equal(s.findings, 2);
    assert_int_equal(s.events, 4);
    /* removing the area ends the checks */
    assert_int_equal(location_set_area(loc, "imsi-001010000000001", NULL), IOTSEC_OK);
    ev = at("imsi-001010000000001", T0 + 3, 1, 0x77);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    assert_int_equal(s.findings, 2);
    location_free(loc);
}

static void tas_circle_polygon(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    struct tai tas[] = {{"00101", 0x000001}};
    struct loc_area ta = {.kind = LOC_AREA_TAS, .n = 1, .tas = tas};
    assert_int_equal(location_set_area(loc, "imsi-001010000000001", &ta), IOTSEC_OK);
    struct ue_event ev = at("imsi-001010000000001", T0, 1, 0x1);
    location_ingest(loc, &ev);
    ev = at("imsi-001010000000001", T0 + 1, 2, 0x1);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 1);

    /* cell 0x20 at the centre, 0x21 ~1.1 km north, 0x22 unknown */
    assert_int_equal(location_set_cell_position(loc, &(struct ncgi){"00101", 0x20},
                                                (struct geo_point){45.0, 7.0}), IOTSEC_OK);
    assert_int_equal(location_set_cell_position(loc, &(struct ncgi){"00101", 0x21},
                                                (struct geo_point){45.01, 7.0}), IOTSEC_OK);
    struct loc_area c = {.kind = LOC_AREA_CIRCLE, .center = {45.0, 7.0}, .radius_m = 1000};
    assert_int_equal(location_set_area(loc, "imsi-001010000000002", &c), IOTSEC_OK);
    ev = at("imsi-001010000000002", T0, 1, 0x20);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 1);
    ev = at("imsi-001010000000002", T0 + 1, 1, 0x21);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 2);
    c.radius_m = 1200; /* replacing the area takes effect at once */
    assert_int_equal(location_set_area(loc, "imsi-001010000000002", &c), IOTSEC_OK);
    ev = at("imsi-001010000000002", T0 + 2, 1, 0x21);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 2);
    ev = at("imsi-001010000000002", T0 + 3, 1, 0x22);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 3);
    assert_string_equal(s.cause, "CELL_POSITION_UNKNOWN");

    struct geo_point tri[] = {{44.99, 6.99}, {44.99, 7.01}, {45.005, 7.0}};
    struct loc_area p = {.kind = LOC_AREA_POLYGON, .n = 3, .polygon = tri};
    assert_int_equal(location_set_area(loc, "imsi-001010000000003", &p), IOTSEC_OK);
    ev = at("imsi-001010000000003", T0, 1, 0x20);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 3);
    ev = at("imsi-001010000000003", T0 + 1, 1, 0x21);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 4);
    assert_string_equal(s.cause, "OUTSIDE_AUTHORISED_AREA");
    location_free(loc);
}

static void stationary_and_stale(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    struct loc_area st = {.kind = LOC_AREA_NONE, .stationary = true};
    assert_int_equal(location_set_area(loc, "imsi-001010000000001", &st), IOTSEC_OK);
    struct ue_event ev = at("imsi-001010000000001", T0, 1, 0x5);
    location_ingest(loc, &ev); /* anchors */
    ev.time_ms++;
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 0);
    ev = at("imsi-001010000000001", T0 + 2, 1, 0x6);
    location_ingest(loc, &ev);
    assert_int_equal(s.findings, 1);
    assert_string_equal(s.cause, "STATIONARY_DEVICE_MOVED");
    /* an older report than the state held changes nothing */
    ev = at("imsi-001010000000001", T0 - 1000, 1, 0x5);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_ERR_STATE);
    struct ue_state us;
    location_state(loc, "imsi-001010000000001", &us);
    assert_true(us.ncgi.nr_cell_id == 0x6);
    /* invalid events are refused and counted */
    ev = at("imsi-0010", T0 + 5, 1, 0x5);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_ERR_INVALID);
    ev = at("imsi-001010000000001", T0 + 5, 0x1000000, 0x5);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_ERR_INVALID);
    ev = at("imsi-001010000000001", T0 + 5, 1, LOC_NR_CELL_MAX + 1);
    assert_int_equal(location_ingest(loc, &ev), IOTSEC_ERR_INVALID);
    struct location_metrics m;
    location_metrics_get(loc, &m);
    assert_true(m.invalid == 3 && m.stale == 1 && m.findings == 1);
    location_free(loc);
}

static void loss_and_reachability(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    struct ue_event ev = at("imsi-001010000000001", T0, 1, 0x5);
    location_ingest(loc, &ev);
    struct ue_event lost = {.time_ms = T0 + 10, .kind = UE_EV_LOSS_OF_CONNECTIVITY};
    strcpy(lost.supi, "imsi-001010000000001");
    assert_int_equal(location_ingest(loc, &lost), IOTSEC_OK);
    struct ue_state us;
    location_state(loc, "imsi-001010000000001", &us);
    assert_true(us.lost && us.reachability == UE_REACH_UNREACHABLE);
    assert_true(us.ncgi.nr_cell_id == 0x5); /* the last known location is kept */
    struct ue_event back = {.time_ms = T0 + 20, .kind = UE_EV_REACHABILITY,
                            .reachability = UE_REACH_REACHABLE};
    strcpy(back.supi, "imsi-001010000000001");
    location_ingest(loc, &back);
    location_state(loc, "imsi-001010000000001", &us);
    assert_false(us.lost);
    location_free(loc);
}

static void bounded_table(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location_config cfg = {.max_devices = 64}; /* one per shard, plus one */
    struct location *loc = fresh(&s, &cfg);
    char supi[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(supi, sizeof(supi), "imsi-00101%010d", i);
        struct ue_event ev = at(supi, T0 + i, 1, 1);
        assert_int_equal(location_ingest(loc, &ev), IOTSEC_OK);
    }
    struct location_metrics m;
    location_metrics_get(loc, &m);
    assert_true(m.devices <= 64 + 64);
    assert_true(m.evicted >= 5000 - 128);
    /* the most recent device is still known */
    struct ue_state us;
    assert_int_equal(location_state(loc, supi, &us), IOTSEC_OK);
    location_free(loc);
}

static bool even_only(void *ctx, const uint8_t key[LOC_KEY_LEN])
{
    struct location *loc = ctx;
    char supi[32];
    uint8_t k[LOC_KEY_LEN];
    for (int i = 0; i < 40; i += 2) {
        snprintf(supi, sizeof(supi), "imsi-00101%010d", i);
        location_device_key(loc, supi, k);
        if (memcmp(k, key, LOC_KEY_LEN) == 0)
            return true;
    }
    return false;
}

static void counts_k_anonymity(void **state)
{
    (void)state;
    assert_true(location_count_suppressed(9, 10));
    assert_true(location_count_suppressed(0, 10));
    assert_true(location_count_suppressed(1, 10));
    assert_false(location_count_suppressed(10, 10));
    assert_false(location_count_suppressed(0, 0));
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    char supi[32];
    for (int i = 0; i < 40; i++) { /* 30 in TA 1, 10 in TA 2 */
        snprintf(supi, sizeof(supi), "imsi-00101%010d", i);
        struct ue_event ev = at(supi, T0, i < 30 ? 1 : 2, 100 + (uint64_t)i);
        location_ingest(loc, &ev);
    }
    struct tai ta1[] = {{"00101", 1}}, ta2[] = {{"00101", 2}};
    struct loc_area a1 = {.kind = LOC_AREA_TAS, .n = 1, .tas = ta1};
    struct loc_area a2 = {.kind = LOC_AREA_TAS, .n = 1, .tas = ta2};
    uint64_t n;
    bool sup;
    assert_int_equal(location_count_in_area(loc, &a1, T0, 0, NULL, NULL, 10, &n, &sup), IOTSEC_OK);
    assert_true(n == 30 && !sup);
    /* consent filter: only the even ones; TA 2 holds 5 of them: below k */
    assert_int_equal(location_count_in_area(loc, &a2, T0, 0, even_only, loc, 10, &n, &sup),
                     IOTSEC_OK);
    assert_true(n == 0 && sup);
    assert_int_equal(location_count_in_area(loc, &a1, T0, 0, even_only, loc, 10, &n, &sup),
                     IOTSEC_OK);
    assert_true(n == 15 && !sup);
    assert_int_equal(location_count_in_area(loc, &a2, T0, 0, even_only, loc, 5, &n, &sup),
                     IOTSEC_OK);
    assert_true(n == 5 && !sup);
    /* too old: not counted */
    assert_int_equal(location_count_in_area(loc, &a1, T0 + 60000, 1000, NULL, NULL, 1, &n, &sup),
                     IOTSEC_OK);
    assert_true(n == 0 && sup);
    struct loc_area bad = {.kind = LOC_AREA_NONE, .stationary = true};
    assert_int_equal(location_count_in_area(loc, &bad, T0, 0, NULL, NULL, 1, &n, &sup),
                     IOTSEC_ERR_INVALID);
    location_free(loc);
}

struct wctx {
    int events, findings;
};

static void on_watch(void *ctx, const struct ue_event *ev, const struct location_finding *f)
{
    struct wctx *w = ctx;
    (void)ev;
    if (f)
        w->findings++;
    else
        w->events++;
}

static void watches(void **state)
{
    (void)state;
    struct seen s = {0};
    struct location *loc = fresh(&s, NULL);
    uint8_t key[LOC_KEY_LEN];
    location_device_key(loc, "imsi-001010000000001", key);
    struct wctx w1 = {0}, w2 = {0};
    uint64_t id1, id2;
    assert_int_equal(location_watch(loc, key, 1u << UE_EV_LOCATION_REPORT, on_watch, &w1, &id1),
                     IOTSEC_OK);
    assert_int_equal(location_watch(loc, key, 1u << UE_EV_LOSS_OF_CONNECTIVITY | LOC_WATCH_FINDING,
                                    on_watch, &w2, &id2), IOTSEC_OK);
    struct ncgi allowed[] = {{"00101", 0x10}};
    struct loc_area a = {.kind = LOC_AREA_CELLS, .n = 1, .cells = allowed};
    location_set_area(loc, "imsi-001010000000001", &a);
    struct ue_event ev = at("imsi-001010000000001", T0, 1, 0x10);
    location_ingest(loc, &ev);
    ev = at("imsi-001010000000001", T0 + 1, 1, 0x11);
    location_ingest(loc, &ev);
    ev = at("imsi-001010000000002", T0 + 1, 1, 0x11); /* another device */
    location_ingest(loc, &ev);
    assert_int_equal(w1.events, 2);
    assert_int_equal(w2.events, 0);
    assert_int_equal(w2.findings, 1);
    assert_int_equal(location_unwatch(loc, id1), IOTSEC_OK);
    assert_int_equal(location_unwatch(loc, id1), IOTSEC_ERR_NOTFOUND);
    ev = at("imsi-001010000000001", T0 + 2, 1, 0x10);
    location_ingest(loc, &ev);
    assert_int_equal(w1.events, 2); /* stopped at once */
    /* per-device limit */
    uint64_t id;
    int rc = IOTSEC_OK, made = 1;
    while ((rc = location_watch(loc, key, 2, on_watch, &w1, &id)) == IOTSEC_OK)
        made++;
    assert_int_equal(rc, IOTSEC_ERR_BUSY);
    assert_int_equal(made, 64);
    location_free(loc); /* frees the remaining watches */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cells_and_unrestricted), cmocka_unit_test(tas_circle_polygon),
        cmocka_unit_test(stationary_and_stale),   cmocka_unit_test(loss_and_reachability),
        cmocka_unit_test(bounded_table),          cmocka_unit_test(counts_k_anonymity),
        cmocka_unit_test(watches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
