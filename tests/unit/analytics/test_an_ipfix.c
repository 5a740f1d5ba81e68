/* The IPFIX parser (ingest_ipfix.c): messages made by libfixbuf read exactly; hand-made ones
 * for what an exporter rarely sends (withdrawals, lifetimes, caps, malformed messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/ipfix.h"
#include "base/err.h"
#include "ipfix_gen.h"

static struct an_flow out[AN_IPFIX_MAX_FLOWS * 2];

static struct an_ipfix_exporter exporter(uint8_t last, uint8_t transport)
{
    struct an_ipfix_exporter e;
    memset(&e, 0, sizeof(e));
    e.addr.b[10] = e.addr.b[11] = 0xff;
    e.addr.b[12] = 192, e.addr.b[13] = 0, e.addr.b[14] = 2, e.addr.b[15] = last;
    e.port = 4739;
    e.transport = transport;
    e.conn = transport == AN_IPFIX_TCP ? last : 0;
    return e;
}

/* Feeds a stream of messages (as a file or TCP carries them); returns the flows read. */
static size_t feed_stream(struct an_ipfix *x, const struct an_ipfix_exporter *from,
                          const uint8_t *buf, size_t len, struct an_flow *dst, size_t cap)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len;) {
        long l = an_ipfix_frame(buf + pos, len - pos);
        assert_true(l >= 16 && (size_t)l <= len - pos);
        if (cap - n < AN_IPFIX_MAX_FLOWS)
            fail_msg("output full");
        assert_int_equal(an_ipfix_message(x, from, buf + pos, (size_t)l, 1e9, dst, cap, &n),
                         IOTSEC_OK);
        pos += (size_t)l;
    }
    return n;
}

static void flows_equal(const struct an_flow *got, const struct an_flow *want)
{
    assert_memory_equal(got->orig.b, want->orig.b, 16);
    assert_memory_equal(got->resp.b, want->resp.b, 16);
    assert_int_equal(got->orig_port, want->orig_port);
    assert_int_equal(got->resp_port, want->resp_port);
    assert_int_equal(got->proto, want->proto);
    assert_int_equal(got->orig_bytes, want->orig_bytes);
    assert_int_equal(got->resp_bytes, want->resp_bytes);
    assert_int_equal(got->orig_pkts, want->orig_pkts);
    assert_int_equal(got->resp_pkts, want->resp_pkts);
    assert_int_equal(got->outcome, want->outcome);
    assert_true(got->ts == want->ts);
    assert_true(got->duration == want->duration);
}

/* Every flow libfixbuf wrote, both families, both templates, read back field for field. */
static void test_fixbuf_exact(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct ipfix_gen_flow *g = calloc(N, sizeof(*g));
    struct an_flow *got = calloc(N + AN_IPFIX_MAX_FLOWS, sizeof(*got));
    ipfix_gen_random(g, N, 7, 0.3);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ipfix_gen_stream(g, N, 42, 1700000000, &buf, &len), 0);
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(1, AN_IPFIX_TCP);
    size_t n = feed_stream(x, &e, buf, len, got, N + AN_IPFIX_MAX_FLOWS);
    assert_int_equal(n, N);
    unsigned outcomes[5] = {0}, v6 = 0;
    for (size_t i = 0; i < N; i++) {
        struct an_flow want;
        ipfix_gen_expect(&g[i], &want);
        flows_equal(&got[i], &want);
        outcomes[got[i].outcome]++;
        v6 += g[i].v6;
    }
    /* The mix the generator makes: every outcome the flags can say, both families. */
    assert_true(outcomes[AN_OUT_ESTABLISHED] > 0 && outcomes[AN_OUT_FAILED] > 0 &&
                outcomes[AN_OUT_MIDSTREAM] > 0 && outcomes[AN_OUT_NOREPLY] > 0 &&
                outcomes[AN_OUT_UNKNOWN] > 0 && v6 > 0);
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.flows, N);
    assert_int_equal(st.other_records, 1); /* the options record */
    assert_int_equal(st.templates, 4);
    assert_int_equal(st.bad_messages + st.unknown_sets + st.lost_records, 0);
    assert_int_equal(st.sessions, 1);
    an_ipfix_forget(x, &e); /* the connection closed: its templates go */
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.sessions, 0);
    an_ipfix_free(x);
    free(buf);
    free(got);
    free(g);
}

