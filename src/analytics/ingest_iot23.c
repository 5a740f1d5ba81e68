/* The IoT-23 CSV variant (aucad/sensor-data): Zeek conn.log columns plus "label" and
 * "detailed-label", comma-separated, a header line first, missing values empty. No field
 * of conn.log contains a comma, so there is no quoting to undo. */
#include <string.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

static int read_header(struct an_parser *p, const char **start, const size_t *flen, int n)
{
    for (int i = 0; i < F_COUNT; i++)
        p->col[i] = -1;
    for (int i = 0; i < n; i++) {
        int f = an_field_by_name(start[i], flen[i]);
        if (f >= 0)
            p->col[f] = i;
    }
    if (p->col[F_TS] < 0 || p->col[F_ORIG_H] < 0 || p->col[F_RESP_H] < 0)
        return IOTSEC_ERR_INVALID; /* a data line before any header */
    p->ncols = n;
    p->have_header = true;
    return AN_LINE_SKIP;
}

int an_parse_iot23_line(struct an_parser *p, const char *line, size_t len, struct an_flow *f,
                        struct an_label *l)
{
    if (len > 0 && line[len - 1] == '\r') /* files that went through Windows */
        len--;
    if (len == 0)
        return AN_LINE_SKIP;
    const char *start[AN_MAX_COLUMNS];
    size_t flen[AN_MAX_COLUMNS];
    int n = an_split(line, len, ',', start, flen, AN_MAX_COLUMNS);
    if (n < 0)
        return IOTSEC_ERR_INVALID;
    if (!p->have_header)
        return read_header(p, start, flen, n);
    if (n != p->ncols)
        return IOTSEC_ERR_INVALID;
    struct an_rec r;
    an_rec_start(&r, f, l);
    for (int i = 0; i < F_COUNT; i++)
        if (p->col[i] >= 0 &&
            an_rec_set(&r, (enum an_field)i, start[p->col[i]], flen[p->col[i]]) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
    return an_rec_finish(&r) == IOTSEC_OK ? AN_LINE_RECORD : IOTSEC_ERR_INVALID;
}
