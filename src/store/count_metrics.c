#include "store/count_metrics.h"

#include "base/err.h"

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static int append_label_value(struct strbuf *out, const char *v)
{
    int rc = IOTSEC_OK;
    for (const char *p = v ? v : ""; rc == IOTSEC_OK && *p; p++) {
        if (*p == '\\' || *p == '"')
            rc = strbuf_appendf(out, "\\%c", *p);
        else if (*p == '\n')
            rc = strbuf_appendf(out, "\\n");
        else
            rc = strbuf_appendf(out, "%c", *p);
    }
    return rc;
}

int store_count_metrics(struct store *s, const char *sql, const char *name, const char *type,
                        const char *help, const char *const *labels, unsigned n_labels,
                        struct strbuf *out)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    rc = strbuf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    int step = STORE_DONE;
    while (rc == IOTSEC_OK && (step = store_step(st)) == STORE_ROW) {
        rc = strbuf_appendf(out, "%s%s", name, n_labels ? "{" : "");
        for (unsigned i = 0; rc == IOTSEC_OK && i < n_labels; i++) {
            rc = strbuf_appendf(out, "%s%s=\"", i ? "," : "", labels[i]);
            if (rc == IOTSEC_OK)
                rc = append_label_value(out, store_col_text(st, (int)i));
            if (rc == IOTSEC_OK)
                rc = strbuf_appendf(out, "\"");
        }
        if (rc == IOTSEC_OK)
            rc = strbuf_appendf(out, "%s %lld\n", n_labels ? "}" : "",
                                (long long)store_col_int64(st, (int)n_labels));
    }
    store_reset(st);
    if (rc != IOTSEC_OK)
        return rc;
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
