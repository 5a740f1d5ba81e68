/* iotsecctl subscriber ... and hn-keys: the admin face's subscriber operations. Keys given
 * on the command line travel to the daemon once and are never printed back. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_client.h"
#include "args.h"
#include "crypto/ct.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* A path segment: SUPIs are [a-z0-9@.-], which need no escaping; anything else is refused. */
static int supi_arg(const char *cmd, int argc, char **argv, const char **supi)
{
    if (argc != 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "expected one SUPI (imsi-<digits> or nai-<user>@<realm>)");
    for (const char *p = argv[0]; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("@.-_", *p)))
            return args_fail(EXIT_USAGE, cmd, "the SUPI has a character it may not have");
    }
    *supi = argv[0];
    return 0;
}

static int cmd_add(int argc, char **argv)
{
    const char *cmd = "subscriber add";
    struct flag f[] = {{"supi", 1, NULL},      {"k", 1, NULL},         {"opc", 0, NULL},
                       {"op", 0, NULL},        {"amf", 1, NULL},       {"sqn", 0, NULL},
                       {"gpsi", 0, NULL},      {"not-after", 0, NULL}, {"owner", 0, NULL},
                       {"auth-method", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    if ((f[2].value == NULL) == (f[3].value == NULL))
        return args_fail(EXIT_USAGE, cmd, "give exactly one of --opc and --op");
    json_t *o = json_object();
    static const char *keys[] = {"supi", "k",         "opc",   "op",         "amf",
                                 "sqn",  "gpsi",      "not_after", "owner", "auth_method"};
    for (size_t i = 0; i < NFLAGS(f); i++) {
        if (f[i].value)
            json_object_set_new(o, keys[i], json_string(f[i].value));
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rc = admin_call(cmd, "POST", "/admin/v1/subscribers", "application/json", body,
                    strlen(body));
    secure_wipe(body, strlen(body));
    free(body);
    return rc;
}

static int cmd_import(int argc, char **argv)
{
    const char *cmd = "subscriber import";
    if (argc != 1)
        return args_fail(EXIT_USAGE, cmd, "expected one FILE (.csv with a header, or JSON "
                                          "lines), or - for standard input");
    FILE *in = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "rb");
    if (in == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot open %s", argv[0]);
    size_t cap = 1 << 20, len = 0, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, in)) > 0) {
        len += n;
        if (len == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL) {
                secure_wipe(buf, len);
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    if (in != stdin)
        fclose(in);
    if (buf == NULL)
        return args_fail(1, cmd, "out of memory");
    size_t skip = strspn(buf, " \t\r\n");
    int jsonl = len > skip && buf[skip] == '{';
    int rc = admin_call(cmd, "POST", "/admin/v1/subscribers/import",
                        jsonl ? "application/x-ndjson" : "text/csv", buf, len);
    secure_wipe(buf, len);
    free(buf);
    return rc;
}

static int cmd_show(int argc, char **argv)
{
    const char *supi;
    char path[512];
    int rc = supi_arg("subscriber show", argc, argv, &supi);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
    long status = 0;
    char *answer = NULL;
    rc = admin_request("subscriber show", "GET", path, NULL, NULL, 0, &status, &answer);
    if (rc != 0 || status != 200) {
        rc = rc ? rc : admin_print_answer("subscriber show", status, answer);
        free(answer);
        return rc;
    }
    /* with the newest authentication results the UDM stored for it (Nudm_UEAU AuthEvent) */
    json_t *sub = json_loads(answer, 0, NULL);
    free(answer);
    answer = NULL;
    long ev_status = 0;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/auth-events", supi);
    rc = admin_request("subscriber show", "GET", path, NULL, NULL, 0, &ev_status, &answer);
    json_t *ev = rc == 0 && ev_status == 200 ? json_loads(answer, 0, NULL) : NULL;
    free(answer);
    if (json_is_object(sub))
        json_object_set(sub, "recent_auth_events",
                        json_is_array(json_object_get(ev, "authEvents"))
                            ? json_object_get(ev, "authEvents")
                            : json_null());
    char *text = sub ? json_dumps(sub, JSON_COMPACT) : NULL;
    rc = admin_print_answer("subscriber show", text ? 200 : 500, text);
    free(text);
    json_decref(sub);
    json_decref(ev);
    return rc;
}

static int cmd_list(int argc, char **argv)
{
    const char *cmd = "subscriber list";
    struct flag f[] = {{"state", 0, NULL}, {"after", 0, NULL}, {"limit", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    char path[512] = "/admin/v1/subscribers";
    char sep = '?';
    for (size_t i = 0; i < NFLAGS(f); i++) {
        if (f[i].value == NULL)
            continue;
        for (const char *p = f[i].value; *p; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                return args_fail(EXIT_USAGE, cmd, "--%s: unexpected character", f[i].name);
        }
        size_t used = strlen(path);
        snprintf(path + used, sizeof(path) - used, "%c%s=%s", sep, f[i].name, f[i].value);
        sep = '&';
    }
    return admin_call(cmd, "GET", path, NULL, NULL, 0);
}

/* suspend, resume, revoke, rotate, activate, release, quarantine: POST .../{supi}/{action} */
static int action(const char *name, int argc, char **argv)
{
    char cmd[64], path[512];
    const char *supi;
    snprintf(cmd, sizeof(cmd), "subscriber %s", name);
    int rc = supi_arg(cmd, argc, argv, &supi);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/%s", supi, name);
    return admin_call(cmd, "POST", path, NULL, NULL, 0);
}

static int cmd_suspend(int argc, char **argv) { return action("suspend", argc, argv); }
static int cmd_resume(int argc, char **argv) { return action("resume", argc, argv); }
static int cmd_revoke(int argc, char **argv)
{
    return action("revoke", argc, argv);
}
static int cmd_activate(int argc, char **argv) { return action("activate", argc, argv); }

static int cmd_release(int argc, char **argv)
{
    return cmd_operator_state("subscriber", "/admin/v1/subscribers", false, argc, argv);
}

static int cmd_quarantine(int argc, char **argv)
{
    return cmd_operator_state("subscriber", "/admin/v1/subscribers", true, argc, argv);
}

#define KEYS_FILE_MAX 4096

/* Reads "K=<hex>" and "OPC=<hex>" (or "OP=<hex>") lines, or a JSON object {"k","opc"|"op"},
 * from path ("-": standard input) into a request body {"k","opc"|"op"}. Messages name the
 * problem, never a value. NULL after printing why. */
static char *keys_body(const char *cmd, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL) {
        args_fail(EXIT_USAGE, cmd, "--keys-file: cannot read %s", path);
        return NULL;
    }
    char buf[KEYS_FILE_MAX + 1];
    size_t n = fread(buf, 1, KEYS_FILE_MAX + 1, in);
    if (in != stdin)
        fclose(in);
    char *body = NULL;
    if (n > KEYS_FILE_MAX) {
        args_fail(EXIT_USAGE, cmd, "--keys-file: more than 4 KiB");
        goto out;
    }
    buf[n] = '\0';
    const char *k = NULL, *opc = NULL, *op = NULL;
    json_t *o = NULL;
    size_t skip = strspn(buf, " \t\r\n");
    if (buf[skip] == '{') {
        o = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        k = json_string_value(json_object_get(o, "k"));
        opc = json_string_value(json_object_get(o, "opc"));
        op = json_string_value(json_object_get(o, "op"));
    } else {
        for (char *line = strtok(buf, "\r\n"); line; line = strtok(NULL, "\r\n")) {
            line += strspn(line, " \t");
            if (line[0] == '#' || line[0] == '\0')
                continue;
            char *eq = strchr(line, '=');
            if (eq == NULL)
                continue;
            *eq = '\0';
            char *v = eq + 1 + strspn(eq + 1, " \t");
            v[strcspn(v, " \t")] = '\0';
            if (strcasecmp(line, "K") == 0)
                k = v;
            else if (strcasecmp(line, "OPC") == 0)
                opc = v;
            else if (strcasecmp(line, "OP") == 0)
                op = v;
        }
    }
    bool hex_ok = true;
    const char *vals[] = {k, opc ? opc : op};
    for (int i = 0; i < 2; i++) {
        if (vals[i] == NULL || strlen(vals[i]) != 32 ||
            strspn(vals[i], "0123456789abcdefABCDEF") != 32)
            hex_ok = false;
    }
    if ((opc == NULL) == (op == NULL) || !hex_ok) {
        args_fail(EXIT_USAGE, cmd,
                  "--keys-file: expected K=<32 hex digits> and OPC=<32 hex "
                  "digits> (or OP=) lines, or {\"k\", \"opc\"|\"op\"}");
    } else {
        json_t *b = json_pack("{s:s, s:s}", "k", k, opc ? "opc" : "op", opc ? opc : op);
        body = b ? json_dumps(b, JSON_COMPACT) : NULL;
        json_decref(b); /* jansson's copies are freed without a wipe: short-lived */
        if (body == NULL)
            args_fail(1, cmd, "out of memory");
    }
    json_decref(o);
out:
    secure_wipe(buf, sizeof(buf));
    return body;
}

/* rotate SUPI [--keys-file F|-]: without keys, over the air (a device that onboarded; the
 * daemon refuses it for a SIM with no such channel); with them, the operator's new K/OPc.
 * Keys are read from a file or stdin, never from the command line (ps, shell history). */
static int cmd_rotate(int argc, char **argv)
{
    const char *cmd = "subscriber rotate";
    const char *supi;
    int rc = supi_arg(cmd, argc > 0 ? 1 : 0, argv, &supi);
    if (rc)
        return rc;
    struct flag f[] = {{"keys-file", 0, NULL}};
    if ((rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f))) != 0)
        return rc;
    char path[512];
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s/rotate", supi);
    const char *file = args_get(f, NFLAGS(f), "keys-file");
    if (file == NULL)
        return admin_call(cmd, "POST", path, NULL, NULL, 0);
    char *body = keys_body(cmd, file);
    if (body == NULL)
        return EXIT_USAGE;
    rc = admin_call(cmd, "POST", path, "application/json", body, strlen(body));
    secure_wipe(body, strlen(body));
    free(body);
    return rc;
}

static int cmd_delete(int argc, char **argv)
{
    const char *supi;
    char path[512];
    int rc = supi_arg("subscriber delete", argc, argv, &supi);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "/admin/v1/subscribers/%s", supi);
    return admin_call("subscriber delete", "DELETE", path, NULL, NULL, 0);
}

