/* The daemon's analytics instance: one engine behind a mutex, the UE address -> device
 * mapping and its pseudonym -> SUPI table (the one place the link lives: policy needs it to
 * act), the sealed pseudonym key and its rotation, and the window timer.
 *
 * Which clock rules: record time. A window closes when a record (or signalling event) of a
 * later window arrives, as in the offline evaluation, so replayed captures give the same
 * findings as live traffic. The timer only closes a window that nothing else will close:
 *   - live records (the open window ends within three windows of the wall clock): when the
 *     wall clock passes the window's end by GRACE_S;
 *   - replayed records (older): once, when no input came for a window's length of wall time
 *     (the end of the replay). */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/an_int.h"
#include "analytics/an_key.h"
#include "analytics/an_service.h"
#include "analytics/an_store.h"
#include "analytics/mud.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/supi.h"
#include "subscriber/subscriber.h"

#define GRACE_S          2.0
#define PENDING_FINDINGS 1024 /* findings waiting for one write job; past it, written at once */
#define PENDING_MAPS     512  /* mapping changes waiting for one write job */
#define SWEEP_EVERY_S    60.0
#define SWEEP_LIMIT      1000 /* findings deleted per sweep: a bounded job */

#define MAP_ADDRS 2 /* an IPv4 and an IPv6 address per device, typically */

struct map_entry {
    uint8_t p[16];
    uint64_t epoch; /* 0: empty slot */
    char supi[ANALYTICS_SUPI_MAX];
    struct an_addr addr[MAP_ADDRS]; /* its bound UE addresses, newest first (enforcement) */
    uint8_t naddr;
};

struct group_name {
    uint32_t id; /* 0: empty slot */
    char name[72];
};

struct analytics {
    pthread_mutex_t mu;
    struct analytics_options o;
    char key_path[600];
    struct an_key key;
    struct an_engine *e;
    struct map_entry *map;
    uint32_t map_cap, map_used;
    analytics_finding_fn hook;
    void *hook_arg;
    /* Writes waiting for the next store job (an_write.c's batching, under mu). */
    struct an_pending pend;
    bool restoring; /* loading the persisted mappings: nothing to write back */
    double next_sweep;
    uint64_t unsaved;       /* findings or mapping changes a full store queue refused */
    double unmapped_warned; /* wall time of the last "mostly unmapped" log line */
    double last_input;      /* wall time of the last input */
    bool flushed_idle;      /* the timer closed the window since the last input */
    uint64_t findings;      /* findings reported since start */
    uint64_t batches, batches_rejected;
    uint64_t conditions, dns_answers; /* fleet conditions reported; DNS answers taken */
    int64_t mud_seq;                  /* AN_MUD_TOPIC as last applied (the tick's thread only) */
    struct group_name *gnames;        /* group number -> name: conditions carry the name */
    uint32_t gcap, gused;
};

/* ---- pseudonym -> SUPI ---- */

static uint32_t slot_of(const uint8_t p[16], uint32_t cap)
{
    uint32_t h;
    memcpy(&h, p, 4); /* an HMAC output: uniform already */
    return h & (cap - 1);
}

static struct map_entry *map_find(const struct analytics *a, const uint8_t p[16])
{
    if (a->map_cap == 0)
        return NULL;
    for (uint32_t s = slot_of(p, a->map_cap);; s = (s + 1) & (a->map_cap - 1)) {
        struct map_entry *m = &a->map[s];
        if (m->epoch == 0)
            return NULL;
        if (memcmp(m->p, p, 16) == 0)
            return m;
    }
}

/* Puts `from` (its SUPI and addresses) under pseudonym p; returns 1 if the slot was new. */
static int map_insert_raw(struct map_entry *map, uint32_t cap, const uint8_t p[16], uint64_t epoch,
                          const struct map_entry *from)
{
    for (uint32_t s = slot_of(p, cap);; s = (s + 1) & (cap - 1)) {
        if (map[s].epoch == 0 || memcmp(map[s].p, p, 16) == 0) {
            bool fresh = map[s].epoch == 0;
            map[s] = *from;
            memcpy(map[s].p, p, 16);
            map[s].epoch = epoch;
            return fresh;
        }
    }
}

