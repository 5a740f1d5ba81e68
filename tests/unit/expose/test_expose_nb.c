/* The northbound service below HTTP: the verified-token cache (hits, expiry, eviction of the
 * entry that expires first, no hit for the same token on another certificate, clearing), and,
 * over a real store, consent matching in the single decision (device, group, other AF,
 * expired, revoked, opted out) with its audit records: the chain is verified from the table,
 * continues across a restart, and a row altered on disk is found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h> /* the tamper test edits the file behind the store */

#include "base/err.h"
#include "test_db.h"
#include "crypto/rand.h"
#include "expose/nb_int.h"

/* ---- token cache ---- */

static void entry(struct nb_cache_entry *e, const char *token, uint8_t cert, int64_t exp)
{
    uint8_t fp[32];
    memset(e, 0, sizeof(*e));
    memset(fp, cert, sizeof(fp));
    nb_cache_key(token, strlen(token), fp, e->key);
    e->exp = exp;
    snprintf(e->sub, sizeof(e->sub), "af-%s", token);
    e->scopes = EXPOSE_SVC_MONITORING_EVENT;
}

static void test_cache_hit_expiry_binding(void **state)
{
    (void)state;
    struct nb_cache *c = nb_cache_new(64);
    struct nb_cache_entry e, got;
    entry(&e, "tok", 1, 1000);
    nb_cache_put(c, &e, 900);
    assert_true(nb_cache_get(c, e.key, 999, &got));
    assert_string_equal(got.sub, "af-tok");
    /* at exp the entry is dead */
    assert_false(nb_cache_get(c, e.key, 1000, &got));
    /* the same token on another certificate is another key: no hit */
    struct nb_cache_entry other;
    entry(&other, "tok", 2, 1000);
    assert_memory_not_equal(other.key, e.key, 32);
    assert_false(nb_cache_get(c, other.key, 900, &got));
    assert_int_equal(nb_cache_count(c, 900), 1);
    nb_cache_clear(c);
    assert_false(nb_cache_get(c, e.key, 900, &got));
    assert_int_equal(nb_cache_count(c, 900), 0);
    nb_cache_free(c);
}

static void test_cache_bounded_evicts_first_to_expire(void **state)
{
    (void)state;
    struct nb_cache *c = nb_cache_new(4); /* one set of four */
    struct nb_cache_entry e[6], got;
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    int64_t exps[] = {500, 300, 400, 600, 700, 800};
    for (int i = 0; i < 4; i++) {
        entry(&e[i], names[i], 1, exps[i]);
        nb_cache_put(c, &e[i], 100);
    }
    assert_int_equal(nb_cache_count(c, 100), 4);
    entry(&e[4], names[4], 1, exps[4]);
    nb_cache_put(c, &e[4], 100); /* full: "b" (exp 300) goes */
    assert_int_equal(nb_cache_count(c, 100), 4);
    assert_false(nb_cache_get(c, e[1].key, 100, &got));
    assert_true(nb_cache_get(c, e[0].key, 100, &got));
    assert_true(nb_cache_get(c, e[4].key, 100, &got));
    /* an expired entry is reused before any live one */
    entry(&e[5], names[5], 1, exps[5]);
    nb_cache_put(c, &e[5], 450); /* "c" (400) is dead at 450 */
    assert_true(nb_cache_get(c, e[0].key, 450, &got));
    assert_true(nb_cache_get(c, e[3].key, 450, &got));
    assert_true(nb_cache_get(c, e[5].key, 450, &got));
    /* re-putting a key replaces its entry rather than filling another slot */
    e[0].exp = 900;
    nb_cache_put(c, &e[0], 450);
    assert_int_equal(nb_cache_count(c, 450), 4);
    assert_true(nb_cache_get(c, e[0].key, 850, &got));
    nb_cache_free(c);
}

/* ---- decisions and audit over a real store ---- */

#define SA "imsi-001010000000001"
#define SB "imsi-001010000000002"

struct env {
    struct test_db tdb; /* SQLite file, or a PostgreSQL database (IOTSEC_TEST_STORE_URL) */
    const char *db;
    struct seal_kek kek;
    struct store *store;
    struct expose_nb *nb;
};

