/* Opening a store: WAL and pragmas, option checks, error mapping, the statement cache, the
 * integrity check (on a sound and on a damaged file). */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store.h"
#include "store_test_util.h"

static int setup(void **state)
{
    static struct tmpdb t;
    tmpdb_make(&t);
    *state = &t;
    return 0;
}

static int teardown(void **state)
{
    tmpdb_remove(*state);
    return 0;
}

static void pragma_text(struct store *s, const char *sql, char *out, size_t len)
{
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c, sql, &st), IOTSEC_OK);
    assert_int_equal(store_step(st), STORE_ROW);
    snprintf(out, len, "%s", store_col_text(st, 0));
    store_reset(st);
}

/* Reads a pragma on the writer connection, from inside a job. */
struct writer_pragma {
    const char *sql;
    long long value;
};

static int writer_pragma_job(struct store_conn *c, void *arg)
{
    struct writer_pragma *p = arg;
    struct store_stmt *st;
    int err = store_stmt(c, p->sql, &st);
    if (err != IOTSEC_OK)
        return err;
    if (store_step(st) != STORE_ROW)
        return IOTSEC_ERR_IO;
    p->value = store_col_int64(st, 0);
    store_reset(st);
    return IOTSEC_OK;
}

static long long writer_pragma(struct store *s, const char *sql)
{
    struct writer_pragma p = {.sql = sql, .value = -1};
    assert_int_equal(store_write_sync(s, writer_pragma_job, &p), IOTSEC_OK);
    return p.value;
}

