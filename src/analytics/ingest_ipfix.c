/* The IPFIX message parser (RFC 7011): templates kept per session, each compiled into a list
 * of (length, action) pairs, data records decoded into struct an_flow. Pure: no I/O.
 *
 * A message is first walked set by set (header, set lengths, template records' syntax): a
 * malformed one is refused before anything of it is taken. Then its template sets are taken
 * and its data sets decoded in order (templates precede the data that uses them); a data
 * record running past its set refuses the message's flows. A data set naming an unknown
 * template is counted and skipped: over UDP that is normal until the template comes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "analytics/ipfix.h"
#include "base/err.h"

#define PEN_REVERSE 29305u /* RFC 5103: reverse information elements */
/* CERT's (yaf's) elements: initialTCPFlags 14 (the first packet's), unionTCPFlags 15 (the
 * others'), their reverse ones with the vendor reverse bit (RFC 5103 6.2): 0x4000 | id. */
#define PEN_CERT         6871u
#define CERT_INIT_FLAGS  14u
#define CERT_UNION_FLAGS 15u
#define CERT_REVERSE     0x4000u
#define NTP_EPOCH        2208988800.0
#define MAX_TS           1e11 /* as the JSON record: later than year 5000 is not a time */
#define VARLEN           65535

enum act {
    A_SKIP,
    A_SRC4,
    A_DST4,
    A_SRC6,
    A_DST6,
    A_SPORT,
    A_DPORT,
    A_PROTO,
    A_OCTETS,
    A_PKTS,
    A_ROCTETS,
    A_RPKTS,
    A_FLAGS,
    A_RFLAGS,
    A_START_S,
    A_END_S,
    A_START_MS,
    A_END_MS,
    A_START_NTP,
    A_END_NTP,
};

struct fld {
    uint16_t len; /* VARLEN: variable length */
    uint8_t act;
};

struct tmpl {
    uint16_t id;     /* 0: empty slot */
    uint8_t options; /* an options template: its records are not flows */
    uint8_t gone;    /* a cleared slot: lookups probe past it (open addressing) */
    uint16_t nf;
    uint32_t min_len; /* the shortest record (a variable-length field counts 1) */
    double seen;      /* wall time last sent (UDP lifetime) */
    struct fld *f;
};

struct session {
    struct an_ipfix_exporter from;
    uint32_t domain;
    bool used;
    bool seq_known;
    uint32_t next_seq;
    double seen;
    uint32_t nt;
    struct tmpl *t; /* max_templates slots */
};

