/* See test_nrf_server.h. */
#include "test_nrf_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"
#include "jose/jws.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(struct tnrf *t, struct http_request *req, int status)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    const char *ct = http_request_header(req, "content-type");
    pthread_mutex_lock(&t->mu);
    if (t->n < TNRF_MAX) {
        struct tnrf_request *r = &t->req[t->n++];
        snprintf(r->method, sizeof(r->method), "%s", http_request_method(req));
        snprintf(r->path, sizeof(r->path), "%s", http_request_path(req));
        snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
        r->body = strndup(body, len);
        r->at = now_s();
        r->status = status;
    }
    pthread_mutex_unlock(&t->mu);
}

/* The slot of id, or -1; with add, a free slot is taken. Called with mu held. */
static int slot(struct tnrf *t, const char *id, int add)
{
    for (int i = 0; i < 8; i++) {
        if (strcmp(t->profiles[i], id) == 0)
            return i;
    }
    for (int i = 0; add && i < 8; i++) {
        if (t->profiles[i][0] == '\0') {
            snprintf(t->profiles[i], sizeof(t->profiles[i]), "%s", id);
            return i;
        }
    }
    return -1;
}

static void problem(struct tnrf *t, struct http_request *req, int status, const char *cause)
{
    record(t, req, status);
    http_respond_problem(req, status, NULL, NULL, cause, NULL, 0);
}

/* NFRegister: the body must be a profile naming the same instance; the answer is the profile
 * with the NRF's heartBeatTimer (TS 29.510 §5.2.2.2.2). */
static void handle_put(struct http_request *req, void *user)
{
    struct tnrf *t = user;
    const char *id = http_request_param(req, "nfInstanceID");
    size_t len;
    const char *body = http_request_body(req, &len);
    json_t *p = json_loadb(body, len, 0, NULL);
    const char *pid = json_string_value(json_object_get(p, "nfInstanceId"));
    if (p == NULL || pid == NULL || strcmp(pid, id) != 0 ||
        json_string_value(json_object_get(p, "nfType")) == NULL) {
        json_decref(p);
        problem(t, req, 400, "MANDATORY_IE_INCORRECT");
        return;
    }
    pthread_mutex_lock(&t->mu);
    int known = slot(t, id, 0) >= 0;
    int s = slot(t, id, 1);
    pthread_mutex_unlock(&t->mu);
    if (s < 0) {
        json_decref(p);
        problem(t, req, 500, "INSUFFICIENT_RESOURCES");
        return;
    }
    json_object_set_new(p, "heartBeatTimer", json_integer(t->heartbeat_s));
    record(t, req, known ? 200 : 201);
    if (!known) {
        char loc[256];
        snprintf(loc, sizeof(loc), "%s/nnrf-nfm/v1/nf-instances/%s", t->url, id);
        http_response_header(req, "location", loc);
    }
    http_respond_json(req, known ? 200 : 201, p);
}

/* NFUpdate (heartbeat): 204 for a known instance, 404 otherwise (§5.2.2.3.2). */
static void handle_patch(struct http_request *req, void *user)
{
    struct tnrf *t = user;
    const char *ct = http_request_header(req, "content-type");
    if (ct == NULL || strcmp(ct, "application/json-patch+json") != 0) {
        problem(t, req, 415, NULL);
        return;
    }
    pthread_mutex_lock(&t->mu);
    int known = slot(t, http_request_param(req, "nfInstanceID"), 0) >= 0;
    pthread_mutex_unlock(&t->mu);
    if (!known) {
        problem(t, req, 404, "RESOURCE_NOT_FOUND");
        return;
    }
    record(t, req, 204);
    http_respond(req, 204, NULL, NULL, 0);
}

static void handle_delete(struct http_request *req, void *user)
{
    struct tnrf *t = user;
    pthread_mutex_lock(&t->mu);
    int s = slot(t, http_request_param(req, "nfInstanceID"), 0);
    if (s >= 0)
        t->profiles[s][0] = '\0';
    pthread_mutex_unlock(&t->mu);
    if (s < 0) {
        problem(t, req, 404, "RESOURCE_NOT_FOUND");
        return;
    }
    record(t, req, 204);
    http_respond(req, 204, NULL, NULL, 0);
}

/* One form field, percent-decoded into out; "" when absent. */
static void form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nl && memcmp(body + i, name, nl) == 0 && body[i + nl] == '=') {
            for (size_t k = i + nl + 1; k < end && o + 1 < cap; k++) {
                unsigned v;
                if (body[k] == '%' && k + 2 < end && sscanf(body + k + 1, "%2x", &v) == 1) {
                    out[o++] = (char)v;
                    k += 2;
                } else {
                    out[o++] = body[k] == '+' ? ' ' : body[k];
                }
            }
            out[o] = '\0';
            return;
        }
        i = end + 1;
    }
}

/* Nnrf_AccessToken (TS 29.510 §6.3.5.2.2): client_credentials; aud is the target NF type, or
 * the target instance when one is named. */
