/* iotsecctl analytics ...: security analytics offline.
 *   eval --format iot23|zeek|jsonl [--window S] [--local CIDR,...] FILE...
 * replays labelled captures through the detectors and prints one JSON object scoring them
 * per (device, window) (docs/analytics.md). ingest, map, findings talk to the daemon
 * (cmd_analytics_ingest.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "args.h"
#include "base/err.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))
#define MAX_FILES 256

/* The capture's name in the report: its file name, printable ASCII only. */
static void capture_name(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = 0;
    for (; *base && n + 1 < len; base++)
        out[n++] = (*base >= 0x20 && *base < 0x7f && *base != ':') ? *base : '?';
    out[n] = '\0';
}

/* Splits argv into "--flag value" pairs (for args_parse) and file operands. */
static int split_args(int argc, char **argv, char **flags, int *nflags, char **files, int *nfiles)
{
    *nflags = *nfiles = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc) {
            flags[(*nflags)++] = argv[i];
            flags[(*nflags)++] = argv[++i];
        } else if (strncmp(argv[i], "--", 2) == 0) {
            flags[(*nflags)++] = argv[i]; /* args_parse reports the missing value */
        } else if (*nfiles == MAX_FILES) {
            return args_fail(EXIT_USAGE, "analytics eval", "at most %d files", MAX_FILES);
        } else {
            files[(*nfiles)++] = argv[i];
        }
    }
    return 0;
}

static int eval_one(struct an_eval *ev, const char *path, enum an_format fmt)
{
    const char *cmd = "analytics eval";
    char name[128];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read %s", path);
    capture_name(strcmp(path, "-") == 0 ? "stdin" : path, name, sizeof(name));
    int rc = an_eval_capture(ev, name, in, fmt);
    if (in != stdin)
        fclose(in);
    if (rc == IOTSEC_ERR_INVALID)
        return args_fail(EXIT_USAGE, cmd, "%s: no record could be read as --format given", path);
    if (rc == IOTSEC_ERR_IO)
        return args_fail(EXIT_USAGE, cmd, "cannot read %s", path);
    if (rc != IOTSEC_OK)
        return args_fail(1, cmd, "%s: %s", path, iotsec_strerror(rc));
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    const char *cmd = "analytics eval";
    char *flagv[16], *files[MAX_FILES];
    int nflagv, nfiles, rc;
    if (argc > 16 + MAX_FILES)
        return args_fail(EXIT_USAGE, cmd, "too many arguments");
    if ((rc = split_args(argc, argv, flagv, &nflagv, files, &nfiles)))
        return rc;
    struct flag f[] = {{"format", 1, NULL}, {"window", 0, NULL}, {"local", 0, NULL}};
    if (nflagv > 16 || (rc = args_parse(cmd, nflagv, flagv, f, NFLAGS(f))))
        return rc ? rc : EXIT_USAGE;
    if (nfiles == 0)
        return args_fail(EXIT_USAGE, cmd, "give at least one FILE (or - for stdin)");
    enum an_format fmt;
    if (an_format_parse(args_get(f, NFLAGS(f), "format"), &fmt) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd, "--format: one of iot23, zeek, jsonl");
    struct an_config cfg;
    an_config_default(&cfg);
    const char *w = args_get(f, NFLAGS(f), "window"), *local = args_get(f, NFLAGS(f), "local");
    long window = 60;
    if (w && (rc = args_int(cmd, "window", w, 1, 86400, &window)))
        return rc;
    cfg.window_s = (uint32_t)window;
    if (local && an_prefixes_parse(local, &cfg.local) != IOTSEC_OK)
        return args_fail(EXIT_USAGE, cmd,
                         "--local: a comma-separated list of up to %d "
                         "prefixes like 192.168.0.0/16",
                         AN_MAX_PREFIXES);
    struct an_eval *ev = an_eval_new(&cfg);
    if (ev == NULL)
        return args_fail(1, cmd, "out of memory");
    for (int i = 0; i < nfiles && rc == 0; i++)
        rc = eval_one(ev, files[i], fmt);
    char *out = rc == 0 ? an_eval_json(ev) : NULL;
    if (rc == 0 && out == NULL)
        rc = args_fail(1, cmd, "out of memory");
    if (out)
        puts(out);
    free(out);
    an_eval_free(ev);
    return rc;
}

static const struct command analytics_cmds[] = {
    {"eval", cmd_eval, "--format iot23|zeek|jsonl [--window S] [--local CIDR,...] FILE..."},
    {"ingest", cmd_analytics_ingest,
     "--format zeek|iot23|jsonl [--allow-unmapped] FILE|-   (into the daemon; exit 1 when more "
     "than half of a batch maps to no device, unless --allow-unmapped)"},
    {"map", cmd_analytics_map, "--supi SUPI --ip ADDRESS [--group NAME]"},
    {"findings", cmd_analytics_findings,
     "[--supi S] [--exception X] [--since RFC3339|UNIX] [--limit N] [--after CURSOR]   the "
     "persisted findings with their evidence (\"next\": the cursor of the next page)"},
};

int cmd_analytics(int argc, char **argv)
{
    return run_command("analytics", analytics_cmds, NFLAGS(analytics_cmds), argc, argv);
}
