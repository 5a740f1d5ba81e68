/* Internals of the analytics capability, shared by its files and its unit tests only. */
#ifndef IOTSEC_ANALYTICS_INT_H
#define IOTSEC_ANALYTICS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "analytics/analytics.h"
#include "analytics/hll.h"
#include "crypto/hmac_sha256.h"

/* ---- Hashing (not cryptographic: table placement and sketches) ------------------------- */

static inline uint64_t an_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* The seed is drawn per engine so that nobody outside can aim flows at one table slot. */
static inline uint64_t an_hash_addr(const struct an_addr *a, uint64_t seed)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8);
    memcpy(&hi, a->b + 8, 8);
    return an_mix64(an_mix64(lo ^ seed) ^ hi);
}

/* ---- Per-device state ------------------------------------------------------------------- */

#define AN_DST_HLL_P   6 /* 64 registers: +-13% on distinct destinations, enough for a rule */
#define AN_KNOWN_BITS  256
#define AN_SUSPECTS    2
#define AN_LEARNT_BITS 256

/* What one device did in the open window; zeroed when the window closes. Everything a flow
 * record touches, with the device's own per-record fields, fits the first three cache lines
 * of struct an_device: at a million devices every record's device is a miss, and the lines
 * it needs are what ingestion costs. */
struct an_window {
    uint32_t flows_out, flows_in;
    uint32_t pkts_out, pkts_in;   /* saturating */
    uint32_t bytes_out, bytes_in; /* saturating (4 GB a minute is past any IoT uplink) */
    uint16_t tcp_open, tcp_failed;
    uint16_t long_flows, rate_flows;
    uint16_t new_dst, suspect_hits;
    uint16_t fail_expl; /* failed openings to expected destinations (an outage, not a C&C) */
    uint16_t mud_out;   /* flows the device opened outside its MUD */
    uint16_t top_unans; /* flows to top_hash unanswered or one-sided (flood evidence) */
    uint16_t top_same;  /* flows to top_hash with the same small request size as its first */
    uint16_t top_size;  /* that size (0: the first was not small) */
    uint16_t top_expl;  /* flows to top_hash that were expected (MUD, learnt, discovery) */
    uint32_t fail_key;  /* the last failing destination's name (DNS) or address hash */
    uint32_t top_hash;  /* the majority destination so far (Misra-Gries, one counter) */
    uint32_t top_count; /* its counter */
    uint32_t top_flows; /* flows to top_hash since it became the candidate */
    uint32_t fail_hash; /* the last destination whose opening failed or that was outside the
                         * MUD (its raw address is in the cold part: struct an_cold) */
    uint16_t top_port, fail_port;
    uint8_t top_proto, fail_proto;
    uint8_t rlf, pingpong, wakeups; /* signalling (saturating): radio link failures, returns
                                     * to the cell before last, registrations + service
                                     * requests */
    struct an_addr top_dst;         /* raw, for the finding; wiped at close */
    uint8_t hll_dst[HLL_BYTES(AN_DST_HLL_P)];
    uint8_t marked; /* on e->marked this window (its close must look at it: see below) */
};

/* 256 bytes, cache-line aligned (a 2 MiB chunk holds 8192): lines 0-2 (the window and the fields
 * every record reads) are what a record costs; line 3 (learnt, the baseline, the alarm bookkeeping)
 * is read by a record only while learning or for a device without a MUD, and at the window's close.
 */
struct an_device {
    struct an_window win;
    uint32_t touched_at;              /* position in e->touched + 1; 0: no record in the open
                                       * window (a device holds either the open window or none:
                                       * every touched device is reset at the close) */
    uint16_t group;                   /* index into the engine's groups (< AN_MAX_GROUPS) */
    uint16_t learned;                 /* windows learnt into the baseline (saturating) */
    uint16_t active;                  /* bit per enum an_exception: alarm up */
    uint8_t known_n;                  /* destinations added to `known` since it was cleared */
    uint8_t raise_streak;             /* windows in a row at a rule's high mark */
    uint32_t suspect[AN_SUSPECTS];    /* keyed hashes of destinations a rule named */
    uint8_t known[AN_KNOWN_BITS / 8]; /* Bloom filter of destinations seen (k = 2) */
    uint16_t cell[2];                 /* keyed 16-bit hashes of the last two cells: a
                                       * collision only hides one ping-pong in 65536 */
    /* line 3 */
    uint8_t learnt[AN_LEARNT_BITS / 8]
        __attribute__((aligned(64))); /* answered destinations
                                       * (addresses and DNS names) of the learning period;
                                       * frozen after it */
    float med_flows, mad_flows;       /* the baseline: robust EWMA of flows per window */
    float med_dst, mad_dst;           /* ... and of distinct destinations */
    uint32_t quiet;                   /* 3 bits per exception: windows without evidence */
    uint16_t med_wake;                /* EWMA of wake-ups per window, 8.8 fixed point */
    uint8_t last_level[AN_EXC_COUNT]; /* for the trend */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct an_device) == 256, "an_device: four cache lines");

