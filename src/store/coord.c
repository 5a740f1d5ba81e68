/* Coordination of several instances through the database itself: topics (a sequence number per
 * name, polled) and leases (a holder and an expiry per name). Both are the store's own tables,
 * in SQL both engines take; see store.h. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

int coord_tables(struct store_conn *conn)
{
    return conn_exec(conn, "CREATE TABLE IF NOT EXISTS store_topics ("
                           " topic TEXT PRIMARY KEY, seq BIGINT NOT NULL);"
                           "CREATE TABLE IF NOT EXISTS store_leases ("
                           " name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
                           " until_ms BIGINT NOT NULL)");
}

void store_set_instance(struct store *s, const char *name)
{
    snprintf(s->instance, sizeof(s->instance), "%s", name ? name : "");
}

int store_topic_bump(struct store_conn *conn, const char *topic)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO store_topics (topic, seq) VALUES ($1, 1) ON CONFLICT (topic)"
                        " DO UPDATE SET seq = store_topics.seq + 1",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, topic, -1);
    rc = store_error(conn, store_step(st));
    store_reset(st);
    return rc;
}

int store_topic_seq(struct store *s, const char *topic, int64_t *seq)
{
    struct store_conn *conn;
    struct store_stmt *st;
    *seq = 0;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT seq FROM store_topics WHERE topic = $1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, topic, -1);
    int step = store_step(st);
    if (step == STORE_ROW)
        *seq = store_col_int64(st, 0);
    store_reset(st);
    return step == STORE_ROW || step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int store_lease_hold(struct store_conn *conn, const char *name, int64_t now_ms, int64_t lease_ms)
{
    const char *me = conn->owner != NULL ? conn->owner->instance : "";
    struct store_stmt *st;
    /* Insert when absent; otherwise take it only from ourselves or an expired holder. The
     * conditional update is re-checked against the committed row, so it is exclusive. */
    int rc = store_stmt(conn,
                        "INSERT INTO store_leases (name, holder, until_ms) VALUES ($1, $2, $3)"
                        " ON CONFLICT (name) DO UPDATE SET holder = $2, until_ms = $3"
                        " WHERE store_leases.holder = $2 OR store_leases.until_ms <= $4",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, name, -1);
    store_bind_text(st, 2, me, -1);
    store_bind_int64(st, 3, now_ms + lease_ms);
    store_bind_int64(st, 4, now_ms);
    rc = store_error(conn, store_step(st));
    store_reset(st);
    if (rc != IOTSEC_OK)
        return rc;
    return store_changes(conn) == 1 ? IOTSEC_OK : IOTSEC_ERR_BUSY;
}

int store_leases_release_all(struct store_conn *conn)
{
    struct store_stmt *st;
    int rc = store_stmt(conn, "DELETE FROM store_leases", &st);
    if (rc != IOTSEC_OK)
        return rc;
    rc = store_step(st);
    return rc == STORE_DONE ? IOTSEC_OK : store_error(conn, rc);
}
