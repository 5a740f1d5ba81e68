/* Internals shared by the files of src/nrf and its unit tests. */
#ifndef IOTSEC_NRF_INT_H
#define IOTSEC_NRF_INT_H

#include <jansson.h>
#include <stdint.h>

#include "nrf/nrf.h"

/* ---- token claims (nrf_token.c, pure) ---- */

/* Which of our identities the token's aud names. */
enum {
    NRF_AUD_AUSF_TYPE = 1u << 0,
    NRF_AUD_UDM_TYPE = 1u << 1,
    NRF_AUD_AUSF_ID = 1u << 2,
    NRF_AUD_UDM_ID = 1u << 3,
};

#define NRF_SCOPE_MAX 511

/* What a verified token says, as far as authorisation needs it (no pointers into it). */
struct nrf_token_info {
    char sub[NRF_UUID_LEN + 1];
    char scope[NRF_SCOPE_MAX + 1];
    unsigned aud;     /* NRF_AUD_* bits */
    int64_t exp, nbf; /* nbf 0: absent */
};

enum nrf_token_reason {
    NRF_TOKEN_OK = 0,
    NRF_TOKEN_CLAIMS, /* a required claim missing, or of the wrong type or form */
    NRF_TOKEN_ISSUER, /* iss is not the configured NRF */
    NRF_TOKEN_EXPIRED,
    NRF_TOKEN_NOT_YET,  /* nbf or iat in the future */
    NRF_TOKEN_AUDIENCE, /* names none of our types or instances */
    NRF_TOKEN_PLMN,     /* producerPlmnId is not ours */
};
const char *nrf_token_reason_str(enum nrf_token_reason r);

struct nrf_token_expect {
    const char *iss;
    const struct nrf_ids *ids;
    const char *mcc, *mnc; /* our PLMN, for producerPlmnId; NULL: not checked */
    int64_t now, leeway;
};

/* Checks the claims of a token whose signature verified (TS 29.510 AccessTokenClaims). */
enum nrf_token_reason nrf_token_check(const json_t *claims, const struct nrf_token_expect *ex,
                                      struct nrf_token_info *out);

/* True when the space-separated scope contains service as a whole word. */
bool nrf_scope_has(const char *scope, const char *service);

/* The aud bits that let a request for service (the route's first path segment) through. */
unsigned nrf_aud_needed(const char *service);

/* ---- bounded cache of verified tokens (nrf_cache.c) ---- */

struct nrf_cache;
struct nrf_cache *nrf_cache_new(size_t entries);
void nrf_cache_free(struct nrf_cache *c);
/* key: SHA-256 over the token and the connection's certificate fingerprint. */
bool nrf_cache_get(struct nrf_cache *c, const uint8_t key[32], struct nrf_token_info *out);
void nrf_cache_put(struct nrf_cache *c, const uint8_t key[32], const struct nrf_token_info *in);

/* ---- the one outbound call (nrf_http.c): the unit another layer may take over ---- */

struct nrf_http;
struct nrf_http_config {
    const char *ca_file, *cert_file, *key_file; /* NULL: system store / no client cert */
    unsigned timeout_ms;
};
struct nrf_http *nrf_http_new(const struct nrf_http_config *c);
void nrf_http_free(struct nrf_http *h);
/* One request; returns the HTTP status, or -1 when no answer came. *resp (malloc'd,
 * NUL-terminated) gets the body when resp is not NULL. */
long nrf_http_call(struct nrf_http *h, const char *method, const char *url,
                   const char *content_type, const char *body, char **resp);

#endif
