/* One process per instance directory: `iotsecd run` holds an exclusive flock on
 * DIR/iotsecd.lock for its whole life. Two daemons on one database would each reserve SQN
 * blocks and serve from their own in-memory generators, and so hand out the same SQNs.
 *
 * flock rather than an fcntl lock, which any close of the file anywhere in the process would
 * drop. The kernel releases the flock when the process ends however it ends (SIGKILL too), so
 * a file left behind never blocks a restart: the PID in it is only there for the message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "daemon/daemon.h"

/* The holder writes its PID right after taking the lock: a reader racing a first start may
 * find the file still empty, so it looks again a few times (50 ms at most). */
static long holder_pid(int fd)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char text[24] = "";
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        char *end;
        long pid = n > 0 ? strtol(text, &end, 10) : 0;
        if (pid > 0)
            return pid;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

int daemon_lock_instance(const char *dir)
{
    char path[CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/" DAEMON_LOCK_FILE, dir);
    /* Never closed: the lock lives as long as the process. O_CLOEXEC keeps it out of any
     * program this process might start. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        log_error("cannot open the instance lock %s: %s", path, strerror(errno));
        return IOTSEC_ERR_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err != EWOULDBLOCK) {
            log_error("cannot lock the instance %s: %s", path, strerror(err));
            close(fd);
            return IOTSEC_ERR_IO;
        }
        long pid = holder_pid(fd);
        close(fd);
        if (pid > 0)
            log_error("refusing to start: the instance %s is already served by iotsecd process "
                      "%ld (it holds %s); one process per instance directory",
                      dir, pid, path);
        else
            log_error("refusing to start: the instance %s is already served by another process "
                      "(it holds %s); one process per instance directory",
                      dir, path);
        return IOTSEC_ERR_BUSY;
    }
    /* Overwrite, then cut: a reader sees an old PID or this one, never an empty file. */
    char text[24];
    int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (pwrite(fd, text, (size_t)len, 0) != len || ftruncate(fd, len) != 0)
        log_warn("cannot write this process's PID into %s: %s", path, strerror(errno));
    return IOTSEC_OK;
}
