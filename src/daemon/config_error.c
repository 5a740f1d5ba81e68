#include "daemon/config_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_yaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    struct config_yaml_log *log = ctx;
    if (level < CYAML_LOG_ERROR || log->len >= sizeof(log->text) - 1)
        return;
    int n = vsnprintf(log->text + log->len, sizeof(log->text) - log->len, fmt, args);
    if (n > 0)
        log->len +=
            (size_t)n < sizeof(log->text) - log->len ? (size_t)n : sizeof(log->text) - 1 - log->len;
}

/* The 1-based line of the first "KEY:" in the file (0 when not found). */
static int line_of_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    size_t klen = strlen(key);
    for (int n = 1; fgets(line, sizeof(line), f) != NULL; n++) {
        const char *p = line + strspn(line, " \t-{,");
        if (strncmp(p, key, klen) == 0 && p[klen + strspn(p + klen, " \t")] == ':') {
            fclose(f);
            return n;
        }
    }
    fclose(f);
    return 0;
}

void config_yaml_explain(const char *path, cyaml_err_t rc, const struct config_yaml_log *log,
                         char *err, size_t err_len)
{
    /* The log: "Load: <reason>\n", "Load: Backtrace:\n", then "  in mapping field 'k' (line:
     * L, column: C)" from the innermost field outwards. */
    char reason[256] = "", key[256] = "", unknown[128] = "";
    int line = 0;
    char copy[sizeof(log->text)];
    snprintf(copy, sizeof(copy), "%.*s", (int)log->len, log->text);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "Load: ", 6) == 0)
            l += 6;
        l += strspn(l, " ");
        const char *field = strstr(l, "mapping field '");
        if (field != NULL) {
            char name[96];
            if (sscanf(field, "mapping field '%95[^']'", name) != 1)
                continue;
            const char *at = strstr(field, "(line: ");
            if (line == 0 && at != NULL)
                line = atoi(at + 7);
            /* outer fields come later in the backtrace: prepend "name." */
            size_t nl = strlen(name), kl = strlen(key), dot = kl ? 1 : 0;
            if (nl + dot + kl < sizeof(key)) {
                memmove(key + nl + dot, key, kl + 1);
                memcpy(key, name, nl);
                if (dot)
                    key[nl] = '.';
            }
        } else if (sscanf(l, "Unexpected key: %127s", unknown) == 1) {
            continue;
        } else if (reason[0] == '\0' && strncmp(l, "Backtrace", 9) != 0 &&
                   strncmp(l, "in ", 3) != 0) {
            snprintf(reason, sizeof(reason), "%s", l);
        }
    }
    if (unknown[0] != '\0') {
        int at = line_of_key(path, unknown);
        char where[32] = "";
        if (at > 0)
            snprintf(where, sizeof(where), "line %d: ", at);
        snprintf(err, err_len, "%s: %sunknown key '%s'%s%s (unknown keys are errors: a typo?)",
                 path, where, unknown, key[0] ? " in " : "", key);
    } else if (key[0] != '\0') {
        snprintf(err, err_len, "%s: line %d: %s: %s", path, line, key,
                 reason[0] ? reason : cyaml_strerror(rc));
    } else {
        snprintf(err, err_len, "%s: %s%s%s", path, cyaml_strerror(rc), reason[0] ? ": " : "",
                 reason);
    }
}
