/* The SBI benchmarks' plumbing: a real iotsecd in a temporary directory, deterministic
 * subscribers, the bulk import over the admin face, and the load generator that drives
 * complete 5G AKA authentications (or GET /healthz) over HTTP/2 + TLS. */
#ifndef IOTSEC_BENCH_SBI_H
#define IOTSEC_BENCH_SBI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SBI_SNN "5G:mnc001.mcc001.3gppnetwork.org"

/* ---- the daemon (bench_sbi_daemon.c) ---- */

struct sbi_daemon {
    char dir[64]; /* mkdtemp'd; holds inst/ (the instance) and daemon.log (its stderr) */
    char inst[96];
    char log[96];
    uint16_t sbi_port, admin_port;
    uint16_t north_port; /* the northbound face (bound to port 0: read from the ready line) */
    pid_t pid;
    int out_fd; /* the read end of its stdout, kept open so a late write cannot SIGPIPE */
    char pg_db[64]; /* its PostgreSQL database (sbi_pg_admin_url set), else "" */
};

/* ---- PostgreSQL (bench_sbi_pg.c) ---- */

/* --postgresql URL: a server where the benchmark may create databases (NULL: SQLite only). */
extern const char *sbi_pg_admin_url;
/* Prepended to every figure's name ("pg." for the PostgreSQL runs). */
extern const char *sbi_report_prefix;
/* --no-subscription-cache: daemons run with aka.subscription_cache_rows: 0 (every
 * authentication reads its subscription from the store, as before issue 10's cache); figures
 * are then named nocache.* */
extern int sbi_sub_cache_off;
/* A fresh database on that server: its name and URL. 0, or -1 with a message on stderr. */
int sbi_pg_create(char *name, size_t name_len, char *url, size_t url_len);
void sbi_pg_drop(const char *name);

/* iotsecd init + run; waits for the ready line. 0, or -1 with a message on stderr. */
int sbi_daemon_start(struct sbi_daemon *d);
/* The same, with prepare(inst_dir, ctx) run between iotsecd init and run (to change the
 * instance's configuration, e.g. turn OAuth2 on). */
int sbi_daemon_start_prepared(struct sbi_daemon *d, int (*prepare)(const char *inst, void *ctx),
                              void *ctx);
/* iotsecd run again on d's instance (after sbi_daemon_stop: a restart). */
int sbi_daemon_run(struct sbi_daemon *d);
/* A second instance b of a's database: a copy of a's instance directory (KEK, PKI, HN keys,
 * configuration: the same store URL) on ports of its own, started. PostgreSQL only (a copied
 * SQLite file would be another database). */
int sbi_daemon_clone(const struct sbi_daemon *a, struct sbi_daemon *b);
/* SIGTERM, waits (SIGKILL after 30 s); returns the wait status, -1 if not running. */
int sbi_daemon_stop(struct sbi_daemon *d);
/* Removes the directory unless keep (then says where it is). */
void sbi_daemon_cleanup(struct sbi_daemon *d, int keep);
/* The daemon's resident set (VmRSS) in MiB; -1 when unreadable. */
double sbi_daemon_rss_mib(const struct sbi_daemon *d);
/* A "Field:" of /proc/PID/status given in kB (RssAnon:, RssFile:, ...), in MiB; -1 if absent. */
double sbi_daemon_status_mib(const struct sbi_daemon *d, const char *field);
/* Its peak resident set so far (VmHWM) in MiB. */
double sbi_daemon_peak_mib(const struct sbi_daemon *d);
/* How many threads it has now. */
int sbi_daemon_threads(const struct sbi_daemon *d);
/* Where the CPU went during a window: us, the daemon (and each of its threads), and the
 * whole machine, whose other processes compete for the same cores. */
#define SBI_THREADS_MAX 64
struct sbi_cpu {
    double client_s, daemon_s, machine_s; /* busy CPU seconds */
    pid_t peer;                           /* a second daemon (0: none) and its CPU seconds */
    double peer_s;
    unsigned threads;
    int tid[SBI_THREADS_MAX];
    double thread_s[SBI_THREADS_MAX];
};
/* Takes a snapshot at the start of a window (c->peer is kept). */
void sbi_cpu_begin(struct sbi_cpu *c, pid_t daemon);
/* Turns the snapshot into the CPU used since sbi_cpu_begin(). */
void sbi_cpu_end(struct sbi_cpu *c, pid_t daemon);
/* One line on stderr: shares of one core over `seconds`, per daemon thread too. */
void sbi_cpu_print(const char *what, const struct sbi_cpu *c, double seconds);
/* Copies the last `lines` lines of the daemon's stderr to ours, with the count of warn and
 * error lines. */
