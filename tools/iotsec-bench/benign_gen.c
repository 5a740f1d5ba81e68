/* The benign network of benign_gen.h, window by window. Each window's records are collected,
 * sorted by time and written as JSON lines. Deterministic for a seed. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "benign_gen.h"

#define W 60.0

static const struct benign_device devices[] = {
    {"10.20.0.10", "plug-x", 1},  {"10.20.0.11", "plug-x", 1},  {"10.20.0.12", "plug-x", 1},
    {"10.20.0.13", "plug-x", 1},  {"10.20.0.14", "plug-x", 1},  {"10.20.0.15", "plug-x", 1},
    {"10.20.0.16", "plug-x", 1},  {"10.20.0.17", "plug-x", 1},  {"10.20.0.18", "plug-x", 1},
    {"10.20.0.19", "plug-x", 1},  {"10.20.0.20", "plug-x", 1},  {"10.20.0.21", "plug-x", 1},
    {"10.20.0.25", NULL, 0}, /* plug-y */
    {"10.20.0.30", "hub", 0},     {"10.20.0.31", "phones", 0},  {"10.20.0.40", "cam-z", 0},
    {"10.20.0.41", "cam-z", 0},   {"10.20.0.42", "cam-z", 0},   {"10.20.0.43", "cam-z", 0},
    {"10.20.0.44", "cam-z", 0},   {"10.20.0.45", "cam-z", 0},   {"10.20.0.46", "cam-z", 0},
    {"10.20.0.47", "cam-z", 0},   {"10.20.0.50", "sensors", 0}, {"10.20.0.51", "sensors", 0},
    {"10.20.0.52", "sensors", 0}, {"10.20.0.53", "sensors", 0}, {"10.20.0.54", "sensors", 0},
    {"10.20.0.55", "sensors", 0}, {"10.20.0.56", "sensors", 0}, {"10.20.0.57", "sensors", 0},
    {"10.20.0.58", "sensors", 0}, {"10.20.0.59", "sensors", 0},
};

const struct benign_device *benign_devices(unsigned *n)
{
    *n = sizeof(devices) / sizeof(devices[0]);
    return devices;
}

const char *benign_mud_plugx(void)
{
    return "{\"ietf-mud:mud\":{\"mud-version\":1,\"mud-url\":\"https://plugx.example/mud/p1\","
           "\"last-update\":\"2026-01-01T00:00:00+00:00\",\"cache-validity\":48,"
           "\"is-supported\":true,\"systeminfo\":\"PlugX smart plug\","
           "\"from-device-policy\":{\"access-lists\":{\"access-list\":[{\"name\":\"fr\"}]}},"
           "\"to-device-policy\":{\"access-lists\":{\"access-list\":[{\"name\":\"to\"}]}}},"
           "\"ietf-access-control-list:acls\":{\"acl\":["
           "{\"name\":\"fr\",\"type\":\"ipv4-acl-type\",\"aces\":{\"ace\":["
           "{\"name\":\"cloud443\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":"
           "\"cloud.plugx.example\",\"protocol\":6},\"tcp\":{\"ietf-mud:direction-initiated\":"
           "\"from-device\",\"destination-port\":{\"operator\":\"eq\",\"port\":443}}},"
           "\"actions\":{\"forwarding\":\"accept\"}},"
           "{\"name\":\"cloud8443\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":"
           "\"cloud.plugx.example\",\"protocol\":6},\"tcp\":{\"destination-port\":"
           "{\"lower-port\":8443,\"upper-port\":8443}}},\"actions\":{\"forwarding\":\"accept\"}},"
           "{\"name\":\"ntp\",\"matches\":{\"ipv4\":{\"ietf-acldns:dst-dnsname\":"
           "\"time.plugx.example\",\"protocol\":17},\"udp\":{\"destination-port\":"
           "{\"operator\":\"eq\",\"port\":123}}},\"actions\":{\"forwarding\":\"accept\"}},"
           "{\"name\":\"probe\",\"matches\":{\"ipv4\":{\"destination-ipv4-network\":"
           "\"8.8.8.8/32\",\"protocol\":1}},\"actions\":{\"forwarding\":\"accept\"}},"
           "{\"name\":\"lan\",\"matches\":{\"ietf-mud:mud\":{\"local-networks\":[null]}},"
           "\"actions\":{\"forwarding\":\"accept\"}},"
           "{\"name\":\"mdns\",\"matches\":{\"ipv4\":{\"destination-ipv4-network\":"
           "\"224.0.0.251/32\",\"protocol\":17}},\"actions\":{\"forwarding\":\"accept\"}}]}},"
           "{\"name\":\"to\",\"type\":\"ipv4-acl-type\",\"aces\":{\"ace\":["
           "{\"name\":\"cloud\",\"matches\":{\"ipv4\":{\"ietf-acldns:src-dnsname\":"
           "\"cloud.plugx.example\",\"protocol\":6},\"tcp\":{\"source-port\":{\"operator\":"
           "\"eq\",\"port\":443}}},\"actions\":{\"forwarding\":\"accept\"}}]}}]}}";
}

