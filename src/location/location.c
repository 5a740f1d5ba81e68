/* The location capability's front: events in, fan-out to observers, findings and watches. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "crypto/supi.h"
#include "location/loc_int.h"

static const char *const kind_names[UE_EV_KIND_COUNT] = {
    [UE_EV_LOCATION_REPORT] = "LOCATION_REPORT",
    [UE_EV_REGISTRATION_STATE] = "REGISTRATION_STATE_REPORT",
    [UE_EV_CONNECTIVITY_STATE] = "CONNECTIVITY_STATE_REPORT",
    [UE_EV_REACHABILITY] = "REACHABILITY_REPORT",
    [UE_EV_LOSS_OF_CONNECTIVITY] = "LOSS_OF_CONNECTIVITY",
    [UE_EV_RADIO_LINK_FAILURE] = "RADIO_LINK_FAILURE_REPORT",
    [UE_EV_PDU_SESSION] = "PDU_SESSION_REPORT",
};

enum ue_event_kind ue_event_kind_from_name(const char *name)
{
    for (int k = 1; name && k < UE_EV_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return (enum ue_event_kind)k;
    return 0;
}

const char *ue_event_kind_name(enum ue_event_kind k)
{
    return k > 0 && k < UE_EV_KIND_COUNT ? kind_names[k] : "UNKNOWN";
}

static bool plmn_ok(const char *p)
{
    size_t n = strnlen(p, LOC_PLMN_MAX);
    if (n != 5 && n != 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static bool printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF.:/", s[i]))
            return false;
    return true;
}

int ue_event_validate(const struct ue_event *ev)
{
    struct supi s;
    if (ev == NULL || strnlen(ev->supi, LOC_SUPI_MAX) == LOC_SUPI_MAX ||
        supi_parse(ev->supi, &s) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    if (ev->kind <= 0 || ev->kind >= UE_EV_KIND_COUNT || ev->time_ms <= 0)
        return IOTSEC_ERR_INVALID;
    if (ev->has_tai && (!plmn_ok(ev->tai.plmn) || ev->tai.tac > 0xFFFFFFu))
        return IOTSEC_ERR_INVALID;
    if (ev->has_ncgi && (!plmn_ok(ev->ncgi.plmn) || ev->ncgi.nr_cell_id > LOC_NR_CELL_MAX))
        return IOTSEC_ERR_INVALID;
    if (ev->kind == UE_EV_LOCATION_REPORT && !ev->has_tai && !ev->has_ncgi)
        return IOTSEC_ERR_INVALID;
    if (ev->reachability > UE_REACH_UNREACHABLE)
        return IOTSEC_ERR_INVALID;
    if (!printable(ev->ue_ipv4, sizeof(ev->ue_ipv4)) || !printable(ev->ue_ipv6, sizeof(ev->ue_ipv6)))
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

int location_new(const struct location_config *cfg, struct location **out)
{
    *out = NULL;
    struct location *loc = calloc(1, sizeof(*loc));
    if (loc == NULL)
        return IOTSEC_ERR_NOMEM;
    if (cfg)
        loc->cfg = *cfg;
    if (loc->cfg.max_devices == 0)
        loc->cfg.max_devices = 1000000;
    if (loc->cfg.max_areas == 0)
        loc->cfg.max_areas = 1000000;
    if (loc->cfg.max_cells == 0)
        loc->cfg.max_cells = 1000000;
    if (loc->cfg.max_watches == 0)
        loc->cfg.max_watches = 100000;
    if (loc->cfg.max_skew_ms == 0)
        loc->cfg.max_skew_ms = 5 * 60 * 1000;
    /* A fresh key per process: the in-memory table is rebuilt from events after a restart,
     * so nothing keyed by it outlives the key, and there is no secret to keep at rest. */
    uint8_t secret[32];
    int rc = crypto_random(secret, sizeof(secret));
    if (rc == IOTSEC_OK) {
        hmac_sha256_init(&loc->hkey, secret, sizeof(secret));
        secure_wipe(secret, sizeof(secret));
        rc = loc_devices_init(loc);
    }
    if (rc == IOTSEC_OK)
        rc = loc_map_init(&loc->areas, loc->cfg.max_areas);
    if (rc == IOTSEC_OK)
        rc = loc_map_init(&loc->cells, loc->cfg.max_cells);
    if (rc == IOTSEC_OK)
        rc = loc_map_init(&loc->watches, loc->cfg.max_watches);
    if (rc != IOTSEC_OK) {
        location_free(loc);
        return rc;
    }
    atomic_store(&loc->next_watch_id, 1);
    *out = loc;
    return IOTSEC_OK;
}

void location_free(struct location *loc)
{
    if (loc == NULL)
        return;
    loc_devices_free(loc);
    loc_areas_free(loc);
    loc_cells_free(loc);
    loc_watches_free(loc);
    hmac_sha256_wipe(&loc->hkey);
    free(loc);
}

