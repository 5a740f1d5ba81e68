/* IoT terminal security monitoring (TR 33.861, TS 29.520 abnormal behaviour): flow records
 * in, per-device per-window features out, three tiers of detectors, findings shaped like
 * TS 29.520 AbnormalBehaviour.
 *
 * This header is the capability's whole interface. Pure C, no I/O except the stream helpers
 * at the end (which read a FILE * they are given).
 *
 * Threads: an engine is not thread-safe; give each thread its own, or serialise calls. The
 * parsers keep their state in the struct the caller owns, so several may run at once.
 *
 * Privacy: device state is keyed by a pseudonym, HMAC-SHA-256(key, identity), never by the
 * identity or the UE address; the key can be rotated. No payload is ever seen; a flow
 * record is counted into its device's window and then forgotten; addresses seen in a window
 * (its busiest and its failing destination, for the finding) are wiped when it closes. The
 * UE address -> device binding is session state, like the SMF's, and is dropped on unbind.
 *
 * Labels: the dataset parsers return a record's label in a separate struct that no engine
 * function accepts, so no detector can read it; only the evaluation (an_eval_*) does. */
#ifndef IOTSEC_ANALYTICS_H
#define IOTSEC_ANALYTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Addresses ------------------------------------------------------------------------ */

/* An IPv4 (as ::ffff:a.b.c.d) or IPv6 address. */
struct an_addr {
    uint8_t b[16];
};

/* Parses dotted IPv4 or IPv6 text of len bytes (no NUL needed). IOTSEC_ERR_INVALID if not
 * an address. */
int an_addr_parse(const char *s, size_t len, struct an_addr *out);
/* Writes the text form into buf (at least 46 bytes). */
void an_addr_format(const struct an_addr *a, char *buf, size_t len);
bool an_addr_is_v4(const struct an_addr *a);

/* A set of prefixes: the operator's UE address pools (or, for a capture, its LAN). */
#define AN_MAX_PREFIXES 16
struct an_prefixes {
    struct an_addr net[AN_MAX_PREFIXES];
    uint8_t bits[AN_MAX_PREFIXES]; /* prefix length on the 128-bit form */
    unsigned n;
};
/* Parses "10.0.0.0/8,fd00::/8"; IOTSEC_ERR_INVALID on a bad or too long list. */
int an_prefixes_parse(const char *list, struct an_prefixes *out);
/* RFC 1918 and RFC 4193 (ULA): the default "local" networks of a capture. */
void an_prefixes_private(struct an_prefixes *out);
bool an_prefixes_contain(const struct an_prefixes *p, const struct an_addr *a);

/* ---- Flow records ----------------------------------------------------------------------- */

enum an_proto { AN_PROTO_OTHER = 0, AN_PROTO_ICMP = 1, AN_PROTO_TCP = 6, AN_PROTO_UDP = 17 };

/* What the connection's opening looked like (from Zeek's history, else its conn_state). */
enum an_outcome {
    AN_OUT_UNKNOWN = 0,
    AN_OUT_ESTABLISHED, /* the responder answered (TCP: SYN-ACK seen; UDP: a reply) */
    AN_OUT_FAILED,      /* TCP: SYN sent, never answered (S0) or refused (REJ, RSTOS0) */
    AN_OUT_NOREPLY,     /* UDP/ICMP: nothing came back (normal for some protocols) */
    AN_OUT_MIDSTREAM,   /* the record began mid-connection: says nothing of the opening */
};

/* One flow, as the user plane (or Zeek) reports it. orig is the side that opened it. */
struct an_flow {
    double ts;       /* start, seconds since the epoch */
    double duration; /* seconds; 0 when unknown */
    struct an_addr orig, resp;
    uint16_t orig_port, resp_port;
    uint8_t proto;   /* enum an_proto */
    uint8_t outcome; /* enum an_outcome */
    uint64_t orig_bytes, resp_bytes, orig_pkts, resp_pkts;
};

/* A record's label, when the dataset has one. Only the evaluation reads it. */
struct an_label {
    bool present;
    bool malicious;
    char detail[40]; /* IoT-23 "detailed-label" ("C&C", "DDoS", ...); "" for benign */
};

/* ---- Parsers (ingest_*.c) ---------------------------------------------------------------- */

