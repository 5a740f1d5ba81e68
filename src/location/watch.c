/* Per-device watches: what T8 subscriptions hang on a device. A watch is called outside the
 * map's lock (collected under it, with an in-flight count), so a slow notification encoder
 * never holds up the operator or other devices; unwatch waits for calls in flight, which
 * makes "the subscription is deleted, nothing more is sent" exact. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "location/loc_int.h"

static struct watch **bucket(struct location *loc, const uint8_t *key)
{
    return (struct watch **)&loc->watches.buckets[loc_map_bucket(&loc->watches, key,
                                                                 LOC_KEY_LEN)];
}

int location_watch(struct location *loc, const uint8_t key[LOC_KEY_LEN], uint32_t kinds,
                   location_watch_fn fn, void *ctx, uint64_t *id)
{
    if (fn == NULL || kinds == 0)
        return IOTSEC_ERR_INVALID;
    struct watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return IOTSEC_ERR_NOMEM;
    memcpy(w->key, key, LOC_KEY_LEN);
    w->kinds = kinds;
    w->fn = fn;
    w->ctx = ctx;
    w->id = atomic_fetch_add(&loc->next_watch_id, 1);
    pthread_rwlock_wrlock(&loc->watches.lock);
    struct watch **b = bucket(loc, key);
    size_t same = 0;
    for (struct watch *x = *b; x; x = x->next)
        same += memcmp(x->key, key, LOC_KEY_LEN) == 0;
    int rc = IOTSEC_OK;
    if (loc->watches.count >= loc->watches.limit || same >= LOC_WATCH_PER_DEVICE) {
        rc = IOTSEC_ERR_BUSY;
    } else {
        w->next = *b;
        *b = w;
        loc->watches.count++;
        *id = w->id;
    }
    pthread_rwlock_unlock(&loc->watches.lock);
    if (rc != IOTSEC_OK)
        free(w);
    return rc;
}

int location_unwatch(struct location *loc, uint64_t id)
{
    struct watch *found = NULL;
    pthread_rwlock_wrlock(&loc->watches.lock);
    for (size_t i = 0; i < loc->watches.nbuckets && found == NULL; i++) {
        for (struct watch **p = (struct watch **)&loc->watches.buckets[i]; *p; p = &(*p)->next) {
            if ((*p)->id == id) {
                found = *p;
                *p = found->next;
                loc->watches.count--;
                break;
            }
        }
    }
    if (found)
        atomic_store(&found->dead, true);
    pthread_rwlock_unlock(&loc->watches.lock);
    if (found == NULL)
        return IOTSEC_ERR_NOTFOUND;
    while (atomic_load(&found->inflight) > 0)
        sched_yield(); /* a call in progress on another thread: a watch fn is short */
    free(found);
    return IOTSEC_OK;
}

void loc_watches_fire(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                      const struct ue_event *ev, const struct location_finding *f)
{
    struct watch *hit[LOC_WATCH_PER_DEVICE];
    size_t n = 0;
    uint32_t bit = 1u << ev->kind;
    pthread_rwlock_rdlock(&loc->watches.lock);
    if (loc->watches.count == 0) {
        pthread_rwlock_unlock(&loc->watches.lock);
        return;
    }
    for (struct watch *w = *bucket(loc, key); w && n < LOC_WATCH_PER_DEVICE; w = w->next) {
        if (memcmp(w->key, key, LOC_KEY_LEN) == 0 &&
            ((w->kinds & bit) || (f && (w->kinds & LOC_WATCH_FINDING)))) {
            atomic_fetch_add(&w->inflight, 1);
            hit[n++] = w;
        }
    }
    pthread_rwlock_unlock(&loc->watches.lock);
    for (size_t i = 0; i < n; i++) {
        struct watch *w = hit[i];
        if (!atomic_load(&w->dead)) {
            bool wants_event = (w->kinds & bit) != 0;
            const struct location_finding *wf = (w->kinds & LOC_WATCH_FINDING) ? f : NULL;
            if (wants_event || wf) {
                w->fn(w->ctx, ev, wf);
                atomic_fetch_add(&loc->watch_calls, 1);
            }
        }
        atomic_fetch_sub(&w->inflight, 1);
    }
}

void loc_watches_free(struct location *loc)
{
    struct loc_map *m = &loc->watches;
    for (size_t b = 0; m->buckets && b < m->nbuckets; b++) {
        for (struct watch *w = m->buckets[b], *n; w; w = n) {
            n = w->next;
            free(w);
        }
    }
    free(m->buckets);
    if (m->buckets)
        pthread_rwlock_destroy(&m->lock);
    m->buckets = NULL;
}
