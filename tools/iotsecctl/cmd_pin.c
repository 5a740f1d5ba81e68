/* Personal IoT Networks, the operator's side (docs/pin.md):
 *   iotsecctl subscriber set-roles SUPI [--pin-gateway] [--pin-manager]   (none: no role)
 *   iotsecctl pin list | show PIN_ID | delete PIN_ID */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"

/* SUPIs and PIN ids go into a URL path: letters, digits and @.-_ only. */
static int id_arg(const char *cmd, const char *what, const char *s)
{
    if (s == NULL || s[0] == '\0' || s[0] == '-' || strlen(s) > 64)
        return args_fail(EXIT_USAGE, cmd, "expected %s", what);
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("@.-_", *p)))
            return args_fail(EXIT_USAGE, cmd, "%s has a character it may not have", what);
    return 0;
}

int cmd_pin_set_roles(int argc, char **argv)
{
    const char *cmd = "subscriber set-roles";
    int rc = id_arg(cmd, "one SUPI", argc > 0 ? argv[0] : NULL);
    if (rc)
        return rc;
    bool gw = false, mgr = false;
    for (int i = 1; i < argc; i++) {
        bool *flag = strcmp(argv[i], "--pin-gateway") == 0   ? &gw
                     : strcmp(argv[i], "--pin-manager") == 0 ? &mgr
                                                             : NULL;
        if (flag == NULL || *flag)
            return args_fail(EXIT_USAGE, cmd,
                             "unknown or repeated flag %s (--pin-gateway, "
                             "--pin-manager)",
                             flag ? argv[i] : "");
        *flag = true;
    }
    char path[160], body[64];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/pin-roles", argv[0]);
    snprintf(body, sizeof(body), "{\"gateway\":%s,\"manager\":%s}", gw ? "true" : "false",
             mgr ? "true" : "false");
    return admin_call(cmd, "PUT", path, "application/json", body, strlen(body));
}

static int pin_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "pin list", "takes no arguments");
    return admin_call("pin list", "GET", "/admin/v1/pins", NULL, NULL, 0);
}

static int pin_one(const char *cmd, const char *method, int argc, char **argv)
{
    int rc = argc == 1 ? id_arg(cmd, "one PIN id", argv[0])
                       : args_fail(EXIT_USAGE, cmd, "expected one PIN id");
    if (rc)
        return rc;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/pins/%s", argv[0]);
    return admin_call(cmd, method, path, NULL, NULL, 0);
}

static int pin_show(int argc, char **argv)
{
    return pin_one("pin show", "GET", argc, argv);
}

static int pin_delete(int argc, char **argv)
{
    return pin_one("pin delete", "DELETE", argc, argv);
}

static const struct command pin_commands[] = {
    {"list", pin_list, "   every PIN (id, name, owner)"},
    {"show", pin_show, "PIN_ID   its policy, gateways and elements"},
    {"delete", pin_delete, "PIN_ID   revokes every element of it at once"},
};

int cmd_pin(int argc, char **argv)
{
    return run_command("pin", pin_commands, sizeof(pin_commands) / sizeof(pin_commands[0]), argc,
                       argv);
}
