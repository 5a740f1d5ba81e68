/* Flow records as the ingestion API and `iotsecctl monitor ingest` take them: Zeek conn.log
 * (TSV or JSON lines) or dns.log, the IoT-23 CSV variant and our JSON lines (flows and DNS
 * answers), read by an_read_stream_dns (line
 * splitting, the 64 KiB line limit, the per-format parser). The first input byte picks the
 * format, the rest is the stream. Invariants: every record has the fields the engine relies
 * on (both addresses, a finite start time, enum values in range, a terminated label), and the
 * counts add up. */
#include <math.h>
#include <string.h>

#include "analytics/analytics.h"
#include "base/err.h"
#include "fuzz.h"

static int on_record(void *arg, const struct an_flow *f, const struct an_label *l)
{
    (*(uint64_t *)arg)++;
    FUZZ_CHECK(isfinite(f->ts) && isfinite(f->duration) && f->duration >= 0);
    FUZZ_CHECK(f->proto == AN_PROTO_OTHER || f->proto == AN_PROTO_ICMP ||
               f->proto == AN_PROTO_TCP || f->proto == AN_PROTO_UDP);
    FUZZ_CHECK(f->outcome <= AN_OUT_MIDSTREAM);
    FUZZ_CHECK(l == NULL || strnlen(l->detail, sizeof(l->detail)) < sizeof(l->detail));
    return 0;
}

static int on_dns(void *arg, const struct an_dns *d)
{
    (*(uint64_t *)arg)++;
    FUZZ_CHECK(isfinite(d->ts) && d->n <= AN_DNS_MAX_ANSWERS);
    FUZZ_CHECK(strnlen(d->query, sizeof(d->query)) < sizeof(d->query) && d->query[0] != '\0');
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) /* fmemopen wants at least a byte */
        return 0;
    enum an_format fmt = (enum an_format)(data[0] % 3);
    FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
    if (in == NULL)
        return 0;
    uint64_t seen = 0;
    struct an_read_stats st;
    memset(&st, 0, sizeof(st));
    int rc = an_read_stream_dns(in, fmt, on_record, on_dns, &seen, &st);
    fclose(in);
    FUZZ_CHECK(rc == IOTSEC_OK);
    FUZZ_CHECK(st.records == seen && st.records + st.bad_lines + st.skipped == st.lines);
    return 0;
}
