/* iotsecctl af | consent | group | expose: the operator's side of the northbound face
 * (issue 5), through the admin face.
 *   af add --name N --cert CLIENT.pem --services monitoring-event[,...]
 *          [--allow-destination CIDR[:port][,...]]                    -> {"af_id", ...}
 *   af update AF_ID --allow-destination CIDR[:port][,...] | none
 *          (notification destinations otherwise refused: loopback, private, link-local...)
 *   af list | af disable AF_ID | af enable AF_ID
 *   consent grant --af AF_ID --scope monitoring-event (--supi S | --group G)
 *                 [--expires RFC3339] [--owner O] [--purpose P]
 *                 -> {"consent_id", "external_ids": {"<supi>": "<external id for this AF>"}}
 *   consent revoke CONSENT_ID
 *   consent opt-out --supi S | consent opt-in --supi S   (the owner's monitoring opt-out)
 *   group add --group G --supi S[,S...]      (the minimal group model: a named set of SUPIs)
 *   expose rotate-signing-key | expose retire-signing-key KID */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "list_cmd.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))
#define PEM_MAX (64 * 1024)

/* An identifier that goes into a URL path: [A-Za-z0-9._-], 1..64. */
static int id_arg(const char *cmd, int argc, char **argv, const char *what, const char **id)
{
    if (argc != 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "expected one %s", what);
    size_t n = strlen(argv[0]);
    if (n == 0 || n > 64)
        return args_fail(EXIT_USAGE, cmd, "the %s is 1 to 64 characters", what);
    for (const char *p = argv[0]; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-", *p)))
            return args_fail(EXIT_USAGE, cmd, "the %s has a character it may not have", what);
    *id = argv[0];
    return 0;
}

static int post_json(const char *cmd, const char *path, json_t *o)
{
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL)
        return args_fail(1, cmd, "out of memory");
    int rc = admin_call(cmd, "POST", path, "application/json", body, strlen(body));
    free(body);
    return rc;
}

/* "a,b,c" -> ["a","b","c"] (empty items refused). */
static json_t *list_arg(const char *s)
{
    json_t *a = json_array();
    while (s && *s) {
        size_t n = strcspn(s, ",");
        if (n == 0) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, json_stringn(s, n));
        s += n + (s[n] == ',');
    }
    return a;
}

/* --allow-destination "10.1.0.0/16:8443,[fd00::1]:443" -> ["10.1.0.0/16:8443", ...];
 * "none" -> []. The daemon checks each entry. */
static json_t *dest_arg(const char *cmd, const char *s)
{
    if (strcmp(s, "none") == 0)
        return json_array();
    json_t *a = list_arg(s);
    if (a == NULL || json_array_size(a) == 0) {
        json_decref(a);
        args_fail(EXIT_USAGE, cmd, "--allow-destination is CIDR[:port][,CIDR[:port]...] or none");
        return NULL;
    }
    return a;
}

static int af_add(int argc, char **argv)
{
    const char *cmd = "af add";
    struct flag f[] = {{"name", 1, NULL},
                       {"cert", 1, NULL},
                       {"services", 1, NULL},
                       {"allow-destination", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    FILE *in = fopen(f[1].value, "rb");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot open the certificate file");
    char *pem = calloc(1, PEM_MAX + 1);
    size_t len = pem ? fread(pem, 1, PEM_MAX + 1, in) : 0;
    fclose(in);
    if (pem == NULL || len == 0 || len > PEM_MAX || strstr(pem, "PRIVATE KEY")) {
        free(pem);
        return args_fail(EXIT_USAGE, cmd, "--cert must be a PEM certificate (no private key), "
                                          "at most 64 KiB");
    }
    json_t *svcs = list_arg(f[2].value);
    if (svcs == NULL) {
        free(pem);
        return args_fail(EXIT_USAGE, cmd, "--services is a comma-separated list");
    }
    json_t *dest = f[3].value ? dest_arg(cmd, f[3].value) : json_array();
    if (dest == NULL) {
        free(pem);
        json_decref(svcs);
        return EXIT_USAGE;
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "name", f[0].value, "cert_pem", pem, "services",
                          svcs, "allow_destinations", dest);
    free(pem);
    return post_json(cmd, "/admin/v1/afs", o);
}

static int af_update(int argc, char **argv)
{
    const char *cmd = "af update", *id;
    int rc = id_arg(cmd, argc > 0 ? 1 : 0, argv, "AF id", &id);
    if (rc)
        return rc;
    struct flag f[] = {{"allow-destination", 1, NULL}};
    if ((rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f))) != 0)
        return rc;
    json_t *dest = dest_arg(cmd, f[0].value);
    if (dest == NULL)
        return EXIT_USAGE;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/afs/%s", id);
    json_t *o = json_pack("{s:o}", "allow_destinations", dest);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (body == NULL)
        return args_fail(1, cmd, "out of memory");
    rc = admin_call(cmd, "PATCH", path, "application/json", body, strlen(body));
    free(body);
    return rc;
}

static int af_list(int argc, char **argv)
{
    static const char *const filters[] = {"state", "service", NULL};
    return list_call("af list", "/admin/v1/afs", filters, argc, argv);
}

static int af_show(int argc, char **argv)
{
    return show_call("af show", "/admin/v1/afs", argc, argv);
}

static int consent_list(int argc, char **argv)
{
    static const char *const filters[] = {"af", "owner", "supi", "group", "state", NULL};
    return list_call("consent list", "/admin/v1/consents", filters, argc, argv);
}

static int consent_show(int argc, char **argv)
{
    return show_call("consent show", "/admin/v1/consents", argc, argv);
}

