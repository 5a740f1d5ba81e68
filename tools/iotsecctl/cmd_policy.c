/* iotsecctl policy ...: the actions taken on findings (admin face).
 *   policy show | set FILE | actions [--supi S] [--after ID] | throttles | observed
 * (device release|quarantine|actions: cmd_operator.c) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))
#define MAX_POLICY (64u << 10)

/* Path segments are SUPIs: imsi-<digits> or nai-<user@realm>; refuse anything that would
 * need escaping rather than escape it. */
static bool segment_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 200)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              strchr("-.@_", *s)))
            return false;
    return true;
}

static int cmd_show(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "policy show", "takes no arguments");
    return admin_call("policy show", "GET", "/admin/v1/policy", NULL, NULL, 0);
}

static int cmd_set(int argc, char **argv)
{
    const char *cmd = "policy set";
    if (argc != 1)
        return args_fail(EXIT_USAGE, cmd, "give the policy's JSON FILE (or -)");
    FILE *in = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "r");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read %s", argv[0]);
    char *buf = malloc(MAX_POLICY + 1);
    size_t n = buf ? fread(buf, 1, MAX_POLICY + 1, in) : 0;
    if (in != stdin)
        fclose(in);
    int rc;
    if (buf == NULL)
        rc = args_fail(1, cmd, "out of memory");
    else if (n > MAX_POLICY)
        rc = args_fail(EXIT_USAGE, cmd, "a policy is at most 64 KiB");
    else
        rc = admin_call(cmd, "PUT", "/admin/v1/policy", "application/json", buf, n);
    free(buf);
    return rc;
}

static int cmd_actions(int argc, char **argv)
{
    const char *cmd = "policy actions";
    struct flag f[] = {{"supi", 0, NULL}, {"after", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *supi = args_get(f, NFLAGS(f), "supi"), *after = args_get(f, NFLAGS(f), "after");
    long a = 0;
    if (after && (rc = args_int(cmd, "after", after, 0, 0x7fffffffL, &a)))
        return rc;
    if (supi && !segment_ok(supi))
        return args_fail(EXIT_USAGE, cmd, "--supi: imsi-... or nai-...");
    char path[300];
    snprintf(path, sizeof(path), "/admin/v1/policy/actions?after=%ld%s%s", a,
             supi ? "&supi=" : "", supi ? supi : "");
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}

static int cmd_throttles(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "policy throttles", "takes no arguments");
    return admin_call("policy throttles", "GET", "/admin/v1/policy/throttles", NULL, NULL, 0);
}

static int cmd_observed(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "policy observed", "takes no arguments");
    return admin_call("policy observed", "GET", "/admin/v1/policy/observed", NULL, NULL, 0);
}

static const struct command policy_cmds[] = {
    {"show", cmd_show, "the policy (findings -> actions, webhooks)"},
    {"set", cmd_set, "FILE|-   replace the policy (JSON, docs/policy.md)"},
    {"actions", cmd_actions, "[--supi SUPI] [--after ID]   the audit of actions"},
    {"throttles", cmd_throttles, "open throttle actions (for the UPF)"},
    {"observed", cmd_observed,
     "what the policy would have done in observe mode (per action: findings, devices)"},
};

int cmd_policy(int argc, char **argv)
{
    return run_command("policy", policy_cmds, NFLAGS(policy_cmds), argc, argv);
}
