/* The SBI groups, against a real iotsecd the benchmark starts itself:
 *   sbi-auth  100k subscribers imported, then complete 5G AKA authentications over HTTP/2 +
 *             TLS 1.3 (mTLS) for --seconds, with GET /healthz on the same client as the
 *             baseline (what HTTP/2 + TLS alone costs).
 *   import    1M subscribers in one CSV POST to the admin face, the RSS with them stored,
 *             and again after authenticating 100k distinct ones (SQN generators cached).
 *   sbi-import-auth  100k subscribers imported and authenticated once, then the same
 *             authentication load while another 1M are imported into the same instance:
 *             authentication must go on (an import used to hold the store's writer for its
 *             whole length, and past the SQN lease's margin every vector was refused).
 * Client and daemon share the machine's cores ("cores" in every figure). A benchmark that
 * fails measures nothing: more than 0.1% failed operations makes the group fail. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_sbi.h"

#define AUTH_SUBSCRIBERS   100000u
#define IMPORT_SUBSCRIBERS 1000000u
#define IMPORT_AUTHS       100000u
#define WARMUP_S           1.0
#define MAX_FAIL_RATIO     0.001

static void target(const char *what, int met)
{
    fprintf(stderr, "  target %-40s %s\n", what, met ? "met" : "NOT MET");
}

/* Too many failures? Prints the verdict. */
static int too_many_failures(const char *what, const struct sbi_load_result *r)
{
    double all = (double)(r->ok_total + r->failed);
    if (r->failed == 0)
        return 0;
    int bad = all == 0 || (double)r->failed / all > MAX_FAIL_RATIO;
    fprintf(stderr, "sbi: %s: %llu of %.0f failed (%.3f%%)%s\n", what,
            (unsigned long long)r->failed, all, all ? 100.0 * (double)r->failed / all : 100.0,
            bad ? ": more than 0.1%, the figures are void" : "");
    return bad;
}

static int load(const struct sbi_daemon *d, const struct bench_sbi_opts *bo,
                enum sbi_load_kind kind, uint32_t subs, uint32_t distinct,
                struct sbi_load_result *r)
{
    struct sbi_load_opts o = {.kind = kind,
                              .connections = bo->connections,
                              .streams = bo->streams,
                              .subscribers = subs,
                              .distinct = distinct};
    if (!distinct)
        o.warmup_s = WARMUP_S, o.seconds = bo->seconds;
    const char *what = kind == SBI_LOAD_HEALTHZ ? "GET /healthz" : "5G AKA";
    fprintf(stderr, "sbi: %s, %u connections x %u streams, %s\n", what, o.connections, o.streams,
            distinct ? "each subscriber once" : "random SUPIs");
    if (sbi_load_run(d, &o, r) != 0)
        return -1;
    sbi_cpu_print(what, &r->cpu, r->elapsed_s);
    return too_many_failures(what, r) ? -1 : 0;
}

/* Stops the daemon: a graceful stop exits 0; anything else is reported, with its log. */
static int finish(struct sbi_daemon *d, int rc, int keep)
{
    int status = sbi_daemon_stop(d);
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "sbi: iotsecd did not exit 0 after SIGTERM (%s %d)\n",
                WIFSIGNALED(status) ? "signal" : "exit status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        rc = -1;
    }
    if (d->dir[0])
        sbi_daemon_log_tail(d, rc ? 20 : 3);
    sbi_daemon_cleanup(d, keep);
    return rc ? 1 : 0;
}

static unsigned auth_subscribers(const struct bench_sbi_opts *o)
{
    return o->subscribers ? o->subscribers : AUTH_SUBSCRIBERS;
}

