/* IPFIX messages made by a real exporter (Debian's libfixbuf), for the parser's tests and the
 * benchmark: whatever our parser reads must be what libfixbuf meant to write.
 *
 * Templates: 256, an IPv4 biflow (flowStart/EndMilliseconds, octet and packet total counts
 * with their RFC 5103 reverse elements, packets in reduced-size 4 bytes, interfaceName of
 * variable length, CERT's enterprise element initialTCPFlags, addresses, ports, protocol,
 * tcpControlBits and reverseTcpControlBits); 257, an IPv6 uniflow (flowStart/EndSeconds,
 * octet and packet delta counts); 258, an options template (scope observationDomainId) with
 * one record ahead of the flows; 259, an IPv4 biflow as yaf exports it (TCP flags only in
 * CERT's initialTCPFlags/unionTCPFlags and their reverse elements, PEN 6871). */
#ifndef IOTSEC_BENCH_IPFIX_GEN_H
#define IOTSEC_BENCH_IPFIX_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

struct ipfix_gen_flow {
    bool v6;
    uint8_t src[16], dst[16]; /* v4: the first 4 bytes */
    uint16_t sport, dport;
    uint8_t proto;
    uint64_t start_ms, end_ms;             /* v6 template: sent in whole seconds */
    uint64_t octets, roctets, pkts, rpkts; /* v6: no reverse */
    uint8_t flags, rflags;   /* v6: none; yaf: the union of all but the first packet's */
    bool yaf;                /* v4 only: template 259 */
    uint8_t iflags, riflags; /* yaf: the first packet's flags, each way */
    char ifname[24];
};

/* n pseudo-random flows from seed (TCP answered and not, UDP, both families). */
void ipfix_gen_random(struct ipfix_gen_flow *out, size_t n, uint32_t seed, double v6_share);

/* The flow record our parser must make of f. */
void ipfix_gen_expect(const struct ipfix_gen_flow *f, struct an_flow *out);

/* The flows as a stream of IPFIX messages (templates first), into a malloc'ed buffer.
 * export_time: the messages' export time. 0, or -1 when libfixbuf failed. */
int ipfix_gen_stream(const struct ipfix_gen_flow *f, size_t n, uint32_t domain,
                     uint32_t export_time, uint8_t **out, size_t *len);

/* Sends them to a collector over UDP (tcp false) or TCP: host and port as text. */
int ipfix_gen_send(const char *host, const char *port, bool tcp, const struct ipfix_gen_flow *f,
                   size_t n, uint32_t domain);

#endif
