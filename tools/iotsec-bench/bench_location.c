/* iotsec-bench location: UE location events processed per second, in-process over the
 * location capability's API (location.h) and the notification queue (http/outbound.h): no HTTP and
 * no network (the SBI decoding and the AF's HTTPS are measured elsewhere). Figures:
 *   location_events_baseline       events of devices with no area and no subscriber
 *   location_events_area_fanout    every device restricted to 8 cells (a fifth of the events
 *                                  land outside and raise UNEXPECTED_UE_LOCATION) and watched by
 *                                  one T8 subscription, whose watch builds the
 *                                  MonitoringNotification body and queues it (the delivery
 *                                  thread's gate refuses them, so nothing goes on the wire: the
 *                                  event path is what is measured)
 *   location_events_area_fanout2   the same with two subscriptions per device (two AFs)
 *   location_events_history        the baseline's events, each fix also kept in the location
 *                                  history (location.h): collected per notification of 100
 *                                  reports and handed to the store's writer as one job, as the
 *                                  SBI handler does (SQLite, a temporary file, synchronous=FULL);
 *                                  location_events_history_vs_baseline in percent of
 *                                  location_events_baseline_warm (the baseline again, on the
 *                                  device table the first run filled), and
 *                                  location_history_written_share: the fixes the writer kept up
 *                                  with (the rest were dropped at a full queue; counted), and
 *                                  the process's CPU time per event (every thread, the writer
 *                                  included) for both: the cost whatever the cores' contention
 * Target (issue 5): >= 100,000 events/s with the area check and the fan-out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "expose/t8_int.h" /* the watch's own encoder, t8_location_note: what T8 runs */
#include "location/location.h"
#include "store/store.h"
#include <sys/resource.h>
#include <unistd.h>

#define DEVICES 100000

struct run {
    struct location *loc;
    struct outbound *notify;
    char (*supi)[24];
    int64_t t0;
    uint64_t findings;
};

static int ingest(void *arg, uint64_t i)
{
    struct run *r = arg;
    struct ue_event ev = {.kind = UE_EV_LOCATION_REPORT,
                          .has_tai = true,
                          .has_ncgi = true,
                          .time_ms = r->t0 + (int64_t)i};
    memcpy(ev.supi, r->supi[i % DEVICES], sizeof(r->supi[0]));
    strcpy(ev.tai.plmn, "00101");
    ev.tai.tac = 1;
    strcpy(ev.ncgi.plmn, "00101");
    ev.ncgi.nr_cell_id = 0x100 + (i % 10); /* cells 0x100..0x109: 0x108, 0x109 are outside */
    return location_ingest(r->loc, &ev) == 0 ? 0 : 1;
}

/* What a T8 subscription's watch does (t8.c on_event): the MonitoringNotification body
 * for this AF, queued for delivery. */
static void watch_fn(void *ctx, const struct ue_event *ev, const struct location_finding *f)
{
    struct run *r = ctx;
    static const struct t8_request rq = {.type = T8_LOCATION_REPORTING, .accuracy = T8_GRAN_CELL};
    char body[T8_NOTE_MAX];
    int len = t8_location_note(body, sizeof(body),
                               "https://nef.example/3gpp-monitoring-event/v1/af-1/subscriptions/"
                               "0123456789abcdef0123456789abcdef",
                               &rq, T8_GRAN_CELL, "ab3kq7c2mz5xw4r6t8y9u2i3o4p5a6s7@ext.example",
                               ev, ev->time_ms, f ? f->cause : NULL);
    if (f)
        r->findings++;
    if (len > 0)
        outbound_post(r->notify, "https://af.example/notify", "af-1/sub", body, (size_t)len, NULL);
}

#define HIST_BATCH 100 /* reports per notification */

/* CPU seconds of the whole process so far (every thread: the store's writer too). */
static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
           ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec) / 1e6;
}

struct hist_run {
    struct run *r;
    struct location_history *h;
    struct location_fix *batch;
    size_t n;
};

static int ingest_history(void *arg, uint64_t i)
{
    struct hist_run *hr = arg;
    struct run *r = hr->r;
    struct ue_event ev = {.kind = UE_EV_LOCATION_REPORT,
                          .has_tai = true,
                          .has_ncgi = true,
                          .time_ms = r->t0 + (int64_t)i};
    memcpy(ev.supi, r->supi[i % DEVICES], sizeof(r->supi[0]));
    strcpy(ev.tai.plmn, "00101");
    ev.tai.tac = 1;
    strcpy(ev.ncgi.plmn, "00101");
    ev.ncgi.nr_cell_id = 0x100 + (i % 10);
    bool is_fix;
    enum loc_fix_check check;
    const char *cause;
    if (location_ingest_fix(r->loc, &ev, &is_fix, &check, &cause) != 0)
        return 1;
    if (hr->batch == NULL && (hr->batch = malloc(HIST_BATCH * sizeof(*hr->batch))) == NULL)
        return 1;
    struct location_fix *f = &hr->batch[hr->n++];
    memcpy(f->supi, ev.supi, sizeof(f->supi));
    f->time_ms = ev.time_ms;
    f->has_tai = f->has_ncgi = true;
    f->tai = ev.tai;
    f->ncgi = ev.ncgi;
    f->check = check;
    f->cause = cause;
    if (hr->n == HIST_BATCH) {
        location_history_submit(hr->h, hr->batch, hr->n); /* takes the batch */
        hr->batch = NULL;
        hr->n = 0;
    }
    return 0;
}

