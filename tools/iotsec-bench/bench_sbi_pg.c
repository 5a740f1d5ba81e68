/* The SBI groups on PostgreSQL (--postgresql URL): each daemon the benchmark starts gets a
 * database of its own on that server (CREATE DATABASE, dropped at cleanup), passed to
 * `iotsecd init --postgresql`, and its figures are named pg.*, next to the SQLite ones of the
 * same run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench_sbi.h"

const char *sbi_pg_admin_url;
const char *sbi_report_prefix = "";
int sbi_sub_cache_off;

#ifdef IOTSEC_HAVE_POSTGRESQL
#include <libpq-fe.h>

static int admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(sbi_pg_admin_url);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "sbi: postgresql: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

int sbi_pg_create(char *name, size_t name_len, char *url, size_t url_len)
{
    static unsigned n;
    char sql[128];
    snprintf(name, name_len, "iotsec_bench_%d_%u", (int)getpid(), ++n);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (admin_exec(sql) != 0)
        return -1;
    /* The admin URL with its database name replaced. */
    const char *auth = strstr(sbi_pg_admin_url, "://");
    if (auth == NULL)
        return -1;
    auth += 3;
    const char *path = auth + strcspn(auth, "/?");
    const char *rest = path[0] == '/' ? path + 1 + strcspn(path + 1, "?") : path;
    snprintf(url, url_len, "%.*s/%s%s", (int)(path - sbi_pg_admin_url), sbi_pg_admin_url, name,
             rest);
    return 0;
}

void sbi_pg_drop(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    admin_exec(sql);
}
#else
int sbi_pg_create(char *name, size_t name_len, char *url, size_t url_len)
{
    (void)name, (void)name_len, (void)url, (void)url_len;
    fprintf(stderr, "sbi: this build has no PostgreSQL support (libpq-dev)\n");
    return -1;
}

void sbi_pg_drop(const char *name)
{
    (void)name;
}
#endif
