/* A test NRF written from TS 29.510, on the project's HTTP/2 + TLS server (src/http): the
 * NFManagement operations iotsecd uses (NFRegister PUT, NFUpdate PATCH, NFDeregister DELETE
 * on /nnrf-nfm/v1/nf-instances/{nfInstanceID}) and the AccessToken endpoint (POST
 * /oauth2/token, x-www-form-urlencoded, client_credentials), which signs AccessTokenClaims
 * with a test key. It records every request, so a test can check what iotsecd sent, when,
 * and validate the bodies against the official OpenAPI documents. */
#ifndef IOTSEC_TEST_NRF_SERVER_H
#define IOTSEC_TEST_NRF_SERVER_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>

#define TNRF_MAX      512
#define TNRF_INSTANCE "8f7c2a14-5b3e-4d6a-9c1f-0a2b3c4d5e6f" /* the NRF's nfInstanceId */

struct tnrf_request {
    char method[8];
    char path[160];
    char content_type[64];
    char *body; /* NUL-terminated */
    double at;  /* CLOCK_MONOTONIC seconds */
    int status; /* what the NRF answered */
};

struct tnrf {
    struct http_server *srv;
    uint16_t port;
    char url[64];         /* https://127.0.0.1:PORT */
    unsigned heartbeat_s; /* heartBeatTimer returned at registration */
    EVP_PKEY *token_key;  /* signs access tokens (ES256 or RS256 after its type) */
    pthread_mutex_t mu;
    int mu_ready;
    struct tnrf_request req[TNRF_MAX];
    int n;
    char profiles[8][40]; /* registered nfInstanceIds ("" = free) */
};

/* Starts on port (0: any) with the instance's PKI in dir (pki/server.crt, key, ca.crt: it
 * requires a client certificate of that CA). t starts zeroed. */
int tnrf_start(struct tnrf *t, const char *inst_dir, uint16_t port, unsigned heartbeat_s,
               EVP_PKEY *token_key);
/* Stops; tnrf_start again is an NRF restart: it forgets every registration but keeps the
 * recorded requests (tnrf_free_records drops them). */
void tnrf_stop(struct tnrf *t);
void tnrf_free_records(struct tnrf *t);

/* Counts recorded requests with this method (and path prefix, NULL: any). */
int tnrf_count(struct tnrf *t, const char *method, const char *path_prefix);
/* Waits up to ms until tnrf_count(...) >= n; returns the count. */
int tnrf_wait(struct tnrf *t, const char *method, const char *path_prefix, int n, int ms);
/* True while nfInstanceId is registered. */
int tnrf_registered(struct tnrf *t, const char *id);

/* Signs claims (a JSON object text) as the NRF does: header {"alg":..,"typ":"JWT"}. */
char *tnrf_sign(EVP_PKEY *key, const char *claims);

#endif
