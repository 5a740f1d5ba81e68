/* Hardware counters of the calling thread, user space only, through perf_event_open. */
#include "bench_pmu.h"

#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static int open_counter(uint32_t type, uint64_t config)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = type;
    a.config = config;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1, -1, 0);
}

static uint64_t value(int fd)
{
    uint64_t v = 0;
    if (fd >= 0 && read(fd, &v, sizeof(v)) != sizeof(v))
        v = 0;
    return v;
}

void bench_pmu_open(struct bench_pmu *p)
{
    memset(p, 0, sizeof(*p));
    p->fd[0] = open_counter(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES);
    p->fd[1] = open_counter(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS);
    p->fd[2] = open_counter(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES);
}

void bench_pmu_start(struct bench_pmu *p)
{
    for (int i = 0; i < 3; i++)
        p->at[i] = value(p->fd[i]);
}

void bench_pmu_stop(struct bench_pmu *p)
{
    for (int i = 0; i < 3; i++)
        p->sum[i] += value(p->fd[i]) - p->at[i];
}

void bench_pmu_report(struct bench_pmu *p, const char *prefix, double records)
{
    static const char *const what[3] = {"cycles_per_record", "instructions_per_record",
                                        "llc_misses_per_record"};
    char name[128];
    for (int i = 0; i < 3; i++) {
        if (p->fd[i] < 0 || records <= 0)
            continue;
        snprintf(name, sizeof(name), "%s.%s", prefix, what[i]);
        bench_report(name, (double)p->sum[i] / records, "per_record", 1);
    }
}

void bench_pmu_close(struct bench_pmu *p)
{
    for (int i = 0; i < 3; i++)
        if (p->fd[i] >= 0)
            close(p->fd[i]);
}