/* yaf's biflows: no tcpControlBits, the flags of the first packet and of the others in CERT's
 * elements (PEN 6871), the reverse ones numbered by libfixbuf's own RFC 5103 6.2 rule. Each
 * case turns on one of the four elements: were it skipped, the outcome would differ. */
static void test_yaf_tcp_flags(void **state)
{
    (void)state;
    static const struct {
        uint8_t i, u, ri, ru, rpkts;
        enum an_outcome want;
    } cases[] = {
        {0x02, 0x18, 0x12, 0x18, 5, AN_OUT_ESTABLISHED}, /* SYN; SYN-ACK first back */
        {0x02, 0x00, 0x02, 0x10, 1, AN_OUT_ESTABLISHED}, /* SYN and ACK back in two packets */
        {0x00, 0x02, 0x12, 0x00, 1, AN_OUT_ESTABLISHED}, /* the SYN after a stray first one */
        {0x10, 0x18, 0x10, 0x18, 4, AN_OUT_MIDSTREAM},   /* no SYN: began before the record */
        {0x02, 0x00, 0x00, 0x00, 0, AN_OUT_FAILED},      /* nothing back */
        {0x02, 0x02, 0x14, 0x00, 1, AN_OUT_FAILED},      /* reset back */
        {0x02, 0x00, 0x00, 0x14, 2, AN_OUT_FAILED},      /* reset back after a stray packet */
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct ipfix_gen_flow g[N];
    ipfix_gen_random(g, N, 11, 0);
    for (size_t i = 0; i < N; i++) {
        g[i].yaf = true;
        g[i].proto = 6;
        g[i].iflags = cases[i].i, g[i].flags = cases[i].u;
        g[i].riflags = cases[i].ri, g[i].rflags = cases[i].ru;
        g[i].rpkts = cases[i].rpkts;
        g[i].roctets = 40u * cases[i].rpkts;
    }
    uint8_t *buf;
    size_t len;
    assert_int_equal(ipfix_gen_stream(g, N, 9, 1700000000, &buf, &len), 0);
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(4, AN_IPFIX_TCP);
    struct an_flow *got = calloc(N + AN_IPFIX_MAX_FLOWS, sizeof(*got));
    assert_int_equal(feed_stream(x, &e, buf, len, got, N + AN_IPFIX_MAX_FLOWS), N);
    for (size_t i = 0; i < N; i++) {
        struct an_flow want;
        ipfix_gen_expect(&g[i], &want);
        assert_int_equal(want.outcome, cases[i].want); /* the generator's reading agrees */
        flows_equal(&got[i], &want);
    }
    an_ipfix_free(x);
    free(got);
    free(buf);
}

/* Data before its template (a collector that started late, over UDP): counted, skipped; once
 * the template comes, the same data reads. */
static void test_unknown_template(void **state)
{
    (void)state;
    struct ipfix_gen_flow g[10];
    ipfix_gen_random(g, 10, 3, 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ipfix_gen_stream(g, 10, 1, 1700000000, &buf, &len), 0);
    /* fixbuf writes templates and data in separate messages: find the data-only ones. */
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(2, AN_IPFIX_UDP);
    size_t n = 0, pos = 0, first_data = 0;
    while (pos < len) {
        long l = an_ipfix_frame(buf + pos, len - pos);
        if (buf[pos + 16] == 0 && (buf[pos + 17] == 2 || buf[pos + 17] == 3)) {
            pos += (size_t)l;
            continue; /* a template message: withheld */
        }
        if (first_data == 0)
            first_data = pos;
        assert_int_equal(an_ipfix_message(x, &e, buf + pos, (size_t)l, 100, out, 8192, &n),
                         IOTSEC_OK);
        pos += (size_t)l;
    }
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    assert_int_equal(n, 0);
    assert_true(st.unknown_sets >= 1);
    n = feed_stream(x, &e, buf, len, out, sizeof(out) / sizeof(out[0]));
    assert_int_equal(n, 10);
    an_ipfix_free(x);
    free(buf);
}

/* ---- hand-made messages ---- */

struct msg {
    uint8_t b[2048];
    size_t len, set; /* set: where the open set's header is */
};

static void put16(struct msg *m, uint16_t v)
{
    m->b[m->len++] = (uint8_t)(v >> 8);
    m->b[m->len++] = (uint8_t)v;
}

static void put32(struct msg *m, uint32_t v)
{
    put16(m, (uint16_t)(v >> 16));
    put16(m, (uint16_t)v);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->len, p, n);
    m->len += n;
}

