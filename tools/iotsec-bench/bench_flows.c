/* Flows from where operators have them (issue 17), on one core:
 *   - analytics.ipfix_parse: IPFIX records parsed and counted (templates per session,
 *     compiled; the messages libfixbuf wrote: biflow IPv4 with a variable-length field and an
 *     enterprise element, IPv6 uniflow), against analytics.jsonl_parse, the same flows as our
 *     JSON lines through the HTTP ingestion's parser, in the same run;
 *   - analytics.ipfix_parse_ingest_detect: the same IPFIX parsed and counted into an engine
 *     whose devices are bound (window closes and detection included);
 *   - analytics.kafka_consume: pmacct records consumed from librdkafka's mock cluster (3
 *     brokers, 16 partitions (the mock keeps 5 MB a partition), in process), parsed, handed to a
 * sink, offsets committed per batch; against analytics.pmacct_parse, the same records parsed
 * without Kafka. Generation and production are excluded from every figure. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/ipfix.h"
#include "analytics/kafka_consumer.h"
#include "base/err.h"
#include "bench.h"
#include "ipfix_gen.h"

#define FLOWS 200000

static int stream_flows(struct an_ipfix *x, const uint8_t *buf, size_t len, struct an_flow *out,
                        uint64_t *n)
{
    struct an_ipfix_exporter e;
    memset(&e, 0, sizeof(e));
    e.transport = AN_IPFIX_TCP;
    for (size_t pos = 0; pos < len;) {
        long l = an_ipfix_frame(buf + pos, len - pos);
        size_t got = 0;
        if (l <= 0 ||
            an_ipfix_message(x, &e, buf + pos, (size_t)l, 1.7e9, out, AN_IPFIX_MAX_FLOWS, &got))
            return -1;
        *n += got;
        pos += (size_t)l;
    }
    return 0;
}

static int bench_ipfix(const struct ipfix_gen_flow *g, double seconds)
{
    uint8_t *buf;
    size_t len;
    if (ipfix_gen_stream(g, FLOWS, 1, 1700000000, &buf, &len) != 0) {
        fprintf(stderr, "bench: libfixbuf could not write the messages\n");
        return 1;
    }
    struct an_flow *out = malloc(AN_IPFIX_MAX_FLOWS * sizeof(*out));
    struct an_ipfix *x = an_ipfix_new(NULL);
    uint64_t n = 0;
    double t0 = bench_now(), t1 = t0;
    int rc = 0;
    while (rc == 0 && t1 - t0 < seconds) {
        rc = stream_flows(x, buf, len, out, &n);
        t1 = bench_now();
    }
    if (rc == 0 && n % FLOWS != 0)
        rc = 1; /* every record, every pass */
    if (rc == 0)
        bench_report("analytics.ipfix_parse", (double)n / (t1 - t0), "records/s", 1);

    /* The same into an engine with every device bound: parse + count + detect. */
    struct an_config c;
    an_config_default(&c);
    uint8_t key[32] = {1};
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    for (size_t i = 0; e && i < FLOWS; i++) {
        struct an_flow f;
        ipfix_gen_expect(&g[i], &f);
        char id[32];
        snprintf(id, sizeof(id), "imsi-001010%09zu", i % 50000);
        an_engine_bind(e, &f.orig, id, (uint32_t)(i % 3) + 1);
    }
    struct an_ipfix *x2 = an_ipfix_new(NULL);
    struct an_ipfix_exporter ex;
    memset(&ex, 0, sizeof(ex));
    ex.transport = AN_IPFIX_TCP;
    uint64_t counted = 0;
    t0 = bench_now();
    for (size_t pos = 0; rc == 0 && e && pos < len;) {
        long l = an_ipfix_frame(buf + pos, len - pos);
        size_t got = 0;
        if (l <= 0 ||
            an_ipfix_message(x2, &ex, buf + pos, (size_t)l, 1.7e9, out, AN_IPFIX_MAX_FLOWS, &got))
            rc = 1;
        counted += an_engine_ingest_batch(e, out, got);
        pos += (size_t)l;
    }
    if (e)
        an_engine_flush(e);
    t1 = bench_now();
    if (rc == 0 && e && counted == FLOWS)
        bench_report("analytics.ipfix_parse_ingest_detect", (double)counted / (t1 - t0),
                     "records/s", 1);
    else
        rc = 1;
    an_engine_free(e);
    an_ipfix_free(x2);

    /* Baseline: the same flows as JSON lines, through the HTTP ingestion's parser. */
    char **lines = malloc(FLOWS * sizeof(*lines));
    for (size_t i = 0; i < FLOWS; i++) {
        struct an_flow f;
        ipfix_gen_expect(&g[i], &f);
        char s[64], d[64];
        an_addr_format(&f.orig, s, sizeof(s));
        an_addr_format(&f.resp, d, sizeof(d));
        lines[i] = malloc(400);
        snprintf(lines[i], 400,
                 "{\"ts\":%.3f,\"duration\":%.3f,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\","
                 "\"dport\":%u,\"proto\":%u,\"out_bytes\":%llu,\"in_bytes\":%llu,"
                 "\"out_pkts\":%llu,\"in_pkts\":%llu}",
                 f.ts, f.duration, s, f.orig_port, d, f.resp_port, f.proto,
                 (unsigned long long)f.orig_bytes, (unsigned long long)f.resp_bytes,
                 (unsigned long long)f.orig_pkts, (unsigned long long)f.resp_pkts);
    }
    struct an_parser p;
    an_parser_init(&p, AN_FMT_JSONL);
    n = 0;
    t0 = bench_now();
    for (size_t i = 0; rc == 0 && (i < FLOWS || bench_now() - t0 < seconds / 4); i++) {
        struct an_flow f;
        const char *l = lines[i % FLOWS];
        if (an_parse_line(&p, l, strlen(l), &f, NULL) != AN_LINE_RECORD)
            rc = 1;
        n++;
    }
    t1 = bench_now();
    if (rc == 0)
        bench_report("analytics.jsonl_parse", (double)n / (t1 - t0), "records/s", 1);
    for (size_t i = 0; i < FLOWS; i++)
        free(lines[i]);
    free(lines);
    an_ipfix_free(x);
    free(out);
    free(buf);
    return rc;
}