static const char SEED[] =
    "INSERT INTO expose_afs VALUES ('af-1', 'one', 'aa', 'pem', 1, 'active', 0, 0, '', 0);"
    "INSERT INTO expose_afs VALUES ('af-2', 'two', 'bb', 'pem', 1, 'active', 0, 0, '', 0);"
    "INSERT INTO expose_groups VALUES ('fleet', '" SB "');"
    "INSERT INTO expose_consents (consent_id, owner, af_id, services, target_kind, target_id,"
    " expires, created_at) VALUES ('c-dev', 'o', 'af-1', 1, 'device', '" SA "', 0, 0);"
    "INSERT INTO expose_consents (consent_id, owner, af_id, services, target_kind, target_id,"
    " expires, created_at) VALUES ('c-grp', 'o', 'af-1', 1, 'group', 'fleet', 0, 0);"
    "INSERT INTO expose_consents (consent_id, owner, af_id, services, target_kind, target_id,"
    " expires, created_at, revoked_at) VALUES ('c-rev', 'o', 'af-2', 1, 'device', '" SA "', 0, 0,"
    " 5);"
    "INSERT INTO expose_consents (consent_id, owner, af_id, services, target_kind, target_id,"
    " expires, created_at) VALUES ('c-old', 'o', 'af-2', 1, 'group', 'fleet', 10, 0);";

static int seed_run(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, SEED) == IOTSEC_OK ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static const struct store_migration env_migrations[] = {
    {4, "expose", EXPOSE_MIGRATION_1, NULL},
    {11, "expose destinations", EXPOSE_MIGRATION_2, NULL},
    {12, "expose token gen", EXPOSE_MIGRATION_TOKEN_GEN, NULL}};

static void open_env(struct env *e)
{
    struct store_options so;
    store_options_init(&so);
    so.migrations = env_migrations;
    so.migration_count = sizeof(env_migrations) / sizeof(env_migrations[0]);
    so.synchronous = STORE_SYNC_NORMAL;
    assert_int_equal(store_open(e->db, &so, &e->store), IOTSEC_OK);
    struct expose_nb_config cfg = {.store = e->store, .kek = &e->kek, .issuer = "https://t"};
    assert_int_equal(expose_nb_new(&cfg, &e->nb), IOTSEC_OK);
}

static void close_env(struct env *e)
{
    if (e->store == NULL)
        return;
    expose_nb_free(e->nb);
    store_reader_release(e->store);
    store_close(e->store);
    e->nb = NULL;
    e->store = NULL;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    test_db_make(&e->tdb);
    e->db = e->tdb.target;
    e->kek.id = 1;
    crypto_random(e->kek.key, sizeof(e->kek.key));
    open_env(e);
    if (store_write_sync(e->store, seed_run, NULL) != IOTSEC_OK || nb_afs_reload(e->nb) != 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    close_env(e);
    test_db_remove(&e->tdb);
    free(e);
    return 0;
}

static struct expose_af af_of(const char *id)
{
    struct expose_af af;
    memset(&af, 0, sizeof(af));
    snprintf(af.af_id, sizeof(af.af_id), "%s", id);
    af.services = af.token_scopes = EXPOSE_SVC_MONITORING_EVENT;
    af.principal.kind = PRINCIPAL_AF;
    af.principal.services = af.principal.token_scopes = EXPOSE_SVC_MONITORING_EVENT;
    expose_af_fix(&af);
    return af;
}

static enum authz_reason decide(struct env *e, const char *af_id, const char *supi, bool opt_out,
                                char *consent)
{
    struct expose_af af = af_of(af_id);
    struct expose_target t = {.kind = RESOURCE_DEVICE, .supi = supi, .external_id = "x@d",
                              .service = EXPOSE_SVC_MONITORING_EVENT,
                              .monitoring_opt_out = opt_out};
    struct authz_result r;
    assert_int_equal(expose_nb_decide(e->nb, &af, ACTION_MONITORING_SUBSCRIBE, &t, "req", &r,
                                      consent),
                     IOTSEC_OK);
    assert_null(r.consent_id);
    return r.reason;
}

static void test_consent_matching(void **state)
{
    struct env *e = *state;
    char consent[EXPOSE_ID_MAX + 1];
    assert_int_equal(decide(e, "af-1", SA, false, consent), AUTHZ_ALLOW_CONSENT);
    assert_string_equal(consent, "c-dev");
    /* through the device's group */
    assert_int_equal(decide(e, "af-1", SB, false, consent), AUTHZ_ALLOW_CONSENT);
    assert_string_equal(consent, "c-grp");
    /* af-2: revoked on SA, expired on the group */
    assert_int_equal(decide(e, "af-2", SA, false, consent), AUTHZ_DENY_CONSENT_REVOKED);
    assert_string_equal(consent, "");
    assert_int_equal(decide(e, "af-2", SB, false, NULL), AUTHZ_DENY_CONSENT_EXPIRED);
    /* opted out beats a consent; an unknown AF has no registered service */
    assert_int_equal(decide(e, "af-1", SA, true, NULL), AUTHZ_DENY_OPTED_OUT);
    assert_int_equal(decide(e, "af-9", SA, false, NULL), AUTHZ_DENY_SERVICE_NOT_REGISTERED);
    /* the AF as registered now, without a request */
    struct expose_af cur;
    assert_int_equal(expose_nb_af_current(e->nb, "af-1", &cur), IOTSEC_OK);
    assert_string_equal(cur.principal.id, "af-1");
    assert_int_equal(cur.services, EXPOSE_SVC_MONITORING_EVENT);
    assert_int_equal(expose_nb_af_current(e->nb, "af-9", &cur), IOTSEC_ERR_NOTFOUND);
    /* a device nobody consented for */
    assert_int_equal(decide(e, "af-1", "imsi-001010000000009", false, NULL), AUTHZ_DENY_NO_CONSENT);
}

static void verify_table(struct env *e, int want_rc, uint64_t want_count, int64_t want_bad)
{
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *s;
    struct store_conn *db;
    assert_int_equal(store_open(e->db, &so, &s), IOTSEC_OK);
    assert_int_equal(store_reader_get(s, &db), IOTSEC_OK);
    uint64_t n = 0;
    int64_t bad = -1;
    struct audit_anchor head;
    int vrc = expose_audit_verify_db(db, &n, &bad, &head);
    if (vrc != want_rc)
        fail_msg("verify: %d (bad %lld, n %llu), want %d", vrc, (long long)bad,
                 (unsigned long long)n, want_rc);
    if (want_rc == IOTSEC_OK)
        assert_int_equal(n, want_count);
    else
        assert_int_equal(bad, want_bad);
    store_close(s);
}

/* The same tampering on PostgreSQL, through the store: the append-only trigger refuses the
 * DELETE; dropped, the UPDATE goes through and verification must find it. */
static int pg_tamper_run(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, "DROP TRIGGER expose_audit_no_update ON expose_audit;"
                         "UPDATE expose_audit SET allow = 1 - allow WHERE seq = 7");
}

