/* KEK rotation's SQL (src/keys/kek_store.c) on the run's engine: the current KEK recorded,
 * which live instance lacks a KEK, rows counted per KEK id, and the chunked re-wrap (cursor,
 * rows sealed after the switch skipped, rows that open under no KEK counted and left). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "keys/kek_int.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

struct fixture {
    struct test_db db;
    struct store *store;
    struct seal_ring *ring;
    struct seal_kek h;
};

static const char TABLE_SQL[] = "CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB);";

static size_t aad_of(const char *key, int64_t unused, char *buf, size_t cap)
{
    (void)unused;
    return (size_t)snprintf(buf, cap, "t/%s", key);
}

static const struct kek_column col = {
    "t.v",
    "t",
    "v",
    "SELECT k, CAST($3 AS BIGINT), v FROM t WHERE v IS NOT NULL AND k > $2"
    " AND substr(v, 2, 1) <> $1 ORDER BY k LIMIT $4",
    "UPDATE t SET v = $1 WHERE k = $3 AND v = $2 AND CAST($4 AS BIGINT) IS NOT NULL",
    aad_of};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    static const struct store_migration m[] = {
        {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
        {8, "subscriber: SQN slots", SUBSCRIBER_MIGRATION_SQN_SLOTS, NULL},
        {30, "a sealed table", TABLE_SQL, NULL},
        {31, "keys", KEK_MIGRATION_1, NULL}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 4;
    if (store_open(f->db.target, &opt, &f->store) != IOTSEC_OK)
        return -1;
    store_set_instance(f->store, "me");
    f->ring = seal_ring_new();
    struct seal_kek k1 = {.id = 1, .key = {1}}, k2 = {.id = 2, .key = {2}};
    assert_int_equal(seal_ring_add(f->ring, &k1), IOTSEC_OK);
    assert_int_equal(seal_ring_add(f->ring, &k2), IOTSEC_OK);
    assert_int_equal(seal_ring_set_current(f->ring, 1), IOTSEC_OK);
    f->h = seal_ring_handle(f->ring);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    seal_ring_free(f->ring);
    test_db_remove(&f->db);
    free(f);
    return 0;
}

struct sql {
    const char *text;
    const char *p1;
    int64_t i2;
    const void *blob;
    int blob_len;
};

static int run_sql(struct store_conn *c, void *arg)
{
    const struct sql *q = arg;
    struct store_stmt *st;
    int rc = store_stmt(c, q->text, &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (q->p1)
        store_bind_text(st, 1, q->p1, -1);
    if (q->blob)
        store_bind_blob(st, 2, q->blob, q->blob_len);
    else if (q->p1)
        store_bind_int64(st, 2, q->i2);
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(c, step);
}

static void put(struct fixture *f, const char *key, const uint8_t *env, int len)
{
    struct sql q = {
        "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", key, 0,
        env, len};
    assert_int_equal(store_write_sync(f->store, run_sql, &q), IOTSEC_OK);
}

static void seal_row(struct fixture *f, const char *key, uint8_t secret)
{
    uint8_t pt[16], env[16 + SEAL_OVERHEAD];
    char aad[64];
    memset(pt, secret, sizeof(pt));
    size_t n = aad_of(key, 0, aad, sizeof(aad));
    assert_int_equal(seal(&f->h, aad, n, pt, sizeof(pt), env), IOTSEC_OK);
    put(f, key, env, sizeof(env));
}

struct counts {
    int64_t by_id[256];
};

static void count_one(const struct kek_column *c, uint8_t id, int64_t rows, void *ctx)
{
    (void)c;
    ((struct counts *)ctx)->by_id[id] += rows;
}

static void count(struct fixture *f, struct counts *out)
{
    struct store_conn *c;
    memset(out, 0, sizeof(*out));
    assert_int_equal(store_reader_get(f->store, &c), IOTSEC_OK);
    assert_int_equal(kek_count(c, &col, count_one, out), IOTSEC_OK);
}

struct chunk {
    struct fixture *f;
    struct kek_cursor cur;
    int64_t rewrapped, unreadable;
    int limit;
};

static int run_chunk(struct store_conn *c, void *arg)
{
    struct chunk *j = arg;
    return kek_rewrap_chunk(c, &j->f->h, &col, j->limit, &j->cur, &j->rewrapped, &j->unreadable);
}

static void test_rewrap_in_chunks(void **state)
{
    struct fixture *f = *state;
    seal_row(f, "a", 1);
    seal_row(f, "b", 2);
    seal_row(f, "c", 3);
    static const uint8_t junk[16 + SEAL_OVERHEAD] = {2, 1}; /* names KEK 1, opens under none */
    put(f, "d", junk, sizeof(junk));
    struct counts n;
    count(f, &n);
    assert_int_equal(n.by_id[1], 4);

    assert_int_equal(seal_ring_set_current(f->ring, 2), IOTSEC_OK);
    seal_row(f, "e", 5); /* sealed after the switch: under KEK 2, skipped by the scan */
    struct chunk j = {.f = f, .limit = 2};
    j.cur.num = INT64_MIN;
    assert_int_equal(store_write_sync(f->store, run_chunk, &j), IOTSEC_OK);
    assert_int_equal(j.rewrapped, 2);
    assert_false(j.cur.end);
    assert_string_equal(j.cur.text, "b");
    assert_int_equal(store_write_sync(f->store, run_chunk, &j), IOTSEC_OK);
    assert_false(j.cur.end); /* c and d: as many as asked */
    assert_int_equal(j.rewrapped, 3);
    assert_int_equal(j.unreadable, 1);
    assert_int_equal(store_write_sync(f->store, run_chunk, &j), IOTSEC_OK);
    assert_true(j.cur.end); /* past d (left as it is): nothing more, no endless loop on it */
    assert_int_equal(j.rewrapped, 3);
    count(f, &n);
    assert_int_equal(n.by_id[2], 4);
    assert_int_equal(n.by_id[1], 1); /* the junk row: left, and counted */

    /* Every re-wrapped row opens under KEK 2 alone, with its own AAD, to its secret. */
    seal_ring_retire(f->ring, 1);
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c, "SELECT k, v FROM t WHERE k <> 'd' ORDER BY k", &st), IOTSEC_OK);
    int rows = 0;
    while (store_step(st) == STORE_ROW) {
        const char *k = store_col_text(st, 0);
        char aad[64];
        uint8_t pt[16];
        size_t alen = aad_of(k, 0, aad, sizeof(aad));
        assert_int_equal(store_col_bytes(st, 1), 16 + SEAL_OVERHEAD);
        assert_int_equal(unseal(&f->h, aad, alen, store_col_blob(st, 1), 16 + SEAL_OVERHEAD, pt),
                         IOTSEC_OK);
        assert_int_equal(pt[0], k[0] == 'e' ? 5 : k[0] - 'a' + 1);
        rows++;
    }
    store_reset(st);
    assert_int_equal(rows, 4);
}