enum an_format {
    AN_FMT_ZEEK,  /* Zeek conn.log: TSV with a #fields header, or JSON lines (auto-detected) */
    AN_FMT_IOT23, /* the IoT-23 CSV variant (header line, empty = missing) */
    AN_FMT_JSONL, /* our own flow record, one JSON object per line (docs/analytics.md) */
};
int an_format_parse(const char *name, enum an_format *out);

#define AN_MAX_COLUMNS 64
/* Parser state for one stream: the column map learnt from its header. */
struct an_parser {
    enum an_format format;
    int col[16];      /* our field -> column index, -1 when absent */
    int ncols;        /* columns a data line must have */
    bool have_header; /* TSV/CSV: a header line has been seen */
    bool json;        /* zeek: the stream turned out to be JSON lines */
    bool spaced_tail; /* zeek: the last column holds several space-separated fields */
    bool dns;         /* zeek: the stream is a dns.log (its #fields name query, answers) */
    int dcol[5];      /* zeek dns.log: ts, id.orig_h, query, answers, TTLs */
};
void an_parser_init(struct an_parser *p, enum an_format format);

/* Result of an_parse_line besides the error codes. */
#define AN_LINE_RECORD 0 /* *flow (and *label) filled */
#define AN_LINE_SKIP   1 /* header, comment or blank line */
#define AN_LINE_DNS    2 /* *dns filled (an_parse_record only) */

/* A DNS answer a device received: Zeek dns.log (TSV or JSON), or our JSON line
 * {"ts":..,"src":"<the device>","dns":{"query":"name","answers":["addr",..],"ttls":[300,..]}}.
 * Answers that are not addresses (CNAMEs) are skipped; at most AN_DNS_MAX_ANSWERS kept. */
#define AN_DNS_MAX_ANSWERS 8
struct an_dns {
    double ts;
    struct an_addr client;
    char query[254];
    unsigned n;
    struct an_addr addr[AN_DNS_MAX_ANSWERS];
    uint32_t ttl[AN_DNS_MAX_ANSWERS];
};
/* an_parse_line that also returns DNS answers (AN_LINE_DNS, into *dns); an_parse_line
 * skips them. */
int an_parse_record(struct an_parser *p, const char *line, size_t len, struct an_flow *flow,
                    struct an_label *label, struct an_dns *dns);

/* Parses one line (without its newline; not NUL-terminated). Returns AN_LINE_RECORD,
 * AN_LINE_SKIP, or IOTSEC_ERR_INVALID for a bad line (wrong field count, a number out of
 * range, a bad address, invalid JSON or UTF-8, a data line before any header). Never
 * asserts, never reads past len. label may be NULL. */
int an_parse_line(struct an_parser *p, const char *line, size_t len, struct an_flow *flow,
                  struct an_label *label);

/* One pmacct JSON record (its Kafka or print plugin's output; docs/analytics.md, "Flows from
 * IPFIX and Kafka"): AN_LINE_RECORD, AN_LINE_SKIP (a purge_init/purge_close event) or
 * IOTSEC_ERR_INVALID. ingest_pmacct.c. */
int an_parse_pmacct_json(const char *text, size_t len, struct an_flow *flow);

/* ---- Findings (TS 29.520 AbnormalBehaviour) ------------------------------------------- */

enum an_exception {
    AN_EXC_UNEXPECTED_UE_LOCATION,
    AN_EXC_UNEXPECTED_LONG_LIVE_FLOW,
    AN_EXC_UNEXPECTED_LARGE_RATE_FLOW,
    AN_EXC_UNEXPECTED_WAKEUP,
    AN_EXC_SUSPICION_OF_DDOS_ATTACK,
    AN_EXC_WRONG_DESTINATION_ADDRESS,
    AN_EXC_TOO_FREQUENT_SERVICE_ACCESS,
    AN_EXC_UNEXPECTED_RADIO_LINK_FAILURES,
    AN_EXC_PING_PONG_ACROSS_CELLS,
    AN_EXC_COUNT,
};
const char *an_exception_name(enum an_exception e); /* the TS 29.520 ExceptionId string */

enum an_trend { AN_TREND_UP, AN_TREND_DOWN, AN_TREND_UNKNOWN, AN_TREND_STABLE };

/* Which detector spoke: the tier of the issue. */
enum an_source { AN_SRC_RULE, AN_SRC_BASELINE, AN_SRC_PEERS, AN_SRC_FLEET };

