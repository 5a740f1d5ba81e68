/* store_backup for SQLite: the online backup API copies every page of the database as one
 * read transaction sees it, so the copy is consistent while the writer keeps committing (WAL:
 * a reader never blocks the writer). The copy is written beside its destination under a
 * temporary name, synced, and renamed into place: a crash leaves no half-written backup under
 * the name the operator asked for. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "store/sqlite/sqlite_int.h"

static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int sqlite_backup(struct store_conn *base, const char *path)
{
    struct sqlite_conn *src = sqlite_conn_of(base);
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", path) >= sizeof(tmp)) {
        store_set_errmsg("backup: path too long");
        return IOTSEC_ERR_INVALID;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        store_set_errmsg("backup: %s exists: refusing to overwrite it", path);
        return IOTSEC_ERR_CONFLICT;
    }
    /* Created 0600 before SQLite opens it: the copy holds sealed credentials and audit data. */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        store_set_errmsg("backup: cannot create %s: %s", tmp, strerror(errno));
        return IOTSEC_ERR_IO;
    }
    close(fd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", src->db, "main") : NULL;
    if (b == NULL) {
        store_set_errmsg("backup: %s", dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        sqlite3_close_v2(dst);
        unlink(tmp);
        return IOTSEC_ERR_IO;
    }
    /* All pages in one step: one read transaction, so one snapshot. A busy source (a
     * checkpoint holding a lock for a moment) is retried. */
    for (int attempt = 0; attempt < 200; attempt++) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(25);
    }
    sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) /* the copy in rollback-journal mode: one self-contained file */
        rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        store_set_errmsg("backup: %s", sqlite3_errmsg(dst));
        sqlite3_close_v2(dst);
        unlink(tmp);
        return IOTSEC_ERR_IO;
    }
    sqlite3_close_v2(dst);
    if (sync_path(tmp) != 0 || rename(tmp, path) != 0) {
        store_set_errmsg("backup: cannot put the copy at %s: %s", path, strerror(errno));
        unlink(tmp);
        return IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}