/* The history's write cost on the ingest path, against the baseline of the same run. */
static int bench_history(struct run *r, double seconds, double base, double base_cpu_us)
{
    char dir[] = "/tmp/iotsec-bench-history-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/h.db", dir);
    static const struct store_migration m[] = {
        {32, "location: a bounded history of fixes per device", LOCATION_MIGRATION_HISTORY, NULL}};
    struct store_options opt;
    store_options_init(&opt);
    opt.migrations = m;
    opt.migration_count = 1;
    struct store *st = NULL;
    struct location_history_config hc = {LOC_HISTORY_MAX_FIXES_DEFAULT, LOC_HISTORY_DAYS_DEFAULT};
    struct hist_run hr = {.r = r};
    if (store_open(path, &opt, &st) != 0 || location_history_new(st, &hc, &hr.h) != 0) {
        fprintf(stderr, "bench location: history store setup failed\n");
        store_close(st);
        return 1;
    }
    r->t0 += 1000000000;
    double c0 = cpu_s();
    double rate = bench_rate("location history", ingest_history, &hr, seconds);
    free(hr.batch);
    store_close(st); /* waits for every queued write: its CPU counts */
    double cpu_us = rate > 0 ? 1e6 * (cpu_s() - c0) / (rate * seconds) : 0;
    struct location_history_metrics hm;
    location_history_metrics_get(hr.h, &hm);
    location_history_free(hr.h);
    bench_report("location_events_history", rate, "events/s", 1);
    bench_report("location_events_history_vs_baseline", 100 * rate / base, "percent", 1);
    double share = hm.written + hm.dropped
                       ? 100.0 * (double)hm.written / (double)(hm.written + hm.dropped)
                       : 0;
    bench_report("location_history_written_share", share, "percent", 1);
    bench_report("location_cpu_ns_per_event_baseline", 1000 * base_cpu_us, "ns", 1);
    bench_report("location_cpu_ns_per_event_history", 1000 * cpu_us, "ns", 1);
    fprintf(stderr, "  (history: %llu fixes written, %llu dropped at a full writer queue)\n",
            (unsigned long long)hm.written, (unsigned long long)hm.dropped);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 0;
}

static bool refuse_all(void *ctx, const char *owner, struct outbound_rules *rules)
{
    (void)ctx;
    (void)owner;
    (void)rules;
    return false;
}

int bench_location(double seconds)
{
    struct run r = {.t0 = 1763881200000LL};
    r.supi = calloc(DEVICES, sizeof(*r.supi));
    struct location_config lc = {.max_devices = DEVICES * 2, .max_watches = DEVICES * 2};
    struct outbound_config nc = {.queue_max = 100000, .check = refuse_all};
    if (r.supi == NULL || location_new(&lc, &r.loc) != 0 || outbound_new(&nc, &r.notify) != 0) {
        fprintf(stderr, "bench location: setup failed\n");
        return 1;
    }
    for (int i = 0; i < DEVICES; i++)
        snprintf(r.supi[i], sizeof(r.supi[i]), "imsi-00101%010d", i);
    fprintf(stderr, "location (in-process, %d devices, one thread):\n", DEVICES);
    double base = bench_rate("location baseline", ingest, &r, seconds);
    bench_report("location_events_baseline", base, "events/s", 1);
    /* The history against the baseline on a warm device table (the first run created the
     * 100,000 states), measured right before it. */
    r.t0 += 1000000000;
    double c0 = cpu_s();
    double warm = bench_rate("location baseline (warm)", ingest, &r, seconds);
    double warm_cpu_us = warm > 0 ? 1e6 * (cpu_s() - c0) / (warm * seconds) : 0;
    bench_report("location_events_baseline_warm", warm, "events/s", 1);
    if (bench_history(&r, seconds, warm, warm_cpu_us) != 0)
        return 1;

    struct ncgi cells[8];
    for (int c = 0; c < 8; c++) {
        strcpy(cells[c].plmn, "00101");
        cells[c].nr_cell_id = 0x100 + (uint64_t)c;
    }
    struct loc_area area = {.kind = LOC_AREA_CELLS, .n = 8, .cells = cells};
    static const char *const names[] = {"location_events_area_fanout",
                                        "location_events_area_fanout2"};
    for (int subs = 1; subs <= 2; subs++) {
        for (int i = 0; i < DEVICES; i++) {
            uint8_t key[LOC_KEY_LEN];
            uint64_t id;
            location_device_key(r.loc, r.supi[i], key);
            if ((subs == 1 && location_set_area(r.loc, r.supi[i], &area) != 0) ||
                location_watch(r.loc, key, 1u << UE_EV_LOCATION_REPORT | LOC_WATCH_FINDING,
                               watch_fn, &r, &id) != 0) {
                fprintf(stderr, "bench location: area/watch setup failed\n");
                return 1;
            }
        }
        r.t0 += 1000000000; /* later than every event so far: none is stale */
        double fan = bench_rate(names[subs - 1], ingest, &r, seconds);
        bench_report(names[subs - 1], fan, "events/s", 1);
    }
    struct outbound_metrics m;
    outbound_metrics_get(r.notify, &m);
    fprintf(stderr,
            "  (%llu findings, %llu notifications queued, %llu taken by the delivery "
            "thread, %llu still queued, %llu dropped as the queue filled)\n",
            (unsigned long long)r.findings, (unsigned long long)m.queued,
            (unsigned long long)m.stopped, (unsigned long long)m.in_queue,
            (unsigned long long)m.dropped_full);
    outbound_free(r.notify);
    location_free(r.loc);
    free(r.supi);
    return 0;
}
