/* Shared by the parsers: the fields we read, and strict converters for their values. */
#ifndef IOTSEC_ANALYTICS_INGEST_INT_H
#define IOTSEC_ANALYTICS_INGEST_INT_H

#include <stddef.h>

#include "analytics/analytics.h"

enum an_field {
    F_TS,
    F_ORIG_H,
    F_ORIG_P,
    F_RESP_H,
    F_RESP_P,
    F_PROTO,
    F_DURATION,
    F_ORIG_BYTES,
    F_RESP_BYTES,
    F_CONN_STATE,
    F_HISTORY,
    F_ORIG_PKTS,
    F_RESP_PKTS,
    F_LABEL,
    F_DETAIL,
    F_COUNT,
};

/* A record being assembled: the flow, its label, and the raw state/history text (the
 * outcome is decided once both are known). */
struct an_rec {
    struct an_flow *flow;
    struct an_label *label;
    char state[8], history[24];
    unsigned seen; /* bit per enum an_field */
};

void an_rec_start(struct an_rec *r, struct an_flow *flow, struct an_label *label);
/* The Zeek/IoT-23 column name of a field. */
const char *an_field_name(enum an_field f);
/* The field whose Zeek/IoT-23 column name is name, or -1. */
int an_field_by_name(const char *name, size_t len);
/* Stores one field's text value. Zeek's "-" and "(empty)" and an empty value mean unset.
 * IOTSEC_ERR_INVALID on a value out of range or malformed. */
int an_rec_set(struct an_rec *r, enum an_field f, const char *v, size_t len);
/* Checks the required fields (ts, both addresses) and derives the outcome. */
int an_rec_finish(struct an_rec *r);

/* Strict converters: the whole text must be the number. */
int an_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
int an_parse_double(const char *s, size_t len, double max, double *out);
/* "2018-10-25T13:41:37.123456Z" (Zeek's ISO 8601 timestamps) to epoch seconds. */
int an_parse_iso8601(const char *s, size_t len, double *out);

/* Splits a TSV/CSV line on sep into at most max fields; returns the count, or -1 if there
 * are more than max. */
int an_split(const char *line, size_t len, char sep, const char **start, size_t *flen, int max);

int an_parse_zeek_line(struct an_parser *p, const char *line, size_t len, struct an_flow *f,
                       struct an_label *l, struct an_dns *dns);
int an_parse_iot23_line(struct an_parser *p, const char *line, size_t len, struct an_flow *f,
                        struct an_label *l);
/* The opening's outcome from the TCP flags one direction of a flow carried (cumulative, as
 * IPFIX tcpControlBits and pmacct's tcp_flags are): SYN without ACK, RST or FIN: the
 * handshake never completed (failed); SYN and ACK: it did (established); flags without SYN:
 * the record began mid-connection; none: unknown. Read from the originator's record; the
 * responder's own record (a separate uniflow) says established too, which is harmless. */
uint8_t an_outcome_uniflow(uint16_t flags);

int an_parse_jsonl_line(const char *line, size_t len, struct an_flow *f, struct an_label *l,
                        struct an_dns *dns);
int an_parse_zeek_json(const char *line, size_t len, struct an_flow *f, struct an_label *l,
                       struct an_dns *dns);
/* ingest_dns.c: DNS answers in our JSON line, Zeek's JSON and Zeek's TSV dns.log. */
struct json_t;
int an_dns_from_ours(struct json_t *o, struct an_dns *d);
int an_dns_from_zeek_json(struct json_t *o, struct an_dns *d);
/* #fields of a dns.log: fills p->dcol; false if the header is not a dns.log's. */
bool an_dns_header(struct an_parser *p, const char **start, const size_t *flen, int n);
int an_dns_from_tsv(const struct an_parser *p, const char **start, const size_t *flen, int n,
                    struct an_dns *d);

#endif