struct holders {
    const char *who;
    uint8_t ids[2];
    size_t n;
};

static int run_hold(struct store_conn *conn, void *arg)
{
    const struct holders *h = arg;
    return kek_holders_set(conn, h->who, h->ids, h->n, 1);
}

static int run_state(struct store_conn *conn, void *arg)
{
    (void)arg;
    return kek_state_set(conn, 2, true, 1);
}

static void test_state_and_holders(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    uint8_t cur;
    bool rotating;
    assert_int_equal(store_reader_get(f->store, &c), IOTSEC_OK);
    assert_int_equal(kek_state_get(c, &cur, &rotating), IOTSEC_OK);
    assert_int_equal(cur, 1); /* a database that never rotated: the legacy KEK */
    assert_false(rotating);

    /* Another instance holds a live SQN slot lease and has recorded KEK 1 only. */
    struct sql lease = {"UPDATE sqn_slots SET holder = ?, lease_until = ? WHERE slot = 3", "other",
                        (int64_t)4102444800000, NULL, 0};
    assert_int_equal(store_write_sync(f->store, run_sql, &lease), IOTSEC_OK);
    static struct holders hs[] = {{"me", {1, 2}, 2}, {"other", {1}, 1}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(store_write_sync(f->store, run_hold, &hs[i]), IOTSEC_OK);
    char missing[64] = "";
    assert_int_equal(kek_live_missing(c, "me", 2, 1000, missing, sizeof(missing)),
                     IOTSEC_ERR_STATE);
    assert_string_equal(missing, "other");
    assert_int_equal(kek_live_missing(c, "me", 1, 1000, missing, sizeof(missing)), IOTSEC_OK);
    /* Once its lease has expired it is not live: it no longer holds the rotation back. */
    assert_int_equal(kek_live_missing(c, "me", 2, (int64_t)4102444800001, missing, sizeof(missing)),
                     IOTSEC_OK);

    int src = store_write_sync(f->store, run_state, NULL);
    if (src != IOTSEC_OK)
        printf("kek_state_set: %s\n", store_errmsg());
    assert_int_equal(src, IOTSEC_OK);
    assert_int_equal(kek_state_get(c, &cur, &rotating), IOTSEC_OK);
    assert_int_equal(cur, 2);
    assert_true(rotating);
    bool was;
    assert_int_equal(kek_state_was_current(c, 1, &was), IOTSEC_OK);
    assert_true(was); /* the legacy KEK, current until now: retired once nothing names it */
    assert_int_equal(kek_state_was_current(c, 2, &was), IOTSEC_OK);
    assert_false(was);
    assert_int_equal(kek_state_was_current(c, 3, &was), IOTSEC_OK);
    assert_false(was); /* installed ahead of a rotation: never retired by the keeper */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rewrap_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_and_holders, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
