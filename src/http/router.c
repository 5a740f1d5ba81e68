/* Routes: (method, pattern) -> handler. Patterns are split into segments once, at
 * registration; a request path is matched segment by segment without allocating. With a
 * few dozen routes per face a linear scan costs less than the HPACK decoding before it. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/http_int.h"

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Path characters of RFC 3986 (pchar), without '%' escapes in patterns. Excludes '"' and
 * '\\', so a pattern can be a Prometheus label value as it is. */
static bool is_pattern_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("-._~!$&'()*+,;=:@", ch));
}

static bool is_name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Splits rt->split (a copy of the pattern owned by the route) into segments; parameter
 * names are NUL-terminated in place so that they can be handed out as strings. */
static int parse_pattern(struct route *rt)
{
    char *p = rt->split;
    if (*p != '/')
        return IOTSEC_ERR_INVALID;
    unsigned n_params = 0;
    while (*p == '/') {
        char *s = ++p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (rt->n_segs == HTTP_MAX_SEGMENTS || len > UINT16_MAX)
            return IOTSEC_ERR_INVALID;
        struct route_seg *seg = &rt->segs[rt->n_segs++];
        if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
            seg->param = true;
            seg->text = s + 1;
            seg->len = (uint16_t)(len - 2);
            if (seg->len == 0 || ++n_params > HTTP_MAX_PARAMS)
                return IOTSEC_ERR_INVALID;
            for (size_t i = 0; i < seg->len; i++)
                if (!is_name_char((unsigned char)seg->text[i]))
                    return IOTSEC_ERR_INVALID;
            for (unsigned i = 0; i + 1 < rt->n_segs; i++)
                if (rt->segs[i].param && rt->segs[i].len == seg->len &&
                    memcmp(rt->segs[i].text, seg->text, seg->len) == 0)
                    return IOTSEC_ERR_INVALID;
            s[len - 1] = '\0';
        } else {
            seg->text = s;
            seg->len = (uint16_t)len;
            for (size_t i = 0; i < len; i++)
                if (!is_pattern_char((unsigned char)s[i]))
                    return IOTSEC_ERR_INVALID;
        }
    }
    return *p == '\0' ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

static void route_free(struct route *rt)
{
    if (rt) {
        free(rt->method);
        free(rt->pattern);
        free(rt->split);
        free(rt);
    }
}

int hrouter_add(struct router *r, const char *method, const char *pattern, http_handler_fn fn,
                void *user)
{
    if (!method || !pattern || !fn || !*method || strlen(method) > 32)
        return IOTSEC_ERR_INVALID;
    for (const char *m = method; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return IOTSEC_ERR_INVALID;
    for (unsigned i = 0; i < r->n; i++)
        if (!strcmp(r->routes[i]->method, method) && !strcmp(r->routes[i]->pattern, pattern))
            return IOTSEC_ERR_CONFLICT;
    if (r->n == r->cap) {
        unsigned cap = r->cap ? r->cap * 2 : 16;
        struct route **p = realloc(r->routes, cap * sizeof(*p));
        if (!p)
            return IOTSEC_ERR_NOMEM;
        r->routes = p;
        r->cap = cap;
    }
    struct route *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return IOTSEC_ERR_NOMEM;
    rt->method = strdup(method);
    rt->pattern = strdup(pattern);
    rt->split = strdup(pattern);
    if (!rt->method || !rt->pattern || !rt->split) {
        route_free(rt);
        return IOTSEC_ERR_NOMEM;
    }
    int rc = parse_pattern(rt);
    if (rc != IOTSEC_OK) {
        route_free(rt);
        return rc;
    }
    rt->handler = fn;
    rt->user = user;
    rt->index = r->n;
    r->routes[r->n++] = rt;
    return IOTSEC_OK;
}

struct path_segs {
    const char *s[HTTP_MAX_SEGMENTS];
    size_t len[HTTP_MAX_SEGMENTS];
    unsigned n;
};

/* Returns false for paths with more segments than any pattern may have. */
static bool split_path(const char *path, size_t path_len, struct path_segs *ps)
{
    const char *p = path, *end = path + path_len;
    ps->n = 0;
    while (p < end && *p == '/') {
        const char *s = ++p;
        while (p < end && *p != '/')
            p++;
        if (ps->n == HTTP_MAX_SEGMENTS)
            return false;
        ps->s[ps->n] = s;
        ps->len[ps->n++] = (size_t)(p - s);
    }
    return p == end;
}

static bool route_fits(const struct route *rt, const struct path_segs *ps)
{
    if (rt->n_segs != ps->n)
        return false;
    for (unsigned i = 0; i < ps->n; i++) {
        const struct route_seg *seg = &rt->segs[i];
        if (seg->param ? ps->len[i] == 0
                       : (seg->len != ps->len[i] || memcmp(seg->text, ps->s[i], seg->len)))
            return false;
    }
    return true;
}

/* True if a is more specific than b: at the first segment where they differ in kind, a has
 * the literal. */
static bool more_specific(const struct route *a, const struct route *b)
{
    for (unsigned i = 0; i < a->n_segs; i++)
        if (a->segs[i].param != b->segs[i].param)
            return !a->segs[i].param;
    return false;
}

static void allow_add(char *allow, size_t cap, const char *method)
{
    size_t used = strlen(allow), mlen = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)); p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    if (used + mlen + 3 > cap)
        return;
    if (used)
        memcpy(allow + used, ", ", 2), used += 2;
    memcpy(allow + used, method, mlen + 1);
}

