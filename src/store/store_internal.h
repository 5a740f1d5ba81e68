/* Inside the store: the structures shared by its files. Nothing outside src/store includes
 * this header. */
#ifndef IOTSEC_STORE_INTERNAL_H
#define IOTSEC_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/backend.h"
#include "store/store.h"

/* --- stmt_cache.c --- */

/* Resets every cached statement (the writer does it after each job, so that a statement a
 * job left mid-step cannot block the commit). */
void stmt_cache_reset_all(struct stmt_cache *cache);
void stmt_cache_clear(struct stmt_cache *cache);

/* --- conn.c: connections through the store's backend --- */

int conn_open(struct store *s, bool writer, struct store_conn **out);
void conn_close(struct store_conn *conn);
int conn_exec(struct store_conn *conn, const char *sql);
int conn_control(struct store_conn *conn, enum conn_ctl ctl);
bool conn_in_transaction(struct store_conn *conn);
/* The page cache in KiB where the engine has one; a no-op elsewhere. */
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
    char *path;               /* the target: a file path or a connection URI */
    const struct store_backend *be;
    char instance[128]; /* store_set_instance: the holder name in leases */

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

/* --- coord.c --- */

/* Creates the store's own tables for topics and leases if missing. */
int coord_tables(struct store_conn *conn);

/* --- util --- */

uint64_t store_now_ns(void);

#endif
