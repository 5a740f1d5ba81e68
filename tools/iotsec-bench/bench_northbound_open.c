/* Open-loop load on the northbound face: GETs at a fixed offered rate over HTTP/2, whatever
 * the answers' pace (a closed loop of N requests in flight measures the queue N makes: its p99
 * at saturation is a property of the client's concurrency). Request k is due at start + k/rate
 * and its latency runs from that due time, not from when it was sent, so a stall of the
 * daemon (or of this client) counts for every request it delayed (no coordinated omission).
 * The requests in flight are bounded by connections x depth slots; a due request without a
 * free slot waits for one, its wait counted; one of the window not answered by the end of the
 * drain, or never sent, is a failure. The latency histogram stops at 1 s (sbi_hist). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_northbound.h"
#include "h2client.h"

#define DRAIN_S 1.0 /* after the window, how long requests still out may take */

struct open_run {
    struct nb_result *r;
    struct sbi_hist hist;
    double from, until; /* the measured window, by due time */
    struct open_req **free_slots;
    size_t n_free;
    size_t out;   /* in flight */
    bool stopped; /* the connections are being aborted: answers no longer count */
};

struct open_req {
    struct open_run *run;
    struct h2c *c;
    double due;
};

static void open_done(void *user, int status, const char *body, size_t len)
{
    (void)body, (void)len;
    struct open_req *q = user;
    struct open_run *run = q->run;
    double t = bench_now();
    if (run->stopped)
        return;
    if (q->due >= run->from && q->due < run->until) {
        if (status == 200) {
            run->r->ok++;
            sbi_hist_add(&run->hist, t - q->due);
        } else
            run->r->failed++;
    }
    run->out--;
    run->free_slots[run->n_free++] = q;
}

int nb_load_h2_open(const struct sbi_daemon *d, const struct nb_load *l, double rate,
                    struct nb_result *r)
{
    memset(r, 0, sizeof(*r));
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = l->port,
                             .ca_file = l->ca,
                             .cert_file = l->cert,
                             .key_file = l->key,
                             .max_streams = l->depth,
                             .max_response = 1024,
                             .max_request = 64,
                             .authorization = l->authorization};
    size_t slots = (size_t)l->connections * l->depth;
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c **cs = calloc(l->connections, sizeof(*cs));
    struct open_req *qs = calloc(slots, sizeof(*qs));
    struct open_run run = {.r = r, .free_slots = calloc(slots, sizeof(struct open_req *))};
    int rc = loop && cs && qs && run.free_slots && sbi_hist_init(&run.hist) == 0 ? 0 : -1;
    char err[256];
    for (unsigned i = 0; i < l->connections && rc == 0; i++) {
        if ((cs[i] = h2c_connect(loop, &cfg, err, sizeof(err))) == NULL) {
            fprintf(stderr, "northbound: h2 connect: %s\n", err);
            rc = -1;
        }
        for (unsigned s = 0; s < l->depth && rc == 0; s++) {
            qs[i * l->depth + s].run = &run;
            qs[i * l->depth + s].c = cs[i];
        }
    }
    /* the free slots interleaved across connections, so the load spreads over all of them */
    for (size_t i = 0; rc == 0 && i < slots; i++)
        run.free_slots[run.n_free++] = &qs[(i % l->connections) * l->depth + i / l->connections];
    double start = bench_now(), next = start, step = 1.0 / rate;
    run.from = start + l->warmup_s;
    run.until = run.from + l->seconds;
    bool measuring = false;
    uint64_t late = 0; /* due requests that found no free slot (the client's bound, not a loss) */
    while (rc == 0) {
        double now = bench_now();
        if (!measuring && now >= run.from) {
            measuring = true;
            sbi_cpu_begin(&r->cpu, d->pid);
        }
        if (now >= run.until + DRAIN_S || (now >= run.until && run.out == 0))
            break;
        /* every request due by now, while slots last */
        while (next <= now && next < run.until && run.n_free > 0) {
            struct open_req *q = run.free_slots[--run.n_free];
            q->due = next;
            next += step;
            if (h2c_submit(q->c, "GET", l->path, NULL, NULL, 0, open_done, q) != 0) {
                run.free_slots[run.n_free++] = q;
                if (q->due >= run.from && q->due < run.until)
                    r->failed++;
                continue;
            }
            run.out++;
        }
        bool due = next <= now && next < run.until;
        late += due && run.n_free == 0;
        if (h2c_loop_run(loop, due && run.n_free > 0 ? 0 : 1) <= 0) {
            fprintf(stderr, "northbound: every h2 connection broke\n");
            rc = -1;
        }
    }
    sbi_cpu_end(&r->cpu, d->pid);
    /* requests of the window still out after the drain: counted as failures */
    for (size_t i = 0; rc == 0 && i < slots; i++) {
        bool is_free = false;
        for (size_t j = 0; j < run.n_free && !is_free; j++)
            is_free = run.free_slots[j] == &qs[i];
        if (!is_free && qs[i].due >= run.from && qs[i].due < run.until)
            r->failed++;
    }
    /* and those of the window never sent (the client fell behind the schedule) */
    double unsent_from = next > run.from ? next : run.from;
    if (rc == 0 && unsent_from < run.until)
        r->failed += (uint64_t)((run.until - unsent_from) / step + 0.5);
    run.stopped = true;
    if (late)
        fprintf(stderr, "northbound: open loop: %llu loop turns found every slot busy\n",
                (unsigned long long)late);
    r->elapsed_s = l->seconds;
    r->p50_ms = sbi_hist_ms(&run.hist, 0.5);
    r->p99_ms = sbi_hist_ms(&run.hist, 0.99);
    for (unsigned i = 0; cs && i < l->connections; i++)
        if (cs[i]) {
            h2c_abort(cs[i]);
            h2c_close(cs[i]);
        }
    if (loop)
        h2c_loop_free(loop);
    sbi_hist_free(&run.hist);
    free(run.free_slots);
    free(cs);
    free(qs);
    return rc;
}
