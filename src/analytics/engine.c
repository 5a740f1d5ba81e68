/* The engine: configuration, devices bound to UE addresses, and the window clock that
 * counts each record into its device's open window. Detection happens when a window closes
 * (window.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/an_int.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"

void an_config_default(struct an_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window_s = 60;
    c->max_devices = 1u << 24;
    c->fail_raise = 3;
    c->fail_hold = 1;
    c->clear_windows = 1;
    c->raise_windows = 1;
    c->scan_dsts = 32;
    c->flood_flows = 100;
    c->rate_pps = 1000;
    c->warmup_windows = 30;
    c->baseline_k = 10;
    c->baseline_floor = 50;
    c->peer_min = 8;
    c->peer_factor = 8;
    c->new_dst = 16;
    c->rlf_raise = 3;
    c->pingpong_raise = 3;
    c->access_raise = 20;
    c->fleet_devices = 5;
    c->fleet_flows = 20;
    c->learn_windows = 60;
    c->dns_grace_s = 600;
    c->outage_pct = 50;
    c->auto_bind = false;
    an_prefixes_private(&c->local);
}

struct an_engine *an_engine_new(const struct an_config *c, const void *key, size_t key_len)
{
    if (c == NULL || c->window_s == 0 || c->max_devices == 0 || c->clear_windows == 0 ||
        c->clear_windows > 7 || key == NULL || key_len < 16)
        return NULL;
    struct an_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->cfg = *c;
    e->cur = -1;
    e->learners = 1; /* unknown until a window closes: fetch the whole state */
    uint32_t g0;
    if (crypto_random(&e->seed, sizeof(e->seed)) != IOTSEC_OK ||
        (e->fleet = an_fleet_new()) == NULL || an_group_get(e, 0, &g0) != IOTSEC_OK) {
        an_engine_free(e);
        return NULL;
    }
    hmac_sha256_init(&e->key, key, key_len);
    return e;
}

void an_engine_free(struct an_engine *e)
{
    if (e == NULL)
        return;
    an_mud_free_all(e);
    an_tables_free(e);
    an_fleet_free(e->fleet);
    hmac_sha256_wipe(&e->key);
    hmac_sha256_wipe(&e->prev_key);
    secure_wipe(e, sizeof(*e));
    free(e);
}

void an_engine_set_callbacks(struct an_engine *e, an_finding_cb on_finding, an_window_cb on_window,
                             void *arg)
{
    e->on_finding = on_finding;
    e->on_window = on_window;
    e->cb_arg = arg;
}

void an_engine_set_condition_cb(struct an_engine *e, an_condition_cb fn)
{
    e->on_condition = fn;
}

int an_engine_rekey(struct an_engine *e, const void *key, size_t key_len)
{
    if (key == NULL || key_len < 16)
        return IOTSEC_ERR_INVALID;
    hmac_sha256_wipe(&e->prev_key);
    e->prev_key = e->key;
    e->has_prev = true;
    hmac_sha256_init(&e->key, key, key_len);
    return IOTSEC_OK;
}

int an_engine_bind(struct an_engine *e, const struct an_addr *ue, const char *identity,
                   uint32_t group)
{
    if (e == NULL || ue == NULL || identity == NULL || identity[0] == '\0')
        return IOTSEC_ERR_INVALID;
    uint8_t p[16], old[16];
    uint32_t gi, idx;
    an_pseudonym_with(&e->key, identity, p);
    int rc = an_group_get(e, group, &gi);
    if (rc != IOTSEC_OK)
        return rc;
    idx = an_dev_find(e, p);
    if (idx == UINT32_MAX && e->has_prev) {
        /* Bound again after a rotation: the state carries over to the new pseudonym. */
        an_pseudonym_with(&e->prev_key, identity, old);
        idx = an_dev_find(e, old);
        if (idx != UINT32_MAX && (rc = an_dev_rename(e, idx, p)) != IOTSEC_OK)
            return rc;
    }
    if (idx == UINT32_MAX && (rc = an_dev_get(e, p, gi, &idx)) != IOTSEC_OK)
        return rc;
    struct an_device *d = an_dev(e, idx);
    if (d->touched_at && d->group != gi && !e->closing) {
        /* Moved to another group mid-window: its peer tally moves with it. */
        if (d->group != 0)
            an_peers_leave(&e->groups[d->group], d->win.flows_out);
        if (gi != 0) {
            an_peers_enter(&e->groups[gi]);
            for (uint32_t f = 1; f <= d->win.flows_out && f != 0; f <<= 1)
                an_peers_grew(&e->groups[gi], f);
        }
    }
    d->group = (uint16_t)gi;
    return an_bind_put(e, ue, idx);
}

