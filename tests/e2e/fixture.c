#include "fixture.h"

#include "capture.h"

#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "base/err.h"
#include "store/store.h"

static bool bindable(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A port nobody listens on, below the kernel's ephemeral range (32768-60999 here): a port the
 * kernel handed out for bind(0) goes back to that range when released, and any test's outbound
 * connection may take it as its source port before the daemon binds it (CI saw that: "address
 * in use"). Ports of this range are only ever taken on purpose, so only another test's fixture
 * can take one first, and fixture_start then moves to new ports. */
uint16_t fixture_free_port(void)
{
    static unsigned seed;
    if (seed == 0)
        seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    for (int i = 0; i < 500; i++) {
        uint16_t port = (uint16_t)(20000 + rand_r(&seed) % 12000);
        if (bindable(port))
            return port;
    }
    return 0;
}

/* Gives f's faces new free ports, in its configuration and its URLs. */
static int move_ports(struct daemon_fixture *f)
{
    char tmp[2][64];
    uint16_t *ports[] = {&f->sbi_port, &f->admin_port, &f->h2c_port, &f->north_port,
                         &f->device_port};
    for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
        uint16_t old = *ports[p];
        *ports[p] = fixture_free_port();
        snprintf(tmp[0], sizeof(tmp[0]), "127.0.0.1:%u", old);
        snprintf(tmp[1], sizeof(tmp[1]), "127.0.0.1:%u", *ports[p]);
        if (fixture_config_replace(f, tmp[0], tmp[1]) != 0)
            return -1;
    }
    snprintf(f->sbi, sizeof(f->sbi), "https://127.0.0.1:%u", f->sbi_port);
    snprintf(f->admin, sizeof(f->admin), "https://127.0.0.1:%u", f->admin_port);
    snprintf(f->h2c, sizeof(f->h2c), "http://127.0.0.1:%u", f->h2c_port);
    snprintf(f->north, sizeof(f->north), "https://127.0.0.1:%u", f->north_port);
    snprintf(f->device, sizeof(f->device), "https://127.0.0.1:%u", f->device_port);
    return 0;
}

int fixture_init(struct daemon_fixture *f, const char *extra_yaml)
{
    memset(f, 0, sizeof(*f));
    f->exit_status = -1;
    strcpy(f->dir, "/tmp/iotsec-e2e-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->sbi_port = fixture_free_port();
    f->admin_port = fixture_free_port();
    f->h2c_port = fixture_free_port();
    f->north_port = fixture_free_port();
    f->device_port = fixture_free_port();
    snprintf(f->north, sizeof(f->north), "https://127.0.0.1:%u", f->north_port);
    snprintf(f->device, sizeof(f->device), "https://127.0.0.1:%u", f->device_port);
    snprintf(f->sbi, sizeof(f->sbi), "https://127.0.0.1:%u", f->sbi_port);
    snprintf(f->admin, sizeof(f->admin), "https://127.0.0.1:%u", f->admin_port);
    snprintf(f->h2c, sizeof(f->h2c), "http://127.0.0.1:%u", f->h2c_port);
    strcpy(f->snn, "5G:mnc001.mcc001.3gppnetwork.org");
    char inst[96], cmd[1536], pg[720] = "";
    snprintf(inst, sizeof(inst), "%s/inst", f->dir);
    if (test_db_pg()) {
        test_db_make(&f->db);
        snprintf(pg, sizeof(pg), "--postgresql '%s'", f->db.target);
    }
    snprintf(cmd, sizeof(cmd),
             "%s init --dir %s --sbi 127.0.0.1:%u --admin 127.0.0.1:%u --sbi-h2c 127.0.0.1:%u "
             "--northbound 127.0.0.1:%u --device 127.0.0.1:%u %s >/dev/null",
             IOTSECD_PATH, inst, f->sbi_port, f->admin_port, f->h2c_port, f->north_port,
             f->device_port, pg);
    if (system(cmd) != 0)
        return -1;
    if (extra_yaml != NULL) {
        char path[128];
        snprintf(path, sizeof(path), "%s/iotsec.yaml", inst);
        FILE *y = fopen(path, "a");
        if (y == NULL)
            return -1;
        fputs(extra_yaml, y);
        fclose(y);
    }
    return 0;
}

int fixture_config_replace(struct daemon_fixture *f, const char *from, const char *to)
{
    char path[128], text[8192];
    snprintf(path, sizeof(path), "%s/inst/iotsec.yaml", f->dir);
    FILE *y = fopen(path, "r");
    if (y == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, y);
    fclose(y);
    text[n] = '\0';
    char *at = strstr(text, from);
    if (at == NULL)
        return -1;
    y = fopen(path, "w");
    if (y == NULL)
        return -1;
    fprintf(y, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return fclose(y);
}

void fixture_db_path(const struct daemon_fixture *f, char *out, size_t len)
{
    if (f->db.pg)
        snprintf(out, len, "%s", f->db.target);
    else
        snprintf(out, len, "%s/inst/iotsec.db", f->dir);
}

static struct store *open_read_only(const struct daemon_fixture *f)
{
    char path[700];
    fixture_db_path(f, path, sizeof(path));
    struct store_options o;
    store_options_init(&o);
    o.read_only = true;
    struct store *s = NULL;
    if (store_open(path, &o, &s) != IOTSEC_OK)
        fail_msg("open %s: %s", path, store_errmsg());
    return s;
}

/* Runs sql on a read-only store; calls row(st, arg) for the first row if there is one. */
static void db_query(const struct daemon_fixture *f, const char *sql, const char *param,
                     void (*row)(struct store_stmt *, void *), void *arg)
{
    struct store *s = open_read_only(f);
    struct store_conn *c;
    struct store_stmt *st;
    if (store_reader_get(s, &c) != IOTSEC_OK || store_stmt(c, sql, &st) != IOTSEC_OK)
        fail_msg("%s: %s", sql, store_errmsg());
    if (param != NULL)
        store_bind_text(st, 1, param, -1);
    int rc = store_step(st);
    if (rc == STORE_ROW)
        row(st, arg);
    else if (rc != STORE_DONE)
        fail_msg("%s: %s", sql, store_errmsg());
    store_reset(st);
    store_close(s);
}

static void int_row(struct store_stmt *st, void *arg)
{
    *(long *)arg = (long)store_col_int64(st, 0);
}

long fixture_db_int(const struct daemon_fixture *f, const char *sql, const char *param)
{
    long v = -1;
    db_query(f, sql, param, int_row, &v);
    return v;
}

struct text_out {
    char *out;
    size_t len;
};

static void text_row(struct store_stmt *st, void *arg)
{
    struct text_out *t = arg;
    const char *v = store_col_text(st, 0);
    snprintf(t->out, t->len, "%s", v ? v : "");
}

void fixture_db_text(const struct daemon_fixture *f, const char *sql, const char *param, char *out,
                     size_t len)
{
    struct text_out t = {out, len};
    out[0] = '\0';
    db_query(f, sql, param, text_row, &t);
}

int fixture_db_integrity(const struct daemon_fixture *f)
{
    struct store *s = open_read_only(f);
    int rc = store_integrity_check(s);
    if (rc != IOTSEC_OK)
        fprintf(stderr, "integrity: %s\n", store_errmsg());
    store_close(s);
    return rc;
}

static int start_once(struct daemon_fixture *f)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    char inst[96], log[128];
    snprintf(inst, sizeof(inst), "%s/inst", f->dir);
    snprintf(log, sizeof(log), "%s/daemon.log", f->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(out[1], 1);
        FILE *err = fopen(log, "a");
        if (err)
            dup2(fileno(err), 2);
        close(out[0]);
        execl(IOTSECD_PATH, "iotsecd", "run", "--dir", inst, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    f->pid = pid;
    f->exit_status = -1;
    char line[512] = "";
    size_t used = 0;
    struct pollfd p = {.fd = out[0], .events = POLLIN};
    while (used < sizeof(line) - 1 && poll(&p, 1, 10000) > 0) {
        ssize_t n = read(out[0], line + used, sizeof(line) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    close(out[0]);
    snprintf(f->ready, sizeof(f->ready), "%s", line);
    return strstr(line, "\"event\":\"ready\"") ? 0 : -1;
}

/* The port the daemon's log (from byte from on) says was taken by another socket, 0 if none. */
static unsigned port_taken(const struct daemon_fixture *f, long from)
{
    char path[128], line[1024];
    snprintf(path, sizeof(path), "%s/daemon.log", f->dir);
    FILE *fp = fopen(path, "r");
    unsigned port = 0;
    if (fp != NULL && fseek(fp, from, SEEK_SET) == 0)
        while (port == 0 && fgets(line, sizeof(line), fp)) {
            const char *at = strstr(line, "cannot listen on 127.0.0.1:");
            if (at != NULL && strstr(line, "address in use") != NULL)
                port = (unsigned)strtoul(at + strlen("cannot listen on 127.0.0.1:"), NULL, 10);
        }
    if (fp != NULL)
        fclose(fp);
    return port;
}

/* How many times the configuration names 127.0.0.1:port (twice: a test's own conflict). */
static int port_uses(const struct daemon_fixture *f, unsigned port)
{
    char path[128], line[1024], at[32];
    snprintf(path, sizeof(path), "%s/inst/iotsec.yaml", f->dir);
    snprintf(at, sizeof(at), "127.0.0.1:%u", port);
    FILE *fp = fopen(path, "r");
    int n = 0;
    while (fp != NULL && fgets(line, sizeof(line), fp))
        for (const char *p = strstr(line, at); p; p = strstr(p + 1, at))
            n += p[strlen(at)] < '0' || p[strlen(at)] > '9';
    if (fp != NULL)
        fclose(fp);
    return n;
}

static long log_size(const struct daemon_fixture *f)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/daemon.log", f->dir);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Another test's fixture may take a free port between fixture_init and here: the daemon then
 * refuses to start ("address in use"), and it starts again on new ports (not when the
 * configuration itself names that port twice: that conflict is the test's). */
int fixture_start(struct daemon_fixture *f)
{
    for (int attempt = 0;; attempt++) {
        long from = log_size(f);
        if (start_once(f) == 0)
            return 0;
        /* A daemon that refused a port exits at once; one that is only slow is left running
         * for the test's teardown to stop. */
        bool exited = false;
        for (int i = 0; i < 100 && f->pid > 0 && !exited; i++) {
            exited = waitpid(f->pid, &f->exit_status, WNOHANG) == f->pid;
            if (!exited)
                usleep(20000);
        }
        if (exited)
            f->pid = 0;
        unsigned port = exited && attempt < 3 ? port_taken(f, from) : 0;
        if (port == 0 || port_uses(f, port) != 1 || move_ports(f) != 0)
            return -1;
    }
}

int fixture_stop(struct daemon_fixture *f, int sig)
{
    int status = f->exit_status; /* a daemon that exited at its start: already reaped */
    f->exit_status = -1;
    if (f->pid > 0) {
        kill(f->pid, sig);
        waitpid(f->pid, &status, 0);
        f->pid = 0;
    }
    return status;
}

/* A sanitizer report or an error in the daemon's log is the reason a test failed: show it
 * before the instance directory goes. */
static void show_daemon_problems(const struct daemon_fixture *f)
{
    char path[128], line[1024];
    snprintf(path, sizeof(path), "%s/daemon.log", f->dir);
    FILE *log = fopen(path, "r");
    if (log == NULL)
        return;
    int shown = 0;
    while (fgets(line, sizeof(line), log) && shown < 200) {
        if (shown || strstr(line, "Sanitizer") || strstr(line, "runtime error") ||
            strstr(line, "\"level\":\"error\"")) {
            fprintf(stderr, "iotsecd: %s", line);
            shown++;
        }
    }
    fclose(log);
}

int fixture_write_ready(const struct daemon_fixture *f, char *path, size_t cap)
{
    snprintf(path, cap, "%s/ready.json", f->dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    int rc = fprintf(fp, "%s\n", f->ready) < 0 ? -1 : 0;
    return fclose(fp) != 0 ? -1 : rc;
}

int fixture_sanitizer_report(const struct daemon_fixture *f)
{
    char path[128], line[1024];
    snprintf(path, sizeof(path), "%s/daemon.log", f->dir);
    FILE *log = fopen(path, "r");
    if (log == NULL)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof(line), log))
        found = strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error") != NULL;
    fclose(log);
    return found;
}

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int fixture_tool(const struct daemon_fixture *f, const char *tool, const char *sub,
                 const char *args, char *out, size_t cap)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), "%s %s --dir %s/inst %s 2>&1", tool, sub ? sub : "", f->dir,
                     args ? args : "");
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    return run(cmd, out, cap);
}

void fixture_cleanup(struct daemon_fixture *f)
{
    fixture_stop(f, SIGKILL);
    show_daemon_problems(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fixture: could not remove %s\n", f->dir);
    if (f->db.pg) {
        test_db_remove(&f->db);
        f->db.pg = false;
    }
}

size_t fixture_collect(char *ptr, size_t size, size_t n, void *user)
{
    struct fixture_buf *b = user;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, size * n);
    b->data = grown;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* Response header fields the tests look at. */
static size_t collect_header(char *ptr, size_t size, size_t n, void *user)
{
    struct fixture_answer *a = user;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off, cap;
    } wanted[] = {
        {"content-type:", offsetof(struct fixture_answer, content_type),
         sizeof(((struct fixture_answer *)0)->content_type)},
        {"location:", offsetof(struct fixture_answer, location),
         sizeof(((struct fixture_answer *)0)->location)},
        {"allow:", offsetof(struct fixture_answer, allow),
         sizeof(((struct fixture_answer *)0)->allow)},
        {"retry-after:", offsetof(struct fixture_answer, retry_after),
         sizeof(((struct fixture_answer *)0)->retry_after)},
        {"content-length:", offsetof(struct fixture_answer, content_length),
         sizeof(((struct fixture_answer *)0)->content_length)},
    };
    if (strncmp(ptr, "HTTP/", 5) == 0) /* a new response (after 100 Continue): start afresh */
        for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
            ((char *)a + wanted[i].off)[0] = '\0';
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t nl = strlen(wanted[i].name);
        if (len > nl && strncasecmp(ptr, wanted[i].name, nl) == 0) {
            const char *v = ptr + nl;
            size_t vl = len - nl;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                vl--;
            if (vl >= wanted[i].cap)
                vl = wanted[i].cap - 1;
            memcpy((char *)a + wanted[i].off, v, vl);
            ((char *)a + wanted[i].off)[vl] = '\0';
        }
    }
    return len;
}

struct upload {
    const char *data;
    size_t len, off;
};

/* Hands the body over in pieces (with no length, libcurl sends each as an HTTP/1.1 chunk):
 * of 7 bytes for a small body, so that it comes in many chunks; of 64 KiB for a large one. */
static size_t read_body(char *buf, size_t size, size_t n, void *user)
{
    struct upload *u = user;
    size_t piece = u->len < 4096 ? 7 : 65536;
    size_t want = size * n < piece ? size * n : piece, left = u->len - u->off;
    size_t give = left < want ? left : want;
    memcpy(buf, u->data + u->off, give);
    u->off += give;
    return give;
}

long fixture_exchange(const struct daemon_fixture *f, const struct fixture_call *call,
                      struct fixture_answer *a)
{
    CURL *c = curl_easy_init();
    struct fixture_buf b = {0};
    struct curl_slist *h = NULL;
    char path[3][128];
    const char *name = call->who == AS_ADMIN ? "admin" : "nf";
    memset(a, 0, sizeof(*a));
    snprintf(path[0], sizeof(path[0]), "%s/inst/pki/ca.crt", f->dir);
    snprintf(path[1], sizeof(path[1]), "%s/inst/pki/%s.crt", f->dir, name);
    snprintf(path[2], sizeof(path[2]), "%s/inst/pki/%s.key", f->dir, name);
    int h2c = strncmp(call->url, "http://", 7) == 0;
    curl_easy_setopt(c, CURLOPT_URL, call->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method);
    long version = call->http1 ? (long)CURL_HTTP_VERSION_1_1
                   : h2c       ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                               : (long)CURL_HTTP_VERSION_2TLS;
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(c, CURLOPT_CAINFO, path[0]);
    if (call->who != AS_NOBODY) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, path[1]);
        curl_easy_setopt(c, CURLOPT_SSLKEY, path[2]);
    }
    if (call->content_type) {
        char line[128];
        snprintf(line, sizeof(line), "Content-Type: %s", call->content_type);
        h = curl_slist_append(h, line);
    }
    struct upload up = {call->body, call->len, 0};
    if (call->body && call->chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (call->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
    }
    if (strcmp(call->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    a->status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    capture_exchange(f, c, a->status, call->method, call->content_type, call->body, call->len,
                     b.data, b.len, a->location);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    a->body = b.data;
    a->body_len = b.len;
    return a->status;
}

long fixture_request(const struct daemon_fixture *f, enum client_identity who, const char *method,
                     const char *url, const char *content_type, const char *body, size_t len,
                     char **body_out)
{
    struct fixture_call call = {who, method, url, content_type, body, len, false, false};
    struct fixture_answer a;
    long status = fixture_exchange(f, &call, &a);
    if (body_out)
        *body_out = a.body;
    else
        free(a.body);
    return status;
}

int fixture_add_subscriber(const struct daemon_fixture *f, const char *json)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", f->admin);
    long st =
        fixture_request(f, AS_ADMIN, "POST", url, "application/json", json, strlen(json), NULL);
    return st == 201 ? 0 : -1;
}

/* b: a copy of a's instance directory (KEK, PKI, configuration; the same database when it is
 * PostgreSQL) on free ports of its own, not started. Take b's ports while a listens on its
 * own, so that no two instances get the same free port. */
int fixture_clone(const struct daemon_fixture *a, struct daemon_fixture *b)
{
    char cmd[512];
    *b = *a;
    strcpy(b->dir, "/tmp/iotsec-e2e-XXXXXX");
    if (mkdtemp(b->dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "cp -a %s/inst %s/inst && rm -f %s/inst/iotsecd.lock", a->dir,
             b->dir, b->dir);
    if (system(cmd) != 0)
        return -1;
    if (move_ports(b) != 0)
        return -1;
    b->pid = 0;
    b->exit_status = -1;
    return 0;
}