void location_device_key(const struct location *loc, const char *supi, uint8_t key[LOC_KEY_LEN])
{
    uint8_t mac[SHA256_LEN];
    hmac_sha256(&loc->hkey, supi, strlen(supi), mac);
    memcpy(key, mac, LOC_KEY_LEN);
}

int location_observe(struct location *loc, location_observer_fn fn, void *ctx)
{
    if (fn == NULL)
        return IOTSEC_ERR_INVALID;
    if (loc->n_observers == LOC_OBSERVERS)
        return IOTSEC_ERR_BUSY;
    loc->observers[loc->n_observers] = fn;
    loc->observer_ctx[loc->n_observers++] = ctx;
    return IOTSEC_OK;
}

int location_on_finding(struct location *loc, location_finding_fn fn, void *ctx)
{
    if (fn == NULL)
        return IOTSEC_ERR_INVALID;
    if (loc->n_finders == LOC_OBSERVERS)
        return IOTSEC_ERR_BUSY;
    loc->finders[loc->n_finders] = fn;
    loc->finder_ctx[loc->n_finders++] = ctx;
    return IOTSEC_OK;
}

int location_ingest(struct location *loc, const struct ue_event *ev)
{
    bool is_fix;
    enum loc_fix_check check;
    const char *cause;
    return location_ingest_fix(loc, ev, &is_fix, &check, &cause);
}

int location_ingest_fix(struct location *loc, const struct ue_event *ev, bool *is_fix,
                        enum loc_fix_check *check, const char **cause_out)
{
    *is_fix = false;
    *check = LOC_FIX_UNRESTRICTED;
    *cause_out = NULL;
    if (ue_event_validate(ev) != IOTSEC_OK) {
        atomic_fetch_add(&loc->invalid, 1);
        return IOTSEC_ERR_INVALID;
    }
    uint8_t key[LOC_KEY_LEN];
    location_device_key(loc, ev->supi, key);
    bool restricted = false;
    const char *cause = loc_area_check(loc, key, ev, &restricted);
    struct ue_state prev;
    int rc = loc_devices_apply(loc, key, ev, cause != NULL, &prev);
    atomic_fetch_add(&loc->events, 1);
    for (size_t i = 0; i < loc->n_observers; i++)
        loc->observers[i](loc->observer_ctx[i], ev);
    if (rc == IOTSEC_ERR_STATE) {
        atomic_fetch_add(&loc->stale, 1);
        return rc;
    }
    if (rc != IOTSEC_OK)
        return rc;
    *is_fix = ev->has_tai || ev->has_ncgi;
    *check = !restricted ? LOC_FIX_UNRESTRICTED : cause ? LOC_FIX_OUTSIDE : LOC_FIX_INSIDE;
    *cause_out = cause;
    struct location_finding f = {LOC_EXCEPTION_UNEXPECTED_LOCATION, cause, ev, {0}};
    if (cause) {
        memcpy(f.device_key, key, LOC_KEY_LEN);
        atomic_fetch_add(&loc->findings, 1);
        for (size_t i = 0; i < loc->n_finders; i++)
            loc->finders[i](loc->finder_ctx[i], &f);
    }
    loc_watches_fire(loc, key, ev, cause ? &f : NULL);
    return IOTSEC_OK;
}

int location_state(struct location *loc, const char *supi, struct ue_state *out)
{
    uint8_t key[LOC_KEY_LEN];
    location_device_key(loc, supi, key);
    return loc_devices_get(loc, key, out);
}

bool location_count_suppressed(uint64_t count, unsigned k)
{
    return k > 0 && count < k;
}

void location_metrics_get(struct location *loc, struct location_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->events = atomic_load(&loc->events);
    m->invalid = atomic_load(&loc->invalid);
    m->stale = atomic_load(&loc->stale);
    m->findings = atomic_load(&loc->findings);
    m->evicted = atomic_load(&loc->evicted);
    m->watch_calls = atomic_load(&loc->watch_calls);
    m->devices = loc_devices_count(loc);
    pthread_rwlock_rdlock(&loc->areas.lock);
    m->areas = loc->areas.count;
    pthread_rwlock_unlock(&loc->areas.lock);
    pthread_rwlock_rdlock(&loc->watches.lock);
    m->watches = loc->watches.count;
    pthread_rwlock_unlock(&loc->watches.lock);
}

bool loc_ncgi_eq(const struct ncgi *a, const struct ncgi *b)
{
    return a->nr_cell_id == b->nr_cell_id && strcmp(a->plmn, b->plmn) == 0;
}

bool loc_tai_eq(const struct tai *a, const struct tai *b)
{
    return a->tac == b->tac && strcmp(a->plmn, b->plmn) == 0;
}
