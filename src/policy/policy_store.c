/* The policy's SQL: its document, the open actions (what makes them idempotent), and the
 * append-only audit of every action and release. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "policy/policy_int.h"
#include "subscriber/subscriber.h"

const char POLICY_MIGRATION_1[] =
    "CREATE TABLE policy_config ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  doc TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    /* The audit: append-only. */
    "CREATE TABLE policy_actions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  supi TEXT NOT NULL,"
    "  action TEXT NOT NULL,"      /* quarantine|rotate|notify|throttle|release */
    "  exception TEXT NOT NULL,"   /* TS 29.520 ExceptionId; '' for a release */
    "  level INTEGER NOT NULL,"
    "  \"window\" INTEGER NOT NULL," /* quoted: a keyword in PostgreSQL */
    "  actor TEXT NOT NULL,"       /* policy|admin */
    "  outcome TEXT NOT NULL,"
    "  rate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  finding TEXT);"
    "CREATE INDEX policy_actions_supi ON policy_actions(supi, id);"
    "CREATE TRIGGER policy_actions_no_update BEFORE UPDATE ON policy_actions"
    "  BEGIN SELECT RAISE(ABORT, 'policy_actions is append-only'); END;"
    "CREATE TRIGGER policy_actions_no_delete BEFORE DELETE ON policy_actions"
    "  BEGIN SELECT RAISE(ABORT, 'policy_actions is append-only'); END;"
    /* Open actions: one per (supi, action, exception) until the operator releases. */
    "CREATE TABLE policy_open ("
    "  supi TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  exception TEXT NOT NULL,"
    "  action_id INTEGER NOT NULL,"
    "  rate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (supi, action, exception)) WITHOUT ROWID;";

/* Who acted and why (operators' releases and quarantines), and the finding an action was
 * taken on (an_findings.id, the analytics' evidence; it may have been swept since). */
const char POLICY_MIGRATION_2[] =
    "ALTER TABLE policy_actions ADD COLUMN principal TEXT;"
    "ALTER TABLE policy_actions ADD COLUMN reason TEXT;"
    "ALTER TABLE policy_actions ADD COLUMN finding_id INTEGER;"
    "CREATE INDEX policy_actions_finding ON policy_actions(finding_id);";

static int step_done(struct store_conn *conn, struct store_stmt *st)
{
    int rc = store_step(st);
    return rc == STORE_DONE ? IOTSEC_OK : store_error(conn, rc);
}

int policy_store_append(struct store_conn *conn, const struct policy_record *r)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        /* The id open_action predicted (max + 1: the table is append-only,
                         * and an engine's sequence may skip values after a rollback). */
                        "INSERT INTO policy_actions(id, at, supi, action, exception, level,"
                        " \"window\", actor, outcome, rate_kbps, finding, principal, reason,"
                        " finding_id) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM"
                        " policy_actions),?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, r->at);
    store_bind_text(st, 2, r->supi, -1);
    store_bind_text(st, 3, r->action, -1);
    store_bind_text(st, 4, r->exception, -1);
    store_bind_int(st, 5, (int)r->level);
    store_bind_int64(st, 6, r->window);
    store_bind_text(st, 7, r->actor, -1);
    store_bind_text(st, 8, r->outcome, -1);
    store_bind_int64(st, 9, r->rate_kbps);
    store_bind_null(st, 10);
    if (r->principal[0])
        store_bind_text(st, 11, r->principal, -1);
    else
        store_bind_null(st, 11);
    if (r->reason[0])
        store_bind_text(st, 12, r->reason, -1);
    else
        store_bind_null(st, 12);
    if (r->finding_id > 0)
        store_bind_int64(st, 13, r->finding_id);
    else
        store_bind_null(st, 13);
    return step_done(conn, st);
}

/* Opens (supi, action, exception); false when it was open already (a duplicate). */
static int open_action(struct store_conn *conn, const struct policy_job *j, const char *action,
                       bool *opened)
{
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO policy_open(supi, action, exception, action_id,"
                        " rate_kbps) VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) + 1 FROM"
                        " policy_actions), ?) ON CONFLICT DO NOTHING",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, j->supi, -1);
    store_bind_text(st, 2, action, -1);
    store_bind_text(st, 3, an_exception_name(j->exc), -1);
    store_bind_int64(st, 4, strcmp(action, "throttle") == 0 ? j->rate_kbps : 0);
    if ((rc = step_done(conn, st)) != IOTSEC_OK)
        return rc;
    *opened = store_changes(conn) > 0;
    return IOTSEC_OK;
}

