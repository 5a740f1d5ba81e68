/* kek-rotate: KEK rotation's cost, in one run on one daemon. 5G AKA/s over the SBI without a
 * rotation, then while every sealed row (a data key per subscription) is re-wrapped under a
 * new KEK; the re-wrap's rows/s under that load, and again on an idle daemon (a second
 * rotation). Figures kek.*. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench_sbi.h"
#include "h2client.h"

#define KEK_SUBSCRIBERS 300000u /* rows to re-wrap: long enough to outlast the load window */
#define KEK_AUTH_SUBS   20000u  /* the ones authenticating */

struct answer {
    int done, status;
    char body[8192];
};

static void answered(void *user, int status, const char *body, size_t len)
{
    struct answer *a = user;
    a->done = 1, a->status = status;
    snprintf(a->body, sizeof(a->body), "%.*s", (int)len, body);
}

static int admin(const struct sbi_daemon *d, const char *method, const char *path, struct answer *a)
{
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c *c = loop ? sbi_admin_connect(d, loop, sizeof(a->body)) : NULL;
    memset(a, 0, sizeof(*a));
    if (c && h2c_submit(c, method, path, NULL, NULL, 0, answered, a) == 0) {
        double deadline = bench_now() + 30;
        while (!a->done && bench_now() < deadline && h2c_loop_run(loop, 100) >= 0)
            ;
    }
    h2c_loop_free(loop);
    return a->done ? a->status : -1;
}

/* Waits for the rotation to finish; its re-wrap rate (rows/s of the pass) and rows. */
static int settle(const struct sbi_daemon *d, double *rate, long long *rows)
{
    for (int i = 0; i < 3000; i++) {
        struct answer a;
        if (admin(d, "GET", "/admin/v1/keys/kek", &a) != 200)
            return -1;
        json_t *st = json_loads(a.body, 0, NULL);
        int busy = json_is_true(json_object_get(st, "running")) ||
                   json_is_true(json_object_get(st, "rotating"));
        *rate = json_real_value(json_object_get(st, "rowsPerSecond"));
        *rows = json_integer_value(json_object_get(st, "rewrapped"));
        json_decref(st);
        if (!busy)
            return 0;
        usleep(100000);
    }
    return -1;
}

int bench_kek_rotate(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    double s = 0, rate_load = 0, rate_idle = 0;
    long long rows_load = 0, rows_idle = 0;
    fprintf(stderr, "kek-rotate: %u subscriptions; 5G AKA without and during a KEK rotation\n",
            KEK_SUBSCRIBERS);
    int rc = sbi_daemon_start(&d);
    if (rc == 0)
        rc = sbi_import(&d, KEK_SUBSCRIBERS, &s);
    struct sbi_load_opts lo = {.kind = SBI_LOAD_AUTH,
                               .connections = o->connections,
                               .streams = o->streams,
                               .subscribers = KEK_AUTH_SUBS,
                               .warmup_s = 1.0,
                               .seconds = o->seconds > 4 ? 4 : o->seconds};
    struct sbi_load_result base, during;
    if (rc == 0) /* every authenticating subscriber's SQN block reserved first */
        rc = sbi_load_run(&d, &lo, &base);
    if (rc == 0)
        rc = sbi_load_run(&d, &lo, &base);
    struct answer a;
    double t0 = bench_now();
    if (rc == 0 && admin(&d, "POST", "/admin/v1/keys/kek/rotate", &a) != 202) {
        fprintf(stderr, "kek-rotate: rotation refused: %d %s\n", a.status, a.body);
        rc = -1;
    }
    if (rc == 0)
        rc = sbi_load_run(&d, &lo, &during);
    double load_end = bench_now();
    if (rc == 0)
        rc = settle(&d, &rate_load, &rows_load);
    double t1 = bench_now();
    fprintf(stderr, "kek-rotate: the rotation took %.2f s (the load ran %.2f s of it)%s\n", t1 - t0,
            load_end - t0,
            t1 < load_end ? ": it ended before the load window, AKA/s mixes both" : "");
    if (rc == 0 && admin(&d, "POST", "/admin/v1/keys/kek/rotate", &a) != 202)
        rc = -1;
    if (rc == 0)
        rc = settle(&d, &rate_idle, &rows_idle);
    if (rc == 0) {
        sbi_report("kek.auth_without_rotation", (double)base.ok / base.elapsed_s, "per_s", 0);
        sbi_report("kek.auth_during_rotation", (double)during.ok / during.elapsed_s, "per_s", 0);
        sbi_report("kek.auth_without_rotation.p99", base.p99_ms, "ms", 2);
        sbi_report("kek.auth_during_rotation.p99", during.p99_ms, "ms", 2);
        sbi_report("kek.auth_during_rotation.failed", (double)during.failed, "count", 0);
        sbi_report("kek.rewrap_rows_per_s_under_load", rate_load, "per_s", 0);
        sbi_report("kek.rewrap_rows_per_s_idle", rate_idle, "per_s", 0);
        fprintf(stderr, "kek-rotate: %lld and %lld rows re-wrapped\n", rows_load, rows_idle);
    }
    int status = sbi_daemon_stop(&d);
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = -1;
    if (d.dir[0])
        sbi_daemon_log_tail(&d, rc ? 20 : 3);
    sbi_daemon_cleanup(&d, o->keep);
    return rc ? 1 : 0;
}
