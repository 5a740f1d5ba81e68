/* iotsec-bench provision: zero-touch onboarding against a real iotsecd (issue 4), with the
 * simulator's code (tools/iotsec-sim). Figures, each with a baseline from the same run:
 *   provision_tls_baseline   fresh TLS handshakes with a P-256 client certificate + one
 *                            nonce request on the device face, per second, over the same
 *                            transport (sdk/onboard_tls): the floor every direct onboarding
 *                            pays (one connection per device, and its first message)
 *   provision_tls_{daemon,client}_cpu   CPU microseconds per handshake on each side, and
 *   provision_tls_ceiling    the rate the two would reach with the machine's cores to
 *                            themselves: figures that hold on a shared, noisy machine
 *   provision_direct_{daemon,client}_cpu, provision_direct_ceiling: the same per onboarding
 *   provision_direct         onboardings/s: nonce, onboard (mTLS factory cert), confirm
 *   provision_relayed        onboardings/s through one gateway connection per worker
 *                            (x509 signature proofs)
 *   import_baseline          ms to import 100,000 subscriptions in one call (admin face)
 *   activation_bulk          ms to bulk-activate 100,000 devices in one call */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <signal.h>

#include "base/err.h"
#include "bench.h"
#include "bench_sbi.h"
#include "crypto/rand.h"
#include "onboard_tls.h"
#include "sim.h"

#define THREADS 32

struct tls_run {
    struct onboard_tls_ctx *tls;
    struct sim_device *d;
    uint32_t n;
    atomic_uint next, ok;
};

/* The floor of a direct onboarding: a fresh TLS 1.3 handshake with the device's P-256
 * certificate and one request (a nonce), over the same transport the onboardings use. */
static void *tls_worker(void *arg)
{
    struct tls_run *r = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            break;
        struct onboard_tls *t;
        if (onboard_tls_new(r->tls, r->d[i].x509, r->d[i].pkey, &t) != IOTSEC_OK)
            continue;
        long st;
        uint32_t ra;
        char *ans;
        size_t len;
        if (onboard_tls_post(t, "/device/v1/nonce", "{}", 2, &st, &ra, &ans, &len) == IOTSEC_OK &&
            st == 200)
            atomic_fetch_add(&r->ok, 1);
        free(ans);
        onboard_tls_free(t);
    }
    crypto_random_thread_cleanup();
    return NULL;
}

/* CPU per operation on each side over a phase, and the rate both would reach with every
 * core of the machine to themselves (the other helpers' and processes' load set aside). */
static void report_cpu(const char *phase, const char *unit, const struct sbi_cpu *c, uint32_t n)
{
    if (n == 0)
        return;
    char name[64];
    double daemon_us = c->daemon_s * 1e6 / n, client_us = c->client_s * 1e6 / n;
    snprintf(name, sizeof(name), "%s_daemon_cpu", phase);
    bench_report(name, daemon_us, "us/op", 1);
    snprintf(name, sizeof(name), "%s_client_cpu", phase);
    bench_report(name, client_us, "us/op", 1);
    snprintf(name, sizeof(name), "%s_ceiling", phase);
    if (daemon_us + client_us > 0)
        bench_report(name, sbi_cores() * 1e6 / (daemon_us + client_us), unit, sbi_cores());
}

