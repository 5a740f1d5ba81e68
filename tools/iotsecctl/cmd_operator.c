/* The operator's release and quarantine, shared by `subscriber release|quarantine` and
 * `device release|quarantine` (both reach the daemon's one operation: the state change, the
 * open actions closed on a release, an audit row with who and why), and `device actions`
 * (each action with the evidence of its finding). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* SUPIs are [a-zA-Z0-9@._-]: refuse anything that would need escaping in a path. */
static bool supi_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || s[0] == '-' || strlen(s) > 200)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              strchr("-.@_", *s)))
            return false;
    return true;
}

int cmd_operator_state(const char *group, const char *base, bool quarantine, int argc, char **argv)
{
    char cmd[64], path[320];
    snprintf(cmd, sizeof(cmd), "%s %s", group, quarantine ? "quarantine" : "release");
    if (argc < 1 || !supi_ok(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "expected SUPI%s [--by NAME]",
                         quarantine ? " --reason TEXT" : " [--reason TEXT]");
    struct flag f[] = {{"reason", quarantine, NULL}, {"by", 0, NULL}};
    int rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *reason = args_get(f, NFLAGS(f), "reason");
    const char *by = args_get(f, NFLAGS(f), "by");
    if (by == NULL) /* who: the account running the command, unless told otherwise */
        by = getenv("USER");
    json_t *o = json_object();
    /* A release without --reason says so explicitly in the audit. */
    json_object_set_new(o, "reason", json_string(reason ? reason : "no reason given"));
    if (by && by[0])
        json_object_set_new(o, "by", json_string(by));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL)
        return args_fail(EXIT_USAGE, cmd, "--reason and --by must be UTF-8 text");
    snprintf(path, sizeof(path), "%s/%s/%s", base, argv[0], quarantine ? "quarantine" : "release");
    rc = admin_call(cmd, "POST", path, "application/json", body, strlen(body));
    free(body);
    return rc;
}

int cmd_device_release(int argc, char **argv)
{
    return cmd_operator_state("device", "/admin/v1/devices", false, argc, argv);
}

int cmd_device_quarantine(int argc, char **argv)
{
    return cmd_operator_state("device", "/admin/v1/devices", true, argc, argv);
}

int cmd_device_actions(int argc, char **argv)
{
    const char *cmd = "device actions";
    if (argc < 1 || !supi_ok(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "expected SUPI [--after ID]");
    struct flag f[] = {{"after", 0, NULL}};
    int rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f));
    long after = 0;
    if (rc == 0 && args_get(f, 1, "after"))
        rc = args_int(cmd, "after", args_get(f, 1, "after"), 0, 0x7fffffffL, &after);
    if (rc)
        return rc;
    char path[320];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/actions?after=%ld", argv[0], after);
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}
