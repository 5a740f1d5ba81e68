/* Checks for operators and crash tests: is the file sound, which schema version is it at.
 * Both read on the calling thread's read connection, never on the writer's. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

int store_integrity_check(struct store *s)
{
    struct store_conn *c;
    int err = store_reader_get(s, &c);
    if (err != IOTSEC_OK)
        return err;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *first = sqlite3_column_text(st, 0);
        if (first != NULL && strcmp((const char *)first, "ok") == 0) {
            err = IOTSEC_OK;
        } else {
            store_set_errmsg("store: integrity_check: %s", first ? (const char *)first : "?");
            err = IOTSEC_ERR_IO;
        }
    } else {
        /* A file damaged enough fails the pragma itself (SQLITE_CORRUPT): also "not ok". */
        err = store_error(c, rc);
        if (err != IOTSEC_ERR_BUSY && err != IOTSEC_ERR_NOMEM)
            err = IOTSEC_ERR_IO;
    }
    sqlite3_finalize(st);
    return err;
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
    sqlite3_stmt *st;
    err = store_stmt(c, "SELECT coalesce(max(version), 0) FROM schema_migrations", &st);
    if (err != IOTSEC_OK)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? IOTSEC_OK : store_error(c, rc);
}
