/* The analytics instance's writes, batched: findings (with their evidence) and mapping
 * changes gathered under the instance's lock go to the store as one job per ingestion call
 * (or per second for session events), and the findings reach the policy only after their
 * row is queued, so an action's finding_id never names a row queued after it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/an_store.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"

int an_pending_add_finding(struct an_pending *p, const struct an_finding *f, const char *supi,
                           char *json)
{
    if (p->nf == p->capf) {
        size_t cap = p->capf ? 2 * p->capf : 64;
        struct an_pending_finding *g = realloc(p->f, cap * sizeof(*g));
        if (g == NULL) {
            free(json);
            return IOTSEC_ERR_NOMEM;
        }
        p->f = g;
        p->capf = cap;
    }
    struct an_pending_finding *e = &p->f[p->nf++];
    e->f = *f;
    snprintf(e->supi, sizeof(e->supi), "%s", supi ? supi : "");
    e->json = json;
    return IOTSEC_OK;
}

int an_pending_add_map(struct an_pending *p, const char *supi, const char *ip, const char *group,
                       bool start, int64_t at)
{
    if (p->nm == p->capm) {
        size_t cap = p->capm ? 2 * p->capm : 64;
        struct an_pending_map *g = realloc(p->m, cap * sizeof(*g));
        if (g == NULL)
            return IOTSEC_ERR_NOMEM;
        p->m = g;
        p->capm = cap;
    }
    struct an_pending_map *e = &p->m[p->nm++];
    snprintf(e->supi, sizeof(e->supi), "%s", supi);
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    snprintf(e->group, sizeof(e->group), "%s", group ? group : "");
    e->start = start;
    e->at = at;
    return IOTSEC_OK;
}

/* What fired, next to the finding itself: the operator's "why" without decoding TS 29.520. */
static char *evidence_of(const struct an_pending_finding *e, char victim[48])
{
    const struct an_finding *f = &e->f;
    victim[0] = '\0';
    if (f->has_addr)
        an_addr_format(&f->addr, victim, 48);
    json_t *fired =
        json_pack("{s:s, s:i, s:i, s:i, s:f, s:I}", "exception", an_exception_name(f->exc), "level",
                  (int)f->level, "ratio", (int)f->ratio, "confidence", (int)f->confidence,
                  "flows_per_s", f->freq, "bytes", (json_int_t)f->vol);
    if (fired && victim[0])
        json_object_set_new(fired, "victim", json_string(victim));
    if (fired && f->port)
        json_object_set_new(fired, "port", json_integer(f->port));
    json_t *o = json_object();
    json_t *finding = json_loads(e->json, 0, NULL);
    json_object_set_new(o, "finding", finding ? finding : json_null());
    json_object_set_new(o, "fired", fired ? fired : json_null());
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

struct write_job {
    struct an_pending_finding *f; /* moved from the pending list; ids set by write_run */
    size_t nf;
    struct an_finding_row *rows; /* rows[i] is f[i]'s; evidence NULL: not written */
    char **evidence;
    struct an_pending_map *maps;
    size_t nmaps;
    analytics_finding_fn hook;
    void *hook_arg;
};

static int write_run(struct store_conn *conn, void *arg)
{
    struct write_job *j = arg;
    int rc = IOTSEC_OK;
    for (size_t i = 0; i < j->nf && rc == IOTSEC_OK; i++)
        if (j->evidence[i] != NULL)
            rc = an_store_finding_put(conn, &j->rows[i], &j->f[i].f.id);
    for (size_t i = 0; i < j->nmaps && rc == IOTSEC_OK; i++)
        rc = j->maps[i].start ? an_store_map_put(conn, j->maps[i].supi, j->maps[i].ip,
                                                 j->maps[i].group, j->maps[i].at)
                              : an_store_map_del(conn, j->maps[i].supi, j->maps[i].ip);
    return rc;
}

/* Hands each finding to the hook (with its id when it was committed) and frees them. */
static void hand_over(struct an_pending_finding *f, size_t n, bool committed,
                      analytics_finding_fn hook, void *hook_arg)
{
    for (size_t i = 0; i < n; i++) {
        if (!committed)
            f[i].f.id = 0;
        if (hook)
            hook(hook_arg, &f[i].f, f[i].supi[0] ? f[i].supi : NULL, f[i].json);
        free(f[i].json);
    }
    free(f);
}

static void write_job_free(struct write_job *j)
{
    for (size_t i = 0; i < j->nf; i++)
        free(j->evidence ? j->evidence[i] : NULL);
    free(j->evidence);
    free(j->rows);
    free(j->maps);
    free(j);
}

/* After the commit (writer thread): the policy hears of the findings now, so an action's
 * finding_id always names a committed row. A failed write still hands them over (id 0):
 * acting on a finding matters more than its record. */
static void write_done(void *arg, int rc)
{
    struct write_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "analytics: %zu findings and %zu mapping changes not saved: %s",
                j->nf, j->nmaps, iotsec_strerror(rc));
    hand_over(j->f, j->nf, rc == IOTSEC_OK, j->hook, j->hook_arg);
    j->f = NULL;
    write_job_free(j);
}

