/* A growable string for building text answers (Prometheus exposition, reports). */
#ifndef IOTSEC_BASE_STRBUF_H
#define IOTSEC_BASE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* NUL-terminated once anything was appended; malloc'd, owned */
    size_t len, cap;
};

/* Appends formatted text. Returns IOTSEC_OK or IOTSEC_ERR_NOMEM (the buffer is unchanged). */
int strbuf_appendf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends len bytes. */
int strbuf_append(struct strbuf *b, const char *s, size_t len);

/* Appends s as a JSON string: quoted, '"' and '\\' escaped, control characters as \u00XX,
 * other bytes as they are (s is UTF-8: what a JSON parser accepted or an id checked). For
 * answers written as text on hot paths, where a JSON tree costs more than the work. */
int strbuf_append_json_str(struct strbuf *b, const char *s);

void strbuf_free(struct strbuf *b);

#endif
