/* The subscriber capability on a real SQLite store: lifecycle, sealing at rest, SQN
 * reservations, expiry, bulk import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h> /* the crypto-erase check reads the SQLite file itself */

#include "base/err.h"
#include "base/hex.h"
#include "subscriber/sub_dek.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

static const struct seal_kek kek = {.id = 1, .key = {0x42, 0x13, 0x37}};

struct fixture {
    struct test_db db; /* SQLite file, or a PostgreSQL database (IOTSEC_TEST_STORE_URL) */
    const char *path;
    struct store *store;
};

/* The subscriber capability's tables, opened (again) on the fixture's database. */
static int open_store(struct fixture *f)
{
    static const struct store_migration m[] = {
        {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
        {8, "subscriber: SQN slots", SUBSCRIBER_MIGRATION_SQN_SLOTS, NULL},
        {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG},
        {25, "subscriber: counts", SUBSCRIBER_MIGRATION_COUNTS, SUBSCRIBER_MIGRATION_COUNTS_PG},
        {26, "subscriber: sort", SUBSCRIBER_MIGRATION_SORT, NULL},
        {29, "subscriber: counts per import chunk", SUBSCRIBER_MIGRATION_COUNTS_BULK,
         SUBSCRIBER_MIGRATION_COUNTS_BULK_PG}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = sizeof(m) / sizeof(m[0]);
    return store_open(f->path, &opt, &f->store);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    f->path = f->db.target;
    if (open_store(f) != IOTSEC_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->store);
    test_db_remove(&f->db);
    free(f);
    return 0;
}

static void make_input(struct sub_input *in, const char *supi, uint8_t seed)
{
    memset(in, 0, sizeof(*in));
    assert_int_equal(supi_parse(supi, &in->supi), IOTSEC_OK);
    for (int i = 0; i < 16; i++) {
        in->keys.k[i] = (uint8_t)(seed * 31 + i * 7 + 1);
        in->keys.opc[i] = (uint8_t)(seed * 17 + i * 13 + 5);
    }
    in->amf[0] = 0x80;
    in->state = SUB_ACTIVE;
}

static int run(struct fixture *f, struct sub_op *op)
{
    op->kek = &kek;
    op->now = op->now ? op->now : 1000;
    op->actor = "test";
    return store_write_sync(f->store, sub_op_run, op);
}

static void create(struct fixture *f, const char *supi, uint8_t seed)
{
    struct sub_input in;
    make_input(&in, supi, seed);
    struct sub_op op = {.kind = SUB_OP_CREATE, .input = &in};
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(op.result.state, SUB_ACTIVE);
}

/* Searches the database file and its WAL for a byte string. */
static int file_contains(const char *path, const uint8_t *needle, size_t len)
{
    char p[128];
    int found = 0;
    for (int w = 0; w < 2 && !found; w++) {
        snprintf(p, sizeof(p), "%s%s", path, w ? "-wal" : "");
        FILE *fp = fopen(p, "rb");
        if (fp == NULL)
            continue;
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        rewind(fp);
        uint8_t *buf = malloc((size_t)size + 1);
        size_t got = fread(buf, 1, (size_t)size, fp);
        fclose(fp);
        found = memmem(buf, got, needle, len) != NULL;
        free(buf);
    }
    return found;
}

static void test_create_get_and_sealed_at_rest(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000001", 1);
    struct sub_input in;
    make_input(&in, "imsi-001010000000001", 1);

    struct subscription s;
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000001", &s, &keys), 0);
    assert_memory_equal(keys.k, in.keys.k, 16);
    assert_memory_equal(keys.opc, in.keys.opc, 16);
    assert_int_equal(s.cred_version, 1);
    assert_int_equal(s.amf[0], 0x80);

    /* Neither K nor OPc, as bytes or as hex text, is anywhere in the database files (SQLite's
     * file; the server's files are not the test's to read). */
    char hex[33];
    if (f->db.pg)
        return;
    assert_false(file_contains(f->path, in.keys.k, 16));
    assert_false(file_contains(f->path, in.keys.opc, 16));
    hex_encode(in.keys.k, 16, hex);
    assert_false(file_contains(f->path, (const uint8_t *)hex, 32));
    /* ...while the SUPI is there: the search does look at the right files. */
    assert_true(file_contains(f->path, (const uint8_t *)"imsi-001010000000001", 20));

    struct seal_kek wrong = kek;
    wrong.key[5] ^= 1;
    assert_int_equal(subscriber_get_keys(f->store, &wrong, "imsi-001010000000001", &s, &keys),
                     IOTSEC_ERR_AUTH);
    assert_int_equal(subscriber_get(f->store, "imsi-001010000000999", &s), IOTSEC_ERR_NOTFOUND);

    struct sub_op dup = {.kind = SUB_OP_CREATE, .input = &in};
    assert_int_equal(run(f, &dup), IOTSEC_ERR_CONFLICT);
}

static void test_lifecycle_events(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000002", 2);
    struct sub_op op = {.kind = SUB_OP_EVENT, .event = SUB_EV_SUSPEND};
    strcpy(op.supi, "imsi-001010000000002");
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(op.result.state, SUB_SUSPENDED);
    op.event = SUB_EV_SUSPEND; /* twice: not allowed */
    assert_int_equal(run(f, &op), IOTSEC_ERR_STATE);
    op.event = SUB_EV_RESUME;
    assert_int_equal(run(f, &op), IOTSEC_OK);
    op.event = SUB_EV_REVOKE;
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(op.result.state, SUB_REVOKED);
    op.event = SUB_EV_RESUME; /* revoked is final */
    assert_int_equal(run(f, &op), IOTSEC_ERR_STATE);
    strcpy(op.supi, "imsi-001010000009999");
    assert_int_equal(run(f, &op), IOTSEC_ERR_NOTFOUND);
}

/* One job creates a subscription and reads it back, as provisioning jobs do (create, then
 * rotate or confirm in the same batch): the read on the job's connection sees the uncommitted
 * write, the reader's connection (subscriber_get, what prov_jobs.c used) does not. */
struct write_then_read {
    struct store *store;
    int on_conn, on_conn_keys, on_reader;
    struct subscription got;
    struct sub_keys keys;
};

static int write_then_read_run(struct store_conn *conn, void *arg)
{
    struct write_then_read *w = arg;
    struct sub_input in;
    make_input(&in, "imsi-001010000000042", 42);
    struct sub_op op = {
        .kind = SUB_OP_CREATE, .input = &in, .kek = &kek, .now = 1000, .actor = "test"};
    int rc = sub_op_run(conn, &op);
    if (rc != IOTSEC_OK)
        return rc;
    struct subscription other;
    w->on_reader = subscriber_get(w->store, "imsi-001010000000042", &other);
    w->on_conn = subscriber_get_on(conn, "imsi-001010000000042", &w->got);
    w->on_conn_keys = subscriber_get_keys_on(conn, &kek, "imsi-001010000000042", &other, &w->keys);
    return IOTSEC_OK;
}

static void test_job_reads_its_own_writes(void **state)
{
    struct fixture *f = *state;
    struct write_then_read w = {.store = f->store};
    assert_int_equal(store_write_sync(f->store, write_then_read_run, &w), IOTSEC_OK);
    assert_int_equal(w.on_conn, IOTSEC_OK);
    assert_int_equal(w.got.state, SUB_ACTIVE);
    assert_int_equal(w.on_conn_keys, IOTSEC_OK);
    struct sub_input in;
    make_input(&in, "imsi-001010000000042", 42);
    assert_memory_equal(w.keys.k, in.keys.k, 16);
    assert_memory_equal(w.keys.opc, in.keys.opc, 16);
    /* Why the _on variants exist: the reader sees only committed rows. */
    assert_int_equal(w.on_reader, IOTSEC_ERR_NOTFOUND);
    struct subscription after;
    assert_int_equal(subscriber_get(f->store, "imsi-001010000000042", &after), IOTSEC_OK);
}

static int64_t count_rows(struct fixture *f, const char *sql)
{
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), 0);
    assert_int_equal(store_stmt(conn, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_col_int64(st, 0);
    store_reset(st);
    return n;
}

static int prev_cred_count(struct fixture *f)
{
    return (int)count_rows(f, "SELECT count(*) FROM subscriptions WHERE prev_cred IS NOT NULL");
}

static void test_rotate_and_grace(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000003", 3);
    struct sub_input next;
    make_input(&next, "imsi-001010000000003", 99);
    struct sub_op op = {.kind = SUB_OP_ROTATE, .input = &next, .grace_s = 60};
    strcpy(op.supi, "imsi-001010000000003");
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(op.result.cred_version, 2);
    struct subscription s;
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000003", &s, &keys), 0);
    assert_memory_equal(keys.k, next.keys.k, 16);

    /* The previous credential is kept for the grace period, then destroyed by the sweep. */
    assert_int_equal(prev_cred_count(f), 1);
    struct sub_op sweep = {.kind = SUB_OP_EXPIRE_SWEEP, .now = 1000 + 59};
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(prev_cred_count(f), 1);
    sweep.now = 1000 + 60;
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(prev_cred_count(f), 0);
    /* Rotating a revoked subscription is refused. */
    struct sub_op revoke = {.kind = SUB_OP_EVENT, .event = SUB_EV_REVOKE};
    strcpy(revoke.supi, op.supi);
    assert_int_equal(run(f, &revoke), IOTSEC_OK);
    assert_int_equal(run(f, &op), IOTSEC_ERR_STATE);
}

/* A DEK row as stored. */
struct dek_row {
    char supi[SUPI_STRING_MAX];
    uint32_t version;
    uint8_t dek[SUB_DEK_SEALED_LEN];
};

/* Every DEK row left in the database (at most cap). */
static size_t all_deks(struct fixture *f, struct dek_row *rows, size_t cap)
{
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), 0);
    assert_int_equal(
        store_stmt(conn, "SELECT dek_supi, dek_version, dek FROM subscription_deks", &st), 0);
    size_t n = 0;
    while (store_step(st) == STORE_ROW && n < cap) {
        snprintf(rows[n].supi, sizeof(rows[n].supi), "%s", store_col_text(st, 0));
        rows[n].version = (uint32_t)store_col_int64(st, 1);
        assert_int_equal(store_col_bytes(st, 2), SUB_DEK_SEALED_LEN);
        memcpy(rows[n].dek, store_col_blob(st, 2), SUB_DEK_SEALED_LEN);
        n++;
    }
    store_reset(st);
    return n;
}

