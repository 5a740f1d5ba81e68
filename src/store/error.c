/* SQLite result codes to base/err.h, and the per-thread message that says what SQLite said.
 * The message is per thread because the failing call and the log line that reports it are on
 * the same thread (a job's done callback: the writer thread). */
#include <stdarg.h>
#include <stdio.h>

#include "base/err.h"
#include "store/store_internal.h"

static _Thread_local char last_errmsg[512];

const char *store_errmsg(void)
{
    return last_errmsg;
}

void store_set_errmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_errmsg, sizeof(last_errmsg), fmt, ap);
    va_end(ap);
}

int store_map_sqlite(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) { /* the primary code of an extended one */
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return IOTSEC_OK;
    case SQLITE_CONSTRAINT:
        return IOTSEC_ERR_CONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return IOTSEC_ERR_BUSY;
    case SQLITE_NOMEM:
        return IOTSEC_ERR_NOMEM;
    case SQLITE_FULL: /* the disk (or the file size limit): overload, not a bug */
        return IOTSEC_ERR_FULL;
    default:
        return IOTSEC_ERR_IO;
    }
}

int store_error(struct store_conn *conn, int sqlite_rc)
{
    int err = store_map_sqlite(sqlite_rc);
    if (err == IOTSEC_OK)
        return IOTSEC_OK;
    /* The connection's message is the detailed one ("UNIQUE constraint failed: t.id") when it
     * belongs to this code; otherwise fall back to the generic text of the code. */
    const char *msg = NULL;
    if (conn != NULL && conn->db != NULL && sqlite3_extended_errcode(conn->db) == sqlite_rc)
        msg = sqlite3_errmsg(conn->db);
    if (msg == NULL)
        msg = sqlite3_errstr(sqlite_rc);
    store_set_errmsg("sqlite: %s (code %d)", msg, sqlite_rc);
    return err;
}