void sbi_daemon_log_tail(const struct sbi_daemon *d, int lines);
/* Paths of the instance's PKI files: name is "ca", "admin" or "nf"; ext "crt" or "key". */
void sbi_daemon_pki(const struct sbi_daemon *d, const char *name, const char *ext, char *out,
                    size_t len);

/* ---- subscribers and import (bench_sbi_import.c) ---- */

/* Subscriber i: SUPI imsi-00101 + 10 digits, K and OPc derived from i (the device side
 * recomputes them). */
void sbi_sub_supi(uint32_t i, char out[32]);
void sbi_sub_keys(uint32_t i, uint8_t k[16], uint8_t opc[16]);

/* An HTTP/2 connection to d's admin face with the admin certificate (NULL: message printed). */
struct h2c;
struct h2c_loop;
struct h2c *sbi_admin_connect(const struct sbi_daemon *d, struct h2c_loop *loop,
                              size_t max_response);

/* POSTs subscribers 0..n-1 as one CSV body to the admin face. Returns 0 and the seconds the
 * request took (upload + import + answer), or -1 with a message on stderr. */
int sbi_import(const struct sbi_daemon *d, uint32_t n, double *seconds);
/* The same for subscribers first..first+n-1. */
int sbi_import_range(const struct sbi_daemon *d, uint32_t first, uint32_t n, double *seconds);

/* ---- latency histogram (bench_sbi_hist.c) ---- */

struct sbi_hist {
    uint32_t *bucket;
    uint64_t n;
    double max_s;
};
int sbi_hist_init(struct sbi_hist *h);
void sbi_hist_free(struct sbi_hist *h);
void sbi_hist_add(struct sbi_hist *h, double seconds);
/* The q-quantile (0.5, 0.99) in milliseconds; 0 when empty. */
double sbi_hist_ms(const struct sbi_hist *h, double q);

/* ---- load (bench_sbi_load.c) ---- */

enum sbi_load_kind { SBI_LOAD_AUTH, SBI_LOAD_HEALTHZ };

struct sbi_load_opts {
    enum sbi_load_kind kind;
    unsigned connections, streams; /* streams = concurrent flows per connection */
    double warmup_s, seconds;      /* seconds == 0: run until `distinct` flows completed */
    uint32_t subscribers;          /* SUPIs drawn from 0..subscribers-1 */
    uint32_t distinct;             /* > 0: each of `distinct` subscribers exactly once */
    const char *authorization;     /* "Bearer <token>" on every request; NULL: none */
    const struct sbi_daemon *peer; /* a second instance: every other connection goes there */
};

struct sbi_load_result {
    double elapsed_s;  /* the measured window */
    uint64_t ok;       /* complete successes in the window */
    uint64_t ok_total; /* including warm-up and drain */
    uint64_t failed;   /* every failure, warm-up included */
    double p50_ms, p99_ms, max_ms;
    /* The same split by a subscriber's first authentication in this run (the daemon then
     * reserves an SQN block with a durable write first) and the later ones. */
    uint64_t n_first, n_later;
    double p50_first_ms, p99_first_ms, p50_later_ms, p99_later_ms;
    struct sbi_cpu cpu; /* CPU used during the window */
};

/* Runs the load against d's SBI face and prints a breakdown of failures on stderr. Returns
 * 0, or -1 when the load could not run at all (no connection). */
int sbi_load_run(const struct sbi_daemon *d, const struct sbi_load_opts *o,
                 struct sbi_load_result *r);

/* The cores client and daemon share: every online CPU of the machine. */
int sbi_cores(void);
/* One JSON figure with `decimals` digits after the point (bench_report prints integers);
 * cores is sbi_cores(). */
void sbi_report(const char *name, double value, const char *unit, int decimals);

#endif
