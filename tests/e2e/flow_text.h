/* A growing NDJSON text of flow records for the analytics tests: one formatted line at a time. */
#ifndef IOTSEC_E2E_FLOW_TEXT_H
#define IOTSEC_E2E_FLOW_TEXT_H

#include <stddef.h>

struct text {
    char *data;
    size_t len, cap;
};

/* Appends one line (printf format, at most 511 characters) and a newline; fails the test if
 * memory runs out. */
void add_line(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
