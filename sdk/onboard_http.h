/* The HTTPS transport of the onboarding client (libcurl). Kept apart from onboard.c so that a
 * constrained device can bring its own transport; this one is for Linux-class devices,
 * gateways and the simulator. Not thread-safe: one per thread (or per device). */
#ifndef IOTSEC_SDK_ONBOARD_HTTP_H
#define IOTSEC_SDK_ONBOARD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "onboard.h"

struct onboard_http_config {
    const char *base_url; /* the device face, e.g. "https://127.0.0.1:8444" */
    const char *ca_file;  /* PEM: the CA that signed the daemon's certificate */
    const char *cert_pem; /* PEM in memory: client certificate (+ chain), or NULL */
    size_t cert_pem_len;
    const char *key_pem; /* PEM in memory: its private key, or NULL */
    size_t key_pem_len;
    long timeout_ms; /* per request; 0: 10 s */
};

struct onboard_http;

/* Copies what it needs from cfg. */
int onboard_http_new(const struct onboard_http_config *cfg, struct onboard_http **out);
void onboard_http_free(struct onboard_http *h);

/* The transport (direct: /device/v1/{nonce,onboard,confirm,rotate}). */
struct onboard_transport *onboard_http_transport(struct onboard_http *h);

/* One POST to base_url + path. *answer: malloc'd NUL-terminated body (may be NULL).
 * IOTSEC_OK when an HTTP answer came, IOTSEC_ERR_IO otherwise. */
int onboard_http_post(struct onboard_http *h, const char *path, const char *body, size_t len,
                      long *status, uint32_t *retry_after, char **answer, size_t *answer_len);

#endif
