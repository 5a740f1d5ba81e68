/* The optional nftables enforcement, for real, in a network namespace of its own (skipped
 * where one cannot be made: no CAP_SYS_ADMIN): a UDP datagram from a UE address gets
 * through; once the address is in the quarantine set it is dropped; after the release it
 * gets through again. IPv6 addresses go to their own set. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "policy/policy.h"

static bool have_netns;

static int setup(void **state)
{
    (void)state;
    if (unshare(CLONE_NEWNET) != 0)
        return 0; /* not allowed here: the tests skip */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    have_netns = fd >= 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    if (fd >= 0)
        close(fd);
    return 0;
}

static struct an_addr addr(const char *s)
{
    struct an_addr a;
    assert_int_equal(an_addr_parse(s, strlen(s), &a), IOTSEC_OK);
    return a;
}

/* Sends one datagram from 127.0.0.2 (the "UE") to 127.0.0.1; true if it arrived. */
static bool gets_through(void)
{
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
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

static void test_quarantine_drops_traffic(void **state)
{
    (void)state;
    if (!have_netns)
        skip();
    char err[256], list[4096];
    struct policy_nft *n = policy_nft_open(err, sizeof(err));
    assert_non_null(n);
    assert_true(gets_through());
    struct an_addr ue = addr("127.0.0.2"), ue6 = addr("fd00::2");
    assert_int_equal(policy_nft_set(n, &ue, true), IOTSEC_OK);
    assert_int_equal(policy_nft_set(n, &ue, true), IOTSEC_OK); /* idempotent */
    assert_int_equal(policy_nft_set(n, &ue6, true), IOTSEC_OK);
    assert_int_equal(policy_nft_list(n, list, sizeof(list)), IOTSEC_OK);
    assert_non_null(strstr(list, "127.0.0.2"));
    assert_non_null(strstr(list, "fd00::2"));
    assert_false(gets_through());
    assert_int_equal(policy_nft_set(n, &ue, false), IOTSEC_OK);
    assert_int_equal(policy_nft_set(n, &ue, false), IOTSEC_OK); /* not there: fine */
    assert_true(gets_through());
    policy_nft_close(n);
    /* Reopened: the table starts empty (the daemon re-adds as it quarantines). */
    n = policy_nft_open(err, sizeof(err));
    assert_non_null(n);
    assert_int_equal(policy_nft_list(n, list, sizeof(list)), IOTSEC_OK);
    assert_null(strstr(list, "fd00::2"));
    policy_nft_close(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarantine_drops_traffic),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
