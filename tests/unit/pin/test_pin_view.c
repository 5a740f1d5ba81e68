/* src/pin/pin_nb_view.c: an AF's view of a PIN is kept per instance, yet every change any
 * instance commits (a revoked grant, a removed PINE, a suspended gateway, a deleted PIN) is in
 * the very next answer of every other instance. Two instances = two stores opened on one
 * database (SQLite file, or PostgreSQL database in the _pg run), each with its own struct pin;
 * the writes go through instance B, the reads through instance A. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "pin/pin_int.h"
#include "store/store.h"
#include "test_db.h"

#define PIN "pin-view-1"
#define AF  "af-one"

struct inst {
    struct store *store;
    struct pin *pin;
};

struct fx {
    struct test_db db;
    struct inst a, b;
};

static const struct store_migration migrations[] = {
    {14, "pin", PIN_MIGRATION_1, NULL},
    {17, "pin codes", PIN_MIGRATION_2, NULL},
    {23, "pin symmetric", PIN_MIGRATION_3, NULL},
};

static void open_inst(struct fx *f, struct inst *in)
{
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = migrations;
    opt.migration_count = sizeof(migrations) / sizeof(migrations[0]);
    assert_int_equal(store_open(f->db.target, &opt, &in->store), IOTSEC_OK);
    struct pin_config cfg = {.store = in->store};
    assert_int_equal(pin_new(&cfg, &in->pin), IOTSEC_OK);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    test_db_make(&f->db);
    open_inst(f, &f->a);
    open_inst(f, &f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct inst *in[] = {&f->a, &f->b};
    for (int i = 0; i < 2; i++) {
        store_close(in[i]->store);
        pin_free(in[i]->pin);
    }
    test_db_remove(&f->db);
    free(f);
    return 0;
}

/* One write through instance in, committed before it returns. */
static void write(struct inst *in, struct pin_write *w)
{
    w->now = 1700000000;
    snprintf(w->net.pin_id, sizeof(w->net.pin_id), "%s", PIN);
    assert_int_equal(store_write_sync(in->store, pin_write_run, w), IOTSEC_OK);
}

static void grant(struct inst *in, uint32_t services)
{
    struct pin_write w = {.kind = PIN_W_AF_GRANT, .af_services = services};
    snprintf(w.af_id, sizeof(w.af_id), "%s", AF);
    write(in, &w);
}

static void pine(struct inst *in, enum pin_write_kind kind, const char *id)
{
    struct pin_write w = {.kind = kind};
    snprintf(w.pine.pine_id, sizeof(w.pine.pine_id), "%s", id);
    snprintf(w.pine.name, sizeof(w.pine.name), "lamp-%s", id);
    snprintf(w.pine.grant_json, sizeof(w.pine.grant_json), "{}");
    memcpy(w.pine.pub, id, strlen(id) < PIN_PUB_LEN ? strlen(id) : PIN_PUB_LEN); /* unique */
    write(in, &w);
}

/* A's answer now: its status, and the body (or "") in out. */
static int view(struct inst *a, char *out, size_t cap)
{
    char *body = NULL;
    size_t len = 0;
    int rc = pin_view_get(a->pin, PIN, AF, &body, &len);
    snprintf(out, cap, "%s", rc == IOTSEC_OK ? body : "");
    if (rc == IOTSEC_OK)
        assert_int_equal(strlen(body), len);
    free(body);
    return rc;
}

static void test_changes_on_another_instance(void **state)
{
    struct fx *f = *state;
    char out[4096];
    uint64_t hits, reads;
    struct pin_write c = {.kind = PIN_W_CREATE, .n_gws = 1};
    snprintf(c.net.name, sizeof(c.net.name), "home");
    snprintf(c.net.owner, sizeof(c.net.owner), "owner-1");
    snprintf(c.net.policy_json, sizeof(c.net.policy_json), "{}");
    snprintf(c.gws[0].gw_id, sizeof(c.gws[0].gw_id), "gw-1");
    snprintf(c.gws[0].supi, sizeof(c.gws[0].supi), "imsi-001010000000001");
    write(&f->b, &c);
    /* no grant yet: refused, and a refusal is not kept */
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_ERR_NOTFOUND);
    grant(&f->b, PIN_AF_ELEMENTS);
    pine(&f->b, PIN_W_JOIN, "pine-1");
    pine(&f->b, PIN_W_APPROVE, "pine-1");
    pine(&f->b, PIN_W_JOIN, "pine-2");
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_OK);
    assert_non_null(strstr(out, "\"pineId\":\"pine-1\",\"name\":\"lamp-pine-1\",\"state\":"
                                "\"approved\""));
    assert_non_null(strstr(out, "\"pineId\":\"pine-2\""));
    assert_non_null(strstr(out, "{\"gwId\":\"gw-1\",\"state\":\"active\"}"));
    assert_null(strstr(out, "imsi-")); /* never a SUPI */
    /* nothing changed: A answers from its copy, the same text */
    char again[4096];
    pin_views_counts(f->a.pin, &hits, &reads);
    assert_int_equal(view(&f->a, again, sizeof(again)), IOTSEC_OK);
    assert_string_equal(again, out);
    uint64_t hits2, reads2;
    pin_views_counts(f->a.pin, &hits2, &reads2);
    assert_int_equal(hits2, hits + 1);
    assert_int_equal(reads2, reads);
    /* B removes a PINE: gone from A's next answer */
    pine(&f->b, PIN_W_REMOVE, "pine-2");
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_OK);
    assert_null(strstr(out, "pine-2"));
    assert_non_null(strstr(out, "pine-1"));
    /* B suspends the gateway: A's next answer says so */
    struct pin_write g = {.kind = PIN_W_GW_STATE};
    snprintf(g.gw.gw_id, sizeof(g.gw.gw_id), "gw-1");
    g.gw.state = GW_SUSPENDED;
    write(&f->b, &g);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_OK);
    assert_non_null(strstr(out, "{\"gwId\":\"gw-1\",\"state\":\"suspended\"}"));
    /* B revokes the grant: A's next request is refused */
    grant(&f->b, 0);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_ERR_NOTFOUND);
    /* granted again, but without the elements service: still refused */
    grant(&f->b, PIN_AF_QOS);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_ERR_NOTFOUND);
    grant(&f->b, PIN_AF_ELEMENTS);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_OK);
    /* B deletes the PIN: refused at A's next request */
    struct pin_write d = {.kind = PIN_W_DELETE};
    write(&f->b, &d);
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_ERR_NOTFOUND);
}

/* Another AF and ids that are not identifiers: never another AF's copy. */
static void test_keyed_by_pin_and_af(void **state)
{
    struct fx *f = *state;
    struct pin_write c = {.kind = PIN_W_CREATE};
    snprintf(c.net.name, sizeof(c.net.name), "home");
    snprintf(c.net.owner, sizeof(c.net.owner), "owner-1");
    snprintf(c.net.policy_json, sizeof(c.net.policy_json), "{}");
    write(&f->b, &c);
    grant(&f->b, PIN_AF_ELEMENTS);
    char out[4096], *body = NULL;
    size_t len;
    assert_int_equal(view(&f->a, out, sizeof(out)), IOTSEC_OK);
    assert_int_equal(pin_view_get(f->a.pin, PIN, "af-two", &body, &len), IOTSEC_ERR_NOTFOUND);
    assert_null(body);
    assert_int_equal(pin_view_get(f->a.pin, "pin/../x", AF, &body, &len), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(pin_view_get(f->a.pin, "pin-other", AF, &body, &len), IOTSEC_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changes_on_another_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyed_by_pin_and_af, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