/* The independent signals behind a finding (its evidence). Confidence is high (>= 90) only
 * for fleet convergence or at least two of them (AN_EV_NAMED_DST excepted: it repeats the
 * failure that named the destination). */
enum an_evidence_bit {
    AN_EV_FAILED = 1u << 0,         /* openings to unexpected destinations went unanswered */
    AN_EV_NAMED_DST = 1u << 1,      /* contacts with a destination an earlier finding named */
    AN_EV_MUD = 1u << 2,            /* flows outside the device's MUD */
    AN_EV_NEW_DSTS = 1u << 3,       /* many destinations new to the device and its peers */
    AN_EV_SCAN = 1u << 4,           /* many destinations, mostly failing */
    AN_EV_UNANSWERED = 1u << 5,     /* flood: most flows to the target unanswered/one-sided */
    AN_EV_IDENTICAL = 1u << 6,      /* flood: small identical requests */
    AN_EV_ABOVE_BASELINE = 1u << 7, /* far above the device's own baseline */
    AN_EV_ABOVE_PEERS = 1u << 8,    /* far above its peers' median */
    AN_EV_FLEET = 1u << 9,          /* several devices converging on one victim */
    AN_EV_RATE = 1u << 10,          /* one uplink-heavy flow at a flood's packet rate */
    AN_EV_SIGNALLING = 1u << 11,    /* control-plane events */
};
#define AN_EV_COUNT 12
const char *an_evidence_name(unsigned bit_index); /* "failed_openings", ... */

/* What the detectors saw in the device's window when the finding fired. */
struct an_evidence {
    uint16_t signals; /* AN_EV_* behind this exception */
    uint16_t window;  /* AN_EV_* of every exception of the device in this window */
    uint32_t flows_out, tcp_failed, fail_expected, top_flows, top_unanswered, top_identical,
        mud_out, new_dst, distinct_dst;
    float baseline_flows;   /* the device's learnt median flows a window (0: none yet) */
    uint32_t peer_median;   /* its group's median member this window (0: no peers) */
    uint32_t fleet_devices; /* devices converging on the victim (fleet findings) */
    bool learning;          /* the device is still in its learning period */
    bool mud;               /* the device's group carries a MUD */
};

struct an_finding {
    uint8_t device[16]; /* the device's pseudonym */
    int64_t window;     /* index: start time = window * window_s */
    uint32_t window_s;
    enum an_exception exc;
    enum an_source source;
    unsigned level;      /* excepLevel: how far past the threshold (1 = at it) */
    enum an_trend trend; /* against the previous window's level */
    unsigned ratio;      /* SamplingRatio 1..100: share of the window's flows involved */
    unsigned confidence; /* 0..100 */
    bool has_addr;       /* addr: the victim (DDoS) or the wrong destination */
    struct an_addr addr;
    uint16_t port; /* the destination port involved, 0 if none */
    uint8_t proto; /* enum an_proto, for unexpFlowTeps */
    double freq;   /* circums.freq: flows per second in the window */
    uint64_t vol;  /* circums.vol: bytes in the window */
    int64_t id;    /* the daemon's persisted finding (an_findings.id); 0: none (engine) */
    struct an_evidence ev;
};

/* Builds {"device":hex,"window":..,"start":ISO,"source":..,"abnormalBehaviour":{excep:
 * {excepId,excepLevel,excepTrend},ratio,confidence,addtMeasInfo:{...}}} as compact JSON.
 * Returns a malloc'ed string the caller frees, or NULL when out of memory. */
char *an_finding_json(const struct an_finding *f);

/* ---- The engine ---------------------------------------------------------------------- */