static const struct command subscriber_commands[] = {
    {"add", cmd_add,
     "--supi SUPI --k HEX (--opc HEX | --op HEX) --amf HEX [--sqn HEX] [--gpsi GPSI] "
     "[--not-after RFC3339] [--owner NAME] [--auth-method 5G_AKA|EAP_AKA_PRIME]"},
    {"import", cmd_import, "FILE|-   (CSV with a header line, or JSON lines)"},
    {"show", cmd_show, "SUPI"},
    {"list", cmd_list, "[--state STATE] [--after ID] [--limit N]"},
    {"rotate", cmd_rotate,
     "SUPI [--keys-file FILE|-]   over the air for a device that onboarded; otherwise the new "
     "K/OPc from FILE (K=<hex>, OPC=<hex> lines or JSON; - = stdin); the old kept 24 h"},
    {"suspend", cmd_suspend, "SUPI"},
    {"resume", cmd_resume, "SUPI"},
    {"revoke", cmd_revoke, "SUPI   (final)"},
    {"activate", cmd_activate, "SUPI   (pending_activation -> active)"},
    {"release", cmd_release, "SUPI [--reason TEXT] [--by NAME]   quarantined -> active (audited)"},
    {"quarantine", cmd_quarantine, "SUPI --reason TEXT [--by NAME]   isolate by hand (audited)"},
    {"delete", cmd_delete, "SUPI   (crypto-erases the credentials)"},
    {"set-roles", cmd_pin_set_roles,
     "SUPI [--pin-gateway] [--pin-manager]   PIN roles (PEGC, PEMC); none removes them"},
};

int cmd_subscriber(int argc, char **argv)
{
    return run_command("subscriber", subscriber_commands,
                       sizeof(subscriber_commands) / sizeof(subscriber_commands[0]), argc, argv);
}

int cmd_hn_keys(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "hn-keys", "takes no arguments");
    return admin_call("hn-keys", "GET", "/admin/v1/hn-keys", NULL, NULL, 0);
}
