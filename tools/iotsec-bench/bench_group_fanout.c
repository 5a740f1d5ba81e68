/* Unicast fan-out of one protected group message to N members through the one outbound engine
 * (src/http/outbound.h: the daemon's delivery path for group messages, group_deliver.c), to an
 * in-process sink (the project's own HTTP server, cleartext HTTP/1.1 on loopback, 204 to every
 * POST). Members are spread over SINK_PORTS listeners, each a destination of its own as
 * separate devices are (the engine caps transfers per destination). The same run measures the
 * engine with its per-attempt check hook doing the daemon's re-decision (a member still
 * active?) as a mutex-protected table probe, against no hook (baseline). The engine's thread
 * and the sink's share the machine's 2 cores: the figure is for both. A short warm-up first
 * opens the connections. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/b64url.h"
#include "base/err.h"
#include "bench.h"
#include "http/http.h"
#include "http/outbound.h"

#define SINK_SERVERS 4
#define SINK_PORTS   (SINK_SERVERS * 8) /* a server has at most 8 listeners */

struct fan {
    atomic_uint_fast64_t done, ok, received;
    pthread_mutex_t mu;
    uint8_t *active; /* the "still a member" table the check reads */
    uint32_t n;
};

static void sink(struct http_request *req, void *user)
{
    struct fan *f = user;
    atomic_fetch_add(&f->received, 1);
    http_respond(req, 204, NULL, NULL, 0);
}

static bool check_member(void *ctx, const char *owner, struct outbound_rules *rules)
{
    (void)rules;
    struct fan *f = ctx;
    unsigned long i = strtoul(owner + 3, NULL, 10);
    pthread_mutex_lock(&f->mu);
    bool yes = i < f->n && f->active[i];
    pthread_mutex_unlock(&f->mu);
    return yes;
}

static void done(void *ctx, void *tag, enum outbound_result r)
{
    (void)tag;
    struct fan *f = ctx;
    if (r == OUTBOUND_DELIVERED)
        atomic_fetch_add(&f->ok, 1);
    atomic_fetch_add(&f->done, 1);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* members/s of one fan-out of n requests (0 when not all were delivered). */
static double fan_out(struct fan *f, const uint16_t *ports, uint32_t n, bool with_check,
                      const char *body, size_t len)
{
    struct outbound_config oc = {.rules.http_loopback = true,
                                 .check = with_check ? check_member : NULL,
                                 .check_ctx = f,
                                 .done = done,
                                 .done_ctx = f,
                                 .queue_max = n + 16,
                                 .max_inflight = 128};
    struct outbound *o;
    if (outbound_new(&oc, &o) != IOTSEC_OK)
        return 0;
    atomic_store(&f->done, 0);
    atomic_store(&f->ok, 0);
    double t0 = wall_now();
    for (uint32_t i = 0; i < n; i++) {
        char url[64], owner[32];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/m/%u", ports[i % SINK_PORTS], i);
        snprintf(owner, sizeof(owner), "gm:%u", i);
        if (outbound_post(o, url, owner, body, len, NULL) != IOTSEC_OK)
            atomic_fetch_add(&f->done, 1);
    }
    while (atomic_load(&f->done) < n && wall_now() - t0 < 600)
        usleep(2000);
    double t = wall_now() - t0;
    outbound_free(o);
    return atomic_load(&f->ok) == n ? n / t : 0;
}

int bench_group_fanout(uint32_t n)
{
    struct fan f = {.n = n, .active = malloc(n)};
    pthread_mutex_init(&f.mu, NULL);
    struct http_server_config sc = {.workers = 1};
    struct http_server *srv[SINK_SERVERS] = {0};
    uint16_t ports[SINK_PORTS];
    int rc = f.active ? 0 : -1;
    if (f.active)
        memset(f.active, 1, n);
    for (int s = 0; rc == 0 && s < SINK_SERVERS; s++) {
        rc = (srv[s] = http_server_new(&sc)) != NULL ? 0 : -1;
        for (int i = 0; rc == 0 && i < 8; i++) {
            struct http_listener_config lc = {.bind = "127.0.0.1:0", .tls = false};
            rc = http_server_listen(srv[s], &lc) == i ? 0 : -1;
        }
        if (rc == 0)
            rc = http_server_route(srv[s], "POST", "/m/{i}", sink, &f) == IOTSEC_OK &&
                         http_server_start(srv[s]) == IOTSEC_OK
                     ? 0
                     : -1;
        for (int i = 0; rc == 0 && i < 8; i++)
            ports[s * 8 + i] = http_server_port(srv[s], i);
    }
    /* the body a member receives: {"kind":"message","data":<a 100-byte message, base64url>} */
    uint8_t msg[100 + 144] = {1, 1};
    char body[512];
    int len = snprintf(body, sizeof(body), "{\"kind\":\"message\",\"data\":\"");
    b64url_encode(msg, sizeof(msg), body + len);
    len += (int)b64url_len(sizeof(msg));
    len += snprintf(body + len, sizeof(body) - (size_t)len, "\"}");
    double base = 0, checked = 0;
    if (rc == 0) {
        fan_out(&f, ports, n / 10 + 1, false, body, (size_t)len); /* warm-up: connections */
        base = fan_out(&f, ports, n, false, body, (size_t)len);
        checked = fan_out(&f, ports, n, true, body, (size_t)len);
    }
    if (base > 0 && checked > 0) {
        char name[96];
        snprintf(name, sizeof(name), "group_fanout_%u_members_recheck", n);
        bench_report(name, checked, "members/s", 2);
        snprintf(name, sizeof(name), "group_fanout_%u_members_baseline_no_check", n);
        bench_report(name, base, "members/s", 2);
    } else {
        fprintf(stderr, "group fan-out: not every member was reached (%lu of %u)\n",
                (unsigned long)atomic_load(&f.ok), n);
        rc = -1;
    }
    for (int s = 0; s < SINK_SERVERS; s++) {
        if (srv[s]) {
            http_server_stop(srv[s]);
            http_server_free(srv[s]);
        }
    }
    free(f.active);
    pthread_mutex_destroy(&f.mu);
    return rc ? 1 : 0;
}
