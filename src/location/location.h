/* Location management (MONTE, TR 33.889): UE events from the core network, the last known
 * state of every device, authorised areas, and area counts with a privacy threshold.
 *
 *   - Events in: Namf_EventExposure-like reports (TS 29.518 AmfEventReport) decoded by
 *     location_http.c into struct ue_event and handed to location_ingest().
 *   - State: per device, last location (TAI, NCGI), time, registration, connectivity,
 *     reachability; in memory, bounded (least recently seen evicted past the limit), keyed by
 *     a keyed hash of the SUPI (a random key per process: the table never holds a SUPI).
 *   - Areas: a device may be restricted to cells, tracking areas, or a circle / polygon of
 *     cell positions, or marked stationary (its first cell seen becomes its area). An event
 *     outside raises the TS 29.520 exception UNEXPECTED_UE_LOCATION (a finding). Unrestricted
 *     devices are not checked.
 *   - Fan-out: observers (every accepted event: analytics), finding hooks (policy) and
 *     per-device watches (T8 subscriptions) are called on the ingesting thread, outside every
 *     lock of this capability; they must be quick and must not block.
 *
 * Threads: every function may be called from any thread once location_new has returned,
 * except location_observe / location_on_finding (before events flow). Functions return
 * IOTSEC_OK or a negative code from base/err.h unless they say otherwise. */
#ifndef IOTSEC_LOCATION_H
#define IOTSEC_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOC_SUPI_MAX    128 /* with the NUL */
#define LOC_PLMN_MAX    7   /* "mccmnc", 5 or 6 digits, with the NUL */
#define LOC_KEY_LEN     16  /* the device key: HMAC-SHA-256(process key, SUPI), truncated */
#define LOC_AREA_MAX    256 /* cells, TAs or polygon vertices in one area */
#define LOC_OBSERVERS   8   /* observers and finding hooks, each */
#define LOC_NR_CELL_MAX 0xFFFFFFFFFull /* 36 bits (TS 38.413 NR Cell Identity) */

struct tai {
    char plmn[LOC_PLMN_MAX]; /* MCC then MNC, digits */
    uint32_t tac;            /* 24 bits (TS 38.413) */
};

struct ncgi {
    char plmn[LOC_PLMN_MAX];
    uint64_t nr_cell_id; /* 36 bits */
};

enum ue_event_kind {
    UE_EV_LOCATION_REPORT = 1,
    UE_EV_REGISTRATION_STATE,
    UE_EV_CONNECTIVITY_STATE,
    UE_EV_REACHABILITY,
    UE_EV_LOSS_OF_CONNECTIVITY,
    UE_EV_RADIO_LINK_FAILURE,
    UE_EV_PDU_SESSION,
    UE_EV_KIND_COUNT
};

/* TS 29.518 AmfEventType names ("LOCATION_REPORT"...); our two extensions are
 * "RADIO_LINK_FAILURE_REPORT" and "PDU_SESSION_REPORT". 0 for an unknown name. */
enum ue_event_kind ue_event_kind_from_name(const char *name);
const char *ue_event_kind_name(enum ue_event_kind k);

enum ue_reachability {
    UE_REACH_UNKNOWN = 0,
    UE_REACH_REACHABLE,
    UE_REACH_REGULATORY_ONLY,
    UE_REACH_UNREACHABLE
};

/* One event. The SUPI stays inside the daemon: observers may use it (analytics hashes it),
 * nothing derived from it leaves but the per-AF external ID. */
struct ue_event {
    char supi[LOC_SUPI_MAX];
    int64_t time_ms; /* when the network saw it, ms since the epoch */
    enum ue_event_kind kind;
    bool has_tai, has_ncgi;
    struct tai tai;
    struct ncgi ncgi;
    bool registered;                   /* REGISTRATION_STATE: true = REGISTERED */
    bool connected;                    /* CONNECTIVITY_STATE: true = CONNECTED (CM) */
    enum ue_reachability reachability; /* REACHABILITY */
    char ue_ipv4[16];                  /* PDU_SESSION: dotted quad, "" when absent */
    char ue_ipv6[48];                  /* PDU_SESSION: address or prefix, "" when absent */
};

/* Checks an event's fields (SUPI syntax, kind, PLMN digits, TAC/cell ranges, addresses). */
int ue_event_validate(const struct ue_event *ev);

/* ---- areas ---- */

enum loc_area_kind {
    LOC_AREA_NONE = 0,
    LOC_AREA_CELLS,
    LOC_AREA_TAS,
    LOC_AREA_CIRCLE,
    LOC_AREA_POLYGON
};

struct geo_point {
    double lat, lon; /* degrees, WGS 84 */
};

/* An authorised area. Circles and polygons are checked on the position of the serving cell
 * (the cell-position table): a cell with no known position is outside (fail closed). */