/* What a record rarely touches, apart so that it costs no line of the hot part: the
 * pseudonym (findings, lookups by pseudonym) and the raw address behind fail_hash. */
struct an_cold {
    uint8_t pseudonym[16];
    struct an_addr fail_dst; /* raw, for the finding; wiped at close */
};

/* ---- Window features, as the detectors see them ------------------------------------------- */

struct an_features {
    uint32_t flows, flows_out, flows_in;
    uint64_t bytes;
    double distinct_dst;
    uint32_t tcp_open, tcp_failed;
    double fail_ratio; /* failed / TCP openings */
    uint32_t new_dst, suspect_hits, long_flows, rate_flows;
    uint32_t top_flows; /* flows to the majority destination */
    uint32_t top_unans, top_same, top_expl, fail_expl, mud_out;
    bool learning; /* still in the learning period after onboarding */
};
void an_features_compute(const struct an_device *d, struct an_features *out);
/* Counts f into device idx's window. outbound: it opened it. far_hash: an_hash_addr of the
 * far end. Checks the flow against the group's MUD, learns during the learning period. */
void an_features_add(struct an_engine *e, uint32_t idx, const struct an_flow *f, bool outbound,
                     uint64_t far_hash);
void an_features_reset(struct an_engine *e, uint32_t idx);

/* ---- Detectors ---------------------------------------------------------------------------- */

/* One window's verdict for a device, built up by the detectors. */
struct an_verdict {
    uint16_t raise; /* exceptions at their high mark this window */
    uint16_t hold;  /* exceptions with evidence enough to stay up */
    uint8_t level[AN_EXC_COUNT];
    uint8_t source[AN_EXC_COUNT];
    uint8_t want_addr[AN_EXC_COUNT]; /* the finding names top_dst (1) or fail_dst (2) */
    uint16_t ev[AN_EXC_COUNT];       /* AN_EV_* that fired, per exception */
    uint32_t fleet_devices, peer_median;
};

void an_rules_eval(const struct an_config *c, const struct an_device *d,
                   const struct an_features *ft, struct an_verdict *v);
/* Applies the Schmitt trigger: updates d->active and d->quiet from v. */
void an_rules_settle(const struct an_config *c, struct an_device *d, struct an_verdict *v);
/* Remembers the destination a C&C finding named, so later contacts hold the alarm. */
void an_rules_remember(struct an_device *d, uint32_t dst_hash);

/* Signalling (detect_signal.c): radio link failures, ping-pong, wake-ups, service access. */
void an_signal_eval(const struct an_config *c, const struct an_device *d, struct an_verdict *v);
void an_signal_learn(struct an_device *d);

void an_baseline_eval(const struct an_config *c, const struct an_device *d,
                      const struct an_features *ft, struct an_verdict *v);
/* Learns the window into the baseline (only windows without an alarm are learnt). */
void an_baseline_learn(struct an_device *d, const struct an_features *ft);

/* Peer comparison: per group, per window, a log2 histogram of members' flows. */
struct an_group {
    uint32_t id;
    uint32_t members;
    uint32_t hist[33]; /* flows in [2^(i-1), 2^i) for i >= 1; 0 flows in bucket 0 */
    uint32_t active;
    uint32_t median;       /* of the last closed window; 0 = not enough members */
    uint8_t *known;        /* Bloom filter of destinations any member has seen */
    struct an_mud_rt *mud; /* the group's MUD, compiled (engine_mud.c); NULL: none */
    /* fleet conditions (detect_outage.c): members whose openings failed this window */
    uint32_t fail_members, fail_key, fail_votes;
    struct an_addr fail_dst;
    uint16_t fail_port;
    bool outage; /* most active members fail: a fleet condition, not device anomalies */
    bool outage_known; /* a window with active members closed since the engine started */
};
#define AN_GROUP_KNOWN_BITS (1u << 16)
/* The histogram is kept as records arrive (so the close need not read every device again):
 * a member enters it with its window's first record, then moves up a bucket whenever its
 * flows reach a power of two. */
