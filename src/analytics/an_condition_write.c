/* A fleet condition report, written by one store job: the engine reports a group once per
 * window of an outage and once when it ends, so a job each costs nothing next to the flows
 * behind it. The row is built on the calling thread (the group's name resolved there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/an_store.h"
#include "base/err.h"
#include "base/log.h"

#define KIND  "ENDPOINT_UNREACHABLE"
#define SCOPE "group"

struct cond_job {
    struct an_condition_row r;
    bool cleared;
};

static int cond_run(struct store_conn *conn, void *arg)
{
    struct cond_job *j = arg;
    if (!j->cleared)
        return an_store_condition_seen(conn, &j->r);
    bool closed;
    return an_store_condition_close(conn, j->r.kind, j->r.scope, j->r.target, j->r.last_window,
                                    j->r.first_seen, &closed);
}

static void cond_done(void *arg, int rc)
{
    struct cond_job *j = arg;
    if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "analytics: fleet condition of group %s not saved: %s", j->r.target,
                iotsec_strerror(rc));
    free(j);
}

int an_condition_submit(struct store *s, const struct an_condition *c, const char *target)
{
    if (target == NULL || target[0] == '\0' ||
        strlen(target) >= sizeof(((struct an_condition_row *)0)->target))
        return IOTSEC_ERR_INVALID;
    struct cond_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return IOTSEC_ERR_NOMEM;
    struct an_condition_row *r = &j->r;
    snprintf(r->kind, sizeof(r->kind), KIND);
    snprintf(r->scope, sizeof(r->scope), SCOPE);
    snprintf(r->target, sizeof(r->target), "%s", target);
    r->share_pct = c->active ? (unsigned)(100ull * c->failing / c->active) : 0;
    r->devices = c->failing;
    r->active = c->active;
    if (c->has_addr) {
        an_addr_format(&c->addr, r->endpoint, sizeof(r->endpoint));
        r->port = c->port;
    }
    r->first_seen = c->window * (int64_t)c->window_s; /* a close: the recovered window's start */
    r->last_seen = r->first_seen + c->window_s;
    r->last_window = c->window;
    j->cleared = c->cleared;
    struct store_job job = {cond_run, cond_done, j};
    int rc = store_submit(s, &job);
    if (rc != IOTSEC_OK)
        free(j);
    return rc;
}