struct an_ipfix {
    struct an_ipfix_limits lim;
    struct session *s; /* max_sessions slots */
    uint32_t last;     /* the session of the previous message: usually the next one's */
    struct an_ipfix_stats st;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An unsigned of 1..8 bytes (reduced-size encoding, RFC 7011 6.2). */
static uint64_t rdn(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v = v << 8 | p[i];
    return v;
}

struct an_ipfix *an_ipfix_new(const struct an_ipfix_limits *limits)
{
    struct an_ipfix *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    if (limits)
        x->lim = *limits;
    if (x->lim.max_sessions == 0)
        x->lim.max_sessions = 256;
    if (x->lim.max_templates == 0)
        x->lim.max_templates = 128;
    if (x->lim.template_lifetime_s == 0)
        x->lim.template_lifetime_s = 1800;
    if (x->lim.max_templates > 65536 - 256)
        x->lim.max_templates = 65536 - 256;
    x->s = calloc(x->lim.max_sessions, sizeof(*x->s));
    if (x->s == NULL) {
        free(x);
        return NULL;
    }
    return x;
}

static void tmpl_clear(struct tmpl *t)
{
    free(t->f);
    memset(t, 0, sizeof(*t));
    t->gone = 1;
}

static void session_drop(struct an_ipfix *x, struct session *s)
{
    for (uint32_t i = 0; s->t && i < x->lim.max_templates; i++)
        tmpl_clear(&s->t[i]);
    free(s->t);
    memset(s, 0, sizeof(*s));
    x->st.sessions--;
}

void an_ipfix_free(struct an_ipfix *x)
{
    if (x == NULL)
        return;
    for (uint32_t i = 0; i < x->lim.max_sessions; i++)
        if (x->s[i].used)
            session_drop(x, &x->s[i]);
    free(x->s);
    free(x);
}

void an_ipfix_get_stats(const struct an_ipfix *x, struct an_ipfix_stats *out)
{
    *out = x->st;
}

static bool same_exporter(const struct an_ipfix_exporter *a, const struct an_ipfix_exporter *b)
{
    return a->port == b->port && a->transport == b->transport && a->conn == b->conn &&
           memcmp(a->addr.b, b->addr.b, 16) == 0;
}

void an_ipfix_forget(struct an_ipfix *x, const struct an_ipfix_exporter *from)
{
    for (uint32_t i = 0; i < x->lim.max_sessions; i++)
        if (x->s[i].used && same_exporter(&x->s[i].from, from))
            session_drop(x, &x->s[i]);
}

static bool expired(const struct an_ipfix *x, const struct session *s, double seen, double now)
{
    return s->from.transport == AN_IPFIX_UDP && now - seen > x->lim.template_lifetime_s;
}

/* The session of (from, domain), created when new. A full table first sheds UDP sessions
 * silent for a template lifetime (their templates have expired anyway). */
static struct session *session_get(struct an_ipfix *x, const struct an_ipfix_exporter *from,
                                   uint32_t domain, double now)
{
    struct session *s = &x->s[x->last];
    if (s->used && s->domain == domain && same_exporter(&s->from, from))
        return s;
    struct session *free_slot = NULL;
    for (uint32_t i = 0; i < x->lim.max_sessions; i++) {
        s = &x->s[i];
        if (s->used && s->domain == domain && same_exporter(&s->from, from)) {
            x->last = i;
            return s;
        }
        if (s->used && expired(x, s, s->seen, now))
            session_drop(x, s);
        if (!s->used && free_slot == NULL)
            free_slot = s;
    }
    if (free_slot == NULL)
        return NULL;
    free_slot->t = calloc(x->lim.max_templates, sizeof(*free_slot->t));
    if (free_slot->t == NULL)
        return NULL;
    free_slot->used = true;
    free_slot->from = *from;
    free_slot->domain = domain;
    x->last = (uint32_t)(free_slot - x->s);
    x->st.sessions++;
    return free_slot;
}

/* Template ids are 256..65535; a session holds max_templates of them, hashed by id. */
static struct tmpl *tmpl_find(struct an_ipfix *x, struct session *s, uint16_t id, double now)
{
    uint32_t cap = x->lim.max_templates;
    for (uint32_t k = 0, i = id % cap; k < cap; k++, i = (i + 1) % cap) {
        struct tmpl *t = &s->t[i];
        if (t->id == id) {
            if (!expired(x, s, t->seen, now))
                return t;
            tmpl_clear(t);
            s->nt--;
            x->st.templates_expired++;
            return NULL;
        }
        if (t->id == 0 && !t->gone)
            return NULL; /* never used: the end of id's probe chain */
    }
    return NULL;
}

/* A slot for id: its own (replaced), else an empty one. NULL when the session is full. */
static struct tmpl *tmpl_slot(struct an_ipfix *x, struct session *s, uint16_t id)
{
    uint32_t cap = x->lim.max_templates;
    struct tmpl *empty = NULL;
    for (uint32_t k = 0, i = id % cap; k < cap; k++, i = (i + 1) % cap) {
        struct tmpl *t = &s->t[i];
        if (t->id == id) {
            tmpl_clear(t);
            s->nt--;
            return t;
        }
        if (t->id == 0 && empty == NULL)
            empty = t;
        if (t->id == 0 && !t->gone)
            break;
    }
    return empty;
}

static enum act field_act(uint16_t ie, uint32_t pen, uint16_t len)
{
    if (pen == PEN_REVERSE) {
        bool cnt = len >= 1 && len <= 8;
        switch (ie) {
        case 1:
        case 85:
            return cnt ? A_ROCTETS : A_SKIP;
        case 2:
        case 86:
            return cnt ? A_RPKTS : A_SKIP;
        case 6:
            return len == 1 || len == 2 ? A_RFLAGS : A_SKIP;
        }
        return A_SKIP;
    }
    if (pen == PEN_CERT) { /* together they are what tcpControlBits says: OR'ed in */
        bool flags = len == 1 || len == 2;
        if (ie == CERT_INIT_FLAGS || ie == CERT_UNION_FLAGS)
            return flags ? A_FLAGS : A_SKIP;
        if (ie == (CERT_REVERSE | CERT_INIT_FLAGS) || ie == (CERT_REVERSE | CERT_UNION_FLAGS))
            return flags ? A_RFLAGS : A_SKIP;
        return A_SKIP;
    }
    if (pen != 0)
        return A_SKIP;
    switch (ie) {
    case 1:
    case 85:
        return len >= 1 && len <= 8 ? A_OCTETS : A_SKIP;
    case 2:
    case 86:
        return len >= 1 && len <= 8 ? A_PKTS : A_SKIP;
    case 4:
        return len == 1 ? A_PROTO : A_SKIP;
    case 6:
        return len == 1 || len == 2 ? A_FLAGS : A_SKIP;
    case 7:
        return len == 1 || len == 2 ? A_SPORT : A_SKIP;
    case 11:
        return len == 1 || len == 2 ? A_DPORT : A_SKIP;
    case 8:
        return len == 4 ? A_SRC4 : A_SKIP;
    case 12:
        return len == 4 ? A_DST4 : A_SKIP;
    case 27:
        return len == 16 ? A_SRC6 : A_SKIP;
    case 28:
        return len == 16 ? A_DST6 : A_SKIP;
    case 150:
        return len == 4 || len == 8 ? A_START_S : A_SKIP;
    case 151:
        return len == 4 || len == 8 ? A_END_S : A_SKIP;
    case 152:
        return len == 8 ? A_START_MS : A_SKIP;
    case 153:
        return len == 8 ? A_END_MS : A_SKIP;
    case 154:
    case 156:
        return len == 8 ? A_START_NTP : A_SKIP;
    case 155:
    case 157:
        return len == 8 ? A_END_NTP : A_SKIP;
    }
    return A_SKIP;
}

/* ---- pass 1: the message's structure ---- */

/* Checks the template records of a set (2 or 3) fit it. */
static int check_template_set(const uint8_t *p, size_t len, bool options)
{
    size_t pos = 0;
    while (len - pos >= 4) {
        uint16_t id = rd16(p + pos), nf = rd16(p + pos + 2);
        if (id == 0 && nf == 0) { /* padding: zeros to the end */
            for (size_t i = pos; i < len; i++)
                if (p[i] != 0)
                    return IOTSEC_ERR_INVALID;
            return IOTSEC_OK;
        }
        pos += 4;
        if (nf == 0) { /* a withdrawal: a template id, or the set id (all of a kind) */
            if (id < 256 && id != (options ? 3 : 2))
                return IOTSEC_ERR_INVALID;
            continue;
        }
        if (id < 256)
            return IOTSEC_ERR_INVALID;
        if (options) {
            if (len - pos < 2)
                return IOTSEC_ERR_INVALID;
            uint16_t scope = rd16(p + pos);
            pos += 2;
            if (scope == 0 || scope > nf)
                return IOTSEC_ERR_INVALID;
        }
        for (uint16_t i = 0; i < nf; i++) {
            if (len - pos < 4)
                return IOTSEC_ERR_INVALID;
            bool ent = (p[pos] & 0x80) != 0;
            pos += 4;
            if (ent) {
                if (len - pos < 4)
                    return IOTSEC_ERR_INVALID;
                pos += 4;
            }
        }
    }
    return IOTSEC_OK; /* fewer than 4 bytes left: padding */
}

static int check_message(const uint8_t *msg, size_t len)
{
    if (len < 16 || rd16(msg) != 10 || rd16(msg + 2) != len)
        return IOTSEC_ERR_INVALID;
    for (size_t pos = 16; pos < len;) {
        if (len - pos < 4)
            return IOTSEC_ERR_INVALID;
        uint16_t id = rd16(msg + pos), slen = rd16(msg + pos + 2);
        if (slen < 4 || slen > len - pos)
            return IOTSEC_ERR_INVALID;
        if ((id == 2 || id == 3) &&
            check_template_set(msg + pos + 4, slen - 4u, id == 3) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        pos += slen;
    }
    return IOTSEC_OK;
}

/* ---- pass 2: templates ---- */

static void withdraw(struct an_ipfix *x, struct session *s, uint16_t id, bool options)
{
    if (s->from.transport == AN_IPFIX_UDP) {
        x->st.withdrawals_ignored++;
        return;
    }
    for (uint32_t i = 0; i < x->lim.max_templates; i++) {
        struct tmpl *t = &s->t[i];
        if (t->id == 0 || (id >= 256 && t->id != id) || (id < 256 && t->options != options))
            continue;
        tmpl_clear(t);
        s->nt--;
        x->st.withdrawals++;
    }
}

/* Takes one template record at p (checked by pass 1); returns its length in bytes. */
static size_t take_template(struct an_ipfix *x, struct session *s, const uint8_t *p, bool options,
                            double now)
{
    uint16_t id = rd16(p), nf = rd16(p + 2);
    size_t pos = 4;
    if (nf == 0) {
        withdraw(x, s, id, options);
        return pos;
    }
    if (options)
        pos += 2; /* the scope count: scope fields are skipped like the rest */
    size_t spec = pos;
    for (uint16_t i = 0; i < nf; i++)
        spec += (p[spec] & 0x80) ? 8 : 4;
    struct fld f[AN_IPFIX_MAX_FIELDS];
    uint32_t min_len = 0;
    bool ok = nf <= AN_IPFIX_MAX_FIELDS;
    for (uint16_t i = 0; ok && i < nf; i++) {
        uint16_t ie = rd16(p + pos) & 0x7fff, flen = rd16(p + pos + 2);
        bool ent = (p[pos] & 0x80) != 0;
        uint32_t pen = ent ? rd32(p + pos + 4) : 0;
        pos += ent ? 8 : 4;
        f[i].len = flen;
        f[i].act = flen == VARLEN ? A_SKIP : (uint8_t)field_act(ie, pen, flen);
        min_len += flen == VARLEN ? 1 : flen;
    }
    if (!ok || min_len == 0 || min_len > 65535 - 20) { /* refused: held by no one */
        x->st.templates_refused++;
        struct tmpl *old = tmpl_find(x, s, id, now);
        if (old) { /* a redefinition we cannot hold must not leave the old meaning */
            tmpl_clear(old);
            s->nt--;
        }
        return spec;
    }
    struct tmpl *t = tmpl_slot(x, s, id);
    if (t == NULL || (t->f = malloc(nf * sizeof(*t->f))) == NULL) {
        x->st.templates_refused++;
        return spec;
    }
    memcpy(t->f, f, nf * sizeof(*f));
    t->id = id;
    t->options = options;
    t->nf = nf;
    t->min_len = min_len;
    t->seen = now;
    s->nt++;
    x->st.templates++;
    return spec;
}

static void take_template_set(struct an_ipfix *x, struct session *s, const uint8_t *p, size_t len,
                              bool options, double now)
{
    size_t pos = 0;
    while (len - pos >= 4 && !(rd16(p + pos) == 0 && rd16(p + pos + 2) == 0))
        pos += take_template(x, s, p + pos, options, now);
}

/* ---- pass 2: data ---- */

struct rec {
    bool src, dst, start, end, rev;
    uint16_t flags, rflags;
    bool have_flags;
    double t0, t1;
};

static double ntp_time(const uint8_t *p)
{
    return (double)rd32(p) - NTP_EPOCH + (double)rd32(p + 4) / 4294967296.0;
}

static uint8_t outcome_of(const struct an_flow *f, const struct rec *r)
{
    bool answered = f->resp_pkts > 0 || f->resp_bytes > 0;
    if (f->proto == AN_PROTO_TCP) {
        if (r->have_flags && !(r->flags & 0x02))
            return AN_OUT_MIDSTREAM; /* no SYN from the originator: began before the record */
        if (!r->have_flags)
            return AN_OUT_UNKNOWN;
        if (!r->rev) /* one direction only: what the originator's flags say */
            return an_outcome_uniflow(r->flags);
        if ((r->rflags & 0x12) == 0x12)
            return AN_OUT_ESTABLISHED; /* SYN-ACK came back */
        if (!answered || (r->rflags & 0x04))
            return AN_OUT_FAILED; /* nothing, or a reset, came back */
        return AN_OUT_UNKNOWN;
    }
    if (r->rev)
        return answered ? AN_OUT_ESTABLISHED : AN_OUT_NOREPLY;
    return AN_OUT_UNKNOWN;
}

/* Decodes one record at p (at most len bytes) into f; returns its length, or 0 when it runs
 * past len. */
static size_t decode(const struct tmpl *t, const uint8_t *p, size_t len, struct an_flow *f,
                     struct rec *r)
{
    size_t pos = 0;
    for (uint16_t i = 0; i < t->nf; i++) {
        uint32_t flen = t->f[i].len;
        if (flen == VARLEN) { /* RFC 7011 7: one length byte, or 255 and two more */
            if (pos >= len)
                return 0;
            flen = p[pos++];
            if (flen == 255) {
                if (len - pos < 2)
                    return 0;
                flen = rd16(p + pos);
                pos += 2;
            }
        }
        if (len - pos < flen)
            return 0;
        const uint8_t *v = p + pos;
        pos += flen;
        switch ((enum act)t->f[i].act) {
        case A_SKIP:
            break;
        case A_SRC4:
        case A_DST4: {
            struct an_addr *a = t->f[i].act == A_SRC4 ? &f->orig : &f->resp;
            memset(a->b, 0, 10);
            a->b[10] = a->b[11] = 0xff;
            memcpy(a->b + 12, v, 4);
            *(t->f[i].act == A_SRC4 ? &r->src : &r->dst) = true;
            break;
        }
        case A_SRC6:
            memcpy(f->orig.b, v, 16);
            r->src = true;
            break;
        case A_DST6:
            memcpy(f->resp.b, v, 16);
            r->dst = true;
            break;
        case A_SPORT:
            f->orig_port = (uint16_t)rdn(v, flen);
            break;
        case A_DPORT:
            f->resp_port = (uint16_t)rdn(v, flen);
            break;
        case A_PROTO:
            f->proto = v[0] == 6 || v[0] == 17 || v[0] == 1 ? v[0]
                       : v[0] == 58                         ? AN_PROTO_ICMP
                                                            : AN_PROTO_OTHER;
            break;
        case A_OCTETS:
            f->orig_bytes = rdn(v, flen);
            break;
        case A_PKTS:
            f->orig_pkts = rdn(v, flen);
            break;
        case A_ROCTETS:
            f->resp_bytes = rdn(v, flen);
            r->rev = true;
            break;
        case A_RPKTS:
            f->resp_pkts = rdn(v, flen);
            r->rev = true;
            break;
        case A_FLAGS: /* tcpControlBits, or yaf's first packet's and the others' */
            r->flags |= (uint16_t)rdn(v, flen);
            r->have_flags = true;
            break;
        case A_RFLAGS:
            r->rflags |= (uint16_t)rdn(v, flen);
            r->rev = true;
            break;
        case A_START_S:
        case A_END_S: {
            double s = (double)rdn(v, flen);
            *(t->f[i].act == A_START_S ? &r->t0 : &r->t1) = s;
            *(t->f[i].act == A_START_S ? &r->start : &r->end) = true;
            break;
        }
        case A_START_MS:
        case A_END_MS: {
            double s = (double)rdn(v, 8) / 1000.0;
            *(t->f[i].act == A_START_MS ? &r->t0 : &r->t1) = s;
            *(t->f[i].act == A_START_MS ? &r->start : &r->end) = true;
            break;
        }
        case A_START_NTP:
            r->t0 = ntp_time(v);
            r->start = true;
            break;
        case A_END_NTP:
            r->t1 = ntp_time(v);
            r->end = true;
            break;
        }
    }
    return pos;
}

/* Decodes a data set's records; returns how many records it had, or -1 when one runs past
 * the set (the message is refused). */
static long take_data_set(struct an_ipfix *x, const struct tmpl *t, const uint8_t *p, size_t len,
                          double export_time, struct an_flow *out, size_t cap, size_t *n)
{
    long records = 0;
    size_t pos = 0;
    while (len - pos >= t->min_len) { /* less is padding (RFC 7011 3.3.1) */
        struct an_flow f;
        struct rec r;
        memset(&f, 0, sizeof(f));
        memset(&r, 0, sizeof(r));
        size_t used = decode(t, p + pos, len - pos, &f, &r);
        if (used == 0)
            return -1;
        pos += used;
        records++;
        if (t->options || !r.src || !r.dst || *n >= cap) {
            x->st.other_records++;
            continue;
        }
        f.ts = r.start ? r.t0 : export_time;
        f.duration = r.start && r.end && r.t1 > r.t0 ? r.t1 - r.t0 : 0;
        if (!(f.ts >= 0 && f.ts <= MAX_TS && f.duration <= MAX_TS)) {
            x->st.bad_records++;
            continue;
        }
        f.outcome = outcome_of(&f, &r);
        out[(*n)++] = f;
    }
    return records;
}

int an_ipfix_message(struct an_ipfix *x, const struct an_ipfix_exporter *from, const uint8_t *msg,
                     size_t len, double now, struct an_flow *out, size_t cap, size_t *n)
{
    if (check_message(msg, len) != IOTSEC_OK) {
        x->st.bad_messages++;
        return IOTSEC_ERR_INVALID;
    }
    uint32_t export_time = rd32(msg + 4), seq = rd32(msg + 8), domain = rd32(msg + 12);
    struct session *s = session_get(x, from, domain, now);
    if (s == NULL) {
        x->st.sessions_refused++;
        return IOTSEC_ERR_BUSY;
    }
    x->st.messages++;
    s->seen = now;
    size_t n0 = *n;
    uint64_t other0 = x->st.other_records, bad0 = x->st.bad_records;
    uint32_t records = 0;
    bool complete = true; /* every data record of the message was decoded (sequence check) */
    for (size_t pos = 16; pos < len;) {
        uint16_t id = rd16(msg + pos), slen = rd16(msg + pos + 2);
        const uint8_t *body = msg + pos + 4;
        pos += slen;
        if (id == 2 || id == 3) {
            take_template_set(x, s, body, slen - 4u, id == 3, now);
        } else if (id >= 256) {
            const struct tmpl *t = tmpl_find(x, s, id, now);
            if (t == NULL) {
                x->st.unknown_sets++;
                complete = false;
                continue;
            }
            long r = take_data_set(x, t, body, slen - 4u, (double)export_time, out, cap, n);
            if (r < 0) {
                *n = n0; /* nothing of a malformed message is delivered */
                x->st.other_records = other0;
                x->st.bad_records = bad0;
                x->st.bad_messages++;
                x->st.messages--;
                s->seq_known = false;
                return IOTSEC_ERR_INVALID;
            }
            records += (uint32_t)r;
        } /* sets 0, 1 (NetFlow v9's) and 4..255 are reserved: skipped */
    }
    if (s->seq_known && seq != s->next_seq && seq - s->next_seq < 0x80000000u)
        x->st.lost_records += seq - s->next_seq; /* a gap ahead; behind is reordering */
    s->seq_known = complete;
    s->next_seq = seq + records;
    x->st.flows += *n - n0;
    return IOTSEC_OK;
}

long an_ipfix_frame(const uint8_t *buf, size_t len)
{
    if (len < 4)
        return 0;
    uint16_t l = rd16(buf + 2);
    if (rd16(buf) != 10 || l < 16)
        return -1;
    return l;
}