/* Whether the captured envelope of supi's credential version 1 opens with the KEK and any DEK
 * row the database holds now (each opened under the KEK as its own row): what an attacker with
 * the KEK and the whole database could do. */
static bool envelope_opens(struct fixture *f, const char *supi_text, const uint8_t env[62])
{
    struct supi supi;
    assert_int_equal(supi_parse(supi_text, &supi), IOTSEC_OK);
    char aad[SUPI_STRING_MAX + 64];
    size_t aad_len = sub_keys_aad(&supi, 1, aad, sizeof(aad));
    uint8_t plain[32];
    struct seal_kek kek_as_dek = kek; /* the KEK itself, under either key id */
    if (unseal(&kek, aad, aad_len, env, 62, plain) == IOTSEC_OK)
        return true;
    kek_as_dek.id = SUB_DEK_ID;
    if (unseal(&kek_as_dek, aad, aad_len, env, 62, plain) == IOTSEC_OK)
        return true;
    struct dek_row rows[16];
    size_t n = all_deks(f, rows, 16);
    for (size_t i = 0; i < n; i++) {
        struct supi owner;
        struct seal_kek dek;
        assert_int_equal(supi_parse(rows[i].supi, &owner), IOTSEC_OK);
        assert_int_equal(
            sub_dek_open(&kek, &owner, rows[i].version, rows[i].dek, SUB_DEK_SEALED_LEN, &dek),
            IOTSEC_OK);
        int rc = unseal(&dek, aad, aad_len, env, 62, plain);
        seal_kek_wipe(&dek);
        if (rc == IOTSEC_OK)
            return true;
    }
    return false;
}

