/* Schema migrations: numbered SQL scripts compiled into the binary, applied at open in order,
 * each in its own transaction together with its row in schema_migrations, so that a
 * migration is either applied and recorded or not at all. Opening again applies nothing.
 *
 * The database must agree with the code about the past: a version the code does not know
 * (a newer build wrote it), a different name for a version, or an unapplied migration older
 * than the database's version all refuse the open (IOTSEC_ERR_STATE). Guessing there would
 * run a schema the code was not written for. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

static const char CREATE_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   " version INTEGER PRIMARY KEY,"
                                   " name TEXT NOT NULL,"
                                   " applied_at TEXT NOT NULL)";

int migrate_validate(const struct store_migration *m, size_t count)
{
    if (count > 0 && m == NULL)
        return IOTSEC_ERR_INVALID;
    int prev = 0;
    for (size_t i = 0; i < count; i++) {
        if (m[i].version <= prev) {
            store_set_errmsg("store: migration %d after %d: versions must be >= 1 and "
                             "strictly increasing",
                             m[i].version, prev);
            return IOTSEC_ERR_INVALID;
        }
        if (m[i].name == NULL || m[i].sql == NULL) {
            store_set_errmsg("store: migration %d has no name or no SQL", m[i].version);
            return IOTSEC_ERR_INVALID;
        }
        prev = m[i].version;
    }
    return IOTSEC_OK;
}

static const struct store_migration *find(const struct store_migration *m, size_t count, int v)
{
    for (size_t i = 0; i < count; i++) {
        if (m[i].version == v)
            return &m[i];
    }
    return NULL;
}

/* Checks one recorded row against the code. */
static int check_recorded(const struct store_migration *m, size_t count, int version,
                          const char *name)
{
    const struct store_migration *known = find(m, count, version);
    int newest = count ? m[count - 1].version : 0;
    if (known == NULL && version > newest) {
        store_set_errmsg("store: database schema version %d is newer than this build knows "
                         "(%d): refusing to run on it",
                         version, newest);
        return IOTSEC_ERR_STATE;
    }
    if (known == NULL || strcmp(known->name, name) != 0) {
        store_set_errmsg("store: database records migration %d as '%s', unknown to this build",
                         version, name);
        return IOTSEC_ERR_STATE;
    }
    return IOTSEC_OK;
}

/* Checks every recorded row; *db_version gets the highest, *recorded their number. */
static int check_history(struct store_conn *c, const struct store_migration *m, size_t count,
                         int *db_version, size_t *recorded)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT version, name FROM schema_migrations ORDER BY 1", -1,
                                &st, NULL);
    int err = rc == SQLITE_OK ? IOTSEC_OK : store_error(c, rc);
    *db_version = 0;
    *recorded = 0;
    while (err == IOTSEC_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        *db_version = sqlite3_column_int(st, 0);
        (*recorded)++;
        err = check_recorded(m, count, *db_version, name ? (const char *)name : "");
    }
    if (err == IOTSEC_OK && rc != SQLITE_DONE)
        err = store_error(c, rc);
    sqlite3_finalize(st);
    return err;
}

static int record(struct store_conn *c, const struct store_migration *mig)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db,
                                "INSERT INTO schema_migrations (version, name, applied_at) "
                                "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, mig->version);
        sqlite3_bind_text(st, 2, mig->name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    int err = store_error(c, rc);
    sqlite3_finalize(st);
    return err;
}

/* Whether version is recorded (another process opening the same file may have applied it
 * since the history was checked). */
static int is_recorded(struct store_conn *c, int version, bool *yes)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, version);
        rc = sqlite3_step(st);
    }
    *yes = rc == SQLITE_ROW;
    int err = store_error(c, rc);
    sqlite3_finalize(st);
    return err;
}

/* One migration, its own transaction. The migration's SQL runs with the connection's guard on,
 * so a stray COMMIT in it is refused instead of splitting the migration. */
static int apply_one(struct store_conn *c, const struct store_migration *mig)
{
    bool done = false;
    int err = conn_exec(c, "BEGIN IMMEDIATE");
    if (err == IOTSEC_OK)
        err = is_recorded(c, mig->version, &done);
    if (err == IOTSEC_OK && !done) {
        c->in_job = true;
        err = conn_exec(c, mig->sql);
        c->in_job = false;
        if (err == IOTSEC_OK)
            err = record(c, mig);
    }
    if (err == IOTSEC_OK)
        err = conn_exec(c, "COMMIT");
    if (err != IOTSEC_OK) {
        char why[400];
        snprintf(why, sizeof(why), "%s", store_errmsg());
        if (!sqlite3_get_autocommit(c->db))
            conn_exec(c, "ROLLBACK");
        store_set_errmsg("store: migration %d (%s) failed, database left at the previous "
                         "version: %s",
                         mig->version, mig->name, why);
    }
    return err;
}

int migrate_apply(struct store_conn *c, const struct store_migration *m, size_t count)
{
    int err = migrate_validate(m, count);
    if (err == IOTSEC_OK)
        err = conn_exec(c, CREATE_TABLE);
    /* The history is read and checked inside a write transaction, so another process that
     * opens the same file at the same moment cannot apply a migration in between. */
    if (err == IOTSEC_OK)
        err = conn_exec(c, "BEGIN IMMEDIATE");
    if (err != IOTSEC_OK)
        return err;
    int db_version;
    size_t recorded, known_upto = 0;
    err = check_history(c, m, count, &db_version, &recorded);
    while (known_upto < count && m[known_upto].version <= db_version)
        known_upto++;
    if (err == IOTSEC_OK && recorded != known_upto) {
        store_set_errmsg("store: the database (version %d) lacks %zu older migration(s) this "
                         "build has: refusing to guess the schema",
                         db_version, known_upto - recorded);
        err = IOTSEC_ERR_STATE;
    }
    conn_exec(c, err == IOTSEC_OK ? "COMMIT" : "ROLLBACK");
    for (size_t i = known_upto; err == IOTSEC_OK && i < count; i++)
        err = apply_one(c, &m[i]);
    return err;
}
