/* Opening and closing a store: options, the write connection, migrations, the writer thread.
 * The order matters: migrations run on the write connection before the writer thread exists,
 * so that no job ever sees a schema older than the code. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "store/store_internal.h"

#define QUEUE_LIMIT_MAX (16u * 1024 * 1024)
#define MAX_BATCH_MAX   65536u

void store_options_init(struct store_options *opt)
{
    if (opt == NULL)
        return;
    *opt = (struct store_options){
        .synchronous = STORE_SYNC_FULL,
        .busy_timeout_ms = 5000,
        .cache_size_kib = 8192,
        .bulk_cache_size_kib = 65536,
        .queue_limit = 65536,
        .max_batch = 256,
    };
}

static int validate_options(const struct store_options *o)
{
    const char *bad = NULL;
    if (o->synchronous != STORE_SYNC_FULL && o->synchronous != STORE_SYNC_NORMAL)
        bad = "synchronous";
    else if (o->busy_timeout_ms < 0)
        bad = "busy_timeout_ms";
    else if (o->cache_size_kib < 64)
        bad = "cache_size_kib (>= 64)";
    else if (o->bulk_cache_size_kib < 64)
        bad = "bulk_cache_size_kib (>= 64)";
    else if (o->queue_limit < 1 || o->queue_limit > QUEUE_LIMIT_MAX)
        bad = "queue_limit";
    else if (o->max_batch < 1 || o->max_batch > MAX_BATCH_MAX)
        bad = "max_batch";
    if (bad != NULL) {
        store_set_errmsg("store: option %s out of range", bad);
        return IOTSEC_ERR_INVALID;
    }
    return migrate_validate(o->migrations, o->migration_count);
}

static struct store *store_alloc(const char *path, const struct store_options *opt)
{
    struct store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->opt = *opt;
    s->opt.migrations = NULL; /* the caller's array is not kept */
    s->opt.migration_count = 0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->queue_nonempty, NULL);
    pthread_mutex_init(&s->stats_mu, NULL);
    pthread_mutex_init(&s->readers_mu, NULL);
    s->path = strdup(path);
    if (s->path == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

/* Frees whatever part of s exists; the writer thread must be stopped. */
static void store_free(struct store *s)
{
    readers_close_all(s);
    conn_close(s->writer);
    job_queue_free(&s->queue);
    free(s->batch);
    pthread_mutex_destroy(&s->readers_mu);
    pthread_mutex_destroy(&s->stats_mu);
    pthread_cond_destroy(&s->queue_nonempty);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

int store_open(const char *path, const struct store_options *opt, struct store **out)
{
    struct store_options defaults;
    if (out == NULL || path == NULL || path[0] == '\0')
        return IOTSEC_ERR_INVALID;
    *out = NULL;
    if (opt == NULL) {
        store_options_init(&defaults);
        opt = &defaults;
    }
    int err = validate_options(opt);
    if (err != IOTSEC_OK)
        return err;
    const struct store_backend *be = store_backend_for(path);
    if (be == NULL)
        return IOTSEC_ERR_UNSUPPORTED;
    err = be->check();
    if (err != IOTSEC_OK)
        return err;
    struct store *s = store_alloc(path, opt);
    if (s == NULL)
        return IOTSEC_ERR_NOMEM;
    s->be = be;
    if (!opt->read_only) {
        be->prepare_target(path);
        err = conn_open(s, true, &s->writer);
        if (err == IOTSEC_OK) {
            s->writer->owner = s; /* leases name the instance through the connection */
            err = migrate_apply(s->writer, opt->migrations, opt->migration_count);
        }
        if (err == IOTSEC_OK)
            err = coord_tables(s->writer);
    }
    if (err == IOTSEC_OK)
        err = job_queue_init(&s->queue, s->opt.queue_limit);
    if (err == IOTSEC_OK)
        err = readers_init(s);
    if (err == IOTSEC_OK && !opt->read_only)
        err = writer_start(s);
    if (err == IOTSEC_OK && opt->read_only)
        s->closing = true; /* no writer: every submit answers IOTSEC_ERR_STATE */
    if (err != IOTSEC_OK) {
        store_free(s);
        return err;
    }
    *out = s;
    return IOTSEC_OK;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (writer_is_current(s)) { /* it would join itself, then free what it runs on */
        store_set_errmsg("store: store_close called on the writer thread: ignored");
        return;
    }
    writer_stop(s); /* drains the queue: every accepted job gets its done */
    store_free(s);
}
