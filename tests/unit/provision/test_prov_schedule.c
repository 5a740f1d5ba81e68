/* Rotations no request carries, against a real database with a fake clock: the schedule's
 * sweep stages a waiting version for credentials older than their enrollment's maximum age
 * (bounded batch, a cursor that wraps, never twice while one waits, a confirmed rotation
 * restarts the clock, an enrollment without a maximum never rotates), and the policy's entry
 * (provision_stage_rotation) is idempotent and says when there is no over-the-air path. */
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
#include "test_db.h"
#include "provision/prov_int.h"
#include "subscriber/subscriber.h"

#define T0  1700000000 /* the onboarding */
#define DAY 86400

static const struct store_migration migrations[] = {
    {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
    {2, "aka", AKA_MIGRATION_1, NULL},
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

static int run_sql(struct store_conn *c, void *arg)
{
    return store_exec(c, arg) == IOTSEC_OK ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static void sql(struct env *e, const char *s)
{
    assert_int_equal(store_write_sync(e->s, run_sql, (void *)s), IOTSEC_OK);
}

static long count(struct env *e, const char *query)
{
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c, query, &st), IOTSEC_OK);
    assert_int_equal(store_step(st), STORE_ROW);
    long n = (long)store_col_int64(st, 0);
    store_reset(st);
    return n;
}

static void onboard(struct env *e, int64_t enrollment, const char *reg_id, uint8_t seed)
{
    struct prov_job j;
    memset(&j, 0, sizeof(j));
    j.kind = PROV_JOB_ONBOARD;
    j.p = e->p;
    j.enrollment_id = enrollment;
    j.now = T0;
    snprintf(j.reg_id, sizeof(j.reg_id), "%s", reg_id);
    memset(j.nonce, seed, sizeof(j.nonce));
    memset(j.device_pub, seed + 1, sizeof(j.device_pub));
    assert_int_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    free(j.envelope);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    test_db_make(&e->db);
    e->path = e->db.target;
    memset(e->kek.key, 0x24, sizeof(e->kek.key));
    e->kek.id = 1;
    struct store_options o;
    store_options_init(&o);
    o.synchronous = STORE_SYNC_NORMAL;
    o.migrations = migrations;
    o.migration_count = sizeof(migrations) / sizeof(migrations[0]);
    if (store_open(e->path, &o, &e->s) != IOTSEC_OK)
        return -1;
    struct provision_config pc = {.store = e->s, .kek = &e->kek};
    if (provision_new(&pc, &e->p) != IOTSEC_OK)
        return -1;
    /* Enrollment 1: credentials at most 30 days old; enrollment 2: no maximum. */
    sql(e, "INSERT INTO prov_enrollments(id, kind, attestation, lifetime_s, reprovision,"
           " supi_first, supi_last, created_at, max_cred_age_s) VALUES (1, 'group',"
           " 'derived_key', 0, 'keep', 'imsi-001010000000100', 'imsi-001010000000199', 0,"
           " 2592000), (2, 'group', 'derived_key', 0, 'keep', 'imsi-001010000000200',"
           " 'imsi-001010000000299', 0, NULL)");
    onboard(e, 1, "aged-1", 10);
    onboard(e, 1, "aged-2", 20);
    onboard(e, 1, "aged-3", 30);
    onboard(e, 2, "ageless", 40);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    store_close(e->s);
    provision_free(e->p);
    test_db_remove(&e->db);
    free(e);
    return 0;
}

static struct prov_schedule_job sweep(struct env *e, int64_t now, int64_t after, unsigned batch)
{
    struct prov_schedule_job sj = {.p = e->p, .now = now, .after = after, .batch = batch};
    assert_int_equal(store_write_sync(e->s, prov_schedule_run, &sj), IOTSEC_OK);
    return sj;
}

static long waiting(struct env *e)
{
    return count(e, "SELECT COUNT(*) FROM prov_registrations WHERE pend_version IS NOT NULL");
}

static long by_schedule(struct env *e)
{
    return count(e, "SELECT COUNT(*) FROM prov_history WHERE event = 'rotation_waiting'"
                    " AND detail = 'schedule'");
}

static void test_schedule_bounded_idempotent(void **state)
{
    struct env *e = *state;
    /* Younger than 30 days: nothing. */
    struct prov_schedule_job sj = sweep(e, T0 + 29 * DAY, 0, 2);
    assert_int_equal(sj.staged, 0);
    assert_int_equal(sj.after, 0);
    assert_int_equal(waiting(e), 0);
    /* Older: two per sweep (the batch), the cursor carries on, then wraps. */
    sj = sweep(e, T0 + 31 * DAY, 0, 2);
    assert_int_equal(sj.staged, 2);
    assert_int_not_equal(sj.after, 0);
    assert_int_equal(waiting(e), 2);
    sj = sweep(e, T0 + 31 * DAY, sj.after, 2);
    assert_int_equal(sj.staged, 1);
    assert_int_equal(sj.after, 0);
    assert_int_equal(waiting(e), 3);
    /* Again: a version waits for each, none is staged twice; the ageless one never. */
    sj = sweep(e, T0 + 400 * DAY, 0, 0);
    assert_int_equal(sj.staged, 0);
    assert_int_equal(by_schedule(e), 3);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM prov_registrations WHERE reg_id ="
                              " 'ageless' AND pend_version IS NOT NULL"),
                     0);
    /* The subscriptions still hold version 1 (the devices have not confirmed). */
    assert_int_equal(count(e, "SELECT COUNT(*) FROM subscriptions WHERE cred_version = 1"), 4);
}