static void test_delete_crypto_erases(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000004", 4);
    create(f, "imsi-001010000000014", 14); /* another subscription's DEK stays */
    /* The sealed envelope and its DEK as stored: read back raw. */
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), 0);
    assert_int_equal(store_stmt(conn,
                                "SELECT cred, dek FROM subscriptions JOIN subscription_deks"
                                " ON dek_supi = supi AND dek_version = cred_version"
                                " WHERE supi = ?",
                                &st),
                     0);
    store_bind_text(st, 1, "imsi-001010000000004", -1);
    assert_int_equal(store_step(st), STORE_ROW);
    uint8_t envelope[62], dek[SUB_DEK_SEALED_LEN];
    assert_int_equal(store_col_bytes(st, 0), sizeof(envelope));
    memcpy(envelope, store_col_blob(st, 0), sizeof(envelope));
    memcpy(dek, store_col_blob(st, 1), sizeof(dek));
    store_reset(st);
    assert_int_equal(envelope[1], SUB_DEK_ID); /* sealed under its DEK, not the KEK */
    /* While the subscription exists, its DEK row opens the captured envelope. */
    assert_true(envelope_opens(f, "imsi-001010000000004", envelope));

    struct sub_op op = {.kind = SUB_OP_DELETE};
    strcpy(op.supi, "imsi-001010000000004");
    assert_int_equal(run(f, &op), IOTSEC_OK);
    struct subscription s;
    assert_int_equal(subscriber_get(f->store, "imsi-001010000000004", &s), IOTSEC_ERR_NOTFOUND);
    /* The KEK and every row left cannot open it: its DEK row is gone, on either engine, whatever
     * the engine still keeps of the old subscription row. */
    struct dek_row rows[16];
    assert_int_equal(all_deks(f, rows, 16), 1);
    assert_false(envelope_opens(f, "imsi-001010000000004", envelope));
    /* The other subscription is untouched. */
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000014", &s, &keys), 0);
    if (f->db.pg)
        return; /* the DEK row's dead version: autovacuum (docs/operations.md) */
    /* SQLite's secure_delete: after a checkpoint neither the envelope nor its DEK is in the file.
     */
    store_close(f->store);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), 0);
    sqlite3_close(db);
    assert_false(file_contains(f->path, envelope + 14, 32)); /* its ciphertext */
    assert_false(file_contains(f->path, dek + 14, 32));
    assert_int_equal(open_store(f), IOTSEC_OK);
}

/* A rotation gives the new version a DEK of its own; the sweep that ends the grace period
 * destroys the previous version's DEK with its envelope. */
static void test_rotation_deks(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000006", 6);
    struct sub_input next;
    make_input(&next, "imsi-001010000000006", 66);
    struct sub_op op = {.kind = SUB_OP_ROTATE, .input = &next, .grace_s = 60};
    strcpy(op.supi, "imsi-001010000000006");
    assert_int_equal(run(f, &op), IOTSEC_OK);
    struct dek_row rows[16];
    assert_int_equal(all_deks(f, rows, 16), 2); /* v1 during its grace, v2 */
    struct sub_op sweep = {.kind = SUB_OP_EXPIRE_SWEEP, .now = 1000 + 60};
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(all_deks(f, rows, 16), 1);
    assert_int_equal(rows[0].version, 2);
    /* Without a grace period the previous version's DEK goes at once. */
    op.grace_s = 0;
    make_input(&next, "imsi-001010000000006", 67);
    op.now = 2000;
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(all_deks(f, rows, 16), 1);
    assert_int_equal(rows[0].version, 3);
    struct subscription s;
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000006", &s, &keys), 0);
    assert_memory_equal(keys.k, next.keys.k, 16);
}

