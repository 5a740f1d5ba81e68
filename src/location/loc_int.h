/* Internals of the location capability: the sharded device table, the area and cell maps,
 * the watch map. Not included outside src/location. */
#ifndef IOTSEC_LOCATION_INT_H
#define IOTSEC_LOCATION_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "crypto/hmac_sha256.h"
#include "location/location.h"

#define LOC_SHARDS           64 /* device table shards: ingest threads rarely meet on a lock */
#define LOC_WATCH_PER_DEVICE 64 /* watches on one device at most */

/* One device's state, in a shard's hash chain and its LRU list. */
struct dev_entry {
    uint8_t key[LOC_KEY_LEN];
    struct ue_state st;
    struct dev_entry *hnext;
    struct dev_entry *prev, *next; /* LRU: head = most recently updated */
};

struct dev_shard {
    pthread_mutex_t mu;
    struct dev_entry **buckets;
    size_t nbuckets, count, limit;
    struct dev_entry *head, *tail;
};

/* An authorised area. A stationary device without an explicit area is anchored to the first
 * cell seen after the flag was set. */
struct area_entry {
    uint8_t key[LOC_KEY_LEN];
    struct loc_area area;
    bool anchored;
    struct ncgi anchor;
    struct area_entry *next;
};

struct cell_entry {
    struct ncgi cell;
    struct geo_point pos;
    struct cell_entry *next;
};

struct watch {
    uint64_t id;
    uint8_t key[LOC_KEY_LEN];
    uint32_t kinds;
    location_watch_fn fn;
    void *ctx;
    atomic_uint inflight; /* calls collected and not finished */
    atomic_bool dead;     /* unwatched: collected calls are skipped */
    struct watch *next;
};

/* A generic chained hash map of fixed bucket count under one rwlock. */
struct loc_map {
    pthread_rwlock_t lock;
    void **buckets;
    size_t nbuckets, count, limit;
};

struct location {
    struct location_config cfg;
    struct hmac_sha256 hkey; /* the per-process device-key secret */
    struct dev_shard shards[LOC_SHARDS];
    struct loc_map areas;   /* struct area_entry by key */
    struct loc_map cells;   /* struct cell_entry by (plmn, cell) */
    struct loc_map watches; /* struct watch by key */
    atomic_uint_fast64_t next_watch_id;
    location_observer_fn observers[LOC_OBSERVERS];
    void *observer_ctx[LOC_OBSERVERS];
    size_t n_observers;
    location_finding_fn finders[LOC_OBSERVERS];
    void *finder_ctx[LOC_OBSERVERS];
    size_t n_finders;
    atomic_uint_fast64_t events, invalid, stale, findings, evicted, watch_calls;
};

/* devices.c */
int loc_devices_init(struct location *loc);
void loc_devices_free(struct location *loc);
/* Applies ev to the device's state (creating it, evicting the least recent past the limit).
 * Returns IOTSEC_ERR_STATE for a stale event. *prev gets the state before. */
int loc_devices_apply(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                      const struct ue_event *ev, bool outside, struct ue_state *prev);
int loc_devices_get(struct location *loc, const uint8_t key[LOC_KEY_LEN], struct ue_state *out);
/* Calls fn on every state under its shard's lock (counts). */
void loc_devices_each(struct location *loc, void (*fn)(void *ctx, const uint8_t *key,
                                                       const struct ue_state *st), void *ctx);
size_t loc_devices_count(struct location *loc);

/* maps */
void *loc_buckets_alloc(size_t n); /* n zeroed pointers; free() releases them */
int loc_map_init(struct loc_map *m, size_t limit);
size_t loc_map_bucket(const struct loc_map *m, const uint8_t *key, size_t len);

/* areas.c */
void loc_areas_free(struct location *loc);
void loc_cells_free(struct location *loc);
/* Checks ev against the device's area. *restricted = the device has one; returns the cause
 * of a finding, or NULL when inside / unrestricted / the event carries no location. */
const char *loc_area_check(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                           const struct ue_event *ev, bool *restricted);
/* Whether a location (cell and/or TA) lies in area, using the cell-position table. */
bool loc_area_contains(struct location *loc, const struct loc_area *a, bool has_tai,
                       const struct tai *tai, bool has_ncgi, const struct ncgi *ncgi,
                       const char **cause);

/* watch.c */
void loc_watches_free(struct location *loc);
void loc_watches_fire(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                      const struct ue_event *ev, const struct location_finding *f);

bool loc_ncgi_eq(const struct ncgi *a, const struct ncgi *b);
bool loc_tai_eq(const struct tai *a, const struct tai *b);

#endif
