/* After a restore from a backup: the copy's high-water marks are as old as the copy, and the
 * instance kept issuing SQNs after it was taken. Moving every mark forward by a margin larger
 * than anything issued since puts every future block above every SQN ever issued; the slots'
 * leases in the copy name processes that no longer hold them. One transaction: all or none. */
#include "base/err.h"
#include "store/store.h"
#include "subscriber/subscriber.h"

int sqn_restore_advance_run(struct store_conn *conn, void *arg)
{
    struct sqn_restore_advance *a = arg;
    if (a->margin == 0 || a->margin > SQN_SEQ_MAX)
        return IOTSEC_ERR_INVALID;
    struct store_stmt *st;
    /* A mark the margin would carry past the 43-bit SEQ space: refuse rather than wrap. */
    int rc = store_stmt(conn, "SELECT count(*) FROM subscriptions WHERE sqn_reserved > ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, (int64_t)(SQN_SEQ_MAX - a->margin));
    rc = store_step(st);
    int64_t too_high = rc == STORE_ROW ? store_col_int64(st, 0) : 0;
    store_reset(st);
    if (rc != STORE_ROW)
        return store_error(conn, rc);
    if (too_high > 0) {
        a->overflowing = too_high;
        return IOTSEC_ERR_CONFLICT;
    }
    /* sqn_next too: a generator loaded from the row then starts empty at the new mark. */
    rc = store_stmt(conn,
                    "UPDATE subscriptions SET sqn_reserved = sqn_reserved + ?1,"
                    " sqn_next = sqn_reserved + ?1",
                    &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, (int64_t)a->margin);
    if ((rc = store_step(st)) != STORE_DONE)
        return store_error(conn, rc);
    a->subscriptions = store_changes(conn);
    rc = store_stmt(conn, "UPDATE sqn_slots SET holder = '', lease_until = 0", &st);
    if (rc != IOTSEC_OK)
        return rc;
    if ((rc = store_step(st)) != STORE_DONE)
        return store_error(conn, rc);
    a->slots_released = store_changes(conn);
    return store_leases_release_all(conn);
}
