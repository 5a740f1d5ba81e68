/* Knowing what a device is for: the DNS answers each device received (so that its flows can
 * be judged by name) and its group's MUD, compiled against the engine's seed.
 *
 * DNS: one open-addressing table for every device, (device, address) -> name, kept until the
 * answer's TTL plus `dns_grace_s` (IoT stacks keep using an address past its TTL). Bounded:
 * at AN_DNS_MAX slots, expired entries are swept; if none are, a new answer is dropped and
 * counted. Names are hashed with the engine's random seed, so nobody outside can craft a
 * name whose hash collides with one a MUD permits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/an_int.h"
#include "analytics/mud.h"
#include "base/err.h"

#define AN_DNS_MAX (1u << 23) /* 8 M answers, 128 MiB: far more than devices keep */

uint32_t an_name_hash(uint64_t seed, const char *normalised)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (const char *c = normalised; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
    return (uint32_t)an_mix64(h ^ seed) | 1u;
}

static uint32_t dns_slot(uint32_t dev, uint32_t addr, uint32_t cap)
{
    return (uint32_t)an_mix64((uint64_t)dev << 32 | addr) & (cap - 1);
}

uint32_t an_dns_lookup(const struct an_engine *e, uint32_t dev, uint32_t addr, double ts)
{
    const struct an_dns_cache *c = &e->dns;
    if (c->used == 0)
        return 0;
    for (uint32_t s = dns_slot(dev + 1, addr, c->cap); c->slots[s].dev != 0;
         s = (s + 1) & (c->cap - 1))
        if (c->slots[s].dev == dev + 1 && c->slots[s].addr == addr)
            return ts <= (double)c->slots[s].expires ? c->slots[s].name : 0;
    return 0;
}

/* Rebuilds at cap, dropping answers expired at `now`. */
static int dns_rebuild(struct an_dns_cache *c, uint32_t cap, double now)
{
    struct an_dns_slot *n = an_table_alloc(cap, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    uint32_t used = 0;
    for (uint32_t i = 0; i < c->cap; i++) {
        struct an_dns_slot *o = &c->slots[i];
        if (o->dev == 0 || (double)o->expires < now)
            continue;
        uint32_t s = dns_slot(o->dev, o->addr, cap);
        while (n[s].dev != 0)
            s = (s + 1) & (cap - 1);
        n[s] = *o;
        used++;
    }
    free(c->slots);
    c->slots = n;
    c->cap = cap;
    c->used = used;
    return IOTSEC_OK;
}

static int dns_put(struct an_dns_cache *c, uint32_t dev, uint32_t addr, uint32_t name,
                   uint32_t expires, double now)
{
    if (4 * (c->used + 1) > 3 * c->cap) {
        /* Full: sweep the expired answers (at most once a minute of record time: at the
         * bound, a sweep that frees nothing must not run for every answer), else grow. */
        if (c->cap && now - c->swept >= 60.0) {
            if (dns_rebuild(c, c->cap, now) != IOTSEC_OK)
                return IOTSEC_ERR_NOMEM;
            c->swept = now;
        }
        if (4 * (c->used + 1) > 3 * c->cap) {
            if (c->cap >= AN_DNS_MAX) {
                c->dropped++;
                return IOTSEC_ERR_BUSY;
            }
            if (dns_rebuild(c, c->cap ? c->cap * 2 : 1024, now) != IOTSEC_OK)
                return IOTSEC_ERR_NOMEM;
        }
    }
    uint32_t s = dns_slot(dev + 1, addr, c->cap);
    while (c->slots[s].dev != 0 && !(c->slots[s].dev == dev + 1 && c->slots[s].addr == addr))
        s = (s + 1) & (c->cap - 1);
    if (c->slots[s].dev == 0)
        c->used++;
    c->slots[s] = (struct an_dns_slot){dev + 1, addr, name, expires};
    return IOTSEC_OK;
}

int an_engine_dns(struct an_engine *e, const struct an_addr *client, const char *name,
                  const struct an_addr *addrs, const uint32_t *ttls, unsigned n, double ts)
{
    char norm[AN_MUD_NAME_MAX];
    if (e == NULL || client == NULL || name == NULL || (n && (addrs == NULL || ttls == NULL)) ||
        !isfinite(ts) || ts < 0 || ts > 4e9 || !an_dns_name_normalise(name, strlen(name), norm))
        return IOTSEC_ERR_INVALID;
    uint32_t dev = an_bind_get(e, client);
    if (dev == UINT32_MAX && e->cfg.auto_bind && an_prefixes_contain(&e->cfg.local, client)) {
        char identity[64] = "ip:";
        an_addr_format(client, identity + 3, sizeof(identity) - 3);
        int rc = an_engine_bind(e, client, identity, 0);
        if (rc != IOTSEC_OK)
            return rc;
        dev = an_bind_get(e, client);
    }
    if (dev == UINT32_MAX)
        return AN_NO_DEVICE;
    uint32_t h = an_name_hash(e->seed, norm);
    for (unsigned i = 0; i < n; i++) {
        double exp = ts + (double)ttls[i] + e->cfg.dns_grace_s;
        uint32_t expires = exp > 4e9 ? 4000000000u : (uint32_t)exp;
        uint32_t a = (uint32_t)an_hash_addr(&addrs[i], e->seed) | 1u;
        int rc = dns_put(&e->dns, dev, a, h, expires, ts);
        if (rc == IOTSEC_ERR_NOMEM)
            return rc;
    }
    return IOTSEC_OK;
}

static bool in_range(uint16_t p, uint16_t lo, uint16_t hi)
{
    return p >= lo && p <= hi;
}

/* The ACE's network as two masked words: an_prefixes_contain's test for one prefix without
 * building a prefix list per flow. */
static void prefix_mask(unsigned bits, uint64_t mask[2])
{
    uint8_t m[16] = {0};
    for (unsigned i = 0; i < 16 && bits > 0; i++) {
        unsigned take = bits < 8 ? bits : 8;
        m[i] = (uint8_t)(0xff00u >> take);
        bits -= take;
    }
    memcpy(mask, m, 16);
}

static bool prefix_has(const struct an_mud_ace *ace, const struct an_addr *a)
{
    uint64_t net[2], x[2];
    memcpy(net, ace->net.b, 16);
    memcpy(x, a->b, 16);
    return (((net[0] ^ x[0]) & ace->mask[0]) | ((net[1] ^ x[1]) & ace->mask[1])) == 0;
}

bool an_mud_permits(const struct an_engine *e, const struct an_mud_rt *m, uint32_t dev,
                    const struct an_flow *f, bool outbound, uint32_t name)
{
    (void)dev;
    const struct an_addr *far = outbound ? &f->resp : &f->orig;
    uint16_t rport = outbound ? f->resp_port : f->orig_port;
    uint16_t lport = outbound ? f->orig_port : f->resp_port;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct an_mud_ace *a = &m->ace[i];
        if (a->from_device != outbound || (a->proto && a->proto != f->proto))
            continue;
        if (a->proto == AN_PROTO_TCP && a->initiated && a->initiated != (outbound ? 1 : 2))
            continue;
        if (!in_range(rport, a->rlo, a->rhi) || !in_range(lport, a->llo, a->lhi))
            continue;
        switch ((enum an_mud_kind)a->kind) {
        case AN_MUD_ANY:
            return true;
        case AN_MUD_DNSNAME:
            if (name != 0 && name == a->name)
                return true;
            break;
        case AN_MUD_NETWORK:
            if (prefix_has(a, far))
                return true;
            break;
        case AN_MUD_LOCAL:
        case AN_MUD_CONTROLLER:
            if (an_prefixes_contain(&e->cfg.local, far))
                return true;
            break;
        case AN_MUD_SAME_MFG:
        case AN_MUD_MANUFACTURER: {
            /* The far end is a device we know whose group's MUD comes from that maker. */
            uint32_t other = an_bind_get(e, far);
            if (other == UINT32_MAX)
                break;
            const struct an_mud_rt *om = e->groups[an_dev(e, other)->group].mud;
            uint32_t want = a->kind == AN_MUD_SAME_MFG ? m->authority : a->name;
            if (om && om->authority == want)
                return true;
            break;
        }
        }
    }
    return false;
}

