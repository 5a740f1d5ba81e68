/* SIGHUP: a TLS listener takes new certificates, key and client CAs without closing anything.
 * Connections accepted after the swap handshake with the new context; those open keep theirs
 * (each SSL holds a reference to the context it was made from). A worker may have read the
 * old pointer just before the swap, so the old context is not freed here but retired, and
 * freed with the server. */
#include <openssl/ssl.h>
#include <stdlib.h>

#include "base/err.h"
#include "http/http_int.h"

struct retired_ctx {
    struct retired_ctx *next;
    SSL_CTX *ctx;
};

int http_server_reload_tls(struct http_server *srv, int listener,
                           const struct http_listener_config *lc)
{
    if (listener < 0 || (unsigned)listener >= srv->n_listeners || !lc->tls ||
        !srv->listeners[listener].tls)
        return IOTSEC_ERR_INVALID;
    struct listener *l = &srv->listeners[listener];
    struct retired_ctx *r = malloc(sizeof(*r));
    if (r == NULL)
        return IOTSEC_ERR_NOMEM;
    SSL_CTX *fresh = NULL;
    int rc = htls_ctx_new(lc, &fresh, srv); /* logs what is wrong with the files */
    if (rc != IOTSEC_OK) {
        free(r);
        return rc;
    }
    r->ctx = atomic_exchange(&l->ssl_ctx, fresh);
    r->next = l->retired;
    l->retired = r;
    return IOTSEC_OK;
}

void htls_retired_free(struct listener *l)
{
    while (l->retired) {
        struct retired_ctx *r = l->retired;
        l->retired = r->next;
        SSL_CTX_free(r->ctx);
        free(r);
    }
}