struct loc_area {
    enum loc_area_kind kind;
    bool stationary;    /* the device does not move: with kind NONE, its first cell is its area */
    size_t n;           /* entries of cells, tas or polygon */
    struct ncgi *cells; /* LOC_AREA_CELLS */
    struct tai *tas;    /* LOC_AREA_TAS */
    struct geo_point *polygon; /* LOC_AREA_POLYGON: vertices in order, not closed, n >= 3 */
    struct geo_point center;   /* LOC_AREA_CIRCLE */
    double radius_m;
};

/* Checks ranges and sizes (n <= LOC_AREA_MAX, lat/lon in range, radius > 0, polygon n >= 3). */
int loc_area_validate(const struct loc_area *a);
void loc_area_free_members(struct loc_area *a);
int loc_area_copy(const struct loc_area *src, struct loc_area *dst);

/* Pure geometry, exposed for the tests. Great-circle distance in metres (haversine). */
double geo_distance_m(struct geo_point a, struct geo_point b);
/* Point in polygon (even-odd rule on lat/lon as a plane; fine for areas of a few km that do
 * not straddle the antimeridian). A point on an edge or vertex counts as inside. */
bool geo_in_polygon(struct geo_point p, const struct geo_point *poly, size_t n);

/* ---- the capability ---- */

struct location;

struct location_config {
    size_t max_devices;  /* per-device states kept; default 1,000,000 */
    size_t max_areas;    /* restricted devices; default 1,000,000 */
    size_t max_cells;    /* cell-position table; default 1,000,000 */
    size_t max_watches;  /* per-device watches (T8 subscriptions); default 100,000 */
    int64_t max_skew_ms; /* events further in the future are refused; default 5 min */
};

int location_new(const struct location_config *cfg, struct location **out);
void location_free(struct location *loc);

/* The device key of a SUPI under this process's key (for watches and counts). */
void location_device_key(const struct location *loc, const char *supi, uint8_t key[LOC_KEY_LEN]);

/* Sets (replaces) or clears (area NULL) a device's authorised area. The area is copied.
 * IOTSEC_ERR_BUSY past max_areas. */
int location_set_area(struct location *loc, const char *supi, const struct loc_area *area);

/* Sets the position of a cell (the cell-position table). IOTSEC_ERR_BUSY past max_cells. */
int location_set_cell_position(struct location *loc, const struct ncgi *cell, struct geo_point p);

/* The finding raised for an event outside the authorised area. */
#define LOC_EXCEPTION_UNEXPECTED_LOCATION "UNEXPECTED_UE_LOCATION" /* TS 29.520 ExceptionId */

struct location_finding {
    const char *exception_id;     /* LOC_EXCEPTION_UNEXPECTED_LOCATION */
    const char *cause;            /* "OUTSIDE_AUTHORISED_AREA", "STATIONARY_DEVICE_MOVED",
                                   * "CELL_POSITION_UNKNOWN" */
    const struct ue_event *event; /* the event that raised it (its SUPI, time, location) */
    uint8_t device_key[LOC_KEY_LEN];
};

typedef void (*location_observer_fn)(void *ctx, const struct ue_event *ev);
typedef void (*location_finding_fn)(void *ctx, const struct location_finding *f);

/* Registers fn for every accepted event (analytics) / every finding (policy). Call before
 * events flow; at most LOC_OBSERVERS each (IOTSEC_ERR_BUSY). */
int location_observe(struct location *loc, location_observer_fn fn, void *ctx);
int location_on_finding(struct location *loc, location_finding_fn fn, void *ctx);

/* Ingests one event: validates it, updates the device's state, checks its area, then calls
 * the observers, the finding hooks and the device's watches. IOTSEC_ERR_INVALID for a
 * malformed event; IOTSEC_ERR_STATE for one older than the state already held for that
 * device's kind of report, which is still passed to observers but changes nothing. */
int location_ingest(struct location *loc, const struct ue_event *ev);

/* What the area check said of one event with a location (the history keeps it). */
enum loc_fix_check {
    LOC_FIX_UNRESTRICTED = 0, /* the device has no authorised area */
    LOC_FIX_INSIDE = 1,
    LOC_FIX_OUTSIDE = 2,
};

/* location_ingest, also saying whether the event was a fix (an accepted, not stale event
 * carrying a cell or TA: *is_fix) and, for a fix, its area check (*check, *cause: the
 * finding's cause or NULL, a static string). */
int location_ingest_fix(struct location *loc, const struct ue_event *ev, bool *is_fix,
                        enum loc_fix_check *check, const char **cause);

/* ---- state ---- */