static void handle_token(struct http_request *req, void *user)
{
    struct tnrf *t = user;
    size_t len;
    const char *body = http_request_body(req, &len);
    char grant[64], nf[64], scope[256], target_type[16], target_id[64];
    form_get(body, len, "grant_type", grant, sizeof(grant));
    form_get(body, len, "nfInstanceId", nf, sizeof(nf));
    form_get(body, len, "scope", scope, sizeof(scope));
    form_get(body, len, "targetNfType", target_type, sizeof(target_type));
    form_get(body, len, "targetNfInstanceId", target_id, sizeof(target_id));
    if (strcmp(grant, "client_credentials") != 0 || !nf[0] || !scope[0] ||
        (!target_type[0] && !target_id[0])) {
        record(t, req, 400);
        http_response_header(req, "cache-control", "no-store");
        http_response_header(req, "pragma", "no-cache");
        http_respond_json(req, 400, json_pack("{s:s}", "error", "invalid_request"));
        return;
    }
    long long now = (long long)time(NULL);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", TNRF_INSTANCE, "sub", nf,
                               "scope", scope, "exp", now + 3600, "iat", now);
    json_object_set_new(claims, "aud",
                        target_id[0] ? json_pack("[s]", target_id) : json_string(target_type));
    char *text = json_dumps(claims, JSON_COMPACT);
    char *tok = tnrf_sign(t->token_key, text);
    free(text);
    json_decref(claims);
    record(t, req, 200);
    http_response_header(req, "cache-control", "no-store");
    http_response_header(req, "pragma", "no-cache");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:i, s:s}", "access_token", tok, "token_type", "Bearer",
                                "expires_in", 3600, "scope", scope));
    free(tok);
}

char *tnrf_sign(EVP_PKEY *key, const char *claims)
{
    char header[64];
    int n = snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
                     jws_alg_name(jws_key_alg(key)));
    char *tok = NULL;
    if (jws_sign(key, header, (size_t)n, claims, strlen(claims), &tok) != IOTSEC_OK)
        return NULL;
    return tok;
}

int tnrf_start(struct tnrf *t, const char *inst_dir, uint16_t port, unsigned heartbeat_s,
               EVP_PKEY *token_key)
{
    if (!t->mu_ready) { /* once per struct: a restart keeps the records */
        pthread_mutex_init(&t->mu, NULL);
        t->mu_ready = 1;
    }
    t->heartbeat_s = heartbeat_s;
    t->token_key = token_key;
    memset(t->profiles, 0, sizeof(t->profiles));
    char bind[32], cert[160], key[160], ca[160];
    snprintf(bind, sizeof(bind), "127.0.0.1:%u", port);
    snprintf(cert, sizeof(cert), "%s/pki/server.crt", inst_dir);
    snprintf(key, sizeof(key), "%s/pki/server.key", inst_dir);
    snprintf(ca, sizeof(ca), "%s/pki/ca.crt", inst_dir);
    struct http_server_config sc = {.workers = 1, .shutdown_timeout_ms = 500};
    t->srv = http_server_new(&sc);
    struct http_listener_config lc = {.bind = bind,
                                      .tls = true,
                                      .cert_file = cert,
                                      .key_file = key,
                                      .ca_file = ca,
                                      .client_cert_required = true};
    static const char *const item = "/nnrf-nfm/v1/nf-instances/{nfInstanceID}";
    if (t->srv == NULL || http_server_listen(t->srv, &lc) < 0 ||
        http_server_route(t->srv, "PUT", item, handle_put, t) != 0 ||
        http_server_route(t->srv, "PATCH", item, handle_patch, t) != 0 ||
        http_server_route(t->srv, "DELETE", item, handle_delete, t) != 0 ||
        http_server_route(t->srv, "POST", "/oauth2/token", handle_token, t) != 0 ||
        http_server_start(t->srv) != 0)
        return -1;
    t->port = http_server_port(t->srv, 0);
    snprintf(t->url, sizeof(t->url), "https://127.0.0.1:%u", t->port);
    return 0;
}

void tnrf_stop(struct tnrf *t)
{
    if (t->srv != NULL) {
        http_server_stop(t->srv);
        http_server_free(t->srv);
        t->srv = NULL;
    }
}

void tnrf_free_records(struct tnrf *t)
{
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++)
        free(t->req[i].body);
    t->n = 0;
    pthread_mutex_unlock(&t->mu);
}

int tnrf_count(struct tnrf *t, const char *method, const char *path_prefix)
{
    int c = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->req[i].method, method) == 0 &&
            (path_prefix == NULL || strncmp(t->req[i].path, path_prefix, strlen(path_prefix)) == 0))
            c++;
    }
    pthread_mutex_unlock(&t->mu);
    return c;
}

int tnrf_wait(struct tnrf *t, const char *method, const char *path_prefix, int n, int ms)
{
    int c = 0;
    for (int waited = 0; (c = tnrf_count(t, method, path_prefix)) < n && waited < ms;
         waited += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return c;
}

int tnrf_registered(struct tnrf *t, const char *id)
{
    pthread_mutex_lock(&t->mu);
    int s = slot(t, id, 0);
    pthread_mutex_unlock(&t->mu);
    return s >= 0;
}
