/* iotsec-bench console: the operator console's Fleet page with 1,000,000 subscriptions. A real
 * iotsecd with the console face; a viewer logs in (curl, for the Set-Cookie) and each call the
 * page makes is timed through the console face under that session, as the browser makes it.
 * Baseline in the same run: GET /console/v1/session (TLS + HTTP/2 + the session gate, no
 * table). Target: the page's first paint (the session, the counts and the first page of the
 * table, the onboarding and expiry charts, sequentially) under 1 s. In the same run, the counts
 * query itself before and after the per-state counters (migration "fleet counts"): a scan of
 * the table against the counter rows, in process on the daemon's database. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "bench.h"
#include "bench_sbi.h"
#include "h2client.h"
#include "subscriber/subscriber.h"

#define SUBSCRIBERS 1000000u
#define REPEATS     15

static uint16_t console_port;

static uint16_t free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static int prepare(const char *inst, void *ctx)
{
    (void)ctx;
    char path[256];
    snprintf(path, sizeof(path), "%s/iotsec.yaml", inst);
    FILE *f = fopen(path, "a");
    if (f == NULL || (console_port = free_port()) == 0)
        return -1;
    fprintf(f, "console:\n  listen: \"127.0.0.1:%u\"\n", console_port);
    return fclose(f) == 0 ? 0 : -1;
}

struct wait {
    int done, status;
    char body[1024];
};

static void done(void *user, int status, const char *body, size_t len)
{
    struct wait *w = user;
    w->done = 1, w->status = status;
    snprintf(w->body, sizeof(w->body), "%.*s", (int)len, body);
}

/* One request, waited for; its status, or 0. */
static int call(struct h2c_loop *loop, struct h2c *c, const char *method, const char *path,
                const char *body, struct wait *w)
{
    memset(w, 0, sizeof(*w));
    if (h2c_submit(c, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
                   done, w) != 0)
        return 0;
    double deadline = bench_now() + 60;
    while (!w->done && bench_now() < deadline)
        if (h2c_loop_run(loop, 100) < 0)
            break;
    return w->status;
}

static struct h2c *connect_to(const struct sbi_daemon *d, struct h2c_loop *loop, uint16_t port,
                              const char *cookie)
{
    char ca[160], crt[160], key[160], err[256];
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca));
    sbi_daemon_pki(d, "admin", "crt", crt, sizeof(crt));
    sbi_daemon_pki(d, "admin", "key", key, sizeof(key));
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = port,
                             .ca_file = ca,
                             .cert_file = crt,
                             .key_file = key,
                             .max_streams = 1,
                             .max_response = 65536,
                             .max_request = 4096,
                             .cookie = cookie};
    struct h2c *c = h2c_connect(loop, &cfg, err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "console: %s\n", err);
    return c;
}

/* The session cookie of a fresh login, from curl's dump of the answer's headers. */
static int login(const struct sbi_daemon *d, char *cookie, size_t cap)
{
    char ca[160], cmd[512];
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca));
    snprintf(cmd, sizeof(cmd),
             "curl -s --http2 --cacert %s -o /dev/null -D - -H content-type:application/json "
             "-d '{\"name\":\"bench\",\"password\":\"bench password 123\"}' "
             "https://127.0.0.1:%u/console/v1/login",
             ca, console_port);
    FILE *p = popen(cmd, "r");
    char line[512];
    int ok = -1;
    while (p && fgets(line, sizeof(line), p))
        if (strncasecmp(line, "set-cookie: ", 12) == 0) {
            snprintf(cookie, cap, "%.*s", (int)strcspn(line + 12, ";"), line + 12);
            ok = 0;
        }
    if (p)
        pclose(p);
    return ok;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median over REPEATS calls, in ms; -1 when one failed. */
static double timed(struct h2c_loop *loop, struct h2c *c, const char *path)
{
    double t[REPEATS];
    struct wait w;
    for (int i = 0; i < REPEATS; i++) {
        double t0 = bench_now();
        if (call(loop, c, "GET", path, NULL, &w) != 200) {
            fprintf(stderr, "console: GET %s: status %d %s\n", path, w.status, w.body);
            return -1;
        }
        t[i] = (bench_now() - t0) * 1000;
    }
    qsort(t, REPEATS, sizeof(double), cmp);
    return t[REPEATS / 2];
}

/* The counts query before and after the counters, in this process on the daemon's own
 * database (read-only, while it runs): the median of REPEATS of each, in ms. */