static int auth_phase(struct sbi_daemon *d, const struct bench_sbi_opts *o)
{
    struct sbi_load_result base, auth;
    if (load(d, o, SBI_LOAD_HEALTHZ, auth_subscribers(o), 0, &base) != 0 ||
        load(d, o, SBI_LOAD_AUTH, auth_subscribers(o), 0, &auth) != 0)
        return -1;
    double rate = (double)auth.ok / auth.elapsed_s;
    sbi_report("sbi.auth_5g_aka", rate, "per_s", 0);
    sbi_report("sbi.auth_5g_aka.p50", auth.p50_ms, "ms", 2);
    sbi_report("sbi.auth_5g_aka.p99", auth.p99_ms, "ms", 2);
    sbi_report("sbi.healthz_baseline", (double)base.ok / base.elapsed_s, "per_s", 0);
    sbi_report("sbi.daemon_rss_100k", sbi_daemon_rss_mib(d), "MiB", 1);
    fprintf(stderr,
            "sbi: 5G AKA max latency %.2f ms; healthz p50 %.2f ms p99 %.2f ms; each "
            "authentication is 2 requests\n",
            auth.max_ms, base.p50_ms, base.p99_ms);
    fprintf(stderr,
            "sbi: a subscriber's first authentication in the run (durable SQN block "
            "reservation): %llu, p50 %.2f ms p99 %.2f ms; later ones: %llu, p50 %.2f ms "
            "p99 %.2f ms\n",
            (unsigned long long)auth.n_first, auth.p50_first_ms, auth.p99_first_ms,
            (unsigned long long)auth.n_later, auth.p50_later_ms, auth.p99_later_ms);
    target(">= 20000 authentications/s", rate >= 20000);
    target("p99 < 10 ms", auth.p99_ms < 10);
    return 0;
}

int bench_sbi_auth(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    double s = 0;
    fprintf(stderr,
            "sbi-auth: complete 5G AKA (POST + PUT) over HTTP/2 + TLS 1.3 with client "
            "certificates, against a real iotsecd; client (1 thread) and daemon share "
            "the machine's %d cores\n",
            sbi_cores());
    int rc = sbi_daemon_start(&d);
    if (rc == 0 && (rc = sbi_import(&d, auth_subscribers(o), &s)) == 0)
        fprintf(stderr, "sbi: imported %u subscribers in %.2f s\n", auth_subscribers(o), s);
    if (rc == 0)
        rc = auth_phase(&d, o);
    return finish(&d, rc, o->keep);
}

/* The import answers before its thread has wiped and freed the parsed rows; the figure
 * "with 1M subscriptions stored" is taken once that thread is gone (60 s at most). */
static double rss_after_import(const struct sbi_daemon *d, int threads_before)
{
    double t0 = bench_now();
    fprintf(stderr, "sbi: daemon RSS when the import answered: %.1f MiB (peak so far %.1f MiB)\n",
            sbi_daemon_rss_mib(d), sbi_daemon_peak_mib(d));
    while (sbi_daemon_threads(d) > threads_before && bench_now() < t0 + 60)
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    fprintf(stderr, "sbi: the import thread ended %.1f s after the answer\n", bench_now() - t0);
    return sbi_daemon_rss_mib(d);
}

int bench_import(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    double s = 0;
    fprintf(stderr,
            "import: %u subscribers in one CSV POST to the admin face of a real "
            "iotsecd (%d cores shared with the client)\n",
            IMPORT_SUBSCRIBERS, sbi_cores());
    int rc = sbi_daemon_start(&d), threads = 0;
    if (rc == 0) {
        threads = sbi_daemon_threads(&d);
        fprintf(stderr, "sbi: daemon RSS empty: %.1f MiB, %d threads\n", sbi_daemon_rss_mib(&d),
                threads);
    }
    struct sbi_cpu cpu = {0};
    if (rc == 0)
        sbi_cpu_begin(&cpu, d.pid);
    if (rc == 0 && (rc = sbi_import(&d, IMPORT_SUBSCRIBERS, &s)) == 0) {
        double rss = rss_after_import(&d, threads);
        /* The daemon's CPU per row (its import thread has ended, so its time is counted):
         * the figure to compare on a shared machine, where wall time depends on the others. */
        sbi_cpu_end(&cpu, d.pid);
        sbi_cpu_print("import", &cpu, s);
        sbi_report("admin.import_rows", IMPORT_SUBSCRIBERS / s, "rows_per_s", 0);
        sbi_report("admin.import_daemon_cpu_per_row", 1e6 * cpu.daemon_s / IMPORT_SUBSCRIBERS,
                   "us", 2);
        sbi_report("admin.daemon_rss_1m", rss, "MiB", 1);
        sbi_report("admin.daemon_rss_peak_import_1m", sbi_daemon_peak_mib(&d), "MiB", 1);
        target(">= 100000 rows/s", IMPORT_SUBSCRIBERS / s >= 100000);
        target("<= 200 MiB with 1M subscriptions", rss <= 200);
    }
    struct sbi_load_result r;
    if (rc == 0 && !o->import_only &&
        (rc = load(&d, o, SBI_LOAD_AUTH, IMPORT_SUBSCRIBERS, IMPORT_AUTHS, &r)) == 0) {
        fprintf(stderr,
                "sbi: %llu distinct subscribers authenticated in %.2f s (%.0f/s, first "
                "use of each), p50 %.2f ms p99 %.2f ms\n",
                (unsigned long long)r.ok, r.elapsed_s, (double)r.ok / r.elapsed_s, r.p50_ms,
                r.p99_ms);
        sbi_report("sbi.daemon_rss_1m_after_auth", sbi_daemon_rss_mib(&d), "MiB", 1);
    }
    return finish(&d, rc, o->keep);
}

