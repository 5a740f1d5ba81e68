/* Backup and restore without SQN reuse (issue 16): `iotsecctl backup` copies the database
 * while the daemon serves; the instance goes on issuing SQNs; `iotsecd restore` puts the old
 * copy back and moves every SQN high-water mark forward. The device's USIM (sdk/usim: MAC and
 * freshness checked UE-side) must accept every vector after the restore without a
 * resynchronisation, each SQN above every SQN it saw before.
 *
 * The negative control shows why the margin matters: restored with a margin of 1 SEQ, the
 * copy's marks sit below SQNs issued after the backup, and the USIM refuses the next vector as
 * stale. A small sqn_block (10) makes the instance reserve new blocks after the backup, as a
 * busy instance does over days. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/hex.h"
#include "fixture.h"
#include "usim_vectors.h"

#define SUPI    "imsi-001010000000088"
#define K_HEX   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"

static struct daemon_fixture fx;
static struct usim ue;    /* the subscriber's USIM, across the tests */
static uint64_t last_sqn; /* the highest SQN the USIM accepted so far */
static char backup[160];

/* One vector from the UDM handed to the USIM: its verdict (USIM_OK: accepted, RES* checked). */
static int one_vector(void)
{
    return usim_vectors_one(&fx, SUPI, &ue);
}

/* n vectors, each accepted, each SQN above every SQN before. */
static void vectors_accepted(int n)
{
    usim_vectors_accepted(&fx, SUPI, &ue, n, &last_sqn);
}

static int ctl(const char *args, char *out, size_t cap)
{
    return fixture_tool(&fx, IOTSECCTL_PATH, NULL, args, out, cap);
}

static int restore(const char *extra, char *out, size_t cap)
{
    char args[256];
    snprintf(args, sizeof(args), "--from %s %s", backup, extra);
    return fixture_tool(&fx, IOTSECD_PATH, "restore", args, out, cap);
}

static const struct usim_vectors_case subscriber = {.ctl_path = IOTSECCTL_PATH,
                                                    .supi = SUPI,
                                                    .k_hex = K_HEX,
                                                    .opc_hex = OPC_HEX,
                                                    .sqn_block = "10"};

static int setup(void **state)
{
    (void)state;
    if (usim_vectors_setup(&fx, &subscriber, &ue, &last_sqn) != 0)
        return -1;
    snprintf(backup, sizeof(backup), "%s/iotsec-backup.db", fx.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    usim_vectors_teardown(&fx);
    return 0;
}

static void test_online_backup(void **state)
{
    (void)state;
    vectors_accepted(5);
    char out[4096];
    assert_int_equal(ctl("backup /nonexistent-dir/x.db", out, sizeof(out)), 1);
    char args[256];
    snprintf(args, sizeof(args), "backup %s", backup);
    if (ctl(args, out, sizeof(out)) != 0)
        fail_msg("backup: %s", out);
    json_t *o = json_loads(out, 0, NULL);
    assert_non_null(o);
    assert_true(json_integer_value(json_object_get(o, "bytes")) > 0);
    assert_true(json_integer_value(json_object_get(o, "schema_version")) > 0);
    /* the answer says the KEK is not in it */
    assert_non_null(strstr(json_string_value(json_object_get(o, "kek")), "not included"));
    json_decref(o);
    struct stat st;
    assert_int_equal(stat(backup, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* never overwritten */
    assert_int_equal(ctl(args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "exists"));

    /* The KEK's 64 hex digits are nowhere in the copy. */
    char kek_path[128], kek[80] = "";
    snprintf(kek_path, sizeof(kek_path), "%s/inst/kek.key", fx.dir);
    FILE *f = fopen(kek_path, "r");
    assert_non_null(f);
    assert_non_null(fgets(kek, sizeof(kek), f));
    fclose(f);
    kek[64] = '\0';
    f = fopen(backup, "rb");
    assert_non_null(f);
    static char copy[1 << 22];
    size_t n = fread(copy, 1, sizeof(copy), f);
    fclose(f);
    assert_null(memmem(copy, n, kek, 64));

    /* The instance goes on: several new blocks after the copy was taken. */
    vectors_accepted(60);
}

static void test_restore_refused_while_serving(void **state)
{
    (void)state;
    char out[4096], pid[32];
    assert_int_not_equal(restore("", out, sizeof(out)), 0);
    snprintf(pid, sizeof(pid), "process %d ", (int)fx.pid);
    if (strstr(out, pid) == NULL || strstr(out, "not restoring") == NULL)
        fail_msg("the refusal does not name the daemon (%s): %s", pid, out);
    vectors_accepted(3); /* untouched */
}

/* The control: without a real margin the copy's marks are stale and the USIM says so. */
static void test_restore_without_margin_reuses_sqns(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(fixture_stop(&fx, SIGTERM), 0);
    if (restore("--sqn-margin 1", out, sizeof(out)) != 0)
        fail_msg("restore: %s", out);
    assert_int_equal(fixture_start(&fx), 0);
    struct usim saved = ue;
    assert_int_equal(one_vector(), USIM_SYNC_FAILURE);
    ue = saved;
}

static void test_restore_moves_marks_past_every_issued_sqn(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(fixture_stop(&fx, SIGTERM), 0);
    /* bad input first: nothing is touched */
    assert_int_equal(restore("--sqn-margin 0", out, sizeof(out)), 2);
    char args[256];
    snprintf(args, sizeof(args), "--from %s/inst/iotsec.yaml", fx.dir);
    assert_int_equal(fixture_tool(&fx, IOTSECD_PATH, "restore", args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "not a sound iotsec database"));

    if (restore("", out, sizeof(out)) != 0)
        fail_msg("restore: %s", out);
    json_t *o = json_loads(out, 0, NULL);
    if (o == NULL)
        fail_msg("restore printed no JSON: %s", out);
    assert_int_equal(json_integer_value(json_object_get(o, "sqn_margin")), 1000000);
    assert_int_equal(json_integer_value(json_object_get(o, "subscriptions_advanced")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "sqn_slots_released")), 8);
    /* the replaced database is kept */
    struct stat st;
    assert_int_equal(stat(json_string_value(json_object_get(o, "previous")), &st), 0);
    json_decref(o);

    assert_int_equal(fixture_start(&fx), 0);
    uint64_t before = last_sqn;
    vectors_accepted(30); /* no resynchronisation, each above every SQN before the restore */
    /* the jump is the margin (in SEQs), far inside the USIM's window (TS 33.102 C.2.2) */
    assert_true((last_sqn >> 5) - (before >> 5) >= 1000000 - 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_online_backup),
        cmocka_unit_test(test_restore_refused_while_serving),
        cmocka_unit_test(test_restore_without_margin_reuses_sqns),
        cmocka_unit_test(test_restore_moves_marks_past_every_issued_sqn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
