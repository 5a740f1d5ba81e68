/* Subscriptions and their credentials (the UDR/UDM data of DESIGN.md): identity, sealed
 * K/OPc, state machine, credential versions, expiry, and the SQN generator.
 *
 * This header is the capability's whole interface. subscriber.c holds the pure logic (state
 * transitions, SQN arithmetic, import parsing); subscriber_store.c its SQL;
 * subscriber_http.c the admin face's handlers. */
#ifndef IOTSEC_SUBSCRIBER_H
#define IOTSEC_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "crypto/supi.h"
#include "store/store.h"

/* ---- States ------------------------------------------------------------------------- */

enum sub_state {
    SUB_PENDING_ACTIVATION,
    SUB_ACTIVE,
    SUB_SUSPENDED,
    SUB_QUARANTINED,
    SUB_REVOKED,
    SUB_EXPIRED,
    SUB_STATE_COUNT,
};

/* What may happen to a subscription. Each transition is explicit; revoked is final. */
enum sub_event {
    SUB_EV_ACTIVATE,   /* pending_activation -> active */
    SUB_EV_SUSPEND,    /* active -> suspended */
    SUB_EV_RESUME,     /* suspended -> active */
    SUB_EV_QUARANTINE, /* active|suspended -> quarantined */
    SUB_EV_RELEASE,    /* quarantined -> active (operator only) */
    SUB_EV_EXPIRE,     /* pending|active|suspended|quarantined -> expired */
    SUB_EV_REVOKE,     /* any but revoked -> revoked */
    SUB_EVENT_COUNT,
};

const char *sub_state_name(enum sub_state s);
int sub_state_parse(const char *name, enum sub_state *out);
const char *sub_event_name(enum sub_event e);

/* The state after ev, or IOTSEC_ERR_STATE when ev is not allowed in from. */
int sub_transition(enum sub_state from, enum sub_event ev, enum sub_state *to);

/* ---- SQN generation (TS 33.102 Annex C.1.1/C.3.2: SQN = SEQ || IND) -------------------- */

#define SQN_IND_BITS  5
#define SQN_IND_SLOTS (1u << SQN_IND_BITS)
#define SQN_SEQ_MAX   ((1ull << (48 - SQN_IND_BITS)) - 1)

/* A subscriber's SQN generator in one iotsecd instance: the block of SEQs [next, reserved)
 * this instance owns, served from memory.
 *
 * In the database, `sqn_reserved` is the subscriber's high-water mark, shared by every instance:
 * no SEQ at or above it was ever issued. An instance gets a block by one atomic statement,
 * `sqn_reserved := max(sqn_reserved, floor) + block RETURNING sqn_reserved` (SUB_OP_RESERVE_SQN:
 * never read-then-write), which hands it [returned - block, returned): no other instance, no
 * earlier run and no later run can hold any SEQ of it. A generator starts empty, so the first
 * authentication of a subscriber after a start reserves (the writer groups those reservations
 * into one commit); nothing rewrites every subscription at start. A crash loses at most the
 * unused rest of the blocks in memory: SEQs are skipped, never issued twice. */
struct sqn_gen {
    uint64_t next;
    uint64_t reserved;
};

/* The IND slot for a serving network (or AUSF instance): a stable hash into 0..31, so each
 * serving network's vectors are checked against their own slot in the USIM. */
unsigned sqn_ind_for(const char *serving_network, size_t len);

/* Takes the next SQN (SEQ || ind) if it is reserved. Returns IOTSEC_OK, or IOTSEC_ERR_BUSY
 * when a new block must be reserved durably first (see sqn_reserve_target). */
int sqn_take(struct sqn_gen *g, unsigned ind, uint64_t *sqn);

/* The floor of the next reservation: the new block must start at or above every SEQ this
 * generator has issued or must skip (after a resynchronisation, past SEQ_MS). Returns
 * IOTSEC_ERR_INVALID when a block of `block` SEQs from there would overflow SEQ's 43 bits. */
int sqn_reserve_floor(const struct sqn_gen *g, uint64_t block, uint64_t *floor);

/* Installs the block a reservation returned (high-water mark hi, size block): the generator
 * then serves [hi - block, hi). A block older than the one held (a slower, concurrent
 * reservation of the same instance), or one a resynchronisation has passed since, is ignored
 * (the next take reserves again). Returns IOTSEC_ERR_INVALID for a malformed block. */
