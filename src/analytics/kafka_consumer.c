/* The Kafka consumer (see kafka_consumer.h): a high-level librdkafka consumer with manual
 * commits. One poll: a batch of messages from the consumer queue, each parsed as a pmacct
 * record, the flows to the sink, then the offsets after the batch's last message of each
 * partition committed (synchronously: the commit is what says "ingested"). */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/kafka_consumer.h"
#include "base/err.h"
#include "base/log.h"

#define MAX_PARTS 256 /* partitions one batch may span */

struct an_kafka {
    struct an_kafka_options o;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_message_t **msgs;
    struct an_flow *flows;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    pthread_mutex_t mu;
    struct an_kafka_stats st;
};

/* Where a batch began and ended in each partition it touched. */
struct span {
    int32_t partition;
    int64_t first, last;
};

/* librdkafka's own log lines (a broker unreachable, a rebalance) into the daemon's log, as
 * JSON lines like every other, instead of its "%3|..." lines on stderr. Syslog levels. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_msg(level <= 3   ? LOG_ERROR
            : level <= 4 ? LOG_WARN
            : level <= 6 ? LOG_INFO
                         : LOG_DEBUG,
            NULL, "kafka: %s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t len)
{
    char why[256];
    if (rd_kafka_conf_set(c, k, v, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return IOTSEC_OK;
    snprintf(err, len, "analytics.kafka: %s: %s", k, why);
    return IOTSEC_ERR_INVALID;
}

int an_kafka_new(const struct an_kafka_options *o, struct an_kafka **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!o->brokers || !o->brokers[0] || !o->topic || !o->topic[0] || !o->group || !o->group[0] ||
        !o->sink) {
        snprintf(err, err_len, "analytics.kafka: brokers, topic and group are required");
        return IOTSEC_ERR_INVALID;
    }
    struct an_kafka *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return IOTSEC_ERR_NOMEM;
    k->o = *o;
    k->o.brokers = k->o.topic = k->o.group = NULL; /* the caller's strings: not kept */
    if (k->o.batch == 0)
        k->o.batch = 1000;
    pthread_mutex_init(&k->mu, NULL);
    k->msgs = calloc(k->o.batch, sizeof(*k->msgs));
    k->flows = calloc(k->o.batch, sizeof(*k->flows));
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int rc = k->msgs && k->flows && c ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    if (c)
        rd_kafka_conf_set_log_cb(c, on_log);
    if (rc == IOTSEC_OK)
        rc = conf_set(c, "bootstrap.servers", o->brokers, err, err_len);
    if (rc == IOTSEC_OK)
        rc = conf_set(c, "group.id", o->group, err, err_len);
    if (rc == IOTSEC_OK) /* committed by us, after the sink took the records */
        rc = conf_set(c, "enable.auto.commit", "false", err, err_len);
    if (rc == IOTSEC_OK) /* a new group starts at the beginning of what the topic holds */
        rc = conf_set(c, "auto.offset.reset", "earliest", err, err_len);
    if (rc == IOTSEC_OK)
        rc = conf_set(c, "client.id", "iotsecd", err, err_len);
    /* An instance that stops is noticed, and its partitions handed on, within 10 s (the
     * default 45 s leaves a dead instance's share of the flows unread that long). */
    if (rc == IOTSEC_OK)
        rc = conf_set(c, "session.timeout.ms", "10000", err, err_len);
    if (rc == IOTSEC_OK)
        rc = conf_set(c, "heartbeat.interval.ms", "1000", err, err_len);
    char why[256];
    if (rc == IOTSEC_OK) {
        k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, why, sizeof(why));
        c = NULL; /* rd_kafka_new owns it now (or failed and we free it below) */
        if (k->rk == NULL) {
            snprintf(err, err_len, "analytics.kafka: %s", why);
            rc = IOTSEC_ERR_INVALID;
        }
    }
    if (rc == IOTSEC_OK) {
        rd_kafka_poll_set_consumer(k->rk);
        k->q = rd_kafka_queue_get_consumer(k->rk);
        rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(t, o->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, t);
        rd_kafka_topic_partition_list_destroy(t);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, err_len, "analytics.kafka: subscribe %s: %s", o->topic,
                     rd_kafka_err2str(e));
            rc = IOTSEC_ERR_INVALID;
        }
    }
    if (c)
        rd_kafka_conf_destroy(c);
    if (rc != IOTSEC_OK) {
        an_kafka_free(k);
        return rc;
    }
    *out = k;
    return IOTSEC_OK;
}

static struct span *span_of(struct span *s, size_t *ns, int32_t partition)
{
    for (size_t i = 0; i < *ns; i++)
        if (s[i].partition == partition)
            return &s[i];
    if (*ns == MAX_PARTS)
        return NULL;
    s[*ns].partition = partition;
    s[*ns].first = -1;
    return &s[(*ns)++];
}

