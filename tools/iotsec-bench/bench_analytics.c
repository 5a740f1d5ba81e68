/* Security analytics at fleet scale, on one core: a synthetic fleet of meters, cameras and
 * trackers (three groups), generated in memory; midway, 1% of the devices join a botnet's
 * DDoS on one victim at 30 flows each per window (a low-and-slow flood: below the
 * per-device flood rule, so the fleet tier has to catch it).
 *
 * Figures: ingest + detection throughput (window closes included; generation excluded),
 * analytics state per device, the windows from the attack's first window until every bot is
 * flagged, the windows from the attack's first window until every bot is quarantined (the
 * findings go to the policy capability in process, bench_quarantine.c), the benign devices
 * ever flagged, and the same records through a naive per-device exact-set implementation (a
 * hash set of window destinations and one of every destination ever seen, per device) to
 * show what the sketches save. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "analytics/mud.h"
#include "bench.h"
#include "bench_pmu.h"
#include "bench_quarantine.h"

#include <time.h>

#define WINDOWS       10
#define WINDOW_S      60
#define FLOOD_PER_BOT 30
#define T0            1700000040.0 /* a window boundary */

struct fleet {
    uint32_t devices, bots_from; /* devices >= bots_from are the bots */
    uint64_t rng;
    uint32_t *first_flag; /* per device: window index first flagged + 1; 0 never */
    uint32_t attack_window;
    struct bench_quarantine *policy; /* NULL: findings are not acted on */
};

static const char *identity_of(uint32_t dev, char *buf, size_t len)
{
    snprintf(buf, len, "imsi-00101%010u", dev);
    return buf;
}

static void on_finding(void *arg, const struct an_finding *f)
{
    struct fleet *fl = arg;
    if (fl->policy)
        bench_quarantine_finding(fl->policy, f);
}

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void v4(struct an_addr *a, uint32_t ip)
{
    memset(a->b, 0, 10);
    a->b[10] = a->b[11] = 0xff;
    a->b[12] = (uint8_t)(ip >> 24), a->b[13] = (uint8_t)(ip >> 16);
    a->b[14] = (uint8_t)(ip >> 8), a->b[15] = (uint8_t)ip;
}

static uint32_t ue_ip(uint32_t dev)
{
    return 0x0a000000u + dev + 1; /* 10.0.0.1 ... */
}

/* Kind: 60% meters (group 1), 25% cameras (2), 15% trackers (3). */
static uint32_t kind_of(uint32_t dev)
{
    uint32_t r = dev % 20;
    return r < 12 ? 1 : r < 17 ? 2 : 3;
}

static void benign_flow(struct fleet *fl, uint32_t dev, double ts, struct an_flow *f)
{
    uint64_t r = next(&fl->rng);
    memset(f, 0, sizeof(*f));
    f->ts = ts;
    v4(&f->orig, ue_ip(dev));
    f->orig_port = (uint16_t)(32768 + (r & 16383));
    uint32_t kind = kind_of(dev), pick = (uint32_t)(r >> 20) % 100;
    if (pick < 8) { /* DNS or NTP, any kind of device */
        v4(&f->resp, pick < 4 ? 0x08080808u : 0xc0000200u + (uint32_t)(r >> 40) % 8);
        f->resp_port = pick < 4 ? 53 : 123, f->proto = 17;
        f->orig_pkts = f->resp_pkts = 1, f->orig_bytes = f->resp_bytes = 48;
        f->outcome = AN_OUT_ESTABLISHED;
        return;
    }
    /* Each kind talks to its own few servers (198.51.100.0/24 by kind). */
    v4(&f->resp, 0xc6336400u + kind * 16 + (uint32_t)(r >> 32) % 4);
    f->proto = kind == 2 ? 6 : 17;
    f->resp_port = kind == 1 ? 5684 : kind == 2 ? 443 : 5683;
    f->duration = kind == 2 ? 55.0 : 0.2;
    f->orig_pkts = kind == 2 ? 900 : 2, f->resp_pkts = kind == 2 ? 300 : 1;
    f->orig_bytes = f->orig_pkts * 600, f->resp_bytes = f->resp_pkts * 80;
    f->outcome = AN_OUT_ESTABLISHED;
}

