/* The engine's tables: devices (allocated in chunks, so the state per device is the struct
 * plus a 4-byte index slot, with no doubling slack), the pseudonym index, the UE address
 * binding and the groups. Open addressing with linear probing everywhere; deletions leave
 * tombstones that the next resize sweeps. Every table has a limit; past it, BUSY. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analytics/an_int.h"
#include "base/err.h"

void *an_table_alloc(size_t n, size_t size)
{
    const size_t huge = (size_t)2 << 20;
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes < huge)
        return calloc(n, size);
    size_t whole = (bytes + huge - 1) & ~(huge - 1);
    void *p = aligned_alloc(huge, whole);
    if (p == NULL)
        return NULL;
    (void)madvise(p, whole, MADV_HUGEPAGE); /* advice only: 4 KiB pages still work */
    memset(p, 0, bytes);
    return p;
}

static uint32_t pseud_slot(const uint8_t p[16], uint32_t cap)
{
    uint64_t h;
    memcpy(&h, p, 8); /* already a MAC: uniformly distributed */
    return (uint32_t)h & (cap - 1);
}

static int pidx_grow(struct an_engine *e)
{
    uint32_t cap = e->pcap ? e->pcap * 2 : 1024;
    uint32_t *n = an_table_alloc(cap, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    for (uint32_t i = 0; i < e->ndev; i++) {
        uint32_t s = pseud_slot(an_cold(e, i)->pseudonym, cap);
        while (n[s] != 0)
            s = (s + 1) & (cap - 1);
        n[s] = i + 1;
    }
    free(e->pidx);
    e->pidx = n;
    e->pcap = cap;
    e->pused = e->ndev;
    return IOTSEC_OK;
}

uint32_t an_dev_find(const struct an_engine *e, const uint8_t pseud[16])
{
    if (e->pcap == 0)
        return UINT32_MAX;
    for (uint32_t s = pseud_slot(pseud, e->pcap); e->pidx[s] != 0; s = (s + 1) & (e->pcap - 1))
        if (e->pidx[s] != AN_TOMB && !memcmp(an_cold(e, e->pidx[s] - 1)->pseudonym, pseud, 16))
            return e->pidx[s] - 1;
    return UINT32_MAX;
}

static void pidx_insert(struct an_engine *e, uint32_t idx)
{
    uint32_t s = pseud_slot(an_cold(e, idx)->pseudonym, e->pcap);
    while (e->pidx[s] != 0 && e->pidx[s] != AN_TOMB)
        s = (s + 1) & (e->pcap - 1);
    if (e->pidx[s] == 0)
        e->pused++;
    e->pidx[s] = idx + 1;
}

int an_dev_get(struct an_engine *e, const uint8_t pseud[16], uint32_t gi, uint32_t *idx)
{
    uint32_t found = an_dev_find(e, pseud);
    if (found != UINT32_MAX) {
        *idx = found;
        return IOTSEC_OK;
    }
    if (e->ndev >= e->cfg.max_devices)
        return IOTSEC_ERR_BUSY;
    if (4 * (e->pused + 1) > 3 * e->pcap && pidx_grow(e) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    uint32_t chunk = e->ndev >> AN_CHUNK_SHIFT;
    if (chunk >= e->nchunks) {
        struct an_device **c = realloc(e->chunks, (chunk + 1) * sizeof(*c));
        if (c == NULL)
            return IOTSEC_ERR_NOMEM;
        e->chunks = c;
        struct an_cold **k = realloc(e->cold, (chunk + 1) * sizeof(*k));
        if (k == NULL)
            return IOTSEC_ERR_NOMEM;
        e->cold = k;
        /* Cache-line aligned: a device is exactly its four lines. */
        c[chunk] = an_table_alloc((size_t)1 << AN_CHUNK_SHIFT, sizeof(struct an_device));
        k[chunk] = calloc((size_t)1 << AN_CHUNK_SHIFT, sizeof(struct an_cold));
        if (c[chunk] == NULL || k[chunk] == NULL) {
            free(c[chunk]);
            free(k[chunk]);
            return IOTSEC_ERR_NOMEM;
        }
        e->nchunks = chunk + 1;
    }
    struct an_device *d = an_dev(e, e->ndev);
    memset(d, 0, sizeof(*d));
    memcpy(an_cold(e, e->ndev)->pseudonym, pseud, 16);
    d->group = (uint16_t)gi;
    *idx = e->ndev++;
    pidx_insert(e, *idx);
    return IOTSEC_OK;
}

int an_dev_rename(struct an_engine *e, uint32_t idx, const uint8_t pseud[16])
{
    struct an_cold *d = an_cold(e, idx);
    for (uint32_t s = pseud_slot(d->pseudonym, e->pcap); e->pidx[s] != 0;
         s = (s + 1) & (e->pcap - 1))
        if (e->pidx[s] == idx + 1) {
            e->pidx[s] = AN_TOMB;
            break;
        }
    memcpy(d->pseudonym, pseud, 16);
    if (4 * (e->pused + 1) > 3 * e->pcap && pidx_grow(e) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    pidx_insert(e, idx);
    return IOTSEC_OK;
}

int an_group_get(struct an_engine *e, uint32_t id, uint32_t *gi)
{
    /* Groups are few (fleets, enrollments), so a linear scan at bind time is fine; the hot
     * path carries the index, never the ID. */
    for (uint32_t i = 0; i < e->ngroups; i++)
        if (e->groups[i].id == id) {
            *gi = i;
            return IOTSEC_OK;
        }
    if (e->ngroups >= AN_MAX_GROUPS) {
        *gi = 0; /* the ungrouped group: no peer comparison rather than a failure */
        return IOTSEC_OK;
    }
    if (e->ngroups == e->gcap) {
        uint32_t cap = e->gcap ? e->gcap * 2 : 8;
        struct an_group *g = realloc(e->groups, cap * sizeof(*g));
        if (g == NULL)
            return IOTSEC_ERR_NOMEM;
        e->groups = g;
        e->gcap = cap;
    }
    struct an_group *g = &e->groups[e->ngroups];
    memset(g, 0, sizeof(*g));
    g->id = id;
    if (id != 0 && (g->known = calloc(AN_GROUP_KNOWN_BITS / 8, 1)) == NULL)
        return IOTSEC_ERR_NOMEM;
    *gi = e->ngroups++;
    return IOTSEC_OK;
}

static uint32_t bind_slot(const struct an_engine *e, const struct an_addr *ue)
{
    return (uint32_t)an_hash_addr(ue, e->seed) & (e->bcap - 1);
}

uint32_t an_bind_get_h(const struct an_engine *e, const struct an_addr *ue, uint64_t h)
{
    if (e->bcap == 0)
        return UINT32_MAX;
    for (uint32_t s = (uint32_t)h & (e->bcap - 1); e->binds[s].dev != 0;
         s = (s + 1) & (e->bcap - 1))
        if (e->binds[s].dev != AN_TOMB && !memcmp(&e->binds[s].ue, ue, sizeof(*ue)))
            return e->binds[s].dev - 1;
    return UINT32_MAX;
}

uint32_t an_bind_get(const struct an_engine *e, const struct an_addr *ue)
{
    return an_bind_get_h(e, ue, an_hash_addr(ue, e->seed));
}

static int bind_grow(struct an_engine *e)
{
    uint32_t cap = e->blive * 4 >= e->bcap ? (e->bcap ? e->bcap * 2 : 1024) : e->bcap;
    struct an_bind *n = an_table_alloc(cap, sizeof(*n)), *old = e->binds;
    uint32_t oldcap = e->bcap;
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    e->binds = n;
    e->bcap = cap;
    e->bused = e->blive;
    for (uint32_t i = 0; i < oldcap; i++) {
        if (old[i].dev == 0 || old[i].dev == AN_TOMB)
            continue;
        uint32_t s = bind_slot(e, &old[i].ue);
        while (n[s].dev != 0)
            s = (s + 1) & (cap - 1);
        n[s] = old[i];
    }
    free(old);
    return IOTSEC_OK;
}

int an_bind_put(struct an_engine *e, const struct an_addr *ue, uint32_t idx)
{
    e->bind_gen++;
    if (e->bcap) {
        for (uint32_t s = bind_slot(e, ue); e->binds[s].dev != 0; s = (s + 1) & (e->bcap - 1))
            if (e->binds[s].dev != AN_TOMB && !memcmp(&e->binds[s].ue, ue, sizeof(*ue))) {
                e->binds[s].dev = idx + 1; /* rebinding: the address moved */
                return IOTSEC_OK;
            }
    }
    if (4 * (e->bused + 1) > 3 * e->bcap && bind_grow(e) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    uint32_t s = bind_slot(e, ue);
    while (e->binds[s].dev != 0 && e->binds[s].dev != AN_TOMB)
        s = (s + 1) & (e->bcap - 1);
    if (e->binds[s].dev == 0)
        e->bused++;
    e->binds[s].ue = *ue;
    e->binds[s].dev = idx + 1;
    e->blive++;
    return IOTSEC_OK;
}

int an_bind_del(struct an_engine *e, const struct an_addr *ue)
{
    e->bind_gen++;
    if (e->bcap == 0)
        return IOTSEC_ERR_NOTFOUND;
    for (uint32_t s = bind_slot(e, ue); e->binds[s].dev != 0; s = (s + 1) & (e->bcap - 1))
        if (e->binds[s].dev != AN_TOMB && !memcmp(&e->binds[s].ue, ue, sizeof(*ue))) {
            memset(&e->binds[s].ue, 0, sizeof(*ue)); /* session state: gone with the session */
            e->binds[s].dev = AN_TOMB;
            e->blive--;
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_NOTFOUND;
}

int an_list_push(uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t v)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 256;
        uint32_t *l = realloc(*list, c * sizeof(*l));
        if (l == NULL)
            return IOTSEC_ERR_NOMEM;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = v;
    return IOTSEC_OK;
}

void an_tables_free(struct an_engine *e)
{
    for (uint32_t i = 0; i < e->nchunks; i++) {
        free(e->chunks[i]);
        free(e->cold[i]);
    }
    free(e->chunks);
    free(e->cold);
    free(e->pidx);
    free(e->binds);
    for (uint32_t i = 0; i < e->ngroups; i++)
        free(e->groups[i].known);
    free(e->groups);
    free(e->touched);
    free(e->marked);
    free(e->alarmed);
}