static void test_wal_and_pragmas(void **state)
{
    SKIP_ON_PG();
    struct tmpdb *t = *state;
    struct store_options o;
    store_options_init(&o);
    assert_int_equal(o.synchronous, STORE_SYNC_FULL);
    struct store *s = open_test_store(t->path, &o);
    char mode[32];
    pragma_text(s, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    struct stat st;
    char wal[320];
    snprintf(wal, sizeof(wal), "%s-wal", t->path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0); /* private, like the database itself */
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(writer_pragma(s, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(writer_pragma(s, "PRAGMA foreign_keys"), 1);
    assert_int_equal(writer_pragma(s, "PRAGMA cache_size"), -8192);
    /* The bulk path runs with the larger cache, and gives it back afterwards. */
    struct writer_pragma p = {.sql = "PRAGMA cache_size", .value = 0};
    assert_int_equal(store_transaction_sync(s, writer_pragma_job, &p), IOTSEC_OK);
    assert_int_equal(p.value, -65536);
    assert_int_equal(writer_pragma(s, "PRAGMA cache_size"), -8192);
    store_close(s);

    o.synchronous = STORE_SYNC_NORMAL;
    o.cache_size_kib = 1024;
    s = open_test_store(t->path, &o);
    assert_int_equal(writer_pragma(s, "PRAGMA synchronous"), 1); /* NORMAL */
    assert_int_equal(writer_pragma(s, "PRAGMA cache_size"), -1024);
    /* The readers are read-only. */
    struct store_conn *c;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    assert_int_not_equal(store_exec(c, "DELETE FROM items"), IOTSEC_OK);
    store_close(s);
}

static void test_bad_options_and_paths(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = (struct store *)&s; /* must be reset to NULL */
    struct store_options o;
    store_options_init(&o);
    o.queue_limit = 0;
    assert_int_equal(store_open(t->path, &o, &s), IOTSEC_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(store_errmsg(), "queue_limit"));
    store_options_init(&o);
    o.max_batch = 0;
    assert_int_equal(store_open(t->path, &o, &s), IOTSEC_ERR_INVALID);
    store_options_init(&o);
    o.synchronous = 7;
    assert_int_equal(store_open(t->path, &o, &s), IOTSEC_ERR_INVALID);
    store_options_init(&o);
    o.bulk_cache_size_kib = 0;
    assert_int_equal(store_open(t->path, &o, &s), IOTSEC_ERR_INVALID);
    store_options_init(&o);
    o.busy_timeout_ms = -1;
    assert_int_equal(store_open(t->path, &o, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(store_open(NULL, NULL, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(store_open("", NULL, &s), IOTSEC_ERR_INVALID);
    assert_int_equal(store_open(t->path, NULL, NULL), IOTSEC_ERR_INVALID);
    if (t->pg) {
        /* A server that is not there: the message names it, never a password. */
        assert_int_equal(
            store_open("postgresql://u:sekret@127.0.0.1:1/db?connect_timeout=2", NULL, &s),
            IOTSEC_ERR_IO);
        assert_null(s);
        assert_non_null(strstr(store_errmsg(), "cannot connect"));
        assert_null(strstr(store_errmsg(), "sekret"));
        return;
    }
    /* A directory that does not exist, and an in-memory database (no WAL there). */
    assert_int_equal(store_open("/nonexistent-dir/x/y.db", NULL, &s), IOTSEC_ERR_IO);
    assert_non_null(strstr(store_errmsg(), "cannot open"));
    assert_int_equal(store_open(":memory:", NULL, &s), IOTSEC_ERR_IO);
    assert_non_null(strstr(store_errmsg(), "WAL"));
    assert_null(s);
    /* A file that is not a database. */
    int fd = open(t->path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "this is not an SQLite file, not at all, no.........", 50), 50);
    close(fd);
    assert_int_equal(store_open(t->path, NULL, &s), IOTSEC_ERR_IO);
    assert_null(s);
    unlink(t->path);
    store_close(NULL);
    assert_int_equal(store_submit(NULL, NULL), IOTSEC_ERR_INVALID);
    assert_int_equal(store_write_sync(NULL, NULL, NULL), IOTSEC_ERR_INVALID);
}

static void test_error_mapping(void **state)
{
    (void)state;
    assert_int_equal(sqlite_error(NULL, SQLITE_OK), IOTSEC_OK);
    assert_int_equal(store_error(NULL, STORE_DONE), IOTSEC_OK);
    assert_int_equal(store_error(NULL, STORE_ROW), IOTSEC_OK);
    assert_int_equal(store_error(NULL, IOTSEC_ERR_CONFLICT), IOTSEC_ERR_CONFLICT);
    assert_int_equal(sqlite_error(NULL, SQLITE_CONSTRAINT), IOTSEC_ERR_CONFLICT);
    assert_int_equal(sqlite_error(NULL, SQLITE_CONSTRAINT_UNIQUE), IOTSEC_ERR_CONFLICT);
    assert_int_equal(sqlite_error(NULL, SQLITE_CONSTRAINT_FOREIGNKEY), IOTSEC_ERR_CONFLICT);
    assert_int_equal(sqlite_error(NULL, SQLITE_BUSY), IOTSEC_ERR_BUSY);
    assert_int_equal(sqlite_error(NULL, SQLITE_BUSY_SNAPSHOT), IOTSEC_ERR_BUSY);
    assert_int_equal(sqlite_error(NULL, SQLITE_LOCKED), IOTSEC_ERR_BUSY);
    assert_int_equal(sqlite_error(NULL, SQLITE_NOMEM), IOTSEC_ERR_NOMEM);
    assert_int_equal(sqlite_error(NULL, SQLITE_IOERR_FSYNC), IOTSEC_ERR_IO);
    assert_int_equal(sqlite_error(NULL, SQLITE_CORRUPT), IOTSEC_ERR_IO);
    assert_int_equal(sqlite_error(NULL, SQLITE_ERROR), IOTSEC_ERR_IO);
    /* A full disk is overload (503 + Retry-After), not an internal error. */
    assert_int_equal(sqlite_error(NULL, SQLITE_FULL), IOTSEC_ERR_FULL);
    assert_non_null(strstr(store_errmsg(), "full"));
}

/* A constraint violation inside a job: IOTSEC_ERR_CONFLICT, and SQLite's own words. */
static void test_conflict_message(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    long long id = 42;
    assert_int_equal(store_write_sync(s, insert_item_job, &id), IOTSEC_OK);
    assert_int_equal(store_write_sync(s, insert_item_job, &id), IOTSEC_ERR_CONFLICT);
    if (t->pg) { /* the server's words, the constraint named, never the value */
        assert_non_null(strstr(store_errmsg(), "duplicate key value violates unique constraint"));
        assert_non_null(strstr(store_errmsg(), "23505"));
        assert_null(strstr(store_errmsg(), "42"));
    } else {
        assert_non_null(strstr(store_errmsg(), "UNIQUE constraint failed: items.id"));
    }
    store_close(s);
}

/* A full disk (here: the database may not grow, PRAGMA max_page_count) inside a job comes
 * back as IOTSEC_ERR_FULL, which every face answers 503 + Retry-After (issue 11 item 8). */
static int fill_disk_job(struct store_conn *c, void *arg)
{
    (void)arg;
    int rc = store_exec(c, "CREATE TABLE IF NOT EXISTS fill(b BLOB)");
    if (rc == IOTSEC_OK)
        rc = store_exec(c, "PRAGMA max_page_count = 1"); /* = the current size */
    struct store_stmt *st;
    if (rc != IOTSEC_OK || store_stmt(c, "INSERT INTO fill VALUES (zeroblob(100000))", &st))
        return IOTSEC_ERR_IO;
    for (int i = 0; i < 100; i++) {
        int step = store_step(st);
        store_reset(st);
        if (step != STORE_DONE)
            return store_error(c, step);
    }
    return IOTSEC_OK;
}

static void test_full_disk(void **state)
{
    SKIP_ON_PG(); /* SQLite's max_page_count; PostgreSQL's 53100 maps to the same code */
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    assert_int_equal(store_write_sync(s, fill_disk_job, NULL), IOTSEC_ERR_FULL);
    assert_non_null(strstr(store_errmsg(), "full"));
    store_close(s);
}

static void test_stmt_cache(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct store_conn *c;
    struct store_stmt *a, *b, *x;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c, "SELECT ?1 + 1", &a), IOTSEC_OK);
    store_bind_int(a, 1, 41);
    assert_int_equal(store_step(a), STORE_ROW);
    assert_int_equal(store_col_int(a, 0), 42);
    /* Same text from another buffer: the same statement, reset, bindings cleared. */
    char copy[32];
    strcpy(copy, "SELECT ?1 + 1");
    assert_int_equal(store_stmt(c, copy, &b), IOTSEC_OK);
    assert_ptr_equal(a, b);
    if (!t->pg)
        assert_false(sqlite3_stmt_busy(sqlite_stmt_of(b)->st));
    assert_int_equal(store_step(b), STORE_ROW);
    assert_true(store_col_is_null(b, 0)); /* NULL + 1 */
    store_reset(b);
    /* A reused buffer with other text is another statement. */
    strcpy(copy, "SELECT 7");
    assert_int_equal(store_stmt(c, copy, &x), IOTSEC_OK);
    assert_ptr_not_equal(x, a);
    assert_int_equal(store_step(x), STORE_ROW);
    assert_int_equal(store_col_int(x, 0), 7);
    store_reset(x);
    /* More distinct statements than slots: evictions, and every one still answers. */
    for (int i = 0; i < 200; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        assert_int_equal(store_stmt(c, sql, &x), IOTSEC_OK);
        assert_int_equal(store_step(x), STORE_ROW);
        assert_int_equal(store_col_int(x, 0), i);
        store_reset(x);
    }
    /* Bad SQL and bad arguments. */
    assert_int_equal(store_stmt(c, "SELEKT nonsense", &x), IOTSEC_ERR_IO);
    assert_null(x);
    assert_non_null(strstr(store_errmsg(), "syntax error"));
    assert_int_equal(store_stmt(c, "  -- only a comment", &x), IOTSEC_ERR_INVALID);
    assert_int_equal(store_stmt(c, NULL, &x), IOTSEC_ERR_INVALID);
    assert_int_equal(store_stmt(NULL, "SELECT 1", &x), IOTSEC_ERR_INVALID);
    store_close(s);
}

static void *other_thread_reader(void *arg)
{
    struct store *s = arg;
    struct store_conn *c = NULL;
    if (store_reader_get(s, &c) != IOTSEC_OK)
        return NULL;
    return c;
}

static void test_reader_per_thread(void **state)
{
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    struct store_conn *a, *b;
    assert_int_equal(store_reader_get(s, &a), IOTSEC_OK);
    assert_int_equal(store_reader_get(s, &b), IOTSEC_OK);
    assert_ptr_equal(a, b);
    pthread_t th;
    void *other = NULL;
    assert_int_equal(pthread_create(&th, NULL, other_thread_reader, s), 0);
    pthread_join(th, &other); /* its connection is closed by the thread's exit */
    assert_non_null(other);
    assert_ptr_not_equal(other, a);
    store_reader_release(s);
    assert_int_equal(store_reader_get(s, &b), IOTSEC_OK); /* a fresh one */
    assert_int_equal(read_int(s, "SELECT count(*) FROM counters"), 16);
    store_close(s);
}

static int fill_job(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, "CREATE TABLE big (k INTEGER PRIMARY KEY, v TEXT);"
                         "CREATE INDEX big_v ON big (v);"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                         " WHERE i < 20000) INSERT INTO big SELECT i, printf('%08d-%s', i,"
                         " hex(randomblob(16))) FROM n;");
}

/* Overwrites one whole page of the file (4096 bytes, the default page size). */
static void damage_page(const char *path, long long page)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    char junk[4096];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)((page - 1) * 4096)),
                     (ssize_t)sizeof(junk));
    close(fd);
}

static void test_integrity_check(void **state)
{
    SKIP_ON_PG(); /* test_store_pg checks PostgreSQL's */
    struct tmpdb *t = *state;
    struct store *s = open_test_store(t->path, NULL);
    assert_int_equal(store_transaction_sync(s, fill_job, NULL), IOTSEC_OK);
    assert_int_equal(store_integrity_check(s), IOTSEC_OK);
    long long root = read_int(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'big_v'");
    long long pages = read_int(s, "PRAGMA page_count");
    assert_true(root > 1 && root < pages);
    store_close(s); /* checkpoints: the WAL is folded into the file */

    damage_page(t->path, root);
    s = open_test_store(t->path, NULL);
    assert_int_equal(store_integrity_check(s), IOTSEC_ERR_IO);
    fprintf(stderr, "expected integrity failure: %s\n", store_errmsg());
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_and_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options_and_paths, setup, teardown),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test_setup_teardown(test_conflict_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_per_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