int an_engine_unbind(struct an_engine *e, const struct an_addr *ue)
{
    return an_bind_del(e, ue);
}

/* Finds the device a flow belongs to: its originator if bound, else its responder; with
 * auto_bind, an unbound address inside `local` becomes a device named by that address. */
static int locate(struct an_engine *e, const struct an_flow *f, uint32_t *idx, bool *out)
{
    if ((*idx = an_bind_get(e, &f->orig)) != UINT32_MAX) {
        *out = true;
        return IOTSEC_OK;
    }
    if ((*idx = an_bind_get(e, &f->resp)) != UINT32_MAX) {
        *out = false;
        return IOTSEC_OK;
    }
    if (!e->cfg.auto_bind)
        return AN_NO_DEVICE;
    const struct an_addr *ue = NULL;
    if (an_prefixes_contain(&e->cfg.local, &f->orig))
        ue = &f->orig, *out = true;
    else if (an_prefixes_contain(&e->cfg.local, &f->resp))
        ue = &f->resp, *out = false;
    if (ue == NULL)
        return AN_NO_DEVICE;
    char identity[64] = "ip:";
    an_addr_format(ue, identity + 3, sizeof(identity) - 3);
    int rc = an_engine_bind(e, ue, identity, 0);
    secure_wipe(identity, sizeof(identity));
    if (rc != IOTSEC_OK)
        return rc;
    *idx = an_bind_get(e, ue);
    return IOTSEC_OK;
}

/* Moves the clock to window w (absolute), closing the open one and, for a gap, enough
 * empty windows that every alarm has had its chance to clear. */
static void advance(struct an_engine *e, int64_t w)
{
    if (e->cur < 0) {
        e->base = w;
        e->cur = 0;
        return;
    }
    int64_t target = w - e->base, gap = 0;
    while (e->cur < target && gap < 8) {
        an_window_close(e);
        e->cur++;
        gap++;
    }
    if (e->cur < target)
        e->cur = (int32_t)target;
}

/* Moves the clock to window w if it is ahead, and lists device idx as active in the open
 * window (a record older than the open window is counted into it: "late"). */
static int touch(struct an_engine *e, int64_t w, uint32_t idx)
{
    if (e->cur < 0 || w > e->base + e->cur)
        advance(e, w);
    else if (w < e->base + e->cur)
        e->late++;
    struct an_device *d = an_dev(e, idx);
    if (d->touched_at == 0) {
        if (e->ntouched == e->cmarked) { /* marked never outgrows touched: reserve with it */
            uint32_t c = e->cmarked ? e->cmarked * 2 : 256;
            uint32_t *m = realloc(e->marked, c * sizeof(*m));
            if (m == NULL)
                return IOTSEC_ERR_NOMEM;
            e->marked = m;
            e->cmarked = c;
        }
        if (an_list_push(&e->touched, &e->ntouched, &e->ctouched, idx) != IOTSEC_OK)
            return IOTSEC_ERR_NOMEM;
        d->touched_at = e->ntouched;
        if (d->group != 0)
            an_peers_enter(&e->groups[d->group]);
    }
    return IOTSEC_OK;
}

static uint8_t inc8(uint8_t v)
{
    return v < UINT8_MAX ? (uint8_t)(v + 1) : v;
}

