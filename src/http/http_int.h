/* Internals of the HTTP server shared by its files; nothing outside src/http includes this.
 *
 * Ownership in one paragraph: a worker owns its connections; a connection owns the requests
 * it is receiving, handling or sending, and each request holds a reference on its
 * connection so that a deferred request (owned by the application meanwhile) can still
 * reach its worker and its peer identity after the connection closed. Reference counts
 * and every field not marked otherwise are touched by the worker thread only. */
#ifndef IOTSEC_HTTP_HTTP_INT_H
#define IOTSEC_HTTP_HTTP_INT_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/http.h"

#define HTTP_MAX_LISTENERS        8
#define HTTP_MAX_RESPONSE_HEADERS 32
#define HTTP_MAX_PARAMS           8
#define HTTP_MAX_SEGMENTS         32
#define HTTP_READ_CHUNK           16384 /* one TLS record */
/* Bytes a request must move within each read timeout to keep it from expiring: 64 KiB per
 * 10 s is ~6.5 kB/s, far below any real upload and far above a slowloris trickle. */
#define HTTP_PROGRESS_BYTES   65536
#define HTTP_OUT_HIGH_WATER   65536 /* stop producing output past this many unsent bytes */
#define HTTP_REQUEST_ARENA    1024  /* inline arena of a request: most need no more */
#define HTTP_REQUEST_FREELIST 64    /* recycled request structs per worker */
#define HTTP_LINGER_MS        2000  /* reading and discarding after our half-close */
#define HTTP_BODY_PREALLOC    65536 /* reserved from Content-Length before bytes arrive */
/* HTTP/2 stream resets a client may send (Rapid Reset, CVE-2023-44487): a token bucket of
 * this many, refilled at this rate per second and by one per stream answered in full. An
 * honest client resets a stream now and then (its own timeout); past the bucket the
 * connection gets GOAWAY(ENHANCE_YOUR_CALM). nghttp2's own limit (1000, 33/s, answered with
 * INTERNAL_ERROR) stays on behind it. */
#define HTTP_H2_RESET_BURST 200
#define HTTP_H2_RESET_RATE  20

struct http_conn;
struct worker;

/* ---- buf.c: a byte buffer consumed from the front ---- */

struct http_buf {
    char *data;
    size_t off, len, cap; /* unread bytes are data[off, len) */
};

static inline size_t hbuf_size(const struct http_buf *b)
{
    return b->len - b->off;
}
static inline char *hbuf_begin(const struct http_buf *b)
{
    return b->data + b->off;
}
int hbuf_reserve(struct http_buf *b, size_t n); /* room for n more bytes at the end */
int hbuf_append(struct http_buf *b, const void *p, size_t n);
void hbuf_consume(struct http_buf *b, size_t n);
void hbuf_free(struct http_buf *b);

/* ---- arena.c: per-request allocations freed at once ---- */

struct arena_chunk;
struct arena {
    char *pos, *end;
    struct arena_chunk *chunks; /* overflow chunks, malloc'd */
};
void harena_init(struct arena *a, void *inline_mem, size_t size);
void *harena_alloc(struct arena *a, size_t n);
char *harena_chars(struct arena *a, size_t n); /* unaligned, for strings */
char *harena_strndup(struct arena *a, const char *s, size_t n);
void harena_free(struct arena *a);

/* ---- router.c ---- */

struct route_seg {
    const char *text; /* literal text (len bytes) or parameter name (a string) */
    uint16_t len;
    bool param;
};

struct route {
    char *method;
    char *pattern;
    char *split; /* the pattern again, parameter names NUL-terminated */
    struct route_seg segs[HTTP_MAX_SEGMENTS];
    unsigned n_segs;
    http_handler_fn handler;
    void *user;
    unsigned index;  /* metrics slot */
    size_t max_body; /* request body limit of this route; 0: the server's */
};

struct router {
    struct route **routes;
    unsigned n, cap;
    bool any_limit; /* some route has its own body limit */
};

