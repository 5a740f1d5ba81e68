/* The location history's writes and retention (location.h): a notification's fixes go to the
 * store as one background job, and a sweep job trims the devices a chunk at a time. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "location/location.h"
#include "store/store.h"

#define SWEEP_LEASE_MS (5 * 60 * 1000) /* a stopped instance's lease soon lapses */

struct location_history {
    struct store *store;
    struct location_history_config cfg;
    atomic_uint_fast64_t written, dropped, swept;
    atomic_bool sweeping;      /* a sweep job is queued or running: never two at once */
    char cursor[LOC_SUPI_MAX]; /* the walk's position; touched by the sweep job only */
};

int location_history_new(struct store *st, const struct location_history_config *cfg,
                         struct location_history **out)
{
    *out = NULL;
    struct location_history *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return IOTSEC_ERR_NOMEM;
    h->store = st;
    h->cfg = *cfg;
    *out = h;
    return IOTSEC_OK;
}

void location_history_free(struct location_history *h)
{
    free(h); /* the store is closed first: no job of ours is left */
}

struct fix_job {
    struct location_history *h;
    struct location_fix *fixes;
    size_t n;
};

static int fix_run(struct store_conn *conn, void *arg)
{
    struct fix_job *j = arg;
    return location_store_fixes(conn, j->fixes, j->n);
}

static void fix_done(void *arg, int rc)
{
    struct fix_job *j = arg;
    atomic_fetch_add(rc == IOTSEC_OK ? &j->h->written : &j->h->dropped, j->n);
    free(j->fixes);
    free(j);
}

void location_history_submit(struct location_history *h, struct location_fix *fixes, size_t n)
{
    if (h == NULL || n == 0 || h->cfg.max_fixes == 0) {
        free(fixes);
        return;
    }
    struct fix_job *j = malloc(sizeof(*j));
    struct store_job job = {fix_run, fix_done, j};
    if (j) {
        *j = (struct fix_job){h, fixes, n};
        if (store_submit(h->store, &job) == IOTSEC_OK)
            return;
    }
    /* A full writer queue: the fixes are lost, the report itself was applied. */
    atomic_fetch_add(&h->dropped, n);
    free(fixes);
    free(j);
}

struct sweep_job {
    struct location_history *h;
    int64_t now_ms;
    uint64_t deleted;
};

static int sweep_run(struct store_conn *conn, void *arg)
{
    struct sweep_job *j = arg;
    /* Several instances on one database: one trims at a time. */
    int rc = store_lease_hold(conn, "location.history_sweep", j->now_ms, SWEEP_LEASE_MS);
    if (rc == IOTSEC_ERR_BUSY)
        return IOTSEC_OK;
    if (rc != IOTSEC_OK)
        return rc;
    const struct location_history_config *c = &j->h->cfg;
    int64_t before = c->days ? j->now_ms - (int64_t)c->days * 86400000 : INT64_MIN;
    return location_store_fixes_trim(conn, j->h->cursor, LOC_HISTORY_SWEEP_CHUNK, c->max_fixes,
                                     before, &j->deleted);
}

static void sweep_done(void *arg, int rc)
{
    struct sweep_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "location: the history's retention sweep failed: %s",
                iotsec_strerror(rc));
    atomic_fetch_add(&j->h->swept, j->deleted);
    atomic_store(&j->h->sweeping, false);
    free(j);
}

void location_history_sweep(struct location_history *h, int64_t now_ms)
{
    if (h == NULL || atomic_exchange(&h->sweeping, true))
        return;
    struct sweep_job *j = calloc(1, sizeof(*j));
    struct store_job job = {sweep_run, sweep_done, j};
    if (j) {
        j->h = h;
        j->now_ms = now_ms;
        if (store_submit(h->store, &job) == IOTSEC_OK)
            return;
    }
    free(j);
    atomic_store(&h->sweeping, false);
}

void location_history_metrics_get(struct location_history *h, struct location_history_metrics *m)
{
    memset(m, 0, sizeof(*m));
    if (h == NULL)
        return;
    m->written = atomic_load(&h->written);
    m->dropped = atomic_load(&h->dropped);
    m->swept = atomic_load(&h->swept);
}