int sqn_block_granted(struct sqn_gen *g, uint64_t hi, uint64_t block);

/* Resynchronisation (TS 33.102 §6.3.5, C.3.4): after the USIM reported SQN_MS, the next SEQ
 * must exceed SEQ_MS. Moves next forward (never back). */
void sqn_resync(struct sqn_gen *g, uint64_t sqn_ms);

/* ---- SQN slots: the IND values each instance may use (TS 33.102 Annex C.1.2, C.2.2) -------
 *
 * The USIM keeps one SEQ_MS per IND and accepts a SEQ for an IND only above that entry. If two
 * instances drew blocks from one counter and used the same IND, a UE alternating between them
 * would see that IND go backwards and fail synchronisation on every switch. So the 32 IND
 * values are split into SQN_SLOTS slots of SQN_IND_PER_SLOT; each live instance holds one slot
 * by a lease in the database (table sqn_slots), and each IND sees SEQs from one writer only.
 * A serving network's IND is a stable hash into the slot's values. An instance that cannot
 * renew its lease stops issuing vectors before the lease ends (sqn_lease_usable), so a slot is
 * never used by two live instances; one that restarts in the same instance directory (the
 * directory's lock guarantees the old process is gone) takes its own slot back at once. */

#define SQN_SLOTS        8
#define SQN_IND_PER_SLOT (SQN_IND_SLOTS / SQN_SLOTS)
#define SQN_HOLDER_MAX   128

struct sqn_lease {
    int slot;                    /* 0..SQN_SLOTS-1 */
    int64_t until_ms;            /* the lease as written (unix ms) */
    char holder[SQN_HOLDER_MAX]; /* the instance: stable per instance directory */
};

/* The lease holder's name for an instance directory: "<hostname>:<directory>" (hashed when
 * long), the same at every start, so that a restart takes its own slot back. */
void sqn_holder_name(const char *instance_dir, char *out, size_t cap);

/* The IND for a serving network in a slot. */
unsigned sqn_ind_in_slot(int slot, const char *serving_network, size_t len);

/* Whether vectors may be issued at now_ms under the lease: it must still have margin_ms left
 * (room for clock skew between instances and for the renewal in flight). */
bool sqn_lease_usable(int64_t until_ms, int64_t now_ms, int64_t margin_ms);

/* Claims a slot for holder (its own slot if it still holds one, else a free or expired one)
 * until now_ms + lease_ms, through the writer; waits for the commit. IOTSEC_ERR_BUSY when
 * every slot is held by another live instance. */
int sqn_slot_claim(struct store *s, const char *holder, int64_t now_ms, int64_t lease_ms,
                   struct sqn_lease *out);

/* A renewal as a store job (the daemon submits it from its tick and must not wait): run with
 * sqn_slot_renew_run; rc IOTSEC_ERR_STATE when the slot is no longer the holder's. */
struct sqn_slot_renew {
    struct sqn_lease lease; /* in: slot and holder; out: until_ms on success */
    int64_t now_ms, lease_ms;
};
int sqn_slot_renew_run(struct store_conn *conn, void *arg);

/* Gives the slot back at a clean stop (best effort: an expired lease frees it anyway). */
int sqn_slot_release(struct store *s, const struct sqn_lease *lease);

/* After `iotsecd restore` (sqn_restore_store.c), as a store job on the restored database: every
 * subscription's high-water mark moves forward by margin SEQs (sqn_next with it), every SQN
 * slot lease and store lease is released. IOTSEC_ERR_CONFLICT (nothing changed) when a mark
 * would pass SQN_SEQ_MAX (overflowing counts them). */
struct sqn_restore_advance {
    uint64_t margin;        /* in: SEQs */
    int64_t subscriptions;  /* out: marks moved */
    int64_t slots_released; /* out */
    int64_t overflowing;    /* out: marks too high to move (on IOTSEC_ERR_CONFLICT) */
};
int sqn_restore_advance_run(struct store_conn *conn, void *arg);

/* The schema of the slots table (a migration of the subscriber capability). */
extern const char SUBSCRIBER_MIGRATION_SQN_SLOTS[];

/* ---- Subscriptions -------------------------------------------------------------------- */

