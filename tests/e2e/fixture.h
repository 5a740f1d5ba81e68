/* End-to-end fixture: a real iotsecd instance in a temporary directory on free loopback
 * ports, and HTTP/2 clients (libcurl) holding the NF or the admin certificate. */
#ifndef IOTSEC_TEST_FIXTURE_H
#define IOTSEC_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "test_db.h"

enum client_identity { AS_NF, AS_ADMIN, AS_NOBODY };

struct daemon_fixture {
    char dir[64];
    uint16_t sbi_port, admin_port, h2c_port, north_port, device_port;
    char sbi[64], admin[64], h2c[64], north[64], device[64]; /* base URLs */
    pid_t pid;
    int exit_status; /* when pid is 0 after a start the daemon refused: how it exited */
    char snn[40];
    char ready[512]; /* the daemon's ready line, after fixture_start */
    /* The instance's database: its own PostgreSQL database when IOTSEC_TEST_STORE_URL is set
     * (the *_pg runs), else the instance's SQLite file (db.target unused). */
    struct test_db db;
};

/* A loopback TCP port free at the time of the call. */
uint16_t fixture_free_port(void);

/* Creates the instance (iotsecd init) with extra YAML lines appended (NULL: none). */
int fixture_init(struct daemon_fixture *f, const char *extra_yaml);
/* Replaces the first occurrence of from with to in the instance's iotsec.yaml. */
int fixture_config_replace(struct daemon_fixture *f, const char *from, const char *to);
/* The instance's database: the SQLite file's path, or the PostgreSQL URL. */
void fixture_db_path(const struct daemon_fixture *f, char *out, size_t len);
/* Reads the instance's database on either engine while the daemon may run (a read-only
 * store): the first column of the first row of sql, ?1 bound to param (NULL: none). Integer
 * answer -1 and text "" when there is no row; fails the test on a database error. */
long fixture_db_int(const struct daemon_fixture *f, const char *sql, const char *param);
void fixture_db_text(const struct daemon_fixture *f, const char *sql, const char *param,
                     char *out, size_t len);
/* The engine's integrity check of the instance's database (IOTSEC_OK when sound). */
int fixture_db_integrity(const struct daemon_fixture *f);
/* b: a copy of a's instance (KEK, PKI, configuration; the same database when it is
 * PostgreSQL) on free ports of its own, not started. Call it while a listens. */
int fixture_clone(const struct daemon_fixture *a, struct daemon_fixture *b);
/* Starts iotsecd run and waits for its ready line (10 s at most). */
int fixture_start(struct daemon_fixture *f);
/* Writes the daemon's ready line to <dir>/ready.json, the file a tool's --ready option reads
 * (iotsec-sim), and puts that path in path. */
int fixture_write_ready(const struct daemon_fixture *f, char *path, size_t cap);
/* Sends sig and waits for the process; returns its wait status. */
int fixture_stop(struct daemon_fixture *f, int sig);
void fixture_cleanup(struct daemon_fixture *f);
/* Runs a tool of the instance (iotsecctl, iotsecd: tool is its path) as an operator would,
 * `tool [sub] --dir <instance> [args] 2>&1` (sub, a command that takes --dir after it such as
 * "restore", may be NULL): its output (cut to cap - 1 bytes) in out; returns its exit status,
 * -1 when it did not exit. */
int fixture_tool(const struct daemon_fixture *f, const char *tool, const char *sub,
                 const char *args, char *out, size_t cap);
/* Whether the daemon's log (its stderr) holds a sanitizer report (ASan, LeakSanitizer,
 * UBSan): a test that stops the daemon asserts there is none, so a leak or undefined
 * behaviour in the sanitised daemon fails that test, not only the log. */
int fixture_sanitizer_report(const struct daemon_fixture *f);

/* One request; *body_out (malloc'd, NUL-terminated, may be NULL) gets the answer. Returns the
 * HTTP status, or -1 when no answer came (e.g. the TLS handshake was refused). For the h2c
 * base URL the identity is ignored. content_type may be NULL. */
long fixture_request(const struct daemon_fixture *f, enum client_identity who, const char *method,
                     const char *url, const char *content_type, const char *body, size_t len,
                     char **body_out);

/* The same with more control and more of the answer. */
struct fixture_call {
    enum client_identity who;
    const char *method, *url, *content_type; /* content_type may be NULL */
    const char *body;                        /* may be NULL */
    size_t len;
    bool http1;   /* HTTP/1.1 instead of HTTP/2 */
    bool chunked; /* HTTP/1.1 only: send the body chunked, without Content-Length */
};
struct fixture_answer {
    long status; /* -1: no answer */
    char *body;  /* malloc'd, NUL-terminated, or NULL: the caller frees it */
    size_t body_len;
    char content_type[128], location[512], allow[128], retry_after[16], content_length[24];
};
long fixture_exchange(const struct daemon_fixture *f, const struct fixture_call *call,
                      struct fixture_answer *a);

/* A growing, NUL-terminated answer body, and the libcurl write callback that fills it
 * (CURLOPT_WRITEFUNCTION = fixture_collect, CURLOPT_WRITEDATA = the buffer). */
struct fixture_buf {
    char *data;
    size_t len;
};
size_t fixture_collect(char *ptr, size_t size, size_t n, void *user);

/* Adds a subscription through the admin face (JSON body as iotsecctl sends it). */
int fixture_add_subscriber(const struct daemon_fixture *f, const char *json);

#endif
