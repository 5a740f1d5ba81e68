/* The IPFIX collector over real sockets: libfixbuf exports to it over UDP and TCP, what
 * arrives at the sink is exactly what was sent; a stream that cannot be framed is closed;
 * connections past the cap are refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "analytics/ipfix_collector.h"
#include "base/err.h"
#include "ipfix_gen.h"

struct sink {
    pthread_mutex_t mu;
    struct an_flow *f;
    size_t n, cap;
};

static void on_flows(void *arg, const struct an_flow *f, size_t n)
{
    struct sink *s = arg;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n && s->n < s->cap; i++)
        s->f[s->n++] = f[i];
    pthread_mutex_unlock(&s->mu);
}

static size_t sink_count(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void nap(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Waits (at most 20 s: a loaded machine) until cond(c) holds. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int i_ = 0; i_ < 2000 && !(cond); i_++)                                               \
            nap();                                                                                 \
        assert_true(cond);                                                                         \
    } while (0)

static struct an_ipfix_collector *start(struct sink *s, uint32_t max_conns)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->cap = 10000;
    s->f = calloc(s->cap, sizeof(*s->f));
    struct an_ipfix_collector_options o = {.udp = "127.0.0.1:0",
                                           .tcp = "127.0.0.1:0",
                                           .max_conns = max_conns,
                                           .sink = on_flows,
                                           .arg = s};
    struct an_ipfix_collector *c;
    char err[200];
    assert_int_equal(an_ipfix_collector_start(&o, &c, err, sizeof(err)), IOTSEC_OK);
    assert_true(an_ipfix_collector_port(c, AN_IPFIX_UDP) > 0);
    assert_true(an_ipfix_collector_port(c, AN_IPFIX_TCP) > 0);
    return c;
}

static void stop(struct an_ipfix_collector *c, struct sink *s)
{
    an_ipfix_collector_stop(c);
    free(s->f);
    pthread_mutex_destroy(&s->mu);
}

static void check_flows(struct sink *s, const struct ipfix_gen_flow *g, size_t n)
{
    assert_int_equal(sink_count(s), n);
    for (size_t i = 0; i < n; i++) {
        struct an_flow want;
        ipfix_gen_expect(&g[i], &want);
        assert_memory_equal(s->f[i].orig.b, want.orig.b, 16);
        assert_memory_equal(s->f[i].resp.b, want.resp.b, 16);
        assert_int_equal(s->f[i].orig_bytes, want.orig_bytes);
        assert_int_equal(s->f[i].resp_pkts, want.resp_pkts);
        assert_int_equal(s->f[i].outcome, want.outcome);
        assert_true(s->f[i].ts == want.ts);
    }
}

static void test_udp_and_tcp(void **state)
{
    (void)state;
    struct sink s;
    struct an_ipfix_collector *c = start(&s, 0);
    enum { N = 400 };
    struct ipfix_gen_flow g[N];
    ipfix_gen_random(g, N, 11, 0.25);
    char port[8];
    snprintf(port, sizeof(port), "%u", an_ipfix_collector_port(c, AN_IPFIX_UDP));
    assert_int_equal(ipfix_gen_send("127.0.0.1", port, false, g, N, 7), 0);
    WAIT_FOR(sink_count(&s) >= N);
    check_flows(&s, g, N);

    s.n = 0; /* the collector is idle: nothing else writes it */
    snprintf(port, sizeof(port), "%u", an_ipfix_collector_port(c, AN_IPFIX_TCP));
    assert_int_equal(ipfix_gen_send("127.0.0.1", port, true, g, N, 7), 0);
    WAIT_FOR(sink_count(&s) >= N);
    check_flows(&s, g, N);
    struct an_ipfix_collector_stats st;
    /* The exporter closed: its TCP session (templates) is dropped; the UDP one stays. */
    WAIT_FOR((an_ipfix_collector_get_stats(c, &st), st.parser.sessions == 1));
    assert_int_equal(st.conns, 1);
    assert_int_equal(st.parser.flows, 2 * N);
    assert_int_equal(st.parser.bad_messages, 0);
    assert_true(st.datagrams > 0);
    stop(c, &s);
}

static int connect_tcp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void test_broken_stream_and_cap(void **state)
{
    (void)state;
    struct sink s;
    struct an_ipfix_collector *c = start(&s, 1);
    uint16_t port = an_ipfix_collector_port(c, AN_IPFIX_TCP);
    int a = connect_tcp(port);
    struct an_ipfix_collector_stats st;
    WAIT_FOR((an_ipfix_collector_get_stats(c, &st), st.conns == 1));
    int b = connect_tcp(port); /* over the cap of 1: closed at once */
    WAIT_FOR((an_ipfix_collector_get_stats(c, &st), st.conns_refused == 1));
    char buf[8];
    assert_int_equal(recv(b, buf, sizeof(buf), 0), 0);
    /* NetFlow v9 on the IPFIX port: no frame can be trusted after it. */
    uint8_t v9[20] = {0, 9, 0, 20};
    assert_int_equal(send(a, v9, sizeof(v9), 0), (ssize_t)sizeof(v9));
    WAIT_FOR((an_ipfix_collector_get_stats(c, &st), st.conns_broken == 1));
    assert_int_equal(recv(a, buf, sizeof(buf), 0), 0);
    close(a);
    close(b);
    /* A garbage datagram is a refused message, not a stopped collector. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons(an_ipfix_collector_port(c, AN_IPFIX_UDP))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(u, v9, sizeof(v9), 0, (struct sockaddr *)&to, sizeof(to)), 20);
    WAIT_FOR((an_ipfix_collector_get_stats(c, &st), st.parser.bad_messages == 1));
    close(u);
    stop(c, &s);
}

static void test_bad_address(void **state)
{
    (void)state;
    struct an_ipfix_collector_options o = {.udp = "localhost:4739", .sink = on_flows};
    struct an_ipfix_collector *c;
    char err[200] = "";
    assert_int_equal(an_ipfix_collector_start(&o, &c, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_null(c);
    assert_non_null(strstr(err, "localhost:4739"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_and_tcp),
        cmocka_unit_test(test_broken_stream_and_cap),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
