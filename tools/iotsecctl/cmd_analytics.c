/* iotsecctl analytics ...: security analytics offline.
 *   eval --format iot23|zeek|jsonl [--window S] [--local CIDR,...] [--devices CIDR,...|FILE]
 *        FILE...
 * replays labelled captures through the detectors and prints one JSON object scoring them
 * per (device, window) and per device, with what the default policy would have done
 * (docs/analytics.md). --devices says which addresses are devices: prefixes, or a file of
 * lines "ADDRESS [GROUP [MUD_FILE]]" (a MUD path relative to the file's directory).
 * ingest, map, findings talk to the daemon (cmd_analytics_ingest.c); mud, its MUD files
 * (cmd_analytics_mud.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "analytics/mud.h"
#include "args.h"
#include "base/err.h"
#include "iotsecctl.h"
#include "policy/policy.h"

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

/* The default policy's decision on a finding: what the daemon would have done. */
static unsigned default_policy(void *arg, const struct an_finding *f)
{
    return policy_decide(arg, f->exc, f->level, f->confidence);
}

static int device_line(struct an_eval *ev, const char *file, unsigned lineno, char *line)
{
    const char *cmd = "analytics eval";
    char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save);
    if (addr == NULL || addr[0] == '#')
        return 0;
    char *group = strtok_r(NULL, " \t\r\n", &save), *mud = strtok_r(NULL, " \t\r\n", &save);
    struct an_addr a;
    if (an_addr_parse(addr, strlen(addr), &a) != IOTSEC_OK || strtok_r(NULL, " \t\r\n", &save))
        return args_fail(EXIT_USAGE, cmd, "%s:%u: ADDRESS [GROUP [MUD_FILE]]", file, lineno);
    struct an_mud *m = NULL;
    int rc = 0;
    if (mud) {
        char path[1024];
        const char *slash = strrchr(file, '/');
        if (mud[0] == '/' || slash == NULL)
            snprintf(path, sizeof(path), "%s", mud);
        else
            snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, mud);
        size_t len;
        char *doc = mud_read_file(cmd, path, &len), err[256];
        if (doc == NULL)
            return EXIT_USAGE;
        if ((m = malloc(sizeof(*m))) == NULL || an_mud_parse(doc, len, m, err, sizeof(err)))
            rc = args_fail(EXIT_USAGE, cmd, "%s: %s", path, m ? err : "out of memory");
        free(doc);
    }
    if (rc == 0 && an_eval_add_device(ev, &a, group, m) != IOTSEC_OK)
        rc = args_fail(1, cmd, "%s:%u: too many devices", file, lineno);
    free(m);
    return rc;
}

/* --devices: prefixes ("10.0.0.0/24,10.0.1.7/32") or a file naming the devices. */
static int devices_arg(struct an_eval *ev, const char *v)
{
    struct an_prefixes p;
    if (strchr(v, '/') && an_prefixes_parse(v, &p) == IOTSEC_OK) {
        an_eval_set_devices(ev, &p);
        return 0;
    }
    FILE *in = fopen(v, "r");
    if (in == NULL)
        return args_fail(EXIT_USAGE, "analytics eval",
                         "--devices: prefixes (CIDR,...) or a readable file: %s", v);
    char line[1024];
    unsigned n = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), in))
        rc = device_line(ev, v, ++n, line);
    fclose(in);
    return rc;
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
    struct flag f[] = {
        {"format", 1, NULL}, {"window", 0, NULL}, {"local", 0, NULL}, {"devices", 0, NULL}};
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
    const char *devices = args_get(f, NFLAGS(f), "devices");
    if (devices && (rc = devices_arg(ev, devices))) {
        an_eval_free(ev);
        return rc;
    }
    static struct policy pol;
    static const char *names[POLICY_ACTION_COUNT];
    policy_default(&pol);
    for (int a = 0; a < POLICY_ACTION_COUNT; a++)
        names[a] = policy_action_name((enum policy_action)a);
    an_eval_set_policy(ev, default_policy, &pol, names, POLICY_ACTION_COUNT);
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
    {"eval", cmd_eval,
     "--format iot23|zeek|jsonl [--window S] [--local CIDR,...] [--devices CIDR,...|FILE] "
     "FILE..."},
    {"mud", cmd_analytics_mud, "validate FILE | set GROUP FILE | show GROUP | list | delete GROUP"},
    {"ingest", cmd_analytics_ingest,
     "--format zeek|iot23|jsonl [--allow-unmapped] FILE|-   (into the daemon; exit 1 when more "
     "than half of a batch maps to no device, unless --allow-unmapped)"},
    {"map", cmd_analytics_map, "--supi SUPI --ip ADDRESS [--group NAME]"},
    {"findings", cmd_analytics_findings,
     "[--supi S] [--exception X] [--since RFC3339|UNIX] [--group G] [--enrollment NAME|ID] "
     "[--limit N] [--after CURSOR]   the persisted findings with their evidence (\"next\": the "
     "cursor of the next page)"},
    {"conditions", cmd_analytics_conditions,
     "[--open|--closed] [--group G|--enrollment G] [--since RFC3339|UNIX] [--limit N] "
     "[--after CURSOR]   fleet conditions (an outage of most of a group), by group name"},
};

int cmd_analytics(int argc, char **argv)
{
    return run_command("analytics", analytics_cmds, NFLAGS(analytics_cmds), argc, argv);
}
