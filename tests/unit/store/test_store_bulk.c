/* store_bulk_*: many rows into a table (COPY on PostgreSQL, one prepared INSERT per row on
 * SQLite) with integers, text, NULLs and blobs holding zero bytes; a duplicate key fails the
 * bulk and nothing of it is kept; in a batched job a failed bulk is undone alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "store_test_util.h"

static struct tmpdb db;
static struct store *s;

static int make_blobs(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, store_conn_engine(c) == STORE_ENGINE_POSTGRESQL
                             ? "CREATE TABLE blobs (k TEXT PRIMARY KEY, v BYTEA NOT NULL)"
                             : "CREATE TABLE blobs (k TEXT PRIMARY KEY, v BLOB NOT NULL)");
}

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&db);
    s = open_test_store(db.path, NULL);
    return store_write_sync(s, make_blobs, NULL) == IOTSEC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    tmpdb_remove(&db);
    return 0;
}

struct load {
    int rows;
    int dup_at;       /* the row whose key repeats row 0 (-1: none) */
    bool then_insert; /* after the bulk (failed or not), one plain INSERT in the same job */
    int bulk_rc;
};

static int bulk_items(struct store_conn *c, void *arg)
{
    struct load *l = arg;
    struct store_bulk *b;
    int rc = store_bulk_begin(c, "items", "thread, seq, payload", 3, &b);
    for (int i = 0; rc == IOTSEC_OK && i < l->rows; i++) {
        char payload[32];
        snprintf(payload, sizeof(payload), "row %d", i);
        struct store_value row[3] = {
            {.type = STORE_VALUE_INT64, .i = 7},
            {.type = STORE_VALUE_INT64, .i = i == l->dup_at ? 0 : i},
            i % 10 == 3
                ? (struct store_value){.type = STORE_VALUE_NULL}
                : (struct store_value){.type = STORE_VALUE_TEXT, .p = payload, .len = SIZE_MAX},
        };
        rc = store_bulk_row(b, row);
    }
    int end = store_bulk_end(b);
    l->bulk_rc = rc != IOTSEC_OK ? rc : end;
    if (!l->then_insert)
        return l->bulk_rc;
    return store_exec(c, "INSERT INTO items (thread, seq, payload) VALUES (8, 1, 'after')");
}

static long count(const char *sql)
{
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), 0);
    assert_int_equal(store_stmt(c, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    long n = (long)store_col_int64(st, 0);
    store_reset(st);
    return n;
}

static void test_rows_in_one_transaction(void **state)
{
    (void)state;
    struct load l = {.rows = 5000, .dup_at = -1};
    assert_int_equal(store_transaction_sync(s, bulk_items, &l), IOTSEC_OK);
    assert_int_equal(count("SELECT count(*) FROM items WHERE thread = 7"), 5000);
    assert_int_equal(count("SELECT count(*) FROM items WHERE payload IS NULL"), 500);
    assert_int_equal(count("SELECT count(*) FROM items WHERE payload = 'row 4999'"
                           " AND seq = 4999"),
                     1);
}

static void test_duplicate_fails_all(void **state)
{
    (void)state;
    struct load l = {.rows = 3000, .dup_at = 2500};
    assert_int_equal(store_transaction_sync(s, bulk_items, &l), IOTSEC_ERR_CONFLICT);
    assert_int_equal(count("SELECT count(*) FROM items"), 0);
}

static void test_failed_bulk_undone_alone_in_a_job(void **state)
{
    (void)state;
    struct load l = {.rows = 100, .dup_at = 50, .then_insert = true};
    assert_int_equal(store_write_sync(s, bulk_items, &l), IOTSEC_OK);
    assert_int_equal(l.bulk_rc, IOTSEC_ERR_CONFLICT);
    /* SQLite may keep rows before the duplicate (a statement per 256), PostgreSQL none (one
     * COPY): either way the job's later write is kept and the job commits. */
    assert_int_equal(count("SELECT count(*) FROM items WHERE thread = 8"), 1);
    assert_true(count("SELECT count(*) FROM items WHERE thread = 7") <= 50);
}

static int bulk_blobs(struct store_conn *c, void *arg)
{
    (void)arg;
    static const uint8_t v[] = {0, 1, 0, 0xff, '\\', 'x', 0};
    struct store_bulk *b;
    int rc = store_bulk_begin(c, "blobs", "k, v", 2, &b);
    struct store_value row[2] = {{.type = STORE_VALUE_TEXT, .p = "key", .len = 3},
                                 {.type = STORE_VALUE_BLOB, .p = v, .len = sizeof(v)}};
    if (rc == IOTSEC_OK)
        rc = store_bulk_row(b, row);
    int end = store_bulk_end(b);
    return rc != IOTSEC_OK ? rc : end;
}

static void test_blob_round_trip(void **state)
{
    (void)state;
    static const uint8_t v[] = {0, 1, 0, 0xff, '\\', 'x', 0};
    assert_int_equal(store_transaction_sync(s, bulk_blobs, NULL), IOTSEC_OK);
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), 0);
    assert_int_equal(store_stmt(c, "SELECT v FROM blobs WHERE k = 'key'", &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_col_bytes(st, 0), sizeof(v));
    assert_memory_equal(store_col_blob(st, 0), v, sizeof(v));
    store_reset(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_fails_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_bulk_undone_alone_in_a_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