struct route_match {
    const struct route *route;
    unsigned n_params;
    struct {
        const char *name;
        const char *raw; /* points into the matched path */
        size_t len;
    } params[HTTP_MAX_PARAMS];
    char allow[128]; /* for 405: methods of the routes whose pattern matched */
};

int hrouter_add(struct router *r, const char *method, const char *pattern, http_handler_fn fn,
                void *user);
/* IOTSEC_OK (m->route set), IOTSEC_ERR_NOTFOUND (no pattern matches) or IOTSEC_ERR_STATE (a
 * pattern matches, not the method; m->allow lists the methods). */
int hrouter_match(const struct router *r, const char *method, const char *path, size_t path_len,
                  struct route_match *m);
void hrouter_free(struct router *r);
/* The body limit for a request to (method, path): its route's own, or dflt. */
size_t hrouter_body_limit(const struct router *r, const char *method, const char *path,
                          size_t dflt);
/* The largest body limit of any route, dflt at least. */
size_t hrouter_max_body(const struct router *r, size_t dflt);

/* ---- metrics.c ---- */

struct metrics; /* per worker */
struct http_server;
struct metrics *hmetrics_new(unsigned n_routes);
void hmetrics_free(struct metrics *m);
/* route_index == n_routes: requests answered before or without routing. */
void hmetrics_count(struct metrics *m, unsigned route_index, int status, uint64_t latency_us);
void hmetrics_count_conn(struct metrics *m, int what);
enum {
    METRIC_CONN_ACCEPTED,
    METRIC_CONN_TLS_FAILED,
    METRIC_RESP_DROPPED,
    METRIC_REQ_CANCELLED,  /* HTTP/2 stream reset before its handler ran: handler skipped */
    METRIC_H2_RESET_FLOOD, /* connections closed with ENHANCE_YOUR_CALM for too many resets */
    METRIC_CONN_KINDS
};

/* ---- requests (request.c) ---- */

struct http_header {
    const char *name, *value;
};

enum req_phase { REQ_RECEIVING, REQ_HANDLING, REQ_SENDING };

struct http_request {
    struct http_conn *conn;           /* holds a reference */
    struct http_request *prev, *next; /* in conn->requests while attached */
    struct http_request *qnext;       /* in the worker's completion queue, or conn->h2_ready */
    int32_t stream_id;                /* HTTP/2 */
    enum req_phase phase;
    bool deferred;  /* the application owns it (set on defer, cleared by the worker) */
    bool responded; /* written by the current owner */
    bool detached;  /* worker only: connection or stream gone, drop the answer */
    bool head_too_large;
    bool body_too_large;
    bool is_head;    /* HEAD: no body in the answer */
    size_t max_body; /* this request's body limit, known once its head is */
    bool ready;      /* HTTP/2: complete, in conn->h2_ready, its handler not run yet */
    bool reset;      /* HTTP/2: ready, but the client reset the stream: skip the handler */
    /* The connection or stream is gone (set by the worker when it detaches the request); read
     * by the application's thread through http_request_cancelled(). */
    atomic_bool gone;

    const char *method, *path, *query;
    char *target; /* HTTP/2: :path as received, split into path and query at END_HEADERS */
    struct http_header *headers;
    unsigned n_headers, cap_headers;
    size_t header_bytes;
    struct http_buf body;
    const struct route *route;
    struct http_header params[HTTP_MAX_PARAMS];
    unsigned n_params;
    struct http_header *qparams;
    unsigned n_qparams;
    bool query_parsed;
    char id[17];
    char principal[HTTP_PRINCIPAL_MAX]; /* who, as the server's gate named them; "" */
    uint64_t start_us;

    /* the answer */
    int status;
    const char *content_type;
    struct http_header resp_headers[HTTP_MAX_RESPONSE_HEADERS];
    unsigned n_resp_headers;
    const char *resp_body; /* in the arena, or resp_owned (malloc'd) */
    size_t resp_len, resp_sent;
    char *resp_owned;

