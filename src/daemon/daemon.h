/* iotsecd: `init` creates an instance directory, `run` serves it. */
#ifndef IOTSEC_DAEMON_H
#define IOTSEC_DAEMON_H

#include <stddef.h>

#include "daemon/config.h"
#include "store/store.h"

/* Every schema migration of every capability, in the one order they are applied. */
const struct store_migration *daemon_migrations(size_t *count);

struct init_options {
    const char *dir;
    const char *sbi_h2c;                           /* NULL: no cleartext listener */
    const char *sbi, *admin, *northbound, *device; /* NULL: the defaults */
    const char *mcc, *mnc;
    const char *san; /* "host,addr,...": more names for the server certificate; NULL: none */
    const char *postgresql; /* a libpq URI: the store on PostgreSQL (NULL: SQLite) */
};

/* Creates the instance; prints a JSON summary on stdout. Returns a process exit code. */
int daemon_init(const struct init_options *opt);

/* Serves the instance described by cfg until SIGTERM/SIGINT. Returns a process exit code. */
int daemon_run(const struct config *cfg);

/* Replaces the instance's SQLite database by the backup at from (checked first; the old file is
 * kept aside), moves every subscription's SQN high-water mark forward by margin SEQs and releases
 * every lease; refused while a daemon holds the instance. Prints a JSON summary. Returns a
 * process exit code. */
#define DAEMON_RESTORE_SQN_MARGIN 1000000u
int daemon_restore(const struct config *cfg, const char *from, uint64_t margin);

/* /metrics lines of metrics_ops.c: iotsec_build_info and
 * iotsec_certificate_expiry_timestamp_seconds{cert} for the instance's certificate files. */
struct strbuf;
int daemon_ops_metrics(const struct config *cfg, struct strbuf *out);

/* The instance lock file, in the instance directory. */
#define DAEMON_LOCK_FILE "iotsecd.lock"

/* Takes the instance's exclusive lock for the rest of the process's life. Returns IOTSEC_OK,
 * IOTSEC_ERR_BUSY when another process holds it (logged with its PID), or IOTSEC_ERR_IO. */
int daemon_lock_instance(const char *dir);

/* Tells systemd we are ready, when run under it (NOTIFY_SOCKET); a no-op otherwise. */
void daemon_sd_notify(const char *state);

#endif