/* Rebuilds the table with room for `want` entries, keeping those of epoch >= min_epoch,
 * and (rekey) adding each current entry's pseudonym under the new key. */
static int map_rebuild(struct analytics *a, uint32_t want, uint64_t min_epoch,
                       const struct an_key *rekey)
{
    uint32_t cap = 64;
    while (cap < 2 * want)
        cap <<= 1;
    struct map_entry *m = calloc(cap, sizeof(*m));
    if (m == NULL)
        return IOTSEC_ERR_NOMEM;
    uint32_t used = 0;
    for (uint32_t i = 0; i < a->map_cap; i++) {
        struct map_entry *old = &a->map[i];
        if (old->epoch == 0 || old->epoch < min_epoch)
            continue;
        used += (uint32_t)map_insert_raw(m, cap, old->p, old->epoch, old);
        if (rekey != NULL && old->epoch + 1 == rekey->epoch) {
            uint8_t p[16];
            an_pseudonym(rekey->key, AN_KEY_LEN, old->supi, p);
            used += (uint32_t)map_insert_raw(m, cap, p, rekey->epoch, old);
        }
    }
    if (a->map) {
        secure_wipe(a->map, (size_t)a->map_cap * sizeof(*a->map));
        free(a->map);
    }
    a->map = m;
    a->map_cap = cap;
    a->map_used = used;
    return IOTSEC_OK;
}

static int map_put(struct analytics *a, const char *supi, struct map_entry **out)
{
    uint8_t p[16];
    an_pseudonym(a->key.key, AN_KEY_LEN, supi, p);
    if ((*out = map_find(a, p)) != NULL)
        return IOTSEC_OK;
    if (a->map_used >= a->o.max_mappings)
        return IOTSEC_ERR_BUSY;
    if (2 * (a->map_used + 1) > a->map_cap) {
        int rc = map_rebuild(a, a->map_used + 1 > 32 ? 2 * (a->map_used + 1) : 32, 0, NULL);
        if (rc != IOTSEC_OK)
            return rc;
    }
    struct map_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.supi, sizeof(e.supi), "%s", supi);
    a->map_used += (uint32_t)map_insert_raw(a->map, a->map_cap, p, a->key.epoch, &e);
    *out = map_find(a, p);
    return IOTSEC_OK;
}

/* Remembers (or forgets) a UE address of the entry, for enforcement. */
static void entry_addr(struct map_entry *m, const struct an_addr *ue, bool add)
{
    unsigned i = 0;
    while (i < m->naddr && memcmp(&m->addr[i], ue, sizeof(*ue)) != 0)
        i++;
    if (i < m->naddr) { /* present: drop it (and put it first again if adding) */
        memmove(&m->addr[i], &m->addr[i + 1], (m->naddr - i - 1) * sizeof(*ue));
        m->naddr--;
    }
    if (!add)
        return;
    if (m->naddr == MAP_ADDRS)
        m->naddr--;
    memmove(&m->addr[1], &m->addr[0], m->naddr * sizeof(*ue));
    m->addr[0] = *ue;
    m->naddr++;
}

size_t analytics_addresses_of(struct analytics *a, const char *supi, struct an_addr *out,
                              size_t max)
{
    uint8_t p[16];
    size_t n = 0;
    pthread_mutex_lock(&a->mu);
    an_pseudonym(a->key.key, AN_KEY_LEN, supi, p);
    const struct map_entry *m = map_find(a, p);
    for (unsigned i = 0; m && i < m->naddr && n < max; i++)
        out[n++] = m->addr[i];
    pthread_mutex_unlock(&a->mu);
    return n;
}

int analytics_supi_of(struct analytics *a, const uint8_t pseudonym[16], char *out, size_t len)
{
    pthread_mutex_lock(&a->mu);
    const struct map_entry *m = map_find(a, pseudonym);
    if (m)
        snprintf(out, len, "%s", m->supi);
    pthread_mutex_unlock(&a->mu);
    return m ? IOTSEC_OK : IOTSEC_ERR_NOTFOUND;
}

/* ---- findings ---- */

/* Hands what waits to the store, then the findings to the hook (under mu). */
static void drain(struct analytics *a)
{
    a->unsaved += an_pending_drain(&a->pend, a->o.store, a->hook, a->hook_arg);
}

