/* Internals shared by the AKA capability's files. */
#ifndef IOTSEC_AKA_INT_H
#define IOTSEC_AKA_INT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "aka/aka.h"
#include "aka/aka_cache.h"
#include "crypto/snn.h"
#include "subscriber/sub_cache.h"
#include "subscriber/subscriber.h"

enum aka_counter {
    AKA_UDM_VECTORS,       /* vectors handed out by the UDM endpoint */
    AKA_AUSF_STARTED,      /* AUSF authentications started */
    AKA_AUSF_SUCCESS,      /* confirmations with the right RES* */
    AKA_AUSF_FAILURE,      /* confirmations with a wrong RES* */
    AKA_REJECTED_STATE,    /* subscriptions that may not authenticate */
    AKA_UNKNOWN_USER,      /* SUPI/SUCI with no subscription */
    AKA_SUCI_FAILURE,      /* SUCIs that did not de-conceal */
    AKA_RESYNC,            /* resynchronisations performed */
    AKA_RESYNC_REJECTED,   /* AUTS that failed MAC-S, or too many in a row */
    AKA_SQN_RESERVATIONS,  /* SQN blocks reserved durably */
    AKA_SQN_LEASE_REFUSED, /* vectors refused: the SQN slot's lease could not be renewed */
    AKA_SUCI_DECONCEAL,    /* SUCI de-concealments run (the costly step: ECDH for B) */
    AKA_CANCELLED,         /* deferred vector requests dropped: the client had gone */
    AKA_COUNTER_COUNT,
};

struct aka {
    struct aka_config cfg;
    struct store *store;
    const struct seal_kek *kek;
    const struct suci_keyring *keyring;
    struct sqn_cache *sqn;
    struct auth_ctx_table *ctxs;
    struct aka_seen *seen; /* last seen per credential (aka_seen.c) */
    struct sub_cache *subs; /* subscriptions read for authentication (sub_cache.h) */
    char instance_id[37];  /* this AUSF's NfInstanceId in the events it reports */
    atomic_uint_fast64_t counters[AKA_COUNTER_COUNT];
    /* The SQN slot this instance leases (aka_lease.c): which IND values it uses. */
    struct sqn_lease lease;             /* slot and holder fixed after the claim */
    atomic_int_fast64_t lease_until_ms; /* 0: no lease (vectors refused) */
    atomic_bool renewing;               /* a renewal job is in flight */
    int64_t last_renew_ms;              /* aka_tick's thread only */
};

/* Whether vectors may be issued now (the lease has margin left). */
bool aka_lease_usable(struct aka *a);
/* Submits a renewal when a third of the lease has passed (aka_tick). */
void aka_lease_tick(struct aka *a);

struct aka_seen *aka_seen_new(void);
void aka_seen_free(struct aka_seen *t);
void aka_seen_record(struct aka_seen *t, const char *supi, uint32_t cred_version, const char *snn,
                     int64_t now, bool refused);

void aka_count(struct aka *a, enum aka_counter c);

/* Who asked for the vector, which decides how the answer is built. */
enum av_for { AV_FOR_UDM, AV_FOR_AUSF };

/* One request for an authentication vector, from its handler to its answer (which may come
 * from the store's writer thread after a durable SQN reservation). Holds K and OPc: it is
 * wiped when freed. */
struct av_job {
    struct aka *aka;
    struct http_request *req;
    enum av_for purpose;
    struct subscription sub;
    struct sub_keys keys;
    char supi[SUPI_STRING_MAX];
    char snn[SNN_MAX];
    unsigned ind;
    bool resync;
    uint64_t sqn_ms;
    bool deferred;
    struct sub_op op;        /* the reservation, while in the writer's queue */
    struct sqn_grant *ahead; /* its blocks reserved ahead for neighbours (AKA_SQN_AHEAD) */
    bool ahead_done;         /* that reservation committed (a retry does not repeat it) */
    unsigned lock_retries;   /* reservations submitted again: the row was locked elsewhere */
};

