/* iotsecctl user ...: operator accounts (docs/console.md). Needs the admin role.
 *   user add NAME --role viewer|operator|admin [--password-file FILE|-] [--totp yes]
 *                 [--cert FILE.pem]     (no password file: one is generated and printed once)
 *   user list
 *   user show NAME
 *   user disable NAME | enable NAME | unlock NAME
 *   user reset-password NAME [--password-file FILE|-] [--totp yes|no]
 *   user set-cert NAME --cert FILE.pem   (the operator's own admin-face client certificate)
 *   user clear-cert NAME
 * Passwords are read from a file or stdin, never from the command line (ps would show it). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "crypto/ct.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* NAME, the first argument, before the flags. */
static const char *take_name(const char *cmd, int *argc, char ***argv)
{
    if (*argc < 1 || (*argv)[0][0] == '-') {
        args_fail(EXIT_USAGE, cmd, "say which account: iotsecctl %s NAME", cmd);
        return NULL;
    }
    const char *name = (*argv)[0];
    (*argc)--;
    (*argv)++;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("._-", *p))) {
            args_fail(EXIT_USAGE, cmd, "NAME is 1..32 of a-z 0-9 . _ -");
            return NULL;
        }
    return name;
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int send(const char *cmd, const char *path, json_t *o)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = admin_call(cmd, o ? "POST" : "GET", path, body ? "application/json" : NULL, body,
                        body ? strlen(body) : 0);
    if (body) {
        secure_wipe(body, strlen(body)); /* it may hold a password */
        free(body);
    }
    return rc;
}

/* --password-file into o's "password" (first line, without its newline). */
static int password_from(const char *cmd, const char *file, json_t *o)
{
    if (file == NULL)
        return 0;
    char *pw = read_file(file, 256);
    if (pw == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read --password-file");
    pw[strcspn(pw, "\r\n")] = '\0';
    json_object_set_new(o, "password", json_string(pw));
    secure_wipe(pw, strlen(pw));
    free(pw);
    return 0;
}

static int cert_from(const char *cmd, const char *file, json_t *o)
{
    if (file == NULL)
        return 0;
    char *pem = read_file(file, 65536);
    if (pem == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read --cert");
    json_object_set_new(o, "cert_pem", json_string(pem));
    free(pem);
    return 0;
}

static int user_add(int argc, char **argv)
{
    const char *cmd = "user add", *name = take_name(cmd, &argc, &argv);
    if (name == NULL)
        return EXIT_USAGE;
    struct flag f[] = {
        {"role", 1, NULL}, {"password-file", 0, NULL}, {"totp", 0, NULL}, {"cert", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    const char *totp = args_get(f, NFLAGS(f), "totp");
    if (totp && strcmp(totp, "yes") != 0 && strcmp(totp, "no") != 0)
        return args_fail(EXIT_USAGE, cmd, "--totp is yes or no");
    json_t *o = json_pack("{s:s, s:s, s:b}", "name", name, "role", f[0].value, "totp",
                          totp && strcmp(totp, "yes") == 0);
    if ((rc = password_from(cmd, args_get(f, NFLAGS(f), "password-file"), o)) ||
        (rc = cert_from(cmd, args_get(f, NFLAGS(f), "cert"), o))) {
        json_decref(o);
        return rc;
    }
    return send(cmd, "/admin/v1/users", o);
}

static int user_list(int argc, char **argv)
{
    int rc = args_parse("user list", argc, argv, NULL, 0);
    return rc ? rc : send("user list", "/admin/v1/users?limit=1000", NULL);
}

static int user_show(int argc, char **argv)
{
    const char *cmd = "user show", *name = take_name(cmd, &argc, &argv);
    if (name == NULL)
        return EXIT_USAGE;
    int rc = args_parse(cmd, argc, argv, NULL, 0);
    char path[128];
    snprintf(path, sizeof(path), "/admin/v1/users/%s", name);
    return rc ? rc : send(cmd, path, NULL);
}

static int action(const char *cmd, const char *verb, int argc, char **argv)
{
    const char *name = take_name(cmd, &argc, &argv);
    if (name == NULL)
        return EXIT_USAGE;
    struct flag f[] = {{"password-file", 0, NULL}, {"totp", 0, NULL}, {"cert", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    bool reset = strcmp(verb, "reset-password") == 0, set_cert = strcmp(verb, "set-cert") == 0;
    if (!reset && (f[0].value || f[1].value))
        return args_fail(EXIT_USAGE, cmd, "--password-file and --totp go with reset-password");
    if (set_cert != (f[2].value != NULL))
        return args_fail(EXIT_USAGE, cmd, "--cert FILE.pem goes with set-cert, and only there");
    const char *totp = f[1].value;
    if (totp && strcmp(totp, "yes") != 0 && strcmp(totp, "no") != 0)
        return args_fail(EXIT_USAGE, cmd, "--totp is yes or no");
    json_t *o = json_object();
    if (totp)
        json_object_set_new(o, "totp", json_boolean(strcmp(totp, "yes") == 0));
    if ((rc = password_from(cmd, f[0].value, o)) || (rc = cert_from(cmd, f[2].value, o))) {
        json_decref(o);
        return rc;
    }
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/users/%s/%s", name, verb);
    return send(cmd, path, o);
}

static int user_disable(int argc, char **argv)
{
    return action("user disable", "disable", argc, argv);
}
static int user_enable(int argc, char **argv)
{
    return action("user enable", "enable", argc, argv);
}
static int user_unlock(int argc, char **argv)
{
    return action("user unlock", "unlock", argc, argv);
}
static int user_reset(int argc, char **argv)
{
    return action("user reset-password", "reset-password", argc, argv);
}
static int user_set_cert(int argc, char **argv)
{
    return action("user set-cert", "set-cert", argc, argv);
}
static int user_clear_cert(int argc, char **argv)
{
    return action("user clear-cert", "clear-cert", argc, argv);
}

int cmd_user(int argc, char **argv)
{
    static const struct command table[] = {
        {"add", user_add,
         "NAME --role viewer|operator|admin [--password-file FILE|-] [--totp yes] [--cert PEM]"},
        {"list", user_list, "every account"},
        {"show", user_show, "NAME"},
        {"disable", user_disable, "NAME (its console sessions end at once)"},
        {"enable", user_enable, "NAME"},
        {"unlock", user_unlock, "NAME (after too many failed logins)"},
        {"reset-password", user_reset, "NAME [--password-file FILE|-] [--totp yes|no]"},
        {"set-cert", user_set_cert, "NAME --cert FILE.pem (their own admin-face certificate)"},
        {"clear-cert", user_clear_cert, "NAME"},
    };
    return run_command("user", table, NFLAGS(table), argc, argv);
}
