/* Read connections, one per thread and store. Readers never wait for the writer (SQLite's
 * WAL mode, PostgreSQL's MVCC) and see the last commit as of the start of each read; giving each
 * thread its own connection (and statement cache) means no lock on the read path at all. The
 * connection is found through a pthread key; the key's destructor closes it when the thread exits.
 * The store also keeps a list of them, under a lock taken only to open or close one, so that
 * store_close can close those of threads still alive. */
#include "base/err.h"
#include "store/store_internal.h"

static void unlink_reader(struct store *s, struct store_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->readers = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* The key's destructor, run by an exiting thread that still has a connection. */
static void reader_destroy(void *p)
{
    struct store_conn *c = p;
    struct store *s = c->owner;
    pthread_mutex_lock(&s->readers_mu);
    unlink_reader(s, c);
    pthread_mutex_unlock(&s->readers_mu);
    conn_close(c);
}

int readers_init(struct store *s)
{
    if (pthread_key_create(&s->reader_key, reader_destroy) != 0) {
        store_set_errmsg("store: no thread-specific key left for read connections");
        return IOTSEC_ERR_BUSY;
    }
    s->reader_key_made = true;
    return IOTSEC_OK;
}

int store_reader_get(struct store *s, struct store_conn **out)
{
    if (out != NULL)
        *out = NULL;
    if (s == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    struct store_conn *c = pthread_getspecific(s->reader_key);
    if (c != NULL) {
        *out = c;
        return IOTSEC_OK;
    }
    int err = conn_open(s, false, &c);
    if (err != IOTSEC_OK)
        return err;
    if (pthread_setspecific(s->reader_key, c) != 0) {
        conn_close(c);
        return IOTSEC_ERR_NOMEM;
    }
    c->owner = s;
    pthread_mutex_lock(&s->readers_mu);
    c->next = s->readers;
    if (s->readers != NULL)
        s->readers->prev = c;
    s->readers = c;
    pthread_mutex_unlock(&s->readers_mu);
    *out = c;
    return IOTSEC_OK;
}

void store_reader_release(struct store *s)
{
    if (s == NULL)
        return;
    struct store_conn *c = pthread_getspecific(s->reader_key);
    if (c == NULL)
        return;
    pthread_setspecific(s->reader_key, NULL);
    reader_destroy(c);
}

void readers_close_all(struct store *s)
{
    if (!s->reader_key_made)
        return;
    pthread_setspecific(s->reader_key, NULL); /* the closing thread's own, if any */
    pthread_mutex_lock(&s->readers_mu);
    while (s->readers != NULL) {
        struct store_conn *c = s->readers;
        unlink_reader(s, c);
        conn_close(c);
    }
    pthread_mutex_unlock(&s->readers_mu);
    /* After this no exiting thread runs reader_destroy for this store: the key is gone. */
    pthread_key_delete(s->reader_key);
    s->reader_key_made = false;
}
