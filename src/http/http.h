/* The HTTP server every face of the daemon uses: HTTP/2 (nghttp2) over TLS 1.3 with ALPN or
 * over cleartext with prior knowledge, and HTTP/1.1 (own strict parser) on the same ports.
 *
 * Threads. A server runs N worker threads, each with its own libevent loop; they share one
 * listening socket per listener (no SO_REUSEPORT: no other process can join it), and the
 * worker that accepts a connection hands it to the worker holding the fewest.
 * Handlers run on the worker's loop and must never block it. A handler either answers at
 * once (http_respond*) or calls http_request_defer() and returns; the request is then owned
 * by the application, which answers later from any thread with the same http_respond*
 * functions. The answer travels back to the request's own loop and is sent there, or
 * dropped quietly if the client went away meanwhile.
 *
 * Lifecycle: http_server_new -> http_server_listen (one or more) -> http_server_route (any
 * number) -> http_server_start -> ... -> http_server_stop -> http_server_free. Configuration
 * calls are made before start, from one thread. Worker threads block every signal, so a
 * SIGPIPE on a dead peer stays pending on the worker and never kills the process.
 *
 * Errors: functions returning int return IOTSEC_OK or a negative code from base/err.h. */
#ifndef IOTSEC_HTTP_HTTP_H
#define IOTSEC_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct x509_st; /* OpenSSL's X509 */
struct stack_st_X509; /* OpenSSL's STACK_OF(X509) */
struct http_server;
struct http_request;

/* ---- configuration ---- */

enum http_log_level { HTTP_LOG_ERROR, HTTP_LOG_WARNING, HTTP_LOG_INFO, HTTP_LOG_DEBUG };

/* Called from worker threads (concurrently) and from the configuring thread. request_id is
 * NULL outside a request. msg is a short English phrase with no secrets and no bodies; it is
 * valid during the call only. */
typedef void (*http_log_fn)(void *user, enum http_log_level level, const char *request_id,
                            const char *msg);

/* Zero means "the default" for every field. */
struct http_server_config {
    unsigned workers;                /* worker threads; default: number of online CPUs */
    unsigned max_connections;        /* whole server; past it new ones are closed; 10000 */
    unsigned max_concurrent_streams; /* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; 128 */
    unsigned max_headers;            /* request header fields; past it 431; 64 */
    size_t max_header_bytes;         /* request head (HTTP/2: header list size); 16 KiB */
    size_t max_body_bytes;           /* request body; past it 413; 1 MiB */
    unsigned read_timeout_ms;        /* TLS handshake, and each request head+body; 10 s */
    unsigned idle_timeout_ms;        /* connection with no request in progress; 60 s */
    unsigned shutdown_timeout_ms;    /* in-flight requests get this long at stop; 10 s */
    http_log_fn log;                 /* NULL: silent */
    void *log_user;
};

enum http_tls_version { HTTP_TLS_1_3 = 0, HTTP_TLS_1_2 = 1 };

struct http_peer;
/* Whether a client certificate has the role a listener serves (an NF on the SBI face), past
 * the chain's verification. Called once per connection after the handshake, on the worker. */
typedef bool (*http_peer_role_fn)(const struct http_peer *peer, void *user);

struct http_listener_config {
    const char *bind;          /* "127.0.0.1:8443", "[::1]:0", "0.0.0.0:80"; port 0 = any free */
    bool tls;                  /* false: cleartext h2c (prior knowledge) and HTTP/1.1, sniffed */
    const char *cert_file;     /* PEM server certificate chain (TLS) */
    const char *key_file;      /* PEM private key (TLS) */
    const char *ca_file;       /* PEM CA(s) for client certificates; NULL: none are requested */
    bool client_cert_required; /* mutual TLS: handshake fails without a valid one */
    /* Request a client certificate and accept any (self-signed, any CA): TLS still proves
     * possession of its key, and the application decides whom it trusts, by pinning the
     * fingerprint (an AF's registered certificate) or by verifying the chain against its own,
     * changing, set of CAs (manufacturers). ca_file is then not needed. */
    bool client_cert_any;
    enum http_tls_version min_tls; /* lowest version accepted; TLS 1.3 by default */
    /* Clients connect once and never resume (a device onboarding): no TLS 1.3 session
     * tickets, no session cache. Each ticket costs OpenSSL 3.0 a full re-parse of the client
     * certificate (it serialises the session and parses it back), so the two it sends by
     * default add a third of the server's handshake cost, for nothing. */
    bool no_resumption;
    /* Non-NULL: every request on a connection whose certificate this refuses is answered
     * 403 ProblemDetails, cause CERTIFICATE_ROLE (the handshake succeeds, so that the client
     * learns why). For a certificate the CA vouches for but issued for another purpose. */
    http_peer_role_fn client_cert_role;
    void *client_cert_role_user;
};

