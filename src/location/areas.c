/* Authorised areas and the cell-position table, and the check of an event against its
 * device's area. Both maps are read on every event (read lock) and written by the operator. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"
#include "location/loc_int.h"

void *loc_buckets_alloc(size_t n)
{
    size_t bytes = n * sizeof(void *);
    void *p = NULL;
    if (bytes >= (2u << 20)) {
        /* Large bucket arrays are probed at random on every event: on huge pages, one TLB
         * entry covers 2 MiB of them instead of 4 KiB (under virtualisation a TLB miss costs
         * microseconds). Plain pages when the kernel declines. */
        if (posix_memalign(&p, 2u << 20, bytes) != 0)
            return NULL;
        madvise(p, bytes, MADV_HUGEPAGE);
        memset(p, 0, bytes);
        return p;
    }
    return calloc(n, sizeof(void *));
}

int loc_map_init(struct loc_map *m, size_t limit)
{
    size_t nb = 64;
    while (nb < limit && nb < (1u << 20))
        nb <<= 1;
    m->buckets = loc_buckets_alloc(nb);
    if (m->buckets == NULL)
        return IOTSEC_ERR_NOMEM;
    m->nbuckets = nb;
    m->limit = limit;
    pthread_rwlock_init(&m->lock, NULL);
    return IOTSEC_OK;
}

size_t loc_map_bucket(const struct loc_map *m, const uint8_t *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: cell ids are not uniform, MAC keys are */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h & (m->nbuckets - 1));
}

static struct area_entry **area_slot(struct location *loc, const uint8_t *key)
{
    struct area_entry **p =
        (struct area_entry **)&loc->areas.buckets[loc_map_bucket(&loc->areas, key, LOC_KEY_LEN)];
    while (*p && memcmp((*p)->key, key, LOC_KEY_LEN) != 0)
        p = &(*p)->next;
    return p;
}

/* Cells are hashed on their 36-bit id and PLMN packed into bytes. */
static void cell_hash_key(const struct ncgi *c, uint8_t out[16])
{
    memset(out, 0, 16);
    memcpy(out, &c->nr_cell_id, sizeof(c->nr_cell_id));
    memcpy(out + 8, c->plmn, strnlen(c->plmn, 6));
}

static struct cell_entry **cell_slot(struct location *loc, const struct ncgi *c)
{
    uint8_t k[16];
    cell_hash_key(c, k);
    struct cell_entry **p =
        (struct cell_entry **)&loc->cells.buckets[loc_map_bucket(&loc->cells, k, sizeof(k))];
    while (*p && !loc_ncgi_eq(&(*p)->cell, c))
        p = &(*p)->next;
    return p;
}

