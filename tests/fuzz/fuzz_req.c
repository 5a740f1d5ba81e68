#include "fuzz_req.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/http_int.h"

static struct http_server srv;
static struct worker worker;
static struct http_conn conn;
static struct http_header content_type_header[1];

static void submit(struct http_request *req)
{
    (void)req; /* the answer stays in the request */
}

static const struct conn_proto proto = {.submit = submit};

struct http_request *fuzz_req_new(const void *body, size_t len, const char *content_type)
{
    if (conn.w == NULL) {
        srv.cfg.max_headers = 64;
        srv.cfg.max_header_bytes = 16 * 1024;
        srv.cfg.max_body_bytes = 1024 * 1024;
        worker.srv = &srv;
        worker.metrics = hmetrics_new(0);
        FUZZ_CHECK(worker.metrics != NULL);
        conn.w = &worker;
        conn.proto = &proto;
    }
    struct http_request *req = calloc(1, sizeof(*req));
    FUZZ_CHECK(req != NULL);
    harena_init(&req->arena, req->arena_mem, sizeof(req->arena_mem));
    req->conn = &conn;
    req->method = "POST";
    req->path = "/";
    req->query = "";
    req->phase = REQ_HANDLING;
    memcpy(req->id, "fuzz", 5);
    if (content_type) {
        content_type_header[0].name = "content-type";
        content_type_header[0].value = content_type;
        req->headers = content_type_header;
        req->n_headers = 1;
    }
    FUZZ_CHECK(hbuf_append(&req->body, body, len) == 0);
    return req;
}

void fuzz_req_param(struct http_request *req, const char *name, const char *value)
{
    FUZZ_CHECK(req->n_params < HTTP_MAX_PARAMS);
    req->params[req->n_params].name = name;
    req->params[req->n_params++].value = value;
}

int fuzz_req_status(const struct http_request *req)
{
    return req->responded ? req->status : 0;
}

char *fuzz_req_answer(const struct http_request *req)
{
    if (!req->responded || req->resp_body == NULL)
        return NULL;
    char *s = malloc(req->resp_len + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, req->resp_body, req->resp_len);
    s[req->resp_len] = '\0';
    return s;
}

void fuzz_req_free(struct http_request *req)
{
    hbuf_free(&req->body);
    free(req->resp_owned);
    harena_free(&req->arena);
    free(req);
}
