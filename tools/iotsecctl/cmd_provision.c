/* iotsecctl's provisioning commands (docs/provisioning.md, docs/cli.md), thin clients of the
 * admin face: manufacturer, enrollment, gateway, device, activate, provisioning-key. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "list_cmd.h"
#include "iotsecctl.h"

#define NFLAGS(f) (sizeof(f) / sizeof((f)[0]))

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer, or NULL. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n;
    char *buf = malloc(cap + 1);
    *len = 0;
    while (buf && (n = fread(buf + *len, 1, cap - *len, f)) > 0) {
        *len += n;
        if (*len == cap) {
            char *grown = cap * 2 <= max ? realloc(buf, cap * 2 + 1) : NULL;
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static int post_json(const char *cmd, const char *path, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (s == NULL)
        return args_fail(1, cmd, "out of memory");
    int rc = admin_call(cmd, "POST", path, "application/json", s, strlen(s));
    free(s);
    return rc;
}

/* ---- manufacturer ---- */

static int mfr_add(int argc, char **argv)
{
    const char *cmd = "manufacturer add";
    struct flag f[] = {{"name", 1, NULL}, {"ca", 1, NULL}, {"root-key", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    size_t len;
    char *pem = slurp(args_get(f, NFLAGS(f), "ca"), 1 << 20, &len);
    if (pem == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read --ca");
    json_t *o = json_pack("{s:s, s:s}", "name", args_get(f, NFLAGS(f), "name"), "ca_pem", pem);
    if (args_get(f, NFLAGS(f), "root-key"))
        json_object_set_new(o, "root_public_key", json_string(args_get(f, NFLAGS(f), "root-key")));
    rc = post_json(cmd, "/admin/v1/manufacturers", o);
    free(pem);
    return rc;
}

static int mfr_list(int argc, char **argv)
{
    static const char *const filters[] = {"name", NULL};
    return list_call("manufacturer list", "/admin/v1/manufacturers", filters, argc, argv);
}

static int mfr_show(int argc, char **argv)
{
    return show_call("manufacturer show", "/admin/v1/manufacturers", argc, argv);
}

static const struct command mfr_commands[] = {
    {"add", mfr_add, "--name NAME --ca CA.pem [--root-key B64URL]   (the factory CA of its "
                     "device certificates; the Ed25519 root of its ownership vouchers)"},
    {"list", mfr_list, "[--name NAME] [--after C] [--limit N]"},
    {"show", mfr_show, "ID"},
};

int cmd_manufacturer(int argc, char **argv)
{
    return run_command("manufacturer", mfr_commands, NFLAGS(mfr_commands), argc, argv);
}

/* ---- enrollment ---- */

static int set_int(const char *cmd, json_t *o, const char *key, const char *flag,
                   const char *value, long min, long max)
{
    long v;
    if (value == NULL)
        return 0;
    int rc = args_int(cmd, flag, value, min, max, &v);
    if (rc == 0)
        json_object_set_new(o, key, json_integer(v));
    return rc;
}

/* --max-credential-age DAYS: the API takes seconds. */
static int set_days(const char *cmd, json_t *o, const char *key, const char *flag,
                    const char *value)
{
    long days;
    if (value == NULL)
        return 0;
    int rc = args_int(cmd, flag, value, 1, 36500, &days);
    if (rc == 0)
        json_object_set_new(o, key, json_integer((json_int_t)days * 86400));
    return rc;
}

static int enr_add(int argc, char **argv)
{
    const char *cmd = "enrollment add";
    struct flag f[] = {
        {"kind", 1, NULL},          {"attestation", 1, NULL},   {"supi-first", 1, NULL},
        {"supi-last", 1, NULL},     {"manufacturer", 0, NULL},  {"registration-id", 0, NULL},
        {"cert-sha256", 0, NULL},   {"serial", 0, NULL},        {"group-key", 0, NULL},
        {"owner", 0, NULL},         {"service", 0, NULL},       {"lifetime-s", 0, NULL},
        {"reprovision", 0, NULL},   {"quota", 0, NULL},         {"rate-per-s", 0, NULL},
        {"requires-activation", 0, NULL}, {"routing-indicator", 0, NULL},
        {"disabled", 0, NULL},      {"max-credential-age", 0, NULL}, {"name", 0, NULL},
    };
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
#define G(n) args_get(f, NFLAGS(f), n)
    const char *att = G("attestation");
    if (strcmp(att, "x509") && strcmp(att, "derived-key") && strcmp(att, "derived_key"))
        return args_fail(EXIT_USAGE, cmd, "--attestation: x509 or derived-key");
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}}", "kind", G("kind"), "attestation",
                          strcmp(att, "x509") == 0 ? "x509" : "derived_key", "supi_range",
                          "first", G("supi-first"), "last", G("supi-last"));
    static const char *const strs[][2] = {
        {"manufacturer", "manufacturer"}, {"registration-id", "registration_id"},
        {"cert-sha256", "cert_sha256"},   {"serial", "serial"},
        {"group-key", "group_key"},       {"owner", "owner"},
        {"reprovision", "reprovision"},   {"routing-indicator", "routing_indicator"},
        {"name", "name"},
    };
    for (size_t i = 0; i < NFLAGS(strs); i++)
        if (G(strs[i][0]))
            json_object_set_new(o, strs[i][1], json_string(G(strs[i][0])));
    if (G("service")) {
        json_t *svc = json_loads(G("service"), JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(svc)) {
            json_decref(svc);
            json_decref(o);
            return args_fail(EXIT_USAGE, cmd, "--service: a JSON object");
        }
        json_object_set_new(o, "service", svc);
    }
    if (G("requires-activation"))
        json_object_set_new(o, "requires_activation",
                            json_boolean(strcmp(G("requires-activation"), "yes") == 0));
    if (G("disabled"))
        json_object_set_new(o, "enabled", json_boolean(strcmp(G("disabled"), "yes") != 0));
    if ((rc = set_int(cmd, o, "credential_lifetime_s", "lifetime-s", G("lifetime-s"), 60,
                      3153600000L)) ||
        (rc = set_int(cmd, o, "quota", "quota", G("quota"), 1, 1L << 40)) ||
        (rc = set_int(cmd, o, "rate_per_s", "rate-per-s", G("rate-per-s"), 1, 1000000)) ||
        (rc = set_days(cmd, o, "max_credential_age_s", "max-credential-age",
                       G("max-credential-age")))) {
        json_decref(o);
        return rc;
    }
#undef G
    return post_json(cmd, "/admin/v1/enrollments", o);
}

