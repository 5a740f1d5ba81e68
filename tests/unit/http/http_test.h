/* Shared by the HTTP server tests: certificates made at run time, a curl wrapper, raw
 * sockets for what curl will not send, and a server started on 127.0.0.1 port 0. */
#ifndef IOTSEC_TESTS_HTTP_TEST_H
#define IOTSEC_TESTS_HTTP_TEST_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

/* PEM files in a fresh temporary directory: a CA, a server certificate for 127.0.0.1 and
 * localhost, a client certificate from the CA (SAN URI urn:uuid:..., as an NF's), and a
 * client certificate from another CA. */
struct test_certs {
    char dir[64];
    char ca[128], server_cert[128], server_key[128];
    char client_cert[128], client_key[128];
    char rogue_cert[128], rogue_key[128];
};
void certs_make(struct test_certs *tc);
void certs_remove(struct test_certs *tc);

/* One request with curl's easy API. */
struct fetch {
    /* in */
    const char *url;
    const char *method; /* NULL: GET, or POST when body is set */
    const char *body;
    size_t body_len;        /* 0: strlen(body) */
    long version;           /* CURL_HTTP_VERSION_*; 0: 2TLS */
    const char *cert, *key; /* client certificate */
    const char *ca;         /* to verify the server */
    const char *header;     /* one extra request header line, or NULL */
    long timeout_ms;        /* 0: 5000 */
    /* out */
    CURLcode rc;
    long status;
    long http_version; /* CURL_HTTP_VERSION_1_1 / _2_0 */
    char content_type[128];
    char request_id[64];
    char allow[128];
    char retry_after[16];
    char *data; /* body, NUL-terminated, malloc'd */
    size_t len;
};
void fetch_run(struct fetch *f);
void fetch_done(struct fetch *f);
/* The answer's body as JSON (asserts that it parses). */
struct json_t;
struct json_t *fetch_json(const struct fetch *f);

/* Sends raw bytes on a new TCP connection to 127.0.0.1:port, then reads until the peer
 * closes or timeout_ms pass. Returns the bytes read (NUL-terminated, malloc'd). */
char *raw_exchange(unsigned port, const char *send, size_t len, int timeout_ms, size_t *out_len);
/* The same, but half-closes after sending: the server sees EOF at once. */
char *raw_exchange_eof(unsigned port, const char *send, size_t len, int timeout_ms);
/* Connects to 127.0.0.1:port; returns the fd. */
int raw_connect(unsigned port);
/* Reads until the peer closes or timeout_ms pass; returns malloc'd bytes. */
char *raw_read_all(int fd, int timeout_ms, size_t *out_len);

/* A bare HTTP/2 client over cleartext (nghttp2), for what curl does not do on demand:
 * resetting a stream, or many streams at once. Streams are numbered 1, 3, 5, ... */
#define H2C_MAX_STREAMS 4096
struct h2c_stream {
    int status;
    bool closed;
    unsigned error;
};
struct h2c {
    int fd;
    void *session; /* nghttp2_session */
    bool dead;     /* the server closed the connection (or sent GOAWAY) */
    bool goaway;
    unsigned goaway_error;  /* the GOAWAY's error code */
    int goaway_last_stream; /* and its last stream id */
    struct h2c_stream streams[H2C_MAX_STREAMS];
};
void h2c_open(struct h2c *h, unsigned port);
int h2c_get(struct h2c *h, const char *path); /* returns the stream id */
void h2c_reset(struct h2c *h, int stream_id);
/* Rapid Reset: n GET requests, each followed at once by its RST_STREAM, all written in one
 * send (as an attacker pipelines them). Returns the first stream id. */
int h2c_get_reset_burst(struct h2c *h, const char *path, int n);
/* Sends what is queued and reads for up to timeout_ms or until stream_id closed (0: any
 * time out). */
void h2c_pump(struct h2c *h, int stream_id, int timeout_ms);
void h2c_close(struct h2c *h);
struct h2c_stream *h2c_stream(struct h2c *h, int stream_id);

/* A log callback that keeps tests quiet unless HTTP_TEST_LOG is set. */
void test_log(void *user, enum http_log_level level, const char *request_id, const char *msg);

/* "https://127.0.0.1:port" + path, into a static rotating buffer. */
const char *url_of(const char *scheme, unsigned port, const char *path);

#endif