/* ---- records of one window ---- */

struct rec {
    double ts;
    char line[400];
};

struct buf {
    struct rec *r;
    size_t n, cap;
    uint64_t rng;
};

static uint64_t rnd(struct buf *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

static double uni(struct buf *b)
{
    return (double)(rnd(b) >> 11) / 9007199254740992.0;
}

static struct rec *push(struct buf *b, double ts)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        struct rec *n = realloc(b->r, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        b->r = n;
        b->cap = cap;
    }
    b->r[b->n].ts = ts;
    return &b->r[b->n++];
}

static void flow(struct buf *b, double ts, double dur, const char *src, unsigned sport,
                 const char *dst, unsigned dport, const char *proto, unsigned long ob,
                 unsigned long ib, unsigned long op, unsigned long ip, const char *outcome)
{
    struct rec *r = push(b, ts);
    if (r)
        snprintf(r->line, sizeof(r->line),
                 "{\"ts\":%.3f,\"duration\":%.3f,\"src\":\"%.46s\",\"sport\":%u,\"dst\":\"%.46s\","
                 "\"dport\":%u,\"proto\":\"%.8s\",\"out_bytes\":%lu,\"in_bytes\":%lu,"
                 "\"out_pkts\":%lu,\"in_pkts\":%lu,\"outcome\":\"%.12s\"}",
                 ts, dur, src, sport, dst, dport, proto, ob, ib, op, ip, outcome);
}

/* The device's query to the router, and the answer it received. */
static void dns(struct buf *b, double ts, const char *client, const char *name,
                const char *const *addrs, unsigned n, unsigned ttl)
{
    flow(b, ts, 0.02, client, 30000 + (unsigned)(rnd(b) % 30000), "10.20.0.1", 53, "udp", 60,
         60 + 16 * n, 1, 1, "established");
    struct rec *r = push(b, ts + 0.021);
    if (r == NULL)
        return;
    int len = snprintf(r->line, sizeof(r->line),
                       "{\"ts\":%.3f,\"src\":\"%.46s\",\"dns\":{\"query\":\"%.64s\",\"answers\":[",
                       ts + 0.021, client, name);
    for (unsigned i = 0; i < n; i++)
        len += snprintf(r->line + len, sizeof(r->line) - (size_t)len, "%s\"%.46s\"", i ? "," : "",
                        addrs[i]);
    len += snprintf(r->line + len, sizeof(r->line) - (size_t)len, "],\"ttls\":[");
    for (unsigned i = 0; i < n; i++)
        len += snprintf(r->line + len, sizeof(r->line) - (size_t)len, "%s%u", i ? "," : "", ttl);
    snprintf(r->line + len, sizeof(r->line) - (size_t)len, "]}}");
}

static const char *const plug_cloud[12] = {"198.51.100.10", "198.51.100.11", "198.51.100.12",
                                           "198.51.100.13", "198.51.100.14", "198.51.100.15",
                                           "198.51.100.16", "198.51.100.17", "198.51.100.18",
                                           "198.51.100.19", "198.51.100.20", "198.51.100.21"};
static const char *const plugy_cloud[4] = {"198.51.100.40", "198.51.100.41", "198.51.100.42",
                                           "198.51.100.43"};
static const char *const ntp_pool[4] = {"192.0.2.123", "192.0.2.124", "192.0.2.125", "192.0.2.126"};
static const char *const cam_cloud[2] = {"203.0.113.50", "203.0.113.51"};
static const char *const plug_time[1] = {"192.0.2.200"};

#define PLUGX_OUTAGE_FROM 60
#define PLUGX_OUTAGE_TO   90
#define PLUGY_OUTAGE_FROM 75
#define POLL_FROM         40
#define POLL_TO           45
#define FIRMWARE_AT       100

