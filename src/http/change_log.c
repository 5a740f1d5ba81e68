/* http_server_config.log_changes: one log line per request that may change something (every
 * method but GET and HEAD), when it is answered: who (the client certificate's CN and the
 * start of its SHA-256), what (method and path; never the body or the query), the result (the
 * status). The admin face's audit trail in the journal. */
#include <string.h>

#include "http/http_int.h"

void hchange_log(struct http_request *req)
{
    struct http_conn *c = req->conn;
    struct http_server *srv = c->w->srv;
    if (!srv->cfg.log_changes || !req->method || !strcmp(req->method, "GET") ||
        !strcmp(req->method, "HEAD"))
        return;
    const struct http_peer *p = &c->peer;
    hlog(srv, req->status >= 400 ? HTTP_LOG_WARNING : HTTP_LOG_INFO, req->id,
         "change: %s %s by %s (sha256 %.16s) from %s: %d", req->method, req->path ? req->path : "",
         p->has_cert && p->subject_cn ? p->subject_cn : "-", p->has_cert ? p->cert_sha256_hex : "-",
         c->peer_addr, req->status);
}