static int one_id(const char *cmd, int argc, char **argv, const char **id)
{
    if (argc != 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "expected one ID");
    *id = argv[0];
    return 0;
}

static int enr_action(const char *what, int argc, char **argv)
{
    char cmd[64], path[160];
    const char *id = NULL;
    snprintf(cmd, sizeof(cmd), "enrollment %s", what);
    int rc = one_id(cmd, argc, argv, &id);
    if (rc)
        return rc;
    long n;
    if ((rc = args_int(cmd, "ID", id, 1, 1L << 62, &n)))
        return rc;
    snprintf(path, sizeof(path), "/admin/v1/enrollments/%ld/%s", n, what);
    return admin_call(cmd, "POST", path, NULL, NULL, 0);
}

static int enr_disable(int argc, char **argv) { return enr_action("disable", argc, argv); }
static int enr_enable(int argc, char **argv) { return enr_action("enable", argc, argv); }

static int enr_list(int argc, char **argv)
{
    static const char *const filters[] = {"owner", "kind", "enabled", "manufacturer", "name",
                                          NULL};
    return list_call("enrollment list", "/admin/v1/enrollments", filters, argc, argv);
}

static int enr_show(int argc, char **argv)
{
    return show_call("enrollment show", "/admin/v1/enrollments", argc, argv);
}

/* update ID|NAME --name N --enabled yes|no --quota N ...: a PATCH of the given fields. */
static int enr_update(int argc, char **argv)
{
    const char *cmd = "enrollment update";
    if (argc < 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "expected ID|NAME and the fields to change");
    struct flag f[] = {{"name", 0, NULL},       {"owner", 0, NULL},     {"enabled", 0, NULL},
                       {"quota", 0, NULL},      {"rate-per-s", 0, NULL}, {"lifetime-s", 0, NULL},
                       {"reprovision", 0, NULL}, {"requires-activation", 0, NULL},
                       {"max-credential-age", 0, NULL}};
    int rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f));
    if (rc)
        return rc;
