/* A bounded in-memory cache of subscriptions for the authentication path, so that a complete
 * 5G AKA costs no database round trip once its subscriber has been read (issue 10: on a
 * network database the read was the whole cost).
 *
 * What is kept: the fields authentication uses (id, SUPI, state, validity, credential version,
 * AMF, method) and the credential (K || OPc) sealed under a key of the cache's own: random,
 * made when the cache is, never stored, and held like the KEK (its AES-GCM schedule stays set
 * up in each thread, seal.h). A miss opens the row's credential once, through its data key
 * under the KEK (sub_dek.h), and seals it under the cache's key; a hit opens that envelope,
 * one AES-GCM open under a key already set up, instead of opening the data key and then the
 * credential under it (about 7,500 instructions less per authentication). No K or OPc sits in
 * the cache in clear, the KEK's nonce budget is not spent on cache fills, and a credential
 * whose data key was destroyed is gone from the cache with its row (the change log below).
 * gpsi, owner and the SQN marks of a cached row are empty: SQNs come from the generators
 * (aka_cache.h), never from this copy. At most max_entries rows (least recently used dropped
 * first), about 170 bytes each with their index: 2^18 rows (the default) ~ 45 MiB.
 *
 * Staleness bound: a change committed on any instance (state, credentials, validity,
 * deletion; see sub_changes_store.c) is no longer served by any instance after
 * SUB_CACHE_FRESH_MS. Each instance reads the change log at most every SUB_CACHE_POLL_MS (one
 * statement, from whichever request thread comes first) and drops the rows named there; a hit
 * is served only while the last successful read of the log started at most SUB_CACHE_FRESH_MS
 * ago, so when the log cannot be read (database away) every lookup goes to the database, as it
 * did without the cache. A change made by this instance drops the row at once
 * (sub_cache_changed, from the subscriber's writer jobs).
 *
 * Rows read while a change was applied are not cached (a generation count): a read that
 * started before an eviction never puts back the row it evicted. */
#ifndef IOTSEC_SUB_CACHE_H
#define IOTSEC_SUB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "subscriber/subscriber.h"

#define SUB_CACHE_POLL_MS     200
#define SUB_CACHE_FRESH_MS    800
#define SUB_CACHE_DEFAULT_MAX (1u << 18)

struct sub_cache;

/* s and kek are borrowed and must outlive the cache. max_entries 0: SUB_CACHE_DEFAULT_MAX. */
struct sub_cache *sub_cache_new(struct store *s, const struct seal_kek *kek, size_t max_entries);
void sub_cache_free(struct sub_cache *c);

/* As subscriber_get_keys (IOTSEC_ERR_NOTFOUND when absent, never cached; IOTSEC_ERR_AUTH when
 * the stored credential does not open), from memory when the cached row is fresh. Reads the
 * change log first when it is due. keys: wipe after use. */
int sub_cache_get(struct sub_cache *c, const char *supi, struct subscription *out,
                  struct sub_keys *keys);

/* A change of supi's row made by this process: every cache of the process drops it now. */
void sub_cache_changed(const char *supi);

/* Every cache of the process drops every row (a KEK is about to be retired: cached rows may
 * still hold data keys sealed under it). */
void sub_cache_flush_every(void);

/* Reads the change log now and applies it (sub_cache_get does it when due). */
int sub_cache_poll(struct sub_cache *c);

struct sub_cache_stats {
    uint64_t hits, misses, evictions, invalidations, flushes, poll_failures;
    size_t entries;
};
void sub_cache_stats(struct sub_cache *c, struct sub_cache_stats *out);

/* Tests: the clock (milliseconds, monotonic) the cache uses instead of CLOCK_MONOTONIC. */
void sub_cache_set_clock(struct sub_cache *c, int64_t (*now_ms)(void *), void *ctx);

/* ---- the change log (sub_changes_store.c) ---- */

extern const char SUBSCRIBER_MIGRATION_CHANGES[];
extern const char SUBSCRIBER_MIGRATION_CHANGES_PG[];

/* The newest change's sequence number (0: none yet). */
int sub_changes_head(struct store *s, int64_t *seq);

/* Calls fn for the changes after seq `after`, oldest first, at most limit. */
typedef void (*sub_change_fn)(int64_t seq, const char *supi, void *ctx);
int sub_changes_since(struct store *s, int64_t after, size_t limit, sub_change_fn fn, void *ctx);

#endif
