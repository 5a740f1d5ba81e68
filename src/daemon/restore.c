/* iotsecd restore: puts a backup (iotsecctl backup) in place of the instance's database, then
 * moves every SQN high-water mark forward so that the restored instance never issues an SQN
 * the old one issued after the backup was taken (TS 33.102 C.2: a reused SQN is a replay the
 * USIM refuses, or worse, accepts on another IND). Refused while a daemon holds the instance:
 * the lock taken here is the daemon's own, held until this process exits. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "subscriber/subscriber.h"

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "iotsecd restore: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Copies from into to (created 0600, must not exist), synced. */
static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -1;
    close(in);
    close(out);
    return rc;
}

/* Makes the renames in dir durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The backup must be a sound database of this program: checked read-only before anything of
 * the instance is touched. */
static int check_backup(const char *from)
{
    struct store_options so;
    store_options_init(&so);
    so.read_only = true;
    struct store *s = NULL;
    int version = 0;
    int rc = store_open(from, &so, &s);
    if (rc == IOTSEC_OK)
        rc = store_integrity_check(s);
    if (rc == IOTSEC_OK)
        rc = store_schema_version(s, &version);
    store_close(s);
    if (rc != IOTSEC_OK)
        return fail("the backup is not a sound iotsec database", store_errmsg());
    if (version < 1)
        return fail("the backup holds no iotsec schema", from);
    return 0;
}

/* Moves the current database (and its WAL, which belongs to it) aside: kept, never deleted,
 * under name.before-restore-<unix time>. */
static int move_aside(const char *db, char *aside, size_t cap)
{
    snprintf(aside, cap, "%s.before-restore-%lld", db, (long long)time(NULL));
    struct stat st;
    if (stat(db, &st) != 0)
        return errno == ENOENT ? (aside[0] = '\0', 0) : -1;
    const char *suffix[] = {"-wal", "-shm", ""}; /* the main file last */
    for (int i = 0; i < 3; i++) {
        char from[CONFIG_PATH_MAX + 96], to[CONFIG_PATH_MAX + 96];
        snprintf(from, sizeof(from), "%s%s", db, suffix[i]);
        snprintf(to, sizeof(to), "%s%s", aside, suffix[i]);
        if (rename(from, to) != 0 && errno != ENOENT)
            return -1;
    }
    return 0;
}

int daemon_restore(const struct config *cfg, const char *from, uint64_t margin)
{
    if (strcmp(cfg->store_backend, "postgresql") == 0)
        return fail("the instance's store is PostgreSQL",
                    "restore with pg_restore or from "
                    "pg_basebackup, then move the SQN marks forward (docs/operations.md)");
    if (margin == 0 || margin > SQN_SEQ_MAX / 2)
        return fail("--sqn-margin out of range", NULL);
    if (daemon_lock_instance(cfg->dir) != IOTSEC_OK)
        return fail("not restoring", "stop the daemon of this instance first");
    if (check_backup(from) != 0)
        return 1;

    char db[CONFIG_PATH_MAX + 64], tmp[CONFIG_PATH_MAX + 96], aside[CONFIG_PATH_MAX + 96];
    if (config_store_target(cfg, db, sizeof(db)) != IOTSEC_OK)
        return fail("cannot name the database", NULL);
    snprintf(tmp, sizeof(tmp), "%s.restoring", db);
    unlink(tmp);
    if (copy_file(from, tmp) != 0) {
        int err = errno;
        unlink(tmp);
        return fail("cannot copy the backup", strerror(err));
    }
    if (move_aside(db, aside, sizeof(aside)) != 0 || rename(tmp, db) != 0) {
        int err = errno;
        unlink(tmp);
        return fail("cannot put the backup in place", strerror(err));
    }

    char parent[sizeof(db)];
    snprintf(parent, sizeof(parent), "%s", db);
    sync_dir(dirname(parent));

    /* Migrations first (the copy may be older than this program), then the marks. */
    struct store_options so;
    store_options_init(&so);
    so.migrations = daemon_migrations(&so.migration_count);
    struct store *s = NULL;
    if (store_open(db, &so, &s) != IOTSEC_OK)
        return fail("cannot open the restored database", store_errmsg());
    struct sqn_restore_advance a = {.margin = margin};
    int rc = store_transaction_sync(s, sqn_restore_advance_run, &a);
    const char *why = rc == IOTSEC_OK ? "" : store_errmsg();
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", why);
    store_close(s);
    if (rc == IOTSEC_ERR_CONFLICT) {
        snprintf(msg, sizeof(msg),
                 "%" PRId64 " subscriptions have SQN marks within --sqn-margin of the end of "
                 "the SEQ space; the database is restored but NOT safe to serve: restore again "
                 "with a smaller margin",
                 a.overflowing);
        return fail("SQN marks not moved", msg);
    }
    if (rc != IOTSEC_OK)
        return fail("SQN marks not moved: the database is restored but NOT safe to serve", msg);
    json_t *out =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "restored", db, "from", from, "previous", aside,
                  "sqn_margin", (json_int_t)margin, "subscriptions_advanced",
                  (json_int_t)a.subscriptions, "sqn_slots_released", (json_int_t)a.slots_released);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(out);
    return 0;
}
