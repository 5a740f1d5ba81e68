/* sbi-cluster (--postgresql URL): the cost of the network database and of a second instance.
 * One PostgreSQL database, 100k subscribers imported through instance A, then complete 5G AKA
 * authentications over the SBI (as sbi-auth):
 *   pg.cluster1.cold.*  A alone, each subscriber once: every authentication is the first of
 *                  its subscriber in A's run (SQN blocks reserved, ahead per range);
 *   pg.cluster1.*  A alone, random SUPIs (steady state);
 *   pg.cluster2.cold.*  A and B (a copy of A's instance directory: same KEK, PKI and database,
 *                  its own ports and SQN slot), each subscriber once, the client's connections
 *                  alternating between them (a flow's POST and PUT go to one instance, which
 *                  holds its AUSF context): B's half are B's first uses;
 *   pg.cluster2.fill_b.*  B alone, each subscriber once (B's generators and subscription
 *                  cache filled, as A's were by cluster1.cold);
 *   pg.cluster2.*  A and B, random SUPIs (steady state).
 * SQN reservations/s: blocks reserved durably by both instances (iotsec_sqn_reservations_total
 * from their /metrics) over the load's whole duration (warm-up and drain included). The
 * PostgreSQL server, both daemons and the client share the machine's cores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_sbi.h"
#include "h2client.h"

#define SUBSCRIBERS 100000u
#define WARMUP_S    1.0
#define METRICS_MAX (256 * 1024)

struct metrics_wait {
    int done, status;
    double value;
};

static void metrics_done(void *user, int status, const char *body, size_t len)
{
    struct metrics_wait *w = user;
    static const char name[] = "\niotsec_sqn_reservations_total ";
    w->done = 1, w->status = status;
    char *text = strndup(body ? body : "", len);
    const char *at = text ? strstr(text, name) : NULL;
    w->value = at ? strtod(at + sizeof(name) - 1, NULL) : -1;
    free(text);
}

/* The instance's SQN reservations so far, or -1. */
static double reservations(const struct sbi_daemon *d)
{
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c *c = loop ? sbi_admin_connect(d, loop, METRICS_MAX) : NULL;
    struct metrics_wait w = {.value = -1};
    if (c != NULL && h2c_submit(c, "GET", "/metrics", NULL, NULL, 0, metrics_done, &w) == 0) {
        double deadline = bench_now() + 10;
        while (!w.done && bench_now() < deadline && h2c_loop_run(loop, 100) >= 0)
            ;
    }
    if (c != NULL)
        h2c_close(c);
    h2c_loop_free(loop);
    return w.status == 200 ? w.value : -1;
}

static int phase(const char *name, const struct sbi_daemon *a, const struct sbi_daemon *b,
                 const struct bench_sbi_opts *bo, int distinct)
{
    struct sbi_load_opts o = {.kind = SBI_LOAD_AUTH,
                              .connections = bo->connections,
                              .streams = bo->streams,
                              .subscribers = SUBSCRIBERS,
                              .distinct = distinct ? SUBSCRIBERS : 0,
                              .peer = b};
    if (!distinct)
        o.warmup_s = WARMUP_S, o.seconds = bo->seconds;
    fprintf(stderr, "sbi: %s: %u instance(s), %u connections x %u streams, %s\n", name, b ? 2 : 1,
            o.connections, o.streams, distinct ? "each subscriber once" : "random SUPIs");
    double r0 = reservations(a) + (b ? reservations(b) : 0), t0 = bench_now();
    struct sbi_load_result r;
    if (sbi_load_run(a, &o, &r) != 0)
        return -1;
    double t = bench_now() - t0, r1 = reservations(a) + (b ? reservations(b) : 0);
    sbi_cpu_print(name, &r.cpu, r.elapsed_s);
    double all = (double)(r.ok_total + r.failed);
    if (r.failed > 0)
        fprintf(stderr, "sbi: %s: %llu of %.0f failed\n", name, (unsigned long long)r.failed, all);
    if (all == 0 || (double)r.failed / all > 0.001) {
        fprintf(stderr, "sbi: %s: more than 0.1%% failed, the figures are void\n", name);
        return -1;
    }
    char fig[96];
    snprintf(fig, sizeof(fig), "%s.auth_5g_aka", name);
    sbi_report(fig, (double)r.ok / r.elapsed_s, "per_s", 0);
    snprintf(fig, sizeof(fig), "%s.auth_5g_aka.p50", name);
    sbi_report(fig, r.p50_ms, "ms", 2);
    snprintf(fig, sizeof(fig), "%s.auth_5g_aka.p99", name);
    sbi_report(fig, r.p99_ms, "ms", 2);
    if (r0 >= 0 && r1 >= r0) {
        snprintf(fig, sizeof(fig), "%s.sqn_reservations_per_s", name);
        sbi_report(fig, (r1 - r0) / t, "per_s", 0);
        fprintf(stderr,
                "sbi: %s: %.0f SQN blocks reserved in %.2f s (load with warm-up and "
                "drain)\n",
                name, r1 - r0, t);
    }
    fprintf(stderr,
            "sbi: %s: first authentication of a subscriber in the run: %llu, p50 %.2f ms p99 "
            "%.2f ms; later ones: %llu, p50 %.2f ms p99 %.2f ms\n",
            name, (unsigned long long)r.n_first, r.p50_first_ms, r.p99_first_ms,
            (unsigned long long)r.n_later, r.p50_later_ms, r.p99_later_ms);
    if (!distinct) {
        fprintf(stderr, "  target %-40s %s\n", ">= 10000 authentications/s",
                (double)r.ok / r.elapsed_s >= 10000 ? "met" : "NOT MET");
        fprintf(stderr, "  target %-40s %s\n", "p99 < 20 ms", r.p99_ms < 20 ? "met" : "NOT MET");
    }
    return 0;
}

