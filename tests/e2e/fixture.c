#include "fixture.h"

#include <curl/curl.h>
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

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int fixture_init(struct daemon_fixture *f, const char *extra_yaml)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/iotsec-e2e-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->sbi_port = free_port();
    f->admin_port = free_port();
    f->h2c_port = free_port();
    f->north_port = free_port();
    f->device_port = free_port();
    snprintf(f->north, sizeof(f->north), "https://127.0.0.1:%u", f->north_port);
    snprintf(f->device, sizeof(f->device), "https://127.0.0.1:%u", f->device_port);
    snprintf(f->sbi, sizeof(f->sbi), "https://127.0.0.1:%u", f->sbi_port);
    snprintf(f->admin, sizeof(f->admin), "https://127.0.0.1:%u", f->admin_port);
    snprintf(f->h2c, sizeof(f->h2c), "http://127.0.0.1:%u", f->h2c_port);
    strcpy(f->snn, "5G:mnc001.mcc001.3gppnetwork.org");
    char inst[96], cmd[512];
    snprintf(inst, sizeof(inst), "%s/inst", f->dir);
    snprintf(cmd, sizeof(cmd),
             "%s init --dir %s --sbi 127.0.0.1:%u --admin 127.0.0.1:%u --sbi-h2c 127.0.0.1:%u "
             "--northbound 127.0.0.1:%u --device 127.0.0.1:%u >/dev/null",
             IOTSECD_PATH, inst, f->sbi_port, f->admin_port, f->h2c_port, f->north_port,
             f->device_port);
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
    snprintf(out, len, "%s/inst/iotsec.db", f->dir);
}

int fixture_start(struct daemon_fixture *f)
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

int fixture_stop(struct daemon_fixture *f, int sig)
{
    int status = -1;
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

void fixture_cleanup(struct daemon_fixture *f)
{
    fixture_stop(f, SIGKILL);
    show_daemon_problems(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fixture: could not remove %s\n", f->dir);
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

long fixture_request(const struct daemon_fixture *f, enum client_identity who, const char *method,
                     const char *url, const char *content_type, const char *body, size_t len,
                     char **body_out)
{
    CURL *c = curl_easy_init();
    struct fixture_buf b = {0};
    struct curl_slist *h = NULL;
    char path[3][128];
    const char *name = who == AS_ADMIN ? "admin" : "nf";
    snprintf(path[0], sizeof(path[0]), "%s/inst/pki/ca.crt", f->dir);
    snprintf(path[1], sizeof(path[1]), "%s/inst/pki/%s.crt", f->dir, name);
    snprintf(path[2], sizeof(path[2]), "%s/inst/pki/%s.key", f->dir, name);
    int h2c = strncmp(url, "http://", 7) == 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     h2c ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CAINFO, path[0]);
    if (who != AS_NOBODY) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, path[1]);
        curl_easy_setopt(c, CURLOPT_SSLKEY, path[2]);
    }
    if (content_type) {
        char line[128];
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (body_out)
        *body_out = b.data;
    else
        free(b.data);
    return status;
}

int fixture_add_subscriber(const struct daemon_fixture *f, const char *json)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/admin/v1/subscribers", f->admin);
    long st = fixture_request(f, AS_ADMIN, "POST", url, "application/json", json, strlen(json),
                              NULL);
    return st == 201 ? 0 : -1;
}
