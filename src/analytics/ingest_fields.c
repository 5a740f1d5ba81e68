/* The fields every format shares: strict number parsing (a bad number fails the line, it is
 * never clamped or guessed), addresses, and how a connection's opening went. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/ingest_int.h"
#include "base/err.h"

static const char *const field_names[F_COUNT] = {
    "ts",      "id.orig_h", "id.orig_p",  "id.resp_h",  "id.resp_p",
    "proto",   "duration",  "orig_bytes", "resp_bytes", "conn_state",
    "history", "orig_pkts", "resp_pkts",  "label",      "detailed-label",
};

const char *an_field_name(enum an_field f)
{
    return f < F_COUNT ? field_names[f] : "";
}

int an_field_by_name(const char *name, size_t len)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0)
            return i;
    return -1;
}

int an_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20)
        return IOTSEC_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return IOTSEC_ERR_INVALID;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return IOTSEC_ERR_INVALID;
        v = v * 10 + d;
    }
    if (v > max)
        return IOTSEC_ERR_INVALID;
    *out = v;
    return IOTSEC_OK;
}

int an_parse_double(const char *s, size_t len, double max, double *out)
{
    char buf[40];
    if (len == 0 || len >= sizeof(buf))
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < len; i++) /* decimal only: no "inf", "nan", hex floats */
        if (!isdigit((unsigned char)s[i]) && s[i] != '.' && s[i] != 'e' && s[i] != 'E' &&
            s[i] != '-' && s[i] != '+')
            return IOTSEC_ERR_INVALID;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v) || v < 0 || v > max)
        return IOTSEC_ERR_INVALID;
    *out = v;
    return IOTSEC_OK;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int an_parse_iso8601(const char *s, size_t len, double *out)
{
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[len - 1] != 'Z')
        return IOTSEC_ERR_INVALID;
    struct tm tm = {0};
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2),
        mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return IOTSEC_ERR_INVALID;
    double frac = 0;
    if (len > 20) {
        if (s[19] != '.' || len - 21 > 9 || an_parse_double(s + 19, len - 20, 1, &frac))
            return IOTSEC_ERR_INVALID;
        if (len == 21) /* "...:SS.Z" */
            return IOTSEC_ERR_INVALID;
    }
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return IOTSEC_ERR_INVALID;
    *out = (double)t + frac;
    return IOTSEC_OK;
}

void an_rec_start(struct an_rec *r, struct an_flow *flow, struct an_label *label)
{
    memset(flow, 0, sizeof(*flow));
    if (label)
        memset(label, 0, sizeof(*label));
    r->flow = flow;
    r->label = label;
    r->state[0] = r->history[0] = '\0';
    r->seen = 0;
}

static uint8_t proto_of(const char *v, size_t len)
{
    if (len == 3 && memcmp(v, "tcp", 3) == 0)
        return AN_PROTO_TCP;
    if (len == 3 && memcmp(v, "udp", 3) == 0)
        return AN_PROTO_UDP;
    if (len == 4 && memcmp(v, "icmp", 4) == 0)
        return AN_PROTO_ICMP;
    return AN_PROTO_OTHER;
}

static int set_text(char *dst, size_t cap, const char *v, size_t len)
{
    if (len >= cap)
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x21 || v[i] > 0x7e) /* printable ASCII only: it ends up in JSON */
            return IOTSEC_ERR_INVALID;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return IOTSEC_OK;
}

static int set_label(struct an_label *l, const char *v, size_t len)
{
    if (len == 6 && strncasecmp(v, "benign", 6) == 0) {
        l->present = true;
        l->malicious = false;
        return IOTSEC_OK;
    }
    if (len == 9 && strncasecmp(v, "malicious", 9) == 0) {
        l->present = true;
        l->malicious = true;
        return IOTSEC_OK;
    }
    return IOTSEC_ERR_INVALID;
}

static bool unset(const char *v, size_t len)
{
    return len == 0 || (len == 1 && v[0] == '-') || (len == 7 && memcmp(v, "(empty)", 7) == 0);
}

