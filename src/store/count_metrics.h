/* Prometheus samples counted in the database, for /metrics: the capabilities' *_store.c hold
 * the SQL (a GROUP BY whose last column is the count), this renders it. */
#ifndef IOTSEC_STORE_COUNT_METRICS_H
#define IOTSEC_STORE_COUNT_METRICS_H

#include "base/strbuf.h"
#include "store/store.h"

/* Appends "# HELP name help", "# TYPE name type" and one sample per row of sql, whose columns
 * are the values of labels[0..n_labels-1] and then the count. Label values are escaped. */
int store_count_metrics(struct store *s, const char *sql, const char *name, const char *type,
                        const char *help, const char *const *labels, unsigned n_labels,
                        struct strbuf *out);

#endif
