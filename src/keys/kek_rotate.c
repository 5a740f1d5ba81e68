/* KEK rotation's keeper (kek.h): one thread per instance that follows the store's current KEK
 * id, drives a rotation (chunks of re-wraps, one writer job each) when this instance started
 * it or resumes one cut short, and retires KEKs no row names any more. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "keys/kek_int.h"

#define POLL_MS     500   /* how often the keeper reads the store's KEK topic */
#define LEASE_MS    30000 /* the driver's lease, renewed by every chunk */
#define GRACE_MS    1500  /* > POLL_MS: every instance seals under the new KEK before the count */
#define LEASE       "kek-rotation"
#define PACE_MAX_MS 200 /* the longest pause between two chunks */

struct kek_rotation {
    struct kek_rotation_config cfg;
    struct seal_kek handle;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, starting, drive, running; /* starting: a start is being recorded */
    int64_t topic;
    uint8_t held[KEK_ID_MAX + 1];
    size_t nheld;
    int64_t rewrapped, unreadable;
    double rate;
    char error[160];
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits ms or until signalled; false when stopping. Called with mu held. */
static bool nap(struct kek_rotation *kr, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    if (!kr->stop)
        pthread_cond_timedwait(&kr->cv, &kr->mu, &ts);
    return !kr->stop;
}

static void set_error(struct kek_rotation *kr, const char *msg)
{
    pthread_mutex_lock(&kr->mu);
    snprintf(kr->error, sizeof(kr->error), "%s", msg);
    pthread_mutex_unlock(&kr->mu);
}

/* ---- writer jobs ---- */

struct holders_job {
    struct kek_rotation *kr;
};

static int run_holders(struct store_conn *c, void *arg)
{
    struct kek_rotation *kr = ((struct holders_job *)arg)->kr;
    uint8_t ids[KEK_ID_MAX + 1];
    size_t n = 0;
    for (int id = 1; id <= KEK_ID_MAX; id++)
        if (seal_ring_has(kr->cfg.ring, (uint8_t)id))
            ids[n++] = (uint8_t)id;
    return kek_holders_set(c, kr->cfg.instance, ids, n, wall_ms() / 1000);
}

struct chunk_job {
    struct kek_rotation *kr;
    const struct kek_column *col;
    struct kek_cursor cur;
    int64_t rewrapped, unreadable;
};

static int run_chunk(struct store_conn *c, void *arg)
{
    struct chunk_job *j = arg;
    int rc = store_lease_hold(c, LEASE, wall_ms(), LEASE_MS); /* BUSY: another drives it */
    if (rc == IOTSEC_OK)
        rc = kek_rewrap_chunk(c, &j->kr->handle, j->col, j->kr->cfg.chunk_rows, &j->cur,
                              &j->rewrapped, &j->unreadable);
    return rc;
}

struct state_job {
    uint8_t current;
    bool rotating, take_lease;
};

static int run_finish(struct store_conn *c, void *arg)
{
    struct state_job *j = arg;
    return kek_state_set(c, j->current, j->rotating, wall_ms() / 1000);
}

/* ---- counting ---- */

struct tally {
    uint8_t current;
    int64_t stale; /* rows under another KEK id */
    struct kek_status_row *rows;
    size_t nrows, cap;
};

static void tally_row(const struct kek_column *col, uint8_t id, int64_t rows, void *ctx)
{
    struct tally *t = ctx;
    if (id != t->current)
        t->stale += rows;
    if (t->rows == NULL && t->cap != 0)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct kek_status_row *r = realloc(t->rows, cap * sizeof(*r));
        if (r == NULL)
            return;
        t->rows = r;
        t->cap = cap;
    }
    struct kek_status_row *r = &t->rows[t->nrows++];
    snprintf(r->column, sizeof(r->column), "%s", col->name);
    r->kek_id = id;
    r->rows = rows;
}

static int count_all(struct kek_rotation *kr, struct tally *t)
{
    struct store_conn *c;
    int rc = store_reader_get(kr->cfg.store, &c);
    for (size_t i = 0; rc == IOTSEC_OK && i < kr->cfg.ncolumns; i++)
        rc = kek_count(c, &kr->cfg.columns[i], tally_row, t);
    return rc;
}

/* ---- the keeper ---- */

/* KEKs this instance holds that were current once, are not now, and that no row names:
 * retired. */
