/* iotsecctl's command tables: a command group (e.g. "crypto") dispatches to subcommands. */
#ifndef IOTSECCTL_H
#define IOTSECCTL_H

#include <stddef.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv holds the flags after the subcommand */
    const char *usage;
};

/* Runs the subcommand named by argv[0] from table, or prints the group's usage. */
int run_command(const char *group, const struct command *table, size_t n, int argc,
                char **argv);

int cmd_crypto(int argc, char **argv);
int cmd_subscriber(int argc, char **argv);
int cmd_hn_keys(int argc, char **argv);
int cmd_analytics(int argc, char **argv);
/* the northbound face (cmd_expose.c, cmd_audit_log.c) */
int cmd_af(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_expose(int argc, char **argv);
int cmd_audit_log(int argc, char **argv);    /* audit log ... */
int cmd_audit_verify(int argc, char **argv); /* audit verify */
int cmd_audit_expose(int argc, char **argv); /* the "audit" group: log, verify */
int cmd_location(int argc, char **argv);

#endif
