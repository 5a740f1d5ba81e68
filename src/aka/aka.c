/* The AKA capability: construction, the shared vector flow, identity resolution, metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aka/aka_int.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "crypto/autn.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

struct aka *aka_new(const struct aka_config *cfg, struct store *store, const struct seal_kek *kek,
                    const struct suci_keyring *keyring)
{
    struct aka *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->cfg = *cfg;
    if (a->cfg.sqn_block == 0)
        a->cfg.sqn_block = 1000;
    if (a->cfg.ctx_ttl_s == 0)
        a->cfg.ctx_ttl_s = 30;
    if (a->cfg.max_synch_failures == 0)
        a->cfg.max_synch_failures = 2;
    if (a->cfg.ctx_limit == 0)
        a->cfg.ctx_limit = 1000000;
    a->store = store;
    a->kek = kek;
    a->keyring = keyring;
    a->sqn = sqn_cache_new();
    a->ctxs = auth_ctx_table_new(a->cfg.ctx_limit);
    a->seen = aka_seen_new();
    a->subs = sub_cache_new(store, kek, a->cfg.sub_cache_max);
    uint8_t r[16];
    if (crypto_random(r, sizeof(r)) == IOTSEC_OK) { /* a version 4 UUID (RFC 9562) */
        r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
        r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
        char h[33];
        hex_encode(r, sizeof(r), h);
        snprintf(a->instance_id, sizeof(a->instance_id), "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8,
                 h + 12, h + 16, h + 20);
    }
    if (a->sqn == NULL || a->ctxs == NULL || a->seen == NULL || a->subs == NULL) {
        aka_free(a);
        return NULL;
    }
    return a;
}

void aka_free(struct aka *a)
{
    if (a == NULL)
        return;
    sqn_cache_free(a->sqn);
    auth_ctx_table_free(a->ctxs);
    aka_seen_free(a->seen);
    sub_cache_free(a->subs);
    free(a);
}

int aka_routes(struct aka *a, struct http_server *srv)
{
    int rc = http_server_route(srv, "POST",
                               "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data",
                               aka_udm_generate_auth_data, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/nausf-auth/v1/ue-authentications",
                               aka_ausf_authenticate, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "PUT",
                               "/nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation",
                               aka_ausf_confirm_5g_aka, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST",
                               "/nausf-auth/v1/ue-authentications/{authCtxId}/eap-session",
                               aka_ausf_eap_session, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "DELETE",
                               "/nausf-auth/v1/ue-authentications/{authCtxId}/5g-aka-confirmation",
                               aka_ausf_delete_result, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "DELETE",
                               "/nausf-auth/v1/ue-authentications/{authCtxId}/eap-session",
                               aka_ausf_delete_result, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/nausf-auth/v1/ue-authentications/deregister",
                               aka_ausf_deregister, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "POST", "/nudm-ueau/v1/{supi}/auth-events",
                               aka_udm_auth_event_create, a);
    if (rc == IOTSEC_OK)
        rc = http_server_route(srv, "PUT", "/nudm-ueau/v1/{supi}/auth-events/{authEventId}",
                               aka_udm_auth_event_remove, a);
    return rc;
}

int aka_admin_routes(struct aka *a, struct http_server *adm)
{
    return http_server_route(adm, "GET", "/admin/v1/subscribers/{supi}/auth-events",
                             aka_admin_auth_events, a);
}

int64_t aka_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void aka_tick(struct aka *a)
{
    auth_ctx_expire(a->ctxs, aka_now_ms());
    aka_lease_tick(a);
}

void aka_count(struct aka *a, enum aka_counter c)
{
    atomic_fetch_add_explicit(&a->counters[c], 1, memory_order_relaxed);
}