static void retire_stale(struct kek_rotation *kr, uint8_t current)
{
    bool old[KEK_ID_MAX + 1] = {false}, others = false;
    struct store_conn *c;
    if (store_reader_get(kr->cfg.store, &c) != IOTSEC_OK)
        return;
    for (int id = 1; id <= KEK_ID_MAX; id++)
        if (id != current && seal_ring_has(kr->cfg.ring, (uint8_t)id) &&
            kek_state_was_current(c, (uint8_t)id, &old[id]) == IOTSEC_OK && old[id])
            others = true;
    if (!others)
        return;
    struct tally t = {.current = current};
    int rc = count_all(kr, &t);
    free(t.rows);
    if (rc != IOTSEC_OK || t.stale != 0)
        return;
    if (kr->cfg.before_retire)
        kr->cfg.before_retire(kr->cfg.before_retire_arg);
    pthread_mutex_lock(&kr->mu); /* reads already past the cache finish under the old KEK */
    bool go = nap(kr, GRACE_MS);
    pthread_mutex_unlock(&kr->mu);
    if (!go)
        return;
    for (int id = 1; id <= KEK_ID_MAX; id++) {
        if (!old[id] || !seal_ring_has(kr->cfg.ring, (uint8_t)id))
            continue;
        seal_ring_retire(kr->cfg.ring, (uint8_t)id);
        rc = kek_file_destroy(kr->cfg.kek_path, (uint8_t)id);
        if (rc == IOTSEC_OK || rc == IOTSEC_ERR_NOTFOUND)
            log_info("KEK %d retired: no sealed row names it; its file is zeroised and removed",
                     id);
        else
            log_error("KEK %d retired but its file could not be removed: %s", id,
                      iotsec_strerror(rc));
    }
    struct holders_job hj = {kr};
    store_write_sync(kr->cfg.store, run_holders, &hj);
}

/* One pass over every re-wrappable column; then, when no row is left under an old KEK, the
 * rotation is recorded as finished. */
static void drive(struct kek_rotation *kr, uint8_t current)
{
    for (;;) {
        int64_t done = 0, unreadable = 0;
        double t0 = mono_s();
        int rc = IOTSEC_OK;
        for (size_t i = 0; rc == IOTSEC_OK && i < kr->cfg.ncolumns; i++) {
            struct chunk_job j = {.kr = kr, .col = &kr->cfg.columns[i]};
            j.cur.num = INT64_MIN;
            if (j.col->scan_sql == NULL)
                continue;
            while (rc == IOTSEC_OK && !j.cur.end && !kr->stop) {
                j.rewrapped = j.unreadable = 0;
                double c0 = mono_s();
                rc = store_write_sync(kr->cfg.store, run_chunk, &j);
                done += j.rewrapped;
                unreadable += j.unreadable;
                /* Paced: as long idle as the chunk took (at most PACE_MAX_MS), so the
                 * rotation takes at most half of the writer and of a core from serving. */
                int idle_ms = (int)((mono_s() - c0) * 1000);
                pthread_mutex_lock(&kr->mu);
                kr->rewrapped += j.rewrapped;
                if (!j.cur.end && idle_ms > 0)
                    nap(kr, idle_ms < PACE_MAX_MS ? idle_ms : PACE_MAX_MS);
                pthread_mutex_unlock(&kr->mu);
            }
        }
        double dt = mono_s() - t0;
        pthread_mutex_lock(&kr->mu);
        kr->unreadable = unreadable;
        kr->rate = dt > 0 ? (double)done / dt : 0;
        bool go = rc == IOTSEC_OK && nap(kr, GRACE_MS);
        pthread_mutex_unlock(&kr->mu);
        if (rc == IOTSEC_ERR_BUSY) /* another instance drives it */
            return;
        if (rc != IOTSEC_OK) {
            char msg[160];
            snprintf(msg, sizeof(msg), "re-wrapping failed: %s (resumes at the next start)",
                     iotsec_strerror(rc));
            log_error("KEK rotation: %s", msg);
            set_error(kr, msg);
            return;
        }
        if (!go)
            return;
        struct tally t = {.current = current};
        rc = count_all(kr, &t);
        free(t.rows);
        if (rc == IOTSEC_OK && t.stale == 0) {
            struct state_job sj = {.current = current};
            if ((rc = store_write_sync(kr->cfg.store, run_finish, &sj)) == IOTSEC_OK) {
                log_info("KEK rotation to KEK %u finished: every sealed row names it", current);
                retire_stale(kr, current);
            }
            return;
        }
        if (rc == IOTSEC_OK && done == 0) { /* nothing more this version can do */
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "%lld sealed rows remain under old KEKs (%lld do not open under any KEK "
                     "held; others are in columns not re-wrapped)",
                     (long long)t.stale, (long long)unreadable);
            log_error("KEK rotation: %s", msg);
            set_error(kr, msg);
            return;
        }
        /* rows sealed under the old KEK meanwhile (an instance that switched late): again */
    }
}