int location_set_area(struct location *loc, const char *supi, const struct loc_area *area)
{
    if (area && loc_area_validate(area) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    uint8_t key[LOC_KEY_LEN];
    location_device_key(loc, supi, key);
    struct area_entry *fresh = NULL;
    if (area) {
        fresh = calloc(1, sizeof(*fresh));
        if (fresh == NULL || loc_area_copy(area, &fresh->area) != IOTSEC_OK) {
            free(fresh);
            return IOTSEC_ERR_NOMEM;
        }
        memcpy(fresh->key, key, LOC_KEY_LEN);
    }
    pthread_rwlock_wrlock(&loc->areas.lock);
    struct area_entry **slot = area_slot(loc, key), *old = *slot;
    int rc = IOTSEC_OK;
    if (old == NULL && fresh && loc->areas.count >= loc->areas.limit) {
        rc = IOTSEC_ERR_BUSY;
    } else if (fresh) {
        fresh->next = old ? old->next : NULL;
        *slot = fresh;
        loc->areas.count += old == NULL;
        fresh = NULL;
    } else if (old) {
        *slot = old->next;
        loc->areas.count--;
    }
    if (rc != IOTSEC_OK)
        old = NULL;
    pthread_rwlock_unlock(&loc->areas.lock);
    if (old) {
        loc_area_free_members(&old->area);
        free(old);
    }
    if (fresh) {
        loc_area_free_members(&fresh->area);
        free(fresh);
    }
    return rc;
}

int location_set_cell_position(struct location *loc, const struct ncgi *cell, struct geo_point p)
{
    struct loc_area probe = {.kind = LOC_AREA_CIRCLE, .center = p, .radius_m = 1};
    if (cell->nr_cell_id > LOC_NR_CELL_MAX || strnlen(cell->plmn, LOC_PLMN_MAX) < 5 ||
        strnlen(cell->plmn, LOC_PLMN_MAX) > 6 || loc_area_validate(&probe) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    pthread_rwlock_wrlock(&loc->cells.lock);
    struct cell_entry **slot = cell_slot(loc, cell);
    int rc = IOTSEC_OK;
    if (*slot) {
        (*slot)->pos = p;
    } else if (loc->cells.count >= loc->cells.limit) {
        rc = IOTSEC_ERR_BUSY;
    } else if ((*slot = calloc(1, sizeof(**slot))) == NULL) {
        rc = IOTSEC_ERR_NOMEM;
    } else {
        (*slot)->cell = *cell;
        (*slot)->pos = p;
        loc->cells.count++;
    }
    pthread_rwlock_unlock(&loc->cells.lock);
    return rc;
}

static bool cell_position(struct location *loc, const struct ncgi *c, struct geo_point *out)
{
    pthread_rwlock_rdlock(&loc->cells.lock);
    struct cell_entry *e = *cell_slot(loc, c);
    if (e)
        *out = e->pos;
    pthread_rwlock_unlock(&loc->cells.lock);
    return e != NULL;
}

bool loc_area_contains(struct location *loc, const struct loc_area *a, bool has_tai,
                       const struct tai *tai, bool has_ncgi, const struct ncgi *ncgi,
                       const char **cause)
{
    *cause = "OUTSIDE_AUTHORISED_AREA";
    switch (a->kind) {
    case LOC_AREA_CELLS:
        for (size_t i = 0; has_ncgi && i < a->n; i++)
            if (loc_ncgi_eq(&a->cells[i], ncgi))
                return true;
        return false;
    case LOC_AREA_TAS:
        for (size_t i = 0; has_tai && i < a->n; i++)
            if (loc_tai_eq(&a->tas[i], tai))
                return true;
        return false;
    case LOC_AREA_CIRCLE:
    case LOC_AREA_POLYGON: {
        struct geo_point p;
        if (!has_ncgi || !cell_position(loc, ncgi, &p)) {
            *cause = "CELL_POSITION_UNKNOWN"; /* fail closed: an unmapped cell is not trusted */
            return false;
        }
        if (a->kind == LOC_AREA_CIRCLE)
            return geo_distance_m(p, a->center) <= a->radius_m;
        return geo_in_polygon(p, a->polygon, a->n);
    }
    case LOC_AREA_NONE:
        break;
    }
    return false;
}

const char *loc_area_check(struct location *loc, const uint8_t key[LOC_KEY_LEN],
                           const struct ue_event *ev, bool *restricted)
{
    *restricted = false;
    if (!ev->has_tai && !ev->has_ncgi)
        return NULL;
    pthread_rwlock_rdlock(&loc->areas.lock);
    struct area_entry *e = *area_slot(loc, key);
    const char *cause = NULL;
    bool anchor_now = false;
    if (e) {
        *restricted = true;
        if (e->area.kind != LOC_AREA_NONE) {
            if (!loc_area_contains(loc, &e->area, ev->has_tai, &ev->tai, ev->has_ncgi, &ev->ncgi,
                                   &cause))
                ; /* cause set */
            else
                cause = NULL;
        } else if (e->anchored) {
            if (!ev->has_ncgi || !loc_ncgi_eq(&e->anchor, &ev->ncgi))
                cause = "STATIONARY_DEVICE_MOVED";
        } else {
            anchor_now = ev->has_ncgi;
        }
    }
    pthread_rwlock_unlock(&loc->areas.lock);
    if (anchor_now) {
        /* The first cell of a stationary device is its place; a racing event may have
         * anchored it meanwhile, so look again under the write lock. */
        pthread_rwlock_wrlock(&loc->areas.lock);
        e = *area_slot(loc, key);
        if (e && e->area.kind == LOC_AREA_NONE && !e->anchored) {
            e->anchored = true;
            e->anchor = ev->ncgi;
        } else if (e && e->anchored && !loc_ncgi_eq(&e->anchor, &ev->ncgi)) {
            cause = "STATIONARY_DEVICE_MOVED";
        }
        pthread_rwlock_unlock(&loc->areas.lock);
    }
    return cause;
}

static void free_chain_map(struct loc_map *m, size_t next_offset, void (*each)(void *))
{
    for (size_t b = 0; m->buckets && b < m->nbuckets; b++) {
        void *e = m->buckets[b];
        while (e) {
            void *n = *(void **)((char *)e + next_offset);
            if (each)
                each(e);
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    if (m->buckets)
        pthread_rwlock_destroy(&m->lock);
    m->buckets = NULL;
}

static void area_members(void *e)
{
    loc_area_free_members(&((struct area_entry *)e)->area);
}

void loc_areas_free(struct location *loc)
{
    free_chain_map(&loc->areas, offsetof(struct area_entry, next), area_members);
}

void loc_cells_free(struct location *loc)
{
    free_chain_map(&loc->cells, offsetof(struct cell_entry, next), NULL);
}
