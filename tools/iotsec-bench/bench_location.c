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
 * Target (issue 5): >= 100,000 events/s with the area check and the fan-out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "expose/t8_int.h" /* the watch's own encoder, t8_location_note: what T8 runs */
#include "location/location.h"

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
    struct ue_event ev = {.kind = UE_EV_LOCATION_REPORT, .has_tai = true, .has_ncgi = true,
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
                               "0123456789abcdef0123456789abcdef", &rq, T8_GRAN_CELL,
                               "ab3kq7c2mz5xw4r6t8y9u2i3o4p5a6s7@ext.example", ev,
                               ev->time_ms, f ? f->cause : NULL);
    if (f)
        r->findings++;
    if (len > 0)
        outbound_post(r->notify, "https://af.example/notify", "af-1/sub", body, (size_t)len, NULL);
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