/* The batch's offsets: to commit (after each span) or to seek back to (its first). */
static rd_kafka_topic_partition_list_t *offsets(const char *topic, const struct span *s, size_t ns,
                                                bool after)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)ns);
    for (size_t i = 0; i < ns; i++)
        rd_kafka_topic_partition_list_add(l, topic, s[i].partition)->offset =
            after ? s[i].last + 1 : s[i].first;
    return l;
}

int an_kafka_poll(struct an_kafka *k, int timeout_ms)
{
    ssize_t n = rd_kafka_consume_batch_queue(k->q, timeout_ms, k->msgs, k->o.batch);
    if (n <= 0)
        return 0;
    struct span spans[MAX_PARTS];
    size_t ns = 0, nf = 0;
    const char *topic = NULL;
    uint64_t bad = 0, skipped = 0, errors = 0, messages = 0;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = k->msgs[i];
        if (m->err) { /* an event, not a message (partition EOF, broker errors) */
            errors += m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
            continue;
        }
        struct span *s = span_of(spans, &ns, m->partition);
        if (s == NULL) { /* more partitions in one batch than we track: read it again */
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)
                ->offset = m->offset;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, l, 1000);
            rd_kafka_error_destroy(e);
            rd_kafka_topic_partition_list_destroy(l);
            continue;
        }
        topic = rd_kafka_topic_name(m->rkt);
        if (s->first < 0)
            s->first = m->offset;
        if (m->offset < s->first) /* cannot happen in one partition; keep the earliest */
            s->first = m->offset;
        s->last = m->offset;
        messages++;
        int rc = m->payload ? an_parse_pmacct_json(m->payload, m->len, &k->flows[nf])
                            : IOTSEC_ERR_INVALID;
        if (rc == AN_LINE_RECORD)
            nf++;
        else if (rc == AN_LINE_SKIP)
            skipped++;
        else
            bad++;
    }
    int rc = nf > 0 ? k->o.sink(k->o.arg, k->flows, nf) : IOTSEC_OK;
    bool committed = false, commit_failed = false;
    if (rc == IOTSEC_OK && ns > 0) {
        rd_kafka_topic_partition_list_t *l = offsets(topic, spans, ns, true);
        rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, l, 0);
        rd_kafka_topic_partition_list_destroy(l);
        committed = e == RD_KAFKA_RESP_ERR_NO_ERROR;
        commit_failed = !committed; /* e.g. a rebalance took the partition: its new owner
                                     * reads these again (at least once) */
    } else if (rc != IOTSEC_OK && ns > 0) {
        rd_kafka_topic_partition_list_t *l = offsets(topic, spans, ns, false);
        rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, l, 5000);
        rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(l);
    }
    for (ssize_t i = 0; i < n; i++)
        rd_kafka_message_destroy(k->msgs[i]);
    pthread_mutex_lock(&k->mu);
    k->st.messages += messages;
    k->st.errors += errors;
    if (rc == IOTSEC_OK) {
        k->st.records += nf;
        k->st.bad_records += bad;
        k->st.skipped += skipped;
    } else {
        k->st.refused++;
    }
    k->st.commits += committed;
    k->st.commit_failures += commit_failed;
    pthread_mutex_unlock(&k->mu);
    return rc == IOTSEC_OK ? (int)n : IOTSEC_ERR_BUSY;
}

static void *run(void *arg)
{
    struct an_kafka *k = arg;
    while (!atomic_load(&k->stop)) {
        if (an_kafka_poll(k, 200) == IOTSEC_ERR_BUSY) {
            for (int i = 0; i < 10 && !atomic_load(&k->stop); i++) /* 1 s: let it drain */
                rd_kafka_poll(k->rk, 100);
        }
    }
    return NULL;
}

int an_kafka_start(struct an_kafka *k)
{
    if (pthread_create(&k->thread, NULL, run, k) != 0)
        return IOTSEC_ERR_NOMEM;
    k->running = true;
    return IOTSEC_OK;
}

int an_kafka_assignment(struct an_kafka *k, int32_t *parts, int max)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    int n = l->cnt;
    for (int i = 0; i < n && i < max; i++)
        parts[i] = l->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

void an_kafka_get_stats(struct an_kafka *k, struct an_kafka_stats *out)
{
    int32_t parts[1];
    int n = an_kafka_assignment(k, parts, 0);
    pthread_mutex_lock(&k->mu);
    k->st.partitions = (uint32_t)n;
    *out = k->st;
    pthread_mutex_unlock(&k->mu);
}

void an_kafka_free(struct an_kafka *k)
{
    if (k == NULL)
        return;
    if (k->running) {
        atomic_store(&k->stop, true);
        pthread_join(k->thread, NULL);
    }
    if (k->q)
        rd_kafka_queue_destroy(k->q);
    if (k->rk) {
        rd_kafka_consumer_close(k->rk); /* leaves the group: a rebalance hands its partitions on */
        rd_kafka_destroy(k->rk);
    }
    pthread_mutex_destroy(&k->mu);
    free(k->msgs);
    free(k->flows);
    free(k);
}
