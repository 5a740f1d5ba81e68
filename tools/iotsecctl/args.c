#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

int args_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "iotsecctl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static struct flag *find(struct flag *flags, size_t nflags, const char *name)
{
    for (size_t i = 0; i < nflags; i++) {
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    }
    return NULL;
}

int args_parse(const char *cmd, int argc, char **argv, struct flag *flags, size_t nflags)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return args_fail(EXIT_USAGE, cmd, "unexpected argument (flags are --name VALUE)");
        struct flag *f = find(flags, nflags, arg + 2);
        if (f == NULL)
            return args_fail(EXIT_USAGE, cmd, "unknown option %.40s", arg);
        if (f->value != NULL)
            return args_fail(EXIT_USAGE, cmd, "%s given twice", arg);
        if (i + 1 >= argc)
            return args_fail(EXIT_USAGE, cmd, "%s needs a value", arg);
        f->value = argv[++i];
    }
    for (size_t i = 0; i < nflags; i++) {
        if (flags[i].required && flags[i].value == NULL)
            return args_fail(EXIT_USAGE, cmd, "missing --%s", flags[i].name);
    }
    return 0;
}

const char *args_get(const struct flag *flags, size_t nflags, const char *name)
{
    for (size_t i = 0; i < nflags; i++) {
        if (strcmp(flags[i].name, name) == 0)
            return flags[i].value;
    }
    return NULL;
}

int args_hex(const char *cmd, const struct flag *flags, size_t nflags, const char *name,
             uint8_t *out, size_t len)
{
    const char *v = args_get(flags, nflags, name);
    if (v == NULL)
        return args_fail(EXIT_USAGE, cmd, "missing --%s", name);
    if (hex_decode(v, out, len) != 0) {
        size_t digits = strlen(v);
        const char *why = digits % 2 ? "odd number of hex digits"
                          : digits != 2 * len ? "wrong length"
                                              : "not hex";
        return args_fail(EXIT_USAGE, cmd, "--%s: %s: expected %zu hex digits (%zu bytes)", name,
                         why, 2 * len, len);
    }
    return 0;
}

int args_int(const char *cmd, const char *name, const char *value, long min, long max,
             long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return args_fail(EXIT_USAGE, cmd, "--%s: expected an integer from %ld to %ld", name,
                         min, max);
    *out = v;
    return 0;
}
