/* Internals of the T8 MonitoringEvent service (t8_*.c). */
#ifndef IOTSEC_EXPOSE_T8_INT_H
#define IOTSEC_EXPOSE_T8_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "expose/t8.h"
#include "http/outbound.h"

#define T8_SUB_ID_LEN   32 /* hex of 16 random bytes */
#define T8_MSISDN_MAX   32
#define T8_BUCKETS      4096

enum t8_type {
    T8_LOCATION_REPORTING = 1,
    T8_LOSS_OF_CONNECTIVITY,
    T8_UE_REACHABILITY,
    T8_NUMBER_OF_UES_IN_AN_AREA,
};

enum t8_loc_type { T8_LOC_CURRENT = 0, T8_LOC_LAST_KNOWN, T8_LOC_CURRENT_OR_LAST_KNOWN };

/* A subscription as decoded and validated (pure: t8_decode.c). */
struct t8_request {
    enum t8_type type;
    char external_id[EXTID_MAX]; /* "" when msisdn is given */
    char msisdn[T8_MSISDN_MAX];
    char destination[OUTBOUND_URL_MAX];
    unsigned max_reports;        /* 0: unbounded (then expire_ms is set) */
    int64_t expire_ms;           /* 0: none (then max_reports is set) */
    enum t8_loc_type loc_type;
    enum t8_granularity accuracy; /* asked for; capped by policy */
    char reachability_type[8];   /* "SMS" / "DATA" */
    struct loc_area area;        /* NUMBER_OF_UES_IN_AN_AREA */
};

/* Why a request was refused: HTTP status, 3GPP-style cause, the offending member. */
struct t8_refusal {
    int status;
    const char *cause;
    const char *param;
    const char *detail;
};

/* Decodes a MonitoringEventSubscription. now_ms: monitorExpireTime must be in the future.
 * Returns IOTSEC_OK, or IOTSEC_ERR_INVALID with *why filled (400, or 403 for a permanent
 * identity (SUPI/IMSI) where an external ID belongs). req->area is owned by req on success:
 * loc_area_free_members(&req->area). */
int t8_decode(const json_t *body, int64_t now_ms, bool allow_http_loopback,
              struct t8_request *req, struct t8_refusal *why);

/* The destination policy for af_id's subscriptions: https (http to loopback with the lab
 * switch), every resolved address public or allow-listed for that AF. IOTSEC_OK, or
 * IOTSEC_ERR_INVALID with *why. Resolves the host (on the calling thread). */
int t8_destination_check(struct t8 *t, const char *af_id, const char *url, const char **why);

/* Whether s looks like a permanent identity (imsi-..., a bare IMSI, a SUPI NAI...). */
bool t8_looks_permanent(const char *s);

/* A live subscription. */
struct t8_sub {
    char id[T8_SUB_ID_LEN + 1];
    char owner[OUTBOUND_OWNER_MAX]; /* af_id "/" id: the notify owner and registry key */
    struct expose_af af;          /* the AF as authenticated at creation */
    struct t8_request req;
    char supi[LOC_SUPI_MAX];      /* resolved inside; never leaves */
    char self[OUTBOUND_URL_MAX];  /* the resource URI */
    json_t *body;                 /* as accepted (with self), for GET */
    char *body_text;              /* body serialised, made by the first GET (under t->mu): a
                                   * body never changes (PUT makes a new t8_sub) */
    size_t body_len;
    uint64_t watch_id;            /* 0: none */
    atomic_uint reports;          /* notifications produced */
    atomic_bool done;             /* fulfilled or expired: t8_tick removes it */
    int64_t done_at_ms;           /* when t8_tick first saw it done (under the lock) */
    uint64_t stored_hash;         /* t8_text_hash of the body as stored: t8_sync's "changed?" */
    uint64_t sync_gen;            /* the last t8_sync that found it stored */
    struct t8 *t;
    struct t8_sub *next;          /* registry chain */
};

