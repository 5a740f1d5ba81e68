/* T8 MonitoringEvent (TS 29.122 §5.3, 3gpp-monitoring-event/v1) on the northbound face:
 * subscriptions of application servers to the location, loss of connectivity and
 * reachability of their devices, and counts of devices in an area, fed by the location
 * capability and delivered as MonitoringNotification by the outbound engine (http/outbound.h):
 * destinations must be https and public unless the AF's allow-list (iotsecctl af update
 * --allow-destination) or the lab switch (http to loopback) says otherwise, checked at subscription
 * and delivery.
 *
 * Every request goes through the northbound service (northbound.h): bound token, scope
 * monitoring-event, scsAsId = the token's AF, devices named by the AF's external ID and
 * resolved within that AF only, consent per device, every decision audited. No SUPI ever
 * leaves: reports name the AF's external ID.
 *
 * Threads: handlers run on northbound workers; watches run on the SBI workers that ingest
 * events; notifications are sent by the outbound engine's thread. t8_tick from the daemon's main
 * loop. */
#ifndef IOTSEC_EXPOSE_T8_H
#define IOTSEC_EXPOSE_T8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expose/northbound.h"
#include "location/location.h"

enum t8_granularity { T8_GRAN_CELL = 0, T8_GRAN_TA = 1 };

struct t8_config {
    struct expose_nb *nb; /* borrowed */
    struct location *loc; /* borrowed */
    struct store *store;  /* borrowed */
    const char *api_root; /* "https://host:port" of the northbound face, for self links */
    enum t8_granularity granularity_cap; /* operator policy: the finest location reported */
    unsigned k_anonymity;       /* NUMBER_OF_UES_IN_AN_AREA: counts below are withheld; 10 */
    unsigned count_per_minute;  /* area counts per AF per minute; 6 */
    size_t max_subscriptions;   /* all AFs; 100000 */
    size_t max_per_af;          /* 1000 */
    bool allow_http_loopback;   /* notificationDestination http://127.0.0.1... (labs, tests) */
    const char *notify_ca_file; /* NULL: the system CA store */
    unsigned notify_timeout_ms; /* per notification transfer; 5000 */
    unsigned notify_backoff_ms; /* first retry; 200 */
    size_t notify_queue_max;    /* 10000 */
};

struct t8;

/* Loads the stored subscriptions (re-resolving their devices, re-arming their watches),
 * starts the notification thread. */
int t8_new(const struct t8_config *cfg, struct t8 **out);
/* Stops notifications, removes the watches, frees. Call after the servers stopped, before
 * the location capability and the store are freed. */
void t8_free(struct t8 *t);

/* /3gpp-monitoring-event/v1/{scsAsId}/subscriptions[/{subscriptionId}] via expose_nb_route. */
int t8_routes(struct t8 *t);

/* The northbound face's URL once its port is bound (self links); call once, at start. */
void t8_set_api_root(struct t8 *t, const char *root);

/* Housekeeping, about once a second: ends expired and fulfilled subscriptions. */
void t8_tick(struct t8 *t);

/* ---- the operator's view (t8_admin_http.c) ---- */

/* A stored subscription as the admin face lists it (texts valid during the callback only). */
struct t8_row {
    const char *af_id, *subscription_id, *external_id, *consent_id, *body;
    int64_t created_at, expires_at, reports;
};
typedef void (*t8_row_fn)(void *ctx, const struct t8_row *r);
/* Stored subscriptions ordered by (af_id, subscription_id), of one AF (af_id non-NULL), after
 * the cursor (after_af, after_id) when after_af is non-NULL; at most limit. */
int t8_store_list(struct store *st, const char *af_id, const char *after_af, const char *after_id,
                  size_t limit, t8_row_fn fn, void *ctx);

/* GET /admin/v1/monitoring-subscriptions[?af=&after=&limit=] on the admin face: reads the
 * store only, so every instance answers the same. */
struct http_server;
int t8_admin_routes(struct http_server *adm, struct store *st);

/* Prometheus lines (subscriptions, reports, notifications). */
struct strbuf;
int t8_metrics(struct t8 *t, struct strbuf *out);

#endif