/* A plug: its cloud over DNS every 5 minutes (4 of its 12 addresses, TTL 300), a status
 * exchange every 20 s; during an outage a retry every ~4 s over the addresses, 443 and 8443
 * alternating, and a ping to 8.8.8.8 every 20 s. */
static void plug(struct buf *b, const char *me, unsigned w, double t0, bool down, const char *name,
                 const char *const *cloud, unsigned ncloud, unsigned idx)
{
    const char *ans[4];
    unsigned first = (w / 5 + idx) % ncloud;
    for (unsigned i = 0; i < 4; i++)
        ans[i] = cloud[(first + i) % ncloud];
    if (w % 5 == 0 || down)
        dns(b, t0 + 0.5 + uni(b), me, name, ans, ncloud < 4 ? ncloud : 4, 300);
    if (!down) {
        for (int k = 0; k < 3; k++)
            flow(b, t0 + 2 + 20 * k + uni(b), 0.4, me, 40000 + (unsigned)(rnd(b) % 20000),
                 ans[rnd(b) % 4], 443, "tcp", 900, 2400, 8, 7, "established");
    } else {
        for (int k = 0; k < 14; k++)
            flow(b, t0 + 2 + 4.1 * k + uni(b), 0, me, 40000 + (unsigned)(rnd(b) % 20000),
                 ans[k % 4], k % 2 ? 8443 : 443, "tcp", 0, 0, 2, 0, "failed");
        for (int k = 0; k < 3; k++)
            flow(b, t0 + 5 + 20 * k, 0, me, 0, "8.8.8.8", 0, "icmp", 64, 0, 1, 0, "noreply");
    }
    if (w % 60 == 7) {
        dns(b, t0 + 30, me, "time.plugx.example", plug_time, 1, 3600);
        flow(b, t0 + 30.1, 0.05, me, 123, plug_time[0], 123, "udp", 48, 48, 1, 1, "established");
    }
    if (w % 2 == 0)
        flow(b, t0 + 40 + uni(b), 0, me, 5353, "224.0.0.251", 5353, "udp", 120, 0, 1, 0, "noreply");
}

static void hub_and_app(struct buf *b, unsigned w, double t0)
{
    /* the hub's long-lived cloud session shows as one record an hour */
    if (w % 60 == 1)
        flow(b, t0 + 1, 3600, "10.20.0.30", 41000, "203.0.113.80", 443, "tcp", 400000, 900000, 6000,
             6500, "established");
    /* the app polls the hub: normally every 10 s; in its busy minutes 600 times a minute */
    unsigned n = w >= POLL_FROM && w < POLL_TO ? 600 : 6;
    for (unsigned k = 0; k < n; k++)
        flow(b, t0 + (W - 0.5) * k / n, 0.03, "10.20.0.31", 30000 + (unsigned)(rnd(b) % 30000),
             "10.20.0.30", 80, "tcp", 220, 1400 + (unsigned)(rnd(b) % 60), 5, 5, "established");
}

static void camera(struct buf *b, const char *me, unsigned w, double t0)
{
    if (w % 10 == 0)
        dns(b, t0 + 0.2, me, "video.camz.example", cam_cloud, 2, 600);
    flow(b, t0 + 1 + uni(b), 55, me, 42000 + (unsigned)(rnd(b) % 1000), cam_cloud[w % 2], 443,
         "tcp", 6000000, 90000, 4200, 1400, "established");
    /* SSDP discovery: usually a few M-SEARCHes, every 15 windows a chatty burst */
    unsigned ssdp = w % 15 == 3 ? 150 : 4;
    for (unsigned k = 0; k < ssdp; k++)
        flow(b, t0 + 10 + 0.3 * k, 0, me, 1900, "239.255.255.250", 1900, "udp", 165, 0, 1, 0,
             "noreply");
    if (w == FIRMWARE_AT) { /* 100 MB in 25 s: the acknowledgements run at 2,000/s */
        dns(b, t0 + 20, me, "fw.camz.example", cam_cloud + 1, 1, 60);
        flow(b, t0 + 20.1, 25, me, 43000, cam_cloud[1], 443, "tcp", 2600000, 100000000, 50000,
             70000, "established");
    }
}

