/* Fleet counts kept by the store, so that the console's counts are O(states), not O(rows):
 * subscriptions per state and subscriptions created per day (onboarding over time), maintained
 * by triggers in the same transaction as the change that moves them, whichever code path (a
 * create, an import, a lifecycle event, the expiry sweep, a deletion) made it.
 *
 * SQLite has one writer: its triggers update the counter rows directly.
 * PostgreSQL may have several instances writing at once: counter rows updated by every
 * transaction would serialise them (each holds the row lock until it commits) and could
 * deadlock two group-committed batches that touch two states in opposite orders. There the
 * triggers only append deltas (no lock taken), and the expiry sweep (one instance, a lease)
 * folds them into the counters in one statement. A read sums counters and deltas in one
 * snapshot, so it is exact at every moment; the deltas waiting are at most one sweep period's
 * writes (a bulk import adds one delta row per statement and state, not one per row). */
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "subscriber/subscriber.h"

/* The deltas are PostgreSQL's (empty on SQLite): a state's (day NULL) or a day's (state
 * NULL). Existing subscriptions are counted once, here. */
#define TABLES                                                                                     \
    "CREATE TABLE subscription_state_counts (state TEXT PRIMARY KEY, n BIGINT NOT NULL);"          \
    "CREATE TABLE subscription_created_days (day BIGINT PRIMARY KEY, n BIGINT NOT NULL);"          \
    "CREATE TABLE subscription_count_deltas (state TEXT, day BIGINT, d BIGINT NOT NULL);"          \
    "INSERT INTO subscription_state_counts (state, n)"                                             \
    " SELECT state, count(*) FROM subscriptions GROUP BY state;"                                   \
    "INSERT INTO subscription_created_days (day, n)"                                               \
    " SELECT created_at / 86400, count(*) FROM subscriptions GROUP BY created_at / 86400;"

const char SUBSCRIBER_MIGRATION_COUNTS[] =
    TABLES "CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions BEGIN"
           " INSERT INTO subscription_state_counts (state, n) VALUES (NEW.state, 1)"
           "  ON CONFLICT (state) DO UPDATE SET n = n + 1;"
           " INSERT INTO subscription_created_days (day, n) VALUES (NEW.created_at / 86400, 1)"
           "  ON CONFLICT (day) DO UPDATE SET n = n + 1;"
           " END;"
           "CREATE TRIGGER subscriptions_count_delete AFTER DELETE ON subscriptions BEGIN"
           " UPDATE subscription_state_counts SET n = n - 1 WHERE state = OLD.state;"
           " END;"
           "CREATE TRIGGER subscriptions_count_state AFTER UPDATE OF state ON subscriptions"
           " WHEN OLD.state IS NOT NEW.state BEGIN"
           " UPDATE subscription_state_counts SET n = n - 1 WHERE state = OLD.state;"
           " INSERT INTO subscription_state_counts (state, n) VALUES (NEW.state, 1)"
           "  ON CONFLICT (state) DO UPDATE SET n = n + 1;"
           " END;";

/* Inserts and deletions: per statement, from the transition table (an import of 64 rows is
 * one delta row per state and day). A state change: per row, only when the state changed
 * (`UPDATE OF state`: the SQN reservations, the hot path, fire nothing). */
const char SUBSCRIBER_MIGRATION_COUNTS_PG[] = TABLES
    "CREATE FUNCTION subscriptions_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  IF TG_OP = 'INSERT' THEN"
    "    INSERT INTO subscription_count_deltas (state, day, d)"
    "      SELECT state, NULL, count(*) FROM new_rows GROUP BY state"
    "      UNION ALL SELECT NULL, created_at / 86400, count(*) FROM new_rows"
    "      GROUP BY created_at / 86400;"
    "  ELSE"
    "    INSERT INTO subscription_count_deltas (state, day, d)"
    "      SELECT state, NULL, -count(*) FROM old_rows GROUP BY state;"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions"
    " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION subscriptions_count_rows();"
    "CREATE TRIGGER subscriptions_count_delete AFTER DELETE ON subscriptions"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION subscriptions_count_rows();"
    "CREATE FUNCTION subscriptions_count_state() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  INSERT INTO subscription_count_deltas (state, day, d)"
    "    VALUES (OLD.state, NULL, -1), (NEW.state, NULL, 1);"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER subscriptions_count_state AFTER UPDATE OF state ON subscriptions"
    " FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)"
    " EXECUTE FUNCTION subscriptions_count_state();";

