/* Store benchmark (not a test: ctest does not run it). Prints:
 *   - group-commit throughput: 4 producer threads submitting a small UPDATE each, with a
 *     window of jobs in flight per producer (1 = each waits for its previous job, like
 *     store_write_sync; 64 = an HTTP worker with many connections), synchronous FULL and
 *     NORMAL;
 *   - bulk insert: N rows of ~120 bytes in one store_transaction_sync with one prepared
 *     statement, into a table with a UNIQUE text key (as a subscriber import would be), keys
 *     in order and shuffled, with the default bulk cache (64 MiB) and with 8 MiB.
 * Usage: bench_store [--seconds S] [--rows N] [--dir DIR]   (a fresh file per measurement) */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include <sqlite3.h>

#include "store/store.h"

#define PRODUCERS    4
#define COUNTER_ROWS 10000

static const struct store_migration schema[] = {
    {1, "counters",
     "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
     "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 9999)"
     " INSERT INTO counters SELECT i, 0 FROM c;",
     NULL},
    {2, "subscribers",
     "CREATE TABLE subscribers (id INTEGER PRIMARY KEY, supi TEXT NOT NULL UNIQUE,"
     " gpsi TEXT, state INTEGER NOT NULL, sqn INTEGER NOT NULL, cred BLOB NOT NULL);",
     NULL},
};

static char dir[256];
static int file_no;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct store *open_fresh(enum store_sync sync, int bulk_cache_kib, char *path, size_t len)
{
    snprintf(path, len, "%s/bench-%d.db", dir, file_no++);
    struct store_options o;
    store_options_init(&o);
    o.synchronous = sync;
    o.bulk_cache_size_kib = bulk_cache_kib;
    o.migrations = schema;
    o.migration_count = sizeof(schema) / sizeof(schema[0]);
    struct store *s;
    if (store_open(path, &o, &s) != IOTSEC_OK) {
        fprintf(stderr, "store_open %s: %s\n", path, store_errmsg());
        exit(1);
    }
    return s;
}

static void remove_db(const char *path)
{
    char p[320];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* --- group commit --- */

struct producer {
    struct store *store;
    sem_t window;
    unsigned seed;
    atomic_bool stop;
};

static atomic_ullong jobs_done, jobs_failed;

static int update_run(struct store_conn *c, void *arg)
{
    struct store_stmt *st;
    int err = store_stmt(c, "UPDATE counters SET n = n + 1 WHERE id = ?1", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int64(st, 1, (long long)(intptr_t)arg);
    return store_error(c, store_step(st));
}

static struct producer producers[PRODUCERS];

static void update_done(void *arg, int rc)
{
    long long id = (long long)(intptr_t)arg;
    atomic_fetch_add(rc == IOTSEC_OK ? &jobs_done : &jobs_failed, 1);
    sem_post(&producers[id % PRODUCERS].window);
}

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    int me = (int)(p - producers);
    while (!atomic_load(&p->stop)) {
        sem_wait(&p->window);
        /* ids congruent to me mod PRODUCERS: done finds its producer from the id */
        long long id = (long long)(rand_r(&p->seed) % (COUNTER_ROWS / PRODUCERS)) * PRODUCERS + me;
        const struct store_job job = {update_run, update_done, (void *)(intptr_t)id};
        if (store_submit(p->store, &job) != IOTSEC_OK) {
            sem_post(&p->window);
            sched_yield();
        }
    }
    return NULL;
}

static void bench_group_commit(enum store_sync sync, int window, double seconds)
{
    char path[300];
    struct store *s = open_fresh(sync, 65536, path, sizeof(path));
    atomic_store(&jobs_done, 0);
    atomic_store(&jobs_failed, 0);
    pthread_t th[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i].store = s;
        producers[i].seed = (unsigned)i + 1;
        atomic_store(&producers[i].stop, false);
        sem_init(&producers[i].window, 0, (unsigned)window);
    }
    struct store_metrics m0, m1;
    store_metrics_get(s, &m0);
    double t0 = now_s();
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&th[i], NULL, producer_main, &producers[i]);
    usleep((useconds_t)(seconds * 1e6));
    unsigned long long n = atomic_load(&jobs_done);
    double dt = now_s() - t0;
    store_metrics_get(s, &m1);
    for (int i = 0; i < PRODUCERS; i++)
        atomic_store(&producers[i].stop, true);
    for (int i = 0; i < PRODUCERS; i++) {
        sem_post(&producers[i].window); /* in case it waits */
        pthread_join(th[i], NULL);
    }
    store_close(s); /* drains what is still in flight */
    for (int i = 0; i < PRODUCERS; i++)
        sem_destroy(&producers[i].window);
    uint64_t batches = m1.batches - m0.batches;
    printf("group commit  %-6s  %d producers x %3d in flight: %9.0f jobs/s  "
           "(avg batch %.1f, avg commit %.0f us, max %.1f ms, failed %llu)\n",
           sync == STORE_SYNC_FULL ? "FULL" : "NORMAL", PRODUCERS, window, (double)n / dt,
           batches ? (double)(m1.batch_jobs_total - m0.batch_jobs_total) / (double)batches : 0,
           batches ? (double)(m1.commit_ns_total - m0.commit_ns_total) / (double)batches / 1e3 : 0,
           (double)m1.commit_ns_max / 1e6, atomic_load(&jobs_failed));
    remove_db(path);
}

