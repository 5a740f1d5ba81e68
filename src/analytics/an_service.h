/* What the admin handlers (analytics_http.c) read of the instance (analytics_service.c). */
#ifndef IOTSEC_ANALYTICS_SERVICE_H
#define IOTSEC_ANALYTICS_SERVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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
struct http_request;
int analytics_group_mud(struct analytics *a, const char *group, const struct an_mud *mud);
/* Removes the MUD of every group not named in keep[0..n). */
int analytics_groups_mud_retain(struct analytics *a, const char *const *keep, size_t n);
/* analytics_mud.c: when the AN_MUD_TOPIC sequence differs from *seq (at start: -1), puts the
 * persisted MUD files into the engine, removes those deleted, and sets *seq. One read of the
 * topic when nothing moved; on a store error *seq stays, so the next tick tries again. */
int analytics_mud_sync(struct analytics *a, struct store *s, int64_t *seq);
int analytics_mud_routes(struct http_server *srv, struct analytics *a);
/* GET /admin/v1/analytics/conditions (analytics_conditions_http.c). */
int analytics_conditions_routes(struct http_server *srv, struct analytics *a);
/* The admin face's gate (analytics_http.c): false after answering 403. */
bool analytics_admin_ok(struct http_request *req, struct analytics *a);
/* Query values shared by the admin lists: a group or enrollment name (no control
 * characters); a time as RFC 3339 or unix seconds. */
bool analytics_group_name_ok(const char *s);
bool analytics_since_ok(const char *s);

#endif
