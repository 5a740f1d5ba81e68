/* DNS answers the devices received, so that their flows can be judged by name (a MUD names
 * domains, a cloud rotates its addresses): Zeek's dns.log (TSV with #fields, or JSON) and our
 * own JSON line. Only what the engine uses is read: when, which device asked, the query, and
 * the address answers with their TTLs (CNAMEs and other answers are skipped). */
#include <jansson.h>
#include <string.h>

#include "analytics/ingest_int.h"
#include "analytics/mud.h"
#include "base/err.h"

enum { D_TS, D_CLIENT, D_QUERY, D_ANSWERS, D_TTLS };

static int set_query(struct an_dns *d, const char *s, size_t len)
{
    char norm[AN_MUD_NAME_MAX];
    if (!an_dns_name_normalise(s, len, norm))
        return IOTSEC_ERR_INVALID;
    memcpy(d->query, norm, strlen(norm) + 1);
    return IOTSEC_OK;
}

static int ttl_of(const char *s, size_t len, uint32_t *out)
{
    double t;
    if (an_parse_double(s, len, 1e9, &t) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    *out = (uint32_t)t;
    return IOTSEC_OK;
}

/* One answer (address or not) with its TTL text. */
static int add_answer(struct an_dns *d, const char *a, size_t alen, const char *t, size_t tlen)
{
    struct an_addr addr;
    if (an_addr_parse(a, alen, &addr) != IOTSEC_OK || d->n == AN_DNS_MAX_ANSWERS)
        return IOTSEC_OK; /* a CNAME, TXT...: not an address */
    uint32_t ttl = 0;
    if (t && ttl_of(t, tlen, &ttl) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    d->addr[d->n] = addr;
    d->ttl[d->n++] = ttl;
    return IOTSEC_OK;
}

static int from_arrays(struct an_dns *d, json_t *answers, json_t *ttls)
{
    if (answers == NULL || json_is_null(answers))
        return IOTSEC_OK; /* NXDOMAIN, no answer */
    if (!json_is_array(answers) || (ttls && !json_is_null(ttls) && !json_is_array(ttls)))
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < json_array_size(answers); i++) {
        json_t *a = json_array_get(answers, i), *t = json_array_get(ttls, i);
        if (!json_is_string(a) || (t && !json_is_number(t)) ||
            (t && (json_number_value(t) < 0 || json_number_value(t) > 1e9)))
            return IOTSEC_ERR_INVALID;
        char num[32];
        int n = t ? snprintf(num, sizeof(num), "%.0f", json_number_value(t)) : 0;
        if (add_answer(d, json_string_value(a), json_string_length(a), t ? num : NULL, (size_t)n) !=
            IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

static int ts_of(json_t *v, double *out)
{
    if (json_is_string(v))
        return an_parse_iso8601(json_string_value(v), json_string_length(v), out);
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e11)
        return IOTSEC_ERR_INVALID;
    *out = json_number_value(v);
    return IOTSEC_OK;
}

static int from_json(json_t *o, json_t *body, const char *client, const char *ttls_key,
                     struct an_dns *d)
{
    memset(d, 0, sizeof(*d));
    json_t *c = json_object_get(o, client), *q = json_object_get(body, "query");
    if (ts_of(json_object_get(o, "ts"), &d->ts) != IOTSEC_OK || !json_is_string(c) ||
        an_addr_parse(json_string_value(c), json_string_length(c), &d->client) != IOTSEC_OK ||
        !json_is_string(q) || set_query(d, json_string_value(q), json_string_length(q)))
        return IOTSEC_ERR_INVALID;
    return from_arrays(d, json_object_get(body, "answers"), json_object_get(body, ttls_key));
}

int an_dns_from_ours(json_t *o, struct an_dns *d)
{
    json_t *body = json_object_get(o, "dns");
    if (!json_is_object(body))
        return IOTSEC_ERR_INVALID;
    return from_json(o, body, "src", "ttls", d);
}

int an_dns_from_zeek_json(json_t *o, struct an_dns *d)
{
    return from_json(o, o, "id.orig_h", "TTLs", d);
}

bool an_dns_header(struct an_parser *p, const char **start, const size_t *flen, int n)
{
    static const char *const names[] = {"ts", "id.orig_h", "query", "answers", "TTLs"};
    for (int k = 0; k < 5; k++)
        p->dcol[k] = -1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 5; k++)
            if (flen[i] == strlen(names[k]) && memcmp(start[i], names[k], flen[i]) == 0)
                p->dcol[k] = i;
    p->dns = p->dcol[D_QUERY] >= 0 && p->dcol[D_ANSWERS] >= 0;
    if (p->dns && (p->dcol[D_TS] < 0 || p->dcol[D_CLIENT] < 0))
        p->dns = false;
    return p->dns;
}

static bool unset(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '-') || (len == 7 && !memcmp(s, "(empty)", 7));
}

int an_dns_from_tsv(const struct an_parser *p, const char **start, const size_t *flen, int n,
                    struct an_dns *d)
{
    (void)n;
    memset(d, 0, sizeof(*d));
    int ts = p->dcol[D_TS], cl = p->dcol[D_CLIENT], q = p->dcol[D_QUERY];
    int an = p->dcol[D_ANSWERS], tt = p->dcol[D_TTLS];
    if (an_parse_double(start[ts], flen[ts], 1e11, &d->ts) != IOTSEC_OK ||
        an_addr_parse(start[cl], flen[cl], &d->client) != IOTSEC_OK ||
        set_query(d, start[q], flen[q]) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    if (unset(start[an], flen[an]))
        return IOTSEC_OK;
    /* answers and TTLs are Zeek vectors: comma-separated, in the same order */
    const char *a = start[an], *ae = a + flen[an];
    const char *t = tt >= 0 && !unset(start[tt], flen[tt]) ? start[tt] : NULL;
    const char *te = t ? t + flen[tt] : NULL;
    while (a < ae) {
        const char *ac = memchr(a, ',', (size_t)(ae - a));
        size_t al = ac ? (size_t)(ac - a) : (size_t)(ae - a);
        const char *tc = t && t < te ? memchr(t, ',', (size_t)(te - t)) : NULL;
        size_t tl = t && t < te ? (tc ? (size_t)(tc - t) : (size_t)(te - t)) : 0;
        if (add_answer(d, a, al, t && t < te ? t : NULL, tl) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        a += al + 1;
        if (t)
            t = tc ? tc + 1 : te;
    }
    return IOTSEC_OK;
}