static int af_state(const char *cmd, const char *action, int argc, char **argv)
{
    const char *id;
    int rc = id_arg(cmd, argc, argv, "AF id", &id);
    if (rc)
        return rc;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/afs/%s/%s", id, action);
    return admin_call(cmd, "POST", path, NULL, NULL, 0);
}

static int af_disable(int argc, char **argv) { return af_state("af disable", "disable", argc, argv); }
static int af_enable(int argc, char **argv) { return af_state("af enable", "enable", argc, argv); }

static const struct command af_commands[] = {
    {"add", af_add,
     "--name NAME --cert CLIENT.pem --services monitoring-event[,...] "
     "[--allow-destination CIDR[:port][,...]]"},
    {"update", af_update,
     "AF_ID --allow-destination CIDR[:port][,...] | none   (notification "
     "destinations allowed besides public addresses)"},
    {"list", af_list, "[--state active|disabled] [--service S] [--after C] [--limit N]"},
    {"show", af_show, "AF_ID"},
    {"disable", af_disable, "AF_ID   (its tokens are refused at once)"},
    {"enable", af_enable, "AF_ID"},
};

int cmd_af(int argc, char **argv)
{
    return run_command("af", af_commands, NFLAGS(af_commands), argc, argv);
}

static int consent_grant(int argc, char **argv)
{
    const char *cmd = "consent grant";
    struct flag f[] = {{"af", 1, NULL},      {"scope", 1, NULL}, {"supi", 0, NULL},
                       {"group", 0, NULL},   {"expires", 0, NULL}, {"owner", 0, NULL},
                       {"purpose", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if ((f[2].value == NULL) == (f[3].value == NULL))
        return args_fail(EXIT_USAGE, cmd, "give exactly one of --supi and --group");
    static const char *keys[] = {"af_id", "scope", "supi", "group", "expires", "owner", "purpose"};
    json_t *o = json_object();
    for (size_t i = 0; i < NFLAGS(f); i++)
        if (f[i].value)
            json_object_set_new(o, keys[i], json_string(f[i].value));
    /* "a,b" scopes are accepted as the space-separated OAuth2 form */
    char scope[256];
    snprintf(scope, sizeof(scope), "%s", f[1].value);
    for (char *p = scope; *p; p++)
        if (*p == ',')
            *p = ' ';
    json_object_set_new(o, "scope", json_string(scope));
    return post_json(cmd, "/admin/v1/consents", o);
}

static int consent_revoke(int argc, char **argv)
{
    const char *id;
    int rc = id_arg("consent revoke", argc, argv, "consent id", &id);
    if (rc)
        return rc;
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/consents/%s/revoke", id);
    return admin_call("consent revoke", "POST", path, NULL, NULL, 0);
}

static int opt(const char *cmd, int out, int argc, char **argv)
{
    struct flag f[] = {{"supi", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    return post_json(cmd, "/admin/v1/monitoring-opt-out",
                     json_pack("{s:s, s:b}", "supi", f[0].value, "opt_out", out));
}

static int consent_opt_out(int argc, char **argv) { return opt("consent opt-out", 1, argc, argv); }
static int consent_opt_in(int argc, char **argv) { return opt("consent opt-in", 0, argc, argv); }

static const struct command consent_commands[] = {
    {"grant", consent_grant, "--af AF_ID --scope monitoring-event (--supi SUPI | --group G) "
                             "[--expires RFC3339] [--owner NAME] [--purpose TEXT]"},
    {"revoke", consent_revoke, "CONSENT_ID   (effective for the very next request)"},
    {"opt-out", consent_opt_out, "--supi SUPI   (the owner opts the device out of monitoring: "
                                 "beats every consent)"},
    {"opt-in", consent_opt_in, "--supi SUPI   (withdraws the opt-out)"},
    {"list", consent_list,
     "[--af AF_ID] [--owner O] [--supi SUPI] [--group G] [--state active|revoked|expired] "
     "[--after C] [--limit N]"},
    {"show", consent_show, "CONSENT_ID   (with the external IDs its AF was given)"},
};

int cmd_consent(int argc, char **argv)
{
    return run_command("consent", consent_commands, NFLAGS(consent_commands), argc, argv);
}

int cmd_consent_group_add(int argc, char **argv)
{
    const char *cmd = "group add";
    struct flag f[] = {{"group", 1, NULL}, {"supi", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    char *arg[] = {(char *)f[0].value};
    const char *g;
    if ((rc = id_arg(cmd, 1, arg, "group id", &g)) != 0)
        return rc;
    json_t *supis = list_arg(f[1].value);
    if (supis == NULL)
        return args_fail(EXIT_USAGE, cmd, "--supi is a comma-separated list of SUPIs");
    char path[160];
    snprintf(path, sizeof(path), "/admin/v1/groups/%s/members", g);
    return post_json(cmd, path, json_pack("{s:o}", "supis", supis));
}


static int key_rotate(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "expose rotate-signing-key", "takes no arguments");
    return admin_call("expose rotate-signing-key", "POST", "/admin/v1/expose/signing-keys/rotate",
                      NULL, NULL, 0);
}

static int key_retire(int argc, char **argv)
{
    const char *kid;
    int rc = id_arg("expose retire-signing-key", argc, argv, "kid", &kid);
    if (rc)
        return rc;
    char path[200];
    snprintf(path, sizeof(path), "/admin/v1/expose/signing-keys/%s/retire", kid);
    return admin_call("expose retire-signing-key", "POST", path, NULL, NULL, 0);
}

static const struct command expose_commands[] = {
    {"rotate-signing-key", key_rotate, "  (new tokens use a new key; old tokens still verify)"},
    {"retire-signing-key", key_retire, "KID   (tokens under it are refused from now on)"},
};

int cmd_expose(int argc, char **argv)
{
    return run_command("expose", expose_commands, NFLAGS(expose_commands), argc, argv);
}