/* A bulk import counts its rows itself, once per chunk, on SQLite: there the trigger runs per
 * row (two UPSERTs each, and a statement journal for every insert of a table with a trigger),
 * which made the count most of an import's cost. While subscription_counts_paused holds its
 * row, inserted rows are not counted by the trigger; the import inserts that row at the start
 * of its chunk's transaction and deletes it, adding the chunk's rows to the counters, at the
 * end of the same transaction (a failed chunk rolls both back). Nothing else writes during a
 * bulk transaction, and no other transaction ever sees the row. PostgreSQL's triggers count
 * per statement already: the table exists there too (one schema), unused. */
#define COUNTS_PAUSED                                                                              \
    "CREATE TABLE subscription_counts_paused (id INTEGER PRIMARY KEY CHECK (id = 1));"

const char SUBSCRIBER_MIGRATION_COUNTS_BULK[] = COUNTS_PAUSED
    "DROP TRIGGER subscriptions_count_insert;"
    "CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions"
    " WHEN NOT EXISTS (SELECT 1 FROM subscription_counts_paused) BEGIN"
    " INSERT INTO subscription_state_counts (state, n) VALUES (NEW.state, 1)"
    "  ON CONFLICT (state) DO UPDATE SET n = n + 1;"
    " INSERT INTO subscription_created_days (day, n) VALUES (NEW.created_at / 86400, 1)"
    "  ON CONFLICT (day) DO UPDATE SET n = n + 1;"
    " END;";
const char SUBSCRIBER_MIGRATION_COUNTS_BULK_PG[] = COUNTS_PAUSED;

static int finish(struct store_conn *conn, struct store_stmt *st, int step)
{
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

static int exec_on(struct store_conn *conn, const char *sql, const char *state, int64_t day,
                   int64_t n)
{
    struct store_stmt *st;
    int rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (state != NULL) {
        store_bind_text(st, 1, state, -1);
        store_bind_int64(st, 2, n);
    } else if (n != 0) {
        store_bind_int64(st, 1, day);
        store_bind_int64(st, 2, n);
    }
    return finish(conn, st, store_step(st));
}

bool subscriber_counts_pause(struct store_conn *conn)
{
    if (store_conn_engine(conn) != STORE_ENGINE_SQLITE)
        return false;
    return exec_on(conn, "INSERT INTO subscription_counts_paused (id) VALUES (1)", NULL, 0, 0) ==
           IOTSEC_OK;
}

int subscriber_counts_resume(struct store_conn *conn, const int64_t added[SUB_STATE_COUNT],
                             int64_t created_at)
{
    int rc = IOTSEC_OK;
    int64_t all = 0;
    for (int i = 0; rc == IOTSEC_OK && i < SUB_STATE_COUNT; i++) {
        all += added[i];
        if (added[i] > 0)
            rc = exec_on(conn,
                         "INSERT INTO subscription_state_counts (state, n) VALUES (?1, ?2)"
                         " ON CONFLICT (state) DO UPDATE SET n = n + ?2",
                         sub_state_name((enum sub_state)i), 0, added[i]);
    }
    if (rc == IOTSEC_OK && all > 0)
        rc = exec_on(conn,
                     "INSERT INTO subscription_created_days (day, n) VALUES (?1, ?2)"
                     " ON CONFLICT (day) DO UPDATE SET n = n + ?2",
                     NULL, created_at / 86400, all);
    if (rc == IOTSEC_OK)
        rc = exec_on(conn, "DELETE FROM subscription_counts_paused", NULL, 0, 0);
    return rc;
}

int subscriber_count(struct store *s, uint64_t counts[SUB_STATE_COUNT])
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT state, CAST(sum(n) AS BIGINT) FROM ("
                        " SELECT state, n FROM subscription_state_counts"
                        " UNION ALL SELECT state, d FROM subscription_count_deltas"
                        " WHERE state IS NOT NULL) c GROUP BY state",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    memset(counts, 0, sizeof(uint64_t) * SUB_STATE_COUNT);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        enum sub_state state;
        int64_t n = store_col_int64(st, 1);
        if (sub_state_parse(store_col_text(st, 0), &state) == IOTSEC_OK && n > 0)
            counts[state] = (uint64_t)n;
    }
    return finish(conn, st, step);
}