/* Every finding is queued for the store with its evidence; the hook hears of it once its row
 * is committed (an_pending_drain). The pseudonym -> SUPI link is read now: the row keeps the
 * SUPI the device had when it was flagged. */
static void queue_finding(struct analytics *a, const struct an_finding *f, const char *supi,
                          char *json)
{
    a->findings++;
    if (an_pending_add_finding(&a->pend, f, supi, json) != IOTSEC_OK)
        return;
    if (a->pend.nf >= PENDING_FINDINGS)
        drain(a);
}

/* ---- group number -> name (under mu): the engine knows groups by their FNV number; a
 * condition is reported by the name the operator gave. ---- */

static struct group_name *gname_slot(struct group_name *t, uint32_t cap, uint32_t id)
{
    for (uint32_t s = (id * 2654435761u) & (cap - 1);; s = (s + 1) & (cap - 1))
        if (t[s].id == 0 || t[s].id == id)
            return &t[s];
}

static void gname_put(struct analytics *a, uint32_t id, const char *name)
{
    if (id == 0 || strlen(name) >= sizeof(a->gnames->name))
        return; /* longer names are refused by the mapping (an_pending_map's group) */
    if (2 * (a->gused + 1) > a->gcap) {
        if (a->gused >= 2 * AN_MAX_GROUPS)
            return; /* past the engine's groups: those map to group 0, never a condition */
        uint32_t cap = a->gcap ? 2 * a->gcap : 64;
        struct group_name *t = calloc(cap, sizeof(*t));
        if (t == NULL)
            return;
        for (uint32_t i = 0; i < a->gcap; i++)
            if (a->gnames[i].id)
                *gname_slot(t, cap, a->gnames[i].id) = a->gnames[i];
        free(a->gnames);
        a->gnames = t;
        a->gcap = cap;
    }
    struct group_name *g = gname_slot(a->gnames, a->gcap, id);
    if (g->id == 0)
        a->gused++;
    g->id = id;
    snprintf(g->name, sizeof(g->name), "%s", name);
}

static const char *gname_get(const struct analytics *a, uint32_t id)
{
    if (a->gcap == 0 || id == 0)
        return NULL;
    const struct group_name *g = gname_slot(a->gnames, a->gcap, id);
    return g->id == id ? g->name : NULL;
}

static void on_finding(void *arg, const struct an_finding *f)
{
    struct analytics *a = arg;
    char *json = an_finding_json(f);
    if (json == NULL)
        return;
    const struct map_entry *m = map_find(a, f->device);
    queue_finding(a, f, m ? m->supi : NULL, json);
}

/* A fleet-level condition (most of a group failing at once): an outage to report, said in
 * the log and counted; no device is blamed for it. Under the lock. */
static void on_condition(void *arg, const struct an_condition *c)
{
    struct analytics *a = arg;
    const char *name = gname_get(a, c->group);
    if (!c->cleared) {
        a->conditions++;
        char *json = an_condition_json(c);
        log_msg(LOG_WARN, NULL, "analytics: fleet condition of group %s: %s",
                name ? name : "(unnamed)", json ? json : "(no memory)");
        free(json);
    }
    /* Kept for the admin face by name; a group the instance cannot name is only logged. */
    if (a->o.store && name && an_condition_submit(a->o.store, c, name) != IOTSEC_OK)
        a->unsaved++;
}

void analytics_report_finding(struct analytics *a, const struct an_finding *f, const char *supi,
                              const char *json)
{
    char *copy = strdup(json);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    queue_finding(a, f, supi, copy);
    drain(a);
    pthread_mutex_unlock(&a->mu);
}

static int barrier_run(struct store_conn *conn, void *arg)
{
    (void)conn;
    (void)arg;
    return IOTSEC_OK;
}

void analytics_flush(struct analytics *a)
{
    pthread_mutex_lock(&a->mu);
    drain(a);
    pthread_mutex_unlock(&a->mu);
    if (a->o.store) /* everything queued before this is committed when it returns */
        store_write_sync(a->o.store, barrier_run, NULL);
}

/* ---- configuration ---- */

struct knob {
    const char *name;
    size_t off;
};
#define KNOB(f)                                                                                    \
    {                                                                                              \
#f, offsetof(struct an_config, f)                                                          \
    }
