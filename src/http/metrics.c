/* Request counters and latency histograms. Each worker owns its counters and is their only
 * writer, so an increment is a relaxed load and store (no locked instruction, no shared
 * cache line between workers); the renderer sums the workers' values with relaxed loads. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "http/http_int.h"

/* Codes counted exactly; others are counted by class ("4xx"). */
static const int known_codes[] = {200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401,
                                  403, 404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415,
                                  417, 422, 425, 429, 431, 500, 501, 502, 503, 504};
#define N_KNOWN (sizeof(known_codes) / sizeof(known_codes[0]))
#define N_SLOTS (N_KNOWN + 5)

/* Upper bounds in microseconds; the "+Inf" bucket is the count. */
static const uint32_t bucket_us[] = {250,   500,    1000,   2500,   5000,    10000,   25000,
                                     50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

typedef _Atomic uint64_t counter;

struct route_metrics {
    counter codes[N_SLOTS];
    counter buckets[N_BUCKETS]; /* not cumulative: one bucket per observation */
    counter count, sum_us;
};

struct metrics {
    unsigned n_routes;
    counter conn[METRIC_CONN_KINDS];
    struct route_metrics routes[]; /* n_routes + 1: the last one for unrouted answers */
};

static inline void bump(counter *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static inline uint64_t get(const counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct metrics *hmetrics_new(unsigned n_routes)
{
    struct metrics *m = calloc(1, sizeof(*m) + (n_routes + 1) * sizeof(struct route_metrics));
    if (m)
        m->n_routes = n_routes;
    return m;
}

void hmetrics_free(struct metrics *m)
{
    free(m);
}

static unsigned code_slot(int status)
{
    size_t lo = 0, hi = N_KNOWN;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (known_codes[mid] == status)
            return (unsigned)mid;
        if (known_codes[mid] < status)
            lo = mid + 1;
        else
            hi = mid;
    }
    int cls = status / 100;
    return (unsigned)N_KNOWN + (unsigned)(cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

void hmetrics_count(struct metrics *m, unsigned route_index, int status, uint64_t latency_us)
{
    struct route_metrics *r = &m->routes[route_index <= m->n_routes ? route_index : m->n_routes];
    bump(&r->codes[code_slot(status)], 1);
    unsigned b = 0;
    while (b < N_BUCKETS && latency_us > bucket_us[b])
        b++;
    if (b < N_BUCKETS)
        bump(&r->buckets[b], 1);
    bump(&r->count, 1);
    bump(&r->sum_us, latency_us);
}

void hmetrics_count_conn(struct metrics *m, int what)
{
    bump(&m->conn[what], 1);
}

/* ---- rendering ---- */

/* One server of a rendering and its face label ("admin"), or NULL for none. */
struct face_srv {
    const struct http_server *srv;
    const char *face;
};

static void labels(FILE *f, const struct face_srv *fs, unsigned route)
{
    const struct http_server *srv = fs->srv;
    if (fs->face)
        fprintf(f, "face=\"%s\",", fs->face);
    if (route < srv->router.n)
        fprintf(f, "method=\"%s\",route=\"%s\"", srv->router.routes[route]->method,
                srv->router.routes[route]->pattern);
    else
        fputs("method=\"\",route=\"(unrouted)\"", f);
}

static void render_codes(FILE *f, const struct face_srv *fs, unsigned route)
{
    const struct http_server *srv = fs->srv;
    for (unsigned s = 0; s < N_SLOTS; s++) {
        uint64_t n = 0;
        for (unsigned w = 0; w < srv->n_workers; w++)
            n += get(&srv->workers[w].metrics->routes[route].codes[s]);
        if (!n)
            continue;
        fputs("iotsec_http_requests_total{", f);
        labels(f, fs, route);
        if (s < N_KNOWN)
            fprintf(f, ",code=\"%d\"} %llu\n", known_codes[s], (unsigned long long)n);
        else
            fprintf(f, ",code=\"%uxx\"} %llu\n", s - (unsigned)N_KNOWN + 1, (unsigned long long)n);
    }
}

static void render_histogram(FILE *f, const struct face_srv *fs, unsigned route)
{
    const struct http_server *srv = fs->srv;
    uint64_t buckets[N_BUCKETS] = {0}, count = 0, sum = 0;
    for (unsigned w = 0; w < srv->n_workers; w++) {
        const struct route_metrics *r = &srv->workers[w].metrics->routes[route];
        for (unsigned b = 0; b < N_BUCKETS; b++)
            buckets[b] += get(&r->buckets[b]);
        count += get(&r->count);
        sum += get(&r->sum_us);
    }
    if (!count)
        return;
    uint64_t cumulative = 0;
    for (unsigned b = 0; b < N_BUCKETS; b++) {
        cumulative += buckets[b];
        fputs("iotsec_http_request_duration_seconds_bucket{", f);
        labels(f, fs, route);
        fprintf(f, ",le=\"%g\"} %llu\n", bucket_us[b] / 1e6, (unsigned long long)cumulative);
    }
    fputs("iotsec_http_request_duration_seconds_bucket{", f);
    labels(f, fs, route);
    fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
    fputs("iotsec_http_request_duration_seconds_sum{", f);
    labels(f, fs, route);
    fprintf(f, "} %.6f\n", sum / 1e6);
    fputs("iotsec_http_request_duration_seconds_count{", f);
    labels(f, fs, route);
    fprintf(f, "} %llu\n", (unsigned long long)count);
}

/* One sample per server: {face="..."} when it has a face label, none otherwise. */
static void sample(FILE *f, const char *name, const struct face_srv *fs, unsigned long long v)
{
    if (fs->face)
        fprintf(f, "%s{face=\"%s\"} %llu\n", name, fs->face, v);
    else
        fprintf(f, "%s %llu\n", name, v);
}

static void render_conn(FILE *f, const struct face_srv *fss, size_t n, const char *name,
                        const char *help, int what)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (unsigned w = 0; w < fss[i].srv->n_workers; w++)
            v += get(&fss[i].srv->workers[w].metrics->conn[what]);
        sample(f, name, &fss[i], (unsigned long long)v);
    }
}

char *http_servers_metrics(struct http_server *const *srvs, const char *const *faces, size_t n,
                           size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    struct face_srv fss[16] = {{0}};
    if (n > sizeof(fss) / sizeof(fss[0]))
        return NULL;
    for (size_t i = 0; i < n; i++)
        fss[i] = (struct face_srv){srvs[i], faces ? faces[i] : NULL};
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    fputs("# HELP iotsec_http_requests_total HTTP requests answered.\n"
          "# TYPE iotsec_http_requests_total counter\n",
          f);
    for (size_t i = 0; i < n; i++)
        for (unsigned r = 0; r <= fss[i].srv->router.n && fss[i].srv->workers; r++)
            render_codes(f, &fss[i], r);
    fputs("# HELP iotsec_http_request_duration_seconds Time from request to answer.\n"
          "# TYPE iotsec_http_request_duration_seconds histogram\n",
          f);
    for (size_t i = 0; i < n; i++)
        for (unsigned r = 0; r <= fss[i].srv->router.n && fss[i].srv->workers; r++)
            render_histogram(f, &fss[i], r);
    render_conn(f, fss, n, "iotsec_http_connections_total", "Connections accepted.",
                METRIC_CONN_ACCEPTED);
    render_conn(f, fss, n, "iotsec_http_tls_handshake_failures_total", "TLS handshakes failed.",
                METRIC_CONN_TLS_FAILED);
    render_conn(f, fss, n, "iotsec_http_responses_dropped_total",
                "Answers dropped because the client had gone.", METRIC_RESP_DROPPED);
    render_conn(f, fss, n, "iotsec_http_requests_cancelled_total",
                "HTTP/2 requests whose stream the client reset before the handler ran; the "
                "handler was skipped.",
                METRIC_REQ_CANCELLED);
    render_conn(f, fss, n, "iotsec_http2_reset_flood_total",
                "HTTP/2 connections closed (GOAWAY ENHANCE_YOUR_CALM) for resetting streams "
                "faster than allowed.",
                METRIC_H2_RESET_FLOOD);
    fputs("# HELP iotsec_http_connections_rejected_total Connections closed at the limit.\n"
          "# TYPE iotsec_http_connections_rejected_total counter\n",
          f);
    for (size_t i = 0; i < n; i++)
        sample(f, "iotsec_http_connections_rejected_total", &fss[i],
               (unsigned long long)atomic_load(&srvs[i]->conns_rejected));
    fputs("# HELP iotsec_http_connections_open Connections open now.\n"
          "# TYPE iotsec_http_connections_open gauge\n",
          f);
    for (size_t i = 0; i < n; i++)
        sample(f, "iotsec_http_connections_open", &fss[i],
               (unsigned long long)atomic_load(&srvs[i]->n_conns));
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    if (len)
        *len = size;
    return text;
}

char *http_server_metrics(struct http_server *srv, size_t *len)
{
    return http_servers_metrics(&srv, NULL, 1, len);
}
