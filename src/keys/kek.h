/* KEK rotation: every secret sealed directly under the key-encryption key re-wrapped under a new
 * one while the daemon serves (docs/operations.md, "Rotating the KEK").
 *
 * Key files: the configured kek_file holds KEK id 1 (every database made before rotation
 * existed seals under it); `<kek_file>.<id>` holds KEK id 2..KEK_ID_MAX. Each instance loads
 * every such file into a seal_ring at start; the store's kek_state row says which id is current
 * (the one new envelopes name), so every instance on one database seals under the same KEK.
 *
 * A rotation makes a new KEK current, then re-wraps the sealed columns a kek_column list names,
 * a chunk of rows per writer job (other writers, and every read, go on between chunks). Which
 * rows are left is read from the data (the key id in each envelope's header), so a rotation
 * cut short by a crash resumes at the next start; when no row names an old id, the old KEKs
 * are retired: their files overwritten with zeros and removed, their bytes zeroised. */
#ifndef IOTSEC_KEYS_KEK_H
#define IOTSEC_KEYS_KEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "store/store.h"

#define KEK_ID_MAX 200 /* ids above are others' (SUB_DEK_ID names a data key) */

/* ---- key files (kek_files.c) ---- */

/* The file of KEK id: kek_path itself for id 1, "<kek_path>.<id>" otherwise. */
int kek_file_path(const char *kek_path, uint8_t id, char *out, size_t cap);

/* Loads every KEK file present into r (none current yet). *ids lists them (sorted). Refuses a
 * file group or others may access (IOTSEC_ERR_STATE) and a ring with no key (NOTFOUND). */
int kek_files_load(const char *kek_path, struct seal_ring *r, uint8_t *ids, size_t *nids);

/* Creates KEK file id (0600, fails if it exists) and adds it to r. */
int kek_file_create(const char *kek_path, uint8_t id, struct seal_ring *r);

/* Overwrites KEK file id with zeros, syncs and removes it (NOTFOUND: no such file). */
int kek_file_destroy(const char *kek_path, uint8_t id);

/* ---- sealed columns ---- */

/* The AAD a column's envelope was sealed with, from its row's key (a text and an integer
 * part, as the column's scan returns them); 0 when the key is malformed. */
typedef size_t (*kek_aad_fn)(const char *key_text, int64_t key_int, char *aad, size_t cap);

struct kek_column {
    const char *name;  /* "table.column" */
    const char *table; /* counted: SELECT ... FROM table GROUP BY the key id of column */
    const char *column;
    /* Rows not under KEK $1 (a 1-byte blob) after the cursor ($2 text, $3 integer), in
     * cursor order, at most $4: SELECT key_text, key_int, envelope. NULL: counted only (its
     * rows keep an old KEK from retiring: they are re-wrapped by a later version). */
    const char *scan_sql;
    /* Writes envelope $1 where the row whose key is ($3 text, $4 integer) still holds $2 (a
     * row changed meanwhile keeps its change); by the key, so each is an index lookup. */
    const char *update_sql;
    kek_aad_fn aad;
};

/* ---- rotation (kek_rotate.c) ---- */

struct kek_rotation;

struct kek_rotation_config {
    struct store *store;
    struct seal_ring *ring;
    const char *kek_path;             /* the configured kek_file, resolved */
    const char *instance;             /* this instance's name in the store's leases */
    const struct kek_column *columns; /* every column sealed directly under the KEK */
    size_t ncolumns;
    int chunk_rows; /* rows per writer job; 0: 500 */
    /* Called before old KEKs are retired: caches holding rows sealed under them drop them. */
    void (*before_retire)(void *arg);
    void *before_retire_arg;
};

/* Loads the KEK files, reads the current KEK id from the store (id 1 for a database that never
 * rotated), makes it current in the ring and records which KEK ids this instance holds; its
 * keeper then retires KEKs no row names any more and resumes a rotation cut short.
 * IOTSEC_ERR_NOTFOUND (with a log line) when this instance lacks the current KEK's file. The keeper
 * thread (following the store, retiring, resuming) starts at kek_rotation_run, once everything
 * before_retire touches is open. */
int kek_rotation_open(const struct kek_rotation_config *cfg, struct kek_rotation **out);
int kek_rotation_run(struct kek_rotation *kr);
void kek_rotation_close(struct kek_rotation *kr); /* waits for a running chunk */

/* Starts a rotation to KEK id (0: a new KEK made by this instance). IOTSEC_ERR_CONFLICT: one
 * runs already; IOTSEC_ERR_STATE: another live instance does not hold KEK id (*missing names
 * it); IOTSEC_ERR_NOTFOUND: this instance does not hold id. *new_id: the KEK made current. */
int kek_rotation_start(struct kek_rotation *kr, uint8_t id, uint8_t *new_id, char *missing,
                       size_t missing_cap);

struct kek_status_row {
    char column[64];
    uint8_t kek_id;
    int64_t rows;
};

struct kek_status {
    uint8_t current;
    bool rotating;     /* the store says a rotation is under way */
    bool running;      /* this instance's driver is re-wrapping now */
    int64_t rewrapped; /* by this instance's driver, since it started */
    int64_t unreadable;
    double rows_per_s; /* of the last pass */
    uint8_t held[KEK_ID_MAX + 1];
    size_t nheld;
    struct kek_status_row *rows; /* rows per column and KEK id (malloc'd; free it) */
    size_t nrows;
    char error[160];
};

/* Counts rows per column and KEK id (reads every sealed row's header). */
int kek_rotation_status(struct kek_rotation *kr, struct kek_status *st);

/* Blocks until this instance's driver is idle (tests, benchmarks). */
void kek_rotation_wait(struct kek_rotation *kr);

/* Admin routes: POST /admin/v1/keys/kek/rotate (admin role), GET /admin/v1/keys/kek. */
struct http_server;
/* admin_cert_sha256 (borrowed): the instance admin certificate, allowed besides accounts. */
int kek_admin_routes(struct http_server *adm, struct kek_rotation *kr,
                     const char *admin_cert_sha256);

/* Migration 31: kek_state (the current KEK id, whether a rotation is under way) and
 * kek_holders (which KEK ids each instance holds). */
extern const char KEK_MIGRATION_1[];

#endif