/* Thresholds. Every default is argued in docs/analytics.md; none was fitted to a dataset. */
struct an_config {
    uint32_t window_s;    /* window length (60) */
    uint32_t max_devices; /* device table limit: past it, AN_ERR_BUSY (1 << 24) */
    /* tier 1: rules (a Schmitt trigger: raise at the high mark, hold at the low one) */
    uint32_t fail_raise;    /* failed TCP openings per window that raise (3) */
    uint32_t fail_hold;     /* ... that keep an alarm up (1) */
    uint32_t clear_windows; /* windows without evidence before an alarm clears (1) */
    uint32_t raise_windows; /* windows in a row at the high mark before raising (1) */
    uint32_t scan_dsts;     /* distinct destinations per window of a scan (32) */
    uint32_t flood_flows;   /* flows to one destination per window: a flood (100) */
    uint32_t rate_pps;      /* uplink packets/s of one flow: a large-rate flow (1000) */
    /* tier 2: baselines and peers */
    uint32_t warmup_windows; /* windows a device is watched before its baseline is used (30) */
    float baseline_k;        /* MADs above the median (10) */
    uint32_t baseline_floor; /* ... and at least this many flows above it (50) */
    uint32_t peer_min;       /* active members for a group's median to count (8) */
    uint32_t peer_factor;    /* times the group median (8) */
    uint32_t new_dst;        /* destinations new to the device and its group per window (16) */
    /* signalling events (an_engine_signal) */
    uint32_t rlf_raise;      /* radio link failures per window (3) */
    uint32_t pingpong_raise; /* returns to the cell before last per window (3) */
    uint32_t access_raise;   /* registrations + service requests per window (20) */
    /* tier 3: fleet */
    uint32_t fleet_devices; /* devices converging on one destination (5) */
    uint32_t fleet_flows;   /* flows each sends it per window (20) */
    /* knowing what a device is for */
    uint32_t learn_windows; /* windows after onboarding whose answered destinations are
                             * learnt as expected (60) */
    uint32_t dns_grace_s;   /* a DNS answer names its address this long past its TTL (600) */
    uint32_t outage_pct;    /* % of a group's active members failing at once: an outage (50) */
    /* pseudonymise auto-bound devices (below); the eval leaves this on */
    bool auto_bind; /* unbound addresses in `local` become devices of group 0 */
    struct an_prefixes local;
};
void an_config_default(struct an_config *c);

struct an_engine;

/* Called for every finding, at the close of the window it is about. f is valid during the
 * call only. */
typedef void (*an_finding_cb)(void *arg, const struct an_finding *f);
/* Called at each window close for every device that had flows in it: flagged says whether
 * any alarm of the device was up for that window. For evaluation and metrics. */
typedef void (*an_window_cb)(void *arg, uint32_t device, int64_t window, bool flagged);

/* A fleet-level condition: most of a group's active members failed to reach the same kind of
 * endpoint in one window (an outage to report, not an anomaly of each device). */
struct an_condition {
    uint32_t group; /* the group ID given to an_engine_bind */
    int64_t window;
    uint32_t window_s;
    uint32_t failing, active; /* members whose openings failed / members active */
    bool has_addr;            /* the endpoint most of them failed on, if one stood out */
    struct an_addr addr;
    uint16_t port;
    bool cleared; /* the group was in an outage the window before and is not in this one */
};
/* Called once per window a group is in an outage, and once (cleared) at the first window it
 * is not: the condition's close. */
typedef void (*an_condition_cb)(void *arg, const struct an_condition *c);
void an_engine_set_condition_cb(struct an_engine *e, an_condition_cb fn);
/* {"condition":"ENDPOINT_UNREACHABLE","group":..,"window":..,"start":..,"failing":..,
 * "active":..,"share_pct":..,"endpoint":..,"port":..}; malloc'ed. */
char *an_condition_json(const struct an_condition *c);

/* A DNS answer the device at `client` received: name resolved to n addresses with their TTLs
 * (seconds). Kept per device until the TTL (plus dns_grace_s) so that its flows to those
 * addresses are judged by name (MUD, learnt names). IOTSEC_ERR_INVALID on a bad name,
 * AN_NO_DEVICE when the client is no device. */
int an_engine_dns(struct an_engine *e, const struct an_addr *client, const char *name,
                  const struct an_addr *addrs, const uint32_t *ttls, unsigned n, double ts);

/* key: the pseudonym key (at least 16 bytes; copied, and wiped on free). Returns NULL on a
 * bad config (window_s 0, max_devices 0), a short key, or no memory. */
struct an_engine *an_engine_new(const struct an_config *c, const void *key, size_t key_len);
void an_engine_free(struct an_engine *e);
void an_engine_set_callbacks(struct an_engine *e, an_finding_cb on_finding, an_window_cb on_window,
                             void *arg);

/* Rotates the pseudonym key. The previous key is kept for one epoch: a device bound again
 * during it keeps its state under its new pseudonym; one not bound again keeps its old one
 * until unbound. After the next rotation the old key is wiped. */
int an_engine_rekey(struct an_engine *e, const void *key, size_t key_len);

