/* Query strings checked against what a route takes: every list handler names its parameters
 * (name, type, bounds) once in a table, and one function decodes the query against it, so an
 * unknown parameter, a repeated one or a bad value is a 400 naming it on every face instead of
 * being silently ignored. Also the house paging contract of the admin face:
 *   GET <collection>?after=<cursor>&limit=<1..1000>&<filters>
 *     -> {"items": [...], "next": <cursor>}   ("next" only when more may follow).
 * Older collections also carry the array under their old name ("enrollments", "afs", ...):
 * deprecated, kept for one release (docs/api.md). */
#ifndef IOTSEC_HTTP_QUERY_H
#define IOTSEC_HTTP_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;

enum http_qtype {
    HTTP_Q_STR,  /* 1..max bytes (max 0: 256) of decoded text, and valid() when set */
    HTTP_Q_INT,  /* a decimal integer in [min, max] */
    HTTP_Q_ENUM, /* one of values (a NULL-terminated list) */
    HTTP_Q_BOOL, /* true or false (i: 1 or 0) */
};

struct http_qspec {
    const char *name;
    enum http_qtype type;
    int64_t min, max;                 /* INT: bounds; STR: max length in bytes */
    const char *const *values;        /* ENUM */
    bool (*valid)(const char *value); /* STR: extra check, or NULL */
    const char *reason;               /* what a good value is: said in invalidParams */
};

/* One decoded parameter, at the index of its spec entry. s stays valid as long as the
 * buffer (the request) it was decoded into. */
struct http_qval {
    bool set;
    const char *s;
    int64_t i;
};

/* The paging parameters every admin list takes. An integer cursor is the last row id of the
 * page before (after >= 0); a text cursor is the last key (1..256 bytes). */
#define HTTP_QUERY_LIMIT_DEFAULT 100
#define HTTP_QUERY_LIMIT_MAX     1000
#define HTTP_QSPEC_AFTER_ID                                                                        \
    {                                                                                              \
        .name = "after", .type = HTTP_Q_INT, .min = 0, .max = INT64_MAX,                           \
        .reason = "a cursor: the \"next\" of the page before (an integer >= 0)"                    \
    }
#define HTTP_QSPEC_AFTER_KEY                                                                       \
    {                                                                                              \
        .name = "after", .type = HTTP_Q_STR, .reason = "a cursor: the \"next\" of the page before" \
    }
#define HTTP_QSPEC_LIMIT                                                                           \
    {                                                                                              \
        .name = "limit", .type = HTTP_Q_INT, .min = 1, .max = HTTP_QUERY_LIMIT_MAX,                \
        .reason = "an integer from 1 to 1000"                                                      \
    }

/* Decodes query (raw, without '?') against spec[0..n): out[k] for spec[k]. Decoded text goes
 * to buf (at least strlen(query) + 1 bytes). IOTSEC_OK, or IOTSEC_ERR_INVALID with *bad the
 * offending parameter's name (the decoded name for an unknown one, in buf; "query" for a name
 * that is empty or not UTF-8, so *bad is always UTF-8 a JSON answer can carry) and *reason
 * why. Pure: no request needed (unit-tested alone). */
int http_query_decode(const char *query, const struct http_qspec *spec, size_t n,
                      struct http_qval *out, char *buf, size_t buf_len, const char **bad,
                      const char **reason);

/* The same on a request's query; false after answering 400 INVALID_QUERY_PARAM with the
 * parameter named in invalidParams (or 503 when the request is out of memory). */
bool http_query_parse(struct http_request *req, const struct http_qspec *spec, size_t n,
                      struct http_qval *out);

/* The limit in force: the given one, else HTTP_QUERY_LIMIT_DEFAULT. */
size_t http_query_limit(const struct http_qval *limit);

/* A list answer's object: {"items": items} and, for an older list whose key is not "items"
 * (NULL: none), the same array under key too (deprecated, one release). Steals items. */
json_t *http_list_json(const char *key, json_t *items);

/* Answers 200 http_list_json(key, items) plus "next" per the paging contract: next (stolen;
 * may be NULL) is sent only when the page is full (items holds limit entries), i.e. more may
 * follow. Steals items. */
int http_respond_page(struct http_request *req, const char *key, json_t *items, size_t limit,
                      json_t *next);

#endif