static const char *sub_outcome(int rc, const char *done)
{
    return rc == IOTSEC_OK            ? done
           : rc == IOTSEC_ERR_STATE   ? "skipped: subscription not in a state that allows it"
           : rc == IOTSEC_ERR_NOTFOUND ? "skipped: no such subscription"
                                       : "failed";
}

/* Carries one action out; *outcome says what happened. Errors of the database roll the
 * whole job back (returned); a subscription in the wrong state is an outcome, not an error. */
static int carry_out(struct store_conn *conn, struct policy_job *j, enum policy_action a,
                     const char **outcome)
{
    struct sub_op op = {.now = j->now, .actor = "policy", .kek = j->kek};
    snprintf(op.supi, sizeof(op.supi), "%s", j->supi);
    uint32_t version = 0;
    int rc;
    switch (a) {
    case POLICY_QUARANTINE:
        op.kind = SUB_OP_EVENT;
        op.event = SUB_EV_QUARANTINE;
        rc = sub_op_run(conn, &op);
        *outcome = sub_outcome(rc, "quarantined");
        j->quarantined = rc == IOTSEC_OK;
        break;
    case POLICY_ROTATE:
        /* Over the air or not at all: a K replaced server-side, which the device never
         * learns, locks the device out for good. */
        rc = j->rotate ? j->rotate(j->rotate_arg, conn, j->supi, j->now, "policy", &version)
                       : IOTSEC_ERR_NOTFOUND;
        *outcome = rc == IOTSEC_ERR_NOTFOUND ? "skipped: no over-the-air path; quarantine instead"
                                             : sub_outcome(rc, "waiting for the device");
        break;
    case POLICY_NOTIFY:
        j->notify = j->nurls > 0;
        *outcome = j->nurls > 0 ? "queued" : "no webhook configured";
        return IOTSEC_OK;
    case POLICY_THROTTLE:
        *outcome = "recorded";
        return IOTSEC_OK;
    default:
        return IOTSEC_ERR_INVALID;
    }
    return rc == IOTSEC_OK || rc == IOTSEC_ERR_STATE || rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_OK : rc;
}

int policy_store_act(struct store_conn *conn, void *arg)
{
    struct policy_job *j = arg;
    j->notify = false;
    j->quarantined = false;
    for (int a = 0; a < POLICY_ACTION_COUNT; a++) {
        if (!(j->actions & POLICY_BIT(a)))
            continue;
        bool opened;
        const char *name = policy_action_name((enum policy_action)a), *outcome = "";
        int rc = open_action(conn, j, name, &opened);
        if (rc != IOTSEC_OK)
            return rc;
        if (!opened)
            continue; /* the same alarm again: its action stands */
        if ((rc = carry_out(conn, j, (enum policy_action)a, &outcome)) != IOTSEC_OK)
            return rc;
        struct policy_record r = {.at = j->now,
                                  .level = j->level,
                                  .window = j->window,
                                  .rate_kbps = a == POLICY_THROTTLE ? j->rate_kbps : 0,
                                  .finding_id = j->finding_id};
        snprintf(r.supi, sizeof(r.supi), "%s", j->supi);
        snprintf(r.action, sizeof(r.action), "%s", name);
        snprintf(r.exception, sizeof(r.exception), "%s", an_exception_name(j->exc));
        snprintf(r.actor, sizeof(r.actor), "policy");
        snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
        if ((rc = policy_store_append(conn, &r)) != IOTSEC_OK)
            return rc;
    }
    return IOTSEC_OK;
}

/* An operator's release or quarantine: the subscription's state through the subscriber
 * capability, the device's open actions closed on a release (so the next finding acts
 * again), and one audit row naming who and why, in one transaction. */
