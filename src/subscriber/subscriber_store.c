/* The subscriber capability's SQL. Every write is a job run by the store's writer thread
 * (sub_op_run); reads use the calling thread's read connection. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "subscriber/sub_cache.h"
#include "subscriber/sub_dek.h"
#include "subscriber/subscriber.h"

#define CRED_SEALED_LEN SUB_CRED_SEALED_LEN
#define DEK_SEALED_LEN  SUB_DEK_SEALED_LEN

const char SUBSCRIBER_MIGRATION_1[] =
    "CREATE TABLE subscriptions ("
    "  id INTEGER PRIMARY KEY,"
    "  supi TEXT NOT NULL UNIQUE," /* imsi-... / nai-... */
    "  gpsi TEXT UNIQUE,"          /* NULL when none */
    "  owner TEXT NOT NULL DEFAULT '',"
    "  amf BLOB NOT NULL CHECK (length(amf) = 2),"
    "  algorithm TEXT NOT NULL DEFAULT 'milenage',"
    "  auth_method TEXT NOT NULL DEFAULT '5G_AKA'"
    "    CHECK (auth_method IN ('5G_AKA', 'EAP_AKA_PRIME')),"
    "  cred_version INTEGER NOT NULL,"
    "  cred BLOB NOT NULL,"        /* seal(K || OPc), AAD: supi + version */
    "  prev_cred_version INTEGER," /* the previous credential during its grace */
    "  prev_cred BLOB,"
    "  prev_cred_until INTEGER,"
    "  state TEXT NOT NULL,"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  not_after INTEGER NOT NULL DEFAULT 0,"
    "  sqn_reserved INTEGER NOT NULL," /* SEQs below this may have been issued */
    "  sqn_next INTEGER NOT NULL,"     /* where a freshly started daemon begins */
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX subscriptions_state ON subscriptions(state, id);"
    "CREATE INDEX subscriptions_not_after ON subscriptions(not_after) WHERE not_after > 0;"
    "CREATE TABLE subscription_events ("
    "  id INTEGER PRIMARY KEY,"
    "  supi TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  from_state TEXT,"
    "  to_state TEXT,"
    "  actor TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ");"
    "CREATE INDEX subscription_events_supi ON subscription_events(supi, id);";

/* Each credential version's data key (sub_dek.h), in a table of its own: a deletion destroys
 * one small row that was never updated, so no older version of it lingers in the engine (on
 * PostgreSQL, autovacuum is told to clean this table after every 100 deleted rows). The
 * migration also lists the rows sealed before DEKs, for subscriber_dek_convert. */
#define DEK_TABLE_COLUMNS                                                                          \
    "  dek_supi TEXT NOT NULL,"                                                                    \
    "  dek_version INTEGER NOT NULL,"                                                              \
    "  dek BLOB NOT NULL," /* seal_KEK(DEK), AAD: supi + version */                                \
    "  PRIMARY KEY (dek_supi, dek_version)"
#define DEK_TODO                                                                                   \
    "CREATE TABLE subscription_deks_todo (id INTEGER PRIMARY KEY);"                                \
    "INSERT INTO subscription_deks_todo (id) SELECT id FROM subscriptions;"
const char SUBSCRIBER_MIGRATION_DEKS[] =
    "CREATE TABLE subscription_deks (" DEK_TABLE_COLUMNS ") WITHOUT ROWID;" DEK_TODO;
const char SUBSCRIBER_MIGRATION_DEKS_PG[] =
    "CREATE TABLE subscription_deks ("
    "  dek_supi TEXT NOT NULL, dek_version BIGINT NOT NULL, dek BYTEA NOT NULL,"
    "  PRIMARY KEY (dek_supi, dek_version))"
    " WITH (autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0);"
    "CREATE TABLE subscription_deks_todo (id BIGINT PRIMARY KEY);"
    "INSERT INTO subscription_deks_todo (id) SELECT id FROM subscriptions;";
#undef DEK_TABLE_COLUMNS
#undef DEK_TODO

#define SUB_COLUMNS                                                                                \
    "SELECT id, supi, gpsi, owner, amf, cred_version, state, not_before, not_after,"               \
    " sqn_reserved, created_at, updated_at, cred, auth_method, sqn_next"
