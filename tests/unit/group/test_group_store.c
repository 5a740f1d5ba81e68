/* Groups in a real SQLite database: create/find/list, members, the sealed tree written after a
 * rekey and rebuilt identical, no key in clear in the file, a moved envelope refused, sender
 * sequences reserved in blocks that never overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "group/group_store.h"
#include "store_test_util.h"

static const struct store_migration migrations[] = {
    {1, "group", GROUP_MIGRATION_1, NULL},
};

struct env {
    struct tmpdb db;
    struct store *s;
    struct seal_kek kek;
    struct prov_sign_key *sk;
};

static struct env e;

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&e.db);
    struct store_options o;
    store_options_init(&o);
    o.migrations = migrations;
    o.migration_count = 1;
    assert_int_equal(store_open(e.db.path, &o, &e.s), IOTSEC_OK);
    e.kek.id = 1;
    memset(e.kek.key, 0x33, sizeof(e.kek.key));
    uint8_t seed[32], pub[32];
    assert_int_equal(prov_ed25519_keygen(seed, pub), IOTSEC_OK);
    assert_int_equal(prov_sign_key_new(seed, &e.sk), IOTSEC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(e.s);
    prov_sign_key_free(e.sk);
    tmpdb_remove(&e.db);
    return 0;
}

/* A job running fn(conn, arg) synchronously on the writer. */
struct op {
    int (*fn)(struct store_conn *c, void *arg);
    void *arg;
};

static int run_op(struct store_conn *c, void *arg)
{
    struct op *o = arg;
    return o->fn(c, o->arg);
}

static int write_sync(int (*fn)(struct store_conn *c, void *arg), void *arg)
{
    struct op o = {fn, arg};
    return store_write_sync(e.s, run_op, &o);
}

static struct group_row row = {.ref = 0x0abcdef012345678ull,
                               .external_id = "meters-b12@utility.example",
                               .owner = "utility",
                               .arity = 2,
                               .depth = 3,
                               .confidential = true,
                               .created_at = 1700000000};

static int create_fn(struct store_conn *c, void *arg)
{
    return group_store_create(c, arg);
}

static void list_fn(const struct group_row *g, void *ctx)
{
    (*(int *)ctx)++;
    assert_string_equal(g->external_id, row.external_id);
}