/* The import, in a child process, so that the parent's load runs meanwhile; its exit status
 * says whether every row was imported. */
static pid_t import_in_child(const struct sbi_daemon *d, uint32_t first, uint32_t n)
{
    pid_t pid = fork();
    if (pid == 0) {
        double s = 0;
        int rc = sbi_import_range(d, first, n, &s);
        if (rc == 0)
            fprintf(stderr, "sbi: the concurrent import of %u rows took %.1f s (%.0f rows/s)\n", n,
                    s, n / s);
        _exit(rc == 0 ? 0 : 1);
    }
    return pid;
}

int bench_sbi_import_auth(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    double s = 0;
    fprintf(stderr,
            "sbi-import-auth: 5G AKA over the SBI while %u subscribers are imported "
            "into the same instance\n",
            IMPORT_SUBSCRIBERS);
    int rc = sbi_daemon_start(&d);
    if (rc == 0)
        rc = sbi_import(&d, AUTH_SUBSCRIBERS, &s);
    struct sbi_load_result warm, during;
    if (rc == 0) /* every subscriber's SQN block reserved before the import starts */
        rc = load(&d, o, SBI_LOAD_AUTH, AUTH_SUBSCRIBERS, AUTH_SUBSCRIBERS, &warm);
    pid_t child = rc == 0 ? import_in_child(&d, AUTH_SUBSCRIBERS, IMPORT_SUBSCRIBERS) : -1;
    if (child < 0) {
        rc = -1;
    } else {
        /* Long enough to outlast the SQN lease's margin (25 s of its 30 s). */
        struct bench_sbi_opts longer = *o;
        longer.seconds = o->seconds > 40 ? o->seconds : 40;
        struct sbi_load_opts lo = {.kind = SBI_LOAD_AUTH,
                                   .connections = o->connections,
                                   .streams = o->streams,
                                   .subscribers = AUTH_SUBSCRIBERS,
                                   .warmup_s = WARMUP_S,
                                   .seconds = longer.seconds};
        fprintf(stderr, "sbi: 5G AKA for %.0f s while the import runs\n", lo.seconds);
        int load_rc = sbi_load_run(&d, &lo, &during);
        int status = 0;
        int still = waitpid(child, &status, WNOHANG) == 0;
        if (still)
            fprintf(stderr, "sbi: the import was still running when the load ended\n");
        waitpid(child, &status, 0);
        if (load_rc == 0) {
            double all = (double)(during.ok_total + during.failed);
            sbi_report("sbi.auth_during_import", (double)during.ok / during.elapsed_s, "per_s", 0);
            sbi_report("sbi.auth_during_import.p99", during.p99_ms, "ms", 2);
            sbi_report("sbi.auth_during_import.failed", all ? 100.0 * during.failed / all : 0,
                       "percent", 3);
            target("no authentication refused during the import", during.failed == 0);
        }
        if (load_rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = -1;
    }
    return finish(&d, rc, o->keep);
}
