/* The example server as a process: it starts, serves h2c and TLS, and stops gracefully on
 * SIGTERM with exit status 0. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_test.h"

static void test_hello_process(void **state)
{
    (void)state;
    struct test_certs certs;
    certs_make(&certs);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execl(HTTP_HELLO, HTTP_HELLO, "-w", "2", "-c", "127.0.0.1:0", "-t", "127.0.0.1:0", "-C",
              certs.server_cert, "-K", certs.server_key, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    unsigned h2c = 0, tls = 0;
    char line[64];
    while (fgets(line, sizeof(line), f) && strcmp(line, "ready\n") != 0) {
        sscanf(line, "h2c %u", &h2c);
        sscanf(line, "tls %u", &tls);
    }
    assert_true(h2c && tls);

    struct fetch a = {.url = url_of("http", h2c, "/hello"),
                      .version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    fetch_run(&a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.data, "{\"hello\":\"world\"}");
    fetch_done(&a);
    struct fetch b = {.url = url_of("https", tls, "/hello/async"), .ca = certs.ca};
    fetch_run(&b);
    assert_int_equal(b.status, 200);
    assert_int_equal(b.http_version, CURL_HTTP_VERSION_2_0);
    fetch_done(&b);
    struct fetch m = {.url = url_of("http", h2c, "/metrics"), .version = CURL_HTTP_VERSION_1_1};
    fetch_run(&m);
    assert_non_null(strstr(m.data, "route=\"/hello/async\",code=\"200\"} 1\n"));
    fetch_done(&m);

    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fclose(f);
    certs_remove(&certs);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hello_process)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