int policy_store_operator(struct store_conn *conn, void *arg)
{
    struct policy_operator_job *oj = arg;
    struct sub_op op = {.kind = SUB_OP_EVENT,
                        .event = oj->quarantine ? SUB_EV_QUARANTINE : SUB_EV_RELEASE,
                        .now = oj->now,
                        .actor = oj->actor[0] ? oj->actor : "admin"};
    snprintf(op.supi, sizeof(op.supi), "%s", oj->supi);
    oj->sub_rc = sub_op_run(conn, &op);
    if (oj->sub_rc != IOTSEC_OK)
        return oj->sub_rc;
    int rc;
    if (!oj->quarantine) {
        struct store_stmt *st;
        if ((rc = store_stmt(conn, "DELETE FROM policy_open WHERE supi = ?", &st)) != IOTSEC_OK)
            return rc;
        store_bind_text(st, 1, oj->supi, -1);
        if ((rc = step_done(conn, st)) != IOTSEC_OK)
            return rc;
    }
    struct policy_record r = {.at = oj->now};
    snprintf(r.supi, sizeof(r.supi), "%s", oj->supi);
    snprintf(r.action, sizeof(r.action), "%s", oj->quarantine ? "quarantine" : "release");
    snprintf(r.actor, sizeof(r.actor), "admin");
    snprintf(r.outcome, sizeof(r.outcome), "%s", oj->quarantine ? "quarantined" : "released");
    snprintf(r.principal, sizeof(r.principal), "%s", oj->principal);
    snprintf(r.reason, sizeof(r.reason), "%s", oj->reason);
    return policy_store_append(conn, &r);
}

int policy_store_save(struct store_conn *conn, void *arg)
{
    struct policy_save_job *sj = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "INSERT INTO policy_config(id, doc, updated_at) VALUES (1, ?, ?)"
                        " ON CONFLICT(id) DO UPDATE SET doc = excluded.doc,"
                        " updated_at = excluded.updated_at",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, sj->doc, -1);
    store_bind_int64(st, 2, sj->now);
    return step_done(conn, st);
}

int policy_store_load(struct store *s, struct policy *out)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn, "SELECT doc FROM policy_config WHERE id = 1", &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step = store_step(st);
    if (step == STORE_ROW) {
        const char *doc = store_col_text(st, 0);
        char err[64];
        rc = policy_from_json(doc ? doc : "", doc ? strlen(doc) : 0, out, err, sizeof(err));
    } else {
        rc = step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(conn, step);
    }
    store_reset(st);
    return rc;
}

static void copy_col(struct store_stmt *st, int i, char *out, size_t len)
{
    const char *v = store_col_text(st, i);
    snprintf(out, len, "%s", v ? v : "");
}

static void read_row(struct store_stmt *st, struct policy_record *r)
{
    memset(r, 0, sizeof(*r));
    r->id = store_col_int64(st, 0);
    r->at = store_col_int64(st, 1);
    snprintf(r->supi, sizeof(r->supi), "%s", store_col_text(st, 2));
    snprintf(r->action, sizeof(r->action), "%s", store_col_text(st, 3));
    snprintf(r->exception, sizeof(r->exception), "%s", store_col_text(st, 4));
    r->level = (unsigned)store_col_int(st, 5);
    r->window = store_col_int64(st, 6);
    snprintf(r->actor, sizeof(r->actor), "%s", store_col_text(st, 7));
    snprintf(r->outcome, sizeof(r->outcome), "%s", store_col_text(st, 8));
    r->rate_kbps = (uint32_t)store_col_int64(st, 9);
    copy_col(st, 10, r->principal, sizeof(r->principal));
    copy_col(st, 11, r->reason, sizeof(r->reason));
    r->finding_id = store_col_int64(st, 12);
}

int policy_store_list(struct store *s, const char *supi, int64_t after, size_t limit,
                      policy_record_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT id, at, supi, action, exception, level, \"window\", actor, outcome,"
                        " rate_kbps, principal, reason, finding_id FROM policy_actions"
                        " WHERE id > ? AND (? IS NULL OR supi = ?) ORDER BY id LIMIT ?",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, after);
    store_bind_text(st, 2, supi, -1);
    store_bind_text(st, 3, supi, -1);
    store_bind_int64(st, 4, (int64_t)limit);
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct policy_record r;
        read_row(st, &r);
        fn(&r, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}

int policy_store_throttles(struct store *s, policy_record_fn fn, void *ctx)
{
    struct store_conn *conn;
    struct store_stmt *st;
    int rc = store_reader_get(s, &conn);
    if (rc == IOTSEC_OK)
        rc = store_stmt(conn,
                        "SELECT a.id, a.at, o.supi, o.action, o.exception, a.level, a.\"window\","
                        " a.actor, a.outcome, o.rate_kbps, a.principal, a.reason, a.finding_id"
                        " FROM policy_open o JOIN policy_actions"
                        " a ON a.id = o.action_id WHERE o.action = 'throttle' ORDER BY a.id",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    int step;
    while ((step = store_step(st)) == STORE_ROW) {
        struct policy_record r;
        read_row(st, &r);
        fn(&r, ctx);
    }
    store_reset(st);
    return step == STORE_DONE ? IOTSEC_OK : store_error(conn, step);
}