int an_rec_set(struct an_rec *r, enum an_field f, const char *v, size_t len)
{
    struct an_flow *fl = r->flow;
    uint64_t u;
    int rc = IOTSEC_OK;
    if (unset(v, len))
        return IOTSEC_OK;
    r->seen |= 1u << f;
    switch (f) {
    case F_TS:
        rc = an_parse_double(v, len, 1e11, &fl->ts);
        break;
    case F_ORIG_H:
        return an_addr_parse(v, len, &fl->orig);
    case F_RESP_H:
        return an_addr_parse(v, len, &fl->resp);
    case F_ORIG_P:
    case F_RESP_P:
        if ((rc = an_parse_u64(v, len, 65535, &u)) == IOTSEC_OK)
            *(f == F_ORIG_P ? &fl->orig_port : &fl->resp_port) = (uint16_t)u;
        break;
    case F_PROTO:
        fl->proto = proto_of(v, len);
        break;
    case F_DURATION:
        rc = an_parse_double(v, len, 1e9, &fl->duration);
        break;
    case F_ORIG_BYTES: /* counters: at most 2^53, so that they stay exact as doubles */
        rc = an_parse_u64(v, len, 1ull << 53, &fl->orig_bytes);
        break;
    case F_RESP_BYTES:
        rc = an_parse_u64(v, len, 1ull << 53, &fl->resp_bytes);
        break;
    case F_ORIG_PKTS:
        rc = an_parse_u64(v, len, 1ull << 53, &fl->orig_pkts);
        break;
    case F_RESP_PKTS:
        rc = an_parse_u64(v, len, 1ull << 53, &fl->resp_pkts);
        break;
    case F_CONN_STATE:
        return set_text(r->state, sizeof(r->state), v, len);
    case F_HISTORY:
        return set_text(r->history, sizeof(r->history), v, len);
    case F_LABEL:
        return r->label ? set_label(r->label, v, len) : IOTSEC_OK;
    case F_DETAIL:
        return r->label ? set_text(r->label->detail, sizeof(r->label->detail), v, len) : IOTSEC_OK;
    default:
        break;
    }
    return rc;
}

/* TCP: Zeek's history says what happened to the opening: 'S' the originator's SYN, 'h' the
 * responder's SYN-ACK. A SYN with no SYN-ACK failed (S0, REJ, RSTOS0); a record without
 * the SYN started mid-connection (common for long flows) and says nothing. Without a
 * history, the conn_state decides; SH is ambiguous (a mid-stream FIN looks the same), so it
 * stays unknown. */
static enum an_outcome tcp_outcome(const char *history, const char *state)
{
    if (history[0]) {
        if (strchr(history, 'S') == NULL)
            return AN_OUT_MIDSTREAM;
        return strchr(history, 'h') ? AN_OUT_ESTABLISHED : AN_OUT_FAILED;
    }
    if (!strcmp(state, "S0") || !strcmp(state, "REJ") || !strcmp(state, "RSTOS0"))
        return AN_OUT_FAILED;
    if (!strcmp(state, "SF") || !strcmp(state, "S1") || !strcmp(state, "S2") ||
        !strcmp(state, "S3") || !strcmp(state, "RSTO") || !strcmp(state, "RSTR"))
        return AN_OUT_ESTABLISHED;
    return AN_OUT_UNKNOWN;
}

int an_rec_finish(struct an_rec *r)
{
    unsigned need = 1u << F_TS | 1u << F_ORIG_H | 1u << F_RESP_H;
    if ((r->seen & need) != need)
        return IOTSEC_ERR_INVALID;
    struct an_flow *f = r->flow;
    if (f->proto == AN_PROTO_TCP)
        f->outcome = (uint8_t)tcp_outcome(r->history, r->state);
    else if (f->resp_pkts > 0 || f->resp_bytes > 0)
        f->outcome = AN_OUT_ESTABLISHED;
    else if (r->state[0] || r->seen & (1u << F_RESP_PKTS))
        f->outcome = AN_OUT_NOREPLY;
    return IOTSEC_OK;
}

int an_split(const char *line, size_t len, char sep, const char **start, size_t *flen, int max)
{
    int n = 0;
    size_t from = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == sep) {
            if (n == max)
                return -1;
            start[n] = line + from;
            flen[n] = i - from;
            n++;
            from = i + 1;
        }
    }
    return n;
}

uint8_t an_outcome_uniflow(uint16_t flags)
{
    if (flags == 0)
        return AN_OUT_UNKNOWN;
    if (!(flags & 0x02))
        return AN_OUT_MIDSTREAM;
    if ((flags & 0x17) == 0x02) /* SYN alone (ECN bits aside): never answered */
        return AN_OUT_FAILED;
    return (flags & 0x10) ? AN_OUT_ESTABLISHED : AN_OUT_UNKNOWN;
}