int aka_metrics(struct aka *a, struct strbuf *out)
{
    static const char *const results[AKA_COUNTER_COUNT] = {
        "udm_vector",   "ausf_started", "success", "failure",         "rejected_state",
        "unknown_user", "suci_failure", "resync",  "resync_rejected", NULL,
        NULL,           NULL,           NULL};
    int rc =
        strbuf_appendf(out, "# HELP iotsec_authentications_total Authentication events by result.\n"
                            "# TYPE iotsec_authentications_total counter\n");
    for (int i = 0; rc == IOTSEC_OK && i < AKA_SQN_RESERVATIONS; i++)
        rc = strbuf_appendf(out, "iotsec_authentications_total{result=\"%s\"} %llu\n", results[i],
                            (unsigned long long)atomic_load(&a->counters[i]));
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_sqn_reservations_total SQN blocks reserved durably.\n"
            "# TYPE iotsec_sqn_reservations_total counter\n"
            "iotsec_sqn_reservations_total %llu\n"
            "# HELP iotsec_sqn_lease_refusals_total Vectors refused while the SQN slot's"
            " lease could not be renewed.\n"
            "# TYPE iotsec_sqn_lease_refusals_total counter\n"
            "iotsec_sqn_lease_refusals_total %llu\n"
            "# HELP iotsec_sqn_slot The SQN slot (IND range) this instance leases; -1: none.\n"
            "# TYPE iotsec_sqn_slot gauge\niotsec_sqn_slot %d\n",
            (unsigned long long)atomic_load(&a->counters[AKA_SQN_RESERVATIONS]),
            (unsigned long long)atomic_load(&a->counters[AKA_SQN_LEASE_REFUSED]),
            aka_lease_usable(a) ? a->lease.slot : -1);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_ausf_contexts Authentication contexts awaiting confirmation.\n"
            "# TYPE iotsec_ausf_contexts gauge\niotsec_ausf_contexts %zu\n"
            "# HELP iotsec_sqn_generators SQN generators held in memory.\n"
            "# TYPE iotsec_sqn_generators gauge\niotsec_sqn_generators %zu\n",
            auth_ctx_count(a->ctxs), sqn_cache_size(a->sqn));
    struct sub_cache_stats cs;
    sub_cache_stats(a->subs, &cs);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_subscription_cache_lookups_total Subscriptions looked up for"
            " authentication, by where they came from.\n"
            "# TYPE iotsec_subscription_cache_lookups_total counter\n"
            "iotsec_subscription_cache_lookups_total{from=\"memory\"} %llu\n"
            "iotsec_subscription_cache_lookups_total{from=\"database\"} %llu\n"
            "# HELP iotsec_subscription_cache_rows Subscriptions held in the cache.\n"
            "# TYPE iotsec_subscription_cache_rows gauge\niotsec_subscription_cache_rows %zu\n"
            "# HELP iotsec_subscription_cache_invalidations_total Cached rows dropped because"
            " the subscription changed (this or another instance).\n"
            "# TYPE iotsec_subscription_cache_invalidations_total counter\n"
            "iotsec_subscription_cache_invalidations_total %llu\n"
            "# HELP iotsec_subscription_cache_log_failures_total Reads of the change log that"
            " failed (the cache is bypassed until one succeeds).\n"
            "# TYPE iotsec_subscription_cache_log_failures_total counter\n"
            "iotsec_subscription_cache_log_failures_total %llu\n",
            (unsigned long long)cs.hits, (unsigned long long)cs.misses, cs.entries,
            (unsigned long long)cs.invalidations, (unsigned long long)cs.poll_failures);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(
            out,
            "# HELP iotsec_suci_deconcealments_total SUCI de-concealments run (profile B: an"
            " ECDH each).\n"
            "# TYPE iotsec_suci_deconcealments_total counter\n"
            "iotsec_suci_deconcealments_total %llu\n"
            "# HELP iotsec_aka_cancelled_total Vector requests dropped before their vector"
            " because the client had gone (stream reset, connection closed).\n"
            "# TYPE iotsec_aka_cancelled_total counter\niotsec_aka_cancelled_total %llu\n",
            (unsigned long long)atomic_load(&a->counters[AKA_SUCI_DECONCEAL]),
            (unsigned long long)atomic_load(&a->counters[AKA_CANCELLED]));
    return rc;
}

/* ---- jobs ---- */

