/* The daemon's policy instance: each finding becomes a store job that opens and carries out
 * its actions in one transaction (policy_store.c); after the commit, notify actions go to
 * the delivery thread. Findings arrive from the analytics (on the store's writer thread), so
 * nothing here blocks: a bounded number of jobs may be in flight, past it a finding is
 * dropped and counted (the same alarm comes back with the next window). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "policy/policy_int.h"

#define MAX_PENDING 16384 /* a botnet of 1% of a million devices flags 10,000 at once */

struct policy_service {
    struct policy_service_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct policy policy;
    struct policy_notifier *notifier;
    unsigned pending;
    uint64_t dropped;
    policy_enforce_fn enforce;
    void *enforce_arg;
    policy_rotate_fn rotate;
    void *rotate_arg;
};

void policy_set_rotator(struct policy_service *ps, policy_rotate_fn fn, void *arg)
{
    ps->rotate = fn;
    ps->rotate_arg = arg;
}

void policy_set_enforcer(struct policy_service *ps, policy_enforce_fn fn, void *arg)
{
    ps->enforce = fn;
    ps->enforce_arg = arg;
}

void policy_service_enforce(struct policy_service *ps, const char *supi, bool quarantined)
{
    if (ps->enforce)
        ps->enforce(ps->enforce_arg, supi, quarantined);
}

struct policy_service *policy_service_new(const struct policy_service_options *o)
{
    struct policy_service *ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        return NULL;
    ps->o = *o;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->cv, NULL);
    if (policy_store_load(o->store, &ps->policy) != IOTSEC_OK)
        policy_default(&ps->policy);
    ps->o.webhook_ca_file = NULL; /* the caller's string is not kept (the engine copies it) */
    ps->notifier = policy_notifier_new(o->store, o);
    if (ps->notifier == NULL) {
        policy_service_free(ps);
        return NULL;
    }
    return ps;
}

int policy_webhook_check(struct policy_service *ps, const char *url, const char **why)
{
    return outbound_url_check(url, &ps->o.webhook_rules, why);
}

void policy_service_sync(struct policy_service *ps)
{
    pthread_mutex_lock(&ps->mu);
    while (ps->pending > 0)
        pthread_cond_wait(&ps->cv, &ps->mu);
    pthread_mutex_unlock(&ps->mu);
    policy_notifier_sync(ps->notifier);
}

void policy_service_free(struct policy_service *ps)
{
    if (ps == NULL)
        return;
    pthread_mutex_lock(&ps->mu);
    while (ps->pending > 0) /* their done callbacks use the notifier */
        pthread_cond_wait(&ps->cv, &ps->mu);
    pthread_mutex_unlock(&ps->mu);
    policy_notifier_free(ps->notifier);
    pthread_mutex_destroy(&ps->mu);
    pthread_cond_destroy(&ps->cv);
    free(ps);
}

static void act_done(void *arg, int rc)
{
    struct policy_job *j = arg;
    struct policy_service *ps = j->ps;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "policy: acting on a %s finding failed: %s",
                an_exception_name(j->exc), iotsec_strerror(rc));
    else if (j->notify &&
             policy_notifier_post(ps->notifier, j->supi, an_exception_name(j->exc), j->finding_id,
                                  (const char(*)[POLICY_URL_MAX])j->urls, j->nurls,
                                  j->finding) != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "policy: out of memory, a %s finding not delivered",
                an_exception_name(j->exc));
    if (rc == IOTSEC_OK && j->quarantined)
        policy_service_enforce(ps, j->supi, true);
    free(j->finding);
    free(j);
    pthread_mutex_lock(&ps->mu);
    ps->pending--;
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
}

static void observe_done(void *arg, int rc)
{
    struct policy_observe_job *j = arg;
    struct policy_service *ps = j->ps;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "policy: recording an observed decision failed: %s",
                iotsec_strerror(rc));
    free(j);
    pthread_mutex_lock(&ps->mu);
    ps->pending--;
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
}

