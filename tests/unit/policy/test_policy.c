/* The policy: its decisions and its JSON (strict), and its store with a real database:
 * a finding quarantines through the subscriber capability, the same finding twice is one
 * action, a release reopens the way, the audit refuses UPDATE and DELETE, a finding about
 * a subscription that cannot be quarantined is recorded as skipped; rotation is over the air
 * (the rotate hook, in the policy's transaction) or skipped, never a server-side new K. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "test_db.h"
#include "policy/policy_int.h"
#include "subscriber/subscriber.h"

#define SUPI "imsi-001010000000007"

static const struct seal_kek kek = {.id = 1, .key = {0x42, 0x13, 0x37}};

static void test_default_decisions(void **state)
{
    (void)state;
    struct policy p;
    policy_default(&p);
    unsigned isolate = POLICY_BIT(POLICY_QUARANTINE) | POLICY_BIT(POLICY_NOTIFY);
    /* Isolation needs high confidence (fleet convergence or two independent signals) */
    assert_int_equal(policy_decide(&p, AN_EXC_SUSPICION_OF_DDOS_ATTACK, 1, 90), isolate);
    assert_int_equal(policy_decide(&p, AN_EXC_WRONG_DESTINATION_ADDRESS, 5, 95), isolate);
    assert_int_equal(policy_decide(&p, AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, 1, 90), isolate);
    /* ... whatever the level: one signal notifies */
    assert_int_equal(policy_decide(&p, AN_EXC_SUSPICION_OF_DDOS_ATTACK, 24, 70),
                     POLICY_BIT(POLICY_NOTIFY));
    assert_int_equal(policy_decide(&p, AN_EXC_WRONG_DESTINATION_ADDRESS, 9, 89),
                     POLICY_BIT(POLICY_NOTIFY));
    assert_int_equal(policy_decide(&p, AN_EXC_PING_PONG_ACROSS_CELLS, 9, 100),
                     POLICY_BIT(POLICY_NOTIFY));
    assert_false(p.observe);
}

static void test_json(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"exception\":\"UNEXPECTED_WAKEUP\",\"min_level\":1,"
                      "\"actions\":[\"throttle\"]},{\"exception\":\"*\",\"min_level\":3,"
                      "\"actions\":[\"rotate\",\"notify\"]}],\"default\":[],"
                      "\"webhooks\":[\"http://127.0.0.1:1/hook\"],\"throttle_kbps\":16,"
                      "\"mode\":\"observe\"}";
    struct policy p;
    char err[96];
    assert_int_equal(policy_from_json(doc, strlen(doc), &p, err, sizeof(err)), IOTSEC_OK);
    assert_int_equal(policy_decide(&p, AN_EXC_UNEXPECTED_WAKEUP, 1, 0),
                     POLICY_BIT(POLICY_THROTTLE));
    assert_int_equal(policy_decide(&p, AN_EXC_SUSPICION_OF_DDOS_ATTACK, 3, 0),
                     POLICY_BIT(POLICY_ROTATE) | POLICY_BIT(POLICY_NOTIFY));
    assert_int_equal(policy_decide(&p, AN_EXC_SUSPICION_OF_DDOS_ATTACK, 2, 100), 0);
    assert_int_equal(p.throttle_kbps, 16);
    assert_true(p.observe);
    /* Round trip. */
    json_t *o = policy_to_json(&p);
    char *s = json_dumps(o, JSON_COMPACT);
    struct policy q;
    assert_int_equal(policy_from_json(s, strlen(s), &q, err, sizeof(err)), IOTSEC_OK);
    assert_memory_equal(&p, &q, sizeof(p));
    free(s);
    json_decref(o);
    static const char *const bad[] = {
        "[]",
        "{\"rulez\":[]}",
        "{\"rules\":[{\"exception\":\"NOT_AN_EXCEPTION\",\"actions\":[]}]}",
        "{\"rules\":[{\"exception\":\"*\",\"actions\":[\"shoot\"]}]}",
        "{\"rules\":[{\"exception\":\"*\",\"actions\":[],\"extra\":1}]}",
        "{\"rules\":[{\"exception\":\"*\",\"min_level\":-1,\"actions\":[]}]}",
        "{\"webhooks\":[\"ftp://example.com/x\"]}",
        "{\"webhooks\":[\"http://exa mple.com/\"]}",
        "{\"webhooks\":[\"https://user:pass@hooks.example/x\"]}",
        "{\"webhooks\":[\"https://hooks.example@10.0.0.1/x\"]}",
        "{\"throttle_kbps\":0}",
        "{\"mode\":\"dry-run\"}",
        "{\"rules\":[{\"exception\":\"*\",\"min_confidence\":101,\"actions\":[]}]}",
        "{\"default\":\"notify\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(policy_from_json(bad[i], strlen(bad[i]), &q, err, sizeof(err)),
                         IOTSEC_ERR_INVALID);
}