int an_engine_signal(struct an_engine *e, const char *identity, double ts, enum an_signal_kind kind,
                     const char *tai, const char *ncgi)
{
    if (e == NULL || identity == NULL || identity[0] == '\0' || !isfinite(ts) || ts < 0 ||
        ts > 1e11 || (unsigned)kind >= AN_SIG_COUNT)
        return IOTSEC_ERR_INVALID;
    int64_t w = (int64_t)floor(ts / e->cfg.window_s);
    if (e->cur >= 0 && w - e->base > INT32_MAX - 16)
        return IOTSEC_ERR_INVALID;
    uint8_t p[16];
    uint32_t idx;
    an_pseudonym_with(&e->key, identity, p);
    int rc = an_dev_get(e, p, 0, &idx);
    if (rc != IOTSEC_OK)
        return rc;
    if ((rc = touch(e, w, idx)) != IOTSEC_OK)
        return rc;
    struct an_device *d = an_dev(e, idx);
    switch (kind) {
    case AN_SIG_REGISTRATION:
    case AN_SIG_SERVICE_REQUEST:
        d->win.wakeups = inc8(d->win.wakeups);
        break;
    case AN_SIG_RADIO_LINK_FAILURE:
        d->win.rlf = inc8(d->win.rlf);
        break;
    case AN_SIG_LOCATION_UPDATE:
    case AN_SIG_COUNT:
        break;
    }
    if (tai != NULL || ncgi != NULL) {
        /* The cell as a keyed hash: equal cells compare equal, nothing else is kept. */
        struct an_addr a;
        uint8_t h[16];
        char cell[160];
        snprintf(cell, sizeof(cell), "cell:%.70s/%.70s", tai ? tai : "", ncgi ? ncgi : "");
        an_pseudonym_with(&e->key, cell, h);
        memcpy(a.b, h, 16);
        uint16_t c = (uint16_t)(an_hash_addr(&a, e->seed) | 1u); /* 0 = no cell yet */
        if (c != d->cell[0]) {
            if (c == d->cell[1])
                d->win.pingpong = inc8(d->win.pingpong);
            d->cell[1] = d->cell[0];
            d->cell[0] = c;
        }
        secure_wipe(cell, sizeof(cell));
    }
    return IOTSEC_OK;
}

/* The checks every record passes before it is located. */
static int record_window(const struct an_engine *e, const struct an_flow *f, int64_t *w)
{
    if (!isfinite(f->ts) || f->ts < 0 || f->ts > 1e11)
        return IOTSEC_ERR_INVALID;
    *w = (int64_t)floor(f->ts / e->cfg.window_s);
    if (e->cur >= 0 && *w - e->base > INT32_MAX - 16)
        return IOTSEC_ERR_INVALID; /* centuries ahead of the clock: a broken timestamp */
    return IOTSEC_OK;
}

/* Counts a located record: idx is its device, out whether the device opened it, far_hash
 * an_hash_addr of the other end. */
static int count(struct an_engine *e, const struct an_flow *f, int64_t w, uint32_t idx, bool out,
                 uint64_t far_hash)
{
    int rc = touch(e, w, idx);
    if (rc != IOTSEC_OK)
        return rc;
    an_features_add(e, idx, f, out, far_hash);
    e->records++;
    return IOTSEC_OK;
}

int an_engine_ingest(struct an_engine *e, const struct an_flow *f, struct an_placement *where)
{
    int64_t w;
    int rc = record_window(e, f, &w);
    if (rc != IOTSEC_OK)
        return rc;
    uint32_t idx;
    bool out;
    if ((rc = locate(e, f, &idx, &out)) != IOTSEC_OK) {
        if (rc == AN_NO_DEVICE)
            e->no_device++;
        return rc;
    }
    rc = count(e, f, w, idx, out, an_hash_addr(out ? &f->resp : &f->orig, e->seed));
    if (rc == IOTSEC_OK && where) {
        where->device = idx;
        where->window = e->base + e->cur;
        where->outbound = out;
    }
    return rc;
}

/* What the batch learnt of a record ahead of counting it. */
struct ahead {
    uint64_t orig_hash; /* an_hash_addr of the originator: its binding slot */
    uint64_t resp_hash; /* ... of the responder (the far end when the originator is bound) */
    uint64_t gen;       /* e->bind_gen when `dev` was looked up */
    uint32_t dev;       /* the originator's device; UINT32_MAX: not bound (located anew) */
};

/* Stage 2: the originator's binding (its slot was prefetched), then the device's lines and
 * the DNS slot its MUD check will read. */
