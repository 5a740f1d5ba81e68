/* The SQN slots' SQL: leases of IND ranges, one per live instance (see subscriber.h). Each
 * statement is one atomic UPDATE whose WHERE clause re-checks the lease, so two instances
 * claiming at once cannot both get a slot (PostgreSQL re-evaluates the WHERE clause on the
 * committed row at READ COMMITTED; SQLite has one writer). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "subscriber/subscriber.h"

const char SUBSCRIBER_MIGRATION_SQN_SLOTS[] =
    "CREATE TABLE sqn_slots ("
    "  slot INTEGER PRIMARY KEY,"
    "  holder TEXT NOT NULL DEFAULT '',"
    "  lease_until INTEGER NOT NULL DEFAULT 0" /* unix ms */
    ");"
    "INSERT INTO sqn_slots (slot) VALUES (0), (1), (2), (3), (4), (5), (6), (7);"
    /* Blocks were reserved at start and at creation before: every SEQ below sqn_reserved may
     * have been issued, which is exactly the high-water mark's meaning now. */
    "UPDATE subscriptions SET sqn_next = sqn_reserved;";

void sqn_holder_name(const char *instance_dir, char *out, size_t cap)
{
    char host[64] = "localhost", dir[PATH_MAX];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (realpath(instance_dir, dir) == NULL)
        snprintf(dir, sizeof(dir), "%s", instance_dir);
    if ((size_t)snprintf(out, cap, "%s:%s", host, dir) < cap)
        return;
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (const char *p = dir; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    snprintf(out, cap, "%.40s:#%016llx", host, (unsigned long long)h);
}

struct claim {
    const char *holder;
    int64_t now_ms, lease_ms;
    struct sqn_lease *out;
};

/* Own slot first (a restart in the same directory), else the lowest free or expired one. */
static int claim_run(struct store_conn *conn, void *arg)
{
    struct claim *c = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "UPDATE sqn_slots SET holder = $1, lease_until = $2 WHERE slot = ("
                        " SELECT slot FROM sqn_slots WHERE holder = $1 OR lease_until <= $3"
                        " ORDER BY holder = $1 DESC, slot LIMIT 1)"
                        " AND (holder = $1 OR lease_until <= $3) RETURNING slot",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, c->holder, -1);
    store_bind_int64(st, 2, c->now_ms + c->lease_ms);
    store_bind_int64(st, 3, c->now_ms);
    int64_t slot = -1;
    rc = store_step_id(conn, st, &slot);
    if (rc == IOTSEC_ERR_NOTFOUND)
        return IOTSEC_ERR_BUSY; /* no row: every slot is leased by a live instance */
    if (rc != IOTSEC_OK)
        return rc;
    if (slot < 0 || slot >= SQN_SLOTS)
        return IOTSEC_ERR_IO;
    c->out->slot = (int)slot;
    c->out->until_ms = c->now_ms + c->lease_ms;
    snprintf(c->out->holder, sizeof(c->out->holder), "%s", c->holder);
    return IOTSEC_OK;
}

int sqn_slot_claim(struct store *s, const char *holder, int64_t now_ms, int64_t lease_ms,
                   struct sqn_lease *out)
{
    if (holder == NULL || holder[0] == '\0' || strlen(holder) >= SQN_HOLDER_MAX || lease_ms <= 0)
        return IOTSEC_ERR_INVALID;
    struct claim c = {holder, now_ms, lease_ms, out};
    /* Another instance claiming at the same moment may win the slot this one picked (the
     * re-checked WHERE clause then matches nothing): pick again, once per slot at most. */
    int rc = IOTSEC_ERR_BUSY;
    for (int i = 0; i < SQN_SLOTS && rc == IOTSEC_ERR_BUSY; i++)
        rc = store_write_sync(s, claim_run, &c);
    return rc;
}

int sqn_slot_renew_run(struct store_conn *conn, void *arg)
{
    struct sqn_slot_renew *r = arg;
    struct store_stmt *st;
    int rc = store_stmt(
        conn, "UPDATE sqn_slots SET lease_until = $1 WHERE slot = $2 AND holder = $3", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, r->now_ms + r->lease_ms);
    store_bind_int(st, 2, r->lease.slot);
    store_bind_text(st, 3, r->lease.holder, -1);
    rc = store_error(conn, store_step(st));
    store_reset(st);
    if (rc != IOTSEC_OK)
        return rc;
    if (store_changes(conn) != 1)
        return IOTSEC_ERR_STATE; /* taken over after our lease ran out */
    r->lease.until_ms = r->now_ms + r->lease_ms;
    return IOTSEC_OK;
}

static int release_run(struct store_conn *conn, void *arg)
{
    const struct sqn_lease *l = arg;
    struct store_stmt *st;
    int rc = store_stmt(conn,
                        "UPDATE sqn_slots SET holder = '', lease_until = 0"
                        " WHERE slot = $1 AND holder = $2",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int(st, 1, l->slot);
    store_bind_text(st, 2, l->holder, -1);
    rc = store_error(conn, store_step(st));
    store_reset(st);
    return rc;
}

int sqn_slot_release(struct store *s, const struct sqn_lease *lease)
{
    return store_write_sync(s, release_run, (void *)lease);
}