/* How the home network authenticates the subscription (TS 29.503 AuthType). */
enum sub_auth_method { SUB_AUTH_5G_AKA, SUB_AUTH_EAP_AKA_PRIME };

const char *sub_auth_method_name(enum sub_auth_method m); /* "5G_AKA", "EAP_AKA_PRIME" */
int sub_auth_method_parse(const char *name, enum sub_auth_method *out);

#define SUB_GPSI_MAX  64
#define SUB_OWNER_MAX 64

/* A subscription as the logic sees it. K and OPc are plain only inside `struct sub_keys`,
 * which lives on the stack of the function using it and is wiped after. */
struct subscription {
    int64_t id;
    struct supi supi;
    char gpsi[SUB_GPSI_MAX];   /* "msisdn-<digits>" or "extid-<id>@<domain>", or "" */
    char owner[SUB_OWNER_MAX]; /* tenant/account, or "" */
    uint8_t amf[2];
    enum sub_auth_method auth_method;
    uint32_t cred_version;
    enum sub_state state;
    int64_t not_before; /* unix seconds; 0 = none */
    int64_t not_after;  /* unix seconds; 0 = none */
    int64_t created_at, updated_at;
    struct sqn_gen sqn;
};

struct sub_keys {
    uint8_t k[16];
    uint8_t opc[16];
};

/* A row to create, from `subscriber add` or an import. */
struct sub_input {
    struct supi supi;
    struct sub_keys keys;
    uint8_t amf[2];
    enum sub_auth_method auth_method;
    uint64_t sqn; /* the SQN the SIM was personalised with (its SEQ starts after) */
    char gpsi[SUB_GPSI_MAX];
    char owner[SUB_OWNER_MAX];
    int64_t not_after; /* 0 = none */
    enum sub_state state;
};

/* Can this subscription authenticate at time now? Only an active one within its validity.
 * Returns IOTSEC_OK or IOTSEC_ERR_STATE. */
int sub_may_authenticate(const struct subscription *s, int64_t now);

/* Parses a GPSI: "msisdn-<5..15 digits>" or "extid-<local>@<domain>" (TS 29.571). */
int sub_gpsi_valid(const char *gpsi);

/* The AAD that binds a sealed credential to its row and version. */
/* "iotsec/subscription/<supi>/<what>/v<version>" into buf (len bytes, truncated as snprintf
 * would): the AAD of a subscription's sealed values. Returns its length. */
size_t sub_aad(const struct supi *supi, const char *what, uint32_t version, char *buf, size_t len);
size_t sub_keys_aad(const struct supi *supi, uint32_t version, char *buf, size_t len);

/* ---- Import ----------------------------------------------------------------------------- */

/* The columns of a CSV import, named by its header line:
 *   supi,k,opc|op,amf[,sqn][,gpsi][,owner][,not_after][,auth_method]
 * A JSON-lines import has one object per line with the same keys. */
struct sub_csv_columns {
    int supi, k, opc, op, amf, sqn, gpsi, owner, not_after, auth_method;
};

/* Reads a CSV header. Returns IOTSEC_ERR_INVALID (with a message in err) on an unknown or
 * repeated column, or when a required column is missing. */
int sub_csv_header(const char *line, struct sub_csv_columns *cols, char *err, size_t err_len);

/* Parses one CSV data line / one JSON line into in. On error returns IOTSEC_ERR_INVALID and
 * writes the reason (naming the field, never its value) into err. in holds secrets: wipe. */
int sub_csv_row(const char *line, const struct sub_csv_columns *cols, struct sub_input *in,
                char *err, size_t err_len);
int sub_json_row(const char *line, struct sub_input *in, char *err, size_t err_len);

/* Parses an RFC 3339 timestamp ("2027-01-31T00:00:00Z" or with an offset) to unix seconds. */
int sub_parse_time(const char *s, int64_t *out);

/* Formats unix seconds as RFC 3339 UTC into buf (at least 21 bytes). */
void sub_format_time(int64_t t, char *buf, size_t len);

/* ---- Persistence (subscriber_store.c) --------------------------------------------------
 * Writes are jobs for the store's writer thread: fill a struct sub_op, then either submit
 * it (store_submit with run = sub_op_run: the HTTP face, which must not block its loop) or
 * run it synchronously (store_write_sync: tools and tests). Reads use the calling thread's
 * read connection. K and OPc are stored only sealed (crypto/seal.h), bound to their row. */

