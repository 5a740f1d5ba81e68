/* The per-device state table: LOC_SHARDS shards, each a chained hash map plus an LRU list,
 * under its own mutex. Past a shard's share of max_devices the least recently updated device
 * is forgotten (counted in evicted): memory stays bounded whatever the network sends. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "location/loc_int.h"

static uint64_t key_hash(const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h)); /* the key is already a MAC: its bytes are uniform */
    return h;
}

static struct dev_shard *shard_of(struct location *loc, const uint8_t *key)
{
    return &loc->shards[key[15] % LOC_SHARDS];
}

int loc_devices_init(struct location *loc)
{
    size_t per = loc->cfg.max_devices / LOC_SHARDS + 1;
    size_t nb = 16;
    while (nb < per)
        nb <<= 1;
    for (int i = 0; i < LOC_SHARDS; i++) {
        struct dev_shard *s = &loc->shards[i];
        pthread_mutex_init(&s->mu, NULL);
        s->limit = per;
        s->nbuckets = nb;
        s->buckets = loc_buckets_alloc(nb);
        if (s->buckets == NULL)
            return IOTSEC_ERR_NOMEM;
    }
    return IOTSEC_OK;
}

void loc_devices_free(struct location *loc)
{
    for (int i = 0; i < LOC_SHARDS; i++) {
        struct dev_shard *s = &loc->shards[i];
        for (struct dev_entry *e = s->head, *n; e; e = n) {
            n = e->next;
            free(e);
        }
        free(s->buckets);
        if (s->nbuckets)
            pthread_mutex_destroy(&s->mu);
    }
}

static struct dev_entry **find_slot(struct dev_shard *s, const uint8_t *key)
{
    struct dev_entry **p = &s->buckets[(key_hash(key) >> 6) & (s->nbuckets - 1)];
    while (*p && memcmp((*p)->key, key, LOC_KEY_LEN) != 0)
        p = &(*p)->hnext;
    return p;
}

static void lru_unlink(struct dev_shard *s, struct dev_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct dev_shard *s, struct dev_entry *e)
{
    e->next = s->head;
    e->prev = NULL;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (s->tail == NULL)
        s->tail = e;
}

static void evict_tail(struct location *loc, struct dev_shard *s)
{
    struct dev_entry *e = s->tail;
    *find_slot(s, e->key) = e->hnext;
    lru_unlink(s, e);
    s->count--;
    free(e);
    atomic_fetch_add(&loc->evicted, 1);
}

static void apply(struct ue_state *st, const struct ue_event *ev, bool outside)
{
    st->known = true;
    st->last_event_ms = ev->time_ms;
    if (ev->has_tai || ev->has_ncgi) {
        st->has_tai = ev->has_tai;
        st->has_ncgi = ev->has_ncgi;
        st->tai = ev->tai;
        st->ncgi = ev->ncgi;
        st->location_time_ms = ev->time_ms;
        st->outside_area = outside;
    }
    switch (ev->kind) {
    case UE_EV_LOCATION_REPORT:
        st->registered = true;
        st->lost = false;
        break;
    case UE_EV_REGISTRATION_STATE:
        st->registered = ev->registered;
        break;
    case UE_EV_CONNECTIVITY_STATE:
        st->connected = ev->connected;
        if (ev->connected)
            st->lost = false;
        break;
    case UE_EV_REACHABILITY:
        st->reachability = ev->reachability;
        if (ev->reachability == UE_REACH_REACHABLE)
            st->lost = false;
        break;
    case UE_EV_LOSS_OF_CONNECTIVITY:
        st->lost = true;
        st->connected = false;
        st->reachability = UE_REACH_UNREACHABLE;
        break;
    case UE_EV_RADIO_LINK_FAILURE:
        st->connected = false;
        break;
    case UE_EV_PDU_SESSION:
        st->lost = false;
        break;
    default:
        break;
    }
}

int loc_devices_apply(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                      const struct ue_event *ev, bool outside, struct ue_state *prev)
{
    struct dev_shard *s = shard_of(loc, key);
    pthread_mutex_lock(&s->mu);
    struct dev_entry **slot = find_slot(s, key);
    struct dev_entry *e = *slot;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            pthread_mutex_unlock(&s->mu);
            return IOTSEC_ERR_NOMEM;
        }
        memcpy(e->key, key, LOC_KEY_LEN);
        if (s->count >= s->limit) {
            evict_tail(loc, s);
            slot = find_slot(s, key); /* the chain may have changed */
        }
        *slot = e;
        s->count++;
    } else {
        lru_unlink(s, e);
    }
    lru_push(s, e);
    *prev = e->st;
    int rc = IOTSEC_OK;
    /* Reports from several AMFs may cross: an older one must not overwrite a newer state. */
    if (e->st.known && ev->time_ms < e->st.last_event_ms)
        rc = IOTSEC_ERR_STATE;
    else
        apply(&e->st, ev, outside);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int loc_devices_get(struct location *loc, const uint8_t key[LOC_KEY_LEN], struct ue_state *out)
{
    struct dev_shard *s = shard_of(loc, key);
    pthread_mutex_lock(&s->mu);
    struct dev_entry *e = *find_slot(s, key);
    if (e)
        *out = e->st;
    pthread_mutex_unlock(&s->mu);
    if (e == NULL)
        memset(out, 0, sizeof(*out));
    return e ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

void loc_devices_each(struct location *loc,
                      void (*fn)(void *ctx, const uint8_t *key, const struct ue_state *st),
                      void *ctx)
{
    for (int i = 0; i < LOC_SHARDS; i++) {
        struct dev_shard *s = &loc->shards[i];
        pthread_mutex_lock(&s->mu);
        for (struct dev_entry *e = s->head; e; e = e->next)
            fn(ctx, e->key, &e->st);
        pthread_mutex_unlock(&s->mu);
    }
}

size_t loc_devices_count(struct location *loc)
{
    size_t n = 0;
    for (int i = 0; i < LOC_SHARDS; i++) {
        pthread_mutex_lock(&loc->shards[i].mu);
        n += loc->shards[i].count;
        pthread_mutex_unlock(&loc->shards[i].mu);
    }
    return n;
}
