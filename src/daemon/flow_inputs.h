/* The analytics' flow inputs on sockets: the IPFIX collector and the Kafka consumer, both
 * off unless configured (analytics.ipfix, analytics.kafka), both feeding analytics_ingest_flows
 * from threads of their own. */
#ifndef IOTSEC_DAEMON_FLOW_INPUTS_H
#define IOTSEC_DAEMON_FLOW_INPUTS_H

#include "analytics/analytics.h"
#include "base/strbuf.h"
#include "daemon/config.h"

struct flow_inputs;

/* Starts what the configuration asks for; *out is NULL when nothing is configured. A bad
 * address or option, or a port in use, refuses the start (logged). */
int flow_inputs_start(const struct config *c, struct analytics *a, struct flow_inputs **out);
/* Their counters in the Prometheus text format (nothing when off). */
int flow_inputs_metrics(struct flow_inputs *f, struct strbuf *out);
/* Stops the threads (the Kafka consumer leaves its group). NULL is fine. Before the
 * analytics instance is freed. */
void flow_inputs_stop(struct flow_inputs *f);

#endif