/* Returns a new server, or NULL (invalid config, no memory). cfg may be NULL (defaults);
 * it is copied. */
struct http_server *http_server_new(const struct http_server_config *cfg);

/* Adds a listener; strings are copied and files are read now. Returns the listener's index
 * (>= 0), IOTSEC_ERR_INVALID (bad address, unreadable or mismatched cert/key/CA),
 * IOTSEC_ERR_CRYPTO or IOTSEC_ERR_STATE (after start). */
int http_server_listen(struct http_server *srv, const struct http_listener_config *lc);

typedef void (*http_handler_fn)(struct http_request *req, void *user);

/* Routes method ("GET", "POST", ...) and pattern to handler. A pattern is an absolute path
 * whose segments are literals or "{name}" (one whole, non-empty segment, bound by name):
 * "/nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data". At match time a
 * literal segment is preferred to a parameter. The pattern is the route's name in metrics.
 * user is passed to the handler untouched. Returns IOTSEC_ERR_INVALID for a malformed
 * pattern or method, IOTSEC_ERR_CONFLICT for a duplicate (method, pattern). */
int http_server_route(struct http_server *srv, const char *method, const char *pattern,
                      http_handler_fn handler, void *user);

/* Gives the route (method, pattern), registered already, its own request body limit instead
 * of the server's max_body_bytes (a bulk import on a face whose other routes take small
 * bodies). IOTSEC_ERR_NOTFOUND when no such route. */
int http_server_route_body_limit(struct http_server *srv, const char *method,
                                 const char *pattern, size_t max_body);

/* A gate runs on the worker after a request is routed and before its handler: it returns
 * true to let the handler run, or answers the request itself (e.g. 401) and returns false.
 * One per server, set before start (IOTSEC_ERR_STATE after). It sees the route
 * (http_request_route) and the peer; the SBI face checks NRF-issued access tokens with it. */
typedef bool (*http_gate_fn)(struct http_request *req, void *user);
int http_server_set_gate(struct http_server *srv, http_gate_fn gate, void *user);

/* Copies onto dst every route of src whose pattern starts with prefix (same handler, user
 * and body limit), registered on src so far: a second face serving the very same handlers
 * (the console serves the admin API to a browser session), with its own listener and gate.
 * Returns IOTSEC_ERR_CONFLICT when dst already has one of them, IOTSEC_ERR_STATE after
 * dst's start. */
int http_server_route_copy(struct http_server *dst, const struct http_server *src,
                           const char *prefix);

/* Binds every listener once and starts the threads. Returns IOTSEC_ERR_ADDRINUSE when another
 * socket (this process's or another's) listens on a listener's address, IOTSEC_ERR_IO when a
 * socket cannot be bound otherwise; the server is then stopped and can only be freed. */
int http_server_start(struct http_server *srv);

/* The port a listener is bound to (useful with port 0); 0 before start. */
uint16_t http_server_port(const struct http_server *srv, int listener);

/* Asks the workers to stop: they stop accepting (the last one closes the listening sockets),
 * send HTTP/2 GOAWAY, let requests in progress finish for up to shutdown_timeout_ms, then
 * close every connection. Returns at once. Async-signal-safe: an atomic store and a write(2) per worker. */
void http_server_trigger_stop(struct http_server *srv);

/* Triggers the stop (if not yet) and waits for every worker to finish. Idempotent. Call from
 * one thread, not from a handler. */
void http_server_stop(struct http_server *srv);

/* Frees the server (stopping it first). Every deferred request must have been answered
 * before this call: answers that arrive after it would touch freed memory. */
void http_server_free(struct http_server *srv);

/* Prometheus text exposition of the server's counters: requests by route, method and
 * status, a latency histogram per route, connections. Callable from any thread once
 * http_server_start has returned (before that, from the configuring thread). Returns a
 * malloc'd NUL-terminated string (the caller frees it) and its length in *len (len may be
 * NULL), or NULL when out of memory. */
