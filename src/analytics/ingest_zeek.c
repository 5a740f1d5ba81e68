/* Zeek conn.log, as Zeek writes it: TSV with "#" header lines (#fields names the columns),
 * or JSON lines (LogAscii::use_json) with the same names as keys. The labelled IoT-23 logs
 * are this TSV with "label" and "detailed-label" appended to the last column, separated by
 * spaces instead of tabs; that quirk is undone here so those files read too. */
#include <jansson.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

/* Splits the last field of a line further on runs of spaces (the IoT-23 quirk). */
static int split_spaced_tail(const char **start, size_t *flen, int n, int max)
{
    const char *s = start[n - 1];
    size_t len = flen[n - 1], i = 0;
    n--;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        size_t from = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i > from) {
            if (n == max)
                return -1;
            start[n] = s + from;
            flen[n] = i - from;
            n++;
        }
    }
    return n;
}

static int read_fields_header(struct an_parser *p, const char *line, size_t len)
{
    const char *start[AN_MAX_COLUMNS];
    size_t flen[AN_MAX_COLUMNS];
    int n = an_split(line, len, '\t', start, flen, AN_MAX_COLUMNS);
    if (n < 2)
        return IOTSEC_ERR_INVALID;
    p->spaced_tail = memchr(start[n - 1], ' ', flen[n - 1]) != NULL;
    if (p->spaced_tail && (n = split_spaced_tail(start, flen, n, AN_MAX_COLUMNS)) < 0)
        return IOTSEC_ERR_INVALID;
    for (int i = 0; i < F_COUNT; i++)
        p->col[i] = -1;
    if (an_dns_header(p, start + 1, flen + 1, n - 1)) {
        p->ncols = n - 1;
        p->have_header = true;
        return AN_LINE_SKIP;
    }
    for (int i = 1; i < n; i++) { /* start[0] is "#fields" */
        int f = an_field_by_name(start[i], flen[i]);
        if (f >= 0)
            p->col[f] = i - 1;
    }
    p->ncols = n - 1;
    if (p->col[F_TS] < 0 || p->col[F_ORIG_H] < 0 || p->col[F_RESP_H] < 0)
        return IOTSEC_ERR_INVALID;
    p->have_header = true;
    return AN_LINE_SKIP;
}

int an_parse_zeek_line(struct an_parser *p, const char *line, size_t len, struct an_flow *f,
                       struct an_label *l, struct an_dns *dns)
{
    if (len == 0)
        return AN_LINE_SKIP;
    if (line[0] == '{' || p->json) {
        p->json = true;
        return an_parse_zeek_json(line, len, f, l, dns);
    }
    if (line[0] == '#') {
        if (len > 8 && memcmp(line, "#fields\t", 8) == 0)
            return read_fields_header(p, line, len);
        return AN_LINE_SKIP;
    }
    if (!p->have_header)
        return IOTSEC_ERR_INVALID;
    const char *start[AN_MAX_COLUMNS];
    size_t flen[AN_MAX_COLUMNS];
    int n = an_split(line, len, '\t', start, flen, AN_MAX_COLUMNS);
    if (n > 0 && p->spaced_tail)
        n = split_spaced_tail(start, flen, n, AN_MAX_COLUMNS);
    if (n != p->ncols)
        return IOTSEC_ERR_INVALID;
    if (p->dns)
        return an_dns_from_tsv(p, start, flen, n, dns) == IOTSEC_OK ? AN_LINE_DNS
                                                                    : IOTSEC_ERR_INVALID;
    struct an_rec r;
    an_rec_start(&r, f, l);
    for (int i = 0; i < F_COUNT; i++)
        if (p->col[i] >= 0 &&
            an_rec_set(&r, (enum an_field)i, start[p->col[i]], flen[p->col[i]]) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
    return an_rec_finish(&r) == IOTSEC_OK ? AN_LINE_RECORD : IOTSEC_ERR_INVALID;
}

/* A JSON value as the text an_rec_set expects: strings as they are, numbers printed. */
static int set_json(struct an_rec *r, enum an_field f, json_t *v)
{
    char buf[48];
    int n;
    if (json_is_string(v))
        return an_rec_set(r, f, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return IOTSEC_ERR_INVALID;
        n = snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        n = snprintf(buf, sizeof(buf), "%.6f", json_real_value(v));
    } else {
        return IOTSEC_ERR_INVALID;
    }
    if (n < 0 || (size_t)n >= sizeof(buf))
        return IOTSEC_ERR_INVALID;
    return an_rec_set(r, f, buf, (size_t)n);
}

int an_parse_zeek_json(const char *line, size_t len, struct an_flow *f, struct an_label *l,
                       struct an_dns *dns)
{
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return IOTSEC_ERR_INVALID;
    }
    if (json_object_get(o, "query") != NULL) { /* a dns.log line */
        int rc = an_dns_from_zeek_json(o, dns);
        json_decref(o);
        return rc == IOTSEC_OK ? AN_LINE_DNS : rc;
    }
    struct an_rec r;
    an_rec_start(&r, f, l);
    int rc = IOTSEC_OK;
    for (int i = 0; i < F_COUNT && rc == IOTSEC_OK; i++) {
        json_t *v = json_object_get(o, an_field_name((enum an_field)i));
        if (v == NULL || json_is_null(v))
            continue;
        double t;
        if (i == F_TS && json_is_string(v)) { /* JSON::TimestampFormat=JSON::TS_ISO8601 */
            rc = an_parse_iso8601(json_string_value(v), json_string_length(v), &t);
            if (rc == IOTSEC_OK) {
                f->ts = t;
                r.seen |= 1u << F_TS;
            }
            continue;
        }
        rc = set_json(&r, (enum an_field)i, v);
    }
    json_decref(o);
    if (rc != IOTSEC_OK || an_rec_finish(&r) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    return AN_LINE_RECORD;
}
