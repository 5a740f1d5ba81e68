/* IPFIX (RFC 7011) as flow records: the message parser (ingest_ipfix.c, pure: bytes in,
 * struct an_flow out) and the collector that feeds it from UDP and TCP (ipfix_collector.c).
 *
 * Templates and options templates are kept per session: (exporter address and port,
 * transport, TCP connection, observation domain). A session holds at most max_templates
 * templates of at most AN_IPFIX_MAX_FIELDS fields; the parser holds at most max_sessions
 * sessions: memory is bounded whatever the exporters send. Over UDP a template lives
 * template_lifetime_s after it was last sent (RFC 7011 8.4); over TCP until withdrawn or the
 * connection closes (an_ipfix_forget).
 *
 * What becomes a flow: a data record with a source and a destination address (IPv4 or IPv6).
 * Mapped information elements: addresses (8, 12, 27, 28), ports (7, 11), protocol (4),
 * octet/packet delta and total counts (1, 2, 85, 86), tcpControlBits (6), flowStart/End in
 * seconds (150, 151), milliseconds (152, 153), micro- and nanoseconds (154-157), and the
 * RFC 5103 reverse elements (PEN 29305: 1, 2, 85, 86, 6) of a biflow; yaf's TCP flags (CERT,
 * PEN 6871: initialTCPFlags 14, unionTCPFlags 15, their reverse ones 0x4000 | id), OR'ed
 * into the flags each way. Every other element, enterprise ones included, is skipped by its
 * length (variable-length fields too). */
#ifndef IOTSEC_ANALYTICS_IPFIX_H
#define IOTSEC_ANALYTICS_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

#define AN_IPFIX_MAX_FIELDS 96 /* fields of one template we hold; a longer one is refused */
/* The most flows one message can carry: a flow record is at least two IPv4 addresses. */
#define AN_IPFIX_MAX_FLOWS ((65535 - 16 - 4) / 8 + 1)

struct an_ipfix_limits {
    uint32_t max_sessions;        /* exporter x domain sessions held (256) */
    uint32_t max_templates;       /* templates per session (128) */
    uint32_t template_lifetime_s; /* UDP: a template not refreshed for this long expires (1800) */
};

enum an_ipfix_transport { AN_IPFIX_UDP = 0, AN_IPFIX_TCP = 1 };

/* Who sent a message. For TCP, conn names the connection: its templates die with it. */
struct an_ipfix_exporter {
    struct an_addr addr;
    uint16_t port;
    uint8_t transport; /* enum an_ipfix_transport */
    uint64_t conn;
};

struct an_ipfix_stats {
    uint64_t messages;            /* messages parsed */
    uint64_t bad_messages;        /* refused: malformed (version, lengths, a record past its set) */
    uint64_t flows;               /* data records that became flows */
    uint64_t other_records;       /* data records without two addresses (e.g. options data) */
    uint64_t bad_records;         /* records with a time out of range: dropped */
    uint64_t unknown_sets;        /* data sets naming a template this session does not hold */
    uint64_t templates;           /* template and options template records taken */
    uint64_t templates_refused;   /* over the per-session cap, too many fields, or empty */
    uint64_t withdrawals;         /* templates withdrawn (TCP) */
    uint64_t withdrawals_ignored; /* withdrawals received over UDP (RFC 7011 8.4: ignored) */
    uint64_t templates_expired;   /* UDP templates past their lifetime */
    uint64_t sessions_refused;    /* messages from a new session while the table was full */
    uint64_t lost_records;        /* sequence number gaps (UDP loss, exporter drops) */
    uint32_t sessions;            /* sessions held now */
};

struct an_ipfix;

/* limits may be NULL (the defaults above); a 0 field takes its default. NULL when out of
 * memory. */
struct an_ipfix *an_ipfix_new(const struct an_ipfix_limits *limits);
void an_ipfix_free(struct an_ipfix *x);

/* Parses one whole message of len bytes from `from`, received at wall time now (seconds).
 * Its flows are appended to out[*n..cap) (cap - *n >= AN_IPFIX_MAX_FLOWS never overflows;
 * past cap, further flows are dropped and counted as other_records). Returns IOTSEC_OK, or
 * IOTSEC_ERR_INVALID for a malformed message: then no flow of it is delivered (*n
 * unchanged), though templates of it already taken stay. IOTSEC_ERR_BUSY: a new session
 * while the table is full (refused). Never reads past len, never asserts. */
int an_ipfix_message(struct an_ipfix *x, const struct an_ipfix_exporter *from, const uint8_t *msg,
                     size_t len, double now, struct an_flow *out, size_t cap, size_t *n);

/* The length a message announces (its header's length field), for stream framing: needs 4
 * bytes; returns the length, 0 if fewer than 4 bytes are there, or -1 when the header
 * cannot start a message (version not 10, length < 16): the stream cannot be resynchronised. */
long an_ipfix_frame(const uint8_t *buf, size_t len);

/* Drops every session of a TCP connection (closed). */
void an_ipfix_forget(struct an_ipfix *x, const struct an_ipfix_exporter *from);

void an_ipfix_get_stats(const struct an_ipfix *x, struct an_ipfix_stats *out);

#endif
