/* The change log of subscriptions (sub_cache.h): a trigger on the subscriptions table records
 * the SUPI of every row whose authentication fields change or that is deleted, under a counter
 * that one row holds. Whatever writes the table (the admin face, policy, provisioning, the
 * expiry sweep, a tool on the database), the log sees it; instances that cache rows poll it.
 *
 * The counter row is updated in the writing transaction and locked until it commits, so
 * sequence numbers are handed out in commit order: a reader that sees N committed has seen
 * every change below N. A sequence (SERIAL) would not give that: a lower number may commit
 * after a higher one and be skipped by a reader that has moved past it. Only the newest
 * SUB_CHANGES_KEPT changes are kept: a reader that falls further behind drops its whole cache. */
#include <stdio.h>

#include "base/err.h"
#include "subscriber/sub_cache.h"

/* The columns whose change matters to a cached row (sub_may_authenticate, the vector, the
 * keys). The SQN marks are not among them: a reservation does not log a change. */
#define WATCHED "state, cred, cred_version, not_before, not_after, auth_method, amf, supi"
#define KEPT    "65536"

const char SUBSCRIBER_MIGRATION_CHANGES[] =
    "CREATE TABLE subscription_change_seq (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL);"
    "INSERT INTO subscription_change_seq (id, seq) VALUES (1, 0);"
    "CREATE TABLE subscription_changes (seq INTEGER PRIMARY KEY, supi TEXT NOT NULL);"
    "CREATE TRIGGER subscriptions_changed AFTER UPDATE OF " WATCHED " ON subscriptions BEGIN"
    " UPDATE subscription_change_seq SET seq = seq + 1 WHERE id = 1;"
    " INSERT INTO subscription_changes (seq, supi)"
    "  SELECT seq, OLD.supi FROM subscription_change_seq WHERE id = 1;"
    " DELETE FROM subscription_changes"
    "  WHERE seq <= (SELECT seq FROM subscription_change_seq WHERE id = 1) - " KEPT ";"
    " END;"
    "CREATE TRIGGER subscriptions_deleted AFTER DELETE ON subscriptions BEGIN"
    " UPDATE subscription_change_seq SET seq = seq + 1 WHERE id = 1;"
    " INSERT INTO subscription_changes (seq, supi)"
    "  SELECT seq, OLD.supi FROM subscription_change_seq WHERE id = 1;"
    " DELETE FROM subscription_changes"
    "  WHERE seq <= (SELECT seq FROM subscription_change_seq WHERE id = 1) - " KEPT ";"
    " END;";

const char SUBSCRIBER_MIGRATION_CHANGES_PG[] =
    "CREATE TABLE subscription_change_seq (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq BIGINT NOT NULL);"
    "INSERT INTO subscription_change_seq (id, seq) VALUES (1, 0);"
    "CREATE TABLE subscription_changes (seq BIGINT PRIMARY KEY, supi TEXT NOT NULL);"
    "CREATE FUNCTION subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE n BIGINT;"
    " BEGIN"
    "  UPDATE subscription_change_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq INTO n;"
    "  INSERT INTO subscription_changes (seq, supi) VALUES (n, OLD.supi);"
    "  DELETE FROM subscription_changes WHERE seq <= n - " KEPT ";"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER subscriptions_changed AFTER UPDATE OF " WATCHED " OR DELETE"
    " ON subscriptions FOR EACH ROW EXECUTE FUNCTION subscription_changed();";

int sub_changes_head(struct store *s, int64_t *seq)
{
    struct store_conn *conn;
    struct store_stmt *st;
    *seq = 0;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT seq FROM subscription_change_seq WHERE id = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step = store_step(st);
    if (step == STORE_ROW)
        *seq = store_col_int64(st, 0);
    store_reset(st);
    return step == STORE_ROW || step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int sub_changes_since(struct store *s, int64_t after, size_t limit, sub_change_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT seq, supi FROM subscription_changes WHERE seq > ? ORDER BY seq"
                        " LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    store_bind_int64(st, 2, (int64_t)limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        const char *supi = store_col_text(st, 1);
        fn(store_col_int64(st, 0), supi ? supi : "", ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