static void bot_flow(struct fleet *fl, uint32_t dev, double ts, struct an_flow *f)
{
    memset(f, 0, sizeof(*f));
    f->ts = ts;
    v4(&f->orig, ue_ip(dev));
    v4(&f->resp, 0xcb00710au); /* 203.0.113.10, the victim */
    f->orig_port = (uint16_t)(1024 + (next(&fl->rng) & 32767));
    f->resp_port = 80, f->proto = 17, f->duration = 0.5;
    f->orig_pkts = 50, f->orig_bytes = 50 * 512;
    f->outcome = AN_OUT_NOREPLY;
}

/* One window's records, in time order. */
static size_t gen_window(struct fleet *fl, unsigned w, size_t per_window, struct an_flow *buf)
{
    size_t n = 0, bots = fl->devices - fl->bots_from;
    size_t flood = w >= fl->attack_window ? bots * FLOOD_PER_BOT : 0;
    if (flood > per_window)
        flood = per_window;
    double t0 = T0 + (double)w * WINDOW_S, step = (double)WINDOW_S / (double)(per_window + 1);
    for (size_t i = 0; i < per_window; i++) {
        double ts = t0 + (double)(i + 1) * step;
        uint64_t r = next(&fl->rng);
        if (r % per_window < flood) /* flood records spread over the window */
            bot_flow(fl, fl->bots_from + (uint32_t)((r >> 32) % bots), ts, &buf[n++]);
        else
            benign_flow(fl, (uint32_t)((r >> 32) % fl->devices), ts, &buf[n++]);
    }
    return n;
}

static void on_window(void *arg, uint32_t dev, int64_t window, bool flagged)
{
    struct fleet *fl = arg;
    if (flagged && dev < fl->devices && fl->first_flag[dev] == 0)
        fl->first_flag[dev] = (uint32_t)(window - (int64_t)(T0 / WINDOW_S)) + 1;
}

/* ---- the naive baseline: exact sets ---------------------------------------------------- */

struct addr_set {
    struct an_addr *slots;
    uint32_t cap, n;
};

struct naive_dev {
    uint32_t flows, pkts, bytes, failed;
    struct addr_set window_dsts, all_dsts;
};

struct naive {
    struct naive_dev *devs;
    struct an_bind_naive {
        struct an_addr ue;
        uint32_t dev;
    } * map;
    uint32_t mapcap;
    size_t set_bytes;
    uint64_t sink;
};