#define SELECT_COLUMNS SUB_COLUMNS " FROM subscriptions "
/* With the current credential's sealed DEK as column 15 (NULL: sealed before DEKs). */
#define SELECT_WITH_DEK                                                                            \
    SUB_COLUMNS ", dek FROM subscriptions LEFT JOIN subscription_deks"                             \
                " ON dek_supi = supi AND dek_version = cred_version "

static void text_column(struct store_stmt *st, int col, char *dst, size_t cap)
{
    const char *t = store_col_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int row_to_subscription(struct store_stmt *st, struct subscription *s)
{
    memset(s, 0, sizeof(*s));
    char supi[SUPI_STRING_MAX], state[32];
    s->id = store_col_int64(st, 0);
    text_column(st, 1, supi, sizeof(supi));
    text_column(st, 2, s->gpsi, sizeof(s->gpsi));
    text_column(st, 3, s->owner, sizeof(s->owner));
    if (store_col_bytes(st, 4) == 2)
        memcpy(s->amf, store_col_blob(st, 4), 2);
    s->cred_version = (uint32_t)store_col_int64(st, 5);
    text_column(st, 6, state, sizeof(state));
    s->not_before = store_col_int64(st, 7);
    s->not_after = store_col_int64(st, 8);
    s->sqn.reserved = (uint64_t)store_col_int64(st, 9);
    s->sqn.next = (uint64_t)store_col_int64(st, 14);
    s->created_at = store_col_int64(st, 10);
    s->updated_at = store_col_int64(st, 11);
    char method[32];
    text_column(st, 13, method, sizeof(method));
    if (supi_parse(supi, &s->supi) != IOTSEC_OK || sub_state_parse(state, &s->state) != IOTSEC_OK ||
        sub_auth_method_parse(method, &s->auth_method) != IOTSEC_OK)
        return IOTSEC_ERR_IO; /* a row the code could not have written */
    return IOTSEC_OK;
}

/* A sealed credential as read: the envelope and, unless it was sealed before DEKs, its DEK. */
/* Reads the row of supi on conn; with sc non-NULL also copies its sealed credential and DEK
 * (one statement: on a network database one round trip). */
static int load(struct store_conn *conn, const char *supi, struct subscription *out,
                struct sub_sealed *sc)
{
    struct store_stmt *st;
    int rc = store_stmt(
        conn, sc ? SELECT_WITH_DEK "WHERE supi = ?" : SELECT_COLUMNS "WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    int step = store_step(st);
    if (step == STORE_ROW) {
        rc = row_to_subscription(st, out);
        if (rc == IOTSEC_OK && sc != NULL) {
            if (store_col_bytes(st, 12) == CRED_SEALED_LEN)
                memcpy(sc->cred, store_col_blob(st, 12), CRED_SEALED_LEN);
            else
                rc = IOTSEC_ERR_IO;
            sc->has_dek = !store_col_is_null(st, 15);
            if (sc->has_dek && store_col_bytes(st, 15) == DEK_SEALED_LEN)
                memcpy(sc->dek, store_col_blob(st, 15), DEK_SEALED_LEN);
            else if (sc->has_dek)
                rc = IOTSEC_ERR_AUTH; /* a DEK the code could not have written */
        }
    } else {
        rc = step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(conn, step);
    }
    store_reset(st);
    return rc;
}

/* Steps a write statement to its end and resets it. */
static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int step = store_step(st);
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* Stores the sealed DEK of credential `version` of supi. */
static int insert_dek(struct store_conn *conn, const char *supi, uint32_t version,
                      const uint8_t dek[DEK_SEALED_LEN])
{
    struct store_stmt *st;
    int rc = store_stmt(
        conn, "INSERT INTO subscription_deks (dek_supi, dek_version, dek) VALUES (?, ?, ?)", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_int64(st, 2, version);
    store_bind_blob(st, 3, dek, DEK_SEALED_LEN);
    return step_done(conn, st);
}

/* Destroys the DEKs of supi's credential versions below keep (0: all): the credentials sealed
 * under them can never be opened again (crypto-erase). */
static int destroy_deks(struct store_conn *conn, const char *supi, uint32_t keep)
{
    struct store_stmt *st;
    int rc =
        store_stmt(conn,
                   keep ? "DELETE FROM subscription_deks WHERE dek_supi = ? AND dek_version < ?"
                        : "DELETE FROM subscription_deks WHERE dek_supi = ?",
                   &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    if (keep)
        store_bind_int64(st, 2, keep);
    return step_done(conn, st);
}

static int record_event(struct store_conn *conn, const char *supi, const char *event,
                        const char *from, const char *to, const char *actor, int64_t now)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO subscription_events(supi, event, from_state, to_state, actor,"
                        " at) VALUES (?, ?, ?, ?, ?, ?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_text(st, 2, event, -1);
    store_bind_text(st, 3, from, -1);
    store_bind_text(st, 4, to, -1);
    store_bind_text(st, 5, actor ? actor : "unknown", -1);
    store_bind_int64(st, 6, now);
    return step_done(conn, st);
}

static uint64_t block_or_default(uint64_t block)
{
    return block ? block : 1000;
}

static int insert(struct store_conn *conn, const struct seal_kek *kek, const struct sub_input *in,
                  int64_t now)
{
    char supi[SUPI_STRING_MAX];
    uint8_t cred[CRED_SEALED_LEN], dek[DEK_SEALED_LEN];
    if (supi_format(&in->supi, supi, sizeof(supi)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = sub_cred_seal(kek, &in->supi, 1, &in->keys, cred, dek);
    if (rc == IOTSEC_OK)
        rc = destroy_deks(conn, supi, 0); /* none, unless a row was deleted behind our back */
    if (rc == IOTSEC_OK)
        rc = insert_dek(conn, supi, 1, dek);
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    rc = store_stmt(conn,
                    "INSERT INTO subscriptions(supi, gpsi, owner, amf, cred_version, cred, state,"
                    " not_after, sqn_reserved, created_at, updated_at, auth_method, sqn_next)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    if (in->gpsi[0])
        store_bind_text(st, 2, in->gpsi, -1);
    store_bind_text(st, 3, in->owner, -1);
    store_bind_blob(st, 4, in->amf, 2);
    store_bind_blob(st, 5, cred, sizeof(cred));
    store_bind_text(st, 6, sub_state_name(in->state), -1);
    store_bind_int64(st, 7, in->not_after);
    /* The SIM was personalised with SQN in->sqn: the first SEQ issued must exceed its SEQ, so
     * that is the high-water mark the first reservation starts from. */
    uint64_t first = (in->sqn >> SQN_IND_BITS) + 1;
    store_bind_int64(st, 8, (int64_t)first);
    store_bind_int64(st, 9, now);
    store_bind_int64(st, 10, now);
    store_bind_text(st, 11, sub_auth_method_name(in->auth_method), -1);
    store_bind_int64(st, 12, (int64_t)first);
    return step_done(conn, st);
}

static int op_create(struct store_conn *conn, struct sub_op *op)
{
    int rc = insert(conn, op->kek, op->input, op->now);
    if (rc == IOTSEC_OK)
        rc = supi_format(&op->input->supi, op->supi, sizeof(op->supi));
    if (rc == IOTSEC_OK)
        rc = record_event(conn, op->supi, "create", NULL, sub_state_name(op->input->state),
                          op->actor, op->now);
    return rc == IOTSEC_OK ? load(conn, op->supi, &op->result, NULL) : rc;
}

static int op_event(struct store_conn *conn, struct sub_op *op)
{
    struct subscription cur;
    int rc = load(conn, op->supi, &cur, NULL);
    enum sub_state to;
    if (rc == IOTSEC_OK)
        rc = sub_transition(cur.state, op->event, &to);
    if (rc == IOTSEC_ERR_STATE)
        op->result = cur; /* the refusal names the state the subscription is in */
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    if ((rc = store_stmt(conn, "UPDATE subscriptions SET state = ?, updated_at = ? WHERE id = ?",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, sub_state_name(to), -1);
    store_bind_int64(st, 2, op->now);
    store_bind_int64(st, 3, cur.id);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    sub_cache_changed(op->supi); /* this instance's cached copy at once; others: the log */
    rc = record_event(conn, op->supi, sub_event_name(op->event), sub_state_name(cur.state),
                      sub_state_name(to), op->actor, op->now);
    return rc == IOTSEC_OK ? load(conn, op->supi, &op->result, NULL) : rc;
}

static int op_rotate(struct store_conn *conn, struct sub_op *op)
{
    struct subscription cur;
    struct sub_sealed old;
    uint8_t new_cred[CRED_SEALED_LEN], new_dek[DEK_SEALED_LEN];
    int rc = load(conn, op->supi, &cur, &old);
    if (rc != IOTSEC_OK)
        return rc;
    if (cur.state == SUB_REVOKED || cur.state == SUB_EXPIRED) {
        op->result = cur; /* the refusal names the state */
        return IOTSEC_ERR_STATE;
    }
    uint32_t version = cur.cred_version + 1;
    if ((rc = sub_cred_seal(op->kek, &cur.supi, version, &op->input->keys, new_cred, new_dek)) !=
        IOTSEC_OK)
        return rc;
    /* The new version gets a DEK of its own; the previous version's stays only while it is
     * kept for its grace period (then the sweep destroys it), any older one goes now. */
    if ((rc = destroy_deks(conn, op->supi, op->grace_s > 0 ? cur.cred_version : version)) !=
            IOTSEC_OK ||
        (rc = insert_dek(conn, op->supi, version, new_dek)) != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    rc = store_stmt(conn,
                    "UPDATE subscriptions SET cred_version = ?, cred = ?, prev_cred_version = ?,"
                    " prev_cred = ?, prev_cred_until = ?, updated_at = ? WHERE id = ?",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, version);
    store_bind_blob(st, 2, new_cred, sizeof(new_cred));
    if (op->grace_s > 0) {
        store_bind_int64(st, 3, cur.cred_version);
        store_bind_blob(st, 4, old.cred, sizeof(old.cred));
        store_bind_int64(st, 5, op->now + op->grace_s);
    }
    store_bind_int64(st, 6, op->now);
    store_bind_int64(st, 7, cur.id);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    sub_cache_changed(op->supi);
    rc = record_event(conn, op->supi, "rotate", sub_state_name(cur.state),
                      sub_state_name(cur.state), op->actor, op->now);
    return rc == IOTSEC_OK ? load(conn, op->supi, &op->result, NULL) : rc;
}

static int op_delete(struct store_conn *conn, struct sub_op *op)
{
    struct subscription cur;
    int rc = load(conn, op->supi, &cur, NULL);
    if (rc != IOTSEC_OK)
        return rc;
    /* Crypto-erase: the DEKs go, so no copy of the sealed credentials left anywhere (old row
     * versions, WAL, backups taken from now on) can be opened with the KEK. On SQLite the
     * writer also runs with secure_delete on, so the deleted bytes are overwritten. */
    if ((rc = destroy_deks(conn, op->supi, 0)) != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    if ((rc = store_stmt(conn, "DELETE FROM subscriptions WHERE id = ?", &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, cur.id);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    sub_cache_changed(op->supi);
    op->result = cur;
    return record_event(conn, op->supi, "delete", sub_state_name(cur.state), NULL, op->actor,
                        op->now);
}

/* Reserves ahead for the neighbours of op->supi (ids in [sqn_near_lo, sqn_near_hi)): one
 * statement, each row's block taken above its own mark, so it is as safe as a single
 * reservation. On PostgreSQL the rows are locked in id order and rows locked elsewhere are
 * skipped (SKIP LOCKED): several instances reserving overlapping ranges in group-committed
 * transactions would otherwise wait on each other's neighbours, or deadlock. SQLite has one
 * writer: nothing to skip. */
static int reserve_near(struct store_conn *conn, struct sub_op *op, uint64_t block)
{
#define NEAR_SET " SET sqn_reserved = sqn_reserved + $1"
#define NEAR_WHERE                                                                                 \
    " id >= $2 AND id < $3 AND supi <> $4 AND state = 'active' AND sqn_reserved <= $5"
    const char *sql = store_conn_engine(conn) == STORE_ENGINE_POSTGRESQL
                          ? "UPDATE subscriptions" NEAR_SET
                            " WHERE id IN (SELECT id FROM subscriptions WHERE" NEAR_WHERE
                            " ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED)"
                            " AND sqn_reserved <= $5 RETURNING id, sqn_reserved, supi"
                          : "UPDATE subscriptions" NEAR_SET
                            " WHERE id IN (SELECT id FROM subscriptions WHERE" NEAR_WHERE
                            " ORDER BY id LIMIT $6) RETURNING id, sqn_reserved, supi";
#undef NEAR_SET
#undef NEAR_WHERE
    struct store_stmt *st;
    int rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, (int64_t)block);
    store_bind_int64(st, 2, op->sqn_near_lo);
    store_bind_int64(st, 3, op->sqn_near_hi);
    store_bind_text(st, 4, op->supi, -1);
    store_bind_int64(st, 5, (int64_t)(SQN_SEQ_MAX + 1 - block));
    store_bind_int64(st, 6, (int64_t)op->sqn_near_cap);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        if (op->sqn_near_count < op->sqn_near_cap) { /* LIMIT: always */
            struct sqn_grant *g = &op->sqn_near[op->sqn_near_count++];
            g->id = store_col_int64(st, 0);
            g->hi = (uint64_t)store_col_int64(st, 1);
            text_column(st, 2, g->supi, sizeof(g->supi));
        }
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

#define RESERVE_FROM " CASE WHEN sqn_reserved > $1 THEN sqn_reserved ELSE $1 END"

/* After a reservation on PostgreSQL found no row it could lock: whether the row is there and
 * could take the block, i.e. another transaction holds it (IOTSEC_ERR_BUSY), or not
 * (IOTSEC_ERR_NOTFOUND: unknown SUPI, or its SEQ space is used up). */
static int reserve_missed(struct store_conn *conn, struct sub_op *op, uint64_t block)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "SELECT id FROM subscriptions WHERE supi = $1"
                        " AND CASE WHEN sqn_reserved > $2 THEN sqn_reserved ELSE $2 END <= $3",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, op->supi, -1);
    store_bind_int64(st, 2, (int64_t)op->sqn_floor);
    store_bind_int64(st, 3, (int64_t)(SQN_SEQ_MAX + 1 - block));
    int64_t id;
    rc = store_step_id(conn, st, &id);
    if (rc != IOTSEC_OK)
        return rc;
    op->sqn_locked = true;
    return IOTSEC_ERR_BUSY;
}

/* One atomic statement: concurrent reservations (other instances, other threads) each get a
 * disjoint block, and none reads the mark before writing it. On PostgreSQL a row another
 * instance's transaction holds is not waited for (SKIP LOCKED; op->sqn_locked, retry later):
 * the writer's group commit holds its row locks to the end of the batch, so two instances
 * that waited on each other's rows would deadlock, and any wait stalls a whole batch. */
static int op_reserve_sqn(struct store_conn *conn, struct sub_op *op)
{
    bool pg = store_conn_engine(conn) == STORE_ENGINE_POSTGRESQL;
    struct store_stmt *st;
    op->sqn_locked = false;
    int rc = store_stmt(conn,
                        pg ? "UPDATE subscriptions SET sqn_reserved =" RESERVE_FROM " + $2"
                             " WHERE id = (SELECT id FROM subscriptions WHERE supi = $3"
                             " FOR UPDATE SKIP LOCKED)"
                             " AND" RESERVE_FROM " <= $4 RETURNING sqn_reserved"
                           : "UPDATE subscriptions SET sqn_reserved =" RESERVE_FROM " + $2"
                             " WHERE supi = $3 AND" RESERVE_FROM " <= $4 RETURNING sqn_reserved",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    uint64_t block = block_or_default(op->sqn_block);
    store_bind_int64(st, 1, (int64_t)op->sqn_floor);
    store_bind_int64(st, 2, (int64_t)block);
    store_bind_text(st, 3, op->supi, -1);
    /* SEQ has 43 bits: a mark that cannot take another block is exhausted, not wrapped. */
    store_bind_int64(st, 4, (int64_t)(SQN_SEQ_MAX + 1 - block));
    int64_t hi = 0;
    rc = store_step_id(conn, st, &hi); /* no row: unknown SUPI, or its SEQ space is used up */
    if (rc == IOTSEC_ERR_NOTFOUND && pg)
        rc = reserve_missed(conn, op, block);
    if (rc != IOTSEC_OK)
        return rc;
    op->sqn_reserved = (uint64_t)hi;
    op->sqn_near_count = 0;
    return op->sqn_near_cap > 0 ? reserve_near(conn, op, block) : IOTSEC_OK;
}

static int op_expire_sweep(struct store_conn *conn, struct sub_op *op)
{
    int held = store_lease_hold(conn, "subscriber.expiry_sweep", op->now * 1000,
                                (int64_t)(op->lease_s ? op->lease_s : 180) * 1000);
    if (held == IOTSEC_ERR_BUSY)
        return IOTSEC_OK; /* another instance sweeps */
    if (held != IOTSEC_OK)
        return held;
    int rc = subscriber_counts_fold(conn); /* the fleet counts' deltas (PostgreSQL) */
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    /* Previous credentials past their grace: their DEKs first (crypto-erase), then the
     * envelopes. */
    rc = store_stmt(conn,
                    "DELETE FROM subscription_deks WHERE EXISTS (SELECT 1 FROM subscriptions"
                    " WHERE supi = dek_supi AND prev_cred_version = dek_version"
                    " AND prev_cred_until <= ?)",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, op->now);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    rc = store_stmt(conn,
                    "UPDATE subscriptions SET prev_cred = NULL, prev_cred_version = NULL,"
                    " prev_cred_until = NULL WHERE prev_cred_until <= ?",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, op->now);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
        /* Log first (the SELECT sees the states before), then change them. */
#define DUE                                                                                        \
    " FROM subscriptions WHERE not_after > 0 AND not_after <= ?1"                                  \
    " AND state NOT IN ('expired', 'revoked')"
    if ((rc = store_stmt(conn,
                         "INSERT INTO subscription_events(supi, event, from_state, to_state,"
                         " actor, at) SELECT supi, 'expire', state, 'expired', 'sweep', ?1" DUE,
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, op->now);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    if ((rc = store_stmt(conn,
                         "UPDATE subscriptions SET state = 'expired', updated_at = ?1"
                         " WHERE id IN (SELECT id" DUE ")",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, op->now);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    op->affected = (size_t)store_changes(conn);
    return IOTSEC_OK;
#undef DUE
}

int sub_op_run(struct store_conn *conn, void *arg)
{
    struct sub_op *op = arg;
    int rc;
    switch (op->kind) {
    case SUB_OP_CREATE:
        rc = op->input && op->kek ? op_create(conn, op) : IOTSEC_ERR_INVALID;
        break;
    case SUB_OP_EVENT:
        rc = op_event(conn, op);
        break;
    case SUB_OP_ROTATE:
        rc = op->input && op->kek ? op_rotate(conn, op) : IOTSEC_ERR_INVALID;
        break;
    case SUB_OP_DELETE:
        rc = op_delete(conn, op);
        break;
    case SUB_OP_RESERVE_SQN:
        rc = op_reserve_sqn(conn, op);
        break;
    case SUB_OP_EXPIRE_SWEEP:
        rc = op_expire_sweep(conn, op);
        break;
    default:
        rc = IOTSEC_ERR_INVALID;
    }
    op->rc = rc;
    return rc;
}

int subscriber_get(struct store *s, const char *supi, struct subscription *out)
{
    struct store_conn *conn;
    int rc = store_reader_get(s, &conn);
    return rc == IOTSEC_OK ? subscriber_get_on(conn, supi, out) : rc;
}

int subscriber_get_on(struct store_conn *conn, const char *supi, struct subscription *out)
{
    return load(conn, supi, out, NULL);
}

int subscriber_events_json(struct store *s, const char *supi, size_t limit, struct json_t *arr)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT event, coalesce(from_state, ''), coalesce(to_state, ''), actor, at"
                        " FROM (SELECT * FROM subscription_events WHERE supi = ?"
                        " ORDER BY id DESC LIMIT ?) AS e ORDER BY id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    store_bind_int64(st, 2, (int64_t)limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        char t[32];
        sub_format_time(store_col_int64(st, 4), t, sizeof(t));
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", store_col_text(st, 0),
                                        "from", store_col_text(st, 1), "to", store_col_text(st, 2),
                                        "actor", store_col_text(st, 3), "at", t));
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int subscriber_get_keys(struct store *s, const struct seal_kek *kek, const char *supi,
                        struct subscription *out, struct sub_keys *keys)
{
    struct store_conn *conn;
    int rc = store_reader_get(s, &conn);
    return rc == IOTSEC_OK ? subscriber_get_keys_on(conn, kek, supi, out, keys) : rc;
}

int subscriber_get_keys_on(struct store_conn *conn, const struct seal_kek *kek, const char *supi,
                           struct subscription *out, struct sub_keys *keys)
{
    struct sub_sealed sealed;
    int rc = load(conn, supi, out, &sealed);
    if (rc == IOTSEC_OK)
        rc = subscriber_open_keys(kek, out, &sealed, keys);
    secure_wipe(&sealed, sizeof(sealed));
    return rc;
}

int subscriber_get_sealed(struct store *s, const char *supi, struct subscription *out,
                          struct sub_sealed *sealed)
{
    struct store_conn *conn;
    int rc = store_reader_get(s, &conn);
    return rc == IOTSEC_OK ? load(conn, supi, out, sealed) : rc;
}

int subscriber_open_keys(const struct seal_kek *kek, const struct subscription *sub,
                         const struct sub_sealed *sealed, struct sub_keys *keys)
{
    return sub_cred_open(kek, &sub->supi, sub->cred_version, sealed->cred, sizeof(sealed->cred),
                         sealed->has_dek ? sealed->dek : NULL, sizeof(sealed->dek), keys);
}

int subscriber_list(struct store *s, int state, int64_t after_id, size_t limit, sub_list_fn fn,
                    void *ctx, int64_t *last_id)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc != IOTSEC_OK)
        return rc;
    rc = store_stmt(conn,
                    state < 0 ? SELECT_COLUMNS "WHERE id > ?1 ORDER BY id LIMIT ?2"
                              : SELECT_COLUMNS "WHERE state = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after_id);
    store_bind_int64(st, 2, (int64_t)limit);
    if (state >= 0)
        store_bind_text(st, 3, sub_state_name((enum sub_state)state), -1);
    *last_id = after_id;
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct subscription sub;
        if (row_to_subscription(st, &sub) != IOTSEC_OK)
            continue;
        fn(&sub, ctx);
        *last_id = sub.id;
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* Index of the sorted fleet pages with a state filter (migration "fleet sort"): without it a
 * rare state sorted by SUPI walks the whole SUPI index to fill a page. */
const char SUBSCRIBER_MIGRATION_SORT[] =
    "CREATE INDEX subscriptions_state_supi ON subscriptions(state, supi);";

int subscriber_list_sorted(struct store *s, int state, enum sub_sort sort, const char *after,
                           size_t limit, sub_list_fn fn, void *ctx, char *next, size_t next_cap)
{
    if ((unsigned)sort > SUB_SORT_SUPI_DESC)
        return IOTSEC_ERR_INVALID;
    bool by_id = sort == SUB_SORT_ID || sort == SUB_SORT_ID_DESC;
    char *end = NULL;
    long long after_id = after ? strtoll(after, &end, 10) : 0;
    if (after && by_id && (end == after || *end != '\0' || after_id < 0))
        return IOTSEC_ERR_INVALID;
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    /* A keyset page in each order; no OR in the WHERE clause, so the cursor is a seek into
     * the index (id, supi, or (state, supi) / (state, id)), not a scan from its start. */
    static const char *const key[] = {"id", "id", "supi", "supi"};
    bool desc = sort == SUB_SORT_ID_DESC || sort == SUB_SORT_SUPI_DESC;
    char sql[sizeof(SELECT_COLUMNS) + 128];
    snprintf(sql, sizeof(sql), SELECT_COLUMNS "WHERE %s%s%s%s 1 = 1 ORDER BY %s%s LIMIT ?2",
             state >= 0 ? "state = ?3 AND " : "", after ? key[sort] : "",
             after ? (desc ? " < ?1" : " > ?1") : "", after ? " AND" : "", key[sort],
             desc ? " DESC" : "");
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, sql, &st);
    if (rc != IOTSEC_OK)
        return rc;
    if (after && by_id)
        store_bind_int64(st, 1, after_id);
    else if (after)
        store_bind_text(st, 1, after, -1);
    store_bind_int64(st, 2, (int64_t)limit);
    if (state >= 0)
        store_bind_text(st, 3, sub_state_name((enum sub_state)state), -1);
    next[0] = '\0';
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct subscription sub;
        if (row_to_subscription(st, &sub) != IOTSEC_OK)
            continue;
        fn(&sub, ctx);
        if (by_id)
            snprintf(next, next_cap, "%lld", (long long)sub.id);
        else
            supi_format(&sub.supi, next, next_cap);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