    struct arena arena;
    char arena_mem[HTTP_REQUEST_ARENA];
};

struct http_request *hreq_new(struct http_conn *c);
/* The connection or stream is gone while the application owns the request: unlink it and
 * drop the answer when it comes (the request keeps its connection reference). */
void hreq_detach(struct http_request *req);
/* Unlinks from the connection, drops its reference, recycles the memory. */
void hreq_free(struct http_request *req);
/* Adds a header field (name already lower case), copied into the arena or, with copy
 * false, referenced (NUL-terminated strings that live as long as the request). Past the
 * count and size limits it sets head_too_large instead of storing. */
int hreq_add_header(struct http_request *req, const char *name, size_t nlen, const char *value,
                    size_t vlen, bool copy);
/* Splits a request target (NUL-terminated, in the request's arena) in place into path and
 * query. IOTSEC_ERR_INVALID unless it is an origin-form target of visible ASCII. */
int hreq_set_target(struct http_request *req, char *target);
/* The request is complete: route it and run its handler (or answer the error). */
void hreq_dispatch(struct http_request *req);
/* Answers an error before dispatch, e.g. 400/413/431 from the protocol layer. */
void hreq_fail(struct http_request *req, int status, const char *detail);
/* Moves the request to a phase, keeping the connection's n_handling right. */
void hreq_set_phase(struct http_request *req, enum req_phase phase);
uint64_t hnow_us(void);

/* response.c: the answer is complete; send it (worker) or queue it to the worker. */
void hresp_finish(struct http_request *req);
/* Worker: hands a complete answer to the protocol and counts it. */
void hresp_submit(struct http_request *req);

/* ---- connections (conn.c) ---- */

enum conn_state {
    CONN_HANDSHAKE, /* TLS handshake */
    CONN_SNIFF,     /* deciding between HTTP/2 preface and HTTP/1.1 */
    CONN_OPEN,      /* a protocol runs */
    CONN_LINGER,    /* half-closed by us, reading and discarding until EOF or timer */
    CONN_DEAD,      /* to be destroyed at the end of the current event */
    CONN_CLOSED,    /* destroyed; the struct lives on while requests hold references */
};

struct conn_proto {
    /* Input bytes; returns IOTSEC_OK or an error (connection then dies). */
    int (*feed)(struct http_conn *c, const uint8_t *data, size_t len);
    /* Moves pending output into c->out; processes buffered input (HTTP/1.1). */
    int (*pull)(struct http_conn *c);
    void (*submit)(struct http_request *req);
    /* The connection may close now: nothing in progress, nothing more to send. */
    bool (*finished)(struct http_conn *c);
    /* Some request is partially received (read timeout applies). */
    bool (*receiving)(struct http_conn *c);
    void (*shutdown)(struct http_conn *c); /* graceful: GOAWAY / close after this answer */
    void (*destroy)(struct http_conn *c);
    enum http_protocol id;
};

extern const struct conn_proto hconn_proto_h2;
extern const struct conn_proto hconn_proto_h1;

struct h1_state {
    struct http_buf in;
    struct http_request *req; /* receiving, being handled, or deferred */
    size_t body_need;         /* Content-Length: bytes still to come; chunked: of this chunk */
    size_t scanned;           /* bytes of `in` known to hold no end of head */
    int chunk_phase;          /* chunked body: see conn_h1.c; 0 when the body has a length */
    bool close_after;         /* answer with Connection: close, then close */
    bool in_body;
};

enum timer_kind { TIMER_NONE, TIMER_READ, TIMER_IDLE, TIMER_LINGER };