/* The schema of this capability (migration SQL, applied by the daemon in its order). */
extern const char SUBSCRIBER_MIGRATION_1[];
/* Per-credential data keys (crypto-erase, src/subscriber/sub_dek.h): the table of sealed DEKs
 * (SQLite; PostgreSQL's own DDL), and the list of rows sealed before it, for the conversion. */
extern const char SUBSCRIBER_MIGRATION_DEKS[];
extern const char SUBSCRIBER_MIGRATION_DEKS_PG[];

/* Seals every credential sealed before DEKs existed anew under a DEK of its own (the rows the
 * DEK migration listed), in batches of 500 per transaction; several instances may run it at
 * once. A database with nothing to convert costs one statement. *unreadable counts rows whose
 * credential does not open under kek (left as they are: they could not authenticate either). */
/* The AAD of credential `version`'s data key of supi_text, as subscription_deks holds it
 * (KEK rotation re-wraps those rows); 0 when supi_text is not a SUPI. */
size_t subscriber_dek_aad(const char *supi_text, int64_t version, char *aad, size_t cap);

int subscriber_dek_convert(struct store *s, const struct seal_kek *kek, size_t *converted,
                           size_t *unreadable);

enum sub_op_kind {
    SUB_OP_CREATE,       /* in.input -> a new subscription */
    SUB_OP_EVENT,        /* apply in.event to in.supi */
    SUB_OP_ROTATE,       /* new credential version for in.supi (in.input.keys), old kept for
                            in.grace_s seconds */
    SUB_OP_DELETE,       /* delete in.supi and crypto-erase its sealed credentials (their
                            DEKs are destroyed) */
    SUB_OP_RESERVE_SQN,  /* a block of in.sqn_block SEQs at or above in.sqn_floor for in.supi;
                            out: sqn_reserved, the new high-water mark (the block's end); with
                            sqn_near_cap > 0 also a block for its neighbours (below) */
    SUB_OP_EXPIRE_SWEEP, /* expire every subscription past not_after at in.now; destroy
                            previous credentials past their grace period; on one instance
                            at a time (a store lease): the others skip (affected 0) */
};

/* A block reserved ahead for a subscription (SUB_OP_RESERVE_SQN's neighbours): [hi - block, hi). */
struct sqn_grant {
    int64_t id; /* the subscription */
    char supi[SUPI_STRING_MAX];
    uint64_t hi;
};

struct sub_op {
    enum sub_op_kind kind;
    /* inputs */
    const struct seal_kek *kek;
    char supi[SUPI_STRING_MAX];
    const struct sub_input *input;
    enum sub_event event;
    uint32_t grace_s;
    uint64_t sqn_floor;    /* reserve: the block starts at or above this SEQ */
    uint64_t sqn_block;    /* reserve: SEQs per block; 0 = 1000 */
    uint64_t sqn_reserved; /* reserve: out, the high-water mark after the reservation */
    bool sqn_locked; /* reserve: out, with IOTSEC_ERR_BUSY: another instance's transaction holds
                        the row (PostgreSQL); nothing was reserved, submit again */
    /* reserve ahead: in the same job, a block of sqn_block SEQs above each mark for every other
     * active subscription with id in [sqn_near_lo, sqn_near_hi) (at most sqn_near_cap of
     * them), one statement for all; out: sqn_near[0, sqn_near_count), the new marks. A row
     * another transaction has locked (PostgreSQL: another instance) is skipped, not waited for,
     * so concurrent batches never deadlock on neighbours. */
    int64_t sqn_near_lo, sqn_near_hi;
    struct sqn_grant *sqn_near;
    size_t sqn_near_cap, sqn_near_count;
    uint32_t lease_s; /* expire sweep: with several instances one sweeps (0: 180 s lease) */
    int64_t now;
    const char *actor; /* who asked: "admin", "policy", "sweep"... (for the event log) */
    /* outputs (valid when rc == IOTSEC_OK; result also on IOTSEC_ERR_STATE from a state change
     * or rotation: the row as it is, for the refusal to name its state) */
    struct subscription result;
    size_t affected; /* rows changed (sweep) */
    int rc;
};

