/* IPFIX messages as the collector takes them from UDP datagrams and TCP streams, and pmacct's
 * JSON records as the Kafka consumer takes them. The first byte picks the input: bit 0 the
 * transport (UDP: each 1024-byte chunk is a datagram; TCP: the stream framed by the messages'
 * lengths, cut at the first unframeable header, as the collector closes such a connection),
 * bit 1 pmacct (the rest is one record). One parser with small caps (2 sessions, 4 templates,
 * a 60 s lifetime whose clock the input's chunks advance) so that the caps, the lifetime and
 * the refusals are reached. Invariants: every flow has finite, in-range times and enum values;
 * the flows delivered add up to the parser's count; sessions never exceed the cap; a refused
 * message delivers nothing. */
#include <math.h>
#include <string.h>

#include "analytics/ipfix.h"
#include "base/err.h"
#include "fuzz.h"

static struct an_flow out[AN_IPFIX_MAX_FLOWS];

static void check_flow(const struct an_flow *f)
{
    FUZZ_CHECK(isfinite(f->ts) && f->ts >= 0 && f->ts <= 1e11);
    FUZZ_CHECK(isfinite(f->duration) && f->duration >= 0);
    FUZZ_CHECK(f->proto == AN_PROTO_OTHER || f->proto == AN_PROTO_ICMP ||
               f->proto == AN_PROTO_TCP || f->proto == AN_PROTO_UDP);
    FUZZ_CHECK(f->outcome <= AN_OUT_MIDSTREAM);
}

static void one(struct an_ipfix *x, const struct an_ipfix_exporter *e, const uint8_t *m, size_t len,
                double now, uint64_t *total)
{
    size_t n = 0;
    int rc = an_ipfix_message(x, e, m, len, now, out, AN_IPFIX_MAX_FLOWS, &n);
    FUZZ_CHECK(rc == IOTSEC_OK || rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_BUSY);
    FUZZ_CHECK(rc == IOTSEC_OK || n == 0);
    for (size_t i = 0; i < n; i++)
        check_flow(&out[i]);
    *total += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 2) {
        struct an_flow f;
        int rc = an_parse_pmacct_json((const char *)data + 1, size - 1, &f);
        FUZZ_CHECK(rc == AN_LINE_RECORD || rc == AN_LINE_SKIP || rc == IOTSEC_ERR_INVALID);
        if (rc == AN_LINE_RECORD)
            check_flow(&f);
        return 0;
    }
    struct an_ipfix_limits lim = {.max_sessions = 2, .max_templates = 4, .template_lifetime_s = 60};
    struct an_ipfix *x = an_ipfix_new(&lim);
    if (x == NULL)
        return 0;
    struct an_ipfix_exporter e;
    memset(&e, 0, sizeof(e));
    e.transport = (data[0] & 1) ? AN_IPFIX_TCP : AN_IPFIX_UDP;
    uint64_t total = 0;
    double now = 1e9;
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    while (left > 0) {
        size_t len;
        if (e.transport == AN_IPFIX_TCP) {
            long l = an_ipfix_frame(p, left);
            if (l <= 0 || (size_t)l > left)
                break; /* unframeable, or a message cut short: the connection ends */
            len = (size_t)l;
        } else {
            len = left < 1024 ? left : 1024;
            e.port++; /* datagrams from several exporters: the session cap is reached */
            e.port %= 3;
        }
        one(x, &e, p, len, now, &total);
        now += 25; /* templates expire after three chunks */
        p += len;
        left -= len;
    }
    struct an_ipfix_stats st;
    an_ipfix_get_stats(x, &st);
    FUZZ_CHECK(st.flows == total);
    FUZZ_CHECK(st.sessions <= lim.max_sessions);
    if (e.transport == AN_IPFIX_TCP) {
        an_ipfix_forget(x, &e);
        an_ipfix_get_stats(x, &st);
        FUZZ_CHECK(st.sessions == 0);
    }
    an_ipfix_free(x);
    return 0;
}
