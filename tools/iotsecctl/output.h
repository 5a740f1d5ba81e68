/* How iotsecctl prints the daemon's answers (--output): JSON as the daemon sent it (the
 * default when stdout is not a terminal: scripts), a table for people (the default on a
 * terminal), or CSV for spreadsheets. A table or CSV has one line per object of the answer's
 * list (its one array of objects beside a few scalars such as a cursor), columns the union of
 * their keys; any other answer (a `show`) is one line per key. */
#ifndef IOTSECCTL_OUTPUT_H
#define IOTSECCTL_OUTPUT_H

#include <stdio.h>

enum output_mode { OUTPUT_AUTO, OUTPUT_JSON, OUTPUT_TABLE, OUTPUT_CSV };

/* Parses "json", "table" or "csv"; -1 otherwise. */
int output_parse(const char *name);
void output_set(enum output_mode mode);
/* The mode in force (AUTO resolved by isatty(stdout)). */
enum output_mode output_get(void);

/* Prints one answer body (JSON text) to out in the mode in force; text that is not JSON is
 * printed as it is. */
void output_print(FILE *out, const char *json_text);

#endif
