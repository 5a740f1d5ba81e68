/* Reading records: the format dispatch and the line reader every input path shares. A bad
 * line is counted and skipped, never fatal: one corrupt record must not stop the rest. */
#include <stdlib.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

#define MAX_LINE 65536

int an_format_parse(const char *name, enum an_format *out)
{
    static const char *const names[] = {"zeek", "iot23", "jsonl"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum an_format)i;
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_INVALID;
}

void an_parser_init(struct an_parser *p, enum an_format format)
{
    memset(p, 0, sizeof(*p));
    p->format = format;
    for (size_t i = 0; i < sizeof(p->col) / sizeof(p->col[0]); i++)
        p->col[i] = -1;
}

int an_parse_record(struct an_parser *p, const char *line, size_t len, struct an_flow *flow,
                    struct an_label *label, struct an_dns *dns)
{
    if (line == NULL || flow == NULL)
        return IOTSEC_ERR_INVALID;
    struct an_dns scratch;
    int rc = IOTSEC_ERR_INVALID;
    switch (p->format) {
    case AN_FMT_ZEEK:
        rc = an_parse_zeek_line(p, line, len, flow, label, dns ? dns : &scratch);
        break;
    case AN_FMT_IOT23:
        rc = an_parse_iot23_line(p, line, len, flow, label);
        break;
    case AN_FMT_JSONL:
        rc = an_parse_jsonl_line(line, len, flow, label, dns ? dns : &scratch);
        break;
    }
    return rc == AN_LINE_DNS && dns == NULL ? AN_LINE_SKIP : rc;
}

int an_parse_line(struct an_parser *p, const char *line, size_t len, struct an_flow *flow,
                  struct an_label *label)
{
    return an_parse_record(p, line, len, flow, label, NULL);
}

/* Reads one line into buf (cap bytes) without its newline. A longer line is consumed to its
 * end and reported as too long, so memory stays bounded whatever the input. Returns the
 * length, -1 at end of input, or -2 for a line that was too long. */
static long read_line(FILE *in, char *buf, size_t cap)
{
    if (fgets(buf, (int)cap, in) == NULL)
        return -1;
    size_t len = strlen(buf); /* an embedded NUL shortens the line: it then fails to parse */
    if (len > 0 && buf[len - 1] == '\n')
        return (long)len - 1;
    if (feof(in) || len + 1 < cap)
        return (long)len;
    int c;
    while ((c = getc(in)) != EOF && c != '\n')
        ;
    return -2;
}

int an_read_stream(FILE *in, enum an_format fmt, an_record_fn fn, void *arg,
                   struct an_read_stats *st)
{
    return an_read_stream_dns(in, fmt, fn, NULL, arg, st);
}

int an_read_stream_dns(FILE *in, enum an_format fmt, an_record_fn fn, an_dns_fn dns_fn, void *arg,
                       struct an_read_stats *st)
{
    struct an_parser p;
    an_parser_init(&p, fmt);
    memset(st, 0, sizeof(*st));
    char *line = malloc(MAX_LINE + 2);
    struct an_dns *dns = dns_fn ? malloc(sizeof(*dns)) : NULL;
    if (line == NULL || (dns_fn && dns == NULL)) {
        free(line);
        free(dns);
        return IOTSEC_ERR_NOMEM;
    }
    long n;
    int rc = IOTSEC_OK;
    while (rc == IOTSEC_OK && (n = read_line(in, line, MAX_LINE + 2)) != -1) {
        st->lines++;
        struct an_flow f;
        struct an_label l;
        int r = n < 0 ? IOTSEC_ERR_INVALID : an_parse_record(&p, line, (size_t)n, &f, &l, dns);
        if (r == AN_LINE_RECORD) {
            st->records++;
            rc = fn(arg, &f, &l);
        } else if (r == AN_LINE_DNS) {
            st->records++;
            rc = dns_fn(arg, dns);
        } else if (r == AN_LINE_SKIP) {
            st->skipped++;
        } else {
            st->bad_lines++;
            if (st->first_bad_line == 0)
                st->first_bad_line = st->lines;
        }
    }
    if (rc == IOTSEC_OK && ferror(in))
        rc = IOTSEC_ERR_IO;
    free(line);
    free(dns);
    return rc;
}
