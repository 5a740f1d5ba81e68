/* The outbound destination policy: see outbound.h. Decisions are made on addresses, never on
 * how a host is spelt (127.attacker.example, 2130706433 and 0x7f.1 are judged by what they
 * resolve to). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/outbound.h"

enum addr_class {
    CLASS_PUBLIC,
    CLASS_LOOPBACK,
    CLASS_LINK_LOCAL,
    CLASS_PRIVATE,
    CLASS_SHARED,
    CLASS_UNSPECIFIED,
    CLASS_MULTICAST,
    CLASS_RESERVED,
};

static const char *const refusal[] = {
    [CLASS_LOOPBACK] = "the destination is a loopback address and is not allow-listed",
    [CLASS_LINK_LOCAL] = "the destination is a link-local address and is not allow-listed",
    [CLASS_PRIVATE] = "the destination is a private address and is not allow-listed",
    [CLASS_SHARED] = "the destination is a shared (CGNAT, 100.64.0.0/10) address and is not "
                     "allow-listed",
    [CLASS_UNSPECIFIED] = "the destination is an unspecified address and is not allow-listed",
    [CLASS_MULTICAST] = "the destination is a multicast address and is not allow-listed",
    [CLASS_RESERVED] = "the destination is a reserved or broadcast address and is not "
                       "allow-listed",
};

/* An address reduced to the form it is judged in: IPv6 forms that carry an IPv4 address
 * (mapped, NAT64, compatible) become that IPv4 address. */
struct addr {
    uint8_t b[16];
    bool v6;
};

static bool prefix_is(const uint8_t *b, const uint8_t *p, size_t n)
{
    return memcmp(b, p, n) == 0;
}

static void normalise(struct addr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    static const uint8_t zero[12] = {0};
    if (!a->v6)
        return;
    bool carries_v4 = prefix_is(a->b, mapped, 12) || prefix_is(a->b, nat64, 12);
    /* ::/96 (IPv4-compatible, deprecated) except :: and ::1, which are IPv6's own */
    if (prefix_is(a->b, zero, 12) && (a->b[12] | a->b[13] | a->b[14]) != 0)
        carries_v4 = true;
    if (prefix_is(a->b, zero, 12) && a->b[12] == 0 && a->b[13] == 0 && a->b[14] == 0 &&
        a->b[15] > 1)
        carries_v4 = true;
    if (carries_v4) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->v6 = false;
    }
}

static enum addr_class classify(const struct addr *a)
{
    const uint8_t *b = a->b;
    if (!a->v6) {
        if (b[0] == 0)
            return CLASS_UNSPECIFIED; /* 0.0.0.0/8: "this network" */
        if (b[0] == 127)
            return CLASS_LOOPBACK;
        if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168))
            return CLASS_PRIVATE;
        if (b[0] == 100 && (b[1] & 0xc0) == 64)
            return CLASS_SHARED;
        if (b[0] == 169 && b[1] == 254)
            return CLASS_LINK_LOCAL;
        if ((b[0] & 0xf0) == 224)
            return CLASS_MULTICAST;
        if ((b[0] & 0xf0) == 240)
            return CLASS_RESERVED; /* 240/4, 255.255.255.255 */
        return CLASS_PUBLIC;
    }
    static const uint8_t zero[15] = {0};
    if (prefix_is(b, zero, 15) && b[15] == 0)
        return CLASS_UNSPECIFIED;
    if (prefix_is(b, zero, 15) && b[15] == 1)
        return CLASS_LOOPBACK;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return CLASS_LINK_LOCAL;
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
        return CLASS_PRIVATE; /* fc00::/7 unique local, fec0::/10 site-local (deprecated) */
    if (b[0] == 0xff)
        return CLASS_MULTICAST;
    return CLASS_PUBLIC;
}

static bool in_net(const struct addr *a, const struct outbound_net *n)
{
    if (a->v6 != n->v6)
        return false;
    unsigned full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(a->b, n->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a->b[full] & mask) == (n->addr[full] & mask);
}

