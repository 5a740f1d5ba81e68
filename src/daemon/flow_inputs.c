/* The IPFIX collector and the Kafka consumer wired to the analytics instance (flow_inputs.h). */
#include <stdlib.h>

#include "analytics/ipfix_collector.h"
#include "analytics/kafka_consumer.h"
#include "base/err.h"
#include "base/log.h"
#include "daemon/flow_inputs.h"

struct flow_inputs {
    struct analytics *a;
    struct an_ipfix_collector *ipfix;
    struct an_kafka *kafka;
};

static void ipfix_sink(void *arg, const struct an_flow *f, size_t n)
{
    struct analytics_batch_result r;
    analytics_ingest_flows(arg, f, n, &r); /* unmapped and late are in the analytics' stats */
}

/* Only a failure to count at all leaves the records uncommitted: a record of an unmapped
 * address is counted as unmapped, not retried forever. */
static int kafka_sink(void *arg, const struct an_flow *f, size_t n)
{
    struct analytics_batch_result r;
    int rc = analytics_ingest_flows(arg, f, n, &r);
    return rc == IOTSEC_ERR_NOMEM ? rc : IOTSEC_OK;
}

int flow_inputs_start(const struct config *c, struct analytics *a, struct flow_inputs **out)
{
    *out = NULL;
    if (!c->an_ipfix_udp[0] && !c->an_ipfix_tcp[0] && !c->an_kafka_brokers[0])
        return IOTSEC_OK;
    struct flow_inputs *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return IOTSEC_ERR_NOMEM;
    f->a = a;
    char err[300];
    int rc = IOTSEC_OK;
    if (c->an_ipfix_udp[0] || c->an_ipfix_tcp[0]) {
        struct an_ipfix_collector_options o = {.udp = c->an_ipfix_udp,
                                               .tcp = c->an_ipfix_tcp,
                                               .limits.template_lifetime_s = c->an_ipfix_lifetime_s,
                                               .sink = ipfix_sink,
                                               .arg = a};
        rc = an_ipfix_collector_start(&o, &f->ipfix, err, sizeof(err));
        if (rc == IOTSEC_OK)
            log_info("analytics: IPFIX collector on udp %s tcp %s",
                     c->an_ipfix_udp[0] ? c->an_ipfix_udp : "off",
                     c->an_ipfix_tcp[0] ? c->an_ipfix_tcp : "off");
    }
    if (rc == IOTSEC_OK && c->an_kafka_brokers[0]) {
        struct an_kafka_options o = {.brokers = c->an_kafka_brokers,
                                     .topic = c->an_kafka_topic,
                                     .group = c->an_kafka_group,
                                     .sink = kafka_sink,
                                     .arg = a};
        rc = an_kafka_new(&o, &f->kafka, err, sizeof(err));
        if (rc == IOTSEC_OK)
            rc = an_kafka_start(f->kafka);
        if (rc == IOTSEC_OK)
            log_info("analytics: consuming Kafka topic %s as group %s", c->an_kafka_topic,
                     c->an_kafka_group);
    }
    if (rc != IOTSEC_OK) {
        log_error("%s", err);
        flow_inputs_stop(f);
        return rc;
    }
    *out = f;
    return IOTSEC_OK;
}

