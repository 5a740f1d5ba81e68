/* iotsecctl group ...: message groups (docs/group.md) beside the northbound face's consent
 * groups (cmd_expose.c). A message group is named by its External Group ID (<id>@<domain>);
 * a consent group's id never has an '@', so `group add` tells them apart by it.
 *   group create --group EXT --owner OWNER [--capacity N] [--arity D] [--confidential no]
 *   group add --group EXT --supi S[,S...]       (one batch: one rekey)
 *   group remove --group EXT --supi S
 *   group show --group EXT
 *   group list
 *   group endpoint --supi S --url URL            (a member's unicast delivery endpoint)
 *   group endpoint-show --supi S
 *   group endpoints [--after SUPI] [--limit N]
 *   group multicast --group EXT --dest A.B.C.D:PORT [--iface A.B.C.D]
 *   group multicast-show --group EXT */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"
#include "list_cmd.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* An External Group ID usable as a path segment as it is (no escaping needed). */
#define GROUP_WHY "--group is an External Group ID: <id>@<domain>"
#define SUPI_WHY  "--supi: imsi-... or nai-..."

static bool ext_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0, ats = 0;
    if (n < 3 || n > 128 || s[0] == '@' || s[n - 1] == '@')
        return false;
    for (; *s; s++) {
        if (*s == '@')
            ats++;
        else if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                   (*s >= 'A' && *s <= 'Z') || strchr("-._", *s)))
            return false;
    }
    return ats == 1;
}

static bool supi_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              strchr("-.@_", *s)))
            return false;
    return true;
}

static int post(const char *cmd, const char *method, const char *path, json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (o && body == NULL)
        return args_fail(1, cmd, "out of memory");
    int rc = admin_call(cmd, method, path, body ? "application/json" : NULL, body,
                        body ? strlen(body) : 0);
    free(body);
    return rc;
}

