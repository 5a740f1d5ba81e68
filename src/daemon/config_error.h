/* Config errors a person can act on: libcyaml's log lines (which value, which field, which
 * line) collected while loading, then turned into one message naming the key and the line. */
#ifndef IOTSEC_DAEMON_CONFIG_ERROR_H
#define IOTSEC_DAEMON_CONFIG_ERROR_H

#include <cyaml/cyaml.h>
#include <stdarg.h>
#include <stddef.h>

struct config_yaml_log {
    char text[1024]; /* libcyaml's error lines, '\n'-separated */
    size_t len;
};

/* A cyaml_log_fn_t: ctx is a struct config_yaml_log. */
void config_yaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args);

/* "PATH: line N: KEY: what is wrong", from the log (or libcyaml's bare reason without one). */
void config_yaml_explain(const char *path, cyaml_err_t rc, const struct config_yaml_log *log,
                         char *err, size_t err_len);

#endif