/* Binds a UE address to a device (identity: e.g. its SUPI; group: its fleet, e.g. the
 * enrollment or group ID; 0 = none). From a session event, or configured. A rebound address
 * moves to the new device. IOTSEC_ERR_BUSY when the device table is full. */
int an_engine_bind(struct an_engine *e, const struct an_addr *ue, const char *identity,
                   uint32_t group);
int an_engine_unbind(struct an_engine *e, const struct an_addr *ue);

/* Signalling events from the control plane (TS 23.502 AMF events). */
enum an_signal_kind {
    AN_SIG_REGISTRATION,
    AN_SIG_SERVICE_REQUEST,
    AN_SIG_LOCATION_UPDATE,
    AN_SIG_RADIO_LINK_FAILURE,
    AN_SIG_COUNT,
};
/* "registration", "service_request", "location_update", "radio_link_failure". */
int an_signal_kind_parse(const char *name, enum an_signal_kind *out);
/* Counts one signalling event of the device `identity` (its SUPI) at time ts into its
 * window, on the same clock as flows. tai and ncgi (may be NULL or "") name the cell: only
 * a keyed hash of them is kept, to tell a return to the previous cell (ping-pong). The device
 * is created in group 0 if it is new. IOTSEC_ERR_INVALID on a bad ts or kind,
 * IOTSEC_ERR_BUSY when the device table is full. */
int an_engine_signal(struct an_engine *e, const char *identity, double ts, enum an_signal_kind kind,
                     const char *tai, const char *ncgi);

/* Where a record was counted. */
struct an_placement {
    uint32_t device; /* the device's index (stable for the engine's life) */
    int64_t window;
    bool outbound; /* the device opened the flow */
};
#define AN_NO_DEVICE 1 /* neither end of the flow is a known (or auto-bindable) device */

/* Counts one flow into its device's window, closing earlier windows first (their findings
 * go to the callback). A record older than the open window is counted into it ("late").
 * Returns IOTSEC_OK, AN_NO_DEVICE, IOTSEC_ERR_INVALID (ts not finite or negative) or
 * IOTSEC_ERR_BUSY. where may be NULL. */
int an_engine_ingest(struct an_engine *e, const struct an_flow *f, struct an_placement *where);
/* The same for n records in order, faster: while one record is counted, the table slots
 * and device state of the next ones are fetched from memory (with a million devices, each
 * record's state is a cache miss). Returns how many records were counted; the others are in
 * the stats (no_device) or were invalid. */
size_t an_engine_ingest_batch(struct an_engine *e, const struct an_flow *f, size_t n);
/* Closes the open window (end of input). */
void an_engine_flush(struct an_engine *e);

struct an_stats {
    uint64_t records, no_device, late, findings;
    uint32_t devices, groups;
    size_t state_bytes;   /* device table and its index: the analytics state */
    size_t binding_bytes; /* the UE address -> device binding (session state) */
    size_t fleet_bytes;   /* group and victim tables */
    size_t dns_bytes;     /* the DNS answers kept per device */
    uint64_t dns_dropped; /* answers not kept: the table was at its bound */
};
void an_engine_stats(const struct an_engine *e, struct an_stats *out);
/* Bytes of one device's state, for the record. */
size_t an_device_state_size(void);
/* The device's pseudonym (16 bytes), or IOTSEC_ERR_NOTFOUND. */
int an_engine_device_pseudonym(const struct an_engine *e, uint32_t device, uint8_t out[16]);

/* The pseudonym of an identity under a key: HMAC-SHA-256(key, "iotsec-analytics-v1:" ||
 * identity), first 16 bytes. */
void an_pseudonym(const void *key, size_t key_len, const char *identity, uint8_t out[16]);

/* ---- Streams and the offline evaluation (eval.c) ------------------------------------------ */

struct an_read_stats {
    uint64_t lines, records, bad_lines, skipped;
    uint64_t first_bad_line; /* 1-based, 0 if none */
};

/* Reads lines from in and calls fn for each record. Lines longer than 64 KiB count as bad.
 * Returns IOTSEC_OK, IOTSEC_ERR_IO (read error), or fn's first non-zero return. */
typedef int (*an_record_fn)(void *arg, const struct an_flow *f, const struct an_label *l);
int an_read_stream(FILE *in, enum an_format fmt, an_record_fn fn, void *arg,
                   struct an_read_stats *st);
