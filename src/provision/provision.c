/* The capability's state: the provisioning key, the nonce table and the rate limiter. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "provision/prov_int.h"

#define LIMITER_SLOTS 4096

int provision_new(const struct provision_config *cfg, struct provision **out)
{
    *out = NULL;
    struct provision *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return IOTSEC_ERR_NOMEM;
    p->store = cfg->store;
    p->kek = cfg->kek;
    p->aka = cfg->aka;
    memcpy(p->admin_cert_sha256, cfg->admin_cert_sha256, sizeof(p->admin_cert_sha256));
    p->nonces = prov_nonces_new(PROV_NONCES_MAX);
    p->limiter = prov_limiter_new(LIMITER_SLOTS);
    p->cas = prov_ca_cache_new();
    int rc = p->nonces && p->limiter && p->cas ? prov_key_load_or_create(p->store, p->kek, &p->sign_key,
                                                               p->sign_pub)
                                     : IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        provision_free(p);
        return rc;
    }
    *out = p;
    return IOTSEC_OK;
}

void provision_free(struct provision *p)
{
    if (p == NULL)
        return;
    prov_sign_key_free(p->sign_key);
    prov_nonces_free(p->nonces);
    prov_limiter_free(p->limiter);
    prov_ca_cache_free(p->cas);
    free(p);
}

static atomic_uint_fast64_t counters[PROV_COUNTER_COUNT];

void prov_count(enum prov_counter c)
{
    atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

int provision_metrics(struct provision *p, struct strbuf *out)
{
    static const char *const names[PROV_COUNTER_COUNT] = {
        [PROV_C_NONCES] = "nonces_issued_total",
        [PROV_C_ONBOARD_NEW] = "onboardings_total",
        [PROV_C_REPLAYS] = "replays_total",
        [PROV_C_RELAYED] = "relayed_onboardings_total",
        [PROV_C_CONFIRMED] = "confirmations_total",
        [PROV_C_ROTATIONS] = "rotations_total",
        [PROV_C_REFUSED] = "refusals_total",
        [PROV_C_LIMITED] = "rate_limited_total",
    };
    static const char *const help[PROV_COUNTER_COUNT] = {
        [PROV_C_NONCES] = "Onboarding nonces issued.",
        [PROV_C_ONBOARD_NEW] = "Onboardings committed.",
        [PROV_C_REPLAYS] = "Retries answered with the stored envelope.",
        [PROV_C_RELAYED] = "Committed onboardings that came through a gateway.",
        [PROV_C_CONFIRMED] = "Credential versions confirmed by the device.",
        [PROV_C_ROTATIONS] = "Rotation envelopes made (replays not counted).",
        [PROV_C_REFUSED] = "Device requests refused with a 4xx.",
        [PROV_C_LIMITED] = "Device requests answered 429 or 503 with Retry-After.",
    };
    int rc = strbuf_appendf(out,
                            "# HELP iotsec_provision_nonces_outstanding Nonces issued, not yet "
                            "used or expired.\n# TYPE iotsec_provision_nonces_outstanding gauge\n"
                            "iotsec_provision_nonces_outstanding %zu\n",
                            prov_nonces_outstanding(p->nonces));
    for (int i = 0; rc == IOTSEC_OK && i < PROV_COUNTER_COUNT; i++)
        rc = strbuf_appendf(out,
                            "# HELP iotsec_provision_%s %s\n# TYPE iotsec_provision_%s counter\n"
                            "iotsec_provision_%s %llu\n",
                            names[i], help[i], names[i], names[i],
                            (unsigned long long)atomic_load_explicit(&counters[i],
                                                                     memory_order_relaxed));
    return rc;
}

#define SCHEDULE_EVERY_S 60
#define SCHEDULE_BATCH   64 /* versions staged per sweep: a bounded transaction */

static void schedule_done(void *arg, int rc)
{
    struct prov_schedule_job *sj = arg;
    struct provision *p = sj->p;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "credential schedule: sweep failed: %s", iotsec_strerror(rc));
    else if (sj->staged > 0)
        log_msg(LOG_INFO, NULL, "credential schedule: %u rotations waiting for their devices",
                sj->staged);
    if (rc == IOTSEC_OK)
        p->schedule_after = sj->after;
    free(sj);
    atomic_store_explicit(&p->schedule_busy, false, memory_order_release);
}

/* Rotation on a schedule: every minute, a bounded batch of credentials past their
 * enrollment's maximum age get a waiting version (prov_schedule_run). */
static void schedule(struct provision *p, int64_t now)
{
    if (now - p->schedule_at < SCHEDULE_EVERY_S ||
        atomic_load_explicit(&p->schedule_busy, memory_order_acquire))
        return;
    struct prov_schedule_job *sj = calloc(1, sizeof(*sj));
    if (sj == NULL)
        return;
    p->schedule_at = now;
    *sj = (struct prov_schedule_job){.p = p, .now = now, .after = p->schedule_after,
                                     .batch = SCHEDULE_BATCH};
    atomic_store_explicit(&p->schedule_busy, true, memory_order_relaxed);
    struct store_job job = {prov_schedule_run, schedule_done, sj};
    if (store_submit(p->store, &job) != IOTSEC_OK) { /* busy: the next minute */
        free(sj);
        atomic_store_explicit(&p->schedule_busy, false, memory_order_relaxed);
    }
}

void provision_tick(struct provision *p, int64_t now)
{
    prov_nonces_expire(p->nonces, now);
    schedule(p, now);
}