int flow_inputs_metrics(struct flow_inputs *f, struct strbuf *out)
{
    int rc = IOTSEC_OK;
    if (f && f->ipfix) {
        struct an_ipfix_collector_stats s;
        an_ipfix_collector_get_stats(f->ipfix, &s);
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_ipfix_messages_total IPFIX messages by outcome.\n"
            "# TYPE iotsec_ipfix_messages_total counter\n"
            "iotsec_ipfix_messages_total{outcome=\"parsed\"} %llu\n"
            "iotsec_ipfix_messages_total{outcome=\"malformed\"} %llu\n"
            "iotsec_ipfix_messages_total{outcome=\"session_refused\"} %llu\n"
            "# HELP iotsec_ipfix_records_total IPFIX data records by outcome.\n"
            "# TYPE iotsec_ipfix_records_total counter\n"
            "iotsec_ipfix_records_total{outcome=\"flow\"} %llu\n"
            "iotsec_ipfix_records_total{outcome=\"not_a_flow\"} %llu\n"
            "iotsec_ipfix_records_total{outcome=\"bad_time\"} %llu\n"
            "iotsec_ipfix_records_total{outcome=\"lost\"} %llu\n"
            "# HELP iotsec_ipfix_unknown_template_sets_total Data sets naming a template not "
            "held.\n"
            "# TYPE iotsec_ipfix_unknown_template_sets_total counter\n"
            "iotsec_ipfix_unknown_template_sets_total %llu\n"
            "# HELP iotsec_ipfix_templates_total Template events.\n"
            "# TYPE iotsec_ipfix_templates_total counter\n"
            "iotsec_ipfix_templates_total{event=\"taken\"} %llu\n"
            "iotsec_ipfix_templates_total{event=\"refused\"} %llu\n"
            "iotsec_ipfix_templates_total{event=\"withdrawn\"} %llu\n"
            "iotsec_ipfix_templates_total{event=\"expired\"} %llu\n"
            "# HELP iotsec_ipfix_sessions Exporter sessions (address, domain) held.\n"
            "# TYPE iotsec_ipfix_sessions gauge\niotsec_ipfix_sessions %u\n"
            "# HELP iotsec_ipfix_connections_total TCP exporter connections by outcome.\n"
            "# TYPE iotsec_ipfix_connections_total counter\n"
            "iotsec_ipfix_connections_total{outcome=\"accepted\"} %llu\n"
            "iotsec_ipfix_connections_total{outcome=\"refused\"} %llu\n"
            "iotsec_ipfix_connections_total{outcome=\"unframeable\"} %llu\n",
            (unsigned long long)s.parser.messages, (unsigned long long)s.parser.bad_messages,
            (unsigned long long)s.parser.sessions_refused, (unsigned long long)s.parser.flows,
            (unsigned long long)s.parser.other_records, (unsigned long long)s.parser.bad_records,
            (unsigned long long)s.parser.lost_records, (unsigned long long)s.parser.unknown_sets,
            (unsigned long long)s.parser.templates, (unsigned long long)s.parser.templates_refused,
            (unsigned long long)s.parser.withdrawals,
            (unsigned long long)s.parser.templates_expired, s.parser.sessions,
            (unsigned long long)s.conns, (unsigned long long)s.conns_refused,
            (unsigned long long)s.conns_broken);
    }
    if (rc == IOTSEC_OK && f && f->kafka) {
        struct an_kafka_stats s;
        an_kafka_get_stats(f->kafka, &s);
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_kafka_records_total Kafka messages by outcome.\n"
            "# TYPE iotsec_kafka_records_total counter\n"
            "iotsec_kafka_records_total{outcome=\"flow\"} %llu\n"
            "iotsec_kafka_records_total{outcome=\"bad\"} %llu\n"
            "iotsec_kafka_records_total{outcome=\"event\"} %llu\n"
            "# HELP iotsec_kafka_commits_total Offset commits by outcome.\n"
            "# TYPE iotsec_kafka_commits_total counter\n"
            "iotsec_kafka_commits_total{outcome=\"committed\"} %llu\n"
            "iotsec_kafka_commits_total{outcome=\"failed\"} %llu\n"
            "# HELP iotsec_kafka_errors_total Consumer errors (brokers unreachable...).\n"
            "# TYPE iotsec_kafka_errors_total counter\niotsec_kafka_errors_total %llu\n"
            "# HELP iotsec_kafka_partitions Partitions assigned to this instance.\n"
            "# TYPE iotsec_kafka_partitions gauge\niotsec_kafka_partitions %u\n",
            (unsigned long long)s.records, (unsigned long long)s.bad_records,
            (unsigned long long)s.skipped, (unsigned long long)s.commits,
            (unsigned long long)s.commit_failures, (unsigned long long)s.errors, s.partitions);
    }
    return rc;
}

void flow_inputs_stop(struct flow_inputs *f)
{
    if (f == NULL)
        return;
    an_ipfix_collector_stop(f->ipfix);
    an_kafka_free(f->kafka);
    free(f);
}
