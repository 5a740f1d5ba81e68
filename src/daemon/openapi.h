/* GET /openapi.json on each face: iotsec's own OpenAPI document of that face (docs/openapi),
 * embedded at build time (scripts/openapi-embed). */
#ifndef IOTSEC_DAEMON_OPENAPI_H
#define IOTSEC_DAEMON_OPENAPI_H

#include <stddef.h>

struct http_server;

struct openapi_doc {
    const char *face; /* "admin", "device", "northbound", "sbi" */
    const char *json; /* the document, compact JSON */
    size_t len;
};
extern const struct openapi_doc openapi_docs[]; /* ends with a NULL face */

/* Routes GET /openapi.json on srv to the document of face (IOTSEC_ERR_INVALID: none). */
int daemon_openapi_route(struct http_server *srv, const char *face);

#endif