/* A reservation whose row another instance's transaction holds is submitted again (it runs in
 * a later batch, after this writer's next commit), at most this many times, then 503. */
#define AKA_SQN_LOCK_RETRIES 100

/* The first use of a subscriber in a run also reserves a block for every active subscription in
 * its range of AKA_SQN_AHEAD ids, in the same job and one statement, once per range and run. A
 * start (or a restart) then costs one durable write per range instead of one per subscriber:
 * subscriptions imported together sit in one range and tend to authenticate together. The price
 * is a block skipped for each neighbour that does not authenticate before the next restart,
 * as the start-up pass before issue 10 skipped one for every subscriber. 256: 100k subscribers
 * are covered by ~400 reservations (~1 s into a 64-stream burst on a loaded 2-core machine;
 * 64 took ~3 s), and one statement of 256 rows stays a few milliseconds on PostgreSQL. */
#define AKA_SQN_AHEAD 256

/* Resolves the identity of a request ("imsi-...", "nai-...", "suci-...") and loads the
 * subscription and its keys into job. On failure answers req with the right ProblemDetails
 * and returns a negative code. */
int aka_load_subscriber(struct av_job *job, const char *supi_or_suci, const char *param_name);

/* Checks and reads the serving network name (answers 400 on a bad one). */
int aka_take_snn(struct av_job *job, const char *snn, const char *param_name);

/* Verifies AUTS for a resynchronisation request and records SQN_MS in job (answers 403 on
 * MAC-S failure). rand/auts: hex strings. */
int aka_take_resync(struct av_job *job, const char *rand_hex, const char *auts_hex,
                    const char *param_name);

/* Takes an SQN (reserving a block durably first when needed) and then calls
 * aka_av_ready(job, sqn), which answers and frees the job. Frees the job itself on failure
 * (after answering). */
void aka_av_start(struct av_job *job);

/* Implemented per purpose: builds the vector for sqn, answers job->req, frees job. */
void aka_av_ready(struct av_job *job, uint64_t sqn);

struct av_job *aka_job_new(struct aka *a, struct http_request *req, enum av_for purpose);
void aka_job_free(struct av_job *job);

/* Whether s is a UUID in its text form (RFC 9562: 8-4-4-4-12 hex digits), as TS 29.571's
 * NfInstanceId is. */
bool aka_is_uuid(const char *s);

int64_t aka_now_ms(void);

/* Route handlers. */
void aka_udm_generate_auth_data(struct http_request *req, void *user);
void aka_ausf_authenticate(struct http_request *req, void *user);
void aka_ausf_confirm_5g_aka(struct http_request *req, void *user);
void aka_ausf_eap_session(struct http_request *req, void *user);
void aka_ausf_delete_result(struct http_request *req, void *user);
void aka_ausf_deregister(struct http_request *req, void *user);
void aka_udm_auth_event_create(struct http_request *req, void *user);
void aka_udm_auth_event_remove(struct http_request *req, void *user);
void aka_admin_auth_events(struct http_request *req, void *user);

/* ---- stored authentication events (aka_events_store.c: the SQL) ---- */

/* Writer jobs: insert ev (ev->id is set by the caller), keeping the newest
 * AKA_EVENTS_KEPT of its SUPI; mark event (id, supi) removed (IOTSEC_ERR_NOTFOUND when
 * there is no such event). */
#define AKA_EVENTS_KEPT 32
int aka_event_insert_run(struct store_conn *conn, const struct aka_auth_event *ev);
int aka_event_remove_run(struct store_conn *conn, const char *supi, const char *id);

/* Reports a removed authentication result as the UDM records it (aka_events.c): stores an
 * event with authRemovalInd for ctx and answers req 204 once it is durable. */
void aka_report_removal(struct aka *a, struct http_request *req, const struct auth_ctx *ctx);

#endif