struct av_job *aka_job_new(struct aka *a, struct http_request *req, enum av_for purpose)
{
    struct av_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        http_respond_error(req, IOTSEC_ERR_NOMEM, "authentication");
        return NULL;
    }
    job->aka = a;
    job->req = req;
    job->purpose = purpose;
    return job;
}

void aka_job_free(struct av_job *job)
{
    if (job != NULL) {
        free(job->ahead);
        secure_wipe(job, sizeof(*job));
        free(job);
    }
}

/* TS 29.503 §6.1.7.3 / TS 29.509 §6.1.7.3: an unknown home network key is
 * INVALID_HN_PUBLIC_KEY_IDENTIFIER and a scheme output that does not de-conceal (bad MAC
 * tag, no point, not an MSIN) INVALID_SCHEME_OUTPUT, both 403; only a protection scheme we do
 * not implement is 501 (some AMFs bar the home network on a 501: keep it for that case). */
static void answer_suci_failure(struct http_request *req, int rc, const char *suci,
                                const char *param)
{
    enum suci_scheme scheme;
    uint8_t key_id;
    if (rc == IOTSEC_ERR_UNSUPPORTED)
        http_respond_invalid(req, 501, "UNSUPPORTED_PROTECTION_SCHEME", param,
                             "this protection scheme is not supported");
    else if (rc == IOTSEC_ERR_NOTFOUND)
        http_respond_invalid(req, 403, "INVALID_HN_PUBLIC_KEY_IDENTIFIER", param,
                             "no home network key with this key id for this scheme");
    else if (rc == IOTSEC_ERR_AUTH ||
             (rc == IOTSEC_ERR_INVALID && suci_peek(suci, &scheme, &key_id) == IOTSEC_OK))
        http_respond_invalid(req, 403, "INVALID_SCHEME_OUTPUT", param,
                             "the scheme output does not de-conceal under this key");
    else if (rc == IOTSEC_ERR_INVALID)
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", param, "malformed SUCI");
    else
        http_respond_error(req, rc, "SUCI de-concealment");
}

int aka_load_subscriber(struct av_job *job, const char *supi_or_suci, const char *param_name)
{
    struct aka *a = job->aka;
    struct http_request *req = job->req;
    struct supi supi;
    if (supi_or_suci == NULL) {
        http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", param_name, "missing SUPI or SUCI");
        return IOTSEC_ERR_INVALID;
    }
    if (strncmp(supi_or_suci, "suci-", 5) == 0) {
        int rc = suci_deconceal(a->keyring, supi_or_suci, &supi);
        aka_count(a, AKA_SUCI_DECONCEAL);
        if (rc != IOTSEC_OK) {
            aka_count(a, AKA_SUCI_FAILURE);
            answer_suci_failure(req, rc, supi_or_suci, param_name);
            return rc;
        }
    } else if (supi_parse(supi_or_suci, &supi) != IOTSEC_OK) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", param_name, "not a SUPI or SUCI");
        return IOTSEC_ERR_INVALID;
    }
    supi_format(&supi, job->supi, sizeof(job->supi));
    /* From the instance's cache when fresh (no round trip), else one read of the row. */
    int rc = a->cfg.sub_cache_off
                 ? subscriber_get_keys(a->store, a->kek, job->supi, &job->sub, &job->keys)
                 : sub_cache_get(a->subs, job->supi, &job->sub, &job->keys);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        aka_count(a, AKA_UNKNOWN_USER);
        http_respond_invalid(req, 404, "USER_NOT_FOUND", NULL, "no subscription for this identity");
        return rc;
    }
    if (rc != IOTSEC_OK) {
        log_msg(LOG_ERROR, http_request_id(req), "credential lookup failed: %s (%s)",
                iotsec_strerror(rc), store_errmsg());
        http_respond_error(req, rc, "credential lookup");
        return rc;
    }
    int64_t now = aka_now_ms() / 1000;
    bool refused = sub_may_authenticate(&job->sub, now) != IOTSEC_OK;
    aka_seen_record(a->seen, job->supi, job->sub.cred_version, job->snn, now, refused);
    if (refused) {
        aka_count(a, AKA_REJECTED_STATE);
        http_respond_invalid(req, 403, "AUTHENTICATION_REJECTED", NULL,
                             "the subscription may not authenticate");
        return IOTSEC_ERR_STATE;
    }
    return IOTSEC_OK;
}

