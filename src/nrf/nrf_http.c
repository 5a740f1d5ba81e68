/* The one outbound HTTP call of the NRF client, kept behind nrf_http_call() so that a shared
 * delivery engine in src/http can take it over. HTTP/2 (TS 29.500 §5.2): over TLS with ALPN
 * for https, prior knowledge for http. The NRF is named by the operator's configuration, so
 * no destination policy applies to it. One handle, reused: the connection stays up between
 * heartbeats. Used by one thread (the client's). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "nrf/nrf_int.h"

#define RESP_MAX (1u << 20)

struct nrf_http {
    CURL *curl;
    char *ca_file, *cert_file, *key_file;
    unsigned timeout_ms;
};

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

struct nrf_http *nrf_http_new(const struct nrf_http_config *c)
{
    /* libcurl >= 7.84 makes this thread-safe; others (policy webhooks) call it too */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct nrf_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->curl = curl_easy_init();
    h->ca_file = dup_or_null(c->ca_file);
    h->cert_file = dup_or_null(c->cert_file);
    h->key_file = dup_or_null(c->key_file);
    h->timeout_ms = c->timeout_ms ? c->timeout_ms : 5000;
    if (h->curl == NULL) {
        nrf_http_free(h);
        return NULL;
    }
    return h;
}

void nrf_http_free(struct nrf_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h->ca_file);
    free(h->cert_file);
    free(h->key_file);
    free(h);
    curl_global_cleanup();
}

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
    struct strbuf *b = user;
    if (b->len + size * n > RESP_MAX || strbuf_append(b, ptr, size * n) != 0)
        return 0; /* aborts the transfer */
    return size * n;
}

long nrf_http_call(struct nrf_http *h, const char *method, const char *url,
                   const char *content_type, const char *body, char **resp)
{
    CURL *c = h->curl;
    struct strbuf out = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json, "
                                                      "application/problem+json");
    char ct[96];
    if (content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    curl_easy_reset(c); /* keeps the connection cache */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     strncmp(url, "https:", 6) == 0 ? (long)CURL_HTTP_VERSION_2TLS
                                                    : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    if (h->cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
    if (h->key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    if (resp != NULL && status > 0) {
        *resp = out.data ? out.data : strdup("");
        out.data = NULL;
    } else if (resp != NULL) {
        *resp = NULL;
    }
    strbuf_free(&out);
    return status;
}
