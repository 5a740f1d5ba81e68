/* A request being handled, without a connection: what a harness needs to call a decoder that
 * answers errors itself (dev_*_field, http_request_json, a whole handler whose state is in memory).
 * The answer is kept in the request (status, body) for the harness to check. */
#ifndef IOTSEC_TESTS_FUZZ_REQ_H
#define IOTSEC_TESTS_FUZZ_REQ_H

#include <stddef.h>

struct http_request;

/* A request in its handler with body (len bytes, copied) and, when not NULL, a Content-Type. */
struct http_request *fuzz_req_new(const void *body, size_t len, const char *content_type);
/* Sets a path parameter (name and value must outlive the request). */
void fuzz_req_param(struct http_request *req, const char *name, const char *value);
/* The answer's status (0: none yet) and body (NUL-terminated copy or NULL; free it). */
int fuzz_req_status(const struct http_request *req);
char *fuzz_req_answer(const struct http_request *req);
void fuzz_req_free(struct http_request *req);

#endif
