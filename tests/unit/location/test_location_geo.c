/* Geometry of authorised areas: circle distances and polygon edge cases (on an edge, on a
 * vertex, concave notches, degenerate input), and area validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "base/err.h"
#include "location/location.h"

static void distance_known_values(void **state)
{
    (void)state;
    struct geo_point paris = {48.8566, 2.3522}, london = {51.5074, -0.1278};
    double d = geo_distance_m(paris, london);
    assert_true(d > 340000 && d < 345000); /* 343.5 km */
    assert_true(geo_distance_m(paris, paris) == 0);
    /* one degree of latitude is ~111.2 km everywhere */
    double one = geo_distance_m((struct geo_point){10, 20}, (struct geo_point){11, 20});
    assert_true(fabs(one - 111195) < 50);
    /* antipodes do not overflow asin */
    double far = geo_distance_m((struct geo_point){0, 0}, (struct geo_point){0, 180});
    assert_true(far > 20015000 && far < 20016000);
}

static const struct geo_point square[] = {{0, 0}, {0, 1}, {1, 1}, {1, 0}};

static void polygon_inside_outside_edges(void **state)
{
    (void)state;
    assert_true(geo_in_polygon((struct geo_point){0.5, 0.5}, square, 4));
    assert_false(geo_in_polygon((struct geo_point){1.5, 0.5}, square, 4));
    assert_false(geo_in_polygon((struct geo_point){-0.0001, 0.5}, square, 4));
    /* the boundary belongs to the area: edges and vertices */
    assert_true(geo_in_polygon((struct geo_point){0, 0.5}, square, 4));
    assert_true(geo_in_polygon((struct geo_point){1, 1}, square, 4));
    assert_true(geo_in_polygon((struct geo_point){0.5, 1}, square, 4));
    /* a ray through a vertex is counted once */
    static const struct geo_point diamond[] = {{0, 1}, {1, 2}, {2, 1}, {1, 0}};
    assert_true(geo_in_polygon((struct geo_point){1, 1}, diamond, 4));
    assert_false(geo_in_polygon((struct geo_point){1, -0.5}, diamond, 4));
    assert_false(geo_in_polygon((struct geo_point){1, 2.5}, diamond, 4));
}

static void polygon_concave_and_degenerate(void **state)
{
    (void)state;
    /* a U: the notch between the arms is outside */
    static const struct geo_point u[] = {{0, 0}, {0, 3}, {3, 3}, {3, 2}, {1, 2}, {1, 1}, {3, 1},
                                         {3, 0}};
    assert_true(geo_in_polygon((struct geo_point){2, 0.5}, u, 8));
    assert_true(geo_in_polygon((struct geo_point){2, 2.5}, u, 8));
    assert_false(geo_in_polygon((struct geo_point){2, 1.5}, u, 8));
    assert_true(geo_in_polygon((struct geo_point){0.5, 1.5}, u, 8));
    /* fewer than 3 vertices or none: nothing is inside */
    assert_false(geo_in_polygon((struct geo_point){0, 0}, square, 2));
    assert_false(geo_in_polygon((struct geo_point){0, 0}, NULL, 4));
}

static void area_validation(void **state)
{
    (void)state;
    struct loc_area a = {.kind = LOC_AREA_CIRCLE, .center = {45, 7}, .radius_m = 100};
    assert_int_equal(loc_area_validate(&a), IOTSEC_OK);
    a.radius_m = 0;
    assert_int_equal(loc_area_validate(&a), IOTSEC_ERR_INVALID);
    a.radius_m = NAN;
    assert_int_equal(loc_area_validate(&a), IOTSEC_ERR_INVALID);
    a.radius_m = 10;
    a.center.lat = 91;
    assert_int_equal(loc_area_validate(&a), IOTSEC_ERR_INVALID);
    struct loc_area p = {.kind = LOC_AREA_POLYGON, .n = 2, .polygon = (struct geo_point *)square};
    assert_int_equal(loc_area_validate(&p), IOTSEC_ERR_INVALID);
    p.n = 4;
    assert_int_equal(loc_area_validate(&p), IOTSEC_OK);
    p.n = LOC_AREA_MAX + 1;
    assert_int_equal(loc_area_validate(&p), IOTSEC_ERR_INVALID);
    struct loc_area none = {.kind = LOC_AREA_NONE};
    assert_int_equal(loc_area_validate(&none), IOTSEC_ERR_INVALID);
    none.stationary = true;
    assert_int_equal(loc_area_validate(&none), IOTSEC_OK);
    struct loc_area cells = {.kind = LOC_AREA_CELLS, .n = 0};
    assert_int_equal(loc_area_validate(&cells), IOTSEC_ERR_INVALID);
}

static void times(void **state)
{
    (void)state;
    assert_true(loc_parse_time("1970-01-01T00:00:01Z") == 1000);
    assert_true(loc_parse_time("1970-01-01T00:00:01.25Z") == 1250);
    assert_true(loc_parse_time("1970-01-01T01:00:01+01:00") == 1000);
    assert_true(loc_parse_time("1970-01-01T00:00:01") == -1);
    assert_true(loc_parse_time("1970-01-01 00:00:01Z") == -1);
    assert_true(loc_parse_time("1970-13-01T00:00:01Z") == -1);
    assert_true(loc_parse_time("1970-01-01T00:00:01Zjunk") == -1);
    assert_true(loc_parse_time("1970-01-01T00:00:01.Z") == -1);
    assert_true(loc_parse_time(NULL) == -1);
    char out[32];
    loc_format_time(1763881200000, out);
    assert_string_equal(out, "2025-11-23T07:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distance_known_values),
        cmocka_unit_test(polygon_inside_outside_edges),
        cmocka_unit_test(polygon_concave_and_degenerate),
        cmocka_unit_test(area_validation),
        cmocka_unit_test(times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