int an_engine_set_mud(struct an_engine *e, uint32_t group, const struct an_mud *mud)
{
    if (e == NULL || group == 0)
        return IOTSEC_ERR_INVALID; /* group 0 is "no group": nothing to describe */
    uint32_t gi;
    int rc = an_group_get(e, group, &gi);
    if (rc != IOTSEC_OK)
        return rc;
    if (gi == 0)
        return IOTSEC_ERR_BUSY; /* past AN_MAX_GROUPS */
    struct an_mud_rt *rt = NULL;
    if (mud != NULL) {
        rt = calloc(1, sizeof(*rt) + mud->n * sizeof(rt->ace[0]));
        if (rt == NULL)
            return IOTSEC_ERR_NOMEM;
        rt->authority = an_name_hash(e->seed, mud->authority);
        rt->n = mud->n;
        for (unsigned i = 0; i < mud->n; i++) {
            const struct an_mud_rule *r = &mud->rule[i];
            struct an_mud_ace *a = &rt->ace[i];
            a->kind = r->kind;
            a->proto = r->proto;
            a->initiated = r->initiated;
            a->from_device = r->from_device;
            a->rlo = r->rport_lo, a->rhi = r->rport_hi;
            a->llo = r->lport_lo, a->lhi = r->lport_hi;
            a->net = r->net;
            a->bits = r->bits;
            prefix_mask(r->bits, a->mask);
            a->name = r->name[0] ? an_name_hash(e->seed, r->name) : 0;
        }
    }
    free(e->groups[gi].mud);
    e->groups[gi].mud = rt;
    return IOTSEC_OK;
}

void an_engine_mud_retain(struct an_engine *e, const uint32_t *keep, size_t n)
{
    for (uint32_t i = 0; i < e->ngroups; i++) {
        struct an_group *g = &e->groups[i];
        if (g->mud == NULL)
            continue;
        bool kept = false;
        for (size_t k = 0; k < n && !kept; k++)
            kept = keep[k] == g->id;
        if (!kept) {
            free(g->mud);
            g->mud = NULL;
        }
    }
}

void an_mud_free_all(struct an_engine *e)
{
    for (uint32_t i = 0; i < e->ngroups; i++) {
        free(e->groups[i].mud);
        e->groups[i].mud = NULL;
    }
    free(e->dns.slots);
    e->dns.slots = NULL;
}
