/* Connections through the store's backend: the engine-neutral parts (statement cache, the
 * readers' list) live here, the engine's in its backend. */
#include <stdlib.h>

#include "base/err.h"
#include "store/store_internal.h"

int conn_open(struct store *s, bool writer, struct store_conn **out)
{
    *out = NULL;
    struct store_conn *c = NULL;
    int err = s->be->conn_open(s->path, &s->opt, writer, &c);
    if (err != IOTSEC_OK)
        return err;
    c->be = s->be;
    *out = c;
    return IOTSEC_OK;
}

void conn_close(struct store_conn *conn)
{
    if (conn == NULL)
        return;
    stmt_cache_clear(&conn->cache);
    conn->be->conn_close(conn);
}

int conn_exec(struct store_conn *conn, const char *sql)
{
    return conn->be->exec(conn, sql);
}

int conn_control(struct store_conn *conn, enum conn_ctl ctl)
{
    return conn->be->control(conn, ctl);
}

bool conn_in_transaction(struct store_conn *conn)
{
    return conn->be->in_transaction(conn);
}

int conn_set_cache_size(struct store_conn *conn, int kib)
{
    return conn->be->set_cache_size ? conn->be->set_cache_size(conn, kib) : IOTSEC_OK;
}