struct ue_state {
    bool known; /* any event seen since start */
    bool has_tai, has_ncgi;
    struct tai tai;
    struct ncgi ncgi;
    int64_t location_time_ms; /* time of the last location (0: none) */
    int64_t last_event_ms;
    bool registered, connected;
    enum ue_reachability reachability;
    bool lost;         /* LOSS_OF_CONNECTIVITY since the last event that says otherwise */
    bool outside_area; /* the last location was outside its authorised area */
};

/* The device's last known state; IOTSEC_ERR_NOTFOUND if none is held. */
int location_state(struct location *loc, const char *supi, struct ue_state *out);

/* ---- area counts (NUMBER_OF_UES_IN_AN_AREA) ---- */

/* Which devices may be counted: those whose owners consented (the caller knows). */
typedef bool (*location_count_filter_fn)(void *ctx, const uint8_t key[LOC_KEY_LEN]);

/* Counts the devices whose last location (not older than max_age_ms; 0 = any age) lies in
 * area (cells, TAs, circle or polygon; stationary ignored) and that filter accepts (NULL: all).
 * Below k (zero included: "none of yours is there" is a statement about a device too) the
 * count is withheld: *suppressed = true and *count = 0. k == 0 reports every count. */
int location_count_in_area(struct location *loc, const struct loc_area *area, int64_t now_ms,
                           int64_t max_age_ms, location_count_filter_fn filter, void *ctx,
                           unsigned k, uint64_t *count, bool *suppressed);

/* k-anonymity rule alone (pure): true when a count must not be reported. */
bool location_count_suppressed(uint64_t count, unsigned k);

/* ---- per-device watches (T8 subscriptions) ---- */

/* What a watch wants, as bits of (1u << enum ue_event_kind); findings come as
 * LOC_WATCH_FINDING. */
#define LOC_WATCH_FINDING (1u << 31)

typedef void (*location_watch_fn)(void *ctx, const struct ue_event *ev,
                                  const struct location_finding *finding);

/* Calls fn(ctx, ev, NULL) for every accepted event of the device whose kind bit is in kinds,
 * and fn(ctx, ev, finding) for its findings when kinds has LOC_WATCH_FINDING. *id names the
 * watch for location_unwatch. IOTSEC_ERR_BUSY past max_watches. */
int location_watch(struct location *loc, const uint8_t key[LOC_KEY_LEN], uint32_t kinds,
                   location_watch_fn fn, void *ctx, uint64_t *id);

/* Removes a watch. When it returns, fn is not running for it and will not be called again
 * (it waits for a call in progress on another thread), so ctx may be freed. Never call it
 * from inside that watch's fn. IOTSEC_ERR_NOTFOUND for an unknown id. */
int location_unwatch(struct location *loc, uint64_t id);

/* ---- counters ---- */

struct location_metrics {
    uint64_t events, invalid, stale, findings, evicted, devices, areas, watches, watch_calls;
};
void location_metrics_get(struct location *loc, struct location_metrics *m);

/* ---- storage (location_store.c): migration 5 ---- */

/* Tables: location_area (SUPI -> area JSON, stationary flag), location_cell (cell positions),
 * monitoring_subscription (T8 subscriptions, see src/expose/t8_*). */
extern const char LOCATION_MIGRATION_1[];

struct store;
/* Loads every stored area and cell position into loc (at start). */
int location_store_load(struct store *st, struct location *loc, size_t *n_areas, size_t *n_cells);
/* Durably writes (area non-NULL) or deletes an area; then call location_set_area. */
int location_store_area(struct store *st, const char *supi, const struct loc_area *area);
int location_store_cell(struct store *st, const struct ncgi *cell, struct geo_point p);
/* The stored area of supi as its JSON text (loc_area_to_json; *json malloc'd) and when it was
 * set (unix seconds); IOTSEC_ERR_NOTFOUND when it has none. */
int location_store_area_get(struct store *st, const char *supi, char **json, int64_t *updated_at);

/* ---- HTTP (location_http.c) ---- */

/* Area JSON (the admin API and the stored form):
 *   {"cells":[{"plmnId":{"mcc":"001","mnc":"01"},"nrCellId":"000000010"}...]}
 *   {"tais":[{"plmnId":{...},"tac":"000001"}...]}
 *   {"circle":{"lat":..,"lon":..,"radius":metres}}   {"polygon":[{"lat":..,"lon":..}...]}
 *   plus "stationary": true|false. */
struct json_t;
int loc_area_from_json(const struct json_t *o, struct loc_area *out, const char **why);
struct json_t *loc_area_to_json(const struct loc_area *a);

#define LOC_BATCH_MAX 1000 /* reports in one notification */

/* Decodes a body of AmfEventNotification ({"reportList":[AmfEventReport...]}) or a bare
 * array of AmfEventReport into *out (malloc'd array of *n events; the caller frees it).
 * All or nothing: IOTSEC_ERR_INVALID with why (the offending member, e.g.
 * "reportList[3].location") for the first bad report; IOTSEC_ERR_BUSY past LOC_BATCH_MAX. */
