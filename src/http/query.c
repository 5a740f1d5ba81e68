/* Query strings against a route's table of parameters (query.h). */
#include "http/query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/http.h"
#include "http/http_int.h"

#define STR_MAX_DEFAULT 256

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes s[0..len) ('+' is a space) to *o; false on a bad escape or a NUL. */
static bool decode(const char *s, size_t len, char **o)
{
    char *w = *o;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = len - i >= 3 ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = len - i >= 3 ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return false;
            *w++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *w++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *w++ = '\0';
    *o = w;
    return true;
}

/* Whether s is UTF-8 as JSON takes it: an unknown name is echoed in the 400's invalidParams,
 * and a member jansson cannot encode would be dropped from the answer. */
static bool utf8_valid(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* How many bytes of s (valid UTF-8) fit in max without cutting a character in two. */
static int utf8_cut(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len <= max)
        return (int)len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Whether value is good for sp; fills v. */
static bool check(const struct http_qspec *sp, const char *value, struct http_qval *v)
{
    v->s = value;
    switch (sp->type) {
    case HTTP_Q_INT:
        return parse_int(value, sp->min, sp->max, &v->i);
    case HTTP_Q_BOOL:
        v->i = strcmp(value, "true") == 0;
        return v->i || strcmp(value, "false") == 0;
    case HTTP_Q_ENUM:
        for (const char *const *e = sp->values; e && *e; e++)
            if (strcmp(value, *e) == 0) {
                v->i = e - sp->values;
                return true;
            }
        return false;
    case HTTP_Q_STR: {
        size_t len = strlen(value), max = sp->max > 0 ? (size_t)sp->max : STR_MAX_DEFAULT;
        return len >= 1 && len <= max && (sp->valid == NULL || sp->valid(value));
    }
    }
    return false;
}

int http_query_decode(const char *query, const struct http_qspec *spec, size_t n,
                      struct http_qval *out, char *buf, size_t buf_len, const char **bad,
                      const char **reason)
{
    if (n > 0)
        memset(out, 0, n * sizeof(*out));
    *bad = NULL;
    *reason = NULL;
    if (buf_len < strlen(query) + 1)
        return IOTSEC_ERR_INVALID;
    char *w = buf;
    for (const char *q = query; *q;) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *name = w;
        if (len == 0) { /* "a=1&&b=2": an empty pair is harmless */
            q++;
            continue;
        }
        if (!decode(q, klen, &w)) {
            *bad = "query";
            *reason = "malformed percent-encoding in a parameter name";
            return IOTSEC_ERR_INVALID;
        }
        /* the name is known before the value is looked at: an unknown or unprintable name is
         * the first thing wrong, and only a known (ASCII) name is echoed after this */
        size_t k = 0;
        while (k < n && strcmp(spec[k].name, name) != 0)
            k++;
        if (k == n) {
            bool empty = name[0] == '\0', utf8 = utf8_valid(name);
            *bad = empty || !utf8 ? "query" : name;
            *reason = empty   ? "a parameter without a name"
                      : !utf8 ? "a parameter name that is not UTF-8"
                              : "unknown query parameter";
            return IOTSEC_ERR_INVALID;
        }
        char *value = w;
        if (!decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, &w)) {
            *bad = name;
            *reason = "malformed percent-encoding";
            return IOTSEC_ERR_INVALID;
        }
        if (out[k].set) {
            *bad = name;
            *reason = "given more than once";
            return IOTSEC_ERR_INVALID;
        }
        if (!check(&spec[k], value, &out[k])) {
            *bad = name;
            *reason = spec[k].reason ? spec[k].reason : "invalid value";
            return IOTSEC_ERR_INVALID;
        }
        out[k].set = true;
        q += len + (q[len] == '&');
    }
    return IOTSEC_OK;
}

bool http_query_parse(struct http_request *req, const struct http_qspec *spec, size_t n,
                      struct http_qval *out)
{
    const char *query = http_request_query(req);
    size_t len = strlen(query) + 1;
    char *buf = harena_chars(&req->arena, len);
    if (buf == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "query");
        return false;
    }
    const char *bad, *reason;
    if (http_query_decode(query, spec, n, out, buf, len, &bad, &reason) == IOTSEC_OK)
        return true;
    char detail[160];
    /* bad is valid UTF-8 (decode's promise); a cut mid-character would drop the detail */
    snprintf(detail, sizeof(detail), "query parameter %.*s: %s", utf8_cut(bad, 64), bad, reason);
    struct http_invalid_param ip = {bad, reason};
    http_respond_problem(req, 400, NULL, detail, "INVALID_QUERY_PARAM", &ip, 1);
    return false;
}

size_t http_query_limit(const struct http_qval *limit)
{
    return limit->set ? (size_t)limit->i : HTTP_QUERY_LIMIT_DEFAULT;
}

json_t *http_list_json(const char *key, json_t *items)
{
    json_t *o = json_object();
    if (o == NULL) {
        json_decref(items);
        return NULL;
    }
    if (key != NULL && strcmp(key, "items") != 0)
        json_object_set(o, key, items); /* the same array twice: written out twice */
    json_object_set_new(o, "items", items);
    return o;
}

int http_respond_page(struct http_request *req, const char *key, json_t *items, size_t limit,
                      json_t *next)
{
    bool full = json_array_size(items) == limit && limit > 0;
    json_t *o = http_list_json(key, items);
    if (full && next)
        json_object_set_new(o, "next", next);
    else
        json_decref(next);
    return http_respond_json(req, 200, o);
}
