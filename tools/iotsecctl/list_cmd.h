/* The read-back commands of iotsecctl (`X list`, `X show`): one helper maps flags to the admin
 * face's query parameters (--after, --limit and the collection's filters, flag "--a-b" for
 * parameter "a_b"), percent-encoded; the daemon checks every value and names the bad one. */
#ifndef IOTSECCTL_LIST_CMD_H
#define IOTSECCTL_LIST_CMD_H

/* GET path?after=&limit=&<filters> from "--after C --limit N --<filter> V ..." in argv.
 * filters: NULL-terminated names of the collection's query parameters. */
int list_call(const char *cmd, const char *path, const char *const *filters, int argc, char **argv);

/* GET path/<ID> for the one argument ID (percent-encoded). */
int show_call(const char *cmd, const char *path, int argc, char **argv);

#endif