int loc_events_decode(const void *body, size_t len, struct ue_event **out, size_t *n,
                      char why[128]);

/* "2026-11-23T07:00:00.123Z" / "+01:00" (RFC 3339) -> ms since the epoch; -1 if malformed. */
int64_t loc_parse_time(const char *s);
void loc_format_time(int64_t ms, char out[32]);

/* JSON helpers shared with the T8 handlers. */
struct json_t *loc_tai_to_json(const struct tai *t);
struct json_t *loc_ncgi_to_json(const struct ncgi *c);
int loc_plmn_from_json(const struct json_t *o, char plmn[LOC_PLMN_MAX]);

/* ---- location history (history.c, SQL in location_store.c): migration 32 ---- */

/* Every fix (time, TA and/or cell, area check) of a device, bounded: at most max_fixes per
 * device and none older than days. Written in the background, one store job per
 * notification (the group commit folds many together), so an SBI report never waits for
 * a disk; a full writer queue drops the notification's fixes (counted), never the report.
 * Retention is a sweep on one instance at a time (store_lease_hold), walking the devices in
 * SUPI order a chunk per tick: a device is trimmed within one walk of the fleet. */
struct location_history_config {
    unsigned max_fixes; /* per device; 0: history off (nothing written); default 100 */
    unsigned days;      /* fixes older than this are deleted; 0: no age limit; default 30 */
};
#define LOC_HISTORY_MAX_FIXES_DEFAULT 100
#define LOC_HISTORY_DAYS_DEFAULT      30
#define LOC_HISTORY_SWEEP_CHUNK       500 /* devices trimmed per sweep job */

extern const char LOCATION_MIGRATION_HISTORY[];
struct store_conn;

struct location_fix {
    char supi[LOC_SUPI_MAX];
    int64_t id;      /* row id (reads only) */
    int64_t time_ms; /* the network's time of the event */
    bool has_tai, has_ncgi;
    struct tai tai;
    struct ncgi ncgi;
    enum loc_fix_check check;
    const char *cause; /* static string (writes); NULL when inside or unrestricted */
    char cause_buf[32];
};

struct location_history;
int location_history_new(struct store *st, const struct location_history_config *cfg,
                         struct location_history **out);
void location_history_free(struct location_history *h);
/* Takes fixes[0..n) (malloc'd; freed by the call whatever happens) and queues their write. */
void location_history_submit(struct location_history *h, struct location_fix *fixes, size_t n);
/* Queues one retention sweep job (call every few seconds: the daemon's tick). */
void location_history_sweep(struct location_history *h, int64_t now_ms);
struct location_history_metrics {
    uint64_t written, dropped, swept;
};
void location_history_metrics_get(struct location_history *h, struct location_history_metrics *m);

/* SQL (location_store.c). In a job: inserts fixes[0..n). */
int location_store_fixes(struct store_conn *conn, const struct location_fix *fixes, size_t n);
/* In a job: trims the devices after *cursor (SUPI order; "" = from the first), at most chunk
 * of them, to max_fixes (0: no count limit) and to time_ms >= before_ms; *cursor becomes the
 * last device trimmed ("" when the walk reached the end). */
int location_store_fixes_trim(struct store_conn *conn, char cursor[LOC_SUPI_MAX], size_t chunk,
                              unsigned max_fixes, int64_t before_ms, uint64_t *deleted);
/* A page of supi's fixes, newest first, with since_ms <= time_ms < until_ms, strictly before
 * the cursor (before_time, before_id) when before_id > 0; at most limit; fn per fix. */
typedef void (*location_fix_fn)(void *ctx, const struct location_fix *fix);
int location_store_fixes_page(struct store *st, const char *supi, int64_t since_ms,
                              int64_t until_ms, int64_t before_time, int64_t before_id,
                              size_t limit, location_fix_fn fn, void *ctx);

struct http_server;
struct location_http {
    struct location *loc;
    struct store *store;
    char admin_cert_sha256[65];       /* the admin face's client certificate (hex) */
    struct location_history *history; /* NULL: no history kept */
    /* Whether supi names a device the operator knows (a subscription): unknown -> 404.
     * NULL: every well-formed SUPI is known. */
    bool (*device_known)(void *ctx, const char *supi);
    void *device_known_ctx;
};

/* POST /namf-evts-notify/v1/ue-events on the SBI face (NF certificates only). */
int location_sbi_routes(struct http_server *sbi, struct location_http *h);
/* PUT|GET|DELETE /admin/v1/location/areas/{supi}, PUT /admin/v1/location/cells,
 * GET /admin/v1/devices/{supi}/locations (the history). */
int location_admin_routes(struct http_server *adm, struct location_http *h);

#endif