/* The same, with DNS answers handed to dns_fn (counted as records). */
typedef int (*an_dns_fn)(void *arg, const struct an_dns *d);
int an_read_stream_dns(FILE *in, enum an_format fmt, an_record_fn fn, an_dns_fn dns_fn, void *arg,
                       struct an_read_stats *st);

/* The offline evaluation of one or more captures: each is replayed in time order through
 * its own engine (captures are different networks and times), and every (device, window)
 * with flows is scored against the labels. */
struct an_eval;
struct an_eval *an_eval_new(const struct an_config *c);
void an_eval_free(struct an_eval *ev);
/* Replays one capture. name labels it in the output. Returns IOTSEC_OK, IOTSEC_ERR_IO
 * (unreadable), IOTSEC_ERR_INVALID (no record parsed at all) or IOTSEC_ERR_NOMEM. */
int an_eval_capture(struct an_eval *ev, const char *name, FILE *in, enum an_format fmt);

/* Which addresses are devices (captures hold routers, resolvers, DHCP servers): only these
 * prefixes are devices (default: every local address). */
void an_eval_set_devices(struct an_eval *ev, const struct an_prefixes *p);
/* A device by address, its group (NULL: none) and the group's MUD (NULL: none), bound in
 * every capture; once any is added, only added devices and set prefixes are devices. */
struct an_mud;
int an_eval_add_device(struct an_eval *ev, const struct an_addr *a, const char *group,
                       const struct an_mud *mud);
/* What a policy would do with each finding (a bit per action, named by names[bit]). */
typedef unsigned (*an_eval_decide_fn)(void *arg, const struct an_finding *f);
void an_eval_set_policy(struct an_eval *ev, an_eval_decide_fn fn, void *arg,
                        const char *const *names, unsigned n);
/* The FNV-1a group number the daemon gives a group name (0 for none). */
uint32_t an_group_number(const char *name);

struct an_confusion {
    uint64_t windows, tp, fp, tn, fn;
};
/* The totals over every capture so far. */
void an_eval_totals(const struct an_eval *ev, struct an_confusion *out);
/* The JSON report (docs/analytics.md): malloc'ed, caller frees; NULL when out of memory. */
char *an_eval_json(const struct an_eval *ev);

/* ---- The daemon's instance (analytics_service.c, analytics_key.c, analytics_http.c) ------
 * One engine behind a mutex (ingestion batches are parsed outside it, counted inside it),
 * the UE address -> device mapping with the only pseudonym -> SUPI link (needed to act on a
 * finding), the sealed pseudonym key and its rotation, and the window timer. Thread-safe. */

struct store;
struct seal_kek;
struct http_server;
struct analytics;

#define ANALYTICS_SUPI_MAX 72

struct analytics_options {
    uint32_t window_s;          /* window length; 0 = 60 */
    uint32_t rotate_s;          /* pseudonym key rotation period; 0 = never */
    const char *thresholds;     /* a JSON file {"fail_raise":3,...} of an_config fields; NULL */
    const char *key_path;       /* the sealed pseudonym key file (created if absent) */
    const struct seal_kek *kek; /* seals the key file (borrowed) */
    struct store *store;        /* subscriptions, to refuse mappings of unknown SUPIs (borrowed) */
    size_t max_records;         /* records per ingestion batch; 0 = 10000 */
    uint32_t max_mappings;      /* configured + session mappings; 0 = 1000000 */
    uint32_t findings_retention_days; /* findings older are swept; 0 = kept forever */
    char admin_cert_sha256[65];       /* the pinned admin certificate */
};

/* Called for every finding, with the device's SUPI (NULL if none is mapped) and the
 * finding's JSON. With a store: on the store's writer thread, once the finding's row is
 * committed (f->id names it; 0 when the write failed or was refused, and then on the thread
 * that closed the window). Without one: under the instance's lock, on that thread (f->id 0).
 * Either way it must not block (queue the work) and must not call back into the instance. */
typedef void (*analytics_finding_fn)(void *arg, const struct an_finding *f, const char *supi,
                                     const char *json);

/* Loads (or creates) the sealed key, reads the thresholds. NULL with a reason in err. */
struct analytics *analytics_new(const struct analytics_options *o, char *err, size_t err_len);
void analytics_free(struct analytics *a);
void analytics_set_finding_hook(struct analytics *a, analytics_finding_fn fn, void *arg);

