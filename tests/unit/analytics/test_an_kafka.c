/* The Kafka consumer against librdkafka's mock cluster (no broker in Debian): pmacct records
 * produced keyed by device are all consumed, offsets are committed only once the sink took
 * the records, a refused batch is read again, two consumers of one group split the
 * partitions, bad records are counted and passed. Also the pmacct record parser itself. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/kafka_consumer.h"
#include "base/err.h"

#define TOPIC "flows"
#define PARTS 4

struct sink {
    int refuse; /* refuse this many batches first */
    size_t n;
    uint64_t bytes; /* sum of orig_bytes: every record counted once */
    uint8_t seen[1000];
};

static int on_flows(void *arg, const struct an_flow *f, size_t n)
{
    struct sink *s = arg;
    if (s->refuse > 0) {
        s->refuse--;
        return IOTSEC_ERR_BUSY;
    }
    for (size_t i = 0; i < n; i++) {
        s->bytes += f[i].orig_bytes;
        if (f[i].orig_bytes < 1000)
            s->seen[f[i].orig_bytes]++;
    }
    s->n += n;
    return IOTSEC_OK;
}

struct cluster {
    rd_kafka_t *owner; /* the mock cluster lives in a client instance */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps;
};

static void cluster_start(struct cluster *c)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    c->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(c->owner);
    c->mc = rd_kafka_mock_cluster_new(c->owner, 3);
    assert_non_null(c->mc);
    c->bootstraps = rd_kafka_mock_cluster_bootstraps(c->mc);
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, TOPIC, PARTS, 1), 0);
}

static void cluster_stop(struct cluster *c)
{
    rd_kafka_mock_cluster_destroy(c->mc);
    rd_kafka_destroy(c->owner);
}

/* n pmacct records, record i with bytes = i, keyed by its device address; plus `bad`
 * messages that are not records, and a purge_init event. */