#define G(n) args_get(f, NFLAGS(f), n)
    json_t *o = json_object();
    if (G("name"))
        json_object_set_new(o, "name", json_string(G("name")));
    if (G("owner"))
        json_object_set_new(o, "owner", json_string(G("owner")));
    if (G("reprovision"))
        json_object_set_new(o, "reprovision", json_string(G("reprovision")));
    if (G("enabled"))
        json_object_set_new(o, "enabled", json_boolean(strcmp(G("enabled"), "yes") == 0));
    if (G("requires-activation"))
        json_object_set_new(o, "requires_activation",
                            json_boolean(strcmp(G("requires-activation"), "yes") == 0));
    if ((rc = set_int(cmd, o, "credential_lifetime_s", "lifetime-s", G("lifetime-s"), 60,
                      3153600000L)) ||
        (rc = set_int(cmd, o, "quota", "quota", G("quota"), 0, 1L << 40)) ||
        (rc = set_int(cmd, o, "rate_per_s", "rate-per-s", G("rate-per-s"), 0, 1000000)) ||
        (rc = set_days(cmd, o, "max_credential_age_s", "max-credential-age",
                       G("max-credential-age")))) {
        json_decref(o);
        return rc;
    }
#undef G
    char *s = json_dumps(o, JSON_COMPACT), *esc = curl_easy_escape(NULL, argv[0], 0), path[300];
    json_decref(o);
    snprintf(path, sizeof(path), "/admin/v1/enrollments/%s", esc ? esc : "");
    curl_free(esc);
    rc = s ? admin_call(cmd, "PATCH", path, "application/json", s, strlen(s)) : 1;
    free(s);
    return rc;
}

static int enr_delete(int argc, char **argv)
{
    const char *cmd = "enrollment delete";
    if (argc != 1 || argv[0][0] == '-')
        return args_fail(EXIT_USAGE, cmd, "expected one ID|NAME");
    char *esc = curl_easy_escape(NULL, argv[0], 0), path[300];
    snprintf(path, sizeof(path), "/admin/v1/enrollments/%s", esc ? esc : "");
    curl_free(esc);
    return admin_call(cmd, "DELETE", path, NULL, NULL, 0);
}

static const struct command enr_commands[] = {
    {"add", enr_add,
     "--kind individual|group --attestation x509|derived-key --supi-first imsi-.. "
     "--supi-last imsi-.. [--manufacturer NAME] [--registration-id ID | --cert-sha256 HEX | "
     "--serial HEX] [--group-key B64URL (else generated and printed once)] [--owner NAME] "
     "[--service JSON] [--lifetime-s N] [--reprovision keep|reset|never] [--quota N] "
     "[--rate-per-s N] [--requires-activation yes|no] [--routing-indicator DIGITS] "
     "[--disabled yes] [--max-credential-age DAYS (then rotated over the air)] [--name NAME]"},
    {"list", enr_list,
     "[--owner O] [--kind individual|group] [--enabled true|false] [--manufacturer ID] "
     "[--name NAME] [--after C] [--limit N]"},
    {"show", enr_show, "ID|NAME"},
    {"update", enr_update,
     "ID|NAME [--name N] [--owner O] [--enabled yes|no] [--quota N] [--rate-per-s N] "
     "[--lifetime-s N] [--reprovision keep|reset|never] [--requires-activation yes|no] "
     "[--max-credential-age DAYS]"},
    {"delete", enr_delete, "ID|NAME   (refused while devices are registered under it)"},
    {"disable", enr_disable, "ID"},
    {"enable", enr_enable, "ID"},
};

int cmd_enrollment(int argc, char **argv)
{
    return run_command("enrollment", enr_commands, NFLAGS(enr_commands), argc, argv);
}

/* ---- gateway ---- */