struct http_conn {
    struct worker *w;
    const struct listener *l;
    int fd;
    SSL *ssl;
    struct event *ev_read, *ev_write, *ev_timer;
    enum conn_state state;
    enum timer_kind timer_kind;
    unsigned refs;
    unsigned n_handling;   /* attached requests in REQ_HANDLING (with a handler or deferred) */
    bool want_write_event; /* the last write (or handshake step) could not finish */
    bool read_wants_write; /* SSL_read asked for writability */
    bool read_enabled, write_enabled; /* whether ev_read / ev_write are added */
    bool out_paused;                  /* backpressure: too much unsent output */
    bool in_paused;                   /* backpressure: the protocol holds enough unparsed input */
    bool eof;                         /* the peer closed its side */
    bool dirty;                       /* in the worker's list of connections to flush */
    bool progress;                    /* a request completed receiving: restart the read timer */
    size_t rx_since_arm;              /* bytes read since the read timer was last armed */
    bool graceful;                    /* shutdown requested on this connection */
    bool role_refused;                /* the certificate lacks the listener's role: 403s */
    struct http_conn *prev, *next;    /* worker's connection list */
    struct http_conn *dirty_next;
    struct http_request *requests; /* attached requests */
    const struct conn_proto *proto;
    struct http_buf out;
    struct http_buf sniff; /* cleartext bytes seen before the protocol is known */
    void *h2;              /* nghttp2_session */
    unsigned h2_receiving; /* streams whose request is not complete */
    /* Requests completed during one read, dispatched after the whole read was parsed, so that
     * a stream reset in the same read never runs its handler (Rapid Reset). */
    struct http_request *h2_ready, *h2_ready_tail;
    double h2_reset_tokens;  /* stream resets the client may still send (token bucket) */
    uint64_t h2_reset_at_us; /* when the bucket was last refilled */
    bool h2_calm;            /* closed for a reset flood: dispatch nothing more */
    struct h1_state h1;
    struct http_peer peer;
    char peer_cn[256];
    char peer_addr[64];
};

void hconn_accept(struct worker *w, const struct listener *l, int fd, const struct sockaddr *sa,
                  socklen_t salen);
void hconn_ref(struct http_conn *c);
void hconn_unref(struct http_conn *c);
/* Kills the connection at the end of the current event; never frees inside callbacks. */
void hconn_kill(struct http_conn *c);
/* Queues the connection for a flush at the end of the worker's current batch. */
void hconn_mark_dirty(struct http_conn *c);
/* Processes buffered input, produces and writes output, updates events and timers, and
 * destroys the connection if it died. The connection may be freed on return. */
void hconn_service(struct http_conn *c);
/* Graceful: stop taking new requests and close once the current ones are answered. */
void hconn_shutdown(struct http_conn *c);
/* Immediate close (the shutdown deadline passed). */
void hconn_destroy(struct http_conn *c);

/* conn_h1.c: what a request head says beyond method, target and fields. */
struct h1_head {
    unsigned long long content_length;
    bool has_length;
    bool chunked; /* Transfer-Encoding: chunked */
    bool expect_continue;
    bool close;
    bool http10;
    unsigned hosts;
    int error;          /* a status to answer, or 0 */
    const char *detail; /* with it */
};
/* Parses a complete request head (head_len bytes ending with CRLF CRLF, no bare LF: the
 * connection checks both) into req's method, target and header fields (copied into its arena)
 * and *hi; hi->error is the 4xx to answer. max_body: the largest body any route takes (the
 * connection then holds the request to its route's own limit). Pure but for req: the fuzz
 * harness calls it. */
void hconn_h1_parse_head(struct http_request *req, const char *head, size_t head_len,
                         size_t max_body, struct h1_head *hi);

/* conn_h2.c / conn_h1.c: switch a connection to the protocol (after sniff or ALPN). */
int hconn_h2_start(struct http_conn *c);
int hconn_h1_start(struct http_conn *c);

/* ---- change_log.c: http_server_config.log_changes ---- */
void hchange_log(struct http_request *req);

/* ---- tls.c, tls_reload.c ---- */
struct listener;
void htls_retired_free(struct listener *l);

