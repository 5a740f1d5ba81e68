/* The IPFIX collector: UDP datagrams and TCP streams (RFC 7011 10.2, 10.4) on one libevent
 * loop in its own thread, each message through the parser (ipfix.h), the flows handed to a
 * sink in batches. Off unless configured (analytics.ipfix in iotsec.yaml). */
#ifndef IOTSEC_ANALYTICS_IPFIX_COLLECTOR_H
#define IOTSEC_ANALYTICS_IPFIX_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/ipfix.h"

/* Receives decoded flows (n >= 1), on the collector's thread. */
typedef void (*an_flows_fn)(void *arg, const struct an_flow *flows, size_t n);

struct an_ipfix_collector_options {
    const char *udp; /* "ADDR:PORT" or "[ADDR]:PORT"; NULL or "": no UDP */
    const char *tcp; /* the same for TCP */
    struct an_ipfix_limits limits;
    uint32_t max_conns; /* TCP exporters connected at once (64); more are closed */
    an_flows_fn sink;
    void *arg;
};

struct an_ipfix_collector_stats {
    struct an_ipfix_stats parser;
    uint64_t datagrams, conns, conns_refused, conns_broken; /* broken: unframeable stream */
};

struct an_ipfix_collector;

/* Binds the sockets and starts the thread. IOTSEC_ERR_INVALID (bad address),
 * IOTSEC_ERR_ADDRINUSE, IOTSEC_ERR_IO; a reason in err. */
int an_ipfix_collector_start(const struct an_ipfix_collector_options *o,
                             struct an_ipfix_collector **out, char *err, size_t err_len);
/* The bound port (useful with port 0); 0 when that transport is off. */
uint16_t an_ipfix_collector_port(const struct an_ipfix_collector *c, enum an_ipfix_transport t);
void an_ipfix_collector_get_stats(struct an_ipfix_collector *c,
                                  struct an_ipfix_collector_stats *out);
/* Stops the thread, closes the sockets, frees. NULL is fine. */
void an_ipfix_collector_stop(struct an_ipfix_collector *c);

#endif
