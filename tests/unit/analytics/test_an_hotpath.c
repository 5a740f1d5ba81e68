/* The ingestion hot path's shortcuts must not change a result:
 *   - a batch (bindings looked up ahead, once) reports exactly what record-by-record ingestion
 *     reports, also when bindings change inside the batch (auto_bind);
 *   - the peer histograms kept per record equal the ones a pass over every touched device at
 *     the close would build, also for a device moved to another group mid-window;
 *   - the fleet outage tally visits the failing devices in the order they were touched (its
 *     Misra-Gries candidate depends on the order), not in the order they failed;
 *   - hll_estimate from its tables equals the plain formula to the last bit;
 *   - a MUD network entry matches exactly the addresses an_prefixes_contain says it holds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/an_int.h"
#include "analytics/mud.h"
#include "base/err.h"

#define T0 1700000040.0 /* a window boundary (60 s) */

static const uint8_t key[32] = "test key for the analytics tests";

static struct an_addr v4(uint32_t ip)
{
    struct an_addr a;
    memset(&a, 0, sizeof(a));
    a.b[10] = a.b[11] = 0xff;
    a.b[12] = (uint8_t)(ip >> 24), a.b[13] = (uint8_t)(ip >> 16);
    a.b[14] = (uint8_t)(ip >> 8), a.b[15] = (uint8_t)ip;
    return a;
}

/* Everything an engine reports, in order, as text: two runs compare as strings. */
struct log {
    char *buf;
    size_t len, cap;
    struct an_engine *e; /* set: the window callback unbinds half the fleet once */
    bool unbound;
};

static void logf_(struct log *l, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(line));
    if (l->len + (size_t)n + 1 > l->cap) {
        l->cap = (l->cap + (size_t)n + 1) * 2;
        l->buf = realloc(l->buf, l->cap);
        assert_non_null(l->buf);
    }
    memcpy(l->buf + l->len, line, (size_t)n + 1);
    l->len += (size_t)n;
}

static void on_finding(void *arg, const struct an_finding *f)
{
    char addr[64] = "-";
    if (f->has_addr)
        an_addr_format(&f->addr, addr, sizeof(addr));
    logf_(arg, "F %02x%02x%02x%02x w%lld x%d s%d l%u t%d r%u c%u %s:%u sig%u win%u fl%u td%u\n",
          f->device[0], f->device[1], f->device[2], f->device[3], (long long)f->window, (int)f->exc,
          (int)f->source, f->level, (int)f->trend, f->ratio, f->confidence, addr, f->port,
          f->ev.signals, f->ev.window, f->ev.flows_out, f->ev.distinct_dst);
}

static void on_window(void *arg, uint32_t dev, int64_t window, bool flagged)
{
    struct log *l = arg;
    logf_(l, "W %u %lld %d\n", dev, (long long)window, flagged);
    if (l->e && !l->unbound && window == (int64_t)(T0 / 60) + 2) {
        /* Bindings change in the middle of a batch, after its look-ahead: records already
         * looked up must be located again (the odd devices' are no device's any more). */
        l->unbound = true;
        for (uint32_t d = 1; d < 64; d += 2) {
            struct an_addr a = v4(0x0a000001u + d);
            assert_int_equal(an_engine_unbind(l->e, &a), IOTSEC_OK);
        }
    }
}

static void on_condition(void *arg, const struct an_condition *c)
{
    char addr[64] = "-";
    if (c->has_addr)
        an_addr_format(&c->addr, addr, sizeof(addr));
    logf_(arg, "C g%u w%lld %u/%u %s:%u\n", c->group, (long long)c->window, c->failing, c->active,
          addr, c->port);
}