static void begin(struct msg *m, uint32_t seq, uint32_t domain)
{
    memset(m, 0, sizeof(*m));
    put16(m, 10);
    put16(m, 0);
    put32(m, 1700000100);
    put32(m, seq);
    put32(m, domain);
}

static void set_open(struct msg *m, uint16_t id)
{
    m->set = m->len;
    put16(m, id);
    put16(m, 0);
}

static void set_close(struct msg *m)
{
    uint16_t l = (uint16_t)(m->len - m->set);
    m->b[m->set + 2] = (uint8_t)(l >> 8);
    m->b[m->set + 3] = (uint8_t)l;
}

static void end(struct msg *m)
{
    m->b[2] = (uint8_t)(m->len >> 8);
    m->b[3] = (uint8_t)m->len;
}

/* Template tid: src4, dst4, an enterprise element (PEN 9, 2 bytes), a variable-length one,
 * dport, protocol. */
static void add_template(struct msg *m, uint16_t tid)
{
    set_open(m, 2);
    put16(m, tid);
    put16(m, 6);
    put16(m, 8), put16(m, 4);
    put16(m, 12), put16(m, 4);
    put16(m, 0x8000 | 77), put16(m, 2), put32(m, 9);
    put16(m, 96), put16(m, 65535); /* applicationName, variable length */
    put16(m, 11), put16(m, 2);
    put16(m, 4), put16(m, 1);
    set_close(m);
}

static void add_record(struct msg *m, uint8_t host, size_t name_len)
{
    uint8_t src[4] = {10, 0, 0, host}, dst[4] = {198, 51, 100, 7}, name[300];
    memset(name, 'a', sizeof(name));
    put_bytes(m, src, 4);
    put_bytes(m, dst, 4);
    put16(m, 0xbeef);
    if (name_len < 255) {
        m->b[m->len++] = (uint8_t)name_len;
    } else { /* the three-byte form */
        m->b[m->len++] = 255;
        put16(m, (uint16_t)name_len);
    }
    put_bytes(m, name, name_len);
    put16(m, 443);
    m->b[m->len++] = 6;
}

static int feed(struct an_ipfix *x, const struct an_ipfix_exporter *e, struct msg *m, double now,
                size_t *n)
{
    return an_ipfix_message(x, e, m->b, m->len, now, out, sizeof(out) / sizeof(out[0]), n);
}

static void test_enterprise_and_varlen(void **state)
{
    (void)state;
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(3, AN_IPFIX_UDP);
    struct msg m;
    begin(&m, 0, 5);
    add_template(&m, 300);
    set_open(&m, 300);
    add_record(&m, 1, 0);
    add_record(&m, 2, 254);
    add_record(&m, 3, 300);
    m.b[m.len++] = 0; /* padding shorter than a record */
    set_close(&m);
    end(&m);
    size_t n = 0;
    assert_int_equal(feed(x, &e, &m, 100, &n), IOTSEC_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].orig.b[15], i + 1);
        assert_int_equal(out[i].resp_port, 443);
        assert_int_equal(out[i].proto, AN_PROTO_TCP);
        assert_true(out[i].ts == 1700000100.0); /* no start time: the export time */
    }
    an_ipfix_free(x);
}

