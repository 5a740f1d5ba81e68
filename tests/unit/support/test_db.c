#include "test_db.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef IOTSEC_HAVE_POSTGRESQL
#include <libpq-fe.h>
#endif

bool test_db_pg(void)
{
    const char *url = getenv("IOTSEC_TEST_STORE_URL");
    return url != NULL && url[0] != '\0';
}

#ifdef IOTSEC_HAVE_POSTGRESQL
/* The URL with its database name replaced by name. */
static void url_with_db(const char *url, const char *name, char *out, size_t len)
{
    const char *auth = strstr(url, "://");
    if (auth == NULL)
        fail_msg("IOTSEC_TEST_STORE_URL is not a URL");
    auth += 3;
    const char *path = auth + strcspn(auth, "/?");
    const char *rest = path[0] == '/' ? path + 1 + strcspn(path + 1, "?") : path;
    if ((size_t)snprintf(out, len, "%.*s/%s%s", (int)(path - url), url, name, rest) >= len)
        fail_msg("test database URL too long");
}

static void admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("IOTSEC_TEST_STORE_URL"));
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("test PostgreSQL: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("test PostgreSQL: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}
#endif

void test_db_make(struct test_db *t)
{
    memset(t, 0, sizeof(*t));
    if (test_db_pg()) {
#ifdef IOTSEC_HAVE_POSTGRESQL
        static unsigned counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(t->name, sizeof(t->name), "test_%d_%u_%ld", (int)getpid(), ++counter,
                 (long)(ts.tv_nsec % 1000000));
        char sql[128];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->name);
        admin(sql);
        url_with_db(getenv("IOTSEC_TEST_STORE_URL"), t->name, t->target, sizeof(t->target));
        t->pg = true;
        return;
#else
        fail_msg("IOTSEC_TEST_STORE_URL is set but this build has no PostgreSQL backend");
#endif
    }
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/iotsec-test-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(t->dir) == NULL)
        fail_msg("mkdtemp %s: %s", t->dir, strerror(errno));
    snprintf(t->target, sizeof(t->target), "%s/test.db", t->dir);
}

void test_db_remove(struct test_db *t)
{
    if (t->pg) {
#ifdef IOTSEC_HAVE_POSTGRESQL
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
        admin(sql);
#endif
        return;
    }
    if (t->dir[0] == '\0')
        return;
    static const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[700];
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", t->target, suffix[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

int test_db_exec(const struct test_db *t, const char *sql)
{
#ifdef IOTSEC_HAVE_POSTGRESQL
    if (!t->pg)
        return -1;
    PGconn *c = PQconnectdb(t->target);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "test_db_exec: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
#else
    (void)t, (void)sql;
    return -1;
#endif
}
