/* Addresses: one 16-byte form for IPv4 (mapped) and IPv6, and the prefix sets that say
 * which addresses are the operator's UEs (or a capture's LAN). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "base/err.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int an_addr_parse(const char *s, size_t len, struct an_addr *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof(buf))
        return IOTSEC_ERR_INVALID;
    memcpy(buf, s, len);
    buf[len] = '\0';
    uint8_t v4[4];
    if (memchr(buf, ':', len) == NULL) {
        if (inet_pton(AF_INET, buf, v4) != 1)
            return IOTSEC_ERR_INVALID;
        memcpy(out->b, v4_mapped, 12);
        memcpy(out->b + 12, v4, 4);
        return IOTSEC_OK;
    }
    return inet_pton(AF_INET6, buf, out->b) == 1 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

bool an_addr_is_v4(const struct an_addr *a)
{
    return memcmp(a->b, v4_mapped, 12) == 0;
}

void an_addr_format(const struct an_addr *a, char *buf, size_t len)
{
    const char *ok = an_addr_is_v4(a) ? inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len)
                                      : inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
    if (ok == NULL && len > 0)
        buf[0] = '\0';
}

static int prefix_add(struct an_prefixes *p, const char *s, size_t len)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    struct an_addr a;
    if (p->n >= AN_MAX_PREFIXES || an_addr_parse(s, alen, &a) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    unsigned max = an_addr_is_v4(&a) ? 32 : 128, bits = max;
    if (slash) {
        size_t dlen = len - alen - 1;
        if (dlen == 0 || dlen > 3)
            return IOTSEC_ERR_INVALID;
        bits = 0;
        for (size_t i = 0; i < dlen; i++) {
            char c = slash[1 + i];
            if (c < '0' || c > '9')
                return IOTSEC_ERR_INVALID;
            bits = bits * 10 + (unsigned)(c - '0');
        }
        if (bits > max)
            return IOTSEC_ERR_INVALID;
    }
    p->net[p->n] = a;
    p->bits[p->n] = (uint8_t)(max == 32 ? bits + 96 : bits);
    p->n++;
    return IOTSEC_OK;
}

int an_prefixes_parse(const char *list, struct an_prefixes *out)
{
    memset(out, 0, sizeof(*out));
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (prefix_add(out, s, len) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        s += len + (comma != NULL);
    }
    return out->n > 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

void an_prefixes_private(struct an_prefixes *out)
{
    an_prefixes_parse("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7", out);
}

bool an_prefixes_contain(const struct an_prefixes *p, const struct an_addr *a)
{
    for (unsigned i = 0; i < p->n; i++) {
        unsigned bits = p->bits[i], full = bits / 8, rest = bits % 8;
        if (memcmp(p->net[i].b, a->b, full) != 0)
            continue;
        uint8_t mask = (uint8_t)(0xff00u >> rest);
        if (rest == 0 || ((p->net[i].b[full] ^ a->b[full]) & mask) == 0)
            return true;
    }
    return false;
}
