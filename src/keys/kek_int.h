/* Inside the keys module: the SQL (kek_store.c) the rotation (kek_rotate.c) runs. */
#ifndef IOTSEC_KEYS_KEK_INT_H
#define IOTSEC_KEYS_KEK_INT_H

#include "keys/kek.h"

/* The current KEK id and whether a rotation is under way (1, false: none recorded). */
int kek_state_get(struct store_conn *c, uint8_t *current, bool *rotating);
/* Records current (the one before it joins the ids once current) and the rotation's state. */
int kek_state_set(struct store_conn *c, uint8_t current, bool rotating, int64_t now);
/* Whether KEK id was current once (only such a KEK is ever retired: a KEK file installed ahead
 * of a rotation, never current yet, is not). */
int kek_state_was_current(struct store_conn *c, uint8_t id, bool *was);
/* Records the KEK ids this instance holds. */
int kek_holders_set(struct store_conn *c, const char *instance, const uint8_t *ids, size_t n,
                    int64_t now);
/* IOTSEC_ERR_STATE, naming it in missing, when a live instance (one holding an SQN slot lease)
 * other than me has not recorded holding KEK id. */
int kek_live_missing(struct store_conn *c, const char *me, uint8_t id, int64_t now_ms,
                     char *missing, size_t cap);

/* Calls fn for each KEK id column's envelopes name, with its row count. */
typedef void (*kek_count_fn)(const struct kek_column *col, uint8_t id, int64_t rows, void *ctx);
int kek_count(struct store_conn *c, const struct kek_column *col, kek_count_fn fn, void *ctx);

/* A column's scan cursor and what a chunk did. */
struct kek_cursor {
    char text[160];
    int64_t num;
    bool end; /* the scan found fewer rows than asked: the column is done for this pass */
};

/* Re-wraps up to limit envelopes of col not under the current KEK of kek (a ring handle),
 * after cur, each with an UPDATE that matches the old envelope (a row changed meanwhile keeps
 * its new value). Envelopes that open under no held KEK are counted in *unreadable. */
int kek_rewrap_chunk(struct store_conn *c, const struct seal_kek *kek, const struct kek_column *col,
                     int limit, struct kek_cursor *cur, int64_t *rewrapped, int64_t *unreadable);

#endif