/* ---- the store ---- */

struct fixture {
    struct test_db db; /* SQLite file, or a PostgreSQL database (IOTSEC_TEST_STORE_URL) */
    const char *path;
    struct store *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    test_db_make(&f->db);
    f->path = f->db.target;
    static const struct store_migration m[] = {{1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
                                               {6, "policy", POLICY_MIGRATION_1, NULL},
                                               {10, "policy 2", POLICY_MIGRATION_2, NULL},
                                               {18, "observe", POLICY_MIGRATION_OBSERVE, NULL},
                                               {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 5;
    if (store_open(f->path, &opt, &f->store) != IOTSEC_OK)
        return -1;
    struct sub_input in;
    memset(&in, 0, sizeof(in));
    supi_parse(SUPI, &in.supi);
    in.amf[0] = 0x80;
    in.state = SUB_ACTIVE;
    struct sub_op op = {.kind = SUB_OP_CREATE, .input = &in, .kek = &kek, .now = 1000,
                        .actor = "test"};
    if (store_write_sync(f->store, sub_op_run, &op) != IOTSEC_OK)
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

static void act(struct fixture *f, const char *supi, enum an_exception x, unsigned actions,
                int64_t window)
{
    struct policy_job j = {.exc = x,
                           .level = 2,
                           .window = window,
                           .now = 2000,
                           .actions = actions,
                           .rate_kbps = 64,
                           .kek = &kek,
                           .nurls = 1,
                           .finding_id = 1000 + window};
    snprintf(j.supi, sizeof(j.supi), "%s", supi);
    assert_int_equal(store_write_sync(f->store, policy_store_act, &j), IOTSEC_OK);
}

static void count_row(const struct policy_record *r, void *ctx)
{
    (void)r;
    (*(int *)ctx)++;
}

static int rows(struct fixture *f, const char *supi)
{
    int n = 0;
    assert_int_equal(policy_store_list(f->store, supi, 0, 1000, count_row, &n), IOTSEC_OK);
    return n;
}

static enum sub_state state_of(struct fixture *f)
{
    struct subscription s;
    assert_int_equal(subscriber_get(f->store, SUPI, &s), IOTSEC_OK);
    return s.state;
}

struct collect {
    struct policy_record *r;
    int n;
};

static void collect_row(const struct policy_record *r, void *ctx)
{
    struct collect *c = ctx;
    c->r[c->n++] = *r;
}

static void test_quarantine_once_and_release(void **state)
{
    struct fixture *f = *state;
    unsigned isolate = POLICY_BIT(POLICY_QUARANTINE) | POLICY_BIT(POLICY_NOTIFY);
    act(f, SUPI, AN_EXC_SUSPICION_OF_DDOS_ATTACK, isolate, 10);
    assert_int_equal(state_of(f), SUB_QUARANTINED);
    assert_int_equal(rows(f, SUPI), 2); /* quarantine + notify */
    act(f, SUPI, AN_EXC_SUSPICION_OF_DDOS_ATTACK, isolate, 10); /* the same finding */
    act(f, SUPI, AN_EXC_SUSPICION_OF_DDOS_ATTACK, isolate, 11); /* the alarm's next window */
    assert_int_equal(rows(f, SUPI), 2);
    /* Release: active again, and a new attack acts again. */
    assert_int_equal(policy_operator(f->store, SUPI, false, "alice", "meter checked"), IOTSEC_OK);
    assert_int_equal(state_of(f), SUB_ACTIVE);
    assert_int_equal(rows(f, SUPI), 3);
    assert_int_equal(policy_operator(f->store, SUPI, false, "alice", "again"),
                     IOTSEC_ERR_STATE); /* not quarantined */
    assert_int_equal(policy_operator(f->store, "imsi-001019999999999", false, "alice", "x"),
                     IOTSEC_ERR_NOTFOUND);
    act(f, SUPI, AN_EXC_SUSPICION_OF_DDOS_ATTACK, isolate, 20);
    assert_int_equal(state_of(f), SUB_QUARANTINED);
    assert_int_equal(rows(f, SUPI), 5);
    /* The audit: the policy's rows name their finding, the operator's who and why. */
    struct policy_record all[8];
    struct collect c = {all, 0};
    assert_int_equal(policy_store_list(f->store, SUPI, 0, 8, collect_row, &c), IOTSEC_OK);
    assert_int_equal(c.n, 5);
    assert_int_equal(all[0].finding_id, 1010);
    assert_string_equal(all[0].principal, "");
    assert_string_equal(all[2].action, "release");
    assert_string_equal(all[2].principal, "alice");
    assert_string_equal(all[2].reason, "meter checked");
    assert_int_equal(all[2].finding_id, 0);
    assert_int_equal(all[3].finding_id, 1020);
    /* A manual quarantine: the same operation, audited the same way. */
    assert_int_equal(policy_operator(f->store, SUPI, false, "bob", "ok"), IOTSEC_OK);
    assert_int_equal(policy_operator(f->store, SUPI, true, "bob", "tamper alarm"), IOTSEC_OK);
    assert_int_equal(state_of(f), SUB_QUARANTINED);
    assert_int_equal(policy_operator(f->store, SUPI, true, "bob", "twice"), IOTSEC_ERR_STATE);
    c.n = 0;
    assert_int_equal(policy_store_list(f->store, SUPI, 0, 8, collect_row, &c), IOTSEC_OK);
    assert_int_equal(c.n, 7);
    assert_string_equal(all[6].action, "quarantine");
    assert_string_equal(all[6].actor, "admin");
    assert_string_equal(all[6].reason, "tamper alarm");
}

static void test_throttle_and_skips(void **state)
{
    struct fixture *f = *state;
    act(f, SUPI, AN_EXC_UNEXPECTED_WAKEUP, POLICY_BIT(POLICY_THROTTLE), 1);
    int n = 0;
    assert_int_equal(policy_store_throttles(f->store, count_row, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    /* Quarantining a subscription that does not exist is recorded, not an error. */
    act(f, "imsi-001019999999999", AN_EXC_SUSPICION_OF_DDOS_ATTACK,
        POLICY_BIT(POLICY_QUARANTINE), 1);
    assert_int_equal(rows(f, "imsi-001019999999999"), 1);
}

/* ---- rotation: over the air (the hook) or not at all ---- */

struct fake_rotator {
    int rc;        /* what the hook answers */
    int calls;
    char supi[40], actor[16];
};

static int fake_rotate(void *arg, struct store_conn *conn, const char *supi, int64_t now,
                       const char *actor, uint32_t *version)
{
    struct fake_rotator *r = arg;
    assert_non_null(conn); /* the policy's own transaction */
    assert_int_equal(now, 2000);
    r->calls++;
    snprintf(r->supi, sizeof(r->supi), "%s", supi);
    snprintf(r->actor, sizeof(r->actor), "%s", actor);
    *version = 2;
    return r->rc;
}

/* The service stamps jobs with the wall clock. */
static int fake_rotate_now(void *arg, struct store_conn *conn, const char *supi, int64_t now,
                           const char *actor, uint32_t *version)
{
    assert_true(now > 2000);
    return fake_rotate(arg, conn, supi, 2000, actor, version);
}

static void last_outcome(const struct policy_record *r, void *ctx)
{
    if (strcmp(r->action, "rotate") == 0)
        snprintf(ctx, 64, "%s", r->outcome);
}

static const char *rotate_outcome(struct fixture *f)
{
    static char out[64];
    out[0] = '\0';
    assert_int_equal(policy_store_list(f->store, SUPI, 0, 1000, last_outcome, out), IOTSEC_OK);
    return out;
}

static int act_with(struct fixture *f, enum an_exception x, struct fake_rotator *r)
{
    struct policy_job j = {.exc = x, .level = 2, .window = 1, .now = 2000,
                           .actions = POLICY_BIT(POLICY_ROTATE), .kek = &kek,
                           .rotate = r ? fake_rotate : NULL, .rotate_arg = r};
    snprintf(j.supi, sizeof(j.supi), "%s", SUPI);
    return store_write_sync(f->store, policy_store_act, &j);
}

static void test_rotation_over_the_air_or_not_at_all(void **state)
{
    struct fixture *f = *state;
    struct subscription s;
    /* No over-the-air path (no hook): nothing rotated, the device keeps working. */
    assert_int_equal(act_with(f, AN_EXC_WRONG_DESTINATION_ADDRESS, NULL), IOTSEC_OK);
    assert_string_equal(rotate_outcome(f), "skipped: no over-the-air path; quarantine instead");
    /* The hook says the SUPI has no registration: the same. */
    struct fake_rotator none = {.rc = IOTSEC_ERR_NOTFOUND};
    assert_int_equal(act_with(f, AN_EXC_UNEXPECTED_WAKEUP, &none), IOTSEC_OK);
    assert_int_equal(none.calls, 1);
    assert_string_equal(rotate_outcome(f), "skipped: no over-the-air path; quarantine instead");
    assert_int_equal(subscriber_get(f->store, SUPI, &s), IOTSEC_OK);
    assert_int_equal(s.cred_version, 1);
    assert_int_equal(s.state, SUB_ACTIVE);
    int before = rows(f, SUPI);
    /* A database error in the hook rolls the whole job back: no audit row, no open action,
     * so the same finding acts again once the database is back. */
    struct fake_rotator broken = {.rc = IOTSEC_ERR_IO};
    assert_int_not_equal(act_with(f, AN_EXC_SUSPICION_OF_DDOS_ATTACK, &broken), IOTSEC_OK);
    assert_int_equal(rows(f, SUPI), before);
    /* A device with a registration: a version waits for it, staged by the policy; the
     * subscription's K is not touched (the device still authenticates with it). */
    struct fake_rotator ota = {.rc = IOTSEC_OK};
    assert_int_equal(act_with(f, AN_EXC_SUSPICION_OF_DDOS_ATTACK, &ota), IOTSEC_OK);
    assert_int_equal(ota.calls, 1);
    assert_string_equal(ota.supi, SUPI);
    assert_string_equal(ota.actor, "policy");
    assert_string_equal(rotate_outcome(f), "waiting for the device");
    assert_int_equal(subscriber_get(f->store, SUPI, &s), IOTSEC_OK);
    assert_int_equal(s.cred_version, 1);
    /* The same alarm again: its action stands, nothing staged twice. */
    assert_int_equal(act_with(f, AN_EXC_SUSPICION_OF_DDOS_ATTACK, &ota), IOTSEC_OK);
    assert_int_equal(ota.calls, 1);
    /* A revoked or expired subscription: recorded as skipped. */
    struct fake_rotator gone = {.rc = IOTSEC_ERR_STATE};
    assert_int_equal(act_with(f, AN_EXC_UNEXPECTED_LARGE_RATE_FLOW, &gone), IOTSEC_OK);
    assert_string_equal(rotate_outcome(f), "skipped: subscription not in a state that allows it");
}

/* The service hands its rotator to every job: a rule that says rotate reaches the hook. */
static void test_service_rotator(void **state)
{
    struct fixture *f = *state;
    const char *doc = "{\"rules\":[{\"exception\":\"UNEXPECTED_UE_LOCATION\",\"min_level\":1,"
                      "\"actions\":[\"rotate\"]}],\"default\":[]}";
    struct policy_save_job save = {doc, 1};
    assert_int_equal(store_write_sync(f->store, policy_store_save, &save), IOTSEC_OK);
    struct policy_service_options o = {.store = f->store, .kek = &kek};
    struct policy_service *ps = policy_service_new(&o);
    assert_non_null(ps);
    struct fake_rotator ota = {.rc = IOTSEC_OK};
    policy_set_rotator(ps, fake_rotate_now, &ota);
    struct an_finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.exc = AN_EXC_UNEXPECTED_UE_LOCATION;
    fd.level = 1;
    policy_on_finding(ps, &fd, SUPI, "{}");
    policy_service_sync(ps);
    policy_service_free(ps);
    assert_int_equal(ota.calls, 1);
    assert_string_equal(rotate_outcome(f), "waiting for the device");
}

static int tamper(struct store_conn *conn, void *arg)
{
    return store_exec(conn, arg) == IOTSEC_OK ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static void test_audit_append_only(void **state)
{
    struct fixture *f = *state;
    act(f, SUPI, AN_EXC_SUSPICION_OF_DDOS_ATTACK, POLICY_BIT(POLICY_QUARANTINE), 1);
    assert_int_not_equal(store_write_sync(f->store, tamper,
                                          "UPDATE policy_actions SET outcome = 'nothing'"),
                         IOTSEC_OK);
    assert_int_not_equal(store_write_sync(f->store, tamper, "DELETE FROM policy_actions"),
                         IOTSEC_OK);
    assert_int_equal(rows(f, SUPI), 1);
}

static void find_outcome(const struct policy_record *r, void *ctx)
{
    char *want = ctx;
    if (strcmp(r->action, "notify") == 0 && strncmp(r->outcome, want, strlen(want)) == 0)
        want[0] = '\0'; /* found */
}

/* The service: the policy saved in the store is the one a new instance runs; a webhook that
 * refuses connections is retried, then recorded as failed; a finding without a SUPI is not
 * acted on. */
static void test_service_and_failed_webhook(void **state)
{
    struct fixture *f = *state;
    const char *doc = "{\"rules\":[],\"default\":[\"notify\"],"
                      "\"webhooks\":[\"http://127.0.0.1:1/nobody\"]}";
    struct policy_save_job save = {doc, 1};
    assert_int_equal(store_write_sync(f->store, policy_store_save, &save), IOTSEC_OK);
    struct policy_service_options o = {.store = f->store,
                                       .kek = &kek,
                                       .notify_timeout_ms = 500,
                                       .notify_attempts = 2,
                                       .webhook_rules.http_loopback = true};
    struct policy_service *ps = policy_service_new(&o);
    assert_non_null(ps);
    struct an_finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.exc = AN_EXC_UNEXPECTED_LARGE_RATE_FLOW;
    fd.level = 9;
    policy_on_finding(ps, &fd, NULL, "{}"); /* no SUPI: nothing */
    policy_on_finding(ps, &fd, SUPI, "{\"finding\":1}");
    policy_service_sync(ps);
    policy_service_free(ps);
    char want[] = "failed";
    assert_int_equal(policy_store_list(f->store, SUPI, 0, 100, find_outcome, want), IOTSEC_OK);
    assert_string_equal(want, ""); /* the failed delivery is in the audit */
    assert_int_equal(state_of(f), SUB_ACTIVE); /* notify only: the default of this policy */
}

static void observed_row(const struct policy_observed *o, void *ctx)
{
    json_t *out = ctx;
    char key[80];
    snprintf(key, sizeof(key), "%s/%s", o->action, o->exception);
    json_object_set_new(out, key,
                        json_pack("[I,I]", (json_int_t)o->findings, (json_int_t)o->devices));
}

/* Observe mode: the default rules decide, nothing is done, the decisions are counted. */
static void test_observe_mode(void **state)
{
    struct fixture *f = *state;
    const char *doc = "{\"rules\":[{\"exception\":\"*\",\"min_confidence\":90,"
                      "\"actions\":[\"quarantine\",\"notify\"]}],\"default\":[\"notify\"],"
                      "\"mode\":\"observe\"}";
    struct policy_save_job save = {doc, 1};
    assert_int_equal(store_write_sync(f->store, policy_store_save, &save), IOTSEC_OK);
    struct policy_service_options o = {.store = f->store, .kek = &kek};
    struct policy_service *ps = policy_service_new(&o);
    assert_non_null(ps);
    struct an_finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.exc = AN_EXC_SUSPICION_OF_DDOS_ATTACK;
    fd.level = 3;
    fd.confidence = 95;
    policy_on_finding(ps, &fd, SUPI, "{}"); /* would quarantine */
    policy_on_finding(ps, &fd, SUPI, "{}"); /* again: one device, two findings */
    fd.confidence = 70;
    policy_on_finding(ps, &fd, SUPI, "{}"); /* would notify */
    policy_service_sync(ps);
    policy_service_free(ps);
    assert_int_equal(state_of(f), SUB_ACTIVE); /* nothing was done */
    assert_int_equal(rows(f, SUPI), 0);        /* nor audited */
    json_t *got = json_object();
    assert_int_equal(policy_store_observed(f->store, observed_row, got), IOTSEC_OK);
    char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"notify/\":[3,1],\"notify/SUSPICION_OF_DDOS_ATTACK\":[3,0],"
                           "\"quarantine/\":[2,1],\"quarantine/SUSPICION_OF_DDOS_ATTACK\":[2,0]}");
    free(s);
    json_decref(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_decisions),
        cmocka_unit_test(test_json),
        cmocka_unit_test_setup_teardown(test_quarantine_once_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_and_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_over_the_air_or_not_at_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_rotator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observe_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_and_failed_webhook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
