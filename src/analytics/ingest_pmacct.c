/* pmacct's JSON records (its kafka/print plugins with `*_output: json`), as a collector chain
 * (router/UPF -> nfacctd -> Kafka) publishes them: one object per message, e.g.
 *   {"event_type":"purge","ip_src":"10.1.2.3","ip_dst":"198.51.100.7","port_src":40000,
 *    "port_dst":443,"ip_proto":"tcp","tcp_flags":"2","timestamp_start":"2023-11-14
 * 22:13:20.250000", "timestamp_end":"2023-11-14 22:13:21.000000","packets":3,"bytes":180} ip_src
 * and ip_dst are required; timestamp_start, else timestamp_end, else timestamp_arrival gives the
 * time. Timestamps: epoch seconds ("timestamps_since_epoch: true"), RFC 3339 ("timestamps_rfc3339:
 * true"), or pmacct's default "YYYY-MM-DD HH:MM:SS[.frac]" read as UTC (set "timestamps_utc: true"
 * on the pmacct side). ip_proto: a name or a number (as a string or a JSON number). Records of
 * other events (purge_init, purge_close) are skipped. A pmacct record is one direction: bytes and
 * packets are the originator's; the opening's outcome comes from tcp_flags (an_outcome_uniflow). */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

static int get_time_any(json_t *v, double *out);

/* A time within what the engine's clock takes (as the JSON record: before year 5138). */
static int get_time(json_t *v, double *out)
{
    int rc = get_time_any(v, out);
    return rc == IOTSEC_OK && !(*out >= 0 && *out <= 1e11) ? IOTSEC_ERR_INVALID : rc;
}

static int get_time_any(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out) && *out >= 0 && *out <= 1e11 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    }
    if (!json_is_string(v))
        return IOTSEC_ERR_INVALID;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= 19 && s[4] == '-' && (s[10] == ' ' || s[10] == 'T')) {
        char iso[48]; /* "YYYY-MM-DD HH:MM:SS[.frac]" -> "YYYY-MM-DDTHH:MM:SS[.frac]Z" */
        if (len + 2 > sizeof(iso))
            return IOTSEC_ERR_INVALID;
        memcpy(iso, s, len);
        iso[10] = 'T';
        if (iso[len - 1] != 'Z')
            iso[len++] = 'Z';
        return an_parse_iso8601(iso, len, out);
    }
    return an_parse_double(s, len, 1e11, out);
}

static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return IOTSEC_OK;
    if (json_is_string(v)) /* some pmacct primitives are printed as strings */
        return an_parse_u64(json_string_value(v), json_string_length(v), max, out);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return IOTSEC_ERR_INVALID;
    *out = (uint64_t)json_integer_value(v);
    return IOTSEC_OK;
}

static int get_addr(json_t *o, const char *key, struct an_addr *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return IOTSEC_ERR_INVALID;
    return an_addr_parse(json_string_value(v), json_string_length(v), out);
}

static int get_proto(json_t *o, uint8_t *out)
{
    json_t *v = json_object_get(o, "ip_proto");
    uint64_t n = 0;
    if (v == NULL || json_is_null(v))
        return IOTSEC_OK;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "tcp") || !strcmp(s, "udp") || !strcmp(s, "icmp") ||
            !strcmp(s, "ipv6-icmp")) {
            *out = s[0] == 't' ? AN_PROTO_TCP : s[0] == 'u' ? AN_PROTO_UDP : AN_PROTO_ICMP;
            return IOTSEC_OK;
        }
        if (an_parse_u64(s, json_string_length(v), 255, &n) != IOTSEC_OK) {
            *out = AN_PROTO_OTHER; /* another protocol's name ("gre", "esp") */
            return IOTSEC_OK;
        }
    } else if (get_u64(o, "ip_proto", 255, &n) != IOTSEC_OK) {
        return IOTSEC_ERR_INVALID;
    }
    *out = n == 6 || n == 17 || n == 1 ? (uint8_t)n : n == 58 ? AN_PROTO_ICMP : AN_PROTO_OTHER;
    return IOTSEC_OK;
}

int an_parse_pmacct_json(const char *line, size_t len, struct an_flow *f)
{
    memset(f, 0, sizeof(*f));
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return IOTSEC_ERR_INVALID;
    }
    json_t *ev = json_object_get(o, "event_type");
    if (ev && (!json_is_string(ev) || strcmp(json_string_value(ev), "purge") != 0)) {
        json_decref(o);
        return AN_LINE_SKIP; /* purge_init, purge_close: bookkeeping, not flows */
    }
    uint64_t sport = 0, dport = 0, flags = 0;
    double end = -1;
    json_t *ts = json_object_get(o, "timestamp_start"), *te = json_object_get(o, "timestamp_end");
    if (ts == NULL)
        ts = te ? te : json_object_get(o, "timestamp_arrival");
    int rc = IOTSEC_OK;
    if (get_addr(o, "ip_src", &f->orig) || get_addr(o, "ip_dst", &f->resp) ||
        get_u64(o, "port_src", 65535, &sport) || get_u64(o, "port_dst", 65535, &dport) ||
        get_proto(o, &f->proto) || get_u64(o, "packets", 1ull << 53, &f->orig_pkts) ||
        get_u64(o, "bytes", 1ull << 53, &f->orig_bytes) ||
        get_u64(o, "tcp_flags", 0xffff, &flags) || ts == NULL || get_time(ts, &f->ts) ||
        (te && get_time(te, &end)))
        rc = IOTSEC_ERR_INVALID;
    bool have_flags = json_object_get(o, "tcp_flags") != NULL;
    json_decref(o);
    if (rc != IOTSEC_OK)
        return rc;
    f->orig_port = (uint16_t)sport;
    f->resp_port = (uint16_t)dport;
    f->duration = end > f->ts ? end - f->ts : 0;
    if (f->proto == AN_PROTO_TCP && have_flags)
        f->outcome = an_outcome_uniflow((uint16_t)flags);
    return AN_LINE_RECORD;
}