/* Observe mode: the decision is counted (per action, exception and device), nothing done.
 * Called with ps->mu held. */
static void observe(struct policy_service *ps, const struct an_finding *f, const char *supi,
                    unsigned actions)
{
    if (actions == 0)
        return;
    struct policy_observe_job *j = ps->pending < MAX_PENDING ? calloc(1, sizeof(*j)) : NULL;
    if (j == NULL) {
        ps->dropped++;
        return;
    }
    snprintf(j->supi, sizeof(j->supi), "%s", supi ? supi : "");
    j->exc = f->exc;
    j->actions = actions;
    j->ps = ps;
    struct store_job job = {policy_store_observe, observe_done, j};
    if (store_submit(ps->o.store, &job) != IOTSEC_OK) {
        ps->dropped++;
        free(j);
    } else {
        ps->pending++;
    }
}

void policy_on_finding(void *arg, const struct an_finding *f, const char *supi, const char *json)
{
    struct policy_service *ps = arg;
    pthread_mutex_lock(&ps->mu);
    unsigned actions = policy_decide(&ps->policy, f->exc, f->level, f->confidence);
    if (ps->policy.observe) {
        observe(ps, f, supi, actions);
        pthread_mutex_unlock(&ps->mu);
        return;
    }
    if (supi == NULL || actions == 0 || ps->pending >= MAX_PENDING) {
        /* No SUPI: a device nobody mapped (nothing to act on, and no identity to name). */
        if (ps->pending >= MAX_PENDING)
            ps->dropped++;
        pthread_mutex_unlock(&ps->mu);
        return;
    }
    struct policy_job *j = calloc(1, sizeof(*j));
    char *copy = j ? strdup(json) : NULL;
    if (copy == NULL) {
        free(j);
        pthread_mutex_unlock(&ps->mu);
        return;
    }
    snprintf(j->supi, sizeof(j->supi), "%s", supi);
    j->exc = f->exc;
    j->level = f->level;
    j->window = f->window;
    j->finding_id = f->id;
    j->now = (int64_t)time(NULL);
    j->actions = actions;
    j->rate_kbps = ps->policy.throttle_kbps;
    j->kek = ps->o.kek;
    j->rotate = ps->rotate;
    j->rotate_arg = ps->rotate_arg;
    j->finding = copy;
    j->ps = ps;
    memcpy(j->urls, ps->policy.webhooks, sizeof(j->urls));
    j->nurls = ps->policy.nwebhooks;
    struct store_job job = {policy_store_act, act_done, j};
    if (store_submit(ps->o.store, &job) != IOTSEC_OK) {
        ps->dropped++;
        free(copy);
        free(j);
    } else {
        ps->pending++;
    }
    pthread_mutex_unlock(&ps->mu);
}

void policy_service_get(struct policy_service *ps, struct policy *out)
{
    pthread_mutex_lock(&ps->mu);
    *out = ps->policy;
    pthread_mutex_unlock(&ps->mu);
}

void policy_service_set(struct policy_service *ps, const struct policy *p)
{
    pthread_mutex_lock(&ps->mu);
    ps->policy = *p;
    pthread_mutex_unlock(&ps->mu);
}

const struct policy_service_options *policy_service_options(const struct policy_service *ps)
{
    return &ps->o;
}

int policy_operator(struct store *s, const char *supi, bool quarantine, const char *principal,
                    const char *reason)
{
    struct policy_operator_job oj = {.quarantine = quarantine, .now = (int64_t)time(NULL)};
    snprintf(oj.supi, sizeof(oj.supi), "%s", supi);
    snprintf(oj.principal, sizeof(oj.principal), "%s", principal);
    snprintf(oj.reason, sizeof(oj.reason), "%s", reason);
    int rc = store_write_sync(s, policy_store_operator, &oj);
    return oj.sub_rc != IOTSEC_OK ? oj.sub_rc : rc;
}