static bool from_sockaddr(const struct sockaddr *sa, struct addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        memcpy(a->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(a->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        a->v6 = true;
    } else {
        return false;
    }
    normalise(a);
    return true;
}

bool outbound_addr_allowed(const struct outbound_rules *rules, const struct sockaddr *sa,
                           uint16_t port, bool https, const char **why)
{
    struct addr a;
    if (sa == NULL || !from_sockaddr(sa, &a)) {
        *why = "the destination is not an IP address";
        return false;
    }
    enum addr_class c = classify(&a);
    if (!https) {
        /* the lab switch: plain http to this host's loopback only, decided on the address */
        if (rules && rules->http_loopback && c == CLASS_LOOPBACK)
            return true;
        *why = rules && rules->http_loopback
                   ? "plain http is allowed only to a loopback address (lab switch); use https"
                   : "plain http is not allowed; use https";
        return false;
    }
    if (c == CLASS_PUBLIC)
        return true;
    for (unsigned i = 0; rules && i < rules->n_allow; i++)
        if (in_net(&a, &rules->allow[i]) &&
            (rules->allow[i].port == 0 || rules->allow[i].port == port))
            return true;
    *why = refusal[c];
    return false;
}

/* ---- allow-lists ---- */

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v == 0 || v > 65535)
        return IOTSEC_ERR_INVALID;
    *port = (uint16_t)v;
    return IOTSEC_OK;
}