static const struct knob knobs[] = {
    KNOB(fail_raise),     KNOB(fail_hold),      KNOB(clear_windows), KNOB(raise_windows),
    KNOB(scan_dsts),      KNOB(flood_flows),    KNOB(rate_pps),      KNOB(warmup_windows),
    KNOB(baseline_floor), KNOB(peer_min),       KNOB(peer_factor),   KNOB(new_dst),
    KNOB(rlf_raise),      KNOB(pingpong_raise), KNOB(access_raise),  KNOB(fleet_devices),
    KNOB(fleet_flows),    KNOB(max_devices),    KNOB(learn_windows), KNOB(dns_grace_s),
    KNOB(outage_pct),
};

static int load_thresholds(const char *path, struct an_config *c, char *err, size_t err_len)
{
    json_error_t je;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        snprintf(err, err_len, "analytics thresholds %s: not a JSON object (line %d)", path,
                 je.line);
        json_decref(o);
        return IOTSEC_ERR_INVALID;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool done = false;
        if (strcmp(k, "baseline_k") == 0 && json_is_number(v) && json_number_value(v) > 0) {
            c->baseline_k = (float)json_number_value(v);
            done = true;
        }
        for (size_t i = 0; !done && i < sizeof(knobs) / sizeof(knobs[0]); i++) {
            if (strcmp(k, knobs[i].name) == 0 && json_is_integer(v) && json_integer_value(v) > 0 &&
                json_integer_value(v) <= UINT32_MAX) {
                *(uint32_t *)((char *)c + knobs[i].off) = (uint32_t)json_integer_value(v);
                done = true;
            }
        }
        if (!done) {
            snprintf(err, err_len, "analytics thresholds %s: unknown key or bad value: %.40s", path,
                     k);
            json_decref(o);
            return IOTSEC_ERR_INVALID;
        }
    }
    json_decref(o);
    if (c->learn_windows > UINT16_MAX || c->outage_pct > 100) {
        snprintf(err, err_len,
                 "analytics thresholds %s: learn_windows at most 65535, outage_pct "
                 "at most 100",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

static int open_key(struct analytics *a, char *err, size_t err_len)
{
    int rc = an_key_load(a->key_path, a->o.kek, &a->key);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        if ((rc = an_key_new(&a->key, 1, (int64_t)time(NULL))) == IOTSEC_OK)
            rc = an_key_write(a->key_path, a->o.kek, &a->key);
    }
    if (rc != IOTSEC_OK)
        snprintf(err, err_len, "analytics pseudonym key %s: %s%s", a->key_path, iotsec_strerror(rc),
                 rc == IOTSEC_ERR_STATE ? " (chmod 600 it)" : "");
    return rc;
}

static int session_apply(struct analytics *a, const char *supi, const char *ue_ip, bool start,
                         const char *group);

static void restore_one(void *ctx, const char *supi, const char *ip, const char *group)
{
    struct analytics *a = ctx;
    if (session_apply(a, supi, ip, true, group) != IOTSEC_OK)
        a->unsaved++; /* a row this instance cannot hold (table full): said in the log */
}

/* The persisted mappings: the UE addresses are session state, but a restart must not make
 * every flow "unmapped" until the SMF speaks again. */
static int restore(struct analytics *a, char *err, size_t err_len)
{
    a->restoring = true;
    int rc = an_store_map_load(a->o.store, restore_one, a);
    a->restoring = false;
    if (rc != IOTSEC_OK)
        snprintf(err, err_len, "analytics: cannot read the persisted mappings: %s",
                 iotsec_strerror(rc));
    else if (a->unsaved)
        log_msg(LOG_WARN, NULL, "analytics: %llu persisted mappings not restored",
                (unsigned long long)a->unsaved);
    return rc;
}

struct analytics *analytics_new(const struct analytics_options *o, char *err, size_t err_len)
{
    struct analytics *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    pthread_mutex_init(&a->mu, NULL);
    a->o = *o;
    if (a->o.max_records == 0)
        a->o.max_records = 10000;
    if (a->o.max_mappings == 0)
        a->o.max_mappings = 1000000;
    snprintf(a->key_path, sizeof(a->key_path), "%s", o->key_path ? o->key_path : "");
    a->o.key_path = a->key_path;
    a->o.thresholds = NULL;
    struct an_config c;
    an_config_default(&c);
    c.window_s = o->window_s ? o->window_s : 60;
    int rc = o->thresholds ? load_thresholds(o->thresholds, &c, err, err_len) : IOTSEC_OK;
    if (rc == IOTSEC_OK)
        rc = open_key(a, err, err_len);
    if (rc == IOTSEC_OK && (a->e = an_engine_new(&c, a->key.key, AN_KEY_LEN)) == NULL) {
        snprintf(err, err_len, "analytics: bad thresholds or no memory");
        rc = IOTSEC_ERR_INVALID;
    }
    if (rc == IOTSEC_OK)
        rc = map_rebuild(a, 32, 0, NULL);
    if (rc == IOTSEC_OK && a->o.store)
        rc = restore(a, err, err_len);
    a->mud_seq = -1; /* whatever the topic says: load */
    if (rc == IOTSEC_OK && a->o.store &&
        (rc = analytics_mud_sync(a, a->o.store, &a->mud_seq)) != IOTSEC_OK)
        snprintf(err, err_len, "analytics: cannot read the MUD files: %s", iotsec_strerror(rc));
    if (rc != IOTSEC_OK) {
        analytics_free(a);
        return NULL;
    }
    an_engine_set_callbacks(a->e, on_finding, NULL, a);
    an_engine_set_condition_cb(a->e, on_condition);
    return a;
}

void analytics_free(struct analytics *a)
{
    if (a == NULL)
        return;
    a->hook = NULL; /* the daemon flushed to it already; whoever it was may be gone */
    if (a->e)
        analytics_flush(a); /* the last findings and mapping changes */
    an_pending_free(&a->pend);
    an_engine_free(a->e);
    if (a->map) {
        secure_wipe(a->map, (size_t)a->map_cap * sizeof(*a->map));
        free(a->map);
    }
    an_key_wipe(&a->key);
    free(a->gnames);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void analytics_set_finding_hook(struct analytics *a, analytics_finding_fn fn, void *arg)
{
    pthread_mutex_lock(&a->mu);
    a->hook = fn;
    a->hook_arg = arg;
    pthread_mutex_unlock(&a->mu);
}

/* ---- inputs ---- */

static uint32_t group_id(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    uint32_t h = 2166136261u; /* FNV-1a: a stable number for a group name */
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h ? h : 1;
}

int analytics_group_mud(struct analytics *a, const char *group, const struct an_mud *mud)
{
    pthread_mutex_lock(&a->mu);
    gname_put(a, group_id(group), group);
    int rc = an_engine_set_mud(a->e, group_id(group), mud);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int analytics_groups_mud_retain(struct analytics *a, const char *const *keep, size_t n)
{
    uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
    if (ids == NULL)
        return IOTSEC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = group_id(keep[i]);
    pthread_mutex_lock(&a->mu);
    an_engine_mud_retain(a->e, ids, n);
    pthread_mutex_unlock(&a->mu);
    free(ids);
    return IOTSEC_OK;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int analytics_session(struct analytics *a, const char *supi, const char *ue_ip, bool start,
                      const char *group)
{
    pthread_mutex_lock(&a->mu);
    int rc = session_apply(a, supi, ue_ip, start, group);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* Under mu. Persisted (batched) unless restoring. */
static int session_apply(struct analytics *a, const char *supi, const char *ue_ip, bool start,
                         const char *group)
{
    struct supi s;
    struct an_addr ue;
    if (supi == NULL || ue_ip == NULL || supi_parse(supi, &s) != IOTSEC_OK ||
        strlen(supi) >= ANALYTICS_SUPI_MAX || an_addr_parse(ue_ip, strlen(ue_ip), &ue) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc;
    struct map_entry *m = NULL;
    if (!start) {
        rc = an_engine_unbind(a->e, &ue);
        uint8_t p[16];
        an_pseudonym(a->key.key, AN_KEY_LEN, supi, p);
        if ((m = map_find(a, p)) != NULL)
            entry_addr(m, &ue, false);
    } else if (a->e->blive >= 4 * a->o.max_mappings) {
        rc = IOTSEC_ERR_BUSY;
    } else if ((rc = map_put(a, supi, &m)) == IOTSEC_OK) {
        rc = an_engine_bind(a->e, &ue, supi, group_id(group));
        if (rc == IOTSEC_OK) {
            entry_addr(m, &ue, true);
            if (group)
                gname_put(a, group_id(group), group);
        }
    }
    if (rc == IOTSEC_OK && !a->restoring && a->o.store) {
        char canon[48]; /* one spelling per address: the row's key */
        an_addr_format(&ue, canon, sizeof(canon));
        if (an_pending_add_map(&a->pend, supi, canon, group, start, (int64_t)time(NULL)) !=
            IOTSEC_OK)
            a->unsaved++;
        else if (a->pend.nm >= PENDING_MAPS)
            drain(a);
    }
    return rc;
}

int analytics_signal(struct analytics *a, const char *supi, double t, enum an_signal_kind kind,
                     const char *tai, const char *ncgi)
{
    struct supi s;
    if (supi == NULL || supi_parse(supi, &s) != IOTSEC_OK || strlen(supi) >= ANALYTICS_SUPI_MAX)
        return IOTSEC_ERR_INVALID;
    pthread_mutex_lock(&a->mu);
    struct map_entry *m;
    int rc = map_put(a, supi, &m);
    if (rc == IOTSEC_OK)
        rc = an_engine_signal(a->e, supi, t, kind, tai, ncgi);
    if (rc == IOTSEC_OK) {
        a->last_input = wall_now();
        a->flushed_idle = false;
    }
    drain(a);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* Parses every line into flows (no engine call): a bad line rejects the batch. */
struct batch_dns {
    struct an_dns *d;
    size_t *before; /* the flow index each answer comes before (input order) */
    size_t n, cap;
};

static int keep_dns(struct batch_dns *b, const struct an_dns *d, size_t before)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct an_dns *nd = realloc(b->d, cap * sizeof(*nd));
        if (nd == NULL)
            return IOTSEC_ERR_NOMEM;
        b->d = nd;
        size_t *nb = realloc(b->before, cap * sizeof(*nb));
        if (nb == NULL)
            return IOTSEC_ERR_NOMEM;
        b->before = nb;
        b->cap = cap;
    }
    b->d[b->n] = *d;
    b->before[b->n++] = before;
    return IOTSEC_OK;
}

static int parse_batch(const struct analytics *a, enum an_format fmt, const char *text, size_t len,
                       struct an_flow **out, size_t *n, struct analytics_batch_result *r,
                       struct batch_dns *dns)
{
    struct an_parser p;
    struct an_dns d;
    an_parser_init(&p, fmt);
    size_t cap = 0, line = 0;
    *out = NULL;
    *n = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, l = end - pos;
        line++;
        if (l > 0 && text[pos + l - 1] == '\r')
            l--;
        struct an_flow f;
        int rc = an_parse_record(&p, text + pos, l, &f, NULL, &d);
        pos = end + 1;
        if (rc == AN_LINE_SKIP)
            continue;
        if (rc == AN_LINE_DNS) {
            if (*n + dns->n >= a->o.max_records) {
                snprintf(r->err, sizeof(r->err), "more than %zu records in one batch",
                         a->o.max_records);
                return IOTSEC_ERR_BUSY;
            }
            if (keep_dns(dns, &d, *n) != IOTSEC_OK)
                return IOTSEC_ERR_NOMEM;
            continue;
        }
        if (rc != AN_LINE_RECORD) {
            r->bad_line = line;
            snprintf(r->err, sizeof(r->err), "line %zu is not a valid %s record", line,
                     fmt == AN_FMT_ZEEK    ? "zeek"
                     : fmt == AN_FMT_IOT23 ? "iot23"
                                           : "jsonl");
            return IOTSEC_ERR_INVALID;
        }
        if (*n == a->o.max_records) {
            snprintf(r->err, sizeof(r->err), "more than %zu records in one batch",
                     a->o.max_records);
            return IOTSEC_ERR_BUSY;
        }
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct an_flow *g = realloc(*out, ncap * sizeof(*g));
            if (g == NULL)
                return IOTSEC_ERR_NOMEM;
            *out = g;
            cap = ncap;
        }
        (*out)[(*n)++] = f;
    }
    if (*n == 0 && dns->n == 0 && line > 0 && r->err[0] == '\0')
        snprintf(r->err, sizeof(r->err), "no record in the batch");
    return IOTSEC_OK;
}

/* Counts parsed flows into the engine (under mu): the one ingestion entry every input
 * (HTTP batches, the IPFIX collector, the Kafka consumer) ends in. dns (NULL: none) holds the
 * DNS answers of the batch, each taken in before the flow it preceded in the input. */
static int count_flows(struct analytics *a, const struct an_flow *flows, size_t n,
                       const struct batch_dns *dns, struct analytics_batch_result *r)
{
    static const struct batch_dns none = {0};
    if (dns == NULL)
        dns = &none;
    int rc = IOTSEC_OK;
    size_t k = 0;
    uint64_t findings = a->findings;
    uint64_t late = a->e->late;
    for (size_t i = 0; i <= n && rc == IOTSEC_OK; i++) {
        for (; k < dns->n && dns->before[k] == i; k++) { /* the answers, in input order */
            const struct an_dns *d = &dns->d[k];
            if (an_engine_dns(a->e, &d->client, d->query, d->addr, d->ttl, d->n, d->ts) ==
                IOTSEC_OK)
                a->dns_answers++;
        }
        if (i == n)
            break;
        int one = an_engine_ingest(a->e, &flows[i], NULL);
        if (one == IOTSEC_OK)
            r->counted++;
        else if (one == AN_NO_DEVICE)
            r->unmapped++;
        else if (one == IOTSEC_ERR_BUSY || one == IOTSEC_ERR_NOMEM)
            rc = one;
        /* IOTSEC_ERR_INVALID: a timestamp the parser took but the clock cannot (centuries
         * away): counted as unmapped would hide it; it is simply not counted. */
    }
    r->records = n;
    r->findings = a->findings - findings;
    r->late = a->e->late - late;
    double now = wall_now();
    if (n > 0 && 2 * r->unmapped > n && now - a->unmapped_warned >= 60.0) {
        a->unmapped_warned = now; /* loud, not once per batch */
        log_msg(LOG_WARN, NULL,
                "analytics: %llu of %llu records of a batch map to no device: are the UE "
                "addresses mapped (analytics map, session events)?",
                (unsigned long long)r->unmapped, (unsigned long long)n);
    }
    if (n > 0) {
        a->last_input = now;
        a->flushed_idle = false;
    }
    drain(a);
    return rc;
}

int analytics_ingest_text(struct analytics *a, enum an_format fmt, const char *text, size_t len,
                          struct analytics_batch_result *r)
{
    memset(r, 0, sizeof(*r));
    struct an_flow *flows;
    size_t n;
    struct batch_dns dns = {0};
    int rc = parse_batch(a, fmt, text, len, &flows, &n, r, &dns);
    pthread_mutex_lock(&a->mu);
    a->batches++;
    if (rc != IOTSEC_OK)
        a->batches_rejected++;
    else
        rc = count_flows(a, flows, n, &dns, r);
    pthread_mutex_unlock(&a->mu);
    free(flows);
    free(dns.d);
    free(dns.before);
    return rc;
}

int analytics_ingest_flows(struct analytics *a, const struct an_flow *flows, size_t n,
                           struct analytics_batch_result *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_lock(&a->mu);
    a->batches++;
    int rc = count_flows(a, flows, n, NULL, r);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- the timer ---- */

static void rotate(struct analytics *a, double now)
{
    struct an_key next;
    if (an_key_new(&next, a->key.epoch + 1, (int64_t)now) != IOTSEC_OK ||
        an_key_write(a->key_path, a->o.kek, &next) != IOTSEC_OK ||
        an_engine_rekey(a->e, next.key, AN_KEY_LEN) != IOTSEC_OK ||
        map_rebuild(a, 2 * a->map_used + 32, a->key.epoch, &next) != IOTSEC_OK) {
        an_key_wipe(&next);
        a->key.created = (int64_t)now; /* try again in one period, not every second */
        return;
    }
    an_key_wipe(&a->key);
    a->key = next;
    an_key_wipe(&next);
}

int analytics_key_reseal(struct analytics *a)
{
    pthread_mutex_lock(&a->mu);
    int rc = an_key_write(a->key_path, a->o.kek, &a->key);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void analytics_tick(struct analytics *a, double now)
{
    if (a->o.store) /* MUD changes made through any instance (outside mu: it reads the store) */
        analytics_mud_sync(a, a->o.store, &a->mud_seq);
    pthread_mutex_lock(&a->mu);
    struct an_engine *e = a->e;
    double w = e->cfg.window_s;
    if (e->cur >= 0) {
        double end = (double)(e->base + e->cur + 1) * w;
        bool live = end > now - 3 * w;
        if (live && now >= end + GRACE_S) {
            an_engine_flush(e);
        } else if (!live && !a->flushed_idle && now - a->last_input >= w) {
            an_engine_flush(e);
            a->flushed_idle = true;
        }
    }
    if (a->o.rotate_s && now >= (double)a->key.created + a->o.rotate_s)
        rotate(a, now);
    drain(a); /* the window the timer closed; session events of the last second */
    if (a->o.store && a->o.findings_retention_days && now >= a->next_sweep) {
        a->next_sweep = now + SWEEP_EVERY_S;
        an_sweep_submit(a->o.store, (int64_t)now - (int64_t)a->o.findings_retention_days * 86400,
                        SWEEP_LIMIT);
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- views for the admin face (analytics_http.c) ---- */

static json_t *row_json(const struct an_finding_row *r)
{
    char at[32], start[32];
    sub_format_time(r->at, at, sizeof(at));
    sub_format_time(r->window_start, start, sizeof(start));
    json_t *ev = json_loads(r->evidence, 0, NULL);
    json_t *o = json_object();
    json_t *finding = json_object_get(ev, "finding");
    if (json_is_object(finding)) /* the TS 29.520 object itself, as the list always gave */
        json_object_update(o, finding);
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "exception", json_string(r->exception));
    json_object_set_new(o, "level", json_integer(r->level));
    json_object_set_new(o, "window_start", json_string(start));
    if (r->supi[0]) /* the operator acts on it; the northbound face never sees this list */
        json_object_set_new(o, "supi", json_string(r->supi));
    if (r->victim[0])
        json_object_set_new(o, "victim", json_string(r->victim));
    json_t *fired = json_object_get(ev, "fired");
    if (fired)
        json_object_set_new(o, "fired", json_incref(fired));
    json_decref(ev);
    return o;
}

static void list_row(const struct an_finding_row *r, void *ctx)
{
    json_array_append_new(ctx, row_json(r));
}

int analytics_findings_list(struct analytics *a, const struct an_findings_query *q, json_t **out)
{
    *out = json_array();
    if (a->o.store == NULL)
        return IOTSEC_OK;
    analytics_flush(a); /* every finding made before this request is listed */
    int rc = an_store_findings_list(a->o.store, q, list_row, *out);
    if (rc != IOTSEC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static void load_row(const struct an_finding_row *r, void *ctx)
{
    *(json_t **)ctx = row_json(r);
}

int analytics_finding_load(struct store *s, int64_t id, char **out)
{
    json_t *o = NULL;
    *out = NULL;
    int rc = an_store_finding_get(s, id, load_row, &o);
    if (rc == IOTSEC_OK) {
        *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        rc = *out ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    }
    json_decref(o);
    return rc;
}

json_t *analytics_stats_json(struct analytics *a)
{
    struct an_stats st;
    pthread_mutex_lock(&a->mu);
    an_engine_stats(a->e, &st);
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:I}", "records",
                  (json_int_t)st.records, "unmapped", (json_int_t)st.no_device, "late",
                  (json_int_t)st.late, "findings", (json_int_t)st.findings, "devices",
                  (json_int_t)st.devices, "mappings", (json_int_t)a->map_used, "batches",
                  (json_int_t)a->batches, "batches_rejected", (json_int_t)a->batches_rejected,
                  "window_s", (int)a->e->cfg.window_s, "key_epoch", (json_int_t)a->key.epoch);
    if (o) {
        json_object_set_new(o, "unsaved", json_integer((json_int_t)a->unsaved));
        json_object_set_new(o, "fleet_conditions", json_integer((json_int_t)a->conditions));
        json_object_set_new(o, "dns_answers", json_integer((json_int_t)a->dns_answers));
    }
    pthread_mutex_unlock(&a->mu);
    return o;
}

const struct analytics_options *analytics_options_get(const struct analytics *a)
{
    return &a->o;
}