static void sensor(struct buf *b, const char *me, unsigned w, double t0, unsigned idx)
{
    if (w % 30 == 0)
        dns(b, t0 + 0.3, me, "mqtt.sens.example", cam_cloud, 1, 3600);
    flow(b, t0 + 3 + uni(b) * 50, 0.2, me, 45000 + (unsigned)(rnd(b) % 1000), "203.0.113.50", 8883,
         "tcp", 600, 300, 6, 5, "established");
    /* NTP: four pool servers a time, some never answer */
    if (w % 4 == idx % 4) {
        dns(b, t0 + 5, me, "pool.ntp.org", ntp_pool, 4, 150);
        for (unsigned k = 0; k < 4; k++)
            flow(b, t0 + 5.1 + k * 0.01, 0, me, 123, ntp_pool[k], 123, "udp", 48,
                 k == 3 || (k == 2 && w % 3 == 0) ? 0 : 48, 1, k == 3 ? 0 : 1,
                 k == 3 || (k == 2 && w % 3 == 0) ? "noreply" : "established");
    }
    if (w % 30 == idx % 30) { /* DHCP renewal: to the server, then broadcast */
        flow(b, t0 + 7, 0.01, me, 68, "10.20.0.1", 67, "udp", 300, 300, 1, 1, "established");
        flow(b, t0 + 7.5, 0, me, 68, "255.255.255.255", 67, "udp", 300, 0, 1, 0, "noreply");
    }
    if (w % 3 == 0)
        flow(b, t0 + 40, 0, me, 5353, "224.0.0.251", 5353, "udp", 90, 0, 1, 0, "noreply");
}

/* Mirai's pattern: C&C hunting at an address nobody resolved, then telnet scanning. */
static void bot(struct buf *b, const char *me, unsigned w, double t0, unsigned since)
{
    for (int k = 0; k < 6; k++)
        flow(b, t0 + 3 + 9 * k, 0, me, 50000 + (unsigned)k, "185.244.25.235", 6667, "tcp", 0, 0, 2,
             0, "failed");
    if (w >= since + 1) {
        char dst[32];
        for (int k = 0; k < 120; k++) {
            snprintf(dst, sizeof(dst), "100.%u.%u.%u", 64 + (unsigned)(rnd(b) % 60),
                     (unsigned)(rnd(b) % 256), 1 + (unsigned)(rnd(b) % 254));
            flow(b, t0 + 0.45 * k, 0, me, 40000 + (unsigned)k, dst, 23, "tcp", 0, 0, 1, 0,
                 "failed");
        }
    }
}

static int by_ts(const void *x, const void *y)
{
    const struct rec *a = x, *b = y;
    return a->ts < b->ts ? -1 : a->ts > b->ts;
}

int benign_write(FILE *out, unsigned windows, uint64_t seed, unsigned infect)
{
    struct buf b = {.rng = seed ? seed : 0x9e3779b97f4a7c15ULL};
    int rc = 0;
    for (unsigned w = 0; w < windows && rc == 0; w++) {
        double t0 = BENIGN_T0 + W * w;
        b.n = 0;
        unsigned n;
        const struct benign_device *d = benign_devices(&n);
        for (unsigned i = 0; i < n; i++) {
            const char *g = d[i].group ? d[i].group : "";
            if (infect && w >= infect && strcmp(d[i].addr, BENIGN_INFECTED) == 0)
                bot(&b, d[i].addr, w, t0, infect);
            if (strcmp(g, "plug-x") == 0)
                plug(&b, d[i].addr, w, t0, w >= PLUGX_OUTAGE_FROM && w < PLUGX_OUTAGE_TO,
                     "cloud.plugx.example", plug_cloud, 12, i);
            else if (d[i].group == NULL)
                plug(&b, d[i].addr, w, t0, w >= PLUGY_OUTAGE_FROM, "cloud.plugy.example",
                     plugy_cloud, 4, i);
            else if (strcmp(g, "hub") == 0)
                hub_and_app(&b, w, t0);
            else if (strcmp(g, "cam-z") == 0)
                camera(&b, d[i].addr, w, t0);
            else if (strcmp(g, "sensors") == 0)
                sensor(&b, d[i].addr, w, t0, i);
        }
        qsort(b.r, b.n, sizeof(*b.r), by_ts);
        for (size_t i = 0; i < b.n && rc == 0; i++)
            if (fputs(b.r[i].line, out) == EOF || fputc('\n', out) == EOF)
                rc = -1;
    }
    free(b.r);
    return rc;
}
