#include "store_test_util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"

void tmpdb_make(struct tmpdb *t)
{
    test_db_make(&t->db);
    t->path = t->db.target;
    t->pg = t->db.pg;
}

void tmpdb_remove(struct tmpdb *t)
{
    test_db_remove(&t->db);
}

const struct store_migration test_migrations[] = {
    {1, "items",
     "CREATE TABLE items (id INTEGER PRIMARY KEY, thread INTEGER, seq INTEGER,"
     " payload TEXT, UNIQUE (thread, seq));",
     NULL},
    {2, "counters",
     "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
     "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c"
     " WHERE i < 15) INSERT INTO counters SELECT i, 0 FROM c;",
     NULL},
};
const size_t test_migration_count = sizeof(test_migrations) / sizeof(test_migrations[0]);

struct store *open_test_store(const char *path, struct store_options *opt)
{
    struct store_options o;
    if (opt == NULL) {
        store_options_init(&o);
        opt = &o;
    }
    opt->migrations = test_migrations;
    opt->migration_count = test_migration_count;
    struct store *s = NULL;
    int rc = store_open(path, opt, &s);
    if (rc != IOTSEC_OK)
        fail_msg("store_open: %s: %s", iotsec_strerror(rc), store_errmsg());
    return s;
}

long long read_int(struct store *s, const char *sql)
{
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    if (store_stmt(c, sql, &st) != IOTSEC_OK)
        fail_msg("prepare %s: %s", sql, store_errmsg());
    int rc = store_step(st);
    if (rc != STORE_ROW)
        fail_msg("%s: no row (%d)", sql, rc);
    long long v = store_col_int64(st, 0);
    store_reset(st);
    return v;
}

void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->entered = g->open = false;
}

void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

int gate_job(struct store_conn *conn, void *arg)
{
    struct gate *g = arg;
    (void)conn;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return IOTSEC_OK;
}

void gate_wait_entered(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void done_counter_init(struct done_counter *d)
{
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->n = 0;
}

void done_counter_destroy(struct done_counter *d)
{
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
}

void done_counter_add(struct done_counter *d)
{
    pthread_mutex_lock(&d->mu);
    d->n++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void done_counter_wait(struct done_counter *d, size_t n, int timeout_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&d->mu);
    while (d->n < n) {
        if (pthread_cond_timedwait(&d->cv, &d->mu, &deadline) == ETIMEDOUT)
            break;
    }
    size_t got = d->n;
    pthread_mutex_unlock(&d->mu);
    if (got < n)
        fail_msg("only %zu of %zu done callbacks after %d s", got, n, timeout_s);
}

int insert_item_job(struct store_conn *conn, void *arg)
{
    const long long *id = arg;
    struct store_stmt *st;
    int err = store_stmt(conn, "INSERT INTO items (id, payload) VALUES (?1, 'x')", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int64(st, 1, *id);
    return store_error(conn, store_step(st));
}
