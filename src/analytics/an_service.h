/* What the admin handlers (analytics_http.c) read of the instance (analytics_service.c). */
#ifndef IOTSEC_ANALYTICS_SERVICE_H
#define IOTSEC_ANALYTICS_SERVICE_H

#include <jansson.h>

#include "analytics/analytics.h"

/* The recent findings (at most 256, oldest first), each with the SUPI when one is mapped. */
json_t *analytics_findings_json(struct analytics *a);
json_t *analytics_stats_json(struct analytics *a);
/* The options the instance runs with (the admin certificate, the store). */
const struct analytics_options *analytics_options_get(const struct analytics *a);

#endif