static int stopped_cleanly(struct sbi_daemon *d)
{
    int status = sbi_daemon_stop(d);
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "sbi: iotsecd did not exit 0 after SIGTERM\n");
        return -1;
    }
    return 0;
}

int bench_sbi_cluster(const struct bench_sbi_opts *o)
{
    if (sbi_pg_admin_url == NULL) {
        fprintf(stderr, "sbi-cluster: needs --postgresql URL\n");
        return 1;
    }
    fprintf(stderr,
            "sbi-cluster: complete 5G AKA over the SBI, 1 then 2 iotsecd on one "
            "PostgreSQL database; server, daemons and client share the %d cores\n",
            sbi_cores());
    struct sbi_daemon a, b;
    memset(&b, 0, sizeof(b));
    double s = 0;
    int rc = sbi_daemon_start(&a);
    if (rc == 0 && (rc = sbi_import(&a, SUBSCRIBERS, &s)) == 0)
        fprintf(stderr, "sbi: imported %u subscribers in %.2f s\n", SUBSCRIBERS, s);
    /* Each instance's first pass warms its SQN generators (every authentication the first of
     * its subscriber in the instance's run); the random-SUPI phase then measures steady state. */
    if (rc == 0)
        rc = phase("cluster1.cold", &a, NULL, o, 1);
    if (rc == 0)
        rc = phase("cluster1", &a, NULL, o, 0);
    if (rc == 0 && (rc = sbi_daemon_clone(&a, &b)) == 0)
        fprintf(stderr, "sbi: second instance pid %d in %s (sbi 127.0.0.1:%u)\n", (int)b.pid,
                b.inst, b.sbi_port);
    if (rc == 0) /* a's half: warm already; b's: its first pass */
        rc = phase("cluster2.cold", &a, &b, o, 1);
    /* A warm instance answers faster and so takes more than half of the cold pass: B then
     * meets many subscribers for the first time only in the random phase, which would measure
     * B's start again. B alone sees each subscriber once first. */
    if (rc == 0)
        rc = phase("cluster2.fill_b", &b, NULL, o, 1);
    if (rc == 0)
        rc = phase("cluster2", &a, &b, o, 0);
    if (b.dir[0]) {
        if (b.pid > 0 && stopped_cleanly(&b) != 0)
            rc = -1;
        sbi_daemon_log_tail(&b, rc ? 20 : 3);
        sbi_daemon_cleanup(&b, o->keep);
    }
    if (a.pid > 0 && stopped_cleanly(&a) != 0)
        rc = -1;
    if (a.dir[0])
        sbi_daemon_log_tail(&a, rc ? 20 : 3);
    sbi_daemon_cleanup(&a, o->keep);
    return rc ? 1 : 0;
}