char *http_server_metrics(struct http_server *srv, size_t *len);

/* ---- requests ----
 * Every pointer returned by an accessor is owned by the request and stays valid until the
 * request is answered. The accessors may be used by the thread that currently owns the
 * request: the worker during the handler, then, after http_request_defer(), the one thread
 * the application hands the request to. Two threads never use one request at a time. */

enum http_protocol { HTTP_PROTO_1_1, HTTP_PROTO_2 };

const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);  /* raw, without query */
const char *http_request_query(const struct http_request *req); /* raw, without '?'; "" */
/* "X-Foo" matches "x-foo". The first field of that name, or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Header fields by position: index < count; names are lower case. */
unsigned http_request_header_count(const struct http_request *req);
void http_request_header_at(const struct http_request *req, unsigned index, const char **name,
                            const char **value);
/* A path parameter of the route by name, percent-decoded; NULL if the route has none. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A query parameter, percent-decoded ('+' is a space); NULL if absent or malformed. The
 * query is parsed on first use, which allocates within the request (hence non-const). */
const char *http_request_query_param(struct http_request *req, const char *name);
/* The body; *len gets its length. Never NULL (an empty body is ""). */
const void *http_request_body(const struct http_request *req, size_t *len);
/* 16 hex digits, unique per worker, also sent back as X-Request-Id. */
const char *http_request_id(const struct http_request *req);
/* The route's pattern ("" before routing). */
const char *http_request_route(const struct http_request *req);
enum http_protocol http_request_protocol(const struct http_request *req);
/* Who made the request, as the server's gate authenticated them (an operator account's
 * name, "admin" for the instance's admin certificate): the name audits record. NULL when no
 * gate named anyone. Set by the gate only (before the handler), at most
 * HTTP_PRINCIPAL_MAX - 1 bytes (longer names are refused: IOTSEC_ERR_INVALID). */
#define HTTP_PRINCIPAL_MAX 64
const char *http_request_principal(const struct http_request *req);
int http_request_set_principal(struct http_request *req, const char *name);
/* The worker that runs the request, 0..workers-1, and its loop (for timers: a handler may
 * schedule work on its own loop and answer later without blocking it). */
unsigned http_request_worker(const struct http_request *req);
struct event_base *http_request_event_base(const struct http_request *req);

/* Whether the client is gone: its connection closed or its HTTP/2 stream was reset. Any
 * answer would be dropped, so the owner of a deferred request checks this before costly
 * work (cryptography, database writes it can skip) and then answers at once (the answer is
 * dropped, the request freed). Callable by the request's current owner, from any thread;
 * a cheap atomic read. False inside the handler (a stream reset before the handler ran
 * skips the handler altogether). */
bool http_request_cancelled(const struct http_request *req);

/* Who is on the other end. Owned by the connection; valid while the request lives. */
struct http_peer {
    bool tls;                 /* the connection is TLS */
    bool has_cert;            /* a client certificate was presented, its key possession proven */
    bool cert_verified;       /* ... and it chains to the listener's ca_file (false when the
                               * listener is client_cert_any: the application verifies) */
    struct x509_st *cert;     /* that certificate (borrowed), or NULL */
    struct stack_st_X509 *chain; /* the intermediates the client sent (borrowed), or NULL */
    uint8_t cert_sha256[32];  /* SHA-256 of its DER encoding */
    char cert_sha256_hex[65]; /* the same in lower-case hex */
    const char *subject_cn;   /* its subject CN in UTF-8, or NULL */
    const char *address;      /* "192.0.2.1:5000" or "[2001:db8::1]:5000" */
};
const struct http_peer *http_request_peer(const struct http_request *req);
/* Whether the peer's certificate carries a subjectAltName URI that starts with prefix
 * ("urn:uuid:"). False without a certificate. */
bool http_peer_has_san_uri(const struct http_peer *peer, const char *prefix);

/* ---- answers ----
 * Exactly one http_respond* call answers a request; later calls return IOTSEC_ERR_STATE.
 * They are called by the request's current owner (see above). A handler that returns
 * without answering and without deferring gets a 500 sent for it. */

/* Marks the request as answered later. Call only inside the handler, on the worker; from
 * then on the request belongs to the application until it answers, from any thread. The
 * application must answer every deferred request exactly once, even after a stop. */
int http_request_defer(struct http_request *req);

