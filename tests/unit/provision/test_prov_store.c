/* The provisioning write jobs against a real database: SUPI allocation that skips taken
 * SUPIs and stops at the range's end, idempotent onboarding, quota, reprovision policies,
 * rotation staging and confirmation, and the provisioning key surviving a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aka/aka.h"
#include "base/err.h"
#include "provision/prov_admin_store.h"
#include "provision/prov_int.h"
#include "subscriber/subscriber.h"
#include "test_db.h"

static const struct store_migration migrations[] = {
    {1, "subscriber: subscriptions and their events", SUBSCRIBER_MIGRATION_1, NULL},
    {2, "aka: home network SUCI keys", AKA_MIGRATION_1, NULL},
    {3, "provision", PROVISION_MIGRATION_1, NULL},
    {7, "provision lifecycle", PROVISION_MIGRATION_2, NULL},
    {18, "provision names", PROVISION_MIGRATION_NAMES, NULL},
    {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG},
};

struct env {
    struct test_db db; /* SQLite file, or a PostgreSQL database (IOTSEC_TEST_STORE_URL) */
    const char *path;
    struct store *s;
    struct seal_kek kek;
    struct provision *p;
};

static void open_env(struct env *e)
{
    struct store_options o;
    store_options_init(&o);
    o.synchronous = STORE_SYNC_NORMAL;
    o.migrations = migrations;
    o.migration_count = 6;
    assert_int_equal(store_open(e->path, &o, &e->s), IOTSEC_OK);
    struct provision_config pc = {.store = e->s, .kek = &e->kek};
    assert_int_equal(provision_new(&pc, &e->p), IOTSEC_OK);
}