static uint64_t hash16(const struct an_addr *a)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8), memcpy(&hi, a->b + 8, 8);
    lo = (lo ^ (hi * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    lo ^= lo >> 32;
    return (lo ^ hi) * 0xc4ceb9fe1a85ec53ULL >> 20; /* the IPv4 part is in hi's top bytes */
}

static const struct an_addr empty_addr;

static int set_add(struct naive *nv, struct addr_set *s, const struct an_addr *a)
{
    if (4 * (s->n + 1) > 3 * s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        struct an_addr *n = calloc(cap, sizeof(*n));
        if (n == NULL)
            return -1;
        for (uint32_t i = 0; i < s->cap; i++) {
            if (!memcmp(&s->slots[i], &empty_addr, sizeof(empty_addr)))
                continue;
            uint32_t j = (uint32_t)hash16(&s->slots[i]) & (cap - 1);
            while (memcmp(&n[j], &empty_addr, sizeof(empty_addr)))
                j = (j + 1) & (cap - 1);
            n[j] = s->slots[i];
        }
        nv->set_bytes += (size_t)(cap - s->cap) * sizeof(*n);
        free(s->slots);
        s->slots = n, s->cap = cap;
    }
    uint32_t j = (uint32_t)hash16(a) & (s->cap - 1);
    while (memcmp(&s->slots[j], &empty_addr, sizeof(empty_addr))) {
        if (!memcmp(&s->slots[j], a, sizeof(*a)))
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = *a;
    s->n++;
    return 1;
}

static int naive_init(struct naive *nv, uint32_t devices)
{
    memset(nv, 0, sizeof(*nv));
    nv->mapcap = 1;
    while (nv->mapcap < devices * 2)
        nv->mapcap <<= 1;
    nv->devs = calloc(devices, sizeof(*nv->devs));
    nv->map = calloc(nv->mapcap, sizeof(*nv->map));
    if (nv->devs == NULL || nv->map == NULL)
        return -1;
    for (uint32_t d = 0; d < devices; d++) {
        struct an_addr a;
        v4(&a, ue_ip(d));
        uint32_t j = (uint32_t)hash16(&a) & (nv->mapcap - 1);
        while (nv->map[j].dev != 0)
            j = (j + 1) & (nv->mapcap - 1);
        nv->map[j].ue = a, nv->map[j].dev = d + 1;
    }
    return 0;
}

static int naive_ingest(struct naive *nv, const struct an_flow *f)
{
    uint32_t j = (uint32_t)hash16(&f->orig) & (nv->mapcap - 1);
    while (nv->map[j].dev != 0 && memcmp(&nv->map[j].ue, &f->orig, sizeof(f->orig)))
        j = (j + 1) & (nv->mapcap - 1);
    if (nv->map[j].dev == 0)
        return 0;
    struct naive_dev *d = &nv->devs[nv->map[j].dev - 1];
    d->flows++, d->pkts += (uint32_t)f->orig_pkts, d->bytes += (uint32_t)f->orig_bytes;
    d->failed += f->outcome == AN_OUT_FAILED;
    if (set_add(nv, &d->window_dsts, &f->resp) < 0 || set_add(nv, &d->all_dsts, &f->resp) < 0)
        return -1;
    return 0;
}

/* The naive window close: read the exact counts, then empty the window's set. */
static void naive_close(struct naive *nv, uint32_t devices)
{
    for (uint32_t i = 0; i < devices; i++) {
        struct naive_dev *d = &nv->devs[i];
        nv->sink += d->window_dsts.n + d->flows;
        if (d->window_dsts.n)
            memset(d->window_dsts.slots, 0, d->window_dsts.cap * sizeof(struct an_addr));
        d->window_dsts.n = 0, d->flows = d->pkts = d->bytes = d->failed = 0;
    }
}

static void naive_free(struct naive *nv, uint32_t devices)
{
    for (uint32_t i = 0; nv->devs && i < devices; i++) {
        free(nv->devs[i].window_dsts.slots);
        free(nv->devs[i].all_dsts.slots);
    }
    free(nv->devs);
    free(nv->map);
}

/* One device scanning 10,000 addresses in a window: the naive sets grow with what the
 * device does (an attacker chooses), the sketches do not. */
static void report_scanner(void)
{
    struct naive nv;
    if (naive_init(&nv, 1) != 0)
        return;
    for (uint32_t i = 0; i < 10000; i++) {
        struct an_flow f;
        memset(&f, 0, sizeof(f));
        v4(&f.orig, ue_ip(0));
        v4(&f.resp, 0x64400000u + i);
        naive_ingest(&nv, &f);
    }
    bench_report("analytics.naive_exact_set.scanner_state",
                 (double)(sizeof(struct naive_dev) + nv.set_bytes), "bytes", 1);
    bench_report("analytics.scanner_state", (double)an_device_state_size(), "bytes", 1);
    naive_free(&nv, 1);
}

/* ---- the run ------------------------------------------------------------------------------ */

static struct an_engine *make_engine(struct fleet *fl)
{
    struct an_config c;
    an_config_default(&c);
    c.window_s = WINDOW_S;
    uint8_t key[32] = "bench analytics pseudonym key..";
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    if (e == NULL)
        return NULL;
    an_engine_set_callbacks(e, on_finding, on_window, fl);
    double t = bench_now();
    for (uint32_t d = 0; d < fl->devices; d++) {
        struct an_addr a;
        char id[32];
        v4(&a, ue_ip(d));
        if (an_engine_bind(e, &a, identity_of(d, id, sizeof(id)), kind_of(d)) != 0) {
            an_engine_free(e);
            return NULL;
        }
    }
    fprintf(stderr, "analytics: bound %u devices in %.2f s\n", fl->devices, bench_now() - t);
    return e;
}

static void report_detection(const struct fleet *fl)
{
    uint32_t worst = 0, missed = 0, false_pos = 0;
    for (uint32_t d = 0; d < fl->devices; d++) {
        uint32_t ff = fl->first_flag[d];
        if (d < fl->bots_from) {
            false_pos += ff != 0;
            continue;
        }
        if (ff == 0 || ff <= fl->attack_window) {
            missed += ff == 0;
            continue;
        }
        uint32_t latency = ff - fl->attack_window; /* 1 = flagged in the first window */
        worst = latency > worst ? latency : worst;
    }
    fprintf(stderr, "analytics: %u bots, %u never flagged, %u benign devices flagged\n",
            fl->devices - fl->bots_from, missed, false_pos);
    bench_report("analytics.ddos.windows_to_flag_all_bots", missed ? -1.0 : (double)worst,
                 "windows", 1);
    bench_report("analytics.ddos.bots_missed", missed, "devices", 1);
    bench_report("analytics.false_positive_devices", false_pos, "devices", 1);
}

/* CPU time of this thread: on a machine shared with other work, records per CPU second is
 * the per-core figure (wall time counts the time the scheduler gave to others). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the same fleet with MUD checks on ------------------------------------------------ */

/* Each kind's MUD: its own servers by name (resolved through DNS), NTP and DNS by network. */
static int kind_mud(uint32_t kind, struct an_mud *m)
{
    char doc[2048], err[256];
    static const char *const proto[] = {"", "17", "6", "17"};
    static const unsigned port[] = {0, 5684, 443, 5683};
    int n = snprintf(
        doc, sizeof(doc),
        "{\"ietf-mud:mud\":{\"mud-version\":1,\"mud-url\":\"https://kind%u.example/mud\","
        "\"last-update\":\"2026-01-01T00:00:00Z\",\"is-supported\":true,"
        "\"from-device-policy\":{\"access-lists\":{\"access-list\":[{\"name\":\"fr\"}]}}},"
        "\"ietf-access-control-list:acls\":{\"acl\":[{\"name\":\"fr\",\"aces\":{\"ace\":["
        "{\"name\":\"dns\",\"matches\":{\"ipv4\":{\"destination-ipv4-network\":\"8.8.8.8/32\","
        "\"protocol\":17}},\"actions\":{\"forwarding\":\"accept\"}},"
        "{\"name\":\"ntp\",\"matches\":{\"ipv4\":{\"destination-ipv4-network\":"
        "\"192.0.2.0/29\",\"protocol\":17}},\"actions\":{\"forwarding\":\"accept\"}},"
        "{\"name\":\"head\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":"
        "\"head.kind%u.example\",\"protocol\":%s},\"%s\":{\"destination-port\":"
        "{\"operator\":\"eq\",\"port\":%u}}},\"actions\":{\"forwarding\":\"accept\"}}]}}]}}",
        kind, kind, proto[kind], kind == 2 ? "tcp" : "udp", port[kind]);
    return an_mud_parse(doc, (size_t)n, m, err, sizeof(err));
}

/* Every device resolved its kind's head-end (the 4 addresses of benign_flow) once. */
static int mud_engine(struct fleet *fl, struct an_engine **out)
{
    struct an_config c;
    an_config_default(&c);
    c.window_s = WINDOW_S;
    uint8_t key[32] = "bench analytics pseudonym key..";
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    struct an_mud *m = malloc(sizeof(*m));
    int rc = e && m ? 0 : -1;
    for (uint32_t k = 1; k <= 3 && rc == 0; k++)
        rc = kind_mud(k, m) || an_engine_set_mud(e, k, m);
    free(m);
    for (uint32_t d = 0; d < fl->devices && rc == 0; d++) {
        struct an_addr a, srv[4];
        char id[32], name[32];
        uint32_t ttl[4] = {86400, 86400, 86400, 86400};
        v4(&a, ue_ip(d));
        for (uint32_t i = 0; i < 4; i++)
            v4(&srv[i], 0xc6336400u + kind_of(d) * 16 + i);
        snprintf(name, sizeof(name), "head.kind%u.example", kind_of(d));
        rc = an_engine_bind(e, &a, identity_of(d, id, sizeof(id)), kind_of(d)) ||
             an_engine_dns(e, &a, name, srv, ttl, 4, T0 - 1);
    }
    if (rc != 0) {
        an_engine_free(e);
        return -1;
    }
    an_engine_set_callbacks(e, NULL, on_window, fl);
    *out = e;
    return 0;
}

/* The same records again through an engine checking every flow against its device's MUD
 * (and the DNS answers that name its addresses): the cost of knowing what devices are for. */
static void bench_mud(const struct bench_analytics_opts *o, double plain_rate, double plain_cpu)
{
    struct fleet fl = {.devices = o->devices, .rng = 42, .attack_window = WINDOWS / 2};
    fl.bots_from = fl.devices - (fl.devices / 100 > 0 ? fl.devices / 100 : 1);
    size_t per_window = o->records / WINDOWS;
    struct an_flow *buf = malloc(per_window * sizeof(*buf));
    fl.first_flag = calloc(fl.devices, sizeof(*fl.first_flag));
    struct an_engine *e = NULL;
    if (buf == NULL || fl.first_flag == NULL || mud_engine(&fl, &e) != 0) {
        fprintf(stderr, "analytics: MUD run: out of memory\n");
        free(buf);
        free(fl.first_flag);
        return;
    }
    double took = 0, cpu = 0;
    struct bench_pmu pmu;
    bench_pmu_open(&pmu);
    for (unsigned w = 0; w < WINDOWS; w++) {
        size_t n = gen_window(&fl, w, per_window, buf);
        double t = bench_now(), c = cpu_now();
        bench_pmu_start(&pmu);
        an_engine_ingest_batch(e, buf, n);
        if (w == WINDOWS - 1)
            an_engine_flush(e);
        bench_pmu_stop(&pmu);
        took += bench_now() - t;
        cpu += cpu_now() - c;
    }
    bench_pmu_report(&pmu, "analytics.mud.ingest_detect", (double)per_window * WINDOWS);
    bench_pmu_close(&pmu);
    struct an_stats st;
    an_engine_stats(e, &st);
    double rate = (double)per_window * WINDOWS / took;
    bench_report("analytics.mud.ingest_detect", rate, "records_per_s", 1);
    bench_report("analytics.mud.ingest_detect_vs_plain", 100 * rate / plain_rate, "percent", 1);
    double rate_cpu = (double)per_window * WINDOWS / cpu;
    bench_report("analytics.mud.ingest_detect_per_cpu_s", rate_cpu, "records_per_cpu_s", 1);
    bench_report("analytics.mud.ingest_detect_per_cpu_s_vs_plain", 100 * rate_cpu / plain_cpu,
                 "percent", 1);
    bench_report("analytics.mud.state_per_device", (double)st.state_bytes / fl.devices, "bytes", 1);
    bench_report("analytics.mud.dns_per_device", (double)st.dns_bytes / fl.devices, "bytes", 1);
    uint32_t fp = 0, missed = 0;
    for (uint32_t d = 0; d < fl.devices; d++) {
        if (d < fl.bots_from)
            fp += fl.first_flag[d] != 0;
        else
            missed += fl.first_flag[d] == 0;
    }
    bench_report("analytics.mud.false_positive_devices", fp, "devices", 1);
    bench_report("analytics.mud.bots_missed", missed, "devices", 1);
    an_engine_free(e);
    free(fl.first_flag);
    free(buf);
}

int bench_analytics(const struct bench_analytics_opts *o)
{
    struct fleet fl = {.devices = o->devices, .rng = 42, .attack_window = WINDOWS / 2};
    fl.bots_from = fl.devices - (fl.devices / 100 > 0 ? fl.devices / 100 : 1);
    size_t per_window = o->records / WINDOWS;
    struct an_flow *buf = malloc(per_window * sizeof(*buf));
    fl.first_flag = calloc(fl.devices, sizeof(*fl.first_flag));
    struct an_engine *e = buf && fl.first_flag ? make_engine(&fl) : NULL;
    uint8_t key[32] = "bench analytics pseudonym key..";
    fl.policy = bench_quarantine_new(fl.bots_from, fl.devices, key, sizeof(key), identity_of);
    if (fl.policy == NULL)
        fprintf(stderr, "analytics: no policy store: the quarantine figure is skipped\n");
    uint32_t quarantined_at = 0; /* the window whose close quarantined the last bot, + 1 */
    double policy_wait = 0;
    struct naive nv;
    if (e == NULL || naive_init(&nv, fl.devices) != 0) {
        fprintf(stderr, "analytics: out of memory\n");
        return 1;
    }
    fprintf(stderr,
            "analytics: %u devices, %zu records in %d windows of %d s, 1%% bots from "
            "window %u, one core\n",
            fl.devices, per_window * WINDOWS, WINDOWS, WINDOW_S, fl.attack_window + 1);
    double ours = 0, naive = 0, ours_cpu = 0;
    struct bench_pmu pmu;
    bench_pmu_open(&pmu);
    for (unsigned w = 0; w < WINDOWS; w++) {
        size_t n = gen_window(&fl, w, per_window, buf);
        double t = bench_now(), c = cpu_now();
        bench_pmu_start(&pmu);
        an_engine_ingest_batch(e, buf, n);
        if (w == WINDOWS - 1)
            an_engine_flush(e);
        bench_pmu_stop(&pmu);
        ours += bench_now() - t;
        ours_cpu += cpu_now() - c;
        /* Windows up to w - 1 are closed now (w's records closed them; the last one, the
         * flush). Wait for the policy's jobs: the time it takes is the quarantine's delay
         * after the close, beyond the window itself. */
        t = bench_now();
        if (fl.policy && quarantined_at == 0 &&
            bench_quarantine_count(fl.policy) == fl.devices - fl.bots_from) {
            quarantined_at = (w == WINDOWS - 1 ? w : w - 1) + 1;
            policy_wait = bench_now() - t;
        }
        if (o->engine_only)
            continue;
        t = bench_now();
        for (size_t i = 0; i < n; i++)
            naive_ingest(&nv, &buf[i]);
        naive_close(&nv, fl.devices);
        naive += bench_now() - t;
    }
    bench_pmu_report(&pmu, "analytics.ingest_detect", (double)per_window * WINDOWS);
    bench_pmu_close(&pmu);
    struct an_stats st;
    an_engine_stats(e, &st);
    double total = (double)per_window * WINDOWS;
    bench_report("analytics.ingest_detect", total / ours, "records_per_s", 1);
    bench_report("analytics.ingest_detect_per_cpu_s", total / ours_cpu, "records_per_cpu_s", 1);
    if (!o->engine_only)
        bench_report("analytics.naive_exact_set.ingest", total / naive, "records_per_s", 1);
    bench_report("analytics.state_per_device", (double)st.state_bytes / fl.devices, "bytes", 1);
    bench_report("analytics.device_struct", (double)an_device_state_size(), "bytes", 1);
    bench_report("analytics.binding_per_device", (double)st.binding_bytes / fl.devices, "bytes", 1);
    size_t naive_bytes = (size_t)fl.devices * sizeof(struct naive_dev) + nv.set_bytes;
    bench_report("analytics.naive_exact_set.state_per_device", (double)naive_bytes / fl.devices,
                 "bytes", 1);
    report_scanner();
    report_detection(&fl);
    if (fl.policy) {
        /* 1 = quarantined at the close of the attack's first window. */
        bench_report("analytics.ddos.windows_to_quarantine_all_bots",
                     quarantined_at > fl.attack_window ? (double)(quarantined_at - fl.attack_window)
                                                       : -1.0,
                     "windows", 1);
        bench_report("analytics.ddos.policy_ms_after_close", policy_wait * 1000, "ms", 1);
    }
    fprintf(stderr, "analytics: %llu findings, fleet/group tables %zu bytes\n",
            (unsigned long long)st.findings, st.fleet_bytes);
    naive_free(&nv, fl.devices);
    an_engine_free(e);
    bench_quarantine_free(fl.policy);
    free(fl.first_flag);
    free(buf);
    bench_mud(o, total / ours, total / ours_cpu);
    return o->engine_only ? 0 : bench_analytics_benign();
}