static int gw_add(int argc, char **argv)
{
    const char *cmd = "gateway add";
    struct flag f[] = {{"name", 1, NULL}, {"cert", 1, NULL}, {"enrollment", 0, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    json_t *ids = json_array();
    const char *e = args_get(f, NFLAGS(f), "enrollment");
    long id;
    if (e && (rc = args_int(cmd, "enrollment", e, 1, 1L << 62, &id))) {
        json_decref(ids);
        return rc;
    }
    if (e)
        json_array_append_new(ids, json_integer(id));
    size_t len;
    char *pem = slurp(args_get(f, NFLAGS(f), "cert"), 1 << 20, &len);
    if (pem == NULL) {
        json_decref(ids);
        return args_fail(EXIT_USAGE, cmd, "cannot read --cert");
    }
    rc = post_json(cmd, "/admin/v1/gateways",
                   json_pack("{s:s, s:s, s:o}", "name", args_get(f, NFLAGS(f), "name"),
                             "cert_pem", pem, "enrollments", ids));
    free(pem);
    return rc;
}

static int gw_list(int argc, char **argv)
{
    static const char *const filters[] = {"enrollment", NULL};
    return list_call("gateway list", "/admin/v1/gateways", filters, argc, argv);
}

static int gw_show(int argc, char **argv)
{
    return show_call("gateway show", "/admin/v1/gateways", argc, argv);
}

/* activation list / show: what bulk activation recorded, pending until the device confirms. */
static int act_list(int argc, char **argv)
{
    static const char *const filters[] = {"account", "state", NULL};
    return list_call("activation list", "/admin/v1/activations", filters, argc, argv);
}

static int act_show(int argc, char **argv)
{
    return show_call("activation show", "/admin/v1/activations", argc, argv);
}

static const struct command act_commands[] = {
    {"list", act_list, "[--account A] [--state pending|applied] [--after KEY] [--limit N]"},
    {"show", act_show, "reg:REGISTRATION_ID | serial:HEX"},
};

int cmd_activation(int argc, char **argv)
{
    return run_command("activation", act_commands, NFLAGS(act_commands), argc, argv);
}

static const struct command gw_commands[] = {
    {"add", gw_add, "--name NAME --cert GATEWAY.pem [--enrollment ID]   (who may relay)"},
    {"list", gw_list, "[--enrollment ID] [--after C] [--limit N]"},
    {"show", gw_show, "ID   (with the enrollments it relays for)"},
};

int cmd_gateway(int argc, char **argv)
{
    return run_command("gateway", gw_commands, NFLAGS(gw_commands), argc, argv);
}

/* ---- device ---- */

static int dev_list(int argc, char **argv)
{
    static const char *const filters[] = {"enrollment", "state", "owner", "account", "confirmed",
                                          NULL};
    return list_call("device list", "/admin/v1/devices", filters, argc, argv);
}

static bool id_safe(const char *id)
{
    for (const char *p = id; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '/' || *p == '?' || *p == '%' || *p == '#')
            return false;
    return id[0] != '\0' && strlen(id) <= 128;
}

static int dev_id_call(const char *what, const char *method, const char *suffix, int argc,
                       char **argv)
{
    char cmd[64], path[300];
    const char *id = NULL;
    snprintf(cmd, sizeof(cmd), "device %s", what);
    int rc = one_id(cmd, argc, argv, &id);
    if (rc)
        return rc;
    if (!id_safe(id))
        return args_fail(EXIT_USAGE, cmd, "ID: a registration id (visible ASCII, no / ? %% #)");
    snprintf(path, sizeof(path), "/admin/v1/devices/%s%s", id, suffix);
    return admin_call(cmd, method, path, NULL, NULL, 0);
}

static int dev_show(int argc, char **argv) { return dev_id_call("show", "GET", "", argc, argv); }
static int dev_rotate(int argc, char **argv)
{
    return dev_id_call("rotate", "POST", "/rotate", argc, argv);
}

/* transfer ID --to OWNER --voucher FILE (the chain in base64url, signed offline by the
 * current owner); accept ID --owner OWNER */
static int dev_transfer(int argc, char **argv)
{
    const char *cmd = "device transfer";
    if (argc < 1 || argv[0][0] == '-' || !id_safe(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "expected ID --to OWNER --voucher FILE");
    struct flag f[] = {{"to", 1, NULL}, {"voucher", 1, NULL}};
    int rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f));
    if (rc)
        return rc;
    size_t len;
    char *v = slurp(args_get(f, NFLAGS(f), "voucher"), 1 << 20, &len);
    if (v == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read --voucher");
    v[strcspn(v, " \t\r\n")] = '\0';
    char path[300];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/transfer", argv[0]);
    rc = post_json(cmd, path, json_pack("{s:s, s:s}", "to", args_get(f, NFLAGS(f), "to"),
                                        "voucher", v));
    free(v);
    return rc;
}

static int dev_accept(int argc, char **argv)
{
    const char *cmd = "device accept";
    if (argc < 1 || argv[0][0] == '-' || !id_safe(argv[0]))
        return args_fail(EXIT_USAGE, cmd, "expected ID --owner OWNER");
    struct flag f[] = {{"owner", 1, NULL}};
    int rc = args_parse(cmd, argc - 1, argv + 1, f, NFLAGS(f));
    if (rc)
        return rc;
    char path[300];
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/accept", argv[0]);
    return post_json(cmd, path, json_pack("{s:s}", "owner", args_get(f, NFLAGS(f), "owner")));
}

static const struct command dev_commands[] = {
    {"list", dev_list,
     "[--enrollment ID] [--state onboarded|revoked] [--owner O] [--account A] "
     "[--confirmed true|false] [--after N] [--limit N]"},
    {"show", dev_show, "ID   (registration, subscription state, history)"},
    {"rotate", dev_rotate, "ID   (a new credential version waits for the device)"},
    {"transfer", dev_transfer,
     "ID --to OWNER --voucher FILE   (chain signed by the current "
     "owner, base64url)"},
    {"accept", dev_accept, "ID --owner OWNER   (the old subscription is revoked and erased)"},
    {"release", cmd_device_release,
     "SUPI [--reason TEXT] [--by NAME]   quarantined -> active, the policy acts again"},
    {"quarantine", cmd_device_quarantine,
     "SUPI --reason TEXT [--by NAME]   isolate by hand (audited as the policy's actions)"},
    {"actions", cmd_device_actions,
     "SUPI [--after ID]   what was done to it and the evidence of each finding"},
    {"locations", cmd_device_locations,
     "SUPI [--since T] [--until T] [--after C] [--limit N]   its location history, newest "
     "first, each fix inside/outside its authorised area"},
};

int cmd_device(int argc, char **argv)
{
    return run_command("device", dev_commands, NFLAGS(dev_commands), argc, argv);
}

/* ---- owner ---- */

static int owner_add(int argc, char **argv)
{
    const char *cmd = "owner add";
    struct flag f[] = {{"name", 1, NULL}, {"public-key", 1, NULL}};
    int rc = args_parse(cmd, argc, argv, f, NFLAGS(f));
    if (rc)
        return rc;
    return post_json(cmd, "/admin/v1/owners",
                     json_pack("{s:s, s:s}", "name", args_get(f, NFLAGS(f), "name"),
                               "public_key", args_get(f, NFLAGS(f), "public-key")));
}

static int owner_list(int argc, char **argv)
{
    return list_call("owner list", "/admin/v1/owners", NULL, argc, argv);
}

static int owner_show(int argc, char **argv)
{
    return show_call("owner show", "/admin/v1/owners", argc, argv);
}

static const struct command owner_commands[] = {
    {"add", owner_add, "--name NAME --public-key B64URL   (Ed25519: signs its transfers)"},
    {"list", owner_list, "[--after C] [--limit N]"},
    {"show", owner_show, "NAME"},
};

int cmd_owner(int argc, char **argv)
{
    return run_command("owner", owner_commands, NFLAGS(owner_commands), argc, argv);
}

/* ---- activate FILE ---- */

int cmd_bulk_activate(int argc, char **argv)
{
    const char *cmd = "activate";
    if (argc != 1)
        return args_fail(EXIT_USAGE, cmd, "expected one FILE of JSON lines, or - for stdin");
    size_t len;
    char *text = slurp(argv[0], 1u << 30, &len);
    if (text == NULL)
        return args_fail(EXIT_USAGE, cmd, "cannot read %s", argv[0]);
    json_t *items = json_array();
    size_t line = 0;
    for (char *p = text, *next; p && *p; p = next) {
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        line++;
        if (p[strspn(p, " \t\r")] == '\0')
            continue;
        json_t *o = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            json_decref(items);
            free(text);
            return args_fail(EXIT_USAGE, cmd, "line %zu: not a JSON object; nothing sent", line);
        }
        json_array_append_new(items, o);
    }
    free(text);
    return post_json(cmd, "/admin/v1/activations", json_pack("{s:o}", "items", items));
}

/* ---- provisioning-key ---- */

int cmd_provisioning_key(int argc, char **argv)
{
    (void)argv;
    if (argc)
        return args_fail(EXIT_USAGE, "provisioning-key", "takes no arguments");
    return admin_call("provisioning-key", "GET", "/admin/v1/provisioning-key", NULL, NULL, 0);
}