static void close_env(struct env *e)
{
    store_close(e->s);
    provision_free(e->p);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    test_db_make(&e->db);
    e->path = e->db.target;
    memset(e->kek.key, 0x42, sizeof(e->kek.key));
    e->kek.id = 1;
    open_env(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    close_env(e);
    test_db_remove(&e->db);
    free(e);
    return 0;
}

struct sql_job {
    const char *sql;
};

static int run_sql(struct store_conn *c, void *arg)
{
    struct sql_job *j = arg;
    return store_exec(c, j->sql) == IOTSEC_OK ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static void sql(struct env *e, const char *s)
{
    struct sql_job j = {s};
    assert_int_equal(store_write_sync(e->s, run_sql, &j), IOTSEC_OK);
}

static int onboard(struct env *e, int64_t enrollment, const char *reg_id, uint8_t seed,
                   struct prov_job *j)
{
    memset(j, 0, sizeof(*j));
    j->kind = PROV_JOB_ONBOARD;
    j->p = e->p;
    j->enrollment_id = enrollment;
    j->now = 1700000000;
    snprintf(j->reg_id, sizeof(j->reg_id), "%s", reg_id);
    memset(j->nonce, seed, sizeof(j->nonce));
    memset(j->device_pub, seed + 1, sizeof(j->device_pub));
    return store_write_sync(e->s, prov_job_run, j);
}

static void test_allocation_idempotency_quota(void **state)
{
    struct env *e = *state;
    sql(e, "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision, quota,"
           " supi_first, supi_last, created_at) VALUES (1, 'group', 'derived_key', 3600, 'keep',"
           " 3, 'imsi-001010000000000', 'imsi-001010000000002', 0)");
    /* Someone added the first SUPI of the range by hand: it is skipped. */
    struct sub_input in;
    memset(&in, 0, sizeof(in));
    supi_parse("imsi-001010000000000", &in.supi);
    in.amf[0] = 0x80;
    struct sub_op op = {.kind = SUB_OP_CREATE, .kek = &e->kek, .input = &in, .now = 1};
    assert_int_equal(store_write_sync(e->s, sub_op_run, &op), IOTSEC_OK);

    struct prov_job j, again;
    assert_int_equal(onboard(e, 1, "dev-a", 1, &j), IOTSEC_OK);
    assert_non_null(j.envelope);
    assert_int_equal(onboard(e, 1, "dev-a", 1, &again), IOTSEC_OK); /* same request */
    assert_int_equal(j.envelope_len, again.envelope_len);
    assert_memory_equal(j.envelope, again.envelope, j.envelope_len);
    free(j.envelope);
    free(again.envelope);
    struct prov_registration r;
    struct store_conn *c;
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(prov_registration_load(c, "dev-a", &r), IOTSEC_OK);
    assert_string_equal(r.supi, "imsi-001010000000001");
    struct subscription s;
    assert_int_equal(subscriber_get(e->s, r.supi, &s), IOTSEC_OK);
    assert_int_equal(s.state, SUB_PENDING_ACTIVATION);
    assert_int_equal(s.not_after, 1700000000 + 3600);

    assert_int_equal(onboard(e, 1, "dev-b", 3, &j), IOTSEC_OK);
    free(j.envelope);
    /* The range is used up (quota not yet): 503 SUPI_RANGE_EXHAUSTED, nothing kept. */
    assert_int_not_equal(onboard(e, 1, "dev-c", 5, &j), IOTSEC_OK);
    assert_int_equal(j.fail, PROV_FAIL_EXHAUSTED);
    free(j.envelope);
    assert_int_equal(prov_registration_load(c, "dev-c", &r), IOTSEC_ERR_NOTFOUND);

    /* Quota: raise the range, lower the quota to 2. */
    sql(e, "UPDATE prov_enrollments SET quota = 2, supi_last = 'imsi-001010000000009'");
    assert_int_not_equal(onboard(e, 1, "dev-c", 5, &j), IOTSEC_OK);
    assert_int_equal(j.fail, PROV_FAIL_QUOTA);
    free(j.envelope);
    /* A disabled enrollment. */
    sql(e, "UPDATE prov_enrollments SET enabled = 0");
    assert_int_not_equal(onboard(e, 1, "dev-a", 7, &j), IOTSEC_OK);
    assert_int_equal(j.fail, PROV_FAIL_DISABLED);
    free(j.envelope);
}

static void test_reprovision_policies(void **state)
{
    struct env *e = *state;
    sql(e, "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision,"
           " supi_first, supi_last, created_at) VALUES (2, 'group', 'derived_key', 0, 'reset',"
           " 'imsi-001010000000100', 'imsi-001010000000199', 0),"
           " (3, 'group', 'derived_key', 0, 'never', 'imsi-001010000000200',"
           " 'imsi-001010000000299', 0)");
    struct prov_job j;
    struct store_conn *c;
    struct prov_registration r;
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(onboard(e, 2, "reset-dev", 10, &j), IOTSEC_OK);
    free(j.envelope);
    assert_int_equal(prov_registration_load(c, "reset-dev", &r), IOTSEC_OK);
    char first[80];
    snprintf(first, sizeof(first), "%s", r.supi);
    assert_int_equal(onboard(e, 2, "reset-dev", 12, &j), IOTSEC_OK); /* new request */
    free(j.envelope);
    assert_int_equal(prov_registration_load(c, "reset-dev", &r), IOTSEC_OK);
    assert_string_not_equal(r.supi, first); /* a new subscription ... */
    struct subscription s;
    assert_int_equal(subscriber_get(e->s, first, &s), IOTSEC_ERR_NOTFOUND); /* old one erased */

    assert_int_equal(onboard(e, 3, "never-dev", 20, &j), IOTSEC_OK);
    free(j.envelope);
    assert_int_not_equal(onboard(e, 3, "never-dev", 22, &j), IOTSEC_OK);
    assert_int_equal(j.fail, PROV_FAIL_REPROVISION);
    free(j.envelope);
    assert_int_equal(onboard(e, 3, "never-dev", 20, &j), IOTSEC_OK); /* a retry still works */
    free(j.envelope);
}

static void test_staged_rotation_and_confirm(void **state)
{
    struct env *e = *state;
    sql(e, "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision,"
           " supi_first, supi_last, created_at) VALUES (4, 'group', 'derived_key', 0, 'keep',"
           " 'imsi-001010000000300', 'imsi-001010000000399', 0)");
    struct prov_job j;
    assert_int_equal(onboard(e, 4, "rot-dev", 30, &j), IOTSEC_OK);
    free(j.envelope);
    memset(&j, 0, sizeof(j));
    j.kind = PROV_JOB_STAGE;
    j.p = e->p;
    j.now = 1700000000;
    snprintf(j.reg_id, sizeof(j.reg_id), "rot-dev");
    assert_int_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    assert_int_equal(j.out_version, 2);
    struct store_conn *c;
    struct prov_registration r;
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(prov_registration_load(c, "rot-dev", &r), IOTSEC_OK);
    assert_int_equal(r.rot.pending_version, 2);
    uint8_t k[16], opc[16];
    assert_int_equal(prov_pending_keys(c, &e->kek, "rot-dev", 2, k, opc), IOTSEC_OK);
    /* Staging again keeps the same waiting keys. */
    assert_int_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    uint8_t k2[16], opc2[16];
    assert_int_equal(prov_pending_keys(c, &e->kek, "rot-dev", 2, k2, opc2), IOTSEC_OK);
    assert_memory_equal(k, k2, 16);
    /* The subscription still holds version 1 until the confirmation. */
    struct subscription s;
    struct sub_keys keys;
    assert_int_equal(subscriber_get_keys(e->s, &e->kek, r.supi, &s, &keys), IOTSEC_OK);
    assert_int_equal(s.cred_version, 1);
    memset(&j, 0, sizeof(j));
    j.kind = PROV_JOB_CONFIRM;
    j.p = e->p;
    j.now = 1700000001;
    j.version = 2;
    j.confirm_rotation = true;
    memcpy(j.k, k, 16);
    memcpy(j.opc, opc, 16);
    snprintf(j.reg_id, sizeof(j.reg_id), "rot-dev");
    assert_int_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    assert_string_equal(j.sub_state, "active");
    assert_int_equal(subscriber_get_keys(e->s, &e->kek, r.supi, &s, &keys), IOTSEC_OK);
    assert_int_equal(s.cred_version, 2);
    assert_memory_equal(keys.k, k, 16);
    /* The same rotation confirmed twice: the second finds nothing waiting. */
    assert_int_not_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    assert_int_equal(j.fail, PROV_FAIL_VERSION);
}

static void test_key_survives_restart(void **state)
{
    struct env *e = *state;
    uint8_t before[32];
    memcpy(before, e->p->sign_pub, 32);
    close_env(e);
    open_env(e);
    assert_memory_equal(before, e->p->sign_pub, 32);
    /* Under another KEK the sealed key does not open: refuse to start. */
    close_env(e);
    struct store_options o;
    store_options_init(&o);
    o.migrations = migrations;
    o.migration_count = 6;
    assert_int_equal(store_open(e->path, &o, &e->s), IOTSEC_OK);
    struct seal_kek wrong = e->kek;
    wrong.key[0] ^= 1;
    struct provision_config pc = {.store = e->s, .kek = &wrong};
    assert_int_not_equal(provision_new(&pc, &e->p), IOTSEC_OK);
    assert_null(e->p);
    store_close(e->s);
    open_env(e);
}

struct regs {
    char id[8][32];
    size_t n;
};

static void reg_row(const struct prov_device_row *d, void *ctx)
{
    struct regs *r = ctx;
    assert_true(r->n < 8);
    snprintf(r->id[r->n++], sizeof(r->id[0]), "%s", d->reg_id);
}

/* Walks every page of one order (pages of 2) and returns the registration ids in order. */
static void walk(struct env *e, const struct prov_device_filter *f, enum prov_device_sort sort,
                 struct regs *all)
{
    char after[32] = "";
    memset(all, 0, sizeof(*all));
    for (int page = 0; page < 5; page++) {
        struct regs r = {0};
        assert_int_equal(
            prov_devices_sorted(e->s, f, sort, after[0] ? after : NULL, 2, reg_row, &r), IOTSEC_OK);
        for (size_t i = 0; i < r.n; i++)
            memcpy(all->id[all->n++], r.id[i], sizeof(r.id[0]));
        if (r.n < 2)
            return;
        if (sort == PROV_SORT_REG || sort == PROV_SORT_REG_DESC) {
            snprintf(after, sizeof(after), "%s", r.id[r.n - 1]);
        } else { /* the id cursor: look the last one's id up */
            int64_t id = 0;
            struct store_conn *c;
            struct store_stmt *st;
            assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
            assert_int_equal(
                store_stmt(c, "SELECT id FROM prov_registrations WHERE reg_id = ?", &st),
                IOTSEC_OK);
            store_bind_text(st, 1, r.id[r.n - 1], -1);
            assert_int_equal(store_step(st), STORE_ROW);
            id = store_col_int64(st, 0);
            store_reset(st);
            snprintf(after, sizeof(after), "%lld", (long long)id);
        }
    }
    fail_msg("more pages than rows");
}

/* The console's devices table: keyset pages by id or registration id either way, with the
 * filters, and the exact search by registration id, SUPI or serial. */
static void test_devices_sorted_and_search(void **state)
{
    struct env *e = *state;
    sql(e, "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision, quota,"
           " supi_first, supi_last, created_at) VALUES (50, 'group', 'derived_key', 3600, 'keep',"
           " 0, 'imsi-001010000009000', 'imsi-001010000009999', 0)");
    sql(e, "INSERT INTO prov_registrations(id, reg_id, enrollment_id, supi, serial, state,"
           " created_at, updated_at) VALUES"
           " (101, 'zeta', 50, 'imsi-001010000009001', '0a01', 'onboarded', 0, 0),"
           " (102, 'alpha', 50, NULL, NULL, 'onboarded', 0, 0),"
           " (103, 'mid', 50, 'imsi-001010000009003', '0a03', 'revoked', 0, 0),"
           " (104, 'beta', 50, 'imsi-001010000009004', 'zeta', 'onboarded', 0, 0),"
           " (105, 'omega', 50, 'imsi-001010000009005', NULL, 'onboarded', 0, 0)");
    struct prov_device_filter f = {50, NULL, NULL, NULL, -1};
    struct regs r;
    walk(e, &f, PROV_SORT_ID, &r);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.id[0], "zeta");
    assert_string_equal(r.id[4], "omega");
    walk(e, &f, PROV_SORT_ID_DESC, &r);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.id[0], "omega");
    assert_string_equal(r.id[4], "zeta");
    walk(e, &f, PROV_SORT_REG, &r);
    assert_int_equal(r.n, 5);
    const char *asc[] = {"alpha", "beta", "mid", "omega", "zeta"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(r.id[i], asc[i]);
    walk(e, &f, PROV_SORT_REG_DESC, &r);
    assert_int_equal(r.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(r.id[i], asc[4 - i]);
    f.state = "onboarded"; /* the filters hold in every order */
    walk(e, &f, PROV_SORT_REG_DESC, &r);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.id[2], "beta");
    struct regs none = {0};
    assert_int_equal(prov_devices_sorted(e->s, &f, PROV_SORT_ID, "12x", 2, reg_row, &none),
                     IOTSEC_ERR_INVALID); /* a registration id is no cursor of the id order */

    /* "zeta" is one device's registration id and another's serial: both, by id. */
    struct regs s = {0};
    assert_int_equal(prov_devices_search(e->s, "zeta", 10, reg_row, &s), IOTSEC_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.id[0], "zeta");
    assert_string_equal(s.id[1], "beta");
    memset(&s, 0, sizeof(s));
    assert_int_equal(prov_devices_search(e->s, "imsi-001010000009003", 10, reg_row, &s), IOTSEC_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.id[0], "mid");
    memset(&s, 0, sizeof(s));
    assert_int_equal(prov_devices_search(e->s, "alph", 10, reg_row, &s), IOTSEC_OK);
    assert_int_equal(s.n, 0); /* exact, not a prefix */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_idempotency_quota),
        cmocka_unit_test(test_reprovision_policies),
        cmocka_unit_test(test_staged_rotation_and_confirm),
        cmocka_unit_test(test_key_survives_restart),
        cmocka_unit_test(test_devices_sorted_and_search),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