int aka_take_snn(struct av_job *job, const char *snn, const char *param_name)
{
    struct snn parsed;
    if (snn == NULL) {
        http_respond_invalid(job->req, 400, "MANDATORY_IE_MISSING", param_name,
                             "servingNetworkName is required");
        return IOTSEC_ERR_INVALID;
    }
    if (snn_parse(snn, &parsed) != IOTSEC_OK) {
        http_respond_invalid(job->req, 400, "MANDATORY_IE_INCORRECT", param_name,
                             "servingNetworkName must be 5G:mncXXX.mccYYY.3gppnetwork.org[:NID]");
        return IOTSEC_ERR_INVALID;
    }
    snprintf(job->snn, sizeof(job->snn), "%s", snn);
    job->ind = sqn_ind_in_slot(job->aka->lease.slot, snn, strlen(snn));
    return IOTSEC_OK;
}

int aka_take_resync(struct av_job *job, const char *rand_hex, const char *auts_hex,
                    const char *param_name)
{
    uint8_t rand[16], auts[AUTS_LEN], sqn_ms[6];
    if (rand_hex == NULL || auts_hex == NULL || hex_decode(rand_hex, rand, 16) != IOTSEC_OK ||
        hex_decode(auts_hex, auts, AUTS_LEN) != IOTSEC_OK) {
        http_respond_invalid(job->req, 400, "MANDATORY_IE_INCORRECT", param_name,
                             "resynchronizationInfo needs rand (32 hex digits) and auts (28)");
        return IOTSEC_ERR_INVALID;
    }
    if (auts_recover_sqn_ms(job->keys.k, job->keys.opc, rand, auts, sqn_ms) != IOTSEC_OK) {
        aka_count(job->aka, AKA_RESYNC_REJECTED);
        http_respond_invalid(job->req, 403, "AUTHENTICATION_REJECTED", param_name,
                             "AUTS does not verify (MAC-S)");
        return IOTSEC_ERR_AUTH;
    }
    job->resync = true;
    job->sqn_ms = 0;
    for (int i = 0; i < 6; i++)
        job->sqn_ms = (job->sqn_ms << 8) | sqn_ms[i];
    return IOTSEC_OK;
}

static void reserve_done(void *arg, int rc);

/* On the writer thread: the job's reservation. */
static int reserve_run(struct store_conn *conn, void *arg)
{
    struct av_job *job = arg;
    return sub_op_run(conn, &job->op);
}