int hrouter_match(const struct router *r, const char *method, const char *path, size_t path_len,
                  struct route_match *m)
{
    struct path_segs ps;
    m->route = NULL;
    m->n_params = 0;
    m->allow[0] = '\0';
    if (!split_path(path, path_len, &ps))
        return IOTSEC_ERR_NOTFOUND;
    const struct route *best = NULL, *best_get = NULL;
    bool path_known = false;
    for (unsigned i = 0; i < r->n; i++) {
        const struct route *rt = r->routes[i];
        if (!route_fits(rt, &ps))
            continue;
        path_known = true;
        allow_add(m->allow, sizeof(m->allow), rt->method);
        bool get = strcmp(rt->method, "GET") == 0;
        if (get) /* RFC 9110 §9.3.2: HEAD wherever GET is */
            allow_add(m->allow, sizeof(m->allow), "HEAD");
        if (strcmp(rt->method, method) == 0 && (!best || more_specific(rt, best)))
            best = rt;
        if (get && (!best_get || more_specific(rt, best_get)))
            best_get = rt;
    }
    /* A HEAD runs the GET handler; the protocol layer sends its headers without the body. */
    if (!best && strcmp(method, "HEAD") == 0)
        best = best_get;
    if (!best)
        return path_known ? IOTSEC_ERR_STATE : IOTSEC_ERR_NOTFOUND;
    m->route = best;
    for (unsigned i = 0; i < best->n_segs; i++) {
        if (!best->segs[i].param)
            continue;
        m->params[m->n_params].name = best->segs[i].text;
        m->params[m->n_params].raw = ps.s[i];
        m->params[m->n_params].len = ps.len[i];
        m->n_params++;
    }
    return IOTSEC_OK;
}

size_t hrouter_body_limit(const struct router *r, const char *method, const char *path, size_t dflt)
{
    struct route_match m;
    if (!r->any_limit || hrouter_match(r, method, path, strlen(path), &m) != IOTSEC_OK)
        return dflt;
    return m.route->max_body ? m.route->max_body : dflt;
}

size_t hrouter_max_body(const struct router *r, size_t dflt)
{
    for (unsigned i = 0; r->any_limit && i < r->n; i++)
        if (r->routes[i]->max_body > dflt)
            dflt = r->routes[i]->max_body;
    return dflt;
}

void hrouter_free(struct router *r)
{
    for (unsigned i = 0; i < r->n; i++)
        route_free(r->routes[i]);
    free(r->routes);
    memset(r, 0, sizeof(*r));
}
