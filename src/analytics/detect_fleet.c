/* Tier 3: fleet correlation. A botnet's DDoS is many devices that each look only a little
 * odd, all turning to the same destination at the same time. Each window, every device
 * whose flows were dominated by one destination (at least `fleet_flows` of them, and most of
 * its flows) casts a vote for it; a destination is under attack when `fleet_devices` or
 * more voted for it AND that is at least four times what it usually gets (a running
 * average of its votes in windows without an attack): a popular server that every meter
 * reports to is not a victim because it is popular, but because the crowd appeared at once.
 * It stays under attack while at least half the raising crowd keeps voting (hysteresis).
 *
 * The table holds only voted-for destinations (raw addresses: they are victims, not users),
 * and forgets one whose average has decayed to nothing; it is bounded, and past its bound new
 * destinations are not tracked (counted in `dropped`). */
#include <stdlib.h>
#include <string.h>

#include "analytics/an_int.h"
#include "base/err.h"

#define MAX_VICTIMS (1u << 20)

struct victim {
    uint32_t hash; /* 0 = empty slot */
    uint32_t votes, last_votes;
    float usual; /* EWMA of votes in windows without an attack */
    uint8_t attack;
    struct an_addr addr;
};

struct an_fleet {
    struct victim *slots;
    uint32_t cap, used;
    uint64_t dropped;
};

struct an_fleet *an_fleet_new(void)
{
    struct an_fleet *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->cap = 1024;
    f->slots = calloc(f->cap, sizeof(*f->slots));
    if (f->slots == NULL) {
        free(f);
        return NULL;
    }
    return f;
}

void an_fleet_free(struct an_fleet *f)
{
    if (f) {
        free(f->slots);
        free(f);
    }
}

static struct victim *find(struct victim *slots, uint32_t cap, uint32_t hash)
{
    uint32_t i = (uint32_t)an_mix64(hash) & (cap - 1);
    while (slots[i].hash != 0 && slots[i].hash != hash)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Rebuilds the table at a new capacity, keeping only entries still worth tracking. */
static int rebuild(struct an_fleet *f, uint32_t cap)
{
    struct victim *n = calloc(cap, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    uint32_t used = 0;
    for (uint32_t i = 0; i < f->cap; i++) {
        struct victim *v = &f->slots[i];
        if (v->hash == 0 || (v->votes == 0 && v->last_votes == 0 && !v->attack && v->usual < 0.05f))
            continue;
        *find(n, cap, v->hash) = *v;
        used++;
    }
    free(f->slots);
    f->slots = n;
    f->cap = cap;
    f->used = used;
    return IOTSEC_OK;
}

int an_fleet_tally(struct an_fleet *f, uint32_t dst_hash, const struct an_addr *dst)
{
    if (4 * (f->used + 1) > 3 * f->cap) {
        if (f->cap >= MAX_VICTIMS || rebuild(f, f->cap * 2) != IOTSEC_OK) {
            f->dropped++;
            return IOTSEC_ERR_BUSY;
        }
    }
    struct victim *v = find(f->slots, f->cap, dst_hash);
    if (v->hash == 0) {
        memset(v, 0, sizeof(*v));
        v->hash = dst_hash;
        v->addr = *dst;
        f->used++;
    }
    v->votes++;
    return IOTSEC_OK;
}

void an_fleet_close(const struct an_config *c, struct an_fleet *f)
{
    uint32_t keep = c->fleet_devices / 2 > 2 ? c->fleet_devices / 2 : 2;
    for (uint32_t i = 0; i < f->cap; i++) {
        struct victim *v = &f->slots[i];
        if (v->hash == 0)
            continue;
        if (v->attack)
            v->attack = v->votes >= keep;
        else
            v->attack = v->votes >= c->fleet_devices && v->votes >= 4 * v->usual + 1;
        if (!v->attack)
            v->usual += 0.0625f * ((float)v->votes - v->usual);
        v->last_votes = v->votes;
        v->votes = 0;
    }
    /* Forget the destinations that no longer matter (keeps the table small). */
    if (f->used > 64)
        rebuild(f, f->cap);
}

bool an_fleet_victim(const struct an_fleet *f, uint32_t dst_hash, uint32_t *devices)
{
    const struct victim *v = find(f->slots, f->cap, dst_hash);
    if (v->hash == 0 || !v->attack || v->last_votes == 0)
        return false;
    if (devices)
        *devices = v->last_votes;
    return true;
}

size_t an_fleet_bytes(const struct an_fleet *f)
{
    return sizeof(*f) + (size_t)f->cap * sizeof(struct victim);
}