struct legacy {
    uint8_t env[62];
};

/* Turns a subscription into one sealed before DEKs: its credential under the KEK, no DEK row,
 * listed for the conversion (as the migration lists every row it finds). */
static int make_legacy(struct store_conn *c, void *arg)
{
    struct legacy *l = arg;
    struct store_stmt *st;
    int rc =
        store_stmt(c, "UPDATE subscriptions SET cred = ? WHERE supi = 'imsi-001010000000007'", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_blob(st, 1, l->env, sizeof(l->env));
    if (store_step(st) != STORE_DONE)
        return IOTSEC_ERR_IO;
    store_reset(st);
    return store_exec(c, "DELETE FROM subscription_deks;"
                         "INSERT INTO subscription_deks_todo (id) SELECT id FROM subscriptions");
}

static void test_legacy_rows_converted(void **state)
{
    struct fixture *f = *state;
    create(f, "imsi-001010000000007", 7);
    struct sub_input in;
    make_input(&in, "imsi-001010000000007", 7);
    struct legacy l;
    char aad[SUPI_STRING_MAX + 64];
    size_t aad_len = sub_keys_aad(&in.supi, 1, aad, sizeof(aad));
    uint8_t plain[32];
    memcpy(plain, in.keys.k, 16);
    memcpy(plain + 16, in.keys.opc, 16);
    assert_int_equal(seal(&kek, aad, aad_len, plain, 32, l.env), IOTSEC_OK);
    assert_int_equal(store_write_sync(f->store, make_legacy, &l), IOTSEC_OK);
    /* Before the conversion the legacy row still authenticates. */
    struct subscription s;
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000007", &s, &keys), 0);
    assert_memory_equal(keys.k, in.keys.k, 16);
    size_t converted = 0, unreadable = 0;
    int rc = subscriber_dek_convert(f->store, &kek, &converted, &unreadable);
    if (rc != IOTSEC_OK)
        fprintf(stderr, "conversion: %s\n", store_errmsg());
    assert_int_equal(rc, IOTSEC_OK);
    assert_int_equal(converted, 1);
    assert_int_equal(unreadable, 0);
    struct dek_row rows[4];
    assert_int_equal(all_deks(f, rows, 4), 1);
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000000007", &s, &keys), 0);
    assert_memory_equal(keys.k, in.keys.k, 16);
    assert_memory_equal(keys.opc, in.keys.opc, 16);
    uint8_t stored[62];
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), 0);
    assert_int_equal(store_stmt(conn, "SELECT cred FROM subscriptions", &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    memcpy(stored, store_col_blob(st, 0), sizeof(stored));
    store_reset(st);
    assert_int_equal(stored[1], SUB_DEK_ID); /* resealed under the DEK */
    /* A second conversion finds nothing to do. */
    assert_int_equal(subscriber_dek_convert(f->store, &kek, &converted, &unreadable), IOTSEC_OK);
    assert_int_equal(converted, 0);
}

static void test_sqn_reservation_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct sub_input in;
    make_input(&in, "imsi-001010000000005", 5);
    in.sqn = (40ull << SQN_IND_BITS) | 3; /* personalised with SEQ 40 */
    in.not_after = 5000;
    struct sub_op op = {.kind = SUB_OP_CREATE, .input = &in};
    assert_int_equal(run(f, &op), IOTSEC_OK);
    assert_int_equal(op.result.sqn.reserved, 41); /* the first SEQ issued will be >= 41 */

    /* Each reservation hands out the block just above the mark: [41, 1041), [1041, 2041). */
    struct sub_op r = {.kind = SUB_OP_RESERVE_SQN, .sqn_block = 1000};
    strcpy(r.supi, "imsi-001010000000005");
    assert_int_equal(run(f, &r), IOTSEC_OK);
    assert_int_equal(r.sqn_reserved, 1041);
    assert_int_equal(run(f, &r), IOTSEC_OK);
    assert_int_equal(r.sqn_reserved, 2041);
    /* A floor above the mark (a resynchronisation past it) starts the block there. */
    r.sqn_floor = 5000;
    assert_int_equal(run(f, &r), IOTSEC_OK);
    assert_int_equal(r.sqn_reserved, 6000);
    r.sqn_floor = 10; /* a floor below the mark never lowers it */
    assert_int_equal(run(f, &r), IOTSEC_OK);
    assert_int_equal(r.sqn_reserved, 7000);
    struct subscription s;
    assert_int_equal(subscriber_get(f->store, "imsi-001010000000005", &s), IOTSEC_OK);
    assert_int_equal(s.sqn.reserved, 7000);
    /* Unknown SUPI; and a mark that cannot take another block is exhausted, not wrapped. */
    strcpy(r.supi, "imsi-001010000000999");
    assert_int_equal(run(f, &r), IOTSEC_ERR_NOTFOUND);
    strcpy(r.supi, "imsi-001010000000005");
    r.sqn_floor = SQN_SEQ_MAX - 10;
    r.sqn_block = 100;
    assert_int_equal(run(f, &r), IOTSEC_ERR_NOTFOUND);

    struct sub_op sweep = {.kind = SUB_OP_EXPIRE_SWEEP, .now = 4999};
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(sweep.affected, 0);
    sweep.now = 5000;
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(sweep.affected, 1);
    assert_int_equal(subscriber_get(f->store, "imsi-001010000000005", &s), IOTSEC_OK);
    assert_int_equal(s.state, SUB_EXPIRED);
    sweep.now = 6000; /* already expired: not again */
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(sweep.affected, 0);
}