void an_peers_enter(struct an_group *g);
void an_peers_leave(struct an_group *g, uint32_t flows_out);
static inline void an_peers_grew(struct an_group *g, uint32_t flows_out)
{
    if ((flows_out & (flows_out - 1)) == 0) { /* a new power of two: the next bucket */
        uint32_t before = flows_out - 1;
        g->hist[before == 0 ? 0 : 32 - __builtin_clz(before)]--;
        g->hist[flows_out == 0 ? 0 : 32 - __builtin_clz(flows_out)]++;
    }
}
void an_peers_close(const struct an_config *c, struct an_group *g);
void an_peers_eval(const struct an_config *c, const struct an_group *g,
                   const struct an_features *ft, struct an_verdict *v);

/* MUD (engine_mud.c): a group's permitted remote ends, hashed with the engine's seed. */
struct an_mud_ace {
    uint32_t name; /* DNS name or manufacturer hash */
    uint8_t kind, proto, initiated, bits, from_device;
    uint16_t rlo, rhi, llo, lhi;
    struct an_addr net;
    uint64_t mask[2]; /* the prefix's bits of the 128-bit form (matched per flow) */
};
struct an_mud_rt {
    uint32_t authority; /* hash of the MUD URL's host: same-manufacturer */
    uint32_t n;
    struct an_mud_ace ace[];
};
/* The DNS answers devices received: (device, address) -> name, until the TTL (+ grace). */
struct an_dns_slot {
    uint32_t dev;     /* device index + 1; 0 empty */
    uint32_t addr;    /* an_hash_addr of the answer, 32 bits, never 0 */
    uint32_t name;    /* an_name_hash */
    uint32_t expires; /* seconds since the epoch */
};
struct an_dns_cache {
    struct an_dns_slot *slots;
    uint32_t cap, used;
    uint64_t dropped;
    double swept; /* record time of the last sweep of expired answers */
};
uint32_t an_name_hash(uint64_t seed, const char *normalised);
/* Where (dev, addr) would be in the DNS table: for prefetching. */
static inline const void *an_dns_slot_addr(const struct an_dns_cache *c, uint32_t dev,
                                           uint32_t addr)
{
    return &c->slots[an_mix64((uint64_t)(dev + 1) << 32 | addr) & (c->cap - 1)];
}
/* The name device dev resolved addr to (and still may use), or 0. */
uint32_t an_dns_lookup(const struct an_engine *e, uint32_t dev, uint32_t addr_hash, double ts);
/* Whether the group's MUD permits the flow device dev (whose end is near) took part in. */
bool an_mud_permits(const struct an_engine *e, const struct an_mud_rt *m, uint32_t dev,
                    const struct an_flow *f, bool outbound, uint32_t name);
void an_mud_free_all(struct an_engine *e);
/* Multicast, broadcast, link-local: local discovery (SSDP, mDNS, DHCP), never a victim.
 * Inline: every flow a device opens asks. */
static inline bool an_addr_is_discovery(const struct an_addr *a)
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a->b, v4_mapped, 12) == 0) {
        const uint8_t *v = a->b + 12;
        return (v[0] & 0xf0) == 0xe0 || (v[0] == 169 && v[1] == 254) ||
               (v[0] == 255 && v[1] == 255 && v[2] == 255 && v[3] == 255);
    }
    return a->b[0] == 0xff || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);
}

/* Fleet conditions (detect_outage.c): most of a group failing at once is an outage. */
void an_outage_tally(struct an_group *g, const struct an_device *d, const struct an_cold *cold);
void an_outage_close(struct an_engine *e, struct an_group *g);

/* Fleet correlation: destinations many devices converge on in one window. */
struct an_fleet;
struct an_fleet *an_fleet_new(void);
void an_fleet_free(struct an_fleet *f);
/* A device whose window was dominated by one destination. */
int an_fleet_tally(struct an_fleet *f, uint32_t dst_hash, const struct an_addr *dst);
/* After every tally of a window: decides which destinations are under attack. */
void an_fleet_close(const struct an_config *c, struct an_fleet *f);
/* Whether dst_hash is under attack this window (and how many devices hit it). */
bool an_fleet_victim(const struct an_fleet *f, uint32_t dst_hash, uint32_t *devices);
size_t an_fleet_bytes(const struct an_fleet *f);

/* The pseudonym under a prepared key (pseudonym.c). */
void an_pseudonym_with(const struct hmac_sha256 *key, const char *identity, uint8_t out[16]);

/* ---- The engine's tables (devices.c) and its window clock (engine.c, window.c) ---------- */

#define AN_CHUNK_SHIFT 13 /* devices are allocated 8192 at a time (2 MiB: one huge page) */
#define AN_MAX_GROUPS  4096

