/* The subscriber capability's SQL. Every write is a job run by the store's writer thread
 * (sub_op_run); reads use the calling thread's read connection. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "subscriber/sub_cache.h"
#include "subscriber/subscriber.h"

#define CRED_PLAIN_LEN  32 /* K || OPc */
#define CRED_SEALED_LEN SUB_CRED_SEALED_LEN

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

#define SELECT_COLUMNS                                                                             \
    "SELECT id, supi, gpsi, owner, amf, cred_version, state, not_before, not_after,"               \
    " sqn_reserved, created_at, updated_at, cred, auth_method, sqn_next FROM subscriptions "

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

/* Reads the row of supi on conn; with cred non-NULL also copies its sealed credential. */
static int load(struct store_conn *conn, const char *supi, struct subscription *out,
                uint8_t cred[CRED_SEALED_LEN])
{
    struct store_stmt *st;
    int rc = store_stmt(conn, SELECT_COLUMNS "WHERE supi = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    int step = store_step(st);
    if (step == STORE_ROW) {
        rc = row_to_subscription(st, out);
        if (rc == IOTSEC_OK && cred != NULL) {
            if (store_col_bytes(st, 12) == CRED_SEALED_LEN)
                memcpy(cred, store_col_blob(st, 12), CRED_SEALED_LEN);
            else
                rc = IOTSEC_ERR_IO;
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

static int seal_cred(const struct seal_kek *kek, const struct supi *supi, uint32_t version,
                     const struct sub_keys *keys, uint8_t out[CRED_SEALED_LEN])
{
    char aad[SUPI_STRING_MAX + 64];
    size_t aad_len = sub_keys_aad(supi, version, aad, sizeof(aad));
    uint8_t plain[CRED_PLAIN_LEN];
    memcpy(plain, keys->k, 16);
    memcpy(plain + 16, keys->opc, 16);
    int rc = seal(kek, aad, aad_len, plain, sizeof(plain), out);
    secure_wipe(plain, sizeof(plain));
    return rc;
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
    uint8_t cred[CRED_SEALED_LEN];
    if (supi_format(&in->supi, supi, sizeof(supi)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = seal_cred(kek, &in->supi, 1, &in->keys, cred);
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
    uint8_t old_cred[CRED_SEALED_LEN], new_cred[CRED_SEALED_LEN];
    int rc = load(conn, op->supi, &cur, old_cred);
    if (rc != IOTSEC_OK)
        return rc;
    if (cur.state == SUB_REVOKED || cur.state == SUB_EXPIRED) {
        op->result = cur; /* the refusal names the state */
        return IOTSEC_ERR_STATE;
    }
    uint32_t version = cur.cred_version + 1;
    if ((rc = seal_cred(op->kek, &cur.supi, version, &op->input->keys, new_cred)) != IOTSEC_OK)
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
        store_bind_blob(st, 4, old_cred, sizeof(old_cred));
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
    /* The store's SQLite writer runs with secure_delete on, so the sealed credentials do not
     * survive in free pages (crypto-erase: the envelopes are gone). */
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
    struct store_stmt *st;
    int rc = store_stmt(conn,
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
    int rc = load(conn, supi, out, sealed.cred);
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
    return rc == IOTSEC_OK ? load(conn, supi, out, sealed->cred) : rc;
}

int subscriber_open_keys(const struct seal_kek *kek, const struct subscription *sub,
                         const struct sub_sealed *sealed, struct sub_keys *keys)
{
    uint8_t plain[CRED_PLAIN_LEN];
    char aad[SUPI_STRING_MAX + 64];
    size_t aad_len = sub_keys_aad(&sub->supi, sub->cred_version, aad, sizeof(aad));
    int rc = unseal(kek, aad, aad_len, sealed->cred, sizeof(sealed->cred), plain);
    if (rc == IOTSEC_OK) {
        memcpy(keys->k, plain, 16);
        memcpy(keys->opc, plain + 16, 16);
    }
    secure_wipe(plain, sizeof(plain));
    return rc;
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

int subscriber_count(struct store *s, uint64_t counts[SUB_STATE_COUNT])
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
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

/* ---- bulk import straight from text ---- */

#define IMPORT_LINE_MAX 1024

/* A row of an import, sealed and formatted, waiting for its batch's INSERT. */
struct import_row {
    char supi[SUPI_STRING_MAX];
    char gpsi[SUB_GPSI_MAX];
    char owner[SUB_OWNER_MAX];
    uint8_t amf[2];
    uint8_t cred[CRED_SEALED_LEN];
    enum sub_state state;
    enum sub_auth_method auth_method;
    int64_t not_after;
    uint64_t first; /* the SIM's SEQ + 1: where SQN reservations start */
    size_t line;
    bool inserted;
};

/* Rows per INSERT: one statement (one round trip on a network database) for many rows. */
#define IMPORT_BATCH 64
#define IMPORT_COLS  12

struct text_import {
    const struct seal_kek *kek;
    const char *text;
    size_t len;
    bool csv;
    int64_t now;
    bool check; /* find the row that breaks a unique key (the second attempt after a conflict) */
    size_t imported, bad_line;
    char *err;
    size_t err_len;
    struct import_row rows[IMPORT_BATCH];
    size_t nrows;
};

static int import_row_make(const struct text_import *ti, const struct sub_input *in, size_t line,
                           struct import_row *r)
{
    memset(r, 0, sizeof(*r));
    if (supi_format(&in->supi, r->supi, sizeof(r->supi)) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = seal_cred(ti->kek, &in->supi, 1, &in->keys, r->cred);
    snprintf(r->gpsi, sizeof(r->gpsi), "%s", in->gpsi);
    snprintf(r->owner, sizeof(r->owner), "%s", in->owner);
    memcpy(r->amf, in->amf, 2);
    r->state = in->state;
    r->auth_method = in->auth_method;
    r->not_after = in->not_after;
    /* As insert(): the first SEQ issued must exceed the SIM's. */
    r->first = (in->sqn >> SQN_IND_BITS) + 1;
    r->line = line;
    return rc;
}

/* "INSERT ... VALUES (?1..?12), (?13..?24)..." for n rows (malloc'd). A row that breaks a
 * unique key (its SUPI or GPSI exists, or comes twice in the input) fails the statement, and
 * the import. Nothing comes back, so on PostgreSQL the bulk transaction sends these statements
 * without waiting for each answer (pipelined; a failure shows at the COMMIT).
 * With check: "... ON CONFLICT DO NOTHING RETURNING supi": such a row is skipped instead, and
 * the rows that come back tell which one it was, so the operator gets its line; this costs a
 * round trip per statement, so it runs only to explain a conflict. */
static char *import_sql(size_t n, bool check)
{
    static const char head[] =
        "INSERT INTO subscriptions(supi, gpsi, owner, amf, cred_version, cred, state,"
        " not_after, sqn_reserved, created_at, updated_at, auth_method, sqn_next) VALUES ";
    size_t cap = sizeof(head) + n * (IMPORT_COLS * 8 + 8) + 64;
    char *sql = malloc(cap);
    if (sql == NULL)
        return NULL;
    size_t o = (size_t)snprintf(sql, cap, "%s", head);
    for (size_t i = 0; i < n; i++) {
        size_t b = i * IMPORT_COLS;
        o += (size_t)snprintf(sql + o, cap - o,
                              "%s(?%zu, ?%zu, ?%zu, ?%zu, 1, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu, ?%zu,"
                              " ?%zu, ?%zu)",
                              i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8,
                              b + 9, b + 10, b + 11, b + 12);
    }
    if (check)
        snprintf(sql + o, cap - o, " ON CONFLICT DO NOTHING RETURNING supi");
    return sql;
}

/* Inserts the pending rows in one statement; a skipped row fails the import at its line. */
static int import_flush(struct store_conn *conn, struct text_import *ti)
{
    size_t n = ti->nrows;
    if (n == 0)
        return IOTSEC_OK;
    char *sql = import_sql(n, ti->check);
    if (sql == NULL)
        return IOTSEC_ERR_NOMEM;
    struct store_stmt *st;
    int rc = store_stmt(conn, sql, &st);
    free(sql);
    if (rc != IOTSEC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct import_row *r = &ti->rows[i];
        int b = (int)(i * IMPORT_COLS);
        store_bind_text(st, b + 1, r->supi, -1);
        if (r->gpsi[0])
            store_bind_text(st, b + 2, r->gpsi, -1);
        else
            store_bind_null(st, b + 2);
        store_bind_text(st, b + 3, r->owner, -1);
        store_bind_blob(st, b + 4, r->amf, 2);
        store_bind_blob(st, b + 5, r->cred, sizeof(r->cred));
        store_bind_text(st, b + 6, sub_state_name(r->state), -1);
        store_bind_int64(st, b + 7, r->not_after);
        store_bind_int64(st, b + 8, (int64_t)r->first);
        store_bind_int64(st, b + 9, ti->now);
        store_bind_int64(st, b + 10, ti->now);
        store_bind_text(st, b + 11, sub_auth_method_name(r->auth_method), -1);
        store_bind_int64(st, b + 12, (int64_t)r->first);
    }
    int step;
    if (!ti->check) {
        /* all or an error (on PostgreSQL: then or at the COMMIT) */
        if ((step = store_step(st)) == STORE_DONE)
            for (size_t i = 0; i < n; i++)
                ti->rows[i].inserted = true;
    } else {
        while ((step = store_step(st)) == STORE_ROW) {
            const char *supi = store_col_text(st, 0);
            /* each returned SUPI accounts for its first row not yet accounted for */
            for (size_t i = 0; supi != NULL && i < n; i++) {
                if (!ti->rows[i].inserted && strcmp(ti->rows[i].supi, supi) == 0) {
                    ti->rows[i].inserted = true;
                    break;
                }
            }
        }
    }
    store_reset(st);
    if (step != STORE_DONE)
        return store_error(conn, step);
    for (size_t i = 0; i < n; i++) {
        if (!ti->rows[i].inserted) {
            ti->bad_line = ti->rows[i].line;
            snprintf(ti->err, ti->err_len, "the SUPI or GPSI exists already");
            return IOTSEC_ERR_CONFLICT;
        }
    }
    ti->imported += n;
    secure_wipe(ti->rows, sizeof(ti->rows));
    ti->nrows = 0;
    return IOTSEC_OK;
}

/* Copies the next line (without its line ending) into line; returns false at the end. */
static bool next_line(const char **p, const char *end, char *line, size_t cap, bool *too_long)
{
    if (*p >= end)
        return false;
    const char *eol = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = (size_t)((eol ? eol : end) - *p);
    *too_long = n >= cap;
    if (!*too_long) {
        memcpy(line, *p, n);
        line[n] = '\0';
        line[strcspn(line, "\r")] = '\0';
    }
    *p = eol ? eol + 1 : end;
    return true;
}

static int run_text_import(struct store_conn *conn, void *arg)
{
    struct text_import *ti = arg;
    const char *p = ti->text, *end = ti->text + ti->len;
    char line[IMPORT_LINE_MAX];
    struct sub_csv_columns cols;
    bool header_seen = !ti->csv, too_long;
    size_t line_no = 0;
    int rc = IOTSEC_OK;
    while (rc == IOTSEC_OK && next_line(&p, end, line, sizeof(line), &too_long)) {
        line_no++;
        if (too_long) {
            snprintf(ti->err, ti->err_len, "line too long");
            rc = IOTSEC_ERR_INVALID;
        } else if (line[0] == '\0' || line[0] == '#') {
            continue;
        } else if (!header_seen) {
            rc = sub_csv_header(line, &cols, ti->err, ti->err_len);
            header_seen = true;
        } else {
            struct sub_input in;
            rc = ti->csv ? sub_csv_row(line, &cols, &in, ti->err, ti->err_len)
                         : sub_json_row(line, &in, ti->err, ti->err_len);
            if (rc == IOTSEC_OK)
                rc = import_row_make(ti, &in, line_no, &ti->rows[ti->nrows++]);
            if (rc == IOTSEC_OK && ti->nrows == IMPORT_BATCH)
                rc = import_flush(conn, ti);
            secure_wipe(&in, sizeof(in));
        }
        secure_wipe(line, sizeof(line));
    }
    if (rc != IOTSEC_OK && ti->bad_line == 0)
        ti->bad_line = line_no;
    if (rc == IOTSEC_OK)
        rc = import_flush(conn, ti);
    secure_wipe(ti->rows, sizeof(ti->rows));
    return rc;
}

int subscriber_import_text(struct store *s, const struct seal_kek *kek, const char *text,
                           size_t len, bool csv, int64_t now, size_t *imported, size_t *bad_line,
                           char *err, size_t err_len)
{
    struct text_import *ti = calloc(1, sizeof(*ti)); /* the batch: ~20 KiB */
    if (ti == NULL)
        return IOTSEC_ERR_NOMEM;
    ti->kek = kek;
    ti->text = text;
    ti->len = len;
    ti->csv = csv;
    ti->now = now;
    ti->err = err;
    ti->err_len = err_len;
    err[0] = '\0';
    int rc = store_transaction_sync(s, run_text_import, ti);
    if (rc == IOTSEC_ERR_CONFLICT) {
        /* Nothing was kept; again, row by row accounted for, to name the line (the same rows
         * fail the same way, unless the conflicting row went meanwhile: then it succeeds). */
        secure_wipe(ti, sizeof(*ti));
        ti->kek = kek, ti->text = text, ti->len = len, ti->csv = csv, ti->now = now;
        ti->err = err, ti->err_len = err_len, ti->check = true;
        err[0] = '\0';
        rc = store_transaction_sync(s, run_text_import, ti);
    }
    *imported = rc == IOTSEC_OK ? ti->imported : 0;
    *bad_line = ti->bad_line;
    free(ti);
    return rc;
}
