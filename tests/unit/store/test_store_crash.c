/* Durability after done: a child process submits jobs as fast as it can and writes the id of
 * every job whose done callback reported success to a pipe; the parent kills it with SIGKILL
 * at a random moment, then reopens the database. Every reported id must be there (done only
 * after the commit), and the file must pass PRAGMA integrity_check. Several rounds on the
 * same file, so recovery from a killed writer is exercised again and again. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/store.h"
#include "store_test_util.h"

#define ROUNDS        4
#define MAX_IN_FLIGHT 4000

/* --- The child --- */

static int report_fd;
static atomic_int in_flight;

static int crash_run(struct store_conn *c, void *arg)
{
    long long id = (long long)(intptr_t)arg;
    struct store_stmt *st;
    int err = store_stmt(c, "INSERT INTO items (id, seq, payload) VALUES (?1, ?1, ?2)", &st);
    if (err != IOTSEC_OK)
        return err;
    /* Rows of a few hundred bytes, so that batches span many pages. */
    static const char payload[] = "payload payload payload payload payload payload payload "
                                  "payload payload payload payload payload payload payload "
                                  "payload payload payload payload payload payload payload ";
    store_bind_int64(st, 1, id);
    store_bind_text(st, 2, payload, -1);
    int rc = store_step(st);
    if (rc != STORE_DONE)
        return store_error(c, rc);
    err = store_stmt(c, "UPDATE counters SET n = n + 1 WHERE id = ?1 % 16", &st);
    if (err != IOTSEC_OK)
        return err;
    store_bind_int64(st, 1, id);
    return store_error(c, store_step(st));
}

static void crash_done(void *arg, int rc)
{
    long long id = (long long)(intptr_t)arg;
    if (rc == IOTSEC_OK && write(report_fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
        _exit(3);
    atomic_fetch_sub(&in_flight, 1);
}

static void run_child(const char *path, int fd, long long first_id, unsigned sync_normal)
{
    report_fd = fd;
    struct store_options o;
    store_options_init(&o);
    o.synchronous = sync_normal ? STORE_SYNC_NORMAL : STORE_SYNC_FULL;
    o.migrations = test_migrations;
    o.migration_count = test_migration_count;
    struct store *s;
    if (store_open(path, &o, &s) != IOTSEC_OK)
        _exit(2);
    for (long long id = first_id;;) {
        if (atomic_load(&in_flight) >= MAX_IN_FLIGHT) {
            sched_yield();
            continue;
        }
        atomic_fetch_add(&in_flight, 1);
        const struct store_job job = {
            .run = crash_run, .done = crash_done, .arg = (void *)(intptr_t)id};
        if (store_submit(s, &job) == IOTSEC_OK)
            id++;
        else
            atomic_fetch_sub(&in_flight, 1);
    }
}

/* --- The parent --- */

struct ids {
    long long *v;
    size_t n, cap;
};

static void ids_read(struct ids *ids, int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return;
    long long buf[1024];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got <= 0)
        return;
    /* Writes of 8 bytes to a pipe are atomic, but a read may end inside the last record:
     * the child writes whole records only, so a short tail cannot happen before EOF. */
    assert_int_equal(got % (ssize_t)sizeof(long long), 0);
    for (ssize_t i = 0; i < got / (ssize_t)sizeof(long long); i++) {
        if (ids->n == ids->cap) {
            ids->cap = ids->cap ? ids->cap * 2 : 4096;
            ids->v = realloc(ids->v, ids->cap * sizeof(*ids->v));
            assert_non_null(ids->v);
        }
        ids->v[ids->n++] = buf[i];
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Runs a child until about run_ms after its first report (a loaded machine may take a while to
 * start it), kills it, returns the ids it reported done. */
static void kill_round(const char *path, long long first_id, int run_ms, unsigned sync_normal,
                       struct ids *ids)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        run_child(path, fds[1], first_id, sync_normal);
        _exit(0);
    }
    close(fds[1]);
    long long give_up = now_ms() + 30000;
    while (ids->n == 0 && now_ms() < give_up)
        ids_read(ids, fds[0], 100);
    long long deadline = now_ms() + run_ms;
    while (ids->n > 0 && now_ms() < deadline)
        ids_read(ids, fds[0], (int)(deadline - now_ms()));
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    size_t before;
    do { /* what was written before the kill is still in the pipe */
        before = ids->n;
        ids_read(ids, fds[0], 0);
    } while (ids->n != before);
    close(fds[0]);
}

static void check_all_present(struct store *s, const struct ids *ids)
{
    struct store_conn *c;
    struct store_stmt *st;
    assert_int_equal(store_reader_get(s, &c), IOTSEC_OK);
    assert_int_equal(store_stmt(c, "SELECT 1 FROM items WHERE id = ?1", &st), IOTSEC_OK);
    size_t missing = 0;
    for (size_t i = 0; i < ids->n; i++) {
        store_bind_int64(st, 1, ids->v[i]);
        if (store_step(st) != STORE_ROW && missing++ < 5)
            fprintf(stderr, "reported done but missing: %lld\n", ids->v[i]);
        store_reset(st);
    }
    if (missing)
        fail_msg("%zu of %zu jobs reported done are not in the database", missing, ids->n);
}

static void test_sigkill_keeps_every_done_job(void **state)
{
    (void)state;
    struct tmpdb t;
    tmpdb_make(&t);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    fprintf(stderr, "crash test seed %u\n", seed);
    long long total_reported = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct ids ids = {0};
        int run_ms = rand() % 500;
        unsigned sync_normal = round % 2;
        kill_round(t.path, (round + 1) * 100000000LL, run_ms, sync_normal, &ids);
        struct store *s = open_test_store(t.path, NULL);
        if (store_integrity_check(s) != IOTSEC_OK)
            fail_msg("round %d: integrity_check: %s", round, store_errmsg());
        check_all_present(s, &ids);
        long long rows = read_int(s, "SELECT count(*) FROM items");
        long long counted = read_int(s, "SELECT sum(n) FROM counters");
        assert_int_equal(rows, counted); /* each job's two writes committed together */
        fprintf(stderr,
                "round %d: killed %d ms after the first done (%s): %zu reported done, "
                "%lld rows\n",
                round, run_ms, sync_normal ? "NORMAL" : "FULL", ids.n, rows);
        assert_true(ids.n > 0); /* the round tested something */
        assert_true((long long)ids.n <= rows);
        total_reported += (long long)ids.n;
        store_close(s);
        free(ids.v);
    }
    assert_true(total_reported > 0);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_keeps_every_done_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