struct an_bind {
    struct an_addr ue;
    uint32_t dev; /* 0: empty; AN_TOMB: deleted; else device index + 1 */
};
#define AN_TOMB UINT32_MAX

struct an_engine {
    struct an_config cfg;
    uint64_t seed;
    struct hmac_sha256 key, prev_key;
    bool has_prev;
    struct an_device **chunks;
    struct an_cold **cold; /* the same chunking */
    uint32_t nchunks, ndev;
    uint32_t *pidx; /* pseudonym -> device index + 1 (open addressing) */
    uint32_t pcap, pused;
    struct an_bind *binds;
    uint32_t bcap, bused, blive;
    struct an_group *groups;
    uint32_t ngroups, gcap;
    int64_t base; /* absolute index of relative window 0 */
    int32_t cur;  /* the open window, relative; -1 before the first record */
    uint32_t *touched, ntouched, ctouched; /* devices with flows in the open window */
    /* Positions in `touched` of the devices the close must look at before judging anyone:
     * those with a failed opening (fleet outage tally) or with fleet_flows to one destination
     * (a fleet vote). Never longer than `touched`, and reserved with it, so a push at
     * ingestion cannot fail. Every other device would tally nothing. */
    uint32_t *marked, nmarked, cmarked;
    uint64_t bind_gen; /* bumped by every binding change: a lookup made ahead stays valid */
    bool closing;      /* in an_window_close: the peer histograms are already taken */
    uint32_t *alarmed, nalarmed, calarmed; /* devices with an alarm up */
    uint32_t learners; /* active devices without a MUD at the last close (prefetch hint) */
    struct an_fleet *fleet;
    struct an_dns_cache dns;
    an_finding_cb on_finding;
    an_window_cb on_window;
    an_condition_cb on_condition;
    void *cb_arg;
    uint64_t records, no_device, late, findings;
};

static inline struct an_device *an_dev(const struct an_engine *e, uint32_t idx)
{
    return &e->chunks[idx >> AN_CHUNK_SHIFT][idx & ((1u << AN_CHUNK_SHIFT) - 1)];
}

static inline struct an_cold *an_cold(const struct an_engine *e, uint32_t idx)
{
    return &e->cold[idx >> AN_CHUNK_SHIFT][idx & ((1u << AN_CHUNK_SHIFT) - 1)];
}

/* Per-record lines of struct an_device: the window and the device's per-record fields. */
#define AN_DEV_HOT_BYTES offsetof(struct an_device, learnt)

/* The device with this pseudonym, created (in group index gi) if new. */
int an_dev_get(struct an_engine *e, const uint8_t pseud[16], uint32_t gi, uint32_t *idx);
/* Looks a pseudonym up: the index, or UINT32_MAX. */
uint32_t an_dev_find(const struct an_engine *e, const uint8_t pseud[16]);
/* Gives device idx a new pseudonym (key rotation). */
int an_dev_rename(struct an_engine *e, uint32_t idx, const uint8_t pseud[16]);
/* The group index for a group ID (0 for ID 0, and past AN_MAX_GROUPS). */
int an_group_get(struct an_engine *e, uint32_t id, uint32_t *gi);
int an_bind_put(struct an_engine *e, const struct an_addr *ue, uint32_t idx);
uint32_t an_bind_get(const struct an_engine *e, const struct an_addr *ue);
/* The same with ue's an_hash_addr already computed. */
uint32_t an_bind_get_h(const struct an_engine *e, const struct an_addr *ue, uint64_t h);
int an_bind_del(struct an_engine *e, const struct an_addr *ue);
void an_tables_free(struct an_engine *e);
int an_list_push(uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t v);
/* Zeroed memory for a table read at random per record (devices, bindings, DNS answers): from
 * 2 MiB on, aligned and advised onto transparent huge pages, because at a million devices
 * every record would otherwise also miss the TLB (a two-dimensional page walk under a
 * hypervisor). Freed with free(). */
void *an_table_alloc(size_t n, size_t size);

/* Closes the open window: runs the detectors, reports, resets the windows' state. */
void an_window_close(struct an_engine *e);

/* ---- Bloom helpers (k = 2 probes from one 64-bit hash) ---------------------------------- */

static inline bool an_bloom_test_set(uint8_t *bits, uint32_t nbits, uint64_t h, bool set)
{
    uint32_t a = (uint32_t)(h >> 40) & (nbits - 1), b = (uint32_t)(h >> 20) & (nbits - 1);
    bool had = (bits[a >> 3] >> (a & 7) & 1) && (bits[b >> 3] >> (b & 7) & 1);
    if (set) {
        bits[a >> 3] |= (uint8_t)(1u << (a & 7));
        bits[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
    return had;
}

#endif