/* ---- Kafka ---- */

struct counter {
    uint64_t n;
};

static int count_sink(void *arg, const struct an_flow *f, size_t n)
{
    (void)f;
    ((struct counter *)arg)->n += n;
    return IOTSEC_OK;
}

static char *pmacct_record(const struct ipfix_gen_flow *g, char *buf, size_t len)
{
    struct an_flow f;
    ipfix_gen_expect(g, &f);
    char s[64], d[64];
    an_addr_format(&f.orig, s, sizeof(s));
    an_addr_format(&f.resp, d, sizeof(d));
    snprintf(buf, len,
             "{\"event_type\":\"purge\",\"ip_src\":\"%s\",\"ip_dst\":\"%s\",\"port_src\":%u,"
             "\"port_dst\":%u,\"ip_proto\":\"%s\",\"tcp_flags\":\"%u\","
             "\"timestamp_start\":\"%.6f\",\"timestamp_end\":\"%.6f\",\"packets\":%llu,"
             "\"bytes\":%llu,\"writer_id\":\"default_kafka/1\"}",
             s, d, f.orig_port, f.resp_port, f.proto == 6 ? "tcp" : "udp", g->flags, f.ts,
             f.ts + f.duration, (unsigned long long)f.orig_pkts, (unsigned long long)f.orig_bytes);
    return buf;
}

static int bench_kafka(const struct ipfix_gen_flow *g)
{
    enum { N = 100000 };
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = owner ? rd_kafka_mock_cluster_new(owner, 3) : NULL;
    if (mc == NULL || rd_kafka_mock_topic_create(mc, "flows", 16, 1) != 0) {
        fprintf(stderr, "bench: no librdkafka mock cluster\n");
        return 1;
    }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof(err));
    rd_kafka_conf_set(conf, "linger.ms", "50", err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    char rec[512];
    for (int i = 0; i < N; i++) {
        pmacct_record(&g[i], rec, sizeof(rec));
        char key[64]; /* the device: its address */
        struct an_flow f;
        ipfix_gen_expect(&g[i], &f);
        an_addr_format(&f.orig, key, sizeof(key));
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("flows"), RD_KAFKA_V_KEY(key, strlen(key)),
                                 RD_KAFKA_V_VALUE(rec, strlen(rec)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
    }
    if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench: kafka: %d records not produced\n", rd_kafka_outq_len(p));
        rd_kafka_destroy(p);
        return 1;
    }
    rd_kafka_destroy(p);

    struct counter c = {0};
    struct an_kafka_options o = {.brokers = boot,
                                 .topic = "flows",
                                 .group = "bench",
                                 .batch = 10000,
                                 .sink = count_sink,
                                 .arg = &c};
    struct an_kafka *k;
    int rc = an_kafka_new(&o, &k, err, sizeof(err));
    /* The group's join is not consumption: wait for the first records, then time. */
    for (int i = 0; rc == IOTSEC_OK && i < 300 && c.n == 0; i++)
        an_kafka_poll(k, 100);
    uint64_t n0 = c.n;
    double t0 = bench_now();
    for (int idle = 0; rc == IOTSEC_OK && c.n < N && idle < 50;)
        idle = an_kafka_poll(k, 100) > 0 ? 0 : idle + 1;
    double t1 = bench_now();
    struct an_kafka_stats st;
    if (rc == IOTSEC_OK)
        an_kafka_get_stats(k, &st);
    if (rc == IOTSEC_OK && c.n == N) {
        bench_report("analytics.kafka_consume", (double)(c.n - n0) / (t1 - t0), "records/s", 1);
    } else {
        fprintf(stderr,
                "bench: kafka: %llu of %d records consumed (%s; %llu errors, %u partitions)\n",
                (unsigned long long)c.n, N, rc == IOTSEC_OK ? "stalled" : err,
                (unsigned long long)st.errors, st.partitions);
        rc = 1;
    }
    if (k)
        an_kafka_free(k);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(owner);

    /* Baseline: the same records parsed without Kafka. */
    char **recs = malloc(N * sizeof(*recs));
    for (int i = 0; i < N; i++)
        recs[i] = strdup(pmacct_record(&g[i], rec, sizeof(rec)));
    t0 = bench_now();
    for (int i = 0; rc == 0 && i < N; i++) {
        struct an_flow f;
        if (an_parse_pmacct_json(recs[i], strlen(recs[i]), &f) != AN_LINE_RECORD)
            rc = 1;
    }
    t1 = bench_now();
    if (rc == 0)
        bench_report("analytics.pmacct_parse", N / (t1 - t0), "records/s", 1);
    for (int i = 0; i < N; i++)
        free(recs[i]);
    free(recs);
    return rc;
}

int bench_flows(double seconds)
{
    struct ipfix_gen_flow *g = malloc(FLOWS * sizeof(*g));
    if (g == NULL)
        return 1;
    ipfix_gen_random(g, FLOWS, 17, 0.2);
    int rc = bench_ipfix(g, seconds);
    rc |= bench_kafka(g);
    free(g);
    return rc;
}