static void test_malformed(void **state)
{
    (void)state;
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(4, AN_IPFIX_TCP);
    struct msg m;
    size_t n = 0;
    begin(&m, 0, 5);
    add_template(&m, 300);
    end(&m);
    assert_int_equal(feed(x, &e, &m, 0, &n), IOTSEC_OK);

    struct msg bad[6];
    /* 0: version 9 */
    begin(&bad[0], 0, 5), end(&bad[0]), bad[0].b[1] = 9;
    /* 1: length field larger than the message */
    begin(&bad[1], 0, 5), end(&bad[1]), bad[1].b[3] = 40;
    /* 2: a set running past the message */
    begin(&bad[2], 0, 5), set_open(&bad[2], 300), put32(&bad[2], 0), set_close(&bad[2]);
    bad[2].b[bad[2].set + 3] = 200, end(&bad[2]);
    /* 3: a template record cut in its field list */
    begin(&bad[3], 0, 5), set_open(&bad[3], 2), put16(&bad[3], 301), put16(&bad[3], 3);
    put16(&bad[3], 8), put16(&bad[3], 4), set_close(&bad[3]), end(&bad[3]);
    /* 4: a variable-length field longer than its set, after a good record */
    begin(&bad[4], 0, 5), set_open(&bad[4], 300), add_record(&bad[4], 1, 3);
    add_record(&bad[4], 2, 40);
    bad[4].len -= 30, set_close(&bad[4]), end(&bad[4]);
    /* 5: an options template whose scope count exceeds its fields */
    begin(&bad[5], 0, 5), set_open(&bad[5], 3), put16(&bad[5], 302), put16(&bad[5], 1);
    put16(&bad[5], 2), put16(&bad[5], 149), put16(&bad[5], 4), set_close(&bad[5]);
    end(&bad[5]);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(feed(x, &e, &bad[i], 0, &n), IOTSEC_ERR_INVALID);
        assert_int_equal(n, 0); /* not even the good record before the bad one */
    }
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.bad_messages, 6);
    assert_int_equal(st.messages, 1);
    assert_int_equal(st.templates, 1); /* 301, 302 never taken */
    /* A length below the header's: cannot frame a stream. */
    uint8_t hdr[4] = {0, 10, 0, 15};
    assert_int_equal(an_ipfix_frame(hdr, 4), -1);
    assert_int_equal(an_ipfix_frame(hdr, 3), 0);
    an_ipfix_free(x);
}