static struct an_engine *engine(struct log *l, bool auto_bind)
{
    struct an_config c;
    an_config_default(&c);
    c.auto_bind = auto_bind;
    c.fleet_flows = 8;
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    assert_non_null(e);
    e->seed = 0x5eed5eed5eed5eedULL; /* the same table placement and sketches in both runs */
    an_engine_set_callbacks(e, on_finding, on_window, l);
    an_engine_set_condition_cb(e, on_condition);
    return e;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define DEVICES 64
#define UNBOUND 0x0a010000u /* 10.1.0.x: local, not bound (auto_bind makes them devices) */

static void bind_fleet(struct an_engine *e)
{
    for (uint32_t d = 0; d < DEVICES; d++) {
        struct an_addr a = v4(0x0a000001u + d);
        char id[32];
        snprintf(id, sizeof(id), "imsi-001010%09u", d);
        assert_int_equal(an_engine_bind(e, &a, id, 1 + d % 3), IOTSEC_OK);
    }
}

/* Six windows of a mixed fleet: servers answered and not, failed openings (a fleet's dead
 * cloud in window 2), a flood from eight devices in windows 3-4 (the even ones under 16: the odd
 * ones are unbound by then), inbound flows, discovery, addresses of no device, and unbound local
 * ones. */
static size_t traffic(struct an_flow *f, size_t max)
{
    uint64_t s = 7;
    size_t n = 0;
    for (int w = 0; w < 6; w++) {
        for (int i = 0; i < 1500 && n < max; i++) {
            uint64_t r = rnd(&s);
            struct an_flow *x = &f[n++];
            memset(x, 0, sizeof(*x));
            x->ts = T0 + 60.0 * w + i * 0.039;
            uint32_t dev = (uint32_t)(r % DEVICES), pick = (uint32_t)(r >> 8) % 100;
            x->orig = v4(0x0a000001u + dev);
            x->resp = v4(0xc6336400u + (uint32_t)(r >> 16) % 6);
            x->orig_port = (uint16_t)(30000 + (r >> 24) % 30000);
            x->resp_port = 443, x->proto = AN_PROTO_TCP, x->outcome = AN_OUT_ESTABLISHED;
            x->orig_pkts = 3, x->resp_pkts = 2, x->orig_bytes = 300, x->resp_bytes = 900;
            x->duration = 0.3;
            if (w == 2 && pick < 40) { /* the cloud is down: openings fail */
                x->resp = v4(0xc6336480u + (uint32_t)(r >> 40) % 3);
                x->outcome = AN_OUT_FAILED, x->resp_pkts = 0, x->resp_bytes = 0;
            } else if (w >= 3 && w <= 4 && dev < 16 && pick < 70) { /* the flood */
                x->resp = v4(0xcb00710au), x->resp_port = 80, x->proto = AN_PROTO_UDP;
                x->outcome = AN_OUT_NOREPLY, x->resp_pkts = 0, x->resp_bytes = 0;
                x->orig_bytes = 512;
            } else if (pick < 50) { /* the far end opened it */
                struct an_addr t = x->orig;
                x->orig = x->resp, x->resp = t;
            } else if (pick < 55) {
                x->resp = v4(0xeffffffau), x->proto = AN_PROTO_UDP; /* SSDP */
            } else if (pick < 60) {
                x->orig = v4(0xc0a80001u + (uint32_t)(r >> 32) % 4); /* no device */
            } else if (pick < 65) {
                x->orig = v4(UNBOUND + (uint32_t)(r >> 32) % 16); /* auto_bind's */
            } else if (pick < 67) {
                x->ts = T0 + 60.0 * w - 30; /* late */
            }
        }
    }
    return n;
}

static bool has_line(const char *buf, char kind)
{
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (*p == kind)
            return true;
    return false;
}

static void batch_equals_single(bool auto_bind)
{
    enum { MAX = 10000 };
    struct an_flow *f = calloc(MAX, sizeof(*f));
    assert_non_null(f);
    size_t n = traffic(f, MAX);
    struct log one = {0}, batch = {0};
    struct an_engine *a = engine(&one, auto_bind), *b = engine(&batch, auto_bind);
    one.e = a, batch.e = b;
    bind_fleet(a);
    bind_fleet(b);
    size_t counted_one = 0, counted_batch = 0;
    for (size_t i = 0; i < n; i++)
        counted_one += an_engine_ingest(a, &f[i], NULL) == IOTSEC_OK;
    /* Uneven batches: some shorter than the look-ahead, one long. */
    size_t sizes[] = {1, 3, 17, 40, 7, 5000};
    for (size_t i = 0, k = 0; i < n; k++) {
        size_t m = k < 6 ? sizes[k] : 250;
        m = m < n - i ? m : n - i;
        counted_batch += an_engine_ingest_batch(b, &f[i], m);
        i += m;
    }
    an_engine_flush(a);
    an_engine_flush(b);
    assert_int_equal(counted_one, counted_batch);
    assert_true(one.len > 1000); /* windows, findings and the outage were reported */
    assert_true(has_line(one.buf, 'F') && has_line(one.buf, 'C'));
    assert_string_equal(one.buf, batch.buf);
    struct an_stats sa, sb;
    an_engine_stats(a, &sa);
    an_engine_stats(b, &sb);
    assert_true(sa.records == sb.records && sa.no_device == sb.no_device && sa.late == sb.late);
    assert_true(one.unbound && (auto_bind || sa.no_device > 0));
    assert_true(auto_bind ? sa.devices > DEVICES : sa.devices == DEVICES);
    an_engine_free(a);
    an_engine_free(b);
    free(one.buf);
    free(batch.buf);
    free(f);
}

static void test_batch_equals_single(void **state)
{
    (void)state;
    batch_equals_single(false);
}

static void test_batch_equals_single_auto_bind(void **state)
{
    (void)state;
    batch_equals_single(true);
}

/* What the close's old pass over every touched device built, from scratch. */
static void check_histograms(const struct an_engine *e)
{
    for (uint32_t g = 1; g < e->ngroups; g++) {
        uint32_t hist[33] = {0}, active = 0;
        for (uint32_t i = 0; i < e->ntouched; i++) {
            const struct an_device *d = an_dev(e, e->touched[i]);
            if (d->group != g)
                continue;
            uint32_t x = d->win.flows_out;
            hist[x == 0 ? 0 : 32 - __builtin_clz(x)]++;
            active++;
        }
        assert_int_equal(e->groups[g].active, active);
        assert_memory_equal(e->groups[g].hist, hist, sizeof(hist));
    }
}

static void test_peer_histogram_per_record(void **state)
{
    (void)state;
    struct log l = {0};
    struct an_engine *e = engine(&l, false);
    bind_fleet(e);
    uint64_t s = 3;
    for (int i = 0; i < 3000; i++) {
        uint64_t r = rnd(&s);
        struct an_flow f;
        memset(&f, 0, sizeof(f));
        f.ts = T0 + i * 0.01;
        /* Skewed: a few devices reach high powers of two. */
        uint32_t dev = (uint32_t)(r % 2 == 0 ? (r >> 8) % 3 : (r >> 8) % DEVICES);
        f.orig = v4(0x0a000001u + dev);
        f.resp = v4(0xc6336400u + (uint32_t)(r >> 16) % 6);
        f.proto = AN_PROTO_UDP, f.outcome = AN_OUT_ESTABLISHED, f.resp_port = 5683;
        f.orig_pkts = f.resp_pkts = 1, f.orig_bytes = f.resp_bytes = 60;
        assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
        if (i == 1500) {
            /* Devices 0 and 5 move groups mid-window (0: many flows), 6 leaves all groups. */
            struct an_addr a0 = v4(0x0a000001u), a5 = v4(0x0a000006u), a6 = v4(0x0a000007u);
            assert_int_equal(an_engine_bind(e, &a0, "imsi-001010000000000", 3), IOTSEC_OK);
            assert_int_equal(an_engine_bind(e, &a5, "imsi-001010000000005", 1), IOTSEC_OK);
            assert_int_equal(an_engine_bind(e, &a6, "imsi-001010000000006", 0), IOTSEC_OK);
            check_histograms(e);
        }
    }
    assert_true(an_dev(e, 0)->win.flows_out > 256); /* it climbed many buckets */
    check_histograms(e);
    an_engine_flush(e);
    for (uint32_t g = 0; g < e->ngroups; g++)
        assert_int_equal(e->groups[g].active, 0);
    an_engine_free(e);
    free(l.buf);
}

/* Eight members of one group: all active, then four fail in the reverse order of their first
 * records, on endpoints A, A, B, C in touched order. Visited in touched order (A A B C), no
 * endpoint stands out; in failing order (C B A A) A would be named. */
static void test_outage_tally_in_touched_order(void **state)
{
    (void)state;
    struct log l = {0};
    struct an_engine *e = engine(&l, false);
    for (uint32_t d = 0; d < 8; d++) {
        struct an_addr a = v4(0x0a000001u + d);
        char id[32];
        snprintf(id, sizeof(id), "imsi-00101000000000%u", d);
        assert_int_equal(an_engine_bind(e, &a, id, 7), IOTSEC_OK);
    }
    struct an_flow f;
    for (uint32_t d = 0; d < 8; d++) {
        memset(&f, 0, sizeof(f));
        f.ts = T0 + d;
        f.orig = v4(0x0a000001u + d), f.resp = v4(0xc6336401u);
        f.proto = AN_PROTO_UDP, f.outcome = AN_OUT_ESTABLISHED, f.resp_port = 5683;
        f.orig_pkts = f.resp_pkts = 1;
        assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
    }
    static const uint32_t endpoint[8] = {0,           0,           0,           0,
                                         0xcb007101u, 0xcb007101u, 0xcb007102u, 0xcb007103u};
    for (uint32_t d = 7; d >= 4; d--) {
        memset(&f, 0, sizeof(f));
        f.ts = T0 + 20 + (7 - d);
        f.orig = v4(0x0a000001u + d), f.resp = v4(endpoint[d]);
        f.proto = AN_PROTO_TCP, f.outcome = AN_OUT_FAILED, f.resp_port = 443;
        f.orig_pkts = 1;
        assert_int_equal(an_engine_ingest(e, &f, NULL), IOTSEC_OK);
    }
    an_engine_flush(e);
    assert_non_null(l.buf);
    const char *c = strstr(l.buf, "C g7 ");
    assert_non_null(c);
    assert_true(strncmp(c, "C g7 w28333334 4/8 -:0\n", 23) == 0);
    an_engine_free(e);
    free(l.buf);
}

/* The estimate as it was computed before its tables. */
static double plain_estimate(const uint8_t *regs, unsigned p)
{
    unsigned m = 1u << p, zeros = 0;
    double sum = 0;
    for (unsigned i = 0; i < m; i += 2) {
        uint8_t b = regs[i >> 1];
        sum += ldexp(1.0, -(int)(b & 15)) + ldexp(1.0, -(int)(b >> 4));
        zeros += ((b & 15) == 0) + ((b >> 4) == 0);
    }
    double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0)
        e = m * log((double)m / zeros);
    return e;
}