/* Follows the store's state: the current KEK, retirement, a rotation to resume. */
static void sync_state(struct kek_rotation *kr, bool *resume)
{
    struct store_conn *c;
    uint8_t current;
    bool rotating;
    *resume = false;
    if (store_reader_get(kr->cfg.store, &c) != IOTSEC_OK ||
        kek_state_get(c, &current, &rotating) != IOTSEC_OK)
        return;
    if (seal_ring_set_current(kr->cfg.ring, current) != IOTSEC_OK) {
        log_error("the store's current KEK is %u and this instance does not hold it: install "
                  "its file beside the kek_file and restart",
                  current);
        return;
    }
    if (!rotating)
        retire_stale(kr, current);
    else
        *resume = true;
}

static void *keeper(void *arg)
{
    struct kek_rotation *kr = arg;
    bool first = true;
    pthread_mutex_lock(&kr->mu);
    while (!kr->stop) {
        bool drive_now = kr->drive;
        pthread_mutex_unlock(&kr->mu);
        int64_t seq = 0;
        bool resume = false;
        if (store_topic_seq(kr->cfg.store, "kek", &seq) == IOTSEC_OK &&
            (first || seq != kr->topic)) {
            kr->topic = seq;
            sync_state(kr, &resume);
            first = false;
        }
        if (drive_now || resume) {
            pthread_mutex_lock(&kr->mu);
            kr->running = true;
            kr->error[0] = '\0';
            pthread_mutex_unlock(&kr->mu);
            drive(kr, seal_ring_current(kr->cfg.ring));
            /* a resume retried only when the store's state changes again or at the next start */
        }
        pthread_mutex_lock(&kr->mu);
        if (drive_now || resume) {
            kr->running = false;
            kr->drive = false;
            pthread_cond_broadcast(&kr->cv);
        }
        if (!kr->drive)
            nap(kr, POLL_MS);
    }
    pthread_mutex_unlock(&kr->mu);
    return NULL;
}

int kek_rotation_open(const struct kek_rotation_config *cfg, struct kek_rotation **out)
{
    struct kek_rotation *kr = calloc(1, sizeof(*kr));
    if (kr == NULL)
        return IOTSEC_ERR_NOMEM;
    kr->cfg = *cfg;
    if (kr->cfg.chunk_rows <= 0)
        kr->cfg.chunk_rows = 500;
    kr->handle = seal_ring_handle(cfg->ring);
    pthread_mutex_init(&kr->mu, NULL);
    pthread_cond_init(&kr->cv, NULL);
    int rc = kek_files_load(cfg->kek_path, cfg->ring, kr->held, &kr->nheld);
    struct store_conn *c;
    uint8_t current = 1;
    bool rotating = false;
    if (rc == IOTSEC_OK && (rc = store_reader_get(cfg->store, &c)) == IOTSEC_OK)
        rc = kek_state_get(c, &current, &rotating);
    if (rc == IOTSEC_OK && (rc = seal_ring_set_current(cfg->ring, current)) != IOTSEC_OK) {
        char path[4096];
        kek_file_path(cfg->kek_path, current, path, sizeof(path));
        log_error("the store's current KEK is %u: its file %s is missing (copy it from the "
                  "instance that made it)",
                  current, path);
    }
    struct holders_job hj = {kr};
    if (rc == IOTSEC_OK)
        rc = store_write_sync(cfg->store, run_holders, &hj);
    if (rc != IOTSEC_OK) {
        kek_rotation_close(kr);
        return rc;
    }
    *out = kr;
    return IOTSEC_OK;
}

int kek_rotation_run(struct kek_rotation *kr)
{
    if (kr->started)
        return IOTSEC_OK;
    if (pthread_create(&kr->thread, NULL, keeper, kr) != 0)
        return IOTSEC_ERR_NOMEM;
    kr->started = true;
    return IOTSEC_OK;
}

void kek_rotation_close(struct kek_rotation *kr)
{
    if (kr == NULL)
        return;
    if (kr->started) {
        pthread_mutex_lock(&kr->mu);
        kr->stop = true;
        pthread_cond_broadcast(&kr->cv);
        pthread_mutex_unlock(&kr->mu);
        pthread_join(kr->thread, NULL);
    }
    pthread_cond_destroy(&kr->cv);
    pthread_mutex_destroy(&kr->mu);
    free(kr);
}

struct start_job {
    struct kek_rotation *kr;
    uint8_t id;
    char *missing;
    size_t missing_cap;
};