static void produce(struct cluster *c, int n, int bad)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(p);
    for (int i = 0; i < n + bad + 1; i++) {
        char msg[512], key[32];
        snprintf(key, sizeof(key), "10.0.%d.%d", (i % 50) / 250, i % 50 + 1);
        if (i < n)
            snprintf(msg, sizeof(msg),
                     "{\"event_type\":\"purge\",\"ip_src\":\"%s\",\"ip_dst\":\"198.51.100.7\","
                     "\"port_src\":40000,\"port_dst\":443,\"ip_proto\":\"tcp\",\"tcp_flags\":\"2\","
                     "\"timestamp_start\":\"2023-11-14 22:13:20.250000\","
                     "\"timestamp_end\":\"2023-11-14 22:13:21.000000\",\"packets\":3,"
                     "\"bytes\":%d,\"writer_id\":\"default_kafka/1\"}",
                     key, i);
        else if (i < n + bad)
            snprintf(msg, sizeof(msg), "{\"ip_src\":\"%s\",\"ip_dst\":\"not an address\"}", key);
        else
            snprintf(msg, sizeof(msg), "{\"event_type\":\"purge_init\",\"writer_id\":\"x/1\"}");
        assert_int_equal(
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(msg, strlen(msg)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static struct an_kafka *consumer(struct cluster *c, const char *group, struct sink *s)
{
    struct an_kafka_options o = {.brokers = c->bootstraps,
                                 .topic = TOPIC,
                                 .group = group,
                                 .batch = 64,
                                 .sink = on_flows,
                                 .arg = s};
    struct an_kafka *k;
    char err[256];
    assert_int_equal(an_kafka_new(&o, &k, err, sizeof(err)), IOTSEC_OK);
    return k;
}

/* The committed offsets of group over all partitions, summed (each: the next to read). */
static int64_t committed(struct cluster *c, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int i = 0; i < PARTS; i++)
        rd_kafka_topic_partition_list_add(l, TOPIC, i);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t sum = 0;
    for (int i = 0; i < l->cnt; i++)
        sum += l->elems[i].offset > 0 ? l->elems[i].offset : 0;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return sum;
}

static void test_consume_commit_bad(void **state)
{
    (void)state;
    struct cluster c;
    cluster_start(&c);
    enum { N = 500, BAD = 7 };
    produce(&c, N, BAD);
    struct sink s = {.refuse = 2};
    struct an_kafka *k = consumer(&c, "g1", &s);
    struct an_kafka_stats st;
    /* The sink refuses the first two batches: nothing is committed, they come again. */
    int refused = 0;
    for (int i = 0; i < 3000 && refused < 2; i++)
        refused += an_kafka_poll(k, 100) == IOTSEC_ERR_BUSY;
    assert_int_equal(refused, 2);
    assert_int_equal(committed(&c, "g1"), 0);
    for (int i = 0; i < 3000 && s.n < N; i++)
        an_kafka_poll(k, 100);
    for (int i = 0; i < 20; i++) /* whatever else is there: the bad ones, the event */
        an_kafka_poll(k, 50);
    an_kafka_get_stats(k, &st);
    assert_int_equal(s.n, N);
    assert_int_equal(s.bytes, (uint64_t)N * (N - 1) / 2); /* each record exactly once */
    for (int i = 0; i < N; i++)
        assert_int_equal(s.seen[i], 1);
    assert_int_equal(st.records, N);
    assert_int_equal(st.bad_records, BAD);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.partitions, PARTS);
    /* Everything read, bad ones included, is committed. */
    assert_int_equal(committed(&c, "g1"), N + BAD + 1);
    an_kafka_free(k);
    /* A new consumer of the group starts after the commit: nothing again. */
    struct sink s2 = {0};
    k = consumer(&c, "g1", &s2);
    for (int i = 0; i < 30; i++)
        an_kafka_poll(k, 100);
    assert_int_equal(s2.n, 0);
    an_kafka_free(k);
    cluster_stop(&c);
}

static void test_group_splits_partitions(void **state)
{
    (void)state;
    struct cluster c;
    cluster_start(&c);
    enum { N = 400 };
    produce(&c, N, 0);
    struct sink sa = {0}, sb = {0};
    struct an_kafka *a = consumer(&c, "g2", &sa), *b = consumer(&c, "g2", &sb);
    int32_t pa[PARTS], pb[PARTS];
    int na = 0, nb = 0;
    /* Both poll until the group settled on a split and every record was consumed. */
    for (int i = 0; i < 600; i++) {
        an_kafka_poll(a, 50);
        an_kafka_poll(b, 50);
        na = an_kafka_assignment(a, pa, PARTS);
        nb = an_kafka_assignment(b, pb, PARTS);
        if (na > 0 && nb > 0 && na + nb == PARTS && sa.n + sb.n >= N &&
            committed(&c, "g2") == N + 1)
            break;
    }
    assert_true(na > 0 && nb > 0);
    assert_int_equal(na + nb, PARTS);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            assert_int_not_equal(pa[i], pb[j]);
    assert_int_equal(committed(&c, "g2"), N + 1); /* the records and the purge_init event */
    /* At least once: a rebalance may hand a partition on before its commit; every record is
     * there, and both consumers took a share. */
    assert_true(sa.n + sb.n >= N);
    for (int i = 0; i < N; i++)
        assert_true(sa.seen[i] + sb.seen[i] >= 1);
    assert_true(sa.n > 0 && sb.n > 0);
    an_kafka_free(a);
    an_kafka_free(b);
    cluster_stop(&c);
}

static void test_pmacct_records(void **state)
{
    (void)state;
    struct an_flow f;
    const char *ok = "{\"event_type\":\"purge\",\"ip_src\":\"fd00::1\",\"ip_dst\":\"2001:db8::7\","
                     "\"port_src\":5000,\"port_dst\":53,\"ip_proto\":\"udp\","
                     "\"timestamp_start\":\"1700000000.5\",\"packets\":1,\"bytes\":80}";
    assert_int_equal(an_parse_pmacct_json(ok, strlen(ok), &f), AN_LINE_RECORD);
    assert_true(f.ts == 1700000000.5);
    assert_int_equal(f.proto, AN_PROTO_UDP);
    assert_int_equal(f.resp_port, 53);
    assert_int_equal(f.orig_bytes, 80);
    assert_int_equal(f.outcome, AN_OUT_UNKNOWN);
    const char *syn = "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\",\"ip_proto\":\"6\","
                      "\"tcp_flags\":\"2\",\"timestamp_start\":\"2023-11-14T22:13:20Z\","
                      "\"timestamp_end\":\"2023-11-14T22:13:23Z\"}";
    assert_int_equal(an_parse_pmacct_json(syn, strlen(syn), &f), AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_FAILED); /* SYN alone: never answered */
    assert_true(f.ts == 1700000000.0 && f.duration == 3.0);
    const char *est = "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\",\"ip_proto\":\"tcp\","
                      "\"tcp_flags\":\"27\",\"timestamp_start\":\"2023-11-14 22:13:20\"}";
    assert_int_equal(an_parse_pmacct_json(est, strlen(est), &f), AN_LINE_RECORD);
    assert_int_equal(f.outcome, AN_OUT_ESTABLISHED);
    const char *bad[] = {
        "{\"ip_src\":\"10.0.0.1\",\"timestamp_start\":\"1700000000\"}", /* no ip_dst */
        "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\"}",            /* no time */
        "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\",\"timestamp_start\":\"yesterday\"}",
        "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\",\"timestamp_start\":1,\"bytes\":-1}",
        "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\",\"timestamp_start\":1,\"port_src\":"
        "70000}",
        "[1,2]",
        /* found by fuzzing: a time past the engine's clock (year 7730) */
        "{\"ip_src\":\"10.0.0.1\",\"ip_dst\":\"10.0.0.2\","
        "\"timestamp_end\":\"7730-11-14 22:13:21.000000\"}",
        "{\"ip_src\":\"10.0.0.1\",\"ip_src\":\"10.0.0.1\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(an_parse_pmacct_json(bad[i], strlen(bad[i]), &f), IOTSEC_ERR_INVALID);
    const char *close = "{\"event_type\":\"purge_close\",\"purged_entries\":4}";
    assert_int_equal(an_parse_pmacct_json(close, strlen(close), &f), AN_LINE_SKIP);
}

static void test_bad_options(void **state)
{
    (void)state;
    struct an_kafka_options o = {.brokers = "127.0.0.1:9", .topic = "t", .sink = on_flows};
    struct an_kafka *k;
    char err[256] = "";
    assert_int_equal(an_kafka_new(&o, &k, err, sizeof(err)), IOTSEC_ERR_INVALID);
    assert_null(k);
    assert_non_null(strstr(err, "group"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pmacct_records),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_consume_commit_bad),
        cmocka_unit_test(test_group_splits_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
