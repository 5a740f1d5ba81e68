/* What the admin handlers (analytics_http.c) read of the instance (analytics_service.c). */
#ifndef IOTSEC_ANALYTICS_SERVICE_H
#define IOTSEC_ANALYTICS_SERVICE_H

#include <jansson.h>

#include "analytics/analytics.h"

struct an_findings_query;
/* The persisted findings matching q, oldest first, each with the SUPI it had when flagged
 * (admin face only) and its evidence; *out is a new array. */
int analytics_findings_list(struct analytics *a, const struct an_findings_query *q, json_t **out);
json_t *analytics_stats_json(struct analytics *a);
/* The options the instance runs with (the admin certificate, the store). */
const struct analytics_options *analytics_options_get(const struct analytics *a);

#endif