static int group_create(int argc, char **argv)
{
    const char *cmd = "group create";
    struct flag f[] = {{"group", 1, NULL},
                       {"owner", 1, NULL},
                       {"capacity", 0, NULL},
                       {"arity", 0, NULL},
                       {"confidential", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *ext = args_get(f, NFLAGS(f), "group"), *owner = args_get(f, NFLAGS(f), "owner");
    if (!ext_ok(ext))
        return args_fail(EXIT_USAGE, cmd, GROUP_WHY);
    json_t *o = json_pack("{s:s, s:s}", "externalGroupId", ext, "owner", owner);
    const char *cap = args_get(f, NFLAGS(f), "capacity"), *ar = args_get(f, NFLAGS(f), "arity");
    long v;
    if (cap) {
        if ((rc = args_int(cmd, "capacity", cap, 1, 16777216L, &v))) {
            json_decref(o);
            return rc;
        }
        json_object_set_new(o, "capacity", json_integer(v));
    }
    if (ar) {
        if ((rc = args_int(cmd, "arity", ar, 2, 16, &v))) {
            json_decref(o);
            return rc;
        }
        json_object_set_new(o, "arity", json_integer(v));
    }
    const char *conf = args_get(f, NFLAGS(f), "confidential");
    if (conf && strcmp(conf, "yes") != 0 && strcmp(conf, "no") != 0) {
        json_decref(o);
        return args_fail(EXIT_USAGE, cmd, "--confidential is yes (the default) or no");
    }
    if (conf && strcmp(conf, "no") == 0) /* integrity only: explicit operator policy */
        json_object_set_new(o, "confidential", json_false());
    return post(cmd, "POST", "/admin/v1/message-groups", o);
}

static int group_members_add(int argc, char **argv)
{
    const char *cmd = "group add";
    struct flag f[] = {{"group", 1, NULL}, {"supi", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *ext = f[0].value;
    if (strchr(ext, '@') == NULL)
        return cmd_consent_group_add(argc, argv); /* a consent group (cmd_expose.c) */
    if (!ext_ok(ext))
        return args_fail(EXIT_USAGE, cmd, GROUP_WHY);
    json_t *supis = json_array();
    char *list = strdup(f[1].value), *save = NULL;
    for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (!supi_ok(s)) {
            free(list);
            json_decref(supis);
            return args_fail(EXIT_USAGE, cmd, "--supi is a comma-separated list of SUPIs");
        }
        json_array_append_new(supis, json_string(s));
    }
    free(list);
    char path[200];
    snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/members", ext);
    return post(cmd, "POST", path, json_pack("{s:o}", "supis", supis));
}

static int group_remove(int argc, char **argv)
{
    const char *cmd = "group remove";
    struct flag f[] = {{"group", 1, NULL}, {"supi", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if (!ext_ok(f[0].value))
        return args_fail(EXIT_USAGE, cmd, GROUP_WHY);
    if (!supi_ok(f[1].value))
        return args_fail(EXIT_USAGE, cmd, SUPI_WHY);
    char path[300];
    snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/members/%s", f[0].value, f[1].value);
    return post(cmd, "DELETE", path, NULL);
}

/* A read of one resource named by one checked flag: GET <prefix><value><suffix>. */
struct read_one {
    const char *cmd, *flag, *why, *prefix, *suffix;
    bool (*ok)(const char *value);
};

static int read_one(const struct read_one *r, int argc, char **argv)
{
    struct flag f[] = {{r->flag, 1, NULL}};
    int rc = args_parse(r->cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if (!r->ok(f[0].value))
        return args_fail(EXIT_USAGE, r->cmd, "%s", r->why);
    char path[300];
    snprintf(path, sizeof(path), "%s%s%s", r->prefix, f[0].value, r->suffix);
    return admin_call(r->cmd, "GET", path, NULL, NULL, 0);
}

static int group_show(int argc, char **argv)
{
    static const struct read_one r = {.cmd = "group show",
                                      .flag = "group",
                                      .why = GROUP_WHY,
                                      .prefix = "/admin/v1/message-groups/",
                                      .suffix = "",
                                      .ok = ext_ok};
    return read_one(&r, argc, argv);
}

static int group_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "group list", "takes no arguments");
    return admin_call("group list", "GET", "/admin/v1/message-groups", NULL, NULL, 0);
}

static int group_endpoint(int argc, char **argv)
{
    const char *cmd = "group endpoint";
    struct flag f[] = {{"supi", 1, NULL}, {"url", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if (!supi_ok(f[0].value))
        return args_fail(EXIT_USAGE, cmd, SUPI_WHY);
    char path[200];
    snprintf(path, sizeof(path), "/admin/v1/group-endpoints/%s", f[0].value);
    return post(cmd, "PUT", path, json_pack("{s:s}", "url", f[1].value));
}

static int group_endpoint_show(int argc, char **argv)
{
    static const struct read_one r = {.cmd = "group endpoint-show",
                                      .flag = "supi",
                                      .why = SUPI_WHY,
                                      .prefix = "/admin/v1/group-endpoints/",
                                      .suffix = "",
                                      .ok = supi_ok};
    return read_one(&r, argc, argv);
}

static int group_endpoints(int argc, char **argv)
{
    static const char *const filters[] = {NULL};
    return list_call("group endpoints", "/admin/v1/group-endpoints", filters, argc, argv);
}

static int group_multicast(int argc, char **argv)
{
    const char *cmd = "group multicast";
    struct flag f[] = {{"group", 1, NULL}, {"dest", 1, NULL}, {"iface", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if (!ext_ok(f[0].value))
        return args_fail(EXIT_USAGE, cmd, GROUP_WHY);
    json_t *o = json_pack("{s:s}", "dest", f[1].value);
    if (f[2].value)
        json_object_set_new(o, "iface", json_string(f[2].value));
    char path[200];
    snprintf(path, sizeof(path), "/admin/v1/message-groups/%s/multicast", f[0].value);
    return post(cmd, "PUT", path, o);
}

static int group_multicast_show(int argc, char **argv)
{
    static const struct read_one r = {.cmd = "group multicast-show",
                                      .flag = "group",
                                      .why = GROUP_WHY,
                                      .prefix = "/admin/v1/message-groups/",
                                      .suffix = "/multicast",
                                      .ok = ext_ok};
    return read_one(&r, argc, argv);
}

static const struct command group_commands[] = {
    {"create", group_create,
     "--group EXT_ID --owner OWNER [--capacity N] [--arity D] [--confidential no]   a message "
     "group (docs/group.md)"},
    {"add", group_members_add,
     "--group EXT_ID|GROUP_ID --supi SUPI[,SUPI...]   members (one rekey); a GROUP_ID without "
     "'@' is a consent group"},
    {"remove", group_remove, "--group EXT_ID --supi SUPI   a member leaves (rekey)"},
    {"show", group_show, "--group EXT_ID   the group and its members"},
    {"list", group_list, "the message groups"},
    {"endpoint", group_endpoint,
     "--supi SUPI --url URL   a member's unicast delivery endpoint (https; checked by the "
     "outbound policy)"},
    {"endpoint-show", group_endpoint_show, "--supi SUPI   a member's delivery endpoint"},
    {"endpoints", group_endpoints, "[--after SUPI] [--limit N]   the delivery endpoints"},
    {"multicast", group_multicast,
     "--group EXT_ID --dest A.B.C.D:PORT [--iface A.B.C.D]   the group's multicast address"},
    {"multicast-show", group_multicast_show, "--group EXT_ID   the group's multicast address"},
};

int cmd_group(int argc, char **argv)
{
    return run_command("group", group_commands, NFLAGS(group_commands), argc, argv);
}