static void test_confirmed_rotation_restarts_the_clock(void **state)
{
    struct env *e = *state;
    sweep(e, T0 + 31 * DAY, 0, 0);
    struct store_conn *c;
    uint8_t k[16], opc[16];
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(prov_pending_keys(c, &e->kek, "aged-1", 2, k, opc), IOTSEC_OK);
    struct prov_job j;
    memset(&j, 0, sizeof(j));
    j.kind = PROV_JOB_CONFIRM;
    j.p = e->p;
    j.now = T0 + 32 * DAY;
    j.version = 2;
    j.confirm_rotation = true;
    memcpy(j.k, k, 16);
    memcpy(j.opc, opc, 16);
    snprintf(j.reg_id, sizeof(j.reg_id), "aged-1");
    assert_int_equal(store_write_sync(e->s, prov_job_run, &j), IOTSEC_OK);
    /* Version 2 is 29 days old at day 61: not yet; at day 63 it is. */
    assert_int_equal(sweep(e, T0 + 61 * DAY, 0, 0).staged, 0);
    assert_int_equal(sweep(e, T0 + 63 * DAY, 0, 0).staged, 1);
    assert_int_equal(count(e, "SELECT pend_version FROM prov_registrations WHERE reg_id ="
                              " 'aged-1'"),
                     3);
}

/* A revoked subscription cannot rotate: passed over, and the others still get theirs. */
static void test_unrotatable_is_passed_over(void **state)
{
    struct env *e = *state;
    sql(e, "UPDATE subscriptions SET state = 'revoked' WHERE supi = (SELECT supi FROM"
           " prov_registrations WHERE reg_id = 'aged-1')");
    struct prov_schedule_job sj = sweep(e, T0 + 31 * DAY, 0, 1);
    assert_int_equal(sj.staged, 0);
    assert_int_equal(sj.passed, 1);
    sj = sweep(e, T0 + 31 * DAY, sj.after, 1);
    assert_int_equal(sj.staged, 1);
    sj = sweep(e, T0 + 31 * DAY, sj.after, 1);
    assert_int_equal(sj.staged, 1);
    assert_int_equal(waiting(e), 2);
}

static int stage_job(struct store_conn *c, void *arg)
{
    void **a = arg;
    return provision_stage_rotation(a[0], c, a[1], T0 + 1, "policy", a[2]);
}

static int stage(struct env *e, const char *supi, uint32_t *version)
{
    void *a[] = {e->p, (void *)supi, version};
    return store_write_sync(e->s, stage_job, a);
}

static void test_policy_entry(void **state)
{
    struct env *e = *state;
    char supi[40];
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(e->s, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c,
                                "SELECT supi FROM prov_registrations WHERE reg_id ="
                                " 'ageless'",
                                &st),
                     IOTSEC_OK);
    assert_int_equal(store_step(st), STORE_ROW);
    snprintf(supi, sizeof(supi), "%s", store_col_text(st, 0));
    store_reset(st);
    uint32_t v = 0;
    assert_int_equal(stage(e, supi, &v), IOTSEC_OK);
    assert_int_equal(v, 2);
    uint8_t k[16], opc[16], k2[16], opc2[16];
    assert_int_equal(prov_pending_keys(c, &e->kek, "ageless", 2, k, opc), IOTSEC_OK);
    v = 0;
    assert_int_equal(stage(e, supi, &v), IOTSEC_OK); /* the same finding again */
    assert_int_equal(v, 2);
    assert_int_equal(prov_pending_keys(c, &e->kek, "ageless", 2, k2, opc2), IOTSEC_OK);
    assert_memory_equal(k, k2, 16);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM prov_history WHERE event ="
                              " 'rotation_waiting' AND detail = 'policy'"),
                     1);
    /* No registration: no over-the-air path. */
    assert_int_equal(stage(e, "imsi-001019999999999", &v), IOTSEC_ERR_NOTFOUND);
    /* A revoked subscription: not rotated. */
    sql(e, "UPDATE subscriptions SET state = 'revoked' WHERE supi = (SELECT supi FROM"
           " prov_registrations WHERE reg_id = 'aged-2')");
    snprintf(supi, sizeof(supi), "imsi-001010000000101");
    assert_int_equal(count(e, "SELECT COUNT(*) FROM prov_registrations WHERE reg_id = 'aged-2'"
                              " AND supi = 'imsi-001010000000101'"),
                     1);
    assert_int_equal(stage(e, supi, &v), IOTSEC_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schedule_bounded_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmed_rotation_restarts_the_clock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unrotatable_is_passed_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_entry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
