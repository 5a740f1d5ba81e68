/* A database of its own for one test, on the backend the run was started for: a SQLite file
 * in a temporary directory (the default), or, when IOTSEC_TEST_STORE_URL holds a PostgreSQL URL
 * (ctest's *_pg tests: tests/support/pg_test_server.sh), a fresh database created on that
 * server and dropped at the end. The same test code then checks both engines. */
#ifndef IOTSEC_TEST_DB_H
#define IOTSEC_TEST_DB_H

#include <stdbool.h>

struct test_db {
    char dir[256];    /* SQLite: the temporary directory */
    char target[640]; /* what store_open takes: a file path or a URL */
    char name[64];    /* PostgreSQL: the database created for the test */
    bool pg;
};

/* True when this run tests PostgreSQL (IOTSEC_TEST_STORE_URL is set). */
bool test_db_pg(void);

/* Creates the database; fails the test when it cannot. */
void test_db_make(struct test_db *t);
/* Removes it (SQLite: the file, its -wal/-shm and the directory; PostgreSQL: DROP DATABASE,
 * ending any session left on it). */
void test_db_remove(struct test_db *t);

/* Runs sql on a PostgreSQL test database (fixing data behind a stopped daemon's back);
 * returns 0, or -1 with the server's message on stderr. */
int test_db_exec(const struct test_db *t, const char *sql);

#endif