/* "n[:port]" after a '/', or ":port" or "". */
static int parse_tail(const char *s, unsigned max_prefix, struct outbound_net *n)
{
    n->prefix = (uint8_t)max_prefix;
    if (*s == '/') {
        s++;
        char *end;
        unsigned long p = strtoul(s, &end, 10);
        if (*s < '0' || *s > '9' || p > max_prefix || (*end != 0 && *end != ':'))
            return IOTSEC_ERR_INVALID;
        n->prefix = (uint8_t)p;
        s = end;
    }
    if (*s == ':')
        return parse_port(s + 1, &n->port);
    return *s == 0 ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

static int parse_item(char *item, struct outbound_net *n)
{
    memset(n, 0, sizeof(*n));
    char *tail;
    if (item[0] == '[') {
        char *close = strchr(item, ']');
        if (close == NULL)
            return IOTSEC_ERR_INVALID;
        *close = 0;
        tail = close + 1;
        if (inet_pton(AF_INET6, item + 1, n->addr) != 1)
            return IOTSEC_ERR_INVALID;
        n->v6 = true;
    } else {
        char *slash = strchr(item, '/');
        char *colon = strchr(item, ':');
        bool bare_v6 = colon && strchr(colon + 1, ':') && (slash == NULL || colon < slash);
        tail = slash ? slash : bare_v6 ? item + strlen(item) : colon ? colon : item + strlen(item);
        char addr[64];
        size_t len = (size_t)(tail - item);
        if (len == 0 || len >= sizeof(addr))
            return IOTSEC_ERR_INVALID;
        memcpy(addr, item, len);
        addr[len] = 0;
        if (inet_pton(AF_INET, addr, n->addr) == 1)
            n->v6 = false;
        else if (inet_pton(AF_INET6, addr, n->addr) == 1)
            n->v6 = true;
        else
            return IOTSEC_ERR_INVALID;
    }
    if (parse_tail(tail, n->v6 ? 128 : 32, n) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    struct addr a = {.v6 = n->v6};
    memcpy(a.b, n->addr, 16);
    normalise(&a); /* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
    if (n->v6 && !a.v6) {
        if (n->prefix < 96)
            return IOTSEC_ERR_INVALID;
        n->prefix = (uint8_t)(n->prefix - 96);
        memcpy(n->addr, a.b, 16);
        n->v6 = false;
    }
    for (unsigned i = n->prefix; i < (n->v6 ? 128u : 32u); i++) /* host bits off */
        n->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
    return IOTSEC_OK;
}

int outbound_allow_parse(const char *text, struct outbound_rules *rules, const char **why)
{
    *why = NULL;
    if (text == NULL)
        return IOTSEC_OK;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        char item[128];
        if (len >= sizeof(item)) {
            *why = "an allow-list entry is too long";
            return IOTSEC_ERR_INVALID;
        }
        if (rules->n_allow >= OUTBOUND_ALLOW_MAX) {
            *why = "an allow-list holds 16 entries at most";
            return IOTSEC_ERR_INVALID;
        }
        memcpy(item, p, len);
        item[len] = 0;
        if (parse_item(item, &rules->allow[rules->n_allow]) != IOTSEC_OK) {
            *why = "an allow-list entry must be CIDR[:port]: a.b.c.d[/n][:port], "
                   "[v6addr][/n][:port] or v6addr[/n]";
            return IOTSEC_ERR_INVALID;
        }
        rules->n_allow++;
        p += len;
    }
    return IOTSEC_OK;
}

void outbound_allow_format(const struct outbound_rules *rules, char *out, size_t cap)
{
    size_t used = 0;
    if (cap)
        out[0] = 0;
    for (unsigned i = 0; i < rules->n_allow && used < cap; i++) {
        const struct outbound_net *n = &rules->allow[i];
        char addr[INET6_ADDRSTRLEN], port[8] = "";
        inet_ntop(n->v6 ? AF_INET6 : AF_INET, n->addr, addr, sizeof(addr));
        if (n->port)
            snprintf(port, sizeof(port), ":%u", n->port);
        int w = snprintf(out + used, cap - used, "%s%s%s%s/%u%s", i ? "," : "", n->v6 ? "[" : "",
                         addr, n->v6 ? "]" : "", n->prefix, port);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* ---- URLs ---- */

/* An '@' in the authority (whatever libcurl made of it): credentials, or a trick. */
static bool authority_has_at(const char *url)
{
    const char *a = strstr(url, "://");
    a = a ? a + 3 : url;
    size_t n = strcspn(a, "/?#");
    return memchr(a, '@', n) != NULL;
}

int outbound_url_parse(const char *url, const struct outbound_rules *rules,
                       struct outbound_target *t, const char **why)
{
    memset(t, 0, sizeof(*t));
    *why = "must be an absolute https URL";
    size_t len = url ? strlen(url) : 0;
    if (len == 0 || len >= OUTBOUND_URL_MAX)
        return IOTSEC_ERR_INVALID;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return IOTSEC_ERR_INVALID;
    /* scheme://host, literally: libcurl would read "https:///h" or "https:h" as host h */
    const char *auth = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    if (auth == NULL || *auth == '/' || *auth == 0)
        return IOTSEC_ERR_INVALID;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL, *opts = NULL,
         *zone = NULL;
    int rc = IOTSEC_ERR_INVALID;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        bool https = strcmp(scheme, "https") == 0, http = strcmp(scheme, "http") == 0;
        size_t hl = strlen(host);
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
            curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK ||
            curl_url_get(u, CURLUPART_OPTIONS, &opts, 0) == CURLUE_OK || authority_has_at(url)) {
            *why = "must not carry credentials (user:password@)";
        } else if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
            *why = "must not carry an IPv6 zone id";
        } else if (http && !(rules && rules->http_loopback)) {
            *why = "plain http is not allowed; use https";
        } else if ((https || http) && hl > 0 && hl < sizeof(t->host) &&
                   parse_port(port, &t->port) == IOTSEC_OK) {
            bool bracketed = host[0] == '[' && host[hl - 1] == ']';
            snprintf(t->host, sizeof(t->host), "%.*s", (int)(bracketed ? hl - 2 : hl),
                     host + bracketed);
            t->https = https;
            rc = IOTSEC_OK;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(opts);
    curl_free(zone);
    curl_url_cleanup(u);
    if (rc == IOTSEC_OK)
        *why = NULL;
    return rc;
}

int outbound_url_check(const char *url, const struct outbound_rules *rules, const char **why)
{
    struct outbound_target t;
    int rc = outbound_url_parse(url, rules, &t, why);
    if (rc != IOTSEC_OK)
        return rc;
    struct addrinfo *res = NULL;
    rc = outbound_resolve(t.host, OUTBOUND_RESOLVE_MS, &res);
    if (rc != IOTSEC_OK) {
        *why = rc == IOTSEC_ERR_BUSY ? "the destination's host did not resolve in time"
                                     : "the destination's host does not resolve";
        return IOTSEC_ERR_INVALID;
    }
    rc = IOTSEC_OK;
    for (struct addrinfo *ai = res; ai && rc == IOTSEC_OK; ai = ai->ai_next)
        if (!outbound_addr_allowed(rules, ai->ai_addr, t.port, t.https, why))
            rc = IOTSEC_ERR_INVALID; /* every address: the connection may go to any of them */
    freeaddrinfo(res);
    if (rc == IOTSEC_OK)
        *why = NULL;
    return rc;
}
