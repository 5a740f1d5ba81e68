/* iotsecctl's command tables: a command group (e.g. "crypto") dispatches to subcommands. */
#ifndef IOTSECCTL_H
#define IOTSECCTL_H

#include <stdbool.h>
#include <stddef.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv holds the flags after the subcommand */
    const char *usage;
};

/* Runs the subcommand named by argv[0] from table, or prints the group's usage. */
int run_command(const char *group, const struct command *table, size_t n, int argc, char **argv);

int cmd_crypto(int argc, char **argv);
int cmd_subscriber(int argc, char **argv);
int cmd_hn_keys(int argc, char **argv);
int cmd_keys(int argc, char **argv); /* cmd_keys.c */
int cmd_analytics(int argc, char **argv);
int cmd_analytics_ingest(int argc, char **argv);
int cmd_analytics_map(int argc, char **argv);
int cmd_analytics_findings(int argc, char **argv);
int cmd_analytics_conditions(int argc, char **argv);
int cmd_analytics_mud(int argc, char **argv); /* cmd_analytics_mud.c */
/* A MUD file read whole (at most 64 KiB); NULL after printing why. */
char *mud_read_file(const char *cmd, const char *path, size_t *len);
int cmd_policy(int argc, char **argv);
/* cmd_operator.c: release and quarantine (device and subscriber groups), device actions */
int cmd_operator_state(const char *group, const char *base, bool quarantine, int argc, char **argv);
int cmd_device_release(int argc, char **argv);
int cmd_device_quarantine(int argc, char **argv);
int cmd_device_actions(int argc, char **argv);
int cmd_device_locations(int argc, char **argv); /* cmd_location.c: the location history */
/* Provisioning (cmd_provision.c) and the credential audit (cmd_audit_credentials.c). */
int cmd_manufacturer(int argc, char **argv);
int cmd_enrollment(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_bulk_activate(int argc, char **argv);
int cmd_provisioning_key(int argc, char **argv);
int cmd_owner(int argc, char **argv);
int cmd_activation(int argc, char **argv);
int cmd_audit_credentials(int argc, char **argv);
/* the northbound face (cmd_expose.c, cmd_audit_log.c) */
int cmd_af(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_group(int argc, char **argv);             /* cmd_group.c: message groups */
int cmd_consent_group_add(int argc, char **argv); /* cmd_expose.c: a consent group */
int cmd_expose(int argc, char **argv);
int cmd_audit_log(int argc, char **argv);    /* audit log ... */
int cmd_audit_verify(int argc, char **argv); /* audit verify */
int cmd_audit(int argc, char **argv); /* the "audit" group: credentials (default), log, verify */
int cmd_location(int argc, char **argv);
int cmd_pin(int argc, char **argv);           /* pin list|show|delete */
int cmd_pin_set_roles(int argc, char **argv); /* subscriber set-roles */
int cmd_backup(int argc, char **argv);        /* cmd_backup.c */
int cmd_user(int argc, char **argv);          /* cmd_user.c: operator accounts */

#endif
