/* iotsecctl: the operator's command line.
 *   iotsecctl crypto ...                 the 3GPP algorithms offline
 *   iotsecctl --dir DIR subscriber ...   the instance's admin face
 * One JSON object on stdout; exit 0 on success, 2 on bad input, 1 otherwise (a MAC that does
 * not verify, a daemon that cannot be reached or refuses). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"
#include "output.h"

static const struct command groups[] = {
    {"crypto", cmd_crypto, "3GPP algorithms offline (milenage, he-av, eap-aka-prime, auts, "
                           "suci-conceal, suci-decode, suci-keygen, ue-respond)"},
    {"subscriber", cmd_subscriber, "subscriptions: add, import, show, list, rotate, suspend, "
                                   "resume, revoke, activate, release, quarantine, delete"},
    {"hn-keys", cmd_hn_keys, "the home network's SUCI public keys"},
    {"keys", cmd_keys, "the key-encryption key: rotate-kek (online re-wrap), status"},
    {"analytics", cmd_analytics, "security analytics: eval (offline, labelled captures); ingest, "
                                 "map, findings (the daemon)"},
    {"policy", cmd_policy, "actions on findings: show, set, actions (audit), throttles"},
    {"manufacturer", cmd_manufacturer,
     "device manufacturers and their factory CAs: add, list, show"},
    {"enrollment", cmd_enrollment,
     "who may onboard: add, list, show, update, delete, disable, enable"},
    {"gateway", cmd_gateway, "gateways that may relay onboarding: add, list, show"},
    {"device", cmd_device,
     "devices: list, show, rotate, transfer, accept; release, quarantine, actions, "
     "locations (by SUPI)"},
    {"owner", cmd_owner, "device owners (tenants) and their keys: add, list, show"},
    {"activation", cmd_activation, "bulk activations recorded: list, show (pending or applied)"},
    {"activate", cmd_bulk_activate, "FILE   bulk activation (JSON lines {registration_id|serial, "
                               "account, service})"},
    {"provisioning-key", cmd_provisioning_key, "the Ed25519 key devices pin"},
    {"audit", cmd_audit, "credentials (the default: expiring soon, expired, revoked but seen, "
                         "shared); log, verify (northbound decisions, the hash chain)"},
    {"location", cmd_location, "authorised areas and cell positions: set-area, clear-area, "
                               "set-cells, show, history"},
    {"af", cmd_af,
     "application functions of the northbound face: add, update, list, show, disable, enable"},
    {"consent", cmd_consent,
     "owners' consents for AFs: grant, list, show (with the external ids), revoke"},
    {"group", cmd_group, "message groups (create, add, remove, show, list); consent groups (add)"},
    {"pin", cmd_pin, "Personal IoT Networks: list, show, delete (roles: subscriber set-roles)"},
    {"expose", cmd_expose, "northbound token keys: rotate-signing-key, retire-signing-key"},
    {"user", cmd_user, "operator accounts: add, list, show, disable, enable, unlock, "
                       "reset-password, set-cert, clear-cert"},
    {"backup", cmd_backup, "FILE   an online copy of the instance's SQLite database (not the KEK)"},
};

#ifndef IOTSEC_VERSION
#define IOTSEC_VERSION "unknown"
#endif

/* The top-level commands that are groups of subcommands: `GROUP -h` is passed to them, and
 * their own table lists the subcommands. */
static bool is_group(const char *name)
{
    static const char *const names[] = {"crypto", "subscriber", "analytics", "policy",
                                        "manufacturer", "enrollment", "gateway", "device",
                                        "owner", "audit", "location", "af", "consent", "group", "activation",
                                        "expose", "pin", "user", "keys"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

static void usage(FILE *out, const char *group, const struct command *table, size_t n)
{
    fprintf(out, "usage: iotsecctl [--dir DIR] %s%sCOMMAND [flags]\n\ncommands:\n",
            group ? group : "", group ? " " : "");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-14s %s\n", table[i].name, table[i].usage);
    if (group == NULL)
        fprintf(out, "\n--dir defaults to $IOTSEC_DIR; COMMAND -h shows a command's flags; "
                     "--version.\n--output json|table|csv: how answers are printed (default: "
                     "table on a terminal, json otherwise).\n");
}

int run_command(const char *group, const struct command *table, size_t n, int argc,
                char **argv)
{
    if (argc < 1 || is_help(argv[0])) {
        usage(argc < 1 ? stderr : stdout, group, table, n);
        return argc < 1 ? EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[0], table[i].name) == 0) {
            if (argc > 1 && is_help(argv[1]) && !(group == NULL && is_group(table[i].name))) {
                printf("usage: iotsecctl %s%s%s %s\n", group ? group : "", group ? " " : "",
                       table[i].name, table[i].usage);
                return 0;
            }
            return table[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "iotsecctl: unknown command '%.40s'\n", argv[0]);
    usage(stderr, group, table, n);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("iotsecctl %s\n", IOTSEC_VERSION);
        return 0;
    }
    /* --output FORMAT, anywhere: taken out before the command sees its flags. */
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--output") != 0)
            continue;
        int m = output_parse(argv[i + 1]);
        if (m < 0)
            return args_fail(EXIT_USAGE, "--output", "expected json, table or csv");
        output_set((enum output_mode)m);
        memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof(*argv)); /* NULL too */
        argc -= 2;
        break;
    }
    if (argc > 2 && strcmp(argv[1], "--dir") == 0) {
        admin_set_dir(argv[2]);
        first = 3;
    }
    return run_command(NULL, groups, sizeof(groups) / sizeof(groups[0]), argc - first,
                       argv + first);
}
