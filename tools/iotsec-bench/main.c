/* iotsec-bench: reproducible benchmarks that print one JSON object per figure.
 *   iotsec-bench [aka|suci|sbi-auth|import|analytics|provision|northbound|location|evidence|
 *                 sbi-oauth|group|pin|pin-auth|pin-nb|pin-mem|console|flows|all|
 *                 sbi-cluster|sbi-import-auth|kek-rotate]
 *                [--seconds S]
 *                [--connections N] [--streams N] [--keep]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_sbi.h"

static int usage(void)
{
    fprintf(stderr, "usage: iotsec-bench [aka|suci|sbi-auth|import|analytics|provision|northbound|"
                    "location|evidence|sbi-oauth|group|pin|pin-auth|pin-nb|pin-mem|console|flows|"
                    "all|sbi-cluster|sbi-import-auth|kek-rotate]\n"
                    "                    [--seconds S]\n"
                    "                    [--connections N] [--streams N] [--keep]\n"
                    "  --seconds      measured window (aka, suci: 2; sbi-auth: 10)\n"
                    "  --connections  HTTP/2 connections to the SBI face (4)\n"
                    "  --streams      concurrent authentications per connection (16)\n"
                    "  --keep         keep the daemon's temporary directory and log\n"
                    "  --postgresql URL  sbi-auth and import again with the daemon's store on\n"
                    "                 PostgreSQL (a database per daemon is created there);\n"
                    "                 sbi-cluster (needs it): 1 then 2 instances on one database\n"
                    "  --import-only  import: the import alone, no authentications after it\n"
                    "  --subscribers N  sbi-auth: subscribers imported and drawn from (100000);\n"
                    "                 fewer reach steady state sooner (bench-instructions)\n"
                    "  --no-subscription-cache  SBI daemons without the subscription cache\n"
                    "                 (figures named nocache.*)\n"
                    "  analytics: --devices N (100000)  --records N (2000000)\n"
                    "             --engine-only  the engine alone (no naive, no benign suite)\n"
                    "  provision: --devices N (4000 per phase)  --activations N (100000)\n");
    return 2;
}

static int count_arg(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v == 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *group = "all", *pg_url = NULL;
    double seconds = 0;
    struct bench_sbi_opts sbi = {.connections = 4, .streams = 16};
    struct bench_analytics_opts an = {.devices = 100000, .records = 2000000};
    struct bench_provision_opts prov = {.devices = 4000, .activations = 100000};
    int devices_given = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || seconds <= 0 || seconds > 600)
                return usage();
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            if (count_arg(argv[++i], 64, &sbi.connections) != 0)
                return usage();
        } else if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc) {
            if (count_arg(argv[++i], 128, &sbi.streams) != 0) /* the SBI's stream limit */
                return usage();
        } else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc) { /* analytics */
            if (count_arg(argv[++i], 50000000, &an.devices) != 0)
                return usage();
            devices_given = 1;
        } else if (strcmp(argv[i], "--engine-only") == 0) { /* analytics */
            an.engine_only = 1;
        } else if (strcmp(argv[i], "--activations") == 0 && i + 1 < argc) { /* provision */
            if (count_arg(argv[++i], 1000000, &prov.activations) != 0)
                return usage();
        } else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
            if (count_arg(argv[++i], 1000000000, &an.records) != 0)
                return usage();
        } else if (strcmp(argv[i], "--postgresql") == 0 && i + 1 < argc) {
            pg_url = argv[++i]; /* sbi-auth and import again, daemon on PostgreSQL */
        } else if (strcmp(argv[i], "--no-subscription-cache") == 0) {
            sbi_sub_cache_off = 1; /* the daemons read every subscription from the store */
        } else if (strcmp(argv[i], "--import-only") == 0) {
            sbi.import_only = 1; /* import: no authentications after it */
        } else if (strcmp(argv[i], "--subscribers") == 0 && i + 1 < argc) { /* sbi-auth */
            if (count_arg(argv[++i], 1000000, &sbi.subscribers) != 0 || sbi.subscribers == 0)
                return usage();
        } else if (strcmp(argv[i], "--keep") == 0) {
            sbi.keep = 1;
        } else if (argv[i][0] != '-') {
            group = argv[i];
        } else {
            return usage();
        }
    }
    static const char *const groups[] = {"all",       "aka",       "suci",      "sbi-auth",
                                         "import",    "analytics", "provision", "northbound",
                                         "location",  "evidence",  "sbi-oauth", "group",
                                         "pin",       "console",   "flows",     "sbi-cluster",
                                         "pin-auth",  "pin-nb",    "pin-mem",   "sbi-import-auth",
                                         "kek-rotate"};
    int g = 0;
    const int n_groups = (int)(sizeof(groups) / sizeof(groups[0]));
    while (g < n_groups && strcmp(group, groups[g]) != 0)
        g++;
    if (g == n_groups)
        return usage();
    if (devices_given && an.devices <= 1000000)
        prov.devices = an.devices; /* --devices also sizes the provisioning fleets */
    prov.keep = sbi.keep;
    sbi.seconds = seconds > 0 ? seconds : 10.0;
    if (seconds <= 0)
        seconds = 2.0;
    int rc = 0;
    if (g == 0 || g == 1)
        rc |= bench_aka(seconds);
    if (g == 0 || g == 2)
        rc |= bench_suci(seconds);
    if (g == 0 || g == 3)
        rc |= bench_sbi_auth(&sbi);
    if (g == 0 || g == 4)
        rc |= bench_import(&sbi);
    if (pg_url != NULL && (g == 0 || g == 3 || g == 4)) {
        /* The same figures with the daemon's store on PostgreSQL, named pg.* */
        sbi_pg_admin_url = pg_url;
        sbi_report_prefix = "pg.";
        if (g == 0 || g == 3)
            rc |= bench_sbi_auth(&sbi);
        if (g == 0 || g == 4)
            rc |= bench_import(&sbi);
        sbi_report_prefix = "";
        sbi_pg_admin_url = NULL;
    }
    if (g == 20) /* not in "all": a 300k-row import and two rotations */
        rc |= bench_kek_rotate(&sbi);
    if (g == 19) /* not in "all": a 1M-row import, a minute or more */
        rc |= bench_sbi_import_auth(&sbi);
    if (g == 15) { /* not in "all": it needs a PostgreSQL server */
        sbi_pg_admin_url = pg_url;
        sbi_report_prefix = "pg.";
        rc |= bench_sbi_cluster(&sbi);
        sbi_report_prefix = "";
        sbi_pg_admin_url = NULL;
    }
    if (g == 0 || g == 5)
        rc |= bench_analytics(&an);
    if (g == 0 || g == 6)
        rc |= bench_provision(&prov);
    if (g == 0 || g == 7)
        rc |= bench_northbound(&sbi);
    if (g == 0 || g == 8)
        rc |= bench_location(seconds);
    if (g == 0 || g == 9)
        rc |= bench_evidence();
    if (g == 0 || g == 10)
        rc |= bench_sbi_oauth(&sbi);
    if (g == 0 || g == 11)
        rc |= bench_group(seconds);
    if (g == 0 || g == 12)
        rc |= bench_pin(seconds, PIN_BENCH_ALL);
    if (g >= 16 && g <= 18) /* one part of pin */
        rc |= bench_pin(seconds, g == 16 ? PIN_BENCH_AUTH : g == 17 ? PIN_BENCH_NB : PIN_BENCH_MEM);
    if (g == 0 || g == 13)
        rc |= bench_console(&sbi);
    if (g == 0 || g == 14)
        rc |= bench_flows(seconds);
    return rc ? 1 : 0;
}