struct collect {
    size_t n;
    int64_t ids[16];
};

static void collect_fn(const struct subscription *s, void *ctx)
{
    struct collect *c = ctx;
    if (c->n < 16)
        c->ids[c->n] = s->id;
    c->n++;
}

/* n CSV rows with SUPIs from first; row `dup` (0-based; n: none) repeats row 10's SUPI and row
 * `broken` (n: none) has a K of 4 hex digits. */
static char *import_csv(int n, int first, int dup, int broken, size_t *len)
{
    size_t cap = 120 * (size_t)n + 64;
    char *csv = malloc(cap);
    *len = (size_t)snprintf(csv, cap, "supi,k,opc,amf,sqn\n");
    for (int i = 0; i < n; i++)
        *len += (size_t)snprintf(csv + *len, cap - *len,
                                 "imsi-00101%010d,%s,cd63cb71954a9f4e48a5994e37a02baf,8000,%012x\n",
                                 first + (i == dup ? 10 : i),
                                 i == broken ? "465b" : "465b5ce8b199b49faa5f0a2ee238a6bc", i * 32);
    return csv;
}

static void assert_counts_exact(struct fixture *f, const uint64_t want[SUB_STATE_COUNT]);

/* The fleet counters after imports: on SQLite an import counts its rows once per chunk
 * (migration 29), not per row; the counters must still equal a scan of the table, and the
 * onboarding day count the rows imported. */
static void assert_import_counted(struct fixture *f, uint64_t active, uint64_t created_day0)
{
    uint64_t want[SUB_STATE_COUNT] = {0}, days[1];
    want[SUB_ACTIVE] = active;
    assert_counts_exact(f, want);
    assert_int_equal(subscriber_created_per_day(f->store, 0, 1, days), IOTSEC_OK);
    assert_int_equal(days[0], created_day0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM subscription_counts_paused"), 0);
}

/* An import longer than a chunk commits chunk by chunk (so the writer serves others between
 * them) and still answers all or nothing: a conflict or a bad line in the third chunk deletes
 * the rows (and DEKs) of the first two again, and names the line. */
static void test_import_in_chunks_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    const int n = 2 * SUB_IMPORT_CHUNK + 100;
    size_t len, imported = 1, bad = 0;
    char err[200];
    for (int round = 0; round < 2; round++) {
        char *csv = import_csv(n, 300000, round == 0 ? n - 1 : n, round == 1 ? n - 50 : n, &len);
        int rc = subscriber_import_text(f->store, &kek, csv, len, true, 1000, &imported, &bad, err,
                                        sizeof(err));
        assert_int_equal(rc, round == 0 ? IOTSEC_ERR_CONFLICT : IOTSEC_ERR_INVALID);
        assert_int_equal(bad, round == 0 ? n + 1 : n - 50 + 2); /* the header is line 1 */
        assert_int_equal(imported, 0);
        assert_non_null(strstr(err, round == 0 ? "exists" : "k:"));
        assert_int_equal(count_rows(f, "SELECT count(*) FROM subscriptions"), 0);
        assert_int_equal(count_rows(f, "SELECT count(*) FROM subscription_deks"), 0);
        /* Two chunks were committed (and counted) before the failure, then deleted again:
         * the state counts are back to 0; a deletion does not undo an onboarding day. */
        assert_import_counted(f, 0, (uint64_t)(round + 1) * 2 * SUB_IMPORT_CHUNK);
        free(csv);
    }
    char *csv = import_csv(n, 300000, n, n, &len);
    assert_int_equal(subscriber_import_text(f->store, &kek, csv, len, true, 1000, &imported, &bad,
                                            err, sizeof(err)),
                     IOTSEC_OK);
    assert_int_equal(imported, n);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM subscriptions"), n);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM subscription_deks"), n);
    uint64_t day0 = 4 * SUB_IMPORT_CHUNK + (uint64_t)n;
    assert_import_counted(f, (uint64_t)n, day0);
    free(csv);
    /* The same rows again: the first chunk conflicts at once (its check pass names the line),
     * nothing committed, nothing counted. */
    csv = import_csv(100, 300000, 100, 100, &len);
    assert_int_equal(subscriber_import_text(f->store, &kek, csv, len, true, 1000, &imported, &bad,
                                            err, sizeof(err)),
                     IOTSEC_ERR_CONFLICT);
    assert_int_equal(bad, 2);
    assert_import_counted(f, (uint64_t)n, day0);
    free(csv);
    /* After imports, a subscription created one by one is counted by the trigger again, and a
     * deletion of an imported one too. */
    create(f, "imsi-001010000999999", 1);
    struct sub_op del = {.kind = SUB_OP_DELETE};
    snprintf(del.supi, sizeof(del.supi), "imsi-00101%010d", 300000);
    assert_int_equal(run(f, &del), IOTSEC_OK);
    assert_import_counted(f, (uint64_t)n, day0 + 1);
}