/* One attempt to take an SQN; on a miss, submits a durable reservation. */
static void take_or_reserve(struct av_job *job, bool resync)
{
    struct aka *a = job->aka;
    if (!aka_lease_usable(a)) {
        /* Without a live lease another instance may hold these IND values: answer busy. */
        aka_count(a, AKA_SQN_LEASE_REFUSED);
        http_response_header(job->req, "Retry-After", "1");
        http_respond_problem(job->req, 503, NULL, "this instance cannot issue vectors now",
                             "NF_CONGESTION", NULL, 0);
        aka_job_free(job);
        return;
    }
    struct sqn_step step;
    sqn_cache_bind(a->sqn, job->sub.id, job->supi);
    int rc =
        sqn_cache_take(a->sqn, job->sub.id, job->ind, resync, job->sqn_ms, a->cfg.sqn_block, &step);
    if (rc == IOTSEC_OK && resync) {
        aka_count(a, AKA_RESYNC);
        if (step.synch_failures >= a->cfg.max_synch_failures) {
            /* Two synchronisation failures in a row for one subscriber: stop here rather
             * than feed a replaying or cloned UE more vectors. A later attempt may start
             * afresh. */
            sqn_cache_auth_success(a->sqn, job->sub.id);
            aka_count(a, AKA_RESYNC_REJECTED);
            http_respond_invalid(job->req, 403, "AUTHENTICATION_REJECTED", "/resynchronizationInfo",
                                 "repeated synchronisation failures");
            aka_job_free(job);
            return;
        }
    }
    if (rc != IOTSEC_OK) {
        http_respond_error(job->req, rc == IOTSEC_ERR_INVALID ? IOTSEC_ERR_IO : rc,
                           "SQN generation");
        aka_job_free(job);
        return;
    }
    if (step.ok) {
        aka_av_ready(job, step.sqn);
        return;
    }
    if (!job->deferred) {
        http_request_defer(job->req);
        job->deferred = true;
    }
    memset(&job->op, 0, sizeof(job->op));
    job->op.kind = SUB_OP_RESERVE_SQN;
    job->op.sqn_floor = step.reserve_floor;
    job->op.sqn_block = a->cfg.sqn_block;
    job->op.kek = a->kek;
    snprintf(job->op.supi, sizeof(job->op.supi), "%s", job->supi);
    /* A range claimed by this job and not reserved yet (its first try met a locked row) is
     * tried again with it. */
    if ((job->ahead != NULL && !job->ahead_done) ||
        (step.first_use && !resync && job->ahead == NULL &&
         sqn_cache_claim_range(a->sqn, job->sub.id / AKA_SQN_AHEAD) &&
         (job->ahead = calloc(AKA_SQN_AHEAD, sizeof(*job->ahead))) != NULL)) {
        job->op.sqn_near_lo = job->sub.id / AKA_SQN_AHEAD * AKA_SQN_AHEAD;
        job->op.sqn_near_hi = job->op.sqn_near_lo + AKA_SQN_AHEAD;
        job->op.sqn_near = job->ahead;
        job->op.sqn_near_cap = AKA_SQN_AHEAD;
    }
    struct store_job sj = {reserve_run, reserve_done, job};
    rc = store_submit(a->store, &sj);
    if (rc != IOTSEC_OK) {
        http_respond_error(job->req, rc, "SQN reservation");
        aka_job_free(job);
    }
}

/* On the writer thread, after the reservation is durable (or failed). */
static void reserve_done(void *arg, int rc)
{
    struct av_job *job = arg;
    if (rc == IOTSEC_ERR_BUSY && job->op.sqn_locked && job->lock_retries++ < AKA_SQN_LOCK_RETRIES &&
        !http_request_cancelled(job->req)) {
        /* Another instance holds the row until its batch commits: nothing was reserved. */
        take_or_reserve(job, false);
        return;
    }
    if (rc != IOTSEC_OK) {
        /* Whatever the database did, this instance never uses a block it did not see
         * committed: the next attempt reserves a new one. */
        log_msg(LOG_ERROR, http_request_id(job->req), "SQN reservation failed: %s (%s)",
                iotsec_strerror(rc), store_errmsg());
        http_respond_error(job->req, rc, "SQN reservation"); /* BUSY, FULL: 503 */
        aka_job_free(job);
        return;
    }
    struct aka *a = job->aka;
    job->ahead_done = true;
    aka_count(a, AKA_SQN_RESERVATIONS);
    sqn_cache_reserved(a->sqn, job->sub.id, job->op.sqn_reserved, job->op.sqn_block);
    for (size_t i = 0; i < job->op.sqn_near_count; i++) {
        aka_count(a, AKA_SQN_RESERVATIONS);
        sqn_cache_prefill(a->sqn, job->op.sqn_near[i].id, job->op.sqn_near[i].supi,
                          job->op.sqn_near[i].hi, job->op.sqn_block);
    }
    if (http_request_cancelled(job->req)) {
        /* The client reset its stream or hung up while the block was reserved: no vector
         * (no SQN spent, no key derivation) for an answer nobody reads. */
        aka_count(job->aka, AKA_CANCELLED);
        http_respond(job->req, 503, NULL, NULL, 0); /* dropped; frees the request */
        aka_job_free(job);
        return;
    }
    take_or_reserve(job, false); /* others may have used the block meanwhile: try again */
}

void aka_av_start(struct av_job *job)
{
    take_or_reserve(job, job->resync);
}