static int pg_delete_run(struct store_conn *c, void *arg)
{
    (void)arg;
    return store_exec(c, "DELETE FROM expose_audit WHERE seq = 15");
}

static void pg_tamper(struct env *e)
{
    struct store *s;
    struct store_options so;
    store_options_init(&so);
    so.migrations = env_migrations;
    so.migration_count = sizeof(env_migrations) / sizeof(env_migrations[0]);
    assert_int_equal(store_open(e->db, &so, &s), IOTSEC_OK);
    assert_int_not_equal(store_write_sync(s, pg_delete_run, NULL), IOTSEC_OK);
    assert_int_equal(store_write_sync(s, pg_tamper_run, NULL), IOTSEC_OK);
    store_close(s);
}

static void test_audit_chain_over_the_store(void **state)
{
    struct env *e = *state;
    for (int i = 0; i < 10; i++)
        decide(e, i % 2 ? "af-1" : "af-2", SA, false, NULL);
    /* restart: every queued record is committed, and the next run continues the chain */
    close_env(e);
    verify_table(e, IOTSEC_OK, 10, 0);
    open_env(e);
    for (int i = 0; i < 5; i++)
        decide(e, "af-1", SB, false, NULL);
    struct expose_af af = af_of("af-1");
    assert_int_equal(expose_nb_audit(e->nb, &af, "path", "x", false, "DENY_OTHER_AF_PATH", "r"),
                     IOTSEC_OK);
    close_env(e);
    verify_table(e, IOTSEC_OK, 16, 0);
    /* the schema refuses edits; a rewrite behind its back is found at the right record */
    if (e->tdb.pg) {
        pg_tamper(e);
        verify_table(e, IOTSEC_ERR_AUTH, 0, 7);
        open_env(e);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM expose_audit WHERE seq = 15", NULL, NULL,
                                      NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TRIGGER expose_audit_no_update;"
                                      "UPDATE expose_audit SET allow = 1 - allow WHERE seq = 7",
                                      NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    verify_table(e, IOTSEC_ERR_AUTH, 0, 7);
    open_env(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_hit_expiry_binding),
        cmocka_unit_test(test_cache_bounded_evicts_first_to_expire),
        cmocka_unit_test_setup_teardown(test_consent_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_chain_over_the_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
