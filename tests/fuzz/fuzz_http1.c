/* HTTP/1.1 request heads as any client on a cleartext or TLS listener sends them
 * (hconn_h1_parse_head, conn_h1.c: request line, origin-form target, header fields, the
 * framing fields). The input is framed as the connection frames it (leading empty lines
 * skipped, the head up to CRLF CRLF, a bare LF refused before parsing); the request is a
 * stand-alone one with the server's default limits. Invariants: an error is one of the
 * statuses the parser documents; an accepted head has a token method, an origin-form target
 * of visible ASCII, lower-case field names, values without CR/LF, one Host (HTTP/1.1) and a
 * body length within the limit. */
#include <string.h>

#include "fuzz.h"
#include "http/http_int.h"

static struct http_server srv;
static struct worker worker;
static struct http_conn conn;
static struct http_request req;

static void reset(void)
{
    if (conn.w == NULL) {
        srv.cfg.max_headers = 64;
        srv.cfg.max_header_bytes = 16 * 1024;
        srv.cfg.max_body_bytes = 1024 * 1024;
        worker.srv = &srv;
        conn.w = &worker;
    }
    memset(&req, 0, offsetof(struct http_request, arena_mem));
    harena_init(&req.arena, req.arena_mem, sizeof(req.arena_mem));
    req.conn = &conn;
    req.method = req.path = req.query = "";
}

static void check_accepted(const struct h1_head *hi)
{
    FUZZ_CHECK(req.method[0] != '\0' && strlen(req.method) <= 32);
    FUZZ_CHECK(req.path[0] == '/');
    for (const char *p = req.path; *p; p++)
        FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '?' && *p != '#');
    FUZZ_CHECK(hi->content_length <= srv.cfg.max_body_bytes);
    FUZZ_CHECK(hi->http10 ? hi->hosts <= 1 : hi->hosts == 1);
    /* chunked alone: never with Content-Length (smuggling), never under HTTP/1.0 */
    FUZZ_CHECK(!hi->chunked || (!hi->has_length && !hi->http10));
    FUZZ_CHECK(req.n_headers <= srv.cfg.max_headers && !req.head_too_large);
    for (unsigned i = 0; i < req.n_headers; i++) {
        const char *n = req.headers[i].name, *v = req.headers[i].value;
        FUZZ_CHECK(n[0] != '\0' && strpbrk(v, "\r\n") == NULL);
        for (; *n; n++)
            FUZZ_CHECK(!(*n >= 'A' && *n <= 'Z') && *n != ':');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset();
    const char *p = (const char *)data;
    while (size >= 2 && p[0] == '\r' && p[1] == '\n') {
        p += 2;
        size -= 2;
    }
    const char *end = memmem(p, size, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head_len = (size_t)(end + 4 - p);
    if (head_len > srv.cfg.max_header_bytes)
        return 0; /* answered 431 before parsing */
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + head_len - q))); q++)
        if (q == p || q[-1] != '\r')
            return 0; /* answered 400 before parsing */
    struct h1_head hi;
    hconn_h1_parse_head(&req, p, head_len, srv.cfg.max_body_bytes, &hi);
    if (hi.error)
        FUZZ_CHECK((hi.error == 400 || hi.error == 413 || hi.error == 417 ||
                    hi.error == 431 || hi.error == 501) &&
                   hi.detail != NULL);
    else
        check_accepted(&hi);
    harena_free(&req.arena);
    return 0;
}
