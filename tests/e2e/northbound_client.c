/* See northbound_client.h. */
#include "northbound_client.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include "base/err.h"
#include "capture.h"
#include "store/store.h"

/* Every SUPI of the instance, read through a read-only store (either engine). */
int nb_leak_find(const struct daemon_fixture *f, const char *data, size_t len, char *found,
                 size_t cap)
{
    char db_path[720];
    fixture_db_path(f, db_path, sizeof(db_path));
    struct store_options o;
    store_options_init(&o);
    o.read_only = true;
    struct store *s = NULL;
    struct store_conn *c;
    struct store_stmt *st = NULL;
    if (store_open(db_path, &o, &s) != IOTSEC_OK || store_reader_get(s, &c) != IOTSEC_OK ||
        store_stmt(c, "SELECT supi FROM subscriptions", &st) != IOTSEC_OK) {
        store_close(s);
        return -1;
    }
    found[0] = 0;
    while (store_step(st) == STORE_ROW && !found[0]) {
        const char *supi = store_col_text(st, 0);
        /* imsi-<digits>: the digits alone are the IMSI; nai-<x>: the NAI itself */
        const char *needle = strncmp(supi, "imsi-", 5) == 0 ? supi + 5
                             : strncmp(supi, "nai-", 4) == 0 ? supi + 4 : supi;
        size_t n = strlen(needle);
        for (size_t i = 0; n > 0 && i + n <= len; i++) {
            if (memcmp(data + i, needle, n) == 0) {
                snprintf(found, cap, "%s", supi);
                break;
            }
        }
    }
    store_reset(st);
    /* the local group ids (docs/group.md) never leave either: decimal, hex, upper-case hex */
    if (!found[0] && store_stmt(c, "SELECT ref FROM groups", &st) == IOTSEC_OK) {
        while (store_step(st) == STORE_ROW && !found[0]) {
            uint64_t ref = (uint64_t)store_col_int64(st, 0);
            char forms[3][24];
            snprintf(forms[0], sizeof(forms[0]), "%" PRIu64, ref);
            snprintf(forms[1], sizeof(forms[1]), "%016" PRIx64, ref);
            snprintf(forms[2], sizeof(forms[2]), "%016" PRIX64, ref);
            for (int k = 0; k < 3 && !found[0]; k++) {
                size_t n = strlen(forms[k]);
                for (size_t i = 0; i + n <= len; i++) {
                    if (memcmp(data + i, forms[k], n) == 0) {
                        snprintf(found, cap, "local group id %s", forms[k]);
                        break;
                    }
                }
            }
        }
        store_reset(st);
    }
    store_close(s);
    return found[0] ? 1 : 0;
}

void nb_leak_check(const struct daemon_fixture *f, const char *what, const char *data, size_t len)
{
    char found[300];
    int rc = nb_leak_find(f, data, len, found, sizeof(found));
    if (rc < 0)
        fail_msg("leak scan: cannot read the SUPIs and group ids of the instance");
    if (rc > 0)
        fail_msg("LEAK: %s contains %s", what, found);
}

struct buf {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
    struct buf *b = user;
    size_t add = size * n;
    char *g = realloc(b->data, b->len + add + 1);
    if (g == NULL)
        return 0;
    memcpy(g + b->len, ptr, add);
    b->data = g;
    b->len += add;
    g[b->len] = 0;
    return add;
}

void nb_call(const struct daemon_fixture *f, const struct nb_identity *who, const char *method,
             const char *url, const char *bearer, const char *content_type, const char *body,
             int http2, struct nb_response *out)
{
    char ca[128];
    snprintf(ca, sizeof(ca), "%s/inst/pki/ca.crt", f->dir);
    CURL *c = curl_easy_init();
    struct buf b = {0}, h = {0};
    struct curl_slist *hdr = NULL;
    char line[9000];
    if (bearer) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer);
        hdr = curl_slist_append(hdr, line);
    }
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        hdr = curl_slist_append(hdr, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) /* no body is coming: do not wait for one */
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (who && who->cert) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, who->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, who->key);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    out->status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char location[512] = "";
    struct nb_response seen = {.headers = h.data};
    nb_header(&seen, "location", location, sizeof(location));
    capture_exchange(f, c, out->status, method, content_type, body, body ? strlen(body) : 0, b.data,
                     b.len, location);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    out->body = b.data ? b.data : strdup("");
    out->headers = h.data ? h.data : strdup("");
    nb_leak_check(f, "a northbound response's headers", out->headers, strlen(out->headers));
    nb_leak_check(f, "a northbound response's body", out->body, strlen(out->body));
}

void nb_response_free(struct nb_response *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

int nb_header(const struct nb_response *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *end = strstr(p, "\r\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(len - (size_t)(v - p)), v);
            return 0;
        }
        p = end ? end + 2 : NULL;
    }
    return -1;
}

int nb_mint_client(const char *dir, const char *name)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-keyout %s-ca.key -out %s-ca.pem -subj '/CN=%s test CA' >/dev/null 2>&1 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -out %s.csr -subj '/CN=%s' >/dev/null 2>&1 && "
             "openssl x509 -req -in %s.csr -CA %s-ca.pem -CAkey %s-ca.key -CAcreateserial "
             "-days 2 -out %s.pem >/dev/null 2>&1",
             dir, name, name, name, name, name, name, name, name, name, name);
    return system(cmd) == 0 ? 0 : -1;
}

json_t *nb_admin_json(const struct daemon_fixture *f, const char *method, const char *path,
                      json_t *body, long want)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", f->admin, path);
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *out = NULL;
    long st = fixture_request(f, AS_ADMIN, method, url, b ? "application/json" : NULL, b,
                              b ? strlen(b) : 0, &out);
    free(b);
    if (st != want)
        fail_msg("%s %s: %ld, want %ld: %s", method, path, st, want, out ? out : "");
    json_t *o = json_loads(out ? out : "", 0, NULL);
    free(out);
    return o;
}

char *nb_read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *s = calloc(1, 65536);
    size_t n = fread(s, 1, 65535, fp);
    fclose(fp);
    s[n] = 0;
    return s;
}