/* Builds the job from p (the findings and mapping changes moved into it, each finding's row
 * and evidence built). NULL: no memory (p untouched). */
static struct write_job *job_of(struct an_pending *p)
{
    struct write_job *j = calloc(1, sizeof(*j));
    size_t n = p->nf ? p->nf : 1;
    if (j == NULL || (j->rows = calloc(n, sizeof(*j->rows))) == NULL ||
        (j->evidence = calloc(n, sizeof(*j->evidence))) == NULL) {
        if (j)
            write_job_free(j);
        return NULL;
    }
    j->nf = p->nf;
    for (size_t i = 0; i < p->nf; i++) {
        const struct an_pending_finding *e = &p->f[i];
        struct an_finding_row *r = &j->rows[i];
        if ((j->evidence[i] = evidence_of(e, r->victim)) == NULL)
            continue; /* out of memory: this one is acted on, not recorded */
        r->at = (int64_t)time(NULL);
        r->window = e->f.window;
        r->window_start = e->f.window * (int64_t)e->f.window_s;
        snprintf(r->exception, sizeof(r->exception), "%s", an_exception_name(e->f.exc));
        r->level = e->f.level;
        hex_encode(e->f.device, 16, r->device);
        snprintf(r->supi, sizeof(r->supi), "%s", e->supi);
        r->evidence = j->evidence[i];
    }
    j->f = p->f;
    j->maps = p->m;
    j->nmaps = p->nm;
    p->f = NULL;
    p->nf = p->capf = 0;
    p->m = NULL;
    p->nm = p->capm = 0;
    return j;
}

size_t an_pending_drain(struct an_pending *p, struct store *s, analytics_finding_fn hook,
                        void *hook_arg)
{
    if (p->nf == 0 && p->nm == 0)
        return 0;
    size_t items = p->nf + p->nm;
    struct write_job *j = s ? job_of(p) : NULL;
    if (j != NULL) {
        j->hook = hook;
        j->hook_arg = hook_arg;
        struct store_job job = {write_run, write_done, j};
        if (store_submit(s, &job) == IOTSEC_OK)
            return 0;
        /* Refused (a full queue): take the findings back and act on them unrecorded. */
        p->f = j->f;
        p->nf = p->capf = j->nf;
        j->f = NULL;
        write_job_free(j);
        log_msg(LOG_WARN, NULL, "analytics: %zu findings or mapping changes not saved (the "
                                "store refused the write)", items);
    }
    hand_over(p->f, p->nf, false, hook, hook_arg);
    p->f = NULL;
    p->nf = p->capf = 0;
    p->nm = 0; /* without a store, mapping changes are memory only */
    return s ? items : 0;
}

void an_pending_free(struct an_pending *p)
{
    for (size_t i = 0; i < p->nf; i++)
        free(p->f[i].json);
    free(p->f);
    free(p->m);
    memset(p, 0, sizeof(*p));
}

struct sweep_job {
    int64_t before;
    size_t limit, deleted;
};

#define SWEEP_LEASE_MS 120000 /* two sweep periods: a stopped instance's lease soon lapses */

static int sweep_run(struct store_conn *conn, void *arg)
{
    struct sweep_job *j = arg;
    /* Several instances on one database: one sweeps at a time. */
    int rc = store_lease_hold(conn, "analytics.findings_sweep", (int64_t)time(NULL) * 1000,
                              SWEEP_LEASE_MS);
    if (rc == IOTSEC_ERR_BUSY)
        return IOTSEC_OK;
    if (rc != IOTSEC_OK)
        return rc;
    return an_store_findings_sweep(conn, j->before, j->limit, &j->deleted);
}

static void sweep_done(void *arg, int rc)
{
    struct sweep_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "analytics: the findings' retention sweep failed: %s",
                iotsec_strerror(rc));
    else if (j->deleted)
        log_msg(LOG_INFO, NULL, "analytics: %zu findings past their retention deleted", j->deleted);
    free(j);
}

int an_sweep_submit(struct store *s, int64_t before, size_t limit)
{
    struct sweep_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return IOTSEC_ERR_NOMEM;
    *j = (struct sweep_job){before, limit, 0};
    struct store_job job = {sweep_run, sweep_done, j};
    int rc = store_submit(s, &job);
    if (rc != IOTSEC_OK)
        free(j);
    return rc;
}