static void test_import_all_or_nothing_and_list(void **state)
{
    struct fixture *f = *state;
    enum { N = 2000 };
    size_t cap = 200 * N, len = 0, imported = 0, bad = 0;
    char *csv = malloc(cap), err[200];
    len += (size_t)snprintf(csv, cap, "supi,k,opc,amf,sqn\n");
    for (int i = 0; i < N; i++) {
        /* The last row repeats the eleventh row's SUPI. */
        len += (size_t)snprintf(csv + len, cap - len,
                                "imsi-00101%010d,465b5ce8b199b49faa5f0a2ee238a6bc,"
                                "cd63cb71954a9f4e48a5994e37a02baf,8000,%012x\n",
                                100000 + (i == N - 1 ? 10 : i), i * 32);
    }
    assert_int_equal(subscriber_import_text(f->store, &kek, csv, len, true, 1000, &imported, &bad,
                                            err, sizeof(err)),
                     IOTSEC_ERR_CONFLICT);
    assert_int_equal(bad, N + 1); /* the header is line 1 */
    assert_int_equal(imported, 0);
    uint64_t counts[SUB_STATE_COUNT];
    assert_int_equal(subscriber_count(f->store, counts), IOTSEC_OK);
    assert_int_equal(counts[SUB_ACTIVE], 0); /* nothing of the failed import remains */

    /* Fix the last line in place (same length) and import again. */
    char *last = (char *)memrchr(csv, '\n', len - 1) + 1;
    memcpy(last, "imsi-001010000101999", 20);
    assert_int_equal(subscriber_import_text(f->store, &kek, csv, len, true, 1000, &imported, &bad,
                                            err, sizeof(err)),
                     IOTSEC_OK);
    assert_int_equal(imported, N);
    assert_int_equal(subscriber_count(f->store, counts), IOTSEC_OK);
    assert_int_equal(counts[SUB_ACTIVE], N);
    struct subscription s;
    assert_int_equal(subscriber_get(f->store, "imsi-001010000100005", &s), IOTSEC_OK);
    assert_int_equal(s.sqn.reserved, 5 + 1); /* personalised with SQN 5*32: SEQ 5 */
    /* Each imported row is sealed under a DEK of its own, stored with it. */
    struct sub_keys keys;
    static const uint8_t k0[] = {0x46, 0x5b, 0x5c, 0xe8};
    assert_int_equal(subscriber_get_keys(f->store, &kek, "imsi-001010000101999", &s, &keys), 0);
    assert_memory_equal(keys.k, k0, sizeof(k0));
    struct store_conn *conn;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(f->store, &conn), 0);
    assert_int_equal(store_stmt(conn,
                                "SELECT count(*), count(DISTINCT dek) FROM subscription_deks"
                                " JOIN subscriptions ON supi = dek_supi"
                                " AND cred_version = dek_version",
                                &st),
                     0);
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_col_int64(st, 0), N);
    assert_int_equal(store_col_int64(st, 1), N);
    store_reset(st);

    /* A malformed line: named, nothing imported. */
    const char *bad_csv = "supi,k,opc,amf\nimsi-001010000900001,465b,00,8000\n";
    assert_int_equal(subscriber_import_text(f->store, &kek, bad_csv, strlen(bad_csv), true, 1000,
                                            &imported, &bad, err, sizeof(err)),
                     IOTSEC_ERR_INVALID);
    assert_int_equal(bad, 2);
    assert_non_null(strstr(err, "k:"));
    const char *jsonl =
        "{\"supi\":\"imsi-001010000900002\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
        "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}\n";
    assert_int_equal(subscriber_import_text(f->store, &kek, jsonl, strlen(jsonl), false, 1000,
                                            &imported, &bad, err, sizeof(err)),
                     IOTSEC_OK);
    assert_int_equal(imported, 1);

    struct collect c = {0};
    int64_t last_id = 0;
    assert_int_equal(subscriber_list(f->store, SUB_ACTIVE, 0, 10, collect_fn, &c, &last_id), 0);
    assert_int_equal(c.n, 10);
    struct collect c2 = {0};
    assert_int_equal(subscriber_list(f->store, SUB_ACTIVE, last_id, 10, collect_fn, &c2, &last_id),
                     0);
    assert_int_equal(c2.n, 10);
    assert_true(c2.ids[0] > c.ids[9]);
    struct collect none = {0};
    assert_int_equal(subscriber_list(f->store, SUB_REVOKED, 0, 10, collect_fn, &none, &last_id), 0);
    assert_int_equal(none.n, 0);
    free(csv);
}

/* The fleet counters agree with a scan of the table after every kind of change (create,
 * lifecycle event, deletion, expiry sweep, bulk import); on PostgreSQL both while deltas wait
 * and after the sweep folded them. Onboarding per day counts creations (a deletion does not
 * undo one), expiring counts only live subscriptions. */
static void assert_counts_exact(struct fixture *f, const uint64_t want[SUB_STATE_COUNT])
{
    uint64_t kept[SUB_STATE_COUNT], scanned[SUB_STATE_COUNT];
    assert_int_equal(subscriber_count(f->store, kept), IOTSEC_OK);
    assert_int_equal(subscriber_count_scan(f->store, scanned), IOTSEC_OK);
    for (int i = 0; i < SUB_STATE_COUNT; i++) {
        assert_int_equal(kept[i], want[i]);
        assert_int_equal(scanned[i], want[i]);
    }
}

