/* One process per instance, at once (issue 10, part 1). Two daemons on one database would
 * each serve SQNs from their own reserved blocks, and two daemons sharing a port would split
 * the AMF's connections between them: the same subscriber's vectors would then come from
 * both, out of order or repeated.
 *
 * - A second `iotsecd run` on the instance directory exits non-zero at once, naming the PID
 *   of the daemon that holds the instance, without opening the database; iotsecctl (admin
 *   face) and `iotsecctl audit verify` (the database file) keep working beside the daemon.
 * - A second instance with another directory configured on the same ports is refused
 *   ("address in use", naming the face and the address).
 * - Through all of it the first daemon keeps serving: every vector of one subscriber is
 *   accepted by the device's USIM (sdk/usim: MAC and freshness checked UE-side), and the SQN
 *   the USIM recovers from each AUTN is strictly greater than the one before.
 * - A daemon killed with SIGKILL leaves no stale lock: the next run starts. */
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/hex.h"
#include "fixture.h"
#include "usim_vectors.h"

#define SUPI    "imsi-001010000000077"
#define K_HEX   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"

static struct daemon_fixture fx;
static struct usim ue;    /* the subscriber's USIM, across the tests */
static uint64_t last_sqn; /* the highest SQN the USIM accepted so far */

/* Runs `iotsecd run --dir inst` expecting it to give up: returns its wait status and its
 * output (stdout and stderr) in out. A process still running after 10 s fails the test
 * (it was not refused at once: it serves). */
static int run_second(const char *inst, char *out, size_t cap)
{
    char log[128];
    snprintf(log, sizeof(log), "%s/second.log", fx.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (f == NULL || dup2(fileno(f), 2) < 0)
            _exit(126);
        execl(IOTSECD_PATH, "iotsecd", "run", "--dir", inst, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    for (int waited_ms = 0; waitpid(pid, &status, WNOHANG) == 0; waited_ms += 10) {
        if (waited_ms >= 10000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("a second iotsecd on %s was not refused: it is still running", inst);
        }
        poll(NULL, 0, 10);
    }
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return status;
}

/* n vectors for SUPI from the daemon's UDM, each handed to the USIM: accepted (MAC right,
 * SQN fresh), RES* as the vector says, and the SQN the USIM recovered above the last one. */
static void vectors_strictly_increasing(int n)
{
    usim_vectors_accepted(&fx, SUPI, &ue, n, &last_sqn);
}

static int ctl(const char *args, char *out, size_t cap)
{
    return fixture_tool(&fx, IOTSECCTL_PATH, NULL, args, out, cap);
}

/* added through iotsecctl (the admin face), as an operator would */
static const struct usim_vectors_case subscriber = {
    .ctl_path = IOTSECCTL_PATH, .supi = SUPI, .k_hex = K_HEX, .opc_hex = OPC_HEX};

static int setup(void **state)
{
    (void)state;
    return usim_vectors_setup(&fx, &subscriber, &ue, &last_sqn);
}

static int teardown(void **state)
{
    (void)state;
    usim_vectors_teardown(&fx);
    return 0;
}

static void test_second_run_on_the_directory_refused(void **state)
{
    (void)state;
    vectors_strictly_increasing(3);
    char inst[96], out[8192], pid[32];
    snprintf(inst, sizeof(inst), "%s/inst", fx.dir);
    int status = run_second(inst, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    snprintf(pid, sizeof(pid), "process %d ", (int)fx.pid);
    if (strstr(out, pid) == NULL || strstr(out, "iotsecd.lock") == NULL)
        fail_msg("the refusal does not name the holder (%s): %s", pid, out);
    /* refused before anything: no database opened, nothing served */
    assert_null(strstr(out, "database open"));
    assert_null(strstr(out, "\"event\":\"ready\""));

    /* the tools keep working beside the daemon: the admin face, and the database file */
    assert_int_equal(ctl("subscriber show " SUPI, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"state\":\"active\""));
    assert_int_equal(ctl("audit verify", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "\"ok\":true"));

    /* the first daemon is unaffected: 100 vectors, strictly increasing SQNs UE-side */
    vectors_strictly_increasing(100);
}

/* Rewrites the listen line of `face` in other's configuration to fx's port. */
static void same_port(struct daemon_fixture *other, const char *face, unsigned mine,
                      unsigned theirs)
{
    char from[64], to[64];
    snprintf(from, sizeof(from), "%s: \"127.0.0.1:%u\"", face, mine);
    snprintf(to, sizeof(to), "%s: \"127.0.0.1:%u\"", face, theirs);
    assert_int_equal(fixture_config_replace(other, from, to), 0);
}

static void expect_address_in_use(struct daemon_fixture *other, const char *face, unsigned port)
{
    char inst[96], out[8192], where[64];
    snprintf(inst, sizeof(inst), "%s/inst", other->dir);
    int status = run_second(inst, out, sizeof(out));
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    snprintf(where, sizeof(where), "(%s face): cannot listen on 127.0.0.1:%u", face, port);
    if (strstr(out, "address in use") == NULL || strstr(out, where) == NULL)
        fail_msg("expected 'address in use' naming '%s': %s", where, out);
    assert_null(strstr(out, "\"event\":\"ready\""));
}

static void test_other_directory_on_the_same_ports_refused(void **state)
{
    (void)state;
    /* a copy of the instance's ports, as a second instance set up from the same notes */
    struct daemon_fixture other;
    assert_int_equal(fixture_init(&other, NULL), 0);
    same_port(&other, "sbi", other.sbi_port, fx.sbi_port);
    same_port(&other, "sbi_h2c", other.h2c_port, fx.h2c_port);
    same_port(&other, "admin", other.admin_port, fx.admin_port);
    same_port(&other, "northbound", other.north_port, fx.north_port);
    same_port(&other, "device", other.device_port, fx.device_port);
    expect_address_in_use(&other, "sbi", fx.sbi_port);
    vectors_strictly_increasing(20);
    fixture_cleanup(&other);

    /* only the last face bound collides: the faces started before it are torn down too */
    assert_int_equal(fixture_init(&other, NULL), 0);
    same_port(&other, "device", other.device_port, fx.device_port);
    expect_address_in_use(&other, "device", fx.device_port);
    fixture_cleanup(&other);

    vectors_strictly_increasing(20);
}

/* The fixture itself: a port another process took between fixture_init and fixture_start (a
 * parallel test's client, say) moves the instance to new ports instead of failing the test. */
static void test_fixture_moves_off_a_port_taken_meanwhile(void **state)
{
    (void)state;
    struct daemon_fixture other;
    assert_int_equal(fixture_init(&other, NULL), 0);
    uint16_t taken = other.admin_port;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(taken)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(fixture_start(&other), 0);
    assert_int_not_equal(other.admin_port, taken);
    char url[128];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers?limit=1", other.admin);
    char *body = NULL;
    assert_int_equal(fixture_request(&other, AS_ADMIN, "GET", url, NULL, NULL, 0, &body), 200);
    free(body);
    int status = fixture_stop(&other, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    fixture_cleanup(&other);
}

/* The lock dies with its process, even a killed one: the next run starts at once. */
static void test_lock_released_when_killed(void **state)
{
    (void)state;
    fixture_stop(&fx, SIGKILL);
    assert_int_equal(fixture_start(&fx), 0);
    vectors_strictly_increasing(20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_run_on_the_directory_refused),
        cmocka_unit_test(test_other_directory_on_the_same_ports_refused),
        cmocka_unit_test(test_fixture_moves_off_a_port_taken_meanwhile),
        cmocka_unit_test(test_lock_released_when_killed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
