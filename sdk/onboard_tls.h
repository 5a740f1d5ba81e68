/* A minimal HTTPS/1.1 transport over OpenSSL, without libcurl: for devices that carry OpenSSL
 * but not libcurl, and for simulators and gateways, where many connections share one
 * SSL_CTX. (libcurl builds an SSL_CTX per connection; with OpenSSL 3 that setup costs more
 * than the handshake's cryptography.) Speaks only what the device face needs: POST with a
 * JSON body, answers with Content-Length, keep-alive, TLS 1.3, the server verified against a
 * CA file and the URL's host (or IP address). As with any OpenSSL socket, a peer that closes
 * first can raise SIGPIPE: the process must ignore it (signal(SIGPIPE, SIG_IGN)). */
#ifndef IOTSEC_SDK_ONBOARD_TLS_H
#define IOTSEC_SDK_ONBOARD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "onboard.h"

struct onboard_tls_ctx;

/* base_url: "https://host:port" (host a name, an IPv4 address or [IPv6]); resolved once here.
 * Safe to share between threads once made. */
int onboard_tls_ctx_new(const char *base_url, const char *ca_file, struct onboard_tls_ctx **out);
void onboard_tls_ctx_free(struct onboard_tls_ctx *c);

/* One client (one connection, opened on first use and reopened when the server closed it).
 * cert and key (may be NULL: no client certificate) are borrowed: they must outlive the
 * client. Not thread-safe. */
struct onboard_tls;
int onboard_tls_new(struct onboard_tls_ctx *c, X509 *cert, EVP_PKEY *key, struct onboard_tls **out);
void onboard_tls_free(struct onboard_tls *t);

/* The transport: the direct paths (/device/v1/...), or the relay paths when relay is true
 * (the client is then a gateway's, with the gateway's certificate). */
struct onboard_transport *onboard_tls_transport(struct onboard_tls *t, bool relay);

/* One POST; the contract of onboard_http_post. */
int onboard_tls_post(struct onboard_tls *t, const char *path, const char *body, size_t len,
                     long *status, uint32_t *retry_after, char **answer, size_t *answer_len);

/* Parses an answer's head (status line and headers, each line ending in CRLF, NUL-terminated;
 * pure, for tests): status, Content-Length (required, at most 256 KiB), Retry-After in
 * seconds (0 when absent or an HTTP date), whether the connection stays open.
 * IOTSEC_ERR_INVALID for a malformed head, IOTSEC_ERR_UNSUPPORTED for chunked answers. */
int onboard_http_head_parse(const char *head, long *status, size_t *content_length,
                            uint32_t *retry_after, bool *reusable);

#endif
