/* The MUD files (RFC 8520) attached to device groups: one row per group name, the document
 * as the operator gave it (validated first), restored into the engine at start and, after a
 * change (AN_MUD_TOPIC), at every instance's next tick. */
#include <stdio.h>
#include <string.h>

#include "analytics/an_store.h"
#include "base/err.h"

const char ANALYTICS_MIGRATION_MUD[] = "CREATE TABLE an_mud ("
                                       "  grp TEXT PRIMARY KEY,"
                                       "  url TEXT NOT NULL,"
                                       "  doc TEXT NOT NULL,"
                                       "  updated_at INTEGER NOT NULL);";

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int rc = store_step(st);
    return rc == STORE_DONE ? IOTSEC_OK : store_error(conn, rc);
}

int an_store_mud_put(struct store_conn *conn, const char *group, const char *url, const char *doc,
                     int64_t at)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO an_mud(grp, url, doc, updated_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT(grp) DO UPDATE SET url = excluded.url, doc = excluded.doc,"
                        " updated_at = excluded.updated_at",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group, -1);
    store_bind_text(st, 2, url, -1);
    store_bind_text(st, 3, doc, -1);
    store_bind_int64(st, 4, at);
    rc = step_done(conn, st);
    return rc == IOTSEC_OK ? store_topic_bump(conn, AN_MUD_TOPIC) : rc;
}

int an_store_mud_del(struct store_conn *conn, const char *group, bool *found)
{
    struct store_stmt *st;
    int rc = store_stmt(conn, "DELETE FROM an_mud WHERE grp = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, group, -1);
    if ((rc = step_done(conn, st)) == IOTSEC_OK)
        *found = store_changes(conn) > 0;
    return rc == IOTSEC_OK && *found ? store_topic_bump(conn, AN_MUD_TOPIC) : rc;
}

/* Every row (group NULL) or one group's: IOTSEC_ERR_NOTFOUND when that group has none. */
int an_store_mud_load(struct store *s, const char *group, an_mud_row_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        group ? "SELECT grp, url, doc, updated_at FROM an_mud WHERE grp = ?"
                              : "SELECT grp, url, doc, updated_at FROM an_mud ORDER BY grp",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (group)
        store_bind_text(st, 1, group, -1);
    int step, n = 0;
    while ((step = store_step(st)) == STORE_ROW) {
        n++;
        fn(ctx, store_col_text(st, 0), store_col_text(st, 1), store_col_text(st, 2),
           store_col_int64(st, 3));
    }
    store_reset(st);
    if (step != STORE_DONE)
        return store_error(conn, step);
    return group && n == 0 ? IOTSEC_ERR_NOTFOUND : IOTSEC_OK;
}
