/* The gateway's relay: opaque bodies in, opaque answers out. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "gateway.h"

struct gateway {
    struct onboard_transport base; /* what a device behind the gateway talks to */
    struct onboard_http *http;     /* the gateway's own mTLS connection */
    gateway_tap_fn tap;
    void *tap_user;
};

static const char *const RELAY_PATHS[] = {
    [ONBOARD_OP_NONCE] = "/device/v1/nonce", /* a nonce is not a secret: fetched as is */
    [ONBOARD_OP_ONBOARD] = "/device/v1/relay/onboard",
    [ONBOARD_OP_CONFIRM] = "/device/v1/relay/confirm",
    [ONBOARD_OP_ROTATE] = "/device/v1/relay/rotate",
};

int gateway_relay(struct gateway *g, enum onboard_op op, const char *body, size_t len, long *status,
                  uint32_t *retry_after, char **answer, size_t *answer_len)
{
    *answer = NULL;
    *answer_len = 0;
    if ((unsigned)op > ONBOARD_OP_ROTATE)
        return IOTSEC_ERR_INVALID;
    char *copy = NULL;
    if (g->tap) { /* the tap may alter what it sees: give it a copy, never the device's own */
        copy = malloc(len + 1);
        if (!copy)
            return IOTSEC_ERR_NOMEM;
        memcpy(copy, body, len);
        copy[len] = '\0';
        g->tap(g->tap_user, op, 0, copy, len);
        body = copy;
    }
    int rc = onboard_http_post(g->http, RELAY_PATHS[op], body, len, status, retry_after, answer,
                               answer_len);
    free(copy);
    if (rc == IOTSEC_OK && g->tap && *answer)
        g->tap(g->tap_user, op, 1, *answer, *answer_len);
    return rc;
}

static int relay_send(struct onboard_transport *t, enum onboard_op op, const char *body, size_t len,
                      long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    return gateway_relay((struct gateway *)t, op, body, len, status, retry_after, answer,
                         answer_len);
}

int gateway_new(const struct onboard_http_config *cfg, struct gateway **out)
{
    *out = NULL;
    if (!cfg->cert_pem || !cfg->key_pem)
        return IOTSEC_ERR_INVALID; /* a gateway always authenticates itself */
    struct gateway *g = calloc(1, sizeof(*g));
    if (!g)
        return IOTSEC_ERR_NOMEM;
    int rc = onboard_http_new(cfg, &g->http);
    if (rc != IOTSEC_OK) {
        free(g);
        return rc;
    }
    g->base.send = relay_send;
    *out = g;
    return IOTSEC_OK;
}

void gateway_free(struct gateway *g)
{
    if (!g)
        return;
    onboard_http_free(g->http);
    free(g);
}

void gateway_set_tap(struct gateway *g, gateway_tap_fn tap, void *user)
{
    g->tap = tap;
    g->tap_user = user;
}

struct onboard_transport *gateway_transport(struct gateway *g)
{
    return &g->base;
}
