/* What /proc says about the daemon (and us): resident memory, CPU time; and its log. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_sbi.h"

/* A "Name:  value kB" line of /proc/PID/status, in MiB. */
static double status_mib(const struct sbi_daemon *d, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
    FILE *f = fopen(path, "r");
    double kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, flen) == 0) {
            kib = strtod(line + flen, NULL);
            break;
        }
    }
    fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

double sbi_daemon_status_mib(const struct sbi_daemon *d, const char *field)
{
    return status_mib(d, field);
}

double sbi_daemon_rss_mib(const struct sbi_daemon *d)
{
    return status_mib(d, "VmRSS:");
}

double sbi_daemon_peak_mib(const struct sbi_daemon *d)
{
    return status_mib(d, "VmHWM:");
}

int sbi_daemon_threads(const struct sbi_daemon *d)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)d->pid);
    DIR *dir = opendir(path);
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir)) != NULL;)
        n += e->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

/* Fields 14 and 15 of a /proc stat file (utime, stime, in clock ticks), counted after the
 * command name's closing parenthesis since the name may hold spaces. */
static double stat_cpu_seconds(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double pid_cpu_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return stat_cpu_seconds(path);
}

/* Every CPU's busy time (all but idle and iowait) from the first line of /proc/stat. */
static double machine_busy_seconds(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return 0;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* Adds sign x each daemon thread's CPU seconds into c; threads not seen before join only
 * when add_new (a thread born during the window is not worth the bookkeeping). */
static void threads_add(struct sbi_cpu *c, pid_t daemon, double sign, int add_new)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)daemon);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        if (tid <= 0)
            continue;
        unsigned i = 0;
        while (i < c->threads && c->tid[i] != tid)
            i++;
        if (i == c->threads && (!add_new || c->threads == SBI_THREADS_MAX))
            continue;
        if (i == c->threads)
            c->tid[c->threads++] = tid;
        char tp[96];
        snprintf(tp, sizeof(tp), "/proc/%d/task/%d/stat", (int)daemon, tid);
        c->thread_s[i] += sign * stat_cpu_seconds(tp);
    }
    if (d)
        closedir(d);
}

void sbi_cpu_begin(struct sbi_cpu *c, pid_t daemon)
{
    pid_t peer = c->peer;
    memset(c, 0, sizeof(*c));
    c->peer = peer;
    c->peer_s = peer > 0 ? -pid_cpu_seconds(peer) : 0;
    c->client_s = -pid_cpu_seconds(getpid());
    c->daemon_s = -pid_cpu_seconds(daemon);
    c->machine_s = -machine_busy_seconds();
    threads_add(c, daemon, -1, 1);
}

void sbi_cpu_end(struct sbi_cpu *c, pid_t daemon)
{
    c->client_s += pid_cpu_seconds(getpid());
    c->daemon_s += pid_cpu_seconds(daemon);
    if (c->peer > 0)
        c->peer_s += pid_cpu_seconds(c->peer);
    c->machine_s += machine_busy_seconds();
    threads_add(c, daemon, +1, 0);
}

void sbi_cpu_print(const char *what, const struct sbi_cpu *c, double seconds)
{
    if (seconds <= 0)
        return;
    double other = c->machine_s - c->client_s - c->daemon_s - c->peer_s;
    if (c->peer > 0)
        fprintf(stderr, "sbi: %s: second daemon %.0f%% of one core\n", what,
                100 * c->peer_s / seconds);
    fprintf(stderr,
            "sbi: %s: CPU in %.1f s, as %% of one core (the machine has %d00%%): client "
            "%.0f%%, daemon %.0f%%, other processes %.0f%%, idle %.0f%%\n",
            what, seconds, sbi_cores(), 100 * c->client_s / seconds, 100 * c->daemon_s / seconds,
            other > 0 ? 100 * other / seconds : 0,
            100 * (sbi_cores() * seconds - c->machine_s) / seconds);
    fprintf(stderr, "sbi:   daemon threads:");
    for (unsigned i = 0; i < c->threads; i++)
        if (c->thread_s[i] >= 0.005 * seconds)
            fprintf(stderr, " %d:%.0f%%", c->tid[i], 100 * c->thread_s[i] / seconds);
    fprintf(stderr, " (the others under 0.5%%)\n");
}

void sbi_daemon_log_tail(const struct sbi_daemon *d, int lines)
{
    FILE *f = fopen(d->log, "r");
    if (f == NULL)
        return;
    char **ring = calloc((size_t)lines, sizeof(*ring));
    char line[1024];
    unsigned long total = 0, warn = 0, err = 0;
    while (ring && fgets(line, sizeof(line), f)) {
        warn += strstr(line, "\"level\":\"warn\"") != NULL;
        err += strstr(line, "\"level\":\"error\"") != NULL;
        free(ring[total % (unsigned long)lines]);
        ring[total % (unsigned long)lines] = strdup(line);
        total++;
    }
    fclose(f);
    fprintf(stderr, "sbi: daemon log: %lu lines, %lu warn, %lu error%s\n", total, warn, err,
            total ? "; last lines:" : "");
    unsigned long first = total > (unsigned long)lines ? total - (unsigned long)lines : 0;
    for (unsigned long i = first; ring && i < total; i++)
        fprintf(stderr, "  %s",
                ring[i % (unsigned long)lines] ? ring[i % (unsigned long)lines]
                                               : "(out of memory)\n");
    for (int i = 0; ring && i < lines; i++)
        free(ring[i]);
    free(ring);
}

int sbi_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void sbi_report(const char *name, double value, const char *unit, int decimals)
{
    const char *off = sbi_sub_cache_off ? "nocache." : "";
    printf("{\"bench\":\"%s%s%s\",\"value\":%.*f,\"unit\":\"%s\",\"cores\":%d}\n",
           sbi_report_prefix, off, name, decimals, value, unit, sbi_cores());
    fflush(stdout);
    fprintf(stderr, "  %s%s%-36s %14.*f %s\n", sbi_report_prefix, off, name, decimals, value, unit);
}
