/* SQL text that both engines take: placeholders rewritten to each engine's form, and the
 * choice of backend from the target. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

/* Copies a quoted literal or identifier starting at *i (an opening quote q) to out. */
static void copy_quoted(const char *sql, size_t *i, char *out, size_t *o)
{
    char q = sql[*i];
    out[(*o)++] = sql[(*i)++];
    while (sql[*i] != '\0') {
        char ch = sql[(*i)++];
        out[(*o)++] = ch;
        if (ch == q) {
            if (sql[*i] != q) /* a doubled quote stays inside */
                return;
            out[(*o)++] = sql[(*i)++];
        }
    }
}

char *store_sql_placeholders(const char *sql, bool to_dollar)
{
    size_t len = strlen(sql);
    /* `?` -> `$NNNNN` grows by at most 5 characters per placeholder. */
    char *out = malloc(len * 6 + 1);
    if (out == NULL)
        return NULL;
    size_t i = 0, o = 0;
    int next = 1;
    while (sql[i] != '\0') {
        char ch = sql[i];
        if (ch == '\'' || ch == '"') {
            copy_quoted(sql, &i, out, &o);
        } else if (to_dollar && ch == '?') {
            i++;
            if (isdigit((unsigned char)sql[i])) { /* ?N keeps its number */
                out[o++] = '$';
                while (isdigit((unsigned char)sql[i]))
                    out[o++] = sql[i++];
            } else {
                o += (size_t)sprintf(out + o, "$%d", next);
            }
            next++;
        } else if (!to_dollar && ch == '$' && isdigit((unsigned char)sql[i + 1])) {
            out[o++] = '?';
            i++;
        } else {
            out[o++] = sql[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static bool is_postgresql(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

const struct store_backend *store_backend_for(const char *target)
{
    if (!is_postgresql(target))
        return &store_backend_sqlite;
#ifdef IOTSEC_HAVE_POSTGRESQL
    return &store_backend_postgresql;
#else
    store_set_errmsg("store: this build has no PostgreSQL backend (libpq was not found)");
    return NULL;
#endif
}