/* A PDU session of supi got (start) or lost (!start) the UE address ue_ip; group names its
 * fleet (NULL or "": none). IOTSEC_ERR_INVALID (bad address or SUPI), IOTSEC_ERR_BUSY
 * (mapping table full). */
int analytics_session(struct analytics *a, const char *supi, const char *ue_ip, bool start,
                      const char *group);
/* A signalling event of supi at time (seconds since the epoch). tai, ncgi may be NULL. */
int analytics_signal(struct analytics *a, const char *supi, double time, enum an_signal_kind kind,
                     const char *tai, const char *ncgi);

/* Parses a whole batch first, then counts it: all records or none. A bad line:
 * IOTSEC_ERR_INVALID with bad_line (1-based) and the reason in err (naming the line, never
 * its content); more than max_records records: IOTSEC_ERR_BUSY (HTTP 413); a full device
 * table mid-batch: the records before it are counted (IOTSEC_ERR_BUSY with counted set). */
struct analytics_batch_result {
    uint64_t records, counted, unmapped, findings;
    uint64_t late; /* records older than the open window (counted into it) */
    size_t bad_line;
    char err[128];
};
int analytics_ingest_text(struct analytics *a, enum an_format fmt, const char *text, size_t len,
                          struct analytics_batch_result *out);

/* Counts flows already parsed (the IPFIX collector's, the Kafka consumer's) the same way,
 * from any thread. IOTSEC_ERR_BUSY (device table full) with counted set. */
int analytics_ingest_flows(struct analytics *a, const struct an_flow *flows, size_t n,
                           struct analytics_batch_result *out);

/* A finding made outside the engine (the location capability's): persisted and handed to
 * the finding hook exactly as the engine's own; supi may be NULL. */
void analytics_report_finding(struct analytics *a, const struct an_finding *f, const char *supi,
                              const char *json);

/* Writes what is waiting (findings, mapping changes: they are batched into one store job
 * per ingestion call or per second) and waits until it is committed. Not on an event loop's
 * hot path: admin reads and tests. */
void analytics_flush(struct analytics *a);

/* The schema of the persisted findings and mappings (analytics_store.c). */
extern const char ANALYTICS_MIGRATION_1[];
extern const char ANALYTICS_MIGRATION_MUD[];        /* MUD files per device group */
extern const char ANALYTICS_MIGRATION_CONDITIONS[]; /* fleet conditions, open and closed */

/* One persisted finding as JSON ({"id","at","window","start","exception","level","device",
 * "supi","victim","evidence"}; malloc'ed, caller frees) into *out; IOTSEC_ERR_NOTFOUND when
 * absent (never written, or past the retention). For the policy's "why". Any thread. */
int analytics_finding_load(struct store *s, int64_t id, char **out);

/* The daemon's one-second tick: closes the open window when its time is over (see
 * docs/analytics.md, "which clock rules"), rotates the key when due, and applies the MUD
 * changes made through any instance sharing the store. now: wall time. */
void analytics_tick(struct analytics *a, double now);

/* The UE addresses currently bound to supi (at most max, newest first), for enforcement
 * (the policy's nftables set). Returns how many. */
size_t analytics_addresses_of(struct analytics *a, const char *supi, struct an_addr *out,
                              size_t max);

/* The SUPI mapped to a pseudonym, into out; IOTSEC_ERR_NOTFOUND when none. */
int analytics_supi_of(struct analytics *a, const uint8_t pseudonym[16], char *out, size_t len);

/* Routes: SBI POST /nnwdaf-iotsec/v1/flow-records and /nnwdaf-iotsec/v1/signal-events;
 * admin: POST /admin/v1/analytics/flow-records, PUT /admin/v1/analytics/ue-addresses,
 * GET /admin/v1/analytics/findings, GET /admin/v1/analytics/stats. */
int analytics_sbi_routes(struct http_server *srv, struct analytics *a);
int analytics_admin_routes(struct http_server *srv, struct analytics *a);
/* /metrics: iotsec_findings_stored{exception} (an_metrics_store.c). */
struct store;
struct strbuf;
int analytics_store_metrics(struct store *s, struct strbuf *out);

/* Seals the pseudonym key file anew under the current KEK (before an old KEK is retired). */
int analytics_key_reseal(struct analytics *a);

#endif
