/* iotsecctl analytics mud ...: MUD files (RFC 8520) of device groups.
 *   mud validate FILE        offline: exit 0 and a summary, or exit 2 naming the JSON path
 *   mud set GROUP FILE       PUT /admin/v1/analytics/mud/GROUP (the daemon validates too)
 *   mud show GROUP | list | delete GROUP */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "analytics/mud.h"
#include "args.h"
#include "base/err.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* Reads a whole file of at most AN_MUD_MAX_BYTES; NULL after printing why. */
char *mud_read_file(const char *cmd, const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        args_fail(EXIT_USAGE, cmd, "cannot read %s", path);
        return NULL;
    }
    char *buf = malloc(AN_MUD_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, AN_MUD_MAX_BYTES + 1, in) : 0;
    bool err = ferror(in);
    fclose(in);
    if (buf == NULL || err || n > AN_MUD_MAX_BYTES) {
        free(buf);
        args_fail(EXIT_USAGE, cmd, "%s: unreadable or larger than %d bytes", path,
                  AN_MUD_MAX_BYTES);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bool group_ok(const char *g)
{
    size_t n = strlen(g);
    return n > 0 && n <= 64 &&
           strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static int cmd_validate(int argc, char **argv)
{
    const char *cmd = "analytics mud validate";
    if (argc != 1)
        return args_fail(EXIT_USAGE, cmd, "give one FILE");
    size_t len;
    char *doc = mud_read_file(cmd, argv[0], &len);
    if (doc == NULL)
        return EXIT_USAGE;
    struct an_mud *m = malloc(sizeof(*m));
    char err[256];
    int rc = m ? an_mud_parse(doc, len, m, err, sizeof(err)) : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK) {
        json_t *o = json_pack("{s:b,s:s,s:i}", "valid", 1, "mud_url", m->url, "rules", (int)m->n);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text)
            puts(text);
        free(text);
        json_decref(o);
    }
    free(doc);
    free(m);
    if (rc == IOTSEC_ERR_NOMEM)
        return args_fail(1, cmd, "out of memory");
    return rc == IOTSEC_OK ? 0 : args_fail(EXIT_USAGE, cmd, "%s: %s", argv[0], err);
}

static int cmd_set(int argc, char **argv)
{
    const char *cmd = "analytics mud set";
    if (argc != 2 || !group_ok(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "give GROUP (1 to 64 of A-Z a-z 0-9 - _ .) and FILE");
    size_t len;
    char *doc = mud_read_file(cmd, argv[1], &len);
    if (doc == NULL)
        return EXIT_USAGE;
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/analytics/mud/%s", argv[0]);
    int rc = admin_call(cmd, "PUT", path, "application/mud+json", doc, len);
    free(doc);
    return rc;
}

static int one_group(const char *cmd, const char *method, int argc, char **argv)
{
    if (argc != 1 || !group_ok(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "give GROUP (1 to 64 of A-Z a-z 0-9 - _ .)");
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/analytics/mud/%s", argv[0]);
    return admin_call(cmd, method, path, NULL, NULL, 0);
}

static int cmd_show(int argc, char **argv)
{
    return one_group("analytics mud show", "GET", argc, argv);
}

static int cmd_delete(int argc, char **argv)
{
    return one_group("analytics mud delete", "DELETE", argc, argv);
}

static int cmd_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "analytics mud list", "takes no arguments");
    return admin_call("analytics mud list", "GET", "/admin/v1/analytics/mud", NULL, NULL, 0);
}

static const struct command mud_cmds[] = {
    {"validate", cmd_validate, "FILE   (offline; exit 2 naming the JSON path of what is wrong)"},
    {"set", cmd_set, "GROUP FILE   attach a MUD file to the devices mapped into GROUP"},
    {"show", cmd_show, "GROUP"},
    {"list", cmd_list, ""},
    {"delete", cmd_delete, "GROUP"},
};

int cmd_analytics_mud(int argc, char **argv)
{
    return run_command("analytics mud", mud_cmds, NFLAGS(mud_cmds), argc, argv);
}