static void look_ahead(const struct an_engine *e, const struct an_flow *f, struct ahead *a)
{
    a->gen = e->bind_gen;
    a->dev = an_bind_get_h(e, &f->orig, a->orig_hash);
    if (a->dev == UINT32_MAX)
        return;
    /* The lines a record touches: the learnt line only if some device has no MUD (its
     * records read it, learning or after); e->learners counts those active in the last
     * window. A wrong guess costs a miss, never a result. */
    const char *d = (const char *)an_dev(e, a->dev);
    size_t lines = e->learners ? sizeof(struct an_device) : AN_DEV_HOT_BYTES;
    for (size_t off = 0; off < lines; off += 64)
        __builtin_prefetch(d + off, 1);
    a->resp_hash = an_hash_addr(&f->resp, e->seed);
    if (e->dns.used) /* the MUD check looks the far end's name up */
        __builtin_prefetch(an_dns_slot_addr(&e->dns, a->dev, (uint32_t)a->resp_hash | 1u));
}

size_t an_engine_ingest_batch(struct an_engine *e, const struct an_flow *f, size_t n)
{
    /* Three stages in flight: the binding slot of record i+16 is being fetched, the device
     * of record i+8 (whose slot arrived) too, and record i is counted with the binding found
     * at the second stage: located once, not twice. That binding is used only if no binding
     * changed since (auto_bind, a callback); else, and for a record whose originator is not
     * bound, the record is located from scratch. */
    enum { SLOT_AHEAD = 16, DEV_AHEAD = 8 };
    struct ahead ring[SLOT_AHEAD];
    size_t counted = 0;
    for (size_t i = 0; i < n + SLOT_AHEAD; i++) {
        if (i < n) {
            struct ahead *a = &ring[i % SLOT_AHEAD];
            a->orig_hash = an_hash_addr(&f[i].orig, e->seed);
            if (e->bcap)
                __builtin_prefetch(&e->binds[(uint32_t)a->orig_hash & (e->bcap - 1)]);
        }
        if (i >= SLOT_AHEAD - DEV_AHEAD && i - (SLOT_AHEAD - DEV_AHEAD) < n)
            look_ahead(e, &f[i - (SLOT_AHEAD - DEV_AHEAD)],
                       &ring[(i - (SLOT_AHEAD - DEV_AHEAD)) % SLOT_AHEAD]);
        if (i < SLOT_AHEAD)
            continue;
        size_t k = i - SLOT_AHEAD;
        const struct ahead *a = &ring[k % SLOT_AHEAD];
        int64_t w;
        if (a->dev == UINT32_MAX || a->gen != e->bind_gen)
            counted += an_engine_ingest(e, &f[k], NULL) == IOTSEC_OK;
        else if (record_window(e, &f[k], &w) == IOTSEC_OK)
            counted += count(e, &f[k], w, a->dev, true, a->resp_hash) == IOTSEC_OK;
    }
    return counted;
}

void an_engine_flush(struct an_engine *e)
{
    if (e->cur >= 0) {
        an_window_close(e);
        e->cur++;
    }
}

size_t an_device_state_size(void)
{
    return sizeof(struct an_device) + sizeof(struct an_cold);
}

void an_engine_stats(const struct an_engine *e, struct an_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->records = e->records;
    out->no_device = e->no_device;
    out->late = e->late;
    out->findings = e->findings;
    out->devices = e->ndev;
    out->groups = e->ngroups;
    out->state_bytes = (size_t)e->nchunks * ((size_t)1 << AN_CHUNK_SHIFT) *
                           (sizeof(struct an_device) + sizeof(struct an_cold)) +
                       (size_t)e->pcap * sizeof(uint32_t) + (size_t)e->nchunks * 2 * sizeof(void *);
    out->binding_bytes = (size_t)e->bcap * sizeof(struct an_bind);
    out->fleet_bytes = an_fleet_bytes(e->fleet) + (size_t)e->gcap * sizeof(struct an_group);
    for (uint32_t i = 0; i < e->ngroups; i++)
        if (e->groups[i].known)
            out->fleet_bytes += AN_GROUP_KNOWN_BITS / 8;
    out->dns_bytes = (size_t)e->dns.cap * sizeof(struct an_dns_slot);
    out->dns_dropped = e->dns.dropped;
}

int an_engine_device_pseudonym(const struct an_engine *e, uint32_t device, uint8_t out[16])
{
    if (device >= e->ndev)
        return IOTSEC_ERR_NOTFOUND;
    memcpy(out, an_cold(e, device)->pseudonym, 16);
    return IOTSEC_OK;
}
