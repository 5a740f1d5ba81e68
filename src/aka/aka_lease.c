/* The lease of this instance's SQN slot (subscriber.h, "SQN slots"): claimed once at start,
 * renewed from aka_tick through the store's writer (never waiting on it), given back at a clean
 * stop. While the lease has less than its margin left, no vector is issued: another
 * instance may take the slot once it has expired, and clocks of instances differ a little. */
#include <stdlib.h>

#include "aka/aka_int.h"
#include "base/err.h"
#include "base/log.h"

/* Stop issuing this long before the lease ends: a sixth of it, at most 5 s. */
#define LEASE_MARGIN_MAX_MS 5000

static int64_t lease_ms(const struct aka *a)
{
    return (int64_t)(a->cfg.lease_s ? a->cfg.lease_s : 30) * 1000;
}

int aka_lease_claim(struct aka *a, const char *holder)
{
    int64_t now = aka_now_ms();
    int rc = sqn_slot_claim(a->store, holder, now, lease_ms(a), &a->lease);
    if (rc == IOTSEC_OK) {
        a->last_renew_ms = now;
        atomic_store(&a->lease_until_ms, a->lease.until_ms);
    }
    return rc;
}

void aka_lease_release(struct aka *a)
{
    if (atomic_load(&a->lease_until_ms) == 0)
        return;
    atomic_store(&a->lease_until_ms, 0);
    sqn_slot_release(a->store, &a->lease);
}

int aka_lease_slot(const struct aka *a)
{
    return atomic_load(&a->lease_until_ms) ? a->lease.slot : -1;
}

bool aka_lease_usable(struct aka *a)
{
    int64_t margin = lease_ms(a) / 6 < LEASE_MARGIN_MAX_MS ? lease_ms(a) / 6 : LEASE_MARGIN_MAX_MS;
    return sqn_lease_usable(atomic_load(&a->lease_until_ms), aka_now_ms(), margin);
}

struct renewal {
    struct aka *a;
    struct sqn_slot_renew r;
};

/* On the writer thread, after the renewal committed (or failed). */
static void renew_done(void *arg, int rc)
{
    struct renewal *w = arg;
    struct aka *a = w->a;
    if (rc == IOTSEC_OK) {
        /* Never lower it: an older renewal may complete after a newer one. */
        int64_t cur = atomic_load(&a->lease_until_ms);
        while (cur != 0 && cur < w->r.lease.until_ms &&
               !atomic_compare_exchange_weak(&a->lease_until_ms, &cur, w->r.lease.until_ms))
            ;
    } else if (rc == IOTSEC_ERR_STATE) {
        /* Another instance holds the slot now: this one must never issue from it again. */
        atomic_store(&a->lease_until_ms, 0);
        log_msg(LOG_ERROR, NULL, "SQN slot %d was taken over: no more vectors from this instance",
                a->lease.slot);
    } else {
        log_msg(LOG_WARN, NULL, "SQN slot lease renewal failed: %s (%s)", iotsec_strerror(rc),
                store_errmsg());
    }
    atomic_store(&a->renewing, false);
    free(w);
}

/* The job's argument is the renewal (renew_done needs the aka); the statement takes its r. */
static int renew_run(struct store_conn *conn, void *arg)
{
    struct renewal *w = arg;
    return sqn_slot_renew_run(conn, &w->r);
}

void aka_lease_tick(struct aka *a)
{
    int64_t now = aka_now_ms();
    if (atomic_load(&a->lease_until_ms) == 0 || now - a->last_renew_ms < lease_ms(a) / 3 ||
        atomic_exchange(&a->renewing, true))
        return;
    struct renewal *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        atomic_store(&a->renewing, false);
        return;
    }
    w->a = a;
    w->r.lease = a->lease;
    w->r.now_ms = now;
    w->r.lease_ms = lease_ms(a);
    struct store_job job = {renew_run, renew_done, w};
    if (store_submit(a->store, &job) != IOTSEC_OK) {
        atomic_store(&a->renewing, false);
        free(w);
        return; /* tried again at the next tick */
    }
    a->last_renew_ms = now;
}
