/* HTTPS transport over libcurl: one easy handle per client, so its TLS connection (and the
 * client certificate it authenticated with) is reused for nonce, onboard and confirm. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/err.h"
#include "onboard_http.h"

#define ANSWER_MAX (256 * 1024) /* the device face answers at most 64 KiB */

struct onboard_http {
    struct onboard_transport base;
    CURL *curl;
    struct curl_slist *headers;
    char *base_url;
};

struct answer_buf {
    char *data;
    size_t len;
    bool too_big;
};

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
    struct answer_buf *b = user;
    size_t add = size * n;
    if (b->len + add > ANSWER_MAX) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    char *p = realloc(b->data, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, ptr, add);
    b->data = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

int onboard_http_post(struct onboard_http *h, const char *path, const char *body, size_t len,
                      long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    char url[512];
    struct answer_buf b = {0};
    *status = 0;
    *retry_after = 0;
    *answer = NULL;
    *answer_len = 0;
    if ((size_t)snprintf(url, sizeof(url), "%s%s", h->base_url, path) >= sizeof(url))
        return IOTSEC_ERR_INVALID;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(h->curl);
    if (cc != CURLE_OK || b.too_big) {
        free(b.data);
        return IOTSEC_ERR_IO;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    curl_off_t ra = 0;
    if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        *retry_after = ra > 86400 ? 86400 : (uint32_t)ra;
    *answer = b.data;
    *answer_len = b.len;
    return IOTSEC_OK;
}

static const char *const DIRECT_PATHS[] = {
    [ONBOARD_OP_NONCE] = "/device/v1/nonce",
    [ONBOARD_OP_ONBOARD] = "/device/v1/onboard",
    [ONBOARD_OP_CONFIRM] = "/device/v1/confirm",
    [ONBOARD_OP_ROTATE] = "/device/v1/rotate",
};

static int direct_send(struct onboard_transport *t, enum onboard_op op, const char *body,
                       size_t len, long *status, uint32_t *retry_after, char **answer,
                       size_t *answer_len)
{
    struct onboard_http *h = (struct onboard_http *)t;
    if ((unsigned)op > ONBOARD_OP_ROTATE)
        return IOTSEC_ERR_INVALID;
    return onboard_http_post(h, DIRECT_PATHS[op], body, len, status, retry_after, answer,
                             answer_len);
}

struct onboard_transport *onboard_http_transport(struct onboard_http *h)
{
    return &h->base;
}

int onboard_http_new(const struct onboard_http_config *cfg, struct onboard_http **out)
{
    *out = NULL;
    if (!cfg->base_url || !cfg->ca_file)
        return IOTSEC_ERR_INVALID;
    struct onboard_http *h = calloc(1, sizeof(*h));
    if (!h)
        return IOTSEC_ERR_NOMEM;
    h->base.send = direct_send;
    h->base_url = strdup(cfg->base_url);
    h->curl = curl_easy_init();
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!h->base_url || !h->curl || !h->headers) {
        onboard_http_free(h);
        return IOTSEC_ERR_NOMEM;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (cfg->cert_pem && cfg->key_pem) {
        /* libcurl copies blobs (CURL_BLOB_COPY), so the caller may wipe its key at once. */
        struct curl_blob cert = {
            .data = (void *)cfg->cert_pem, .len = cfg->cert_pem_len, .flags = CURL_BLOB_COPY};
        struct curl_blob key = {
            .data = (void *)cfg->key_pem, .len = cfg->key_pem_len, .flags = CURL_BLOB_COPY};
        if (curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key) != CURLE_OK) {
            onboard_http_free(h);
            return IOTSEC_ERR_UNSUPPORTED;
        }
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    }
    *out = h;
    return IOTSEC_OK;
}

void onboard_http_free(struct onboard_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->base_url);
    free(h);
}