static void event(struct fixture *f, const char *supi, enum sub_event ev)
{
    struct sub_op op = {.kind = SUB_OP_EVENT, .event = ev};
    strcpy(op.supi, supi);
    assert_int_equal(run(f, &op), IOTSEC_OK);
}

static void test_fleet_counters(void **state)
{
    struct fixture *f = *state;
    uint64_t want[SUB_STATE_COUNT] = {0};
    assert_counts_exact(f, want);
    char supi[32];
    for (int i = 0; i < 6; i++) {
        snprintf(supi, sizeof(supi), "imsi-0010100000007%02d", i);
        create(f, supi, (uint8_t)i); /* now 1000: day 0 */
    }
    want[SUB_ACTIVE] = 6;
    assert_counts_exact(f, want);
    event(f, "imsi-001010000000700", SUB_EV_SUSPEND);
    event(f, "imsi-001010000000701", SUB_EV_QUARANTINE);
    event(f, "imsi-001010000000702", SUB_EV_SUSPEND);
    event(f, "imsi-001010000000702", SUB_EV_RESUME); /* back: no net change */
    want[SUB_ACTIVE] = 4, want[SUB_SUSPENDED] = 1, want[SUB_QUARANTINED] = 1;
    assert_counts_exact(f, want);
    struct sub_op del = {.kind = SUB_OP_DELETE};
    strcpy(del.supi, "imsi-001010000000700");
    assert_int_equal(run(f, &del), IOTSEC_OK);
    want[SUB_SUSPENDED] = 0;
    assert_counts_exact(f, want);

    /* Three days later: an import of 3 (one expiring at day 3 + 5 s, one in 20 days). */
    int64_t day3 = 3 * 86400;
    const char *jsonl =
        "{\"supi\":\"imsi-001010000000800\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
        "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\",\"not_after\":\"1970-01-"
        "04T00:00:05Z\"}\n"
        "{\"supi\":\"imsi-001010000000801\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
        "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\",\"not_after\":\"1970-01-"
        "24T00:00:00Z\"}\n"
        "{\"supi\":\"imsi-001010000000802\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
        "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}\n";
    size_t imported = 0, bad = 0;
    char err[200];
    assert_int_equal(subscriber_import_text(f->store, &kek, jsonl, strlen(jsonl), false, day3,
                                            &imported, &bad, err, sizeof(err)),
                     IOTSEC_OK);
    assert_int_equal(imported, 3);
    want[SUB_ACTIVE] = 7;
    assert_counts_exact(f, want);
    const int64_t within[3] = {7 * 86400, 30 * 86400, 90 * 86400};
    uint64_t soon[3];
    assert_int_equal(subscriber_expiring(f->store, day3, within, 3, soon), IOTSEC_OK);
    assert_int_equal(soon[0], 1);
    assert_int_equal(soon[1], 2);
    assert_int_equal(soon[2], 2);

    /* The sweep expires the first (and folds PostgreSQL's deltas): still exact. */
    struct sub_op sweep = {.kind = SUB_OP_EXPIRE_SWEEP, .now = day3 + 10};
    assert_int_equal(run(f, &sweep), IOTSEC_OK);
    assert_int_equal(sweep.affected, 1);
    want[SUB_ACTIVE] = 6, want[SUB_EXPIRED] = 1;
    assert_counts_exact(f, want);
    assert_int_equal(subscriber_expiring(f->store, day3 + 10, within, 3, soon), IOTSEC_OK);
    assert_int_equal(soon[0], 0);
    assert_int_equal(soon[2], 1);
    if (f->db.pg) { /* folded: the deltas are gone, and a change after the fold counts too */
        event(f, "imsi-001010000000703", SUB_EV_SUSPEND);
        want[SUB_ACTIVE] = 5, want[SUB_SUSPENDED] = 1;
        assert_counts_exact(f, want);
    }

    uint64_t days[5];
    assert_int_equal(subscriber_created_per_day(f->store, -1, 5, days), IOTSEC_OK);
    assert_int_equal(days[0], 0); /* day -1 */
    assert_int_equal(days[1], 6); /* day 0: six created, one deleted since: still six */
    assert_int_equal(days[2], 0);
    assert_int_equal(days[4], 3); /* day 3: the import */
    assert_int_equal(subscriber_created_per_day(f->store, 2, 1, days), IOTSEC_OK);
    assert_int_equal(days[0], 0);
}

/* Sorted keyset pages: by SUPI either way and newest first, a state filter, cursors that
 * continue where the page ended, and a cursor of the wrong kind refused. */
struct supis {
    size_t n;
    char v[8][SUPI_STRING_MAX];
};

static void supi_fn(const struct subscription *s, void *ctx)
{
    struct supis *c = ctx;
    if (c->n < 8)
        supi_format(&s->supi, c->v[c->n++], SUPI_STRING_MAX);
}

static void page(struct fixture *f, int state, enum sub_sort sort, const char *after, size_t limit,
                 struct supis *out, char *next)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(subscriber_list_sorted(f->store, state, sort, after, limit, supi_fn, out, next,
                                            SUPI_STRING_MAX),
                     IOTSEC_OK);
}

