/* The analytics' SQL (analytics_store.c), for the daemon's instance and its admin face. */
#ifndef IOTSEC_AN_STORE_H
#define IOTSEC_AN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"
#include "store/store.h"

/* A persisted finding. evidence: {"finding":<TS 29.520 JSON>,"fired":{...}} (borrowed from
 * the statement in a listing: copy it inside the callback). */
struct an_finding_row {
    int64_t id, at, window, window_start;
    char exception[48];
    unsigned level;
    char device[33];
    char supi[ANALYTICS_SUPI_MAX]; /* "" when none was mapped */
    char victim[48];               /* "" when none */
    const char *evidence;
};

/* Inserts r (its id ignored); *id gets the generated one. */
int an_store_finding_put(struct store_conn *conn, const struct an_finding_row *r, int64_t *id);
/* Deletes at most limit findings detected before `before`. */
int an_store_findings_sweep(struct store_conn *conn, int64_t before, size_t limit, size_t *deleted);

struct an_findings_query {
    const char *supi;       /* NULL: any */
    const char *exception;  /* NULL: any */
    const char *group;      /* the device's mapping group (a building, a fleet); NULL: any */
    const char *enrollment; /* the provisioning enrollment (name or id) of its SUPI; NULL: any */
    int64_t since;          /* detected at or after (unix seconds); 0: any */
    int64_t after;          /* the cursor: ids above it */
    size_t limit;
};
typedef void (*an_finding_row_fn)(const struct an_finding_row *r, void *ctx);
int an_store_findings_list(struct store *s, const struct an_findings_query *q, an_finding_row_fn fn,
                           void *ctx);
/* IOTSEC_ERR_NOTFOUND when absent (never written, or swept by the retention). */
int an_store_finding_get(struct store *s, int64_t id, an_finding_row_fn fn, void *ctx);

/* A fleet condition (analytics_conditions_store.c, migration ANALYTICS_MIGRATION_CONDITIONS):
 * admin-only, named by the group's name (never its number, never a SUPI). */
struct an_condition_row {
    int64_t id;
    char kind[32];   /* ENDPOINT_UNREACHABLE */
    char scope[16];  /* "group" */
    char target[72]; /* the group's name */
    unsigned share_pct;
    int64_t devices, active;
    char endpoint[48]; /* "" when none stood out */
    uint16_t port;
    int64_t first_seen, last_seen, last_window, windows;
    int64_t closed_at; /* 0: open */
};
/* Opens the (kind, scope, target) condition, or updates the open one (first_seen, last_seen
 * and last_window widen it; windows counts distinct windows). */
int an_store_condition_seen(struct store_conn *conn, const struct an_condition_row *r);
/* Closes the open condition at `at` unless a report of window `window` or later updated it
 * (another instance still sees it). *closed: whether a row was closed. */
int an_store_condition_close(struct store_conn *conn, const char *kind, const char *scope,
                             const char *target, int64_t window, int64_t at, bool *closed);
enum an_condition_state { AN_COND_ANY, AN_COND_OPEN, AN_COND_CLOSED };
struct an_conditions_query {
    const char *target; /* NULL: any group */
    enum an_condition_state state;
    int64_t since; /* last seen at or after (unix seconds); 0: any */
    int64_t after; /* the cursor: ids above it */
    size_t limit;
};
typedef void (*an_condition_row_fn)(const struct an_condition_row *r, void *ctx);
int an_store_conditions_list(struct store *s, const struct an_conditions_query *q,
                             an_condition_row_fn fn, void *ctx);
/* Queues the write of one condition report (seen, or closed when c->cleared) for group name
 * `target`; conditions are rare (one per group and window), so one job each. */
int an_condition_submit(struct store *s, const struct an_condition *c, const char *target);

int an_store_map_put(struct store_conn *conn, const char *supi, const char *ip, const char *group,
                     int64_t at);
int an_store_map_del(struct store_conn *conn, const char *supi, const char *ip);
typedef void (*an_map_row_fn)(void *ctx, const char *supi, const char *ip, const char *group);
int an_store_map_load(struct store *s, an_map_row_fn fn, void *ctx);

/* MUD files per group (analytics_mud_store.c, migration ANALYTICS_MIGRATION_MUD). A put, or
 * a delete that found its row, bumps AN_MUD_TOPIC in the same transaction. */
#define AN_MUD_TOPIC "analytics-mud"
int an_store_mud_put(struct store_conn *conn, const char *group, const char *url, const char *doc,
                     int64_t at);
int an_store_mud_del(struct store_conn *conn, const char *group, bool *found);
typedef void (*an_mud_row_fn)(void *ctx, const char *group, const char *url, const char *doc,
                              int64_t updated_at);
int an_store_mud_load(struct store *s, const char *group, an_mud_row_fn fn, void *ctx);

/* ---- Batching (an_write.c): what the instance writes, gathered under its lock and written
 * by one store job per ingestion call (or per second), so that a burst of findings costs one
 * job and shares the writer's commit (never an fsync per finding). The findings reach the
 * hook from that job's completion, each with its committed id. ---- */

struct an_pending_finding {
    struct an_finding f; /* f.id: set once its row is written */
    char supi[ANALYTICS_SUPI_MAX];
    char *json; /* the TS 29.520 JSON, owned */
};
struct an_pending_map {
    char supi[ANALYTICS_SUPI_MAX];
    char ip[48];
    char group[72];
    bool start;
    int64_t at;
};
struct an_pending {
    struct an_pending_finding *f;
    size_t nf, capf;
    struct an_pending_map *m;
    size_t nm, capm;
};

/* Queues a finding (takes json) or a mapping change. IOTSEC_ERR_NOMEM (json freed). */
int an_pending_add_finding(struct an_pending *p, const struct an_finding *f, const char *supi,
                           char *json);
int an_pending_add_map(struct an_pending *p, const char *supi, const char *ip, const char *group,
                       bool start, int64_t at);
/* Submits one job writing everything queued; after its commit, on the writer thread, each
 * finding goes to hook with its row's id (after a failed write, with id 0). Without a store,
 * or when the store refuses the job (a full queue), the findings go to hook at once, with id
 * 0, on the calling thread. Empties p. Returns how many items the store refused. */
size_t an_pending_drain(struct an_pending *p, struct store *s, analytics_finding_fn hook,
                        void *hook_arg);
void an_pending_free(struct an_pending *p);
/* Queues the retention sweep: at most SWEEP_LIMIT findings detected before `before`. */
int an_sweep_submit(struct store *s, int64_t before, size_t limit);

#endif
