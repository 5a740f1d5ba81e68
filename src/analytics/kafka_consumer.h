/* The Kafka consumer (librdkafka): pmacct's JSON flow records from a topic, in a consumer
 * group so that several iotsecd instances share its partitions. The producer keys records by
 * device (pmacct: kafka_partition_key on the device-side address), so all of one device's
 * records reach one instance, whose engine holds that device's state.
 *
 * Delivery: at least once. Offsets are committed only after the sink took the records; a
 * sink that refuses (device table full) leaves them uncommitted and the consumer seeks back
 * to them, so they are read again. A record that does not parse is counted and committed
 * past (one bad record must not stop a partition). Off unless configured
 * (analytics.kafka in iotsec.yaml). */
#ifndef IOTSEC_ANALYTICS_KAFKA_CONSUMER_H
#define IOTSEC_ANALYTICS_KAFKA_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

/* Takes n >= 1 flows: IOTSEC_OK once counted; anything else leaves them uncommitted. */
typedef int (*an_kafka_sink_fn)(void *arg, const struct an_flow *flows, size_t n);

struct an_kafka_options {
    const char *brokers; /* "host:port,host:port" */
    const char *topic;
    const char *group; /* the consumer group: instances sharing it share the partitions */
    size_t batch;      /* messages per poll (1000) */
    an_kafka_sink_fn sink;
    void *arg;
};

struct an_kafka_stats {
    uint64_t messages;    /* Kafka messages read */
    uint64_t records;     /* flows handed to the sink and taken */
    uint64_t bad_records; /* messages that are not a pmacct flow record (committed past) */
    uint64_t skipped;     /* pmacct bookkeeping events (purge_init, purge_close) */
    uint64_t refused;     /* batches the sink refused (read again) */
    uint64_t commits, commit_failures;
    uint64_t errors;     /* consumer errors librdkafka reported (broker down...) */
    uint32_t partitions; /* assigned to this instance now */
};

struct an_kafka;

/* Creates the consumer and subscribes; nothing is read until an_kafka_poll or
 * an_kafka_start. IOTSEC_ERR_INVALID with a reason in err (a bad option). */
int an_kafka_new(const struct an_kafka_options *o, struct an_kafka **out, char *err,
                 size_t err_len);
/* Reads at most one batch (waiting at most timeout_ms), hands its flows to the sink, commits.
 * Returns the messages read (0: none came), or IOTSEC_ERR_BUSY when the sink refused. Not
 * while the thread runs. */
int an_kafka_poll(struct an_kafka *k, int timeout_ms);
/* Polls on a thread of its own until an_kafka_free. */
int an_kafka_start(struct an_kafka *k);
/* The partitions assigned now, up to max into parts; returns how many there are. */
int an_kafka_assignment(struct an_kafka *k, int32_t *parts, int max);
void an_kafka_get_stats(struct an_kafka *k, struct an_kafka_stats *out);
/* Stops the thread, leaves the group (its partitions go to the others), frees. */
void an_kafka_free(struct an_kafka *k);

#endif
