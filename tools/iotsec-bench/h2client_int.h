/* Internals of the HTTP/2 load client shared by h2client.c (sessions, I/O, requests) and
 * h2client_conn.c (connecting, TLS, teardown). */
#ifndef IOTSEC_BENCH_H2CLIENT_INT_H
#define IOTSEC_BENCH_H2CLIENT_INT_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "h2client.h"

#define IO_BUF (64 * 1024)

struct h2c_slot {
    struct h2c *conn;
    int index, next; /* free list / completion queue link */
    int status;      /* :status, or 0 until one arrives */
    int failed;      /* reset, or closed with an error code */
    int in_use, queued;
    const uint8_t *body;
    size_t body_len, body_off;
    uint8_t *req; /* the copied request body, max_request bytes */
    char *resp;   /* max_response + 1 bytes */
    size_t resp_len;
    h2c_done_fn done;
    void *user;
    char method[8], ctype[64], path[256], clen[24];
};

struct h2c {
    struct h2c_loop *loop;
    struct h2c *next_conn;
    struct h2c_config cfg;
    int fd, broken, want_out;
    char why[160]; /* why the connection broke, for the report */
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *s;
    char authority[64];
    struct h2c_slot *slots;
    int free_head, done_head, done_tail;
    unsigned nfree;
    const uint8_t *pend; /* the rest of nghttp2's last chunk, valid until the next mem_send */
    size_t pend_len;
    size_t out_len, out_off;
    uint8_t out[IO_BUF], in[IO_BUF];
};

struct h2c_loop {
    int epfd;
    struct h2c *conns;
};

/* OpenSSL's reason for the oldest queued error, never NULL. */
const char *h2c_tls_reason(void);
/* Records the first reason the connection is failing (h2c_error() reports it). */
void h2c_set_why(struct h2c *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Creates the nghttp2 client session and queues our SETTINGS. */
int h2c_session_new(struct h2c *c);
/* Services a connection after epoll said `events` (0: just flush what is queued). */
void h2c_service(struct h2c *c, uint32_t events);
/* Breaks the connection: every request in flight completes with status 0. */
void h2c_fail(struct h2c *c);

#endif