struct t8 {
    struct t8_config cfg;
    struct outbound *notify;      /* the delivery engine (http/outbound.h) */
    pthread_mutex_t mu;           /* the registry */
    pthread_mutex_t change_mu;    /* a change (store + registry) or a t8_sync, one at a time */
    int64_t topic_seq;            /* T8_TOPIC as last synced (t8_tick's thread) */
    uint64_t sync_gen;
    unsigned sync_failed;         /* stored ones the last t8_sync could not take over */
    unsigned sync_retries;        /* syncs still to try for them without a topic move */
    struct t8_sub *buckets[T8_BUCKETS];
    size_t count;
    pthread_mutex_t rate_mu;      /* area-count rate limit per AF */
    struct t8_rate { char af_id[EXPOSE_ID_MAX + 1]; int64_t window_ms; unsigned n; } rates[256];
    atomic_uint_fast64_t reports, refused_notifications;
    char root_init[256], root_bound[256];
    _Atomic(const char *) api_root; /* root_init until the port is known, then root_bound */
};

/* t8_report.c: MonitoringEventReport objects (pure). */
json_t *t8_location_report(const struct t8_request *rq, enum t8_granularity cap,
                           const char *external_id, const struct ue_state *st, int64_t now_ms,
                           const char *exception_cause);
json_t *t8_event_report(enum t8_type type, const struct t8_request *rq, const char *external_id,
                        int64_t event_ms);
json_t *t8_count_report(uint64_t count, bool suppressed, int64_t now_ms);
json_t *t8_notification(const char *self, json_t *report); /* steals report */
const char *t8_type_name(enum t8_type t);

/* t8_note.c: the same notifications as text, for the event path. Return the length written
 * (NUL-terminated) or -1 when cap is too small. */
#define T8_NOTE_MAX 4096
int t8_location_note(char *buf, size_t cap, const char *self, const struct t8_request *rq,
                     enum t8_granularity gcap, const char *ext, const struct ue_event *ev,
                     int64_t now_ms, const char *exception_cause);
int t8_event_note(char *buf, size_t cap, const char *self, enum t8_type type,
                  const struct t8_request *rq, const char *ext, int64_t event_ms);

/* t8_store.c. Every write that adds, changes or removes a subscription bumps T8_TOPIC in its
 * transaction: the other instances see it move and bring their registries in line (t8_sync). */
#define T8_TOPIC "t8"
#define T8_SYNC_RETRIES 30 /* ticks (seconds) a subscription not taken over is tried again */
/* Stores s and records in s->stored_hash the hash of the body as stored. */
int t8_store_put(struct store *st, struct t8_sub *s);
int t8_store_delete(struct store *st, const char *af_id, const char *id);
/* Calls fn for each stored subscription (af_id, id, body JSON text, created). */
int t8_store_each(struct store *st, int (*fn)(void *ctx, const char *af_id, const char *id,
                                              const char *external_id, const char *body),
                  void *ctx);
/* Counts one more report of the subscription in the store: *n is the count with it, 0 when
 * the subscription is no longer stored. */
int t8_store_count_report(struct store *st, const char *af_id, const char *id, int64_t *n);
/* The SUPIs af_id has a live monitoring consent for (directly or by group), minus the devices
 * whose owners opted out of monitoring: the devices an area count may count. */
int t8_store_consented(struct store *st, const char *af_id, int64_t now_s,
                       int (*fn)(void *ctx, const char *supi), void *ctx);

/* t8.c: registry and watches */
uint64_t t8_text_hash(const char *text);
/* Held by the handlers around each change of a subscription (store, then registry), so that a
 * t8_sync never sees one half done. */
void t8_change_lock(struct t8 *t);
void t8_change_unlock(struct t8 *t);
int t8_sub_add(struct t8 *t, struct t8_sub *s);   /* takes ownership on success */
struct t8_sub *t8_sub_take(struct t8 *t, const char *af_id, const char *id); /* unlinks */
void t8_sub_free(struct t8 *t, struct t8_sub *s); /* unwatches, cancels notifications */
/* Runs fn on the subscription under the registry lock (NULL if absent). */
bool t8_sub_with(struct t8 *t, const char *af_id, const char *id,
                 void (*fn)(void *ctx, struct t8_sub *s), void *ctx);
size_t t8_sub_count_af(struct t8 *t, const char *af_id);
int t8_sub_arm(struct t8 *t, struct t8_sub *s);   /* location watch */

#endif
