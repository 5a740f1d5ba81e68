/* Notification delivery to application servers: a bounded queue and one delivery thread that
 * POSTs JSON bodies with libcurl's multi interface (many transfers at once, none blocking
 * another), retries with exponential backoff, per-transfer timeouts and a per-destination cap
 * on transfers in flight, so that a destination that hangs only delays itself.
 *
 * - notify_post() never blocks: a full queue drops its OLDEST waiting notification (counted),
 *   because the event path (network events on SBI workers) must never wait for an AF.
 * - Before every attempt (first or retry) the owner's check function is asked whether the
 *   notification may still go (subscription alive, consent still granted): a revoked consent
 *   or a deleted subscription stops delivery at once, including pending retries.
 * - Destinations: https:// (verified against the system CA store, or ca_file), http:// only
 *   to a loopback address (labs and tests) and only when allow_http_loopback is set.
 *
 * Threads: notify_post / notify_cancel / notify_metrics_get from any thread. */
#ifndef IOTSEC_EXPOSE_NOTIFY_H
#define IOTSEC_EXPOSE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_URL_MAX   1024
#define NOTIFY_OWNER_MAX 160

/* May the notification of owner (e.g. "afId/subscriptionId") still be sent? Called on the
 * delivery thread before each attempt. */
typedef bool (*notify_check_fn)(void *ctx, const char *owner);

struct notify_config {
    size_t queue_max;          /* waiting notifications; default 10000 */
    unsigned max_attempts;     /* default 5 */
    unsigned backoff_ms;       /* first retry delay, doubled each time; default 200 */
    unsigned backoff_max_ms;   /* default 30000 */
    unsigned timeout_ms;       /* whole transfer; default 5000 */
    unsigned connect_timeout_ms; /* default 2000 */
    unsigned max_inflight;     /* transfers at once; default 64 */
    unsigned per_dest_inflight; /* transfers at once to one scheme://host:port; default 4 */
    const char *ca_file;       /* NULL: the system CA store */
    bool allow_http_loopback;  /* http:// to 127.0.0.0/8, ::1, localhost */
    notify_check_fn check;     /* NULL: always allowed */
    void *check_ctx;
};

struct notify;

int notify_new(const struct notify_config *cfg, struct notify **out);
/* Stops the thread (abandoning queued notifications) and frees. NULL is a no-op. */
void notify_free(struct notify *n);

/* Checks a destination: IOTSEC_OK, or IOTSEC_ERR_INVALID with *why (a fixed phrase). */
int notify_url_check(const char *url, bool allow_http_loopback, const char **why);

/* Queues body (copied; len bytes of JSON) for url on behalf of owner. url must have passed
 * notify_url_check when it was accepted (here only its scheme and host are looked at again,
 * cheaply: this is the event path). IOTSEC_ERR_INVALID for a bad url, IOTSEC_ERR_NOMEM; a
 * full queue is not an error (the oldest is dropped). */
int notify_post(struct notify *n, const char *url, const char *owner, const char *body,
                size_t len);

/* Drops every queued notification of owner (transfers in flight are aborted). */
void notify_cancel(struct notify *n, const char *owner);

struct notify_metrics {
    uint64_t queued, delivered, failed, dropped_full, dropped_refused, retries, in_queue,
        in_flight;
};
void notify_metrics_get(struct notify *n, struct notify_metrics *m);

#endif