int htls_ctx_new(const struct http_listener_config *lc, SSL_CTX **out, struct http_server *srv);
/* Fills c->peer from the handshake's result. */
void htls_peer_identity(struct http_conn *c);
/* The protocol chosen by ALPN: 2 (h2), 1 (http/1.1), 0 (none). */
int htls_alpn_protocol(SSL *ssl);

/* ---- workers (worker.c) and server (server.c) ---- */

/* One listening socket per listener, shared by every worker of this server: no
 * SO_REUSEPORT, so no other process can join it (a second bind fails: address in use). */
struct listener {
    char *bind;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool tls;
    bool any_client_cert;   /* client_cert_any: the application judges the chain */
    http_peer_role_fn role; /* client_cert_role */
    void *role_user;
    SSL_CTX *_Atomic ssl_ctx;    /* replaced by http_server_reload_tls */
    struct retired_ctx *retired; /* contexts replaced, freed with the server */
    _Atomic uint16_t port;
    int fd; /* -1 until start; closed by the last worker to drain, or at free */
};

struct accept_arg {
    struct worker *w;
    unsigned listener;
};

/* A connection accepted by one worker for another (see on_accept in worker.c). */
struct handoff {
    struct handoff *next;
    int fd;
    unsigned listener;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

struct worker {
    struct http_server *srv;
    unsigned index;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    int wake_fd; /* eventfd: completions and the stop trigger */
    struct event *ev_wake;
    struct event *ev_accept[HTTP_MAX_LISTENERS]; /* on the server's shared listening fds */
    struct accept_arg accept_args[HTTP_MAX_LISTENERS];
    struct event *ev_accept_pause; /* after EMFILE: retry accepting later */
    struct event *ev_deadline;     /* end of graceful shutdown */
    bool draining;

    pthread_mutex_t q_lock; /* guards q_head, q_tail */
    struct http_request *q_head, *q_tail;

    struct http_conn *conns;
    atomic_uint n_conns;            /* written by this worker; read by others to balance */
    atomic_uint n_handoffs;         /* connections handed to this worker, not yet taken */
    struct handoff *handoffs;       /* guarded by q_lock */
    struct http_conn *dirty;        /* connections to flush after a batch */
    struct http_request *free_reqs; /* recycled request structs */
    unsigned n_free_reqs;
    uint64_t id_seed, id_next;
    struct metrics *metrics;
    uint8_t rbuf[HTTP_READ_CHUNK];
};

struct http_server {
    struct http_server_config cfg;
    struct listener listeners[HTTP_MAX_LISTENERS];
    unsigned n_listeners;
    struct router router;
    http_gate_fn gate; /* NULL: none */
    void *gate_user;
    struct worker *workers;
    unsigned n_workers;
    bool started, joined;
    atomic_bool stopping;
    atomic_uint n_drained; /* workers that stopped accepting; the last closes the listeners */
    atomic_uint n_conns;
    atomic_uint_fast64_t conns_rejected;
};

int hworker_init(struct worker *w, struct http_server *srv, unsigned index);
int hworker_watch_listeners(struct worker *w); /* accept events on the listening sockets */
void *hworker_main(void *arg);
void hworker_wake(struct worker *w); /* async-signal-safe */
/* Any thread: queue an answered deferred request to its worker. */
void hworker_post(struct worker *w, struct http_request *req);
void hworker_free(struct worker *w);
void hworker_conn_closed(struct worker *w);
void hworker_next_id(struct worker *w, char out[17]);

/* server.c: binds every listener (IOTSEC_ERR_ADDRINUSE when another socket holds one). */
int hserver_open_listeners(struct http_server *srv);
void hserver_close_listeners(struct http_server *srv);

void hlog(const struct http_server *srv, enum http_log_level lvl, const char *req_id,
          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* problem.c */
void hproblem_respond(struct http_request *req, int status, const char *detail);

#endif
