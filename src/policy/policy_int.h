/* Internals of the policy capability shared by its files (and unit tests). */
#ifndef IOTSEC_POLICY_INT_H
#define IOTSEC_POLICY_INT_H

#include "policy/policy.h"
#include "store/store.h"

/* A finding to act on: a store job (policy_store_act runs it on the writer thread). */
struct policy_job {
    char supi[ANALYTICS_SUPI_MAX];
    enum an_exception exc;
    unsigned level;
    int64_t window, now;
    unsigned actions;
    int64_t finding_id; /* the analytics' persisted finding (0: none) */
    uint32_t rate_kbps;
    const struct seal_kek *kek;
    policy_rotate_fn rotate; /* NULL: no over-the-air path */
    void *rotate_arg;
    char *finding;      /* JSON, owned by the job */
    char urls[POLICY_MAX_WEBHOOKS][POLICY_URL_MAX]; /* the policy's webhooks at the time */
    unsigned nurls;
    bool notify;        /* out: a notify action was opened: deliver the finding */
    bool quarantined;   /* out: this job quarantined the subscription */
    struct policy_service *ps;
};

int policy_store_act(struct store_conn *conn, void *job);
/* arg: a struct policy_operator_job: the operator's release or quarantine. */
struct policy_operator_job {
    char supi[ANALYTICS_SUPI_MAX];
    bool quarantine; /* false: release */
    int64_t now;
    char principal[POLICY_PRINCIPAL_MAX];
    char reason[POLICY_REASON_MAX];
    char actor[64]; /* the subscription's event log: an operator account's name; "": "admin" */
    int sub_rc;     /* the subscriber op's result */
};
int policy_store_operator(struct store_conn *conn, void *arg);
/* arg: a struct policy_save_job. */
struct policy_save_job {
    const char *doc;
    int64_t now;
};
int policy_store_save(struct store_conn *conn, void *arg);
/* Appends one audit row (delivery results of notify). */
int policy_store_append(struct store_conn *conn, const struct policy_record *r);

/* The service's policy (policy_service.c), for the admin face. */
void policy_service_get(struct policy_service *ps, struct policy *out);
void policy_service_set(struct policy_service *ps, const struct policy *p);
const struct policy_service_options *policy_service_options(const struct policy_service *ps);
/* Calls the enforcer, if any (after a release). */
void policy_service_enforce(struct policy_service *ps, const char *supi, bool quarantined);

/* Webhook delivery (policy_notify.c): the outbound engine, and the audit row of each finding's
 * deliveries once all its webhooks have answered, failed or been refused. */
struct policy_notifier;
struct policy_notifier *policy_notifier_new(struct store *s,
                                            const struct policy_service_options *o);
void policy_notifier_free(struct policy_notifier *n);
/* Queues a POST of body to each URL (a full queue drops the oldest delivery, recorded as
 * failed). Takes copies. */
int policy_notifier_post(struct policy_notifier *n, const char *supi, const char *exception,
                         int64_t finding_id, const char urls[][POLICY_URL_MAX], unsigned nurls,
                         const char *body);
/* Waits until the queue is empty and nothing is in flight. */
void policy_notifier_sync(struct policy_notifier *n);

#endif
