/* Flag parsing for iotsecctl subcommands: every flag is "--name VALUE"; unknown, repeated,
 * or value-less flags and missing required ones are usage errors (exit 2), reported with
 * the flag's name only, never its value (values may be keys). */
#ifndef IOTSECCTL_ARGS_H
#define IOTSECCTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_USAGE 2  /* bad input: malformed flag, hex, identity... */
#define EXIT_VERIFY 1 /* well-formed input that failed verification (a MAC) */

struct flag {
    const char *name;  /* without the leading "--" */
    int required;
    const char *value; /* set by args_parse; NULL when absent */
};

/* Parses argv against flags. On error prints "iotsecctl <cmd>: <reason>" on stderr and
 * returns EXIT_USAGE; otherwise 0. */
int args_parse(const char *cmd, int argc, char **argv, struct flag *flags, size_t nflags);

/* The flag's value, or NULL. */
const char *args_get(const struct flag *flags, size_t nflags, const char *name);

/* Decodes the flag's hex value into exactly len bytes; on error prints which flag and what
 * length was expected, and returns EXIT_USAGE. */
int args_hex(const char *cmd, const struct flag *flags, size_t nflags, const char *name,
             uint8_t *out, size_t len);

/* Parses a decimal integer in [min, max]; on error prints and returns EXIT_USAGE. */
int args_int(const char *cmd, const char *name, const char *value, long min, long max,
             long *out);

/* Prints "iotsecctl <cmd>: <message>" on stderr and returns the given exit code. */
int args_fail(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
