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

/* Sets (mud) or removes (NULL) the MUD of a device group on the engine (analytics_service.c). */
struct an_mud;
struct store;
struct http_server;
int analytics_group_mud(struct analytics *a, const char *group, const struct an_mud *mud);
/* analytics_mud.c: the persisted MUD files into the engine (at start), and their routes. */
int analytics_mud_restore(struct analytics *a, struct store *s);
int analytics_mud_routes(struct http_server *srv, struct analytics *a);

#endif