static void test_hll_estimate_exact(void **state)
{
    (void)state;
    uint64_t s = 11;
    static uint8_t regs[HLL_BYTES(HLL_MAX_P)];
    for (unsigned p = HLL_MIN_P; p <= 12; p++) {
        for (int round = 0; round < 400; round++) {
            memset(regs, 0, HLL_BYTES(p));
            /* From empty to saturated: the small-range branch and the plain one. */
            unsigned items = (unsigned)(rnd(&s) % (8u << p));
            for (unsigned i = 0; i < items; i++)
                hll_add(regs, p, rnd(&s));
            if (round == 0)
                memset(regs, 0xff, HLL_BYTES(p)); /* every register at its cap */
            double want = plain_estimate(regs, p), got = hll_estimate(regs, p);
            assert_memory_equal(&want, &got, sizeof(double));
        }
        /* The edge of the empty-register shortcut: z empty registers, the others at their
         * cap (the smallest sum z empty ones allow) or at 1. */
        for (unsigned top = 1; top <= 15; top += 14) {
            for (unsigned z = 0; z <= (1u << p); z++) {
                memset(regs, 0, HLL_BYTES(p));
                for (unsigned i = z; i < (1u << p); i++)
                    regs[i >> 1] |= (uint8_t)(top << (4 * (i & 1)));
                double want = plain_estimate(regs, p), got = hll_estimate(regs, p);
                assert_memory_equal(&want, &got, sizeof(double));
            }
        }
    }
}