static void test_sorted_pages(void **state)
{
    struct fixture *f = *state;
    /* created in this order: ids 1..5, SUPIs not in that order */
    const char *made[5] = {"imsi-001010000000030", "imsi-001010000000010", "imsi-001010000000050",
                           "imsi-001010000000020", "imsi-001010000000040"};
    for (int i = 0; i < 5; i++)
        create(f, made[i], (uint8_t)i);
    event(f, "imsi-001010000000020", SUB_EV_SUSPEND);
    event(f, "imsi-001010000000050", SUB_EV_SUSPEND);
    struct supis p;
    char next[SUPI_STRING_MAX], next2[SUPI_STRING_MAX];
    page(f, -1, SUB_SORT_SUPI, NULL, 2, &p, next);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.v[0], "imsi-001010000000010");
    assert_string_equal(p.v[1], "imsi-001010000000020");
    assert_string_equal(next, "imsi-001010000000020");
    page(f, -1, SUB_SORT_SUPI, next, 10, &p, next2);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0], "imsi-001010000000030");
    assert_string_equal(p.v[2], "imsi-001010000000050");
    page(f, -1, SUB_SORT_SUPI_DESC, NULL, 2, &p, next);
    assert_string_equal(p.v[0], "imsi-001010000000050");
    assert_string_equal(p.v[1], "imsi-001010000000040");
    page(f, -1, SUB_SORT_SUPI_DESC, next, 10, &p, next2);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0], "imsi-001010000000030");
    page(f, SUB_SUSPENDED, SUB_SORT_SUPI_DESC, NULL, 10, &p, next);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.v[0], "imsi-001010000000050");
    assert_string_equal(p.v[1], "imsi-001010000000020");
    page(f, -1, SUB_SORT_ID_DESC, NULL, 2, &p, next); /* newest first */
    assert_string_equal(p.v[0], "imsi-001010000000040");
    assert_string_equal(p.v[1], "imsi-001010000000020");
    page(f, -1, SUB_SORT_ID_DESC, next, 10, &p, next2);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[2], "imsi-001010000000030");
    page(f, SUB_ACTIVE, SUB_SORT_ID, NULL, 10, &p, next);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0], "imsi-001010000000030");
    /* an id order takes a number, not a SUPI */
    assert_int_equal(subscriber_list_sorted(f->store, -1, SUB_SORT_ID, "imsi-001010000000010", 5,
                                            supi_fn, &p, next, sizeof(next)),
                     IOTSEC_ERR_INVALID);
}

/* SQN slots: distinct instances get distinct slots, a restart takes its own back, a ninth
 * live instance is refused, an expired lease is taken over, and a renewal by a holder whose
 * slot was taken over fails. */
static void test_sqn_slot_leases(void **state)
{
    struct fixture *f = *state;
    struct sqn_lease l[SQN_SLOTS + 1];
    char holder[32];
    bool seen[SQN_SLOTS] = {false};
    for (int i = 0; i < SQN_SLOTS; i++) {
        snprintf(holder, sizeof(holder), "host:/inst%d", i);
        assert_int_equal(sqn_slot_claim(f->store, holder, 1000, 30000, &l[i]), IOTSEC_OK);
        assert_false(seen[l[i].slot]);
        seen[l[i].slot] = true;
    }
    assert_int_equal(sqn_slot_claim(f->store, "host:/inst9", 1000, 30000, &l[SQN_SLOTS]),
                     IOTSEC_ERR_BUSY);
    /* inst3 restarts (its lease still running): the same slot again. */
    struct sqn_lease again;
    assert_int_equal(sqn_slot_claim(f->store, "host:/inst3", 2000, 30000, &again), IOTSEC_OK);
    assert_int_equal(again.slot, l[3].slot);
    /* Leases renewed by all but inst5; after expiry inst9 takes inst5's slot. */
    for (int i = 0; i < SQN_SLOTS; i++) {
        if (i == 5)
            continue;
        struct sqn_slot_renew r = {.lease = l[i], .now_ms = 20000, .lease_ms = 30000};
        assert_int_equal(store_write_sync(f->store, sqn_slot_renew_run, &r), IOTSEC_OK);
        assert_int_equal(r.lease.until_ms, 50000);
    }
    assert_int_equal(sqn_slot_claim(f->store, "host:/inst9", 40000, 30000, &l[SQN_SLOTS]),
                     IOTSEC_OK);
    assert_int_equal(l[SQN_SLOTS].slot, l[5].slot);
    struct sqn_slot_renew late = {.lease = l[5], .now_ms = 41000, .lease_ms = 30000};
    assert_int_equal(store_write_sync(f->store, sqn_slot_renew_run, &late), IOTSEC_ERR_STATE);
    /* A released slot is free at once. */
    assert_int_equal(sqn_slot_release(f->store, &l[0]), IOTSEC_OK);
    assert_int_equal(sqn_slot_claim(f->store, "host:/inst10", 41000, 30000, &again), IOTSEC_OK);
    assert_int_equal(again.slot, l[0].slot);
    assert_int_equal(sqn_slot_claim(f->store, "", 41000, 30000, &again), IOTSEC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get_and_sealed_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_reads_its_own_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_and_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_crypto_erases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_deks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_rows_converted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqn_reservation_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_in_chunks_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_all_or_nothing_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqn_slot_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fleet_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sorted_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
