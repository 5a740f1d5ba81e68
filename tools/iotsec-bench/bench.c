#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_report(const char *name, double value, const char *unit, int cores)
{
    printf("{\"bench\":\"%s\",\"value\":%.0f,\"unit\":\"%s\",\"cores\":%d}\n", name, value, unit,
           cores);
    fflush(stdout);
    fprintf(stderr, "  %-36s %14.0f %s\n", name, value, unit);
}

double bench_rate(const char *what, bench_op fn, void *arg, double seconds)
{
    uint64_t i = 0;
    double warm_end = bench_now() + seconds / 10;
    while (bench_now() < warm_end) {
        if (fn(arg, i++) != 0) {
            fprintf(stderr, "bench: %s failed during warm-up\n", what);
            exit(1);
        }
    }
    /* Check the clock every 1024 operations so timing does not dominate. */
    uint64_t ops = 0;
    double start = bench_now(), end = start + seconds, t = start;
    while (t < end) {
        for (int k = 0; k < 1024; k++) {
            if (fn(arg, i++) != 0) {
                fprintf(stderr, "bench: %s failed\n", what);
                exit(1);
            }
        }
        ops += 1024;
        t = bench_now();
    }
    return (double)ops / (t - start);
}