int subscriber_count_scan(struct store *s, uint64_t counts[SUB_STATE_COUNT])
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT state, count(*) FROM subscriptions GROUP BY state", &st);
    if (rc != IOTSEC_OK)
        return rc;
    memset(counts, 0, sizeof(uint64_t) * SUB_STATE_COUNT);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        enum sub_state state;
        if (sub_state_parse(store_col_text(st, 0), &state) == IOTSEC_OK)
            counts[state] = (uint64_t)store_col_int64(st, 1);
    }
    return finish(conn, st, step);
}

int subscriber_created_per_day(struct store *s, int64_t first_day, size_t days, uint64_t *out)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT day, CAST(sum(n) AS BIGINT) FROM ("
                        " SELECT day, n FROM subscription_created_days WHERE day >= ?1 AND day < ?2"
                        " UNION ALL SELECT day, d FROM subscription_count_deltas"
                        " WHERE day >= ?1 AND day < ?2) c GROUP BY day",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    memset(out, 0, sizeof(uint64_t) * days);
    store_bind_int64(st, 1, first_day);
    store_bind_int64(st, 2, first_day + (int64_t)days);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        int64_t day = store_col_int64(st, 0), n = store_col_int64(st, 1);
        if (day >= first_day && day < first_day + (int64_t)days && n > 0)
            out[day - first_day] = (uint64_t)n;
    }
    return finish(conn, st, step);
}

int subscriber_expiring(struct store *s, int64_t now, const int64_t *within_s, size_t n,
                        uint64_t *out)
{
    if (n != 3)
        return IOTSEC_ERR_INVALID;
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    /* one range of the not_after index (the farthest horizon), the nearer ones summed in it;
     * `not_after > 0` names the partial index's condition (SQLite cannot prove ?1 >= 0) */
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT CAST(coalesce(sum(CASE WHEN not_after <= ?2 THEN 1 ELSE 0 END), 0)"
                        " AS BIGINT), CAST(coalesce(sum(CASE WHEN not_after <= ?3 THEN 1 ELSE 0"
                        " END), 0) AS BIGINT), count(*) FROM subscriptions"
                        " WHERE not_after > 0 AND not_after > ?1 AND not_after <= ?4"
                        " AND state NOT IN ('expired', 'revoked')",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, now);
    for (int i = 0; i < 3; i++)
        store_bind_int64(st, i + 2, now + within_s[i]);
    int step = store_step(st);
    if (step == STORE_ROW) {
        for (int i = 0; i < 3; i++)
            out[i] = (uint64_t)store_col_int64(st, i);
        step = store_step(st);
    }
    return finish(conn, st, step);
}

/* Folds PostgreSQL's deltas into the counters: one statement, so a concurrent read sees a
 * delta either still waiting or folded, never both or neither. Counter rows are locked in key
 * order (two folds never deadlock); the deltas a concurrent transaction has not committed yet
 * are not seen, and wait for the next fold. */
int subscriber_counts_fold(struct store_conn *conn)
{
    if (store_conn_engine(conn) != STORE_ENGINE_POSTGRESQL)
        return IOTSEC_OK; /* SQLite's triggers count in place */
    struct store_stmt *st;
    int rc = store_stmt(
        conn,
        "WITH gone AS (DELETE FROM subscription_count_deltas RETURNING state, day, d),"
        " states AS (INSERT INTO subscription_state_counts (state, n)"
        "  SELECT state, sum(d) FROM gone WHERE state IS NOT NULL GROUP BY state ORDER BY state"
        "  ON CONFLICT (state) DO UPDATE SET n = subscription_state_counts.n + excluded.n)"
        " INSERT INTO subscription_created_days (day, n)"
        "  SELECT day, sum(d) FROM gone WHERE day IS NOT NULL GROUP BY day ORDER BY day"
        "  ON CONFLICT (day) DO UPDATE SET n = subscription_created_days.n + excluded.n",
        &st);
    return rc == IOTSEC_OK ? finish(conn, st, store_step(st)) : rc;
}