/* The store_run_fn of every op (arg is a struct sub_op *). It sets op->rc too. */
int sub_op_run(struct store_conn *conn, void *arg);

/* Bulk import, all rows or none, parsing the text (CSV with a header line, or JSON lines) line
 * by line in writer transactions of a chunk of rows each (store_transaction_sync), so that a
 * million rows need no array of parsed rows and the writer serves others between chunks. On a
 * bad line (IOTSEC_ERR_INVALID) or a SUPI or GPSI already present (IOTSEC_ERR_CONFLICT) the rows
 * of earlier chunks are deleted again, nothing is imported, and *bad_line (1-based) and err say
 * which and why. *imported gets the row count. */
#define SUB_IMPORT_CHUNK 8192 /* rows per writer transaction (~0.2-0.5 s of the writer) */
int subscriber_import_text(struct store *s, const struct seal_kek *kek, const char *text,
                           size_t len, bool csv, int64_t now, size_t *imported, size_t *bad_line,
                           char *err, size_t err_len);

/* Reads one subscription by SUPI string ("imsi-..." / "nai-..."). IOTSEC_ERR_NOTFOUND when
 * absent. */
int subscriber_get(struct store *s, const char *supi, struct subscription *out);

/* The same on a given connection: inside a store job (a store_run_fn) reads must use the job's
 * connection, which sees the writes made earlier in the same transaction (the reader's
 * connection sees only committed data, so it would miss them). */
int subscriber_get_on(struct store_conn *conn, const char *supi, struct subscription *out);

/* Appends the subscription's last `limit` lifecycle events, oldest first, to arr as
 * {"event", "from", "to", "actor", "at"} (the expiry sweep's "expire" by "sweep", ...). */
struct json_t;
int subscriber_events_json(struct store *s, const char *supi, size_t limit, struct json_t *arr);

/* Reads a subscription and opens its current credentials (keys: wipe after use).
 * IOTSEC_ERR_AUTH when the sealed blob does not open (wrong KEK or a tampered row). */
int subscriber_get_keys(struct store *s, const struct seal_kek *kek, const char *supi,
                        struct subscription *out, struct sub_keys *keys);
int subscriber_get_keys_on(struct store_conn *conn, const struct seal_kek *kek, const char *supi,
                           struct subscription *out, struct sub_keys *keys);

/* The same in two steps, for a cache that keeps rows with their credentials still sealed
 * (sub_cache.h): the row and its sealed credential material as stored, then opening it. */
#define SUB_CRED_PLAIN_LEN  32 /* K || OPc */
#define SUB_CRED_SEALED_LEN (SUB_CRED_PLAIN_LEN + SEAL_OVERHEAD)
#define SUB_DEK_LEN         SEAL_KEK_LEN
#define SUB_DEK_SEALED_LEN  (SUB_DEK_LEN + SEAL_OVERHEAD)
/* The credential as stored: sealed under its data key (sub_dek.h), itself sealed under the
 * KEK; a credential sealed before data keys existed has none (has_dek false). */
struct sub_sealed {
    uint8_t cred[SUB_CRED_SEALED_LEN];
    uint8_t dek[SUB_DEK_SEALED_LEN];
    bool has_dek;
};
int subscriber_get_sealed(struct store *s, const char *supi, struct subscription *out,
                          struct sub_sealed *sealed);
int subscriber_open_keys(const struct seal_kek *kek, const struct subscription *sub,
                         const struct sub_sealed *sealed, struct sub_keys *keys);

/* Lists subscriptions with id > after_id (0 to start), optionally in one state (state < 0:
 * all), at most limit, calling fn for each; *last_id is the cursor for the next page. */
typedef void (*sub_list_fn)(const struct subscription *s, void *ctx);
int subscriber_list(struct store *s, int state, int64_t after_id, size_t limit, sub_list_fn fn,
                    void *ctx, int64_t *last_id);

/* The same in an order, for the console's sortable table: keyset pages whose cursor (after,
 * NULL to start; next, "" after the last row) is the last row's id (ID orders, decimal) or
 * SUPI (SUPI orders). IOTSEC_ERR_INVALID for an id cursor that is not a number. */
