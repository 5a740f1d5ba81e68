/* Inside the store: the structures shared by its files. Nothing outside src/store includes
 * this header. */
#ifndef IOTSEC_STORE_INTERNAL_H
#define IOTSEC_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* --- stmt_cache.c --- */

#define STMT_CACHE_SLOTS 64

struct stmt_slot {
    uint32_t hash;
    char *sql; /* owned copy of the key */
    sqlite3_stmt *stmt;
    uint64_t last_used;
};

struct stmt_cache {
    struct stmt_slot slot[STMT_CACHE_SLOTS];
    size_t used;
    uint64_t tick;
};

/* Resets every cached statement (the writer does it after each job, so that a statement a
 * job left mid-step cannot block the commit). */
void stmt_cache_reset_all(struct stmt_cache *cache);
void stmt_cache_clear(struct stmt_cache *cache);

/* --- conn.c --- */

/* The writer's own statements. Kept apart from the statement cache that jobs use, so that no
 * job can get hold of them (the authorizer below only checks at prepare time). */
/* The savepoint around each job of a group. */
#define JOB_SAVEPOINT "iotsec_job"

enum conn_ctl { CTL_BEGIN, CTL_COMMIT, CTL_SAVEPOINT, CTL_RELEASE, CTL_ROLLBACK_TO, CTL_COUNT };

struct store_conn {
    sqlite3 *db;
    struct stmt_cache cache;
    /* Writer only: set while a job's (or a migration's) own SQL runs; the connection's
     * authorizer then refuses BEGIN/COMMIT/ROLLBACK and any use of the job savepoint, which
     * would break the group transaction around it. */
    bool in_job;
    sqlite3_stmt *control[CTL_COUNT];
    /* Readers only: the list of a store's live read connections. */
    struct store *owner;
    struct store_conn *prev, *next;
};

/* Opens a connection with the store's pragmas (writer: read-write, creating the file). */
int conn_open(const char *path, const struct store_options *opt, bool writer,
              struct store_conn **out);
void conn_close(struct store_conn *conn);

/* sqlite3_exec with the error recorded for store_errmsg(). */
int conn_exec(struct store_conn *conn, const char *sql);
/* Runs one of the writer's transaction statements, prepared once per connection: they run
 * for every job, and a parse each time would cost as much as a small job. */
int conn_control(struct store_conn *conn, enum conn_ctl ctl);
/* PRAGMA cache_size in KiB; lowering it frees the pages above the new size. */
int conn_set_cache_size(struct store_conn *conn, int kib);

/* --- error.c --- */

/* Records a formatted message as this thread's store_errmsg(). */
void store_set_errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- job_queue.c: a bounded ring of jobs; the caller holds the store's lock --- */

enum job_kind {
    JOB_BATCHED, /* runs in a savepoint of a group transaction */
    JOB_ALONE,   /* runs in its own transaction (store_transaction_sync) */
};

struct queued_job {
    struct store_job job;
    enum job_kind kind;
};

struct job_queue {
    struct queued_job *ring;
    size_t cap, head, count;
};

int job_queue_init(struct job_queue *q, size_t cap);
void job_queue_free(struct job_queue *q);
bool job_queue_push(struct job_queue *q, const struct queued_job *job);
const struct queued_job *job_queue_peek(const struct job_queue *q);
void job_queue_pop(struct job_queue *q);

/* --- writer.c, batch.c --- */

/* One job taken by the writer, with its outcome. */
struct batch_entry {
    struct store_job job;
    int rc;
    char *errmsg; /* set when rc < 0 and a message was recorded */
};

/* Runs entries [0, n) as one group (savepoints, one commit) and fills their rc; does not
 * call done. */
void batch_run_group(struct store *s, struct batch_entry *e, size_t n);
/* Runs one entry in a transaction of its own. */
void batch_run_alone(struct store *s, struct batch_entry *e);

struct store {
    struct store_options opt; /* migrations pointer cleared after open */
    char *path;

    /* Used only by the writer thread once it runs (and by store_open before). */
    struct store_conn *writer;
    struct batch_entry *batch;
    pthread_t writer_thread;
    bool writer_started;

    pthread_mutex_t mu; /* guards queue and closing */
    pthread_cond_t queue_nonempty;
    struct job_queue queue;
    bool closing;

    pthread_mutex_t stats_mu;
    struct store_metrics stats;

    pthread_key_t reader_key;
    bool reader_key_made;
    pthread_mutex_t readers_mu;
    struct store_conn *readers;
};

int writer_start(struct store *s);
/* Drains the queue and joins the writer thread. */
void writer_stop(struct store *s);
/* True on the writer thread (inside a job or a done callback). */
bool writer_is_current(const struct store *s);

/* Metrics updates from the writer (metrics.c). */
void metrics_batch_done(struct store *s, size_t committed, size_t failed, bool commit_ok,
                        uint64_t commit_ns);
void metrics_rejected(struct store *s);

/* --- reader.c --- */

int readers_init(struct store *s);
void readers_close_all(struct store *s);

/* --- migrate.c --- */

int migrate_apply(struct store_conn *conn, const struct store_migration *m, size_t count);
int migrate_validate(const struct store_migration *m, size_t count);

/* --- util --- */

uint64_t store_now_ns(void);

#endif