/* Prefixes of every length, and addresses on both sides of each boundary. */
static void test_mud_network_match(void **state)
{
    (void)state;
    struct log l = {0};
    struct an_engine *e = engine(&l, false);
    struct an_mud *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    uint64_t s = 5;
    for (unsigned bits = 0; bits <= 128; bits++) {
        struct an_mud_rule *r = &m->rule[0];
        memset(m, 0, sizeof(*m));
        snprintf(m->authority, sizeof(m->authority), "maker.example");
        m->n = 1;
        r->kind = AN_MUD_NETWORK, r->from_device = 1, r->bits = (uint8_t)bits;
        r->rport_hi = r->lport_hi = 65535;
        for (int i = 0; i < 16; i++)
            r->net.b[i] = (uint8_t)rnd(&s);
        assert_int_equal(an_engine_set_mud(e, 9, m), IOTSEC_OK);
        uint32_t gi;
        assert_int_equal(an_group_get(e, 9, &gi), IOTSEC_OK);
        struct an_prefixes one = {.n = 1};
        one.net[0] = r->net;
        one.bits[0] = (uint8_t)bits;
        for (int k = 0; k < 64; k++) {
            struct an_flow f;
            memset(&f, 0, sizeof(f));
            f.proto = AN_PROTO_UDP;
            f.resp = r->net;
            /* Flip one bit, at or around the boundary, or anywhere. */
            unsigned bit =
                k < 32 ? (bits + (unsigned)k % 3 + 127) % 128 : (unsigned)(rnd(&s) % 128);
            if (k % 8 != 0)
                f.resp.b[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
            bool want = an_prefixes_contain(&one, &f.resp);
            assert_true(an_mud_permits(e, e->groups[gi].mud, 0, &f, true, 0) == want);
        }
    }
    free(m);
    an_engine_free(e);
    free(l.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_batch_equals_single_auto_bind),
        cmocka_unit_test(test_peer_histogram_per_record),
        cmocka_unit_test(test_outage_tally_in_touched_order),
        cmocka_unit_test(test_hll_estimate_exact),
        cmocka_unit_test(test_mud_network_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
