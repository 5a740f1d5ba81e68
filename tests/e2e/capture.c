#include "capture.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether a media type is JSON: application/json, application/...+json, with parameters. */
static bool is_json(const char *ctype)
{
    if (ctype == NULL)
        return false;
    size_t n = strcspn(ctype, "; ");
    return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

/* A JSON body (by its media type) as JSON, anything else as a string, nothing as null. Past 1 MiB
 * (bulk imports, bodies over a face's limit) only the size: a test may even claim more bytes than
 * it has. */
static json_t *body_value(const char *ctype, const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return json_null();
    if (len > (1u << 20)) {
        char note[64];
        snprintf(note, sizeof(note), "(%zu bytes, not recorded)", len);
        return json_string(note);
    }
    json_t *j = is_json(ctype) ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
    return j ? j : json_stringn_nocheck(text, len);
}

/* Which face of f the URL is on (by its scheme, host and port), NULL when none. */
static const char *face_of(const struct daemon_fixture *f, const char *url)
{
    const struct {
        const char *base, *face;
    } faces[] = {{f->sbi, "sbi"},
                 {f->h2c, "sbi"},
                 {f->admin, "admin"},
                 {f->north, "northbound"},
                 {f->device, "device"}};
    for (size_t i = 0; i < sizeof(faces) / sizeof(faces[0]); i++) {
        size_t n = strlen(faces[i].base);
        if (n && strncmp(url, faces[i].base, n) == 0 && (url[n] == '/' || url[n] == '\0'))
            return faces[i].face;
    }
    return NULL;
}

static void write_line(const char *dir, const char *file, json_t *x)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    mkdir(dir, 0755); /* the first exchange of the run makes it (EEXIST after) */
    FILE *fp = fopen(path, "a");
    if (fp == NULL) {
        fprintf(stderr, "capture: %s: %s\n", path, strerror(errno));
        return;
    }
    json_dumpf(x, fp, JSON_COMPACT | JSON_ENCODE_ANY);
    fputc('\n', fp);
    fclose(fp);
}

void capture_exchange(const struct daemon_fixture *f, CURL *c, long status, const char *method,
                      const char *request_ctype, const char *request_body, size_t request_len,
                      const char *body, size_t body_len, const char *location)
{
    const char *all = getenv("IOTSEC_HTTP_CAPTURE"), *sbi = getenv("IOTSEC_SBI_DUMP");
    char *url = NULL, *ctype = NULL;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url);
    if ((all == NULL && sbi == NULL) || url == NULL)
        return;
    const char *face = face_of(f, url), *path = strstr(url, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    if (face == NULL || path == NULL) /* another server of the test (a sink, a test NRF) */
        return;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
    json_t *x = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:s}", "face", face, "method", method, "path",
                          path, "requestContentType", request_ctype, "status", (json_int_t)status,
                          "contentType", ctype ? ctype : "");
    /* null: the client did not look at Location (the check is then skipped) */
    json_object_set_new(x, "location", location ? json_string(location) : json_null());
    json_object_set_new(x, "requestBody", body_value(request_ctype, request_body, request_len));
    json_object_set_new(x, "body", body_value(ctype, body, body_len));
    char file[160];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* whole lines, in order */
    pthread_mutex_lock(&mu);
    if (all) {
        char exe[256] = "test";
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 4] = '\0';
        const char *slash = strrchr(exe, '/');
        snprintf(file, sizeof(file), "%.100s-%d.jsonl", slash ? slash + 1 : exe, (int)getpid());
        write_line(all, file, x);
    }
    if (sbi && (!strncmp(path, "/nausf-auth/", 12) || !strncmp(path, "/nudm-ueau/", 11))) {
        static unsigned seq;
        snprintf(file, sizeof(file), "sbi-%d-%05u.jsonl", (int)getpid(), ++seq);
        write_line(sbi, file, x);
    }
    pthread_mutex_unlock(&mu);
    json_decref(x);
}
