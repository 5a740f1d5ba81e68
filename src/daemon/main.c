/* iotsecd: the iotsec daemon.
 *   iotsecd init --dir DIR [--sbi ADDR:PORT] [--admin ADDR:PORT] [--sbi-h2c ADDR:PORT]
 *                [--northbound ADDR:PORT] [--device ADDR:PORT] [--mcc MCC --mnc MNC]
 *                [--san NAME|IP,...] [--postgresql URL]
 *   iotsecd run (--dir DIR | --config FILE)
 *   iotsecd restore --dir DIR --from FILE [--sqn-margin N]
 * --dir defaults to $IOTSEC_DIR.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "daemon/daemon.h"

#ifndef IOTSEC_VERSION
#define IOTSEC_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: iotsecd init --dir DIR [--sbi ADDR:PORT] [--admin ADDR:PORT]\n"
    "                    [--sbi-h2c ADDR:PORT] [--northbound ADDR:PORT]\n"
    "                    [--device ADDR:PORT] [--mcc MCC --mnc MNC]\n"
    "                    [--san NAME|IP[,NAME|IP...]] [--postgresql URL]\n"
    "       iotsecd run (--dir DIR | --config FILE)\n"
    "       iotsecd restore --dir DIR --from FILE [--sqn-margin N]\n"
    "       iotsecd --version | --help\n"
    "\n"
    "  init     creates an instance (configuration, KEK, PKI, SUCI keys) in DIR; with\n"
    "           --postgresql its store is that database (a libpq URI)\n"
    "  run      serves the instance until SIGTERM\n"
    "  restore  replaces the instance's database by a backup (iotsecctl backup) and moves every\n"
    "           SQN high-water mark forward by N SEQs (default 1000000); the daemon must be\n"
    "           stopped\n"
    "\n"
    "--dir defaults to $IOTSEC_DIR. See iotsecd(8) and docs/operations.md.\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static int is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0;
}

/* Reads --name VALUE pairs; returns 0 or prints usage. -h/--help prints it on stdout (1). */
static int flags(int argc, char **argv, const char **names, const char **values, int n)
{
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_text, stdout);
            return 1;
        }
        int k = 0;
        while (k < n && !(strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, names[k]) == 0))
            k++;
        if (k == n || i + 1 >= argc || values[k] != NULL) {
            fprintf(stderr, "iotsecd: unexpected, repeated or value-less argument '%.40s'\n",
                    argv[i]);
            usage();
            return 2;
        }
        values[k] = argv[++i];
    }
    return 0;
}

/* flags() then: 1 (help shown) -> exit 0, 2 -> exit 2. */
#define PARSE_OR_RETURN(argc, argv, names, v, n)                                                   \
    do {                                                                                           \
        int parsed_ = flags(argc, argv, names, v, n);                                              \
        if (parsed_ != 0)                                                                          \
            return parsed_ == 1 ? 0 : 2;                                                           \
    } while (0)

static int load(const char *dir, const char *config_file, struct config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], d[CONFIG_PATH_MAX];
    if (dir) {
        snprintf(d, sizeof(d), "%s", dir);
        snprintf(path, sizeof(path), "%s/iotsec.yaml", dir);
    } else {
        snprintf(path, sizeof(path), "%s", config_file);
        char copy[CONFIG_PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", config_file);
        snprintf(d, sizeof(d), "%s", dirname(copy));
    }
    char err[512];
    config_defaults(cfg, d);
    if (config_load(path, cfg, err, sizeof(err)) != IOTSEC_OK) {
        fprintf(stderr, "iotsecd: %s\n", err);
        return 1;
    }
    snprintf(cfg->source, sizeof(cfg->source), "%s", path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("iotsecd %s\n", IOTSEC_VERSION);
        return 0;
    }
    if (is_help(argv[1])) {
        fputs(usage_text, stdout);
        return 0;
    }
    const char *env_dir = getenv("IOTSEC_DIR");
    if (env_dir != NULL && env_dir[0] == '\0')
        env_dir = NULL;
    if (strcmp(argv[1], "init") == 0) {
        const char *names[] = {"dir",   "sbi-h2c",    "mcc",    "mnc", "sbi",
                               "admin", "northbound", "device", "san", "postgresql"},
                   *v[10] = {0};
        PARSE_OR_RETURN(argc - 2, argv + 2, names, v, 10);
        if (v[0] == NULL)
            v[0] = env_dir;
        if (v[0] == NULL)
            return usage();
        struct init_options opt = {.dir = v[0],
                                   .sbi_h2c = v[1],
                                   .mcc = v[2],
                                   .mnc = v[3],
                                   .sbi = v[4],
                                   .admin = v[5],
                                   .northbound = v[6],
                                   .device = v[7],
                                   .san = v[8],
                                   .postgresql = v[9]};
        return daemon_init(&opt);
    }
    if (strcmp(argv[1], "run") == 0) {
        const char *names[] = {"dir", "config"}, *v[2] = {0};
        PARSE_OR_RETURN(argc - 2, argv + 2, names, v, 2);
        if (v[0] == NULL && v[1] == NULL)
            v[0] = env_dir;
        if ((v[0] == NULL) == (v[1] == NULL))
            return usage();
        struct config cfg;
        if (load(v[0], v[1], &cfg) != 0)
            return 1;
        return daemon_run(&cfg);
    }
    if (strcmp(argv[1], "restore") == 0) {
        const char *names[] = {"dir", "from", "sqn-margin"}, *v[3] = {0};
        PARSE_OR_RETURN(argc - 2, argv + 2, names, v, 3);
        if (v[0] == NULL)
            v[0] = env_dir;
        if (v[0] == NULL || v[1] == NULL)
            return usage();
        unsigned long long margin = DAEMON_RESTORE_SQN_MARGIN;
        if (v[2] != NULL) {
            char *end;
            margin = strtoull(v[2], &end, 10);
            if (*end != '\0' || v[2][0] < '0' || v[2][0] > '9' || margin == 0) {
                fprintf(stderr, "iotsecd restore: --sqn-margin: expected a positive number of "
                                "SEQs\n");
                return 2;
            }
        }
        struct config cfg;
        if (load(v[0], NULL, &cfg) != 0)
            return 1;
        return daemon_restore(&cfg, v[1], margin);
    }
    fprintf(stderr, "iotsecd: unknown command '%.40s'\n", argv[1]);
    return usage();
}
