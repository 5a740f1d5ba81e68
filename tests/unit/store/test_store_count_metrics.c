/* store_count_metrics: a GROUP BY as Prometheus samples, label values escaped (a value from
 * the database must not break the exposition), no labels, an SQL error returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/count_metrics.h"
#include "store_test_util.h"

static struct tmpdb db;
static struct store *s;

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&db);
    s = open_test_store(db.path, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    tmpdb_remove(&db);
    return 0;
}

static void test_labels_escaped(void **state)
{
    (void)state;
    struct strbuf out = {0};
    static const char *const labels[] = {"action", "outcome"};
    assert_int_equal(store_count_metrics(s,
                                         "SELECT 'quar\"ant\\ine', 'ok', 2 UNION ALL "
                                         "SELECT 'release', 'fail', 5",
                                         "iotsec_x_total", "counter", "Things.", labels, 2, &out),
                     IOTSEC_OK);
    assert_string_equal(out.data, "# HELP iotsec_x_total Things.\n"
                                  "# TYPE iotsec_x_total counter\n"
                                  "iotsec_x_total{action=\"quar\\\"ant\\\\ine\",outcome=\"ok\"} 2\n"
                                  "iotsec_x_total{action=\"release\",outcome=\"fail\"} 5\n");
    strbuf_free(&out);
}

static void test_no_labels_and_no_rows(void **state)
{
    (void)state;
    struct strbuf out = {0};
    assert_int_equal(store_count_metrics(s, "SELECT count(*) FROM items", "iotsec_items", "gauge",
                                         "Items.", NULL, 0, &out),
                     IOTSEC_OK);
    assert_string_equal(out.data, "# HELP iotsec_items Items.\n# TYPE iotsec_items gauge\n"
                                  "iotsec_items 0\n");
    strbuf_free(&out);
    static const char *const labels[] = {"thread"};
    assert_int_equal(store_count_metrics(s, "SELECT thread, count(*) FROM items GROUP BY thread",
                                         "iotsec_by", "gauge", "By thread.", labels, 1, &out),
                     IOTSEC_OK);
    assert_string_equal(out.data, "# HELP iotsec_by By thread.\n# TYPE iotsec_by gauge\n");
    strbuf_free(&out);
}

static void test_sql_error_returned(void **state)
{
    (void)state;
    struct strbuf out = {0};
    assert_int_not_equal(store_count_metrics(s, "SELECT count(*) FROM no_such_table", "m", "gauge",
                                             "h", NULL, 0, &out),
                         IOTSEC_OK);
    strbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_escaped),
        cmocka_unit_test(test_no_labels_and_no_rows),
        cmocka_unit_test(test_sql_error_returned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