/* Adds a response header before the answer. name is a token (case folded), value has no
 * control characters; both are copied. Content-Length, Content-Type, X-Request-Id and
 * connection-specific fields are set by the server and refused (IOTSEC_ERR_INVALID). At
 * most 32 headers (IOTSEC_ERR_BUSY). */
int http_response_header(struct http_request *req, const char *name, const char *value);

/* Answers with status (200..599), an optional content type and a body that is copied
 * (body may be NULL when len is 0). */
int http_respond(struct http_request *req, int status, const char *content_type, const void *body,
                 size_t len);

/* Answers with body serialised compactly as application/json. Steals the reference to body,
 * also on error. */
int http_respond_json(struct http_request *req, int status, json_t *body);

/* The same with another JSON media type ("application/3gppHal+json"). */
int http_respond_json_as(struct http_request *req, int status, const char *content_type,
                         json_t *body);

/* One entry of a ProblemDetails invalidParams array (TS 29.571 InvalidParam). */
struct http_invalid_param {
    const char *param;  /* JSON pointer or name of the offending attribute */
    const char *reason; /* may be NULL */
};

/* Answers with an RFC 7807 / TS 29.571 ProblemDetails as application/problem+json:
 * {"title", "status", "detail", "cause", "invalidParams": [{"param", "reason"}]}.
 * title NULL: the status's reason phrase; detail, cause NULL: omitted; n_invalid 0:
 * no invalidParams. Strings are copied. */
int http_respond_problem(struct http_request *req, int status, const char *title,
                         const char *detail, const char *cause,
                         const struct http_invalid_param *invalid, size_t n_invalid);

/* Answers with a ProblemDetails object the caller built (e.g. with http_problem_new and
 * extra members such as "type" or "instance"); its "status" member is the HTTP status.
 * Steals the reference. */
int http_respond_problem_json(struct http_request *req, json_t *problem);

/* Builds a ProblemDetails object as http_respond_problem would send it; NULL on no memory. */
json_t *http_problem_new(int status, const char *title, const char *detail, const char *cause,
                         const struct http_invalid_param *invalid, size_t n_invalid);


/* ---- request bodies and errors: one behaviour on every face ----
 * Handlers of every face read JSON bodies and answer errors of the layers below only through
 * these, so that a bad body gets the same answer everywhere. */

/* Whether the Content-Type's type/subtype (parameters ignored, any case) is media_type;
 * "application/json" also matches any "application/...+json". */
bool http_request_media_type_is(const struct http_request *req, const char *media_type);

/* Answers 415 UNSUPPORTED_MEDIA_TYPE (with Accept-Post: accepted) for a body of a media
 * type the route does not take. */
int http_respond_unsupported_media(struct http_request *req, const char *accepted);

/* The body as a JSON object (duplicate members refused), or NULL after answering: 415 when
 * the Content-Type is not JSON, 400 INVALID_MSG_FORMAT when the body is not JSON or not an
 * object. Bodies over the face's limit were answered 413 before the handler. The caller owns
 * the result. */
json_t *http_request_json(struct http_request *req);

/* The same for a body that may be any JSON value (a JSON Patch array). */
json_t *http_request_json_value(struct http_request *req);

/* A ProblemDetails with one invalidParams entry: pointer is the attribute as a JSON Pointer
 * (RFC 6901, "/supiOrSuci", "/resynchronizationInfo/auts"), or a header's or query
 * parameter's name (TS 29.571 InvalidParam). reason is also the detail. */
int http_respond_invalid(struct http_request *req, int status, const char *cause,
                         const char *pointer, const char *reason);

/* 503 with cause and Retry-After (seconds; 0 means 1): overload of any kind. */
int http_respond_unavailable(struct http_request *req, const char *cause, const char *detail,
                             unsigned retry_after_s);

/* The answer to an error code of a lower layer (base/err.h): INVALID 400
 * MANDATORY_IE_INCORRECT, NOTFOUND 404, CONFLICT/STATE 409, BUSY/NOMEM 503 NF_CONGESTION +
 * Retry-After 1, FULL (a full disk) 503 INSUFFICIENT_RESOURCES + Retry-After 30, anything
 * else 500 SYSTEM_FAILURE. detail (may be NULL) names what failed; it never holds data. */
int http_respond_error(struct http_request *req, int rc, const char *detail);

/* The standard reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_status_reason(int status);

#endif
