#include "daemon/openapi.h"

#include <string.h>

#include "base/err.h"
#include "http/http.h"

static void handle_openapi(struct http_request *req, void *user)
{
    const struct openapi_doc *doc = user;
    http_respond(req, 200, "application/json", doc->json, doc->len);
}

int daemon_openapi_route(struct http_server *srv, const char *face)
{
    for (const struct openapi_doc *d = openapi_docs; d->face; d++)
        if (strcmp(d->face, face) == 0)
            return http_server_route(srv, "GET", "/openapi.json", handle_openapi, (void *)d);
    return IOTSEC_ERR_INVALID;
}