enum sub_sort { SUB_SORT_ID, SUB_SORT_ID_DESC, SUB_SORT_SUPI, SUB_SORT_SUPI_DESC };
extern const char SUBSCRIBER_MIGRATION_SORT[];
int subscriber_list_sorted(struct store *s, int state, enum sub_sort sort, const char *after,
                           size_t limit, sub_list_fn fn, void *ctx, char *next, size_t next_cap);

/* ---- Fleet counts (subscriber_count_store.c) ------------------------------------------ */

/* Counters kept by triggers in the transaction of each change (see the file): migration
 * "subscriber: fleet counts" (SQLite, PostgreSQL). */
extern const char SUBSCRIBER_MIGRATION_COUNTS[];
extern const char SUBSCRIBER_MIGRATION_COUNTS_PG[];

/* Subscriptions per state (counts[SUB_STATE_COUNT]) from the counters: O(states). */
int subscriber_count(struct store *s, uint64_t counts[SUB_STATE_COUNT]);
/* The same by a scan of the table: O(rows). The counters' reference (tests, the benchmark). */
int subscriber_count_scan(struct store *s, uint64_t counts[SUB_STATE_COUNT]);
/* Subscriptions created on each of days [first_day, first_day + days) (unix days, UTC): out[i]
 * for first_day + i. Deletions do not lower a day's figure: it counts onboarding. */
int subscriber_created_per_day(struct store *s, int64_t first_day, size_t days, uint64_t *out);
/* Subscriptions neither expired nor revoked whose not_after falls in (now, now + within_s[i]],
 * for n = 3 horizons in increasing order. */
int subscriber_expiring(struct store *s, int64_t now, const int64_t *within_s, size_t n,
                        uint64_t *out);
/* PostgreSQL: folds the counters' waiting deltas (in the expiry sweep's job); SQLite: nothing. */
int subscriber_counts_fold(struct store_conn *conn);
/* Migration "subscriber: fleet counts of a bulk import per chunk" (see the file). */
extern const char SUBSCRIBER_MIGRATION_COUNTS_BULK[];
extern const char SUBSCRIBER_MIGRATION_COUNTS_BULK_PG[];
/* In a bulk job: stops the per-row count of inserted subscriptions (SQLite; true when it did:
 * the job must then call subscriber_counts_resume before it returns IOTSEC_OK), and resumes
 * it, counting the job's inserted rows at once: added[state] of each, all created at
 * created_at. */
bool subscriber_counts_pause(struct store_conn *conn);
int subscriber_counts_resume(struct store_conn *conn, const int64_t added[SUB_STATE_COUNT],
                             int64_t created_at);

/* ---- Admin face (subscriber_http.c) ---------------------------------------------------- */

struct http_server;
struct http_request;

/* What the admin handlers need. Borrowed: must outlive the server. Every handler first
 * checks that the client presented the pinned admin certificate (403 otherwise), so an NF
 * certificate from the same CA cannot administer. */
struct sub_admin {
    struct store *store;
    const struct seal_kek *kek;
    char admin_cert_sha256[65]; /* hex SHA-256 of the admin certificate (DER) */
    /* Over-the-air rotation (set by the daemon to provisioning's hook, or NULL): a rotate
     * without a body for a subscription a device onboarded is offered to it first; it
     * returns true when it took the request (a new version then waits for the device, the
     * current keys stay valid until the device confirms) and answers it itself. */
    bool (*ota_rotate)(void *ctx, const char *supi, struct http_request *req);
    void *ota_ctx;
    /* release and quarantine are the policy's operation (set by the daemon): the same one
     * behind /admin/v1/devices/{supi}/release|quarantine, audited with who and why, closing
     * the device's open actions. It answers req. NULL: those actions answer 503. */
    void (*operator_action)(void *ctx, struct http_request *req, const char *supi, bool quarantine);
    void *operator_ctx;
};

/* Registers /admin/v1/subscribers... on the admin server. */
int subscriber_admin_routes(struct http_server *srv, const struct sub_admin *admin);

/* Waits until no bulk import is running (each runs on a thread of its own and answers its
 * request itself). The daemon calls it after stopping the admin server and before freeing it
 * or closing the store. */
void subscriber_admin_drain(void);

/* The JSON view of a subscription (never any key material). */
struct json_t;
struct json_t *subscriber_to_json(const struct subscription *s);

#endif
