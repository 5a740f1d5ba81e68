/* Helpers shared by the store tests: a temporary directory holding a real database file, a
 * gate that holds the writer thread inside a job (so that the queue can be filled on
 * purpose), and a counter to wait for done callbacks. */
#ifndef IOTSEC_TEST_STORE_UTIL_H
#define IOTSEC_TEST_STORE_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "test_db.h"

/* The test's database (support/test_db.h): a SQLite file, or a fresh PostgreSQL database when
 * IOTSEC_TEST_STORE_URL is set. path is what store_open takes. */
struct tmpdb {
    struct test_db db;
    const char *path;
    bool pg;
};

/* Creates it; fails the test if it cannot. */
void tmpdb_make(struct tmpdb *t);
/* Removes the database (SQLite: its file, -wal and -shm and the directory). */
void tmpdb_remove(struct tmpdb *t);

/* Skips the calling test on PostgreSQL runs (tests of SQLite's file, pragmas, pages). */
#define SKIP_ON_PG()                                                                               \
    do {                                                                                           \
        if (test_db_pg()) {                                                                        \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* The test schema: items(id, thread, seq, payload) and counters(id, n). */
extern const struct store_migration test_migrations[];
extern const size_t test_migration_count;

/* store_open with the test schema and the given options (NULL: defaults); fails the test on
 * error. */
struct store *open_test_store(const char *path, struct store_options *opt);

/* Runs sql on the calling thread's read connection and returns the first column of its first
 * row as an integer (fails the test on error or no row). */
long long read_int(struct store *s, const char *sql);

/* A job that blocks the writer until the test opens the gate. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
};
void gate_init(struct gate *g);
void gate_destroy(struct gate *g);
int gate_job(struct store_conn *conn, void *arg); /* run function: waits for gate_open */
void gate_wait_entered(struct gate *g);
void gate_open(struct gate *g);

/* Counts done callbacks; waiters block until a number is reached. */
struct done_counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
};
void done_counter_init(struct done_counter *d);
void done_counter_destroy(struct done_counter *d);
void done_counter_add(struct done_counter *d);
/* Fails the test if n is not reached within timeout_s seconds. */
void done_counter_wait(struct done_counter *d, size_t n, int timeout_s);

/* Inserts one row into items: the id from arg (a long long *). */
int insert_item_job(struct store_conn *conn, void *arg);

#endif
