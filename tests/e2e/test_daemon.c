/* iotsecd as an operator meets it: init, the ready line, systemd's notification, a graceful
 * stop, and the refusals (a readable KEK, a bad configuration, a second init). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "fixture.h"

static void inst_path(const struct daemon_fixture *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/inst/%s", f->dir, name);
}

static int file_contains(const char *path, const char *needle)
{
    char buf[8192];
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void test_ready_line_notify_and_graceful_stop(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, NULL), 0);
    /* Be systemd: a datagram socket in NOTIFY_SOCKET. */
    char sock_path[100];
    snprintf(sock_path, sizeof(sock_path), "%s/notify", f.dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    setenv("NOTIFY_SOCKET", sock_path, 1);
    assert_int_equal(fixture_start(&f), 0);
    unsetenv("NOTIFY_SOCKET");

    json_t *ready = json_loads(f.ready, 0, NULL);
    assert_non_null(ready);
    char want[96];
    assert_string_equal(json_string_value(json_object_get(ready, "event")), "ready");
    assert_string_equal(json_string_value(json_object_get(ready, "sbi")), f.sbi);
    assert_string_equal(json_string_value(json_object_get(ready, "admin")), f.admin);
    assert_string_equal(json_string_value(json_object_get(ready, "sbi_h2c")), f.h2c);
    assert_string_equal(json_string_value(json_object_get(ready, "northbound")), f.north);
    assert_string_equal(json_string_value(json_object_get(ready, "device")), f.device);
    assert_int_equal(json_integer_value(json_object_get(ready, "pid")), f.pid);
    json_decref(ready);

    char msg[64] = "";
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
    assert_true(n > 0);
    msg[n] = '\0';
    assert_string_equal(msg, "READY=1");

    /* The lab listener speaks h2c without a certificate. */
    snprintf(want, sizeof(want), "%s/healthz", f.h2c);
    assert_int_equal(fixture_request(&f, AS_NOBODY, "GET", want, NULL, NULL, 0, NULL), 200);

    int status = fixture_stop(&f, SIGTERM);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    n = recv(fd, msg, sizeof(msg) - 1, 0);
    assert_true(n > 0);
    msg[n] = '\0';
    assert_string_equal(msg, "STOPPING=1");
    close(fd);

    /* The KEK and the keys are 0600; the database too. */
    static const char *secret_files[] = {"kek.key", "pki/ca.key", "pki/server.key",
                                         "pki/admin.key", "pki/nf.key", "iotsec.db"};
    for (size_t i = 0; i < sizeof(secret_files) / sizeof(secret_files[0]); i++) {
        char p[160];
        struct stat st;
        if (f.db.pg && strcmp(secret_files[i], "iotsec.db") == 0)
            continue; /* the database is on the PostgreSQL server */
        inst_path(&f, secret_files[i], p, sizeof(p));
        assert_int_equal(stat(p, &st), 0);
        if ((st.st_mode & 0777) != 0600)
            fail_msg("%s has mode %o", secret_files[i], st.st_mode & 0777);
    }
    fixture_cleanup(&f);
}

static void test_refuses_a_readable_kek(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, NULL), 0);
    char kek[160], log[160];
    inst_path(&f, "kek.key", kek, sizeof(kek));
    assert_int_equal(chmod(kek, 0644), 0);
    assert_int_equal(fixture_start(&f), -1);
    int status = fixture_stop(&f, SIGKILL);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    snprintf(log, sizeof(log), "%s/daemon.log", f.dir);
    assert_true(file_contains(log, "refusing to start"));
    assert_false(file_contains(log, "serving"));
    fixture_cleanup(&f);
}

static void test_refuses_bad_configuration_and_second_init(void **state)
{
    (void)state;
    struct daemon_fixture f;
    assert_int_equal(fixture_init(&f, "colour: blue\n"), 0);
    assert_int_equal(fixture_start(&f), -1);
    int status = fixture_stop(&f, SIGKILL);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "%s init --dir %s/inst >/dev/null 2>&1", IOTSECD_PATH, f.dir);
    status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1); /* an instance exists there */
    snprintf(cmd, sizeof(cmd), "%s init --dir %s/other --sbi nowhere >/dev/null 2>&1",
             IOTSECD_PATH, f.dir);
    status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    snprintf(cmd, sizeof(cmd), "%s run >/dev/null 2>&1", IOTSECD_PATH);
    status = system(cmd);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    fixture_cleanup(&f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_line_notify_and_graceful_stop),
        cmocka_unit_test(test_refuses_a_readable_kek),
        cmocka_unit_test(test_refuses_bad_configuration_and_second_init),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
