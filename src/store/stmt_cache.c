/* Prepared statements kept per connection, keyed by SQL text. Hot queries (an AV's SQN
 * update, a subscriber lookup) then cost a reset and a few binds instead of a parse. The key
 * is the text, not the pointer: a pointer to a reused buffer would otherwise return the
 * statement of another query. A 64-slot linear scan over 32-bit hashes is a few dozen
 * compares, cheaper than the strcmp it mostly avoids. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static struct stmt_slot *find(struct stmt_cache *c, uint32_t hash, const char *sql)
{
    for (size_t i = 0; i < c->used; i++) {
        if (c->slot[i].hash == hash && strcmp(c->slot[i].sql, sql) == 0)
            return &c->slot[i];
    }
    return NULL;
}

/* A free slot, or the least recently used one emptied. */
static struct stmt_slot *take_slot(struct stmt_cache *c)
{
    if (c->used < STMT_CACHE_SLOTS)
        return &c->slot[c->used++];
    struct stmt_slot *lru = &c->slot[0];
    for (size_t i = 1; i < c->used; i++) {
        if (c->slot[i].last_used < lru->last_used)
            lru = &c->slot[i];
    }
    lru->stmt->conn->be->finalize(lru->stmt);
    free(lru->sql);
    memset(lru, 0, sizeof(*lru));
    return lru;
}

int store_stmt(struct store_conn *conn, const char *sql, struct store_stmt **out)
{
    if (out != NULL)
        *out = NULL;
    if (conn == NULL || sql == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    struct stmt_cache *c = &conn->cache;
    uint32_t hash = fnv1a(sql);
    struct stmt_slot *slot = find(c, hash, sql);
    if (slot != NULL) {
        conn->be->reset(slot->stmt);
        slot->last_used = ++c->tick;
        *out = slot->stmt;
        return IOTSEC_OK;
    }
    struct store_stmt *stmt = NULL;
    int rc = conn->be->prepare(conn, sql, &stmt);
    if (rc != IOTSEC_OK)
        return rc;
    char *key = strdup(sql);
    if (key == NULL) {
        conn->be->finalize(stmt);
        return IOTSEC_ERR_NOMEM;
    }
    slot = take_slot(c);
    *slot = (struct stmt_slot){.hash = hash, .sql = key, .stmt = stmt, .last_used = ++c->tick};
    *out = stmt;
    return IOTSEC_OK;
}

void stmt_cache_reset_all(struct stmt_cache *c)
{
    for (size_t i = 0; i < c->used; i++)
        c->slot[i].stmt->conn->be->reset(c->slot[i].stmt);
}

void stmt_cache_clear(struct stmt_cache *c)
{
    for (size_t i = 0; i < c->used; i++) {
        c->slot[i].stmt->conn->be->finalize(c->slot[i].stmt);
        free(c->slot[i].sql);
    }
    memset(c, 0, sizeof(*c));
}
