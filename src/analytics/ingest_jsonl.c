/* Our own flow record: one JSON object per line, the shape a UPF exporter or a script can
 * write without knowing Zeek (docs/analytics.md):
 *   {"ts":1700000000.25,"duration":0.5,"src":"10.1.2.3","sport":40000,
 *    "dst":"198.51.100.7","dport":443,"proto":"tcp","out_bytes":120,"in_bytes":4000,
 *    "out_pkts":3,"in_pkts":4,"outcome":"established"}
 * ts, src and dst are required; unknown keys are ignored (newer exporters); "label" and
 * "detail" are read for the evaluation only. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

static int get_u64(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return IOTSEC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return IOTSEC_ERR_INVALID;
    *out = (uint64_t)json_integer_value(v);
    return IOTSEC_OK;
}

static int get_seconds(json_t *o, const char *key, double max, bool required, double *out)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return required ? IOTSEC_ERR_INVALID : IOTSEC_OK;
    if (json_is_string(v) && strcmp(key, "ts") == 0)
        return an_parse_iso8601(json_string_value(v), json_string_length(v), out);
    if (!json_is_number(v))
        return IOTSEC_ERR_INVALID;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > max)
        return IOTSEC_ERR_INVALID;
    *out = d;
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
    json_t *v = json_object_get(o, "proto");
    if (v == NULL || json_is_null(v))
        return IOTSEC_OK;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > 255)
            return IOTSEC_ERR_INVALID;
        *out = (n == 6 || n == 17 || n == 1) ? (uint8_t)n : AN_PROTO_OTHER;
        return IOTSEC_OK;
    }
    if (!json_is_string(v))
        return IOTSEC_ERR_INVALID;
    const char *s = json_string_value(v);
    *out = !strcmp(s, "tcp")    ? AN_PROTO_TCP
           : !strcmp(s, "udp")  ? AN_PROTO_UDP
           : !strcmp(s, "icmp") ? AN_PROTO_ICMP
                                : AN_PROTO_OTHER;
    return IOTSEC_OK;
}

static int get_outcome(json_t *o, uint8_t *out)
{
    static const char *const names[] = {"unknown", "established", "failed", "noreply", "midstream"};
    json_t *v = json_object_get(o, "outcome");
    if (v == NULL || json_is_null(v))
        return IOTSEC_OK;
    if (!json_is_string(v))
        return IOTSEC_ERR_INVALID;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *out = (uint8_t)i;
            return IOTSEC_OK;
        }
    if (strcmp(json_string_value(v), "rejected") == 0) { /* refused is failed too */
        *out = AN_OUT_FAILED;
        return IOTSEC_OK;
    }
    return IOTSEC_ERR_INVALID;
}

static int get_label(json_t *o, struct an_label *l)
{
    json_t *v = json_object_get(o, "label"), *d = json_object_get(o, "detail");
    if (l == NULL || v == NULL)
        return IOTSEC_OK;
    if (!json_is_string(v))
        return IOTSEC_ERR_INVALID;
    l->present = true;
    if (!strcasecmp(json_string_value(v), "malicious"))
        l->malicious = true;
    else if (strcasecmp(json_string_value(v), "benign"))
        return IOTSEC_ERR_INVALID;
    if (json_is_string(d) && json_string_length(d) < sizeof(l->detail))
        memcpy(l->detail, json_string_value(d), json_string_length(d) + 1);
    for (char *c = l->detail; *c; c++)
        if (*c < 0x21 || *c > 0x7e)
            *c = '?';
    return IOTSEC_OK;
}

int an_parse_jsonl_line(const char *line, size_t len, struct an_flow *f, struct an_label *l,
                        struct an_dns *dns)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return AN_LINE_SKIP;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    memset(f, 0, sizeof(*f));
    if (l)
        memset(l, 0, sizeof(*l));
    uint64_t sport = 0, dport = 0;
    int rc = json_is_object(o) ? IOTSEC_OK : IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK && json_object_get(o, "dns") != NULL) {
        rc = an_dns_from_ours(o, dns);
        json_decref(o);
        return rc == IOTSEC_OK ? AN_LINE_DNS : rc;
    }
    if (rc == IOTSEC_OK &&
        (get_seconds(o, "ts", 1e11, true, &f->ts) ||
         get_seconds(o, "duration", 1e9, false, &f->duration) || get_addr(o, "src", &f->orig) ||
         get_addr(o, "dst", &f->resp) || get_u64(o, "sport", 65535, &sport) ||
         get_u64(o, "dport", 65535, &dport) || get_proto(o, &f->proto) ||
         get_outcome(o, &f->outcome) || get_u64(o, "out_bytes", 1ull << 53, &f->orig_bytes) ||
         get_u64(o, "in_bytes", 1ull << 53, &f->resp_bytes) ||
         get_u64(o, "out_pkts", 1ull << 53, &f->orig_pkts) ||
         get_u64(o, "in_pkts", 1ull << 53, &f->resp_pkts) || get_label(o, l)))
        rc = IOTSEC_ERR_INVALID;
    json_decref(o);
    f->orig_port = (uint16_t)sport;
    f->resp_port = (uint16_t)dport;
    return rc == IOTSEC_OK ? AN_LINE_RECORD : rc;
}