static void test_create_find_list(void **state)
{
    (void)state;
    assert_int_equal(write_sync(create_fn, &row), IOTSEC_OK);
    struct group_row dup = row;
    dup.ref++;
    assert_int_equal(write_sync(create_fn, &dup), IOTSEC_ERR_CONFLICT);
    struct store_conn *rc;
    assert_int_equal(store_reader_get(e.s, &rc), IOTSEC_OK);
    struct group_row got;
    assert_int_equal(group_store_find(rc, row.external_id, &got), IOTSEC_OK);
    assert_true(got.ref == row.ref);
    assert_true(got.confidential);
    assert_int_equal(group_store_find(rc, "nope@x", &got), IOTSEC_ERR_NOTFOUND);
    int n = 0;
    assert_int_equal(group_store_list(rc, list_fn, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    store_reader_release(e.s);
    assert_true(group_external_id_valid("a@b"));
    assert_false(group_external_id_valid("ab"));
    assert_false(group_external_id_valid("@b.c"));
    assert_false(group_external_id_valid("a@"));
    assert_false(group_external_id_valid("a@b@c"));
    assert_false(group_external_id_valid("a b@c"));
}

struct tree_job {
    struct group_tree *t;
    const char *supi[6];
    uint32_t leaf[6];
    uint8_t *msg;
    size_t len;
};

static int members_and_rekey(struct store_conn *c, void *arg)
{
    struct tree_job *j = arg;
    for (int i = 0; i < 6; i++) {
        int rc = group_tree_join(j->t, &j->leaf[i]);
        if (rc == IOTSEC_OK)
            rc = group_store_member_add(c, row.ref, j->supi[i], j->leaf[i], 1);
        if (rc != IOTSEC_OK)
            return rc;
    }
    int rc = group_tree_rekey(j->t, row.ref, e.sk, &j->msg, &j->len, NULL);
    if (rc == IOTSEC_OK)
        rc = group_store_save_rekey(c, &e.kek, row.ref, j->t, j->msg, j->len, 2);
    return rc;
}

static int leave_and_rekey(struct store_conn *c, void *arg)
{
    struct tree_job *j = arg;
    uint32_t leaf;
    int rc = group_store_member_remove(c, row.ref, j->supi[2], &leaf);
    if (rc != IOTSEC_OK)
        return rc;
    assert_int_equal(leaf, j->leaf[2]);
    assert_int_equal(group_store_member_remove(c, row.ref, j->supi[2], &leaf), IOTSEC_ERR_NOTFOUND);
    free(j->msg);
    if ((rc = group_tree_leave(j->t, leaf)) == IOTSEC_OK &&
        (rc = group_tree_rekey(j->t, row.ref, e.sk, &j->msg, &j->len, NULL)) == IOTSEC_OK)
        rc = group_store_save_rekey(c, &e.kek, row.ref, j->t, j->msg, j->len, 3);
    return rc;
}

static void assert_same_tree(const struct group_tree *a, const struct group_tree *b)
{
    assert_int_equal(a->nodes, b->nodes);
    assert_int_equal(a->members, b->members);
    assert_int_equal(a->epoch, b->epoch);
    assert_memory_equal(a->count, b->count, a->nodes * sizeof(uint32_t));
    assert_memory_equal(a->key, b->key, (size_t)a->nodes * GROUP_KEY_LEN);
}

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return memmem(buf, len, needle, n) != NULL;
}

static void test_tree_sealed_and_rebuilt(void **state)
{
    (void)state;
    struct group_tree t;
    assert_int_equal(group_tree_init(&t, row.arity, row.depth), IOTSEC_OK);
    struct tree_job j = {.t = &t,
                         .supi = {"imsi-001010000000001", "imsi-001010000000002",
                                  "imsi-001010000000003", "imsi-001010000000004",
                                  "imsi-001010000000005", "imsi-001010000000006"}};
    assert_int_equal(write_sync(members_and_rekey, &j), IOTSEC_OK);
    assert_int_equal(write_sync(leave_and_rekey, &j), IOTSEC_OK);

    struct store_conn *c;
    assert_int_equal(store_reader_get(e.s, &c), IOTSEC_OK);
    struct group_row g;
    assert_int_equal(group_store_find(c, row.external_id, &g), IOTSEC_OK);
    assert_int_equal(g.epoch, t.epoch);
    assert_int_equal(g.members, 5);
    uint32_t leaf;
    assert_int_equal(group_store_member_leaf(c, row.ref, j.supi[0], &leaf), IOTSEC_OK);
    assert_int_equal(leaf, j.leaf[0]);
    assert_int_equal(group_store_member_leaf(c, row.ref, j.supi[2], &leaf), IOTSEC_ERR_NOTFOUND);
    struct group_tree back;
    assert_int_equal(group_store_load_tree(c, &e.kek, &g, &back), IOTSEC_OK);
    assert_same_tree(&t, &back);
    group_tree_free(&back);
    /* another KEK opens nothing */
    struct seal_kek wrong = e.kek;
    wrong.key[0] ^= 1;
    assert_int_equal(group_store_load_tree(c, &wrong, &g, &back), IOTSEC_ERR_AUTH);
    store_reader_release(e.s);
    /* no node key in clear in the database file (or its WAL) */
    char wal[320];
    snprintf(wal, sizeof(wal), "%s-wal", e.db.path);
    for (uint32_t n = 0; n < t.nodes; n++) {
        if (t.count[n] == 0)
            continue;
        assert_false(file_contains(e.db.path, t.key[n], GROUP_KEY_LEN));
        assert_false(file_contains(wal, t.key[n], GROUP_KEY_LEN));
    }
    free(j.msg);
    group_tree_free(&t);
}

static int move_envelope(struct store_conn *c, void *arg)
{
    (void)arg;
    /* the root's envelope copied onto another node's row */
    return store_exec(c, "UPDATE group_node_keys SET sealed = (SELECT sealed FROM group_node_keys"
                         " WHERE node = 0) WHERE node = 1");
}

static void test_moved_envelope_refused(void **state)
{
    (void)state;
    assert_int_equal(write_sync(move_envelope, NULL), IOTSEC_OK);
    struct store_conn *c;
    assert_int_equal(store_reader_get(e.s, &c), IOTSEC_OK);
    struct group_row g;
    struct group_tree back;
    assert_int_equal(group_store_find(c, row.external_id, &g), IOTSEC_OK);
    assert_int_equal(group_store_load_tree(c, &e.kek, &g, &back), IOTSEC_ERR_AUTH);
    store_reader_release(e.s);
}

struct seq_job {
    uint32_t sender;
    uint64_t first;
};

static int seq_fn(struct store_conn *c, void *arg)
{
    struct seq_job *j = arg;
    return group_store_reserve_seq(c, row.ref, j->sender, 100, &j->first);
}

static void test_sequences_reserved_in_blocks(void **state)
{
    (void)state;
    struct seq_job a = {.sender = 7}, b = {.sender = 7}, other = {.sender = 8};
    assert_int_equal(write_sync(seq_fn, &a), IOTSEC_OK);
    assert_int_equal(write_sync(seq_fn, &b), IOTSEC_OK);
    assert_int_equal(write_sync(seq_fn, &other), IOTSEC_OK);
    assert_int_equal(a.first, 1);
    assert_int_equal(b.first, 101);
    assert_int_equal(other.first, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_find_list),
        cmocka_unit_test(test_tree_sealed_and_rebuilt),
        cmocka_unit_test(test_moved_envelope_refused),
        cmocka_unit_test(test_sequences_reserved_in_blocks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
