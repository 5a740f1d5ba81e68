/* iotsecd: the iotsec daemon.
 *   iotsecd init --dir DIR [--sbi ADDR:PORT] [--admin ADDR:PORT] [--sbi-h2c ADDR:PORT]
 *                [--northbound ADDR:PORT] [--device ADDR:PORT] [--mcc MCC --mnc MNC]
 *                [--postgresql URL]
 *   iotsecd run (--dir DIR | --config FILE)
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "daemon/daemon.h"

static int usage(void)
{
    fprintf(stderr, "usage: iotsecd init --dir DIR [--sbi ADDR:PORT] [--admin ADDR:PORT]\n"
                    "                    [--sbi-h2c ADDR:PORT] [--northbound ADDR:PORT]\n"
                    "                    [--device ADDR:PORT] [--mcc MCC --mnc MNC]\n"
                    "                    [--postgresql URL]\n"
                    "       iotsecd run (--dir DIR | --config FILE)\n");
    return 2;
}

/* Reads --name VALUE pairs; returns 0 or prints usage. */
static int flags(int argc, char **argv, const char **names, const char **values, int n)
{
    for (int i = 0; i < argc; i++) {
        int k = 0;
        while (k < n && !(strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, names[k]) == 0))
            k++;
        if (k == n || i + 1 >= argc || values[k] != NULL) {
            fprintf(stderr, "iotsecd: unexpected, repeated or value-less argument '%.40s'\n",
                    argv[i]);
            return usage();
        }
        values[k] = argv[++i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "init") == 0) {
        const char *names[] = {"dir",   "sbi-h2c",    "mcc",    "mnc",       "sbi",
                               "admin", "northbound", "device", "postgresql"},
                   *v[9] = {0};
        if (flags(argc - 2, argv + 2, names, v, 9) != 0)
            return 2;
        if (v[0] == NULL)
            return usage();
        struct init_options opt = {.dir = v[0], .sbi_h2c = v[1], .mcc = v[2], .mnc = v[3],
                                   .sbi = v[4], .admin = v[5], .northbound = v[6],
                                   .device = v[7], .postgresql = v[8]};
        return daemon_init(&opt);
    }
    if (strcmp(argv[1], "run") == 0) {
        const char *names[] = {"dir", "config"}, *v[2] = {0};
        if (flags(argc - 2, argv + 2, names, v, 2) != 0)
            return 2;
        if ((v[0] == NULL) == (v[1] == NULL))
            return usage();
        char path[CONFIG_PATH_MAX + 16], dir[CONFIG_PATH_MAX];
        if (v[0]) {
            snprintf(dir, sizeof(dir), "%s", v[0]);
            snprintf(path, sizeof(path), "%s/iotsec.yaml", v[0]);
        } else {
            snprintf(path, sizeof(path), "%s", v[1]);
            char copy[CONFIG_PATH_MAX];
            snprintf(copy, sizeof(copy), "%s", v[1]);
            snprintf(dir, sizeof(dir), "%s", dirname(copy));
        }
        struct config cfg;
        char err[512];
        config_defaults(&cfg, dir);
        if (config_load(path, &cfg, err, sizeof(err)) != IOTSEC_OK) {
            fprintf(stderr, "iotsecd: %s\n", err);
            return 1;
        }
        return daemon_run(&cfg);
    }
    return usage();
}
