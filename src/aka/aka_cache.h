/* In-memory state of the AKA capability, shared by all worker threads:
 * - the SQN generators of the subscribers seen since start (each the block of SEQs this instance
 *   reserved durably and serves from memory: see subscriber.h, struct sqn_gen), with their
 *   count of consecutive synchronisation failures;
 * - the AUSF's authentication contexts (authCtxId -> expected RES*, keys, expiry).
 * Both are striped hash tables: a lock per stripe, so threads rarely contend. */
#ifndef IOTSEC_AKA_CACHE_H
#define IOTSEC_AKA_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subscriber/subscriber.h"

/* ---- SQN generators ---- */

struct sqn_cache;

struct sqn_cache *sqn_cache_new(void);
void sqn_cache_free(struct sqn_cache *c);
size_t sqn_cache_size(struct sqn_cache *c);

/* What one call on a subscriber's generator decided. */
struct sqn_step {
    uint64_t sqn;            /* the SQN to use (when ok) */
    bool ok;                 /* an SQN was taken */
    uint64_t reserve_floor;  /* when !ok: reserve a block at or above this SEQ durably, then
                                hand the result to sqn_cache_reserved */
    unsigned synch_failures; /* consecutive resynchronisations, this one included */
    bool first_use;          /* when !ok: the generator never held a block in this run */
};

/* Takes the next SQN for subscription id with IND ind. A generator not in memory yet starts
 * empty: its first take asks for a reservation. With resync, first moves the generator past
 * sqn_ms and counts a synchronisation failure. block: SEQs per reservation. Returns IOTSEC_OK
 * (see step), IOTSEC_ERR_INVALID (SEQ space exhausted), IOTSEC_ERR_NOMEM. */
int sqn_cache_take(struct sqn_cache *c, int64_t id, unsigned ind, bool resync, uint64_t sqn_ms,
                   uint64_t block, struct sqn_step *step);

/* Installs the block [hi - block, hi) a durable reservation returned for id (see
 * sqn_block_granted). */
void sqn_cache_reserved(struct sqn_cache *c, int64_t id, uint64_t hi, uint64_t block);

/* Installs a block reserved ahead for id (a neighbour of a subscriber that needed one; see
 * SUB_OP_RESERVE_SQN), creating its generator when this instance has none yet. As with
 * sqn_cache_reserved, a block older than the one held is ignored and a newer one replaces it
 * (skipping the rest of the old one: SEQs skipped, never reused). */
void sqn_cache_prefill(struct sqn_cache *c, int64_t id, const char *supi, uint64_t hi,
                       uint64_t block);

/* The generator of id serves supi. SQLite may give a new subscription the id of a deleted one
 * (the largest rowid is reused): blocks reserved for the old one are dropped, never served to
 * the new one, whose mark knows nothing of them. Call before sqn_cache_take. */
void sqn_cache_bind(struct sqn_cache *c, int64_t id, const char *supi);

/* Reserving ahead is done once per range of ids and run: returns true (and marks it) the first
 * time range is claimed, false after. IOTSEC_ERR_NOMEM counts as claimed (no reservation
 * ahead: subscribers then reserve one by one). */
bool sqn_cache_claim_range(struct sqn_cache *c, int64_t range);

/* A successful authentication ends a run of synchronisation failures. */
void sqn_cache_auth_success(struct sqn_cache *c, int64_t id);

/* ---- AUSF authentication contexts ---- */

#define AUTH_CTX_ID_LEN 32 /* hex of 128 random bits */

enum auth_ctx_kind { AUTH_CTX_5G_AKA, AUTH_CTX_EAP_AKA_PRIME };

struct auth_ctx {
    char id[AUTH_CTX_ID_LEN + 1];
    enum auth_ctx_kind kind;
    char supi[SUPI_STRING_MAX];
    int64_t subscription_id;
    char snn[64];
    uint8_t rand[16];
    uint8_t xres_star[16]; /* 5G AKA: XRES*; EAP-AKA': XRES (first res_len bytes) */
    uint8_t kausf[32];
    uint8_t k_aut[32]; /* EAP-AKA' */
    size_t res_len;
    uint8_t eap_id; /* EAP-AKA': identifier of the challenge sent */
    int64_t expires_at_ms;
    /* Out of auth_ctx_take only: a kept result of a confirmed, successful authentication
     * (id, kind, SUPI, subscription, serving network; no key), which the AMF may still
     * delete (TS 29.509 Delete5gAkaAuthenticationResult). */
    bool confirmed;
};

struct auth_ctx_table;

/* limit: contexts held at most (past it, creation fails with IOTSEC_ERR_BUSY). */
struct auth_ctx_table *auth_ctx_table_new(size_t limit);
void auth_ctx_table_free(struct auth_ctx_table *t);

/* Stores a copy of ctx under a fresh random id (written into ctx->id). */
int auth_ctx_put(struct auth_ctx_table *t, struct auth_ctx *ctx);

/* Removes the context with id and copies it out: a context is consumed once. Returns
 * IOTSEC_ERR_NOTFOUND when absent, already consumed, or expired at now_ms. A confirmed
 * result is taken only when confirmed_too (and is otherwise left alone). */
int auth_ctx_take(struct auth_ctx_table *t, const char *id, int64_t now_ms, bool confirmed_too,
                  struct auth_ctx *out);

/* Keeps the result of a successful confirmation under ctx->id until until_ms: its id, kind,
 * SUPI, subscription and serving network, never a key or the expected response. Results
 * have their own bound, AUTH_RESULTS_MAX at a time (~10 MiB for IMSIs; the table's limit if
 * lower): past it the result is not kept
 * (IOTSEC_ERR_BUSY), which only means that a later deletion of that result finds nothing. At
 * high rates (tens of thousands of authentications a second) this is what bounds memory. */
#define AUTH_RESULTS_MAX 65536
int auth_ctx_keep_result(struct auth_ctx_table *t, const struct auth_ctx *ctx, int64_t until_ms);

/* Drops every context (pending or confirmed) of supi; returns how many. */
size_t auth_ctx_drop_supi(struct auth_ctx_table *t, const char *supi);

/* Drops expired contexts (wiping them); returns how many. */
size_t auth_ctx_expire(struct auth_ctx_table *t, int64_t now_ms);
size_t auth_ctx_count(struct auth_ctx_table *t);

#endif
