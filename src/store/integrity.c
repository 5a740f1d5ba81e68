/* Checks for operators and crash tests: is the file sound, which schema version is it at;
 * and the operator's online backup. All read on the calling thread's read connection, never on the writer's. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

int store_integrity_check(struct store *s)
{
    struct store_conn *c;
    int err = store_reader_get(s, &c);
    return err == IOTSEC_OK ? c->be->integrity_check(c) : err;
}

int store_backup(struct store *s, const char *path)
{
    if (s == NULL || path == NULL || path[0] == '\0')
        return IOTSEC_ERR_INVALID;
    struct store_conn *c;
    int err = store_reader_get(s, &c);
    if (err != IOTSEC_OK)
        return err;
    if (c->be->backup == NULL) {
        store_set_errmsg("backup: the %s store has its own backup tools (docs/operations.md)",
                         c->be->name);
        return IOTSEC_ERR_UNSUPPORTED;
    }
    return c->be->backup(c, path);
}

int store_schema_version(struct store *s, int *version)
{
    if (version == NULL)
        return IOTSEC_ERR_INVALID;
    *version = 0;
    struct store_conn *c;
    int err = store_reader_get(s, &c);
    if (err != IOTSEC_OK)
        return err;
    struct store_stmt *st;
    err = store_stmt(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", &st);
    if (err != IOTSEC_OK)
        return err;
    int rc = store_step(st);
    if (rc == STORE_ROW)
        *version = store_col_int(st, 0);
    store_reset(st);
    return rc == STORE_ROW ? IOTSEC_OK : store_error(c, rc);
}
