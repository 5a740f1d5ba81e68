/* Schema migrations: numbered SQL scripts compiled into the binary, applied at open in order,
 * each in its own transaction together with its row in schema_migrations, so that a
 * migration is either applied and recorded or not at all. Opening again applies nothing.
 *
 * The database must agree with the code about the past: a version the code does not know
 * (a newer build wrote it), a different name for a version, or an unapplied migration older
 * than the database's version all refuse the open (IOTSEC_ERR_STATE). Guessing there would
 * run a schema the code was not written for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

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
    struct store_stmt *st = NULL;
    int err = store_prepare(c, "SELECT version, name FROM schema_migrations ORDER BY 1", &st);
    int rc = STORE_DONE;
    *db_version = 0;
    *recorded = 0;
    while (err == IOTSEC_OK && (rc = store_step(st)) == STORE_ROW) {
        const char *name = store_col_text(st, 1);
        *db_version = store_col_int(st, 0);
        (*recorded)++;
        err = check_recorded(m, count, *db_version, name ? name : "");
    }
    if (err == IOTSEC_OK && rc != STORE_DONE)
        err = store_error(c, rc);
    store_finalize(st);
    return err;
}

static int record(struct store_conn *c, const struct store_migration *mig)
{
    struct store_stmt *st = NULL;
    int err = store_prepare(c, c->be->migration_record_sql, &st);
    if (err == IOTSEC_OK) {
        store_bind_int(st, 1, mig->version);
        store_bind_text(st, 2, mig->name, -1);
        err = store_error(c, store_step(st));
    }
    store_finalize(st);
    return err;
}

/* Whether version is recorded (another process opening the same database may have applied it
 * since the history was checked). */
static int is_recorded(struct store_conn *c, int version, bool *yes)
{
    struct store_stmt *st = NULL;
    int rc = STORE_DONE;
    int err = store_prepare(c, "SELECT 1 FROM schema_migrations WHERE version = ?1", &st);
    if (err == IOTSEC_OK) {
        store_bind_int(st, 1, version);
        rc = store_step(st);
        err = store_error(c, rc);
    }
    *yes = rc == STORE_ROW;
    store_finalize(st);
    return err;
}

/* BEGIN, and on engines where BEGIN does not serialise writers (PostgreSQL), the lock that
 * keeps two instances from applying the same migration at once. */
static int begin_migration(struct store_conn *c)
{
    int err = conn_control(c, CTL_BEGIN);
    if (err == IOTSEC_OK && c->be->migration_lock_sql != NULL)
        err = conn_exec(c, c->be->migration_lock_sql);
    return err;
}

/* One migration, its own transaction. The migration's SQL runs with the connection's guard on,
 * so a stray COMMIT in it is refused instead of splitting the migration. */
static int apply_one(struct store_conn *c, const struct store_migration *mig)
{
    bool done = false;
    int err = begin_migration(c);
    if (err == IOTSEC_OK)
        err = is_recorded(c, mig->version, &done);
    if (err == IOTSEC_OK && !done) {
        char *sql = c->be->migration_sql(mig);
        c->in_job = true;
        err = sql ? conn_exec(c, sql) : IOTSEC_ERR_NOMEM;
        c->in_job = false;
        free(sql);
        if (err == IOTSEC_OK)
            err = record(c, mig);
    }
    if (err == IOTSEC_OK)
        err = conn_control(c, CTL_COMMIT);
    if (err != IOTSEC_OK) {
        char why[400];
        snprintf(why, sizeof(why), "%s", store_errmsg());
        if (conn_in_transaction(c))
            conn_control(c, CTL_ROLLBACK);
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
        err = conn_exec(c, c->be->migrations_table_sql);
    /* The history is read and checked inside a write transaction, so another process that
     * opens the same database at the same moment cannot apply a migration in between. */
    if (err == IOTSEC_OK)
        err = begin_migration(c);
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
    conn_control(c, err == IOTSEC_OK ? CTL_COMMIT : CTL_ROLLBACK);
    for (size_t i = known_upto; err == IOTSEC_OK && i < count; i++)
        err = apply_one(c, &m[i]);
    return err;
}
