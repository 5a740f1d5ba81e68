/* What persisting the evidence costs (issue 11): the daemon's analytics instance over a real
 * store (SQLite in a temporary directory) against the same instance without one, in the same
 * run. A burst: every device of a fleet floods one victim in one window, so the window's close
 * makes one finding per device at once; the time runs from the first batch to the findings
 * committed (analytics_flush), generation excluded. Also the mappings: one per device,
 * persisted (batched) and committed.
 * The burst's time is mostly parsing the records (JSON lines), the same in both runs; the
 * difference is what persisting costs. Process CPU time is reported next to wall time: on a
 * shared machine the wall clock measures the neighbours too.
 * Figures: analytics.evidence.findings (per run), analytics.evidence.{baseline,persisted}_cpu_ms
 * and _wall_ms, analytics.evidence.overhead_cpu_percent, analytics.evidence.mappings_per_s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analytics/analytics.h"
#include "base/err.h"
#include "bench.h"
#include "crypto/seal.h"
#include "store/store.h"
#include "subscriber/subscriber.h"

#define DEVICES 4000
#define FLOWS   120 /* per device in the flood window: above the per-device flood rule */
#define BATCH   10000
#define T0      1700000040.0

static const struct seal_kek kek = {.id = 1, .key = {5, 5, 5}};

struct burst {
    char **batches;
    size_t *lens, n;
};

static void burst_free(struct burst *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->batches[i]);
    free(b->batches);
    free(b->lens);
}

/* The flood window's records in batches of BATCH, then one record of the next window. */
static int burst_make(struct burst *b)
{
    size_t total = (size_t)DEVICES * FLOWS + 1, nb = (total + BATCH - 1) / BATCH;
    b->batches = calloc(nb, sizeof(char *));
    b->lens = calloc(nb, sizeof(size_t));
    if (b->batches == NULL || b->lens == NULL)
        return -1;
    for (size_t r = 0; r < total; r++) {
        size_t bi = r / BATCH;
        if (b->batches[bi] == NULL && (b->batches[bi] = malloc(BATCH * 112)) == NULL)
            return -1;
        b->n = bi + 1;
        unsigned dev = (unsigned)(r % DEVICES);
        double ts = r + 1 == total ? T0 + 61 : T0 + (double)(r / DEVICES) * 0.4;
        b->lens[bi] += (size_t)snprintf(b->batches[bi] + b->lens[bi], 112,
                                        "{\"ts\":%.1f,\"src\":\"10.%u.%u.%u\",\"dst\":"
                                        "\"203.0.113.5\",\"proto\":\"udp\"}\n",
                                        ts, 1 + dev / 65536, (dev / 256) % 256, dev % 256);
    }
    return 0;
}

struct run {
    double ingest_s, ingest_cpu_s, map_s;
    uint64_t findings;
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_run(const char *dir, bool persist, const struct burst *b, struct run *out)
{
    char key[300], db[300];
    snprintf(key, sizeof(key), "%s/%s.key", dir, persist ? "p" : "m");
    snprintf(db, sizeof(db), "%s/db", dir);
    struct store *s = NULL;
    if (persist) {
        static const struct store_migration m[] = {
            {1, "subscriber", SUBSCRIBER_MIGRATION_1, NULL},
            {9, "analytics", ANALYTICS_MIGRATION_1, NULL},
            {19, "analytics mud", ANALYTICS_MIGRATION_MUD, NULL},
            {23, "subscriber deks", SUBSCRIBER_MIGRATION_DEKS, SUBSCRIBER_MIGRATION_DEKS_PG}};
        struct store_options opt;
        store_options_init(&opt);
        opt.migrations = m;
        opt.migration_count = 4;
        if (store_open(db, &opt, &s) != IOTSEC_OK)
            return -1;
    }
    struct analytics_options o = {
        .window_s = 60, .key_path = key, .kek = &kek, .store = s, .max_records = BATCH};
    char err[256];
    struct analytics *a = analytics_new(&o, err, sizeof(err));
    if (a == NULL) {
        store_close(s);
        return -1;
    }
    double t = bench_now();
    for (unsigned dev = 0; dev < DEVICES; dev++) {
        char supi[32], ip[32];
        snprintf(supi, sizeof(supi), "imsi-00101%010u", dev);
        snprintf(ip, sizeof(ip), "10.%u.%u.%u", 1 + dev / 65536, (dev / 256) % 256, dev % 256);
        if (analytics_session(a, supi, ip, true, "fleet") != IOTSEC_OK)
            return -1;
    }
    analytics_flush(a);
    out->map_s = bench_now() - t;
    out->findings = 0;
    t = bench_now();
    double c = cpu_now();
    for (size_t i = 0; i < b->n; i++) {
        struct analytics_batch_result r;
        if (analytics_ingest_text(a, AN_FMT_JSONL, b->batches[i], b->lens[i], &r) != IOTSEC_OK)
            return -1;
        out->findings += r.findings;
    }
    analytics_flush(a); /* committed */
    out->ingest_s = bench_now() - t;
    out->ingest_cpu_s = cpu_now() - c;
    analytics_free(a);
    store_close(s);
    return 0;
}

int bench_evidence(void)
{
    char dir[] = "/tmp/iotsec-bench-evidence-XXXXXX";
    struct burst b = {0};
    struct run mem, disk;
    int rc = -1;
    if (mkdtemp(dir) == NULL)
        return 1;
    if (burst_make(&b) == 0 && one_run(dir, false, &b, &mem) == 0 &&
        one_run(dir, true, &b, &disk) == 0 && disk.findings == mem.findings &&
        disk.findings >= DEVICES) {
        bench_report("analytics.evidence.findings", (double)disk.findings, "findings", 1);
        bench_report("analytics.evidence.baseline_cpu_ms", 1e3 * mem.ingest_cpu_s, "ms", 1);
        bench_report("analytics.evidence.persisted_cpu_ms", 1e3 * disk.ingest_cpu_s, "ms", 1);
        bench_report("analytics.evidence.baseline_wall_ms", 1e3 * mem.ingest_s, "ms", 1);
        bench_report("analytics.evidence.persisted_wall_ms", 1e3 * disk.ingest_s, "ms", 1);
        bench_report("analytics.evidence.overhead_cpu_percent",
                     100.0 * (disk.ingest_cpu_s / mem.ingest_cpu_s - 1.0), "%", 1);
        bench_report("analytics.evidence.mappings_per_s", DEVICES / disk.map_s, "mappings/s", 1);
        rc = 0;
    } else {
        fprintf(stderr, "evidence: the run failed (%s)\n", store_errmsg());
    }
    burst_free(&b);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "evidence: could not remove %s\n", dir);
    return rc == 0 ? 0 : 1;
}
