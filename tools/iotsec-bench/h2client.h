/* A small HTTP/2 client for load generation: nghttp2's client session over OpenSSL (TLS 1.3,
 * ALPN "h2", client certificate) on non-blocking sockets driven by epoll. One thread drives
 * any number of connections; each connection carries up to `max_streams` concurrent
 * requests in preallocated slots, so the steady state allocates nothing of its own.
 *
 *   struct h2c_loop *loop = h2c_loop_new();
 *   struct h2c *c = h2c_connect(loop, &cfg, err, sizeof(err));
 *   h2c_submit(c, "POST", "/path", "application/json", body, len, done, user);
 *   while (...) h2c_loop_run(loop, 10);
 *
 * `done` runs from h2c_loop_run() once the stream is closed, with the status (0 when the
 * stream failed: reset, connection lost, timeout) and the response body, NUL-terminated.
 * It may submit new requests. */
#ifndef IOTSEC_BENCH_H2CLIENT_H
#define IOTSEC_BENCH_H2CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct h2c_loop;
struct h2c;

struct h2c_config {
    const char *host; /* an IPv4 address; also checked against the server certificate */
    uint16_t port;
    const char *ca_file;   /* verifies the server */
    const char *cert_file; /* our client certificate and key */
    const char *key_file;
    unsigned max_streams; /* request slots, >= 1 */
    size_t max_response;  /* bytes of response body kept per slot; the rest is dropped */
    size_t max_request;   /* bytes of request body copied per slot (h2c_submit_ref copies none) */
    const char *authorization; /* sent as "authorization" on every request when not NULL
                                * (e.g. "Bearer <token>"); must outlive the connection */
    const char *cookie; /* instead, sent as "cookie" (a console session) when not NULL */
};

typedef void (*h2c_done_fn)(void *user, int status, const char *body, size_t len);

struct h2c_loop *h2c_loop_new(void);
void h2c_loop_free(struct h2c_loop *loop);

/* Waits up to timeout_ms for I/O and services every ready connection. Returns the number of
 * connections still usable, or -1 when epoll itself failed. */
int h2c_loop_run(struct h2c_loop *loop, int timeout_ms);

/* Connects (blocking), completes the TLS handshake, checks that the server chose h2, then
 * switches to non-blocking and joins the loop. NULL with a message in err on failure. */
struct h2c *h2c_connect(struct h2c_loop *loop, const struct h2c_config *cfg, char *err,
                        size_t err_len);
void h2c_close(struct h2c *c);

/* Is the connection usable (no I/O or protocol error yet)? */
int h2c_ok(const struct h2c *c);
/* Why it broke (peer closed, TLS or HTTP/2 error, GOAWAY...), or NULL while usable. */
const char *h2c_error(const struct h2c *c);
/* Request slots free right now. */
unsigned h2c_free_slots(const struct h2c *c);

/* Queues a request; the body (may be NULL) is copied into the slot. Returns 0, or -1 when no
 * slot is free, the body is larger than max_request or the connection is broken. */
int h2c_submit(struct h2c *c, const char *method, const char *path, const char *content_type,
               const void *body, size_t len, h2c_done_fn done, void *user);

/* The same without copying the body: it must stay valid until `done` runs (bulk uploads). */
int h2c_submit_ref(struct h2c *c, const char *method, const char *path, const char *content_type,
                   const void *body, size_t len, h2c_done_fn done, void *user);

/* Fails (status 0) every request still in flight and marks the connection broken, e.g. at a
 * benchmark's deadline. */
void h2c_abort(struct h2c *c);

#endif
