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
#include "usim.h"

#define SUPI    "imsi-001010000000088"
#define K_HEX   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"

static struct daemon_fixture fx;
static struct usim ue;    /* the subscriber's USIM, across the tests */
static uint64_t last_sqn; /* the highest SQN the USIM accepted so far */
static char backup[160];

/* One vector from the UDM handed to the USIM; returns the USIM's verdict (USIM_OK: accepted,
 * RES* checked against XRES*). */
static int one_vector(void)
{
    char url[192], body[160];
    snprintf(url, sizeof(url), "%s/nudm-ueau/v1/" SUPI "/security-information/generate-auth-data",
             fx.sbi);
    snprintf(body, sizeof(body),
             "{\"servingNetworkName\":\"%s\",\"ausfInstanceId\":"
             "\"5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01\"}",
             fx.snn);
    char *answer = NULL;
    long st =
        fixture_request(&fx, AS_NF, "POST", url, "application/json", body, strlen(body), &answer);
    if (st != 200) {
        char why[256];
        snprintf(why, sizeof(why), "%s", answer ? answer : "");
        free(answer);
        fail_msg("HTTP %ld %s", st, why);
    }
    json_t *o = json_loads(answer, 0, NULL);
    free(answer);
    json_t *av = json_object_get(o, "authenticationVector");
    uint8_t rand_b[16], autn[16], xres_star[16];
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "rand")), rand_b, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "autn")), autn, 16), 0);
    assert_int_equal(hex_decode(json_string_value(json_object_get(av, "xresStar")), xres_star, 16),
                     0);
    json_decref(o);
    struct usim_response r;
    int result = usim_authenticate(&ue, rand_b, autn, fx.snn, strlen(fx.snn), &r);
    if (result == USIM_OK)
        assert_memory_equal(r.res_star, xres_star, 16);
    return result;
}

/* n vectors, each accepted, each SQN above every SQN before. */
static void vectors_accepted(int n)
{
    for (int i = 0; i < n; i++) {
        int result = one_vector();
        if (result != USIM_OK)
            fail_msg("vector %d: the USIM says %d (1: stale SQN, resynchronisation)", i, result);
        uint64_t sqn = usim_sqn_ms(&ue);
        if (sqn <= last_sqn)
            fail_msg("vector %d: SQN %012llx after %012llx", i, (unsigned long long)sqn,
                     (unsigned long long)last_sqn);
        last_sqn = sqn;
    }
}

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int ctl(const char *args, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --dir %s/inst %s 2>&1", IOTSECCTL_PATH, fx.dir, args);
    return run(cmd, out, cap);
}

static int restore(const char *extra, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s restore --dir %s/inst --from %s %s 2>&1", IOTSECD_PATH, fx.dir,
             backup, extra);
    return run(cmd, out, cap);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, NULL) != 0 ||
        fixture_config_replace(&fx, "sqn_block: 1000", "sqn_block: 10") != 0 ||
        fixture_start(&fx) != 0)
        return -1;
    char out[4096];
    if (ctl("subscriber add --supi " SUPI " --k " K_HEX " --opc " OPC_HEX
            " --amf 8000 --sqn 000000000020",
            out, sizeof(out)) != 0) {
        fprintf(stderr, "subscriber add: %s\n", out);
        return -1;
    }
    uint8_t k[16], opc[16];
    hex_decode(K_HEX, k, 16);
    hex_decode(OPC_HEX, opc, 16);
    usim_init(&ue, k, opc);
    ue.seq_ms[0] = 1; /* personalised with SQN 0x20: SEQ 1 in IND 0 */
    last_sqn = 0x20;
    snprintf(backup, sizeof(backup), "%s/iotsec-backup.db", fx.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fixture_cleanup(&fx);
    curl_global_cleanup();
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
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s restore --dir %s/inst --from %s/inst/iotsec.yaml 2>&1",
             IOTSECD_PATH, fx.dir, fx.dir);
    assert_int_equal(run(cmd, out, sizeof(out)), 1);
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