static double tls_baseline(const struct sim_instance *in, struct sim_device *d, uint32_t n,
                           pid_t daemon)
{
    struct tls_run r = {.d = d, .n = n};
    atomic_init(&r.next, 0);
    atomic_init(&r.ok, 0);
    if (onboard_tls_ctx_new(in->device, in->ca, &r.tls) != IOTSEC_OK)
        return -1;
    pthread_t t[THREADS];
    struct sbi_cpu cpu;
    sbi_cpu_begin(&cpu, daemon);
    double t0 = bench_now();
    unsigned started = 0;
    for (; started < THREADS; started++)
        if (pthread_create(&t[started], NULL, tls_worker, &r) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    double s = bench_now() - t0;
    sbi_cpu_end(&cpu, daemon);
    sbi_cpu_print("provision tls baseline", &cpu, s);
    report_cpu("provision_tls", "handshakes/s", &cpu, atomic_load(&r.ok));
    onboard_tls_ctx_free(r.tls);
    return atomic_load(&r.ok) == n && s > 0 ? n / s : -1;
}

/* A fleet of n certificate devices (all through the gateway when relayed). */
static int fleet(const struct sim_instance *in, uint32_t n, bool relayed, struct sim_setup *s,
                 struct sim_device **out)
{
    struct sim_fleet_opts o = {.gateway = relayed};
    *out = calloc(n, sizeof(**out));
    if (!*out || sim_setup_fleet(in, s, &o, n) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (sim_manufacture(s, i, false, relayed, &(*out)[i]) != IOTSEC_OK)
            return -1;
    return 0;
}

static void fleet_free(struct sim_setup *s, struct sim_device *d, uint32_t n)
{
    for (uint32_t i = 0; d && i < n; i++)
        sim_device_free(&d[i]);
    free(d);
    sim_setup_free(s);
}

static int onboard_rate(const struct sim_instance *in, uint32_t n, bool relayed, pid_t daemon,
                        double *rate)
{
    struct sim_setup s;
    struct sim_device *d = NULL;
    struct sim_stats st = {0};
    struct sbi_cpu cpu;
    int rc = fleet(in, n, relayed, &s, &d);
    sbi_cpu_begin(&cpu, daemon);
    if (rc == 0)
        rc = sim_onboard_all(in, &s, d, n, THREADS, &st);
    sbi_cpu_end(&cpu, daemon);
    if (rc == 0 && st.onboarded != n) {
        fprintf(stderr, "provision: %u of %u %s onboardings failed\n", n - st.onboarded, n,
                relayed ? "relayed" : "direct");
        rc = -1;
    }
    if (rc == 0) {
        *rate = st.onboarded / st.seconds;
        fprintf(stderr, "provision: %s p50 %.1f ms, p99 %.1f ms\n", relayed ? "relayed" : "direct",
                st.p50_ms, st.p99_ms);
        sbi_cpu_print(relayed ? "provision relayed" : "provision direct", &cpu, st.seconds);
        report_cpu(relayed ? "provision_relayed" : "provision_direct", "onboardings/s", &cpu,
                   st.onboarded);
    }
    fleet_free(&s, d, n);
    return rc;
}

/* One POST /admin/v1/activations of n lines; seconds it took. */
static int activation(const struct sim_instance *in, uint32_t n, double *seconds)
{
    size_t cap = (size_t)n * 96 + 64, len = 0;
    char *body = malloc(cap);
    if (!body)
        return -1;
    len += (size_t)snprintf(body, cap, "{\"items\":[");
    for (uint32_t i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"registration_id\":\"bench-meter-%07u\",\"account\":"
                                "\"apartment %u\"}",
                                i ? "," : "", i, i / 4);
    len += (size_t)snprintf(body + len, cap - len, "]}");
    char *out = NULL;
    double t0 = bench_now();
    long st = sim_admin(in, "POST", "/admin/v1/activations", body, len, &out);
    *seconds = bench_now() - t0;
    if (st != 200)
        fprintf(stderr, "provision: POST activations: %ld %.200s\n", st, out ? out : "");
    free(out);
    free(body);
    return st == 200 ? 0 : -1;
}

int bench_provision(const struct bench_provision_opts *o)
{
    struct sbi_daemon dm;
    struct sim_instance in;
    char ready[160];
    signal(SIGPIPE, SIG_IGN); /* sdk/onboard_tls writes to sockets the daemon may close */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sbi_daemon_start(&dm) != 0) {
        curl_global_cleanup();
        return -1;
    }
    snprintf(ready, sizeof(ready), "%s/ready.json", dm.dir);
    int rc = sim_instance_load(&in, dm.inst, ready);
    uint32_t n = o->devices;

    /* the baseline: the same certificates' handshakes, no onboarding */
    struct sim_setup s;
    struct sim_device *d = NULL;
    if (rc == 0 && (rc = fleet(&in, n, false, &s, &d)) == 0) {
        double hs = tls_baseline(&in, d, n, dm.pid);
        if (hs > 0)
            bench_report("provision_tls_baseline", hs, "handshakes/s", 2);
        else
            rc = -1;
    }
    fleet_free(&s, d, n);
    double rate;
    if (rc == 0 && (rc = onboard_rate(&in, n, false, dm.pid, &rate)) == 0)
        bench_report("provision_direct", rate, "onboardings/s", 2);
    if (rc == 0 && (rc = onboard_rate(&in, n, true, dm.pid, &rate)) == 0)
        bench_report("provision_relayed", rate, "onboardings/s", 2);
    double secs;
    if (rc == 0 && (rc = sbi_import(&dm, o->activations, &secs)) == 0)
        bench_report("import_baseline", secs * 1000, "ms", 2);
    if (rc == 0 && (rc = activation(&in, o->activations, &secs)) == 0)
        bench_report("activation_bulk", secs * 1000, "ms", 2);
    if (rc != 0)
        sbi_daemon_log_tail(&dm, 20);
    sbi_daemon_stop(&dm);
    sbi_daemon_cleanup(&dm, o->keep);
    curl_global_cleanup();
    return rc;
}
