/* iotsecctl keys ...: the key-encryption key (KEK) on the admin face.
 *   keys rotate-kek [--kek-id N]   make a new KEK current (N: one already installed on every
 *                                  instance) and re-wrap every sealed row under it, online
 *   keys status                    rows per sealed column and KEK id; progress */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

static int rotate_kek(int argc, char **argv)
{
    const char *cmd = "keys rotate-kek";
    struct flag f[] = {{"kek-id", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    char body[48];
    if (f[0].value == NULL)
        return admin_call(cmd, "POST", "/admin/v1/keys/kek/rotate", NULL, NULL, 0);
    char *end;
    long id = strtol(f[0].value, &end, 10);
    if (*f[0].value == '\0' || *end != '\0' || id < 1 || id > 200)
        return args_fail(EXIT_USAGE, cmd, "--kek-id is a KEK id, 1..200");
    snprintf(body, sizeof(body), "{\"kekId\":%ld}", id);
    return admin_call(cmd, "POST", "/admin/v1/keys/kek/rotate", "application/json", body,
                      strlen(body));
}

static int kek_status(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "keys status", "takes no arguments");
    return admin_call("keys status", "GET", "/admin/v1/keys/kek", NULL, NULL, 0);
}

static const struct command keys_commands[] = {
    {"rotate-kek", rotate_kek,
     "[--kek-id N]   a new KEK for new seals; every sealed row re-wrapped online"},
    {"status", kek_status, "  rows per sealed column and KEK id, the rotation's progress"},
};

int cmd_keys(int argc, char **argv)
{
    return run_command("keys", keys_commands, NFLAGS(keys_commands), argc, argv);
}