static void test_withdrawal_and_lifetime(void **state)
{
    (void)state;
    struct an_ipfix_limits lim = {.template_lifetime_s = 60};
    struct an_ipfix *x = an_ipfix_new(&lim);
    struct an_ipfix_exporter tcp = exporter(5, AN_IPFIX_TCP), udp = exporter(5, AN_IPFIX_UDP);
    struct msg def, data, wd;
    begin(&def, 0, 1), add_template(&def, 300), end(&def);
    begin(&data, 0, 1), set_open(&data, 300), add_record(&data, 9, 1), set_close(&data);
    end(&data);
    begin(&wd, 0, 1), set_open(&wd, 2), put16(&wd, 300), put16(&wd, 0), set_close(&wd);
    end(&wd);
    size_t n = 0;
    struct an_ipfix_stats st;
    /* TCP: withdrawn means gone; the lifetime does not apply. */
    assert_int_equal(feed(x, &tcp, &def, 0, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &tcp, &data, 1e6, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(feed(x, &tcp, &wd, 1e6, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &tcp, &data, 1e6, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.withdrawals, 1);
    assert_int_equal(st.unknown_sets, 1);
    /* UDP: a withdrawal is ignored (RFC 7011 8.4), the lifetime rules. */
    n = 0;
    assert_int_equal(feed(x, &udp, &def, 0, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &udp, &wd, 10, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &udp, &data, 59, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(feed(x, &udp, &data, 61, &n), IOTSEC_OK);
    assert_int_equal(n, 1);
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.withdrawals_ignored, 1);
    assert_int_equal(st.templates_expired, 1);
    assert_int_equal(st.unknown_sets, 2);
    /* Sent again, it lives again. */
    assert_int_equal(feed(x, &udp, &def, 100, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &udp, &data, 150, &n), IOTSEC_OK);
    assert_int_equal(n, 2);
    an_ipfix_free(x);
}

static void test_caps(void **state)
{
    (void)state;
    struct an_ipfix_limits lim = {.max_sessions = 2, .max_templates = 4};
    struct an_ipfix *x = an_ipfix_new(&lim);
    struct msg m;
    size_t n = 0;
    begin(&m, 0, 1);
    for (uint16_t t = 300; t < 310; t++)
        add_template(&m, t);
    end(&m);
    struct an_ipfix_exporter a = exporter(6, AN_IPFIX_TCP), b = exporter(7, AN_IPFIX_TCP),
                             c = exporter(8, AN_IPFIX_TCP);
    assert_int_equal(feed(x, &a, &m, 0, &n), IOTSEC_OK);
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.templates, 4);
    assert_int_equal(st.templates_refused, 6);
    /* A template of more fields than we hold is refused, and its old meaning goes. */
    struct msg big;
    begin(&big, 0, 1), set_open(&big, 2), put16(&big, 300), put16(&big, AN_IPFIX_MAX_FIELDS + 1);
    for (int i = 0; i <= AN_IPFIX_MAX_FIELDS; i++)
        put16(&big, 210), put16(&big, 1);
    set_close(&big), end(&big);
    assert_int_equal(feed(x, &a, &big, 0, &n), IOTSEC_OK);
    struct msg data;
    begin(&data, 0, 1), set_open(&data, 300), add_record(&data, 1, 1), set_close(&data);
    end(&data);
    assert_int_equal(feed(x, &a, &data, 0, &n), IOTSEC_OK);
    assert_int_equal(n, 0);
    /* Sessions: a third exporter is refused while two are held (TCP: no lifetime). */
    assert_int_equal(feed(x, &b, &m, 0, &n), IOTSEC_OK);
    assert_int_equal(feed(x, &c, &m, 0, &n), IOTSEC_ERR_BUSY);
    an_ipfix_forget(x, &b);
    assert_int_equal(feed(x, &c, &m, 0, &n), IOTSEC_OK);
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.sessions_refused, 1);
    assert_int_equal(st.sessions, 2);
    /* Domains are sessions of their own: template 300 of domain 1 is not domain 2's. */
    begin(&data, 0, 2), set_open(&data, 301), add_record(&data, 1, 1), set_close(&data);
    end(&data);
    assert_int_equal(feed(x, &c, &data, 0, &n), IOTSEC_ERR_BUSY);
    an_ipfix_free(x);
}

static void test_sequence_gap(void **state)
{
    (void)state;
    struct an_ipfix *x = an_ipfix_new(NULL);
    struct an_ipfix_exporter e = exporter(9, AN_IPFIX_UDP);
    struct msg m;
    size_t n = 0;
    begin(&m, 0, 1), add_template(&m, 300), end(&m);
    assert_int_equal(feed(x, &e, &m, 0, &n), IOTSEC_OK);
    uint32_t seqs[] = {0, 2, 10}; /* 2 records each: 0-1, 2-3, then 4..9 lost */
    for (int i = 0; i < 3; i++) {
        begin(&m, seqs[i], 1), set_open(&m, 300), add_record(&m, 1, 1), add_record(&m, 2, 1);
        set_close(&m), end(&m);
        assert_int_equal(feed(x, &e, &m, 0, &n), IOTSEC_OK);
    }
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    assert_int_equal(st.lost_records, 6);
    assert_int_equal(n, 6);
    an_ipfix_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixbuf_exact),  cmocka_unit_test(test_unknown_template),
        cmocka_unit_test(test_yaf_tcp_flags), cmocka_unit_test(test_enterprise_and_varlen),
        cmocka_unit_test(test_malformed),     cmocka_unit_test(test_withdrawal_and_lifetime),
        cmocka_unit_test(test_caps),          cmocka_unit_test(test_sequence_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