static int run_start(struct store_conn *c, void *arg)
{
    struct start_job *j = arg;
    uint8_t current;
    bool rotating;
    int rc = kek_state_get(c, &current, &rotating);
    if (rc == IOTSEC_OK && rotating)
        return IOTSEC_ERR_CONFLICT;
    if (rc == IOTSEC_OK && current == j->id)
        return IOTSEC_ERR_CONFLICT;
    if (rc == IOTSEC_OK &&
        (rc = store_lease_hold(c, LEASE, wall_ms(), LEASE_MS)) == IOTSEC_ERR_BUSY)
        return IOTSEC_ERR_CONFLICT;
    if (rc == IOTSEC_OK)
        rc = run_holders(c, &(struct holders_job){j->kr});
    if (rc == IOTSEC_OK)
        rc = kek_live_missing(c, j->kr->cfg.instance, j->id, wall_ms(), j->missing, j->missing_cap);
    if (rc == IOTSEC_OK)
        rc = kek_state_set(c, j->id, true, wall_ms() / 1000);
    return rc;
}

int kek_rotation_start(struct kek_rotation *kr, uint8_t id, uint8_t *new_id, char *missing,
                       size_t missing_cap)
{
    missing[0] = '\0';
    pthread_mutex_lock(&kr->mu);
    bool busy = kr->starting || kr->drive || kr->running;
    if (!busy)
        kr->starting = true; /* claimed: a second request meanwhile is refused */
    pthread_mutex_unlock(&kr->mu);
    if (busy)
        return IOTSEC_ERR_CONFLICT;
    bool made = false;
    int rc = IOTSEC_OK;
    if (id == 0) { /* a new KEK: the next id this instance does not hold */
        uint8_t cur = seal_ring_current(kr->cfg.ring);
        for (int k = 1; k < KEK_ID_MAX && id == 0; k++) {
            uint8_t cand = (uint8_t)((cur - 1 + k) % KEK_ID_MAX + 1);
            if (!seal_ring_has(kr->cfg.ring, cand))
                id = cand;
        }
        rc = id == 0 ? IOTSEC_ERR_FULL : kek_file_create(kr->cfg.kek_path, id, kr->cfg.ring);
        made = rc == IOTSEC_OK;
    } else if (id > KEK_ID_MAX) {
        rc = IOTSEC_ERR_INVALID;
    } else if (!seal_ring_has(kr->cfg.ring, id)) {
        rc = IOTSEC_ERR_NOTFOUND;
    }
    struct start_job j = {kr, id, missing, missing_cap};
    if (rc == IOTSEC_OK)
        rc = store_write_sync(kr->cfg.store, run_start, &j);
    if (rc == IOTSEC_OK)
        rc = seal_ring_set_current(kr->cfg.ring, id);
    pthread_mutex_lock(&kr->mu);
    kr->starting = false;
    if (rc == IOTSEC_OK) {
        kr->drive = true;
        kr->rewrapped = 0;
        kr->error[0] = '\0';
    }
    pthread_cond_broadcast(&kr->cv);
    pthread_mutex_unlock(&kr->mu);
    if (rc != IOTSEC_OK && made) { /* never current: nothing is sealed under it */
        seal_ring_retire(kr->cfg.ring, id);
        kek_file_destroy(kr->cfg.kek_path, id);
    }
    if (rc == IOTSEC_OK) {
        *new_id = id;
        log_info("KEK rotation started: KEK %u is current; re-wrapping every sealed row", id);
    }
    return rc;
}

int kek_rotation_status(struct kek_rotation *kr, struct kek_status *st)
{
    memset(st, 0, sizeof(*st));
    struct store_conn *c;
    bool rotating = false;
    uint8_t current = seal_ring_current(kr->cfg.ring);
    int rc = store_reader_get(kr->cfg.store, &c);
    if (rc == IOTSEC_OK)
        rc = kek_state_get(c, &current, &rotating);
    struct tally t = {.current = current};
    if (rc == IOTSEC_OK)
        rc = count_all(kr, &t);
    if (rc != IOTSEC_OK) {
        free(t.rows);
        return rc;
    }
    st->rows = t.rows;
    st->nrows = t.nrows;
    st->current = current;
    st->rotating = rotating;
    for (int id = 1; id <= KEK_ID_MAX; id++)
        if (seal_ring_has(kr->cfg.ring, (uint8_t)id))
            st->held[st->nheld++] = (uint8_t)id;
    pthread_mutex_lock(&kr->mu);
    st->running = kr->starting || kr->running || kr->drive;
    st->rewrapped = kr->rewrapped;
    st->unreadable = kr->unreadable;
    st->rows_per_s = kr->rate;
    snprintf(st->error, sizeof(st->error), "%s", kr->error);
    pthread_mutex_unlock(&kr->mu);
    return IOTSEC_OK;
}

void kek_rotation_wait(struct kek_rotation *kr)
{
    pthread_mutex_lock(&kr->mu);
    while (kr->starting || kr->drive || kr->running)
        pthread_cond_wait(&kr->cv, &kr->mu);
    pthread_mutex_unlock(&kr->mu);
}