static int counts_before_after(const struct sbi_daemon *d)
{
    if (d->pg_db[0])
        return 0; /* SQLite's file only */
    char path[160];
    snprintf(path, sizeof(path), "%s/iotsec.db", d->inst);
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *st;
    if (store_open(path, &so, &st) != IOTSEC_OK) {
        fprintf(stderr, "console: cannot open %s\n", path);
        return -1;
    }
    int (*const fns[2])(struct store *, uint64_t *) = {subscriber_count_scan, subscriber_count};
    static const char *const names[2] = {"console.counts_scan_ms", "console.counts_counters_ms"};
    uint64_t got[2][SUB_STATE_COUNT];
    int rc = 0;
    for (int f = 0; f < 2 && rc == 0; f++) {
        double t[REPEATS];
        for (int i = 0; i < REPEATS && rc == 0; i++) {
            double t0 = bench_now();
            rc = fns[f](st, got[f]) == IOTSEC_OK ? 0 : -1;
            t[i] = (bench_now() - t0) * 1000;
        }
        qsort(t, REPEATS, sizeof(double), cmp);
        if (rc == 0)
            sbi_report(names[f], t[REPEATS / 2], "ms", 2);
    }
    if (rc == 0 && memcmp(got[0], got[1], sizeof(got[0])) != 0) {
        fprintf(stderr, "console: the counters disagree with the scan\n");
        rc = -1;
    }
    store_close(st);
    return rc;
}

int bench_console(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    double s = 0;
    fprintf(stderr,
            "console: the Fleet page's API calls with %u subscriptions, through the "
            "console face under a viewer's session (median of %d)\n",
            SUBSCRIBERS, REPEATS);
    int rc = sbi_daemon_start_prepared(&d, prepare, NULL);
    if (rc == 0)
        rc = sbi_import(&d, SUBSCRIBERS, &s);
    struct h2c_loop *loop = rc == 0 ? h2c_loop_new() : NULL;
    struct h2c *adm = loop ? connect_to(&d, loop, d.admin_port, NULL) : NULL, *con = NULL;
    struct wait w;
    char cookie[128] = "";
    if (adm == NULL ||
        call(loop, adm, "POST", "/admin/v1/users",
             "{\"name\":\"bench\",\"role\":\"viewer\",\"password\":\"bench password 123\"}",
             &w) != 201 ||
        login(&d, cookie, sizeof(cookie)) != 0 ||
        (con = connect_to(&d, loop, console_port, cookie)) == NULL) {
        fprintf(stderr, "console: could not log in (%d %s)\n", w.status, w.body);
        rc = -1;
    }
    if (rc == 0) {
        char supi[32], path[96];
        sbi_sub_supi(SUBSCRIBERS / 2, supi);
        static const struct {
            const char *name, *path;
        } calls[] = {
            {"console.session_ms", "/console/v1/session"},
            {"console.fleet_counts_ms", "/admin/v1/subscribers/counts"},
            {"console.fleet_first_page_ms", "/admin/v1/subscribers?limit=25"},
            {"console.fleet_page_500k_ms", "/admin/v1/subscribers?limit=25&after=500000"},
            {"console.fleet_state_page_ms", "/admin/v1/subscribers?state=active&limit=25"},
            {"console.fleet_onboarding_ms", "/admin/v1/subscribers/onboarding?bucket=day&count=30"},
            {"console.fleet_onboarding_weeks_ms",
             "/admin/v1/subscribers/onboarding?bucket=week&count=12"},
            {"console.fleet_expiring_ms", "/admin/v1/subscribers/expiring"},
        };
        double first_paint = 0;
        for (size_t i = 0; rc == 0 && i < sizeof(calls) / sizeof(calls[0]); i++) {
            double ms = timed(loop, con, calls[i].path);
            if (ms < 0)
                rc = -1;
            else
                sbi_report(calls[i].name, ms, "ms", 2);
            if (i < 3 || i >= 5) /* the page's calls (the two browse pages are extra) */
                first_paint += ms;
        }
        if (rc == 0)
            rc = counts_before_after(&d);
        snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
        double ms = rc == 0 ? timed(loop, con, path) : -1;
        if (ms >= 0)
            sbi_report("console.device_search_ms", ms, "ms", 2);
        if (rc == 0) {
            sbi_report("console.fleet_first_paint_api_ms", first_paint, "ms", 2);
            fprintf(stderr, "  target %-40s %s\n", "Fleet first paint (API) < 1000 ms",
                    first_paint < 1000 ? "met" : "NOT MET");
        }
    }
    h2c_loop_free(loop);
    int status = sbi_daemon_stop(&d);
    (void)status;
    sbi_daemon_cleanup(&d, o->keep);
    return rc ? 1 : 0;
}