/* --- bulk insert --- */

struct import {
    long long rows;
    int shuffled;
};

static int import_run(struct store_conn *c, void *arg)
{
    const struct import *im = arg;
    struct store_stmt *st;
    int err = store_stmt(c,
                         "INSERT INTO subscribers (supi, gpsi, state, sqn, cred)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         &st);
    unsigned char cred[60]; /* a sealed K + OPc: nonce, ciphertext, tag */
    memset(cred, 0x5a, sizeof(cred));
    char supi[40], gpsi[40];
    for (long long i = 0; err == IOTSEC_OK && i < im->rows; i++) {
        /* shuffled: a multiplicative permutation of 0..rows-1 spreads the keys */
        long long k = im->shuffled ? (i * 7919) % im->rows : i;
        snprintf(supi, sizeof(supi), "imsi-0010%010lld", k);
        snprintf(gpsi, sizeof(gpsi), "msisdn-4477%08lld", k);
        store_bind_text(st, 1, supi, -1);
        store_bind_text(st, 2, gpsi, -1);
        store_bind_int(st, 3, 1);
        store_bind_int64(st, 4, 32);
        store_bind_blob(st, 5, cred, sizeof(cred));
        int rc = store_step(st);
        if (rc != STORE_DONE)
            err = store_error(c, rc);
        store_reset(st);
    }
    return err;
}

static void bench_bulk(long long rows, int shuffled, int bulk_cache_kib)
{
    char path[300];
    struct store *s = open_fresh(STORE_SYNC_FULL, bulk_cache_kib, path, sizeof(path));
    struct import im = {rows, shuffled};
    double t0 = now_s();
    int err = store_transaction_sync(s, import_run, &im);
    double dt = now_s() - t0;
    if (err != IOTSEC_OK) {
        fprintf(stderr, "import: %s\n", store_errmsg());
        exit(1);
    }
    double t1 = now_s();
    store_close(s); /* includes the checkpoint of the WAL into the file */
    double close_s = now_s() - t1;
    FILE *f = fopen(path, "rb");
    long size = 0;
    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
    }
    printf("bulk insert   %lld rows, %s keys, bulk cache %d MiB: %.2f s = %9.0f rows/s "
           "(close+checkpoint %.2f s, file %.0f MB, %.0f B/row)\n",
           rows, shuffled ? "shuffled" : "ordered", bulk_cache_kib / 1024, dt, (double)rows / dt,
           close_s, (double)size / 1e6, (double)size / (double)rows);
    remove_db(path);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    long long rows = 1000000;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--rows") == 0)
            rows = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            base = argv[i + 1];
    }
    snprintf(dir, sizeof(dir), "%s/iotsec-bench-store-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    printf("SQLite %s, %ld CPUs, files in %s\n", sqlite3_libversion(),
           sysconf(_SC_NPROCESSORS_ONLN), dir);
    const int windows[] = {1, 64};
    for (int w = 0; w < 2; w++) {
        bench_group_commit(STORE_SYNC_FULL, windows[w], seconds);
        bench_group_commit(STORE_SYNC_NORMAL, windows[w], seconds);
    }
    bench_bulk(rows, 0, 65536); /* the defaults */
    bench_bulk(rows, 1, 65536);
    bench_bulk(rows, 1, 8192); /* the same cache as ordinary batches */
    rmdir(dir);
    return 0;
}
