/* This thread's hardware counters (perf_event_open): cycles and instructions per record are
 * the figures that hold on a machine shared with other work, where records/s does not. */
#ifndef IOTSEC_BENCH_PMU_H
#define IOTSEC_BENCH_PMU_H

#include <stdint.h>

struct bench_pmu {
    int fd[3]; /* cycles, instructions, cache misses (last level); -1: not available */
    uint64_t sum[3];
    uint64_t at[3];
};

/* Opens the counters, stopped; a counter the kernel refuses stays -1 and reads 0. */
void bench_pmu_open(struct bench_pmu *p);
void bench_pmu_start(struct bench_pmu *p);
void bench_pmu_stop(struct bench_pmu *p); /* adds what ran since start to sum */
/* Reports <prefix>.cycles_per_record, .instructions_per_record, .llc_misses_per_record. */
void bench_pmu_report(struct bench_pmu *p, const char *prefix, double records);
void bench_pmu_close(struct bench_pmu *p);

#endif
