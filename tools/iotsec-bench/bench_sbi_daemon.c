/* A real iotsecd for the SBI benchmarks, started the way an operator would (iotsecd init,
 * then iotsecd run) in a temporary directory on free loopback ports. Its stderr (JSON log
 * lines) goes to DIR/daemon.log so a misbehaving daemon can be reported, not guessed at. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_sbi.h"

#ifndef IOTSECD_PATH
#define IOTSECD_PATH ""
#endif

/* $IOTSECD (another build to compare, e.g. a baseline measured in the same run), else the
 * compile-time path of the iotsecd target, else <build>/src/daemon/iotsecd derived from
 * our own location <build>/tools/iotsec-bench/iotsec-bench (a build tree that moved). */
static const char *iotsecd_path(void)
{
    static char path[PATH_MAX];
    /* IOTSECD names another build's daemon (e.g. a baseline measured in the same run) */
    const char *env = getenv("IOTSECD");
    if (env && env[0])
        return access(env, X_OK) == 0 ? env : NULL;
    if (IOTSECD_PATH[0] && access(IOTSECD_PATH, X_OK) == 0)
        return IOTSECD_PATH;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    snprintf(path, sizeof(path), "%s/../../src/daemon/iotsecd", dirname(self));
    return access(path, X_OK) == 0 ? path : NULL;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* aka.subscription_cache_rows: 0 in the instance's iotsec.yaml (--no-subscription-cache). */
static int cache_off(const struct sbi_daemon *d)
{
    char path[160], text[16384];
    snprintf(path, sizeof(path), "%s/iotsec.yaml", d->inst);
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    text[n] = '\0';
    char *aka = strstr(text, "\naka:\n");
    if (aka == NULL || n == sizeof(text) - 1 || (fp = fopen(path, "w")) == NULL) {
        fprintf(stderr, "sbi: cannot turn the subscription cache off in %s\n", path);
        return -1;
    }
    aka += 6; /* after "\naka:\n" */
    fwrite(text, 1, (size_t)(aka - text), fp);
    fputs("  subscription_cache_rows: 0\n", fp);
    fputs(aka, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

/* Runs iotsecd init with its output in DIR/init.log; 0 when it exits 0. */
static int daemon_init(struct sbi_daemon *d, const char *bin)
{
    char sbi[32], adm[32], log[96], pg_url[768] = "";
    if (sbi_pg_admin_url != NULL &&
        sbi_pg_create(d->pg_db, sizeof(d->pg_db), pg_url, sizeof(pg_url)) != 0)
        return -1;
    snprintf(sbi, sizeof(sbi), "127.0.0.1:%u", d->sbi_port);
    snprintf(adm, sizeof(adm), "127.0.0.1:%u", d->admin_port);
    snprintf(log, sizeof(log), "%s/init.log", d->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 1), dup2(fd, 2);
        if (pg_url[0])
            execl(bin, "iotsecd", "init", "--dir", d->inst, "--sbi", sbi, "--admin", adm,
                  "--northbound", "127.0.0.1:0", "--device", "127.0.0.1:0", "--postgresql",
                  pg_url, (char *)NULL);
        else
            execl(bin, "iotsecd", "init", "--dir", d->inst, "--sbi", sbi, "--admin", adm,
                  "--northbound", "127.0.0.1:0", "--device", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "sbi: iotsecd init failed (see %s)\n", log);
        return -1;
    }
    return sbi_sub_cache_off ? cache_off(d) : 0;
}

/* Reads the daemon's stdout until the ready line (30 s at most). */
static int wait_ready(struct sbi_daemon *d)
{
    char line[512] = "";
    size_t used = 0;
    struct pollfd p = {.fd = d->out_fd, .events = POLLIN};
    while (used < sizeof(line) - 1 && poll(&p, 1, 30000) > 0) {
        ssize_t n = read(d->out_fd, line + used, sizeof(line) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    if (strstr(line, "\"event\":\"ready\"") == NULL) {
        fprintf(stderr, "sbi: iotsecd run did not get ready (stdout: '%.200s')\n", line);
        sbi_daemon_log_tail(d, 20);
        return -1;
    }
    /* DIR/ready.json: the URLs of faces on ports chosen at run time (the provision group) */
    char path[128];
    snprintf(path, sizeof(path), "%s/ready.json", d->dir);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(line, fp);
        fclose(fp);
    }
    const char *north = strstr(line, "\"northbound\":\"https://");
    const char *colon = north ? strchr(north + 22, ':') : NULL;
    if (colon)
        d->north_port = (uint16_t)atoi(colon + 1);
    return 0;
}

int sbi_daemon_start(struct sbi_daemon *d)
{
    return sbi_daemon_start_prepared(d, NULL, NULL);
}

int sbi_daemon_start_prepared(struct sbi_daemon *d, int (*prepare)(const char *inst, void *ctx),
                              void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->out_fd = -1;
    const char *bin = iotsecd_path();
    if (bin == NULL) {
        fprintf(stderr, "sbi: cannot find iotsecd (build the iotsecd target)\n");
        return -1;
    }
    strcpy(d->dir, "/tmp/iotsec-bench-XXXXXX");
    if (mkdtemp(d->dir) == NULL) {
        fprintf(stderr, "sbi: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(d->inst, sizeof(d->inst), "%s/inst", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
    d->sbi_port = free_port();
    d->admin_port = free_port();
    if (d->sbi_port == 0 || d->admin_port == 0 || daemon_init(d, bin) != 0 ||
        (prepare != NULL && prepare(d->inst, ctx) != 0))
        return -1;
    return sbi_daemon_run(d);
}

int sbi_daemon_run(struct sbi_daemon *d)
{
    const char *bin = iotsecd_path();
    int out[2];
    if (bin == NULL || pipe2(out, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(out[1], 1);
        if (fd >= 0)
            dup2(fd, 2);
        execl(bin, "iotsecd", "run", "--dir", d->inst, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    d->pid = pid;
    d->out_fd = out[0];
    fprintf(stderr, "sbi: iotsecd pid %d in %s (sbi 127.0.0.1:%u, admin 127.0.0.1:%u)\n", (int)pid,
            d->inst, d->sbi_port, d->admin_port);
    return wait_ready(d);
}

int sbi_daemon_stop(struct sbi_daemon *d)
{
    if (d->pid <= 0)
        return -1;
    int status = -1;
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 3000; i++) { /* 30 s: its own grace period is 10 s */
        pid_t r = waitpid(d->pid, &status, WNOHANG);
        if (r == d->pid)
            break;
        if (r < 0 || i == 2999) {
            fprintf(stderr, "sbi: iotsecd did not stop within 30 s of SIGTERM; SIGKILL\n");
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &status, 0);
            break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    d->pid = 0;
    if (d->out_fd >= 0)
        close(d->out_fd);
    d->out_fd = -1;
    return status;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void sbi_daemon_cleanup(struct sbi_daemon *d, int keep)
{
    if (d->pid > 0)
        sbi_daemon_stop(d);
    if (d->pg_db[0] != '\0' && !keep)
        sbi_pg_drop(d->pg_db);
    if (d->dir[0] == '\0')
        return;
    if (keep)
        fprintf(stderr, "sbi: kept %s (daemon log: %s)\n", d->dir, d->log);
    else
        nftw(d->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Replaces the first `from` in the instance's iotsec.yaml by `to`. */
static int config_replace(const struct sbi_daemon *d, const char *from, const char *to)
{
    char path[128], text[16384];
    snprintf(path, sizeof(path), "%s/iotsec.yaml", d->inst);
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    text[n] = '\0';
    char *at = strstr(text, from);
    if (at == NULL || n + strlen(to) >= sizeof(text))
        return -1;
    fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return fclose(fp) == 0 ? 0 : -1;
}

int sbi_daemon_clone(const struct sbi_daemon *a, struct sbi_daemon *b)
{
    memset(b, 0, sizeof(*b));
    b->out_fd = -1;
    strcpy(b->dir, "/tmp/iotsec-bench-XXXXXX");
    if (mkdtemp(b->dir) == NULL)
        return -1;
    snprintf(b->inst, sizeof(b->inst), "%s/inst", b->dir);
    snprintf(b->log, sizeof(b->log), "%s/daemon.log", b->dir);
    char cmd[512], from[32], to[32];
    snprintf(cmd, sizeof(cmd), "cp -a %s %s && rm -f %s/iotsecd.lock", a->inst, b->inst, b->inst);
    if (system(cmd) != 0)
        return -1;
    b->sbi_port = free_port();
    b->admin_port = free_port();
    snprintf(from, sizeof(from), "127.0.0.1:%u\"", a->sbi_port);
    snprintf(to, sizeof(to), "127.0.0.1:%u\"", b->sbi_port);
    if (b->sbi_port == 0 || config_replace(b, from, to) != 0)
        return -1;
    snprintf(from, sizeof(from), "127.0.0.1:%u\"", a->admin_port);
    snprintf(to, sizeof(to), "127.0.0.1:%u\"", b->admin_port);
    if (b->admin_port == 0 || config_replace(b, from, to) != 0)
        return -1;
    /* pg_db stays "": the database is a's, dropped with a. */
    return sbi_daemon_run(b);
}

void sbi_daemon_pki(const struct sbi_daemon *d, const char *name, const char *ext, char *out,
                    size_t len)
{
    snprintf(out, len, "%s/pki/%s.%s", d->inst, name, ext);
}
