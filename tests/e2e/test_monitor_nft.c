/* Quarantine enforced in the network (policy.nftables: true), end to end, in a network
 * namespace of the test's own (skipped where one cannot be made): the daemon and its
 * clients run in it; a meter that floods is quarantined and the datagrams its UE address
 * sends are dropped, its neighbour's still pass; the operator's release lets it through. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "fixture.h"

#define T0 1700000040

static struct daemon_fixture fx;
static bool have_netns;

static int setup(void **state)
{
    (void)state;
    if (unshare(CLONE_NEWNET) != 0)
        return 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    have_netns = fd >= 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    if (fd >= 0)
        close(fd);
    if (!have_netns)
        return 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fixture_init(&fx, "policy:\n  nftables: true\n") != 0 || fixture_start(&fx) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!have_netns)
        return 0;
    int status = fixture_stop(&fx, SIGTERM);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One datagram from 127.0.0.<ue> to 127.0.0.1: did it arrive? */
static bool gets_through(int ue)
{
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    struct sockaddr_in from = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)ue)};
    socklen_t len = sizeof(to);
    struct timeval tv = {0, 200000};
    assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
    assert_int_equal(getsockname(rx, (struct sockaddr *)&to, &len), 0);
    assert_int_equal(bind(tx, (struct sockaddr *)&from, sizeof(from)), 0);
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
    char c;
    bool got = recv(rx, &c, 1, 0) == 1;
    close(rx);
    close(tx);
    return got;
}

static long admin(const char *method, const char *path, const char *body, char **out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fx.admin, path);
    return fixture_request(&fx, AS_ADMIN, method, url, body ? "application/json" : NULL, body,
                           body ? strlen(body) : 0, out);
}

static void test_quarantine_is_enforced_in_the_network(void **state)
{
    (void)state;
    if (!have_netns)
        skip();
    for (int i = 0; i < 2; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"supi\":\"imsi-00101000000020%d\",\"k\":\"465b5ce8b199b49faa5f0a2ee238a6bc\","
                 "\"opc\":\"cd63cb71954a9f4e48a5994e37a02baf\",\"amf\":\"8000\"}",
                 i);
        assert_int_equal(fixture_add_subscriber(&fx, json), 0);
    }
    assert_int_equal(admin("PUT", "/admin/v1/analytics/ue-addresses",
                           "[{\"supi\":\"imsi-001010000000200\",\"ipv4\":\"127.0.0.10\"},"
                           "{\"supi\":\"imsi-001010000000201\",\"ipv4\":\"127.0.0.11\"}]",
                           NULL),
                     200);
    assert_true(gets_through(10));
    /* Meter 10 floods 203.0.113.66 for a minute (250 flows); a record of the next minute
     * closes the window. */
    size_t cap = 300 * 128, n = 0;
    char *batch = malloc(cap);
    assert_non_null(batch);
    for (int k = 0; k < 250; k++)
        n += (size_t)snprintf(batch + n, cap - n,
                              "{\"ts\":%.1f,\"src\":\"127.0.0.10\",\"dst\":\"203.0.113.66\","
                              "\"dport\":80,\"proto\":\"udp\",\"outcome\":\"noreply\"}\n",
                              T0 + k * 0.2);
    n += (size_t)snprintf(batch + n, cap - n,
                          "{\"ts\":%d,\"src\":\"127.0.0.11\",\"dst\":\"198.51.100.10\"}\n",
                          T0 + 61);
    char url[256];
    snprintf(url, sizeof(url), "%s/nnwdaf-iotsec/v1/flow-records", fx.sbi);
    assert_int_equal(fixture_request(&fx, AS_NF, "POST", url, "application/x-ndjson", batch, n,
                                     NULL),
                     200);
    free(batch);
    bool dropped = false;
    for (int tries = 0; tries < 50 && !dropped; tries++) { /* the quarantine commits async */
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        dropped = !gets_through(10);
    }
    assert_true(dropped);
    assert_true(gets_through(11)); /* the neighbour is untouched */
    /* A restart recreates the set: it is refilled from the persisted quarantine and the
     * persisted mapping, not left empty. */
    int status = fixture_stop(&fx, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(fixture_start(&fx), 0);
    assert_false(gets_through(10));
    assert_true(gets_through(11));
    assert_int_equal(admin("POST", "/admin/v1/devices/imsi-001010000000200/release", NULL, NULL),
                     200);
    assert_true(gets_through(10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarantine_is_enforced_in_the_network),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
