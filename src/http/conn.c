/* A connection: socket or TLS I/O, the choice of protocol, backpressure, timers and the
 * close sequence. The protocols (conn_h2.c, conn_h1.c) see only bytes in and bytes out.
 *
 * Own SSL handling rather than bufferevent_openssl: input goes from one per-worker buffer
 * straight into nghttp2 or the HTTP/1.1 parser, and all output of an event leaves in one
 * SSL_write/send, so a burst of multiplexed answers becomes a few large TLS records.
 *
 * Nothing here frees a connection inside a callback: hconn_kill() marks it dead and the
 * top-level event handler destroys it on its way out. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "http/http_int.h"

enum { IO_AGAIN = -1, IO_ERROR = -2 };

#define READS_PER_EVENT 64 /* then yield to other connections */
#define SERVICE_ROUNDS  16 /* output rounds of HTTP_OUT_HIGH_WATER bytes, then yield too */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

/* ---- life ---- */

static void format_address(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void arm_timer(struct http_conn *c, enum timer_kind kind, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    c->timer_kind = kind;
    event_add(c->ev_timer, &tv);
}

void hconn_accept(struct worker *w, const struct listener *l, int fd, const struct sockaddr *sa,
                  socklen_t salen)
{
    struct http_server *srv = w->srv;
    (void)salen;
    if (atomic_fetch_add(&srv->n_conns, 1) >= srv->cfg.max_connections || w->draining) {
        atomic_fetch_sub(&srv->n_conns, 1);
        atomic_fetch_add(&srv->conns_rejected, 1);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct http_conn *c = calloc(1, sizeof(*c));
    if (c) {
        c->w = w;
        c->l = l;
        c->fd = fd;
        c->refs = 1;
        c->ev_read = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
        c->ev_write = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        c->ev_timer = evtimer_new(w->base, on_timer, c);
        c->ssl = l->tls ? SSL_new(l->ssl_ctx) : NULL;
    }
    if (!c || !c->ev_read || !c->ev_write || !c->ev_timer || (l->tls && !c->ssl) ||
        (c->ssl && SSL_set_fd(c->ssl, fd) != 1)) {
        hlog(srv, HTTP_LOG_ERROR, NULL, "out of memory accepting a connection");
        if (c) {
            if (c->ev_read)
                event_free(c->ev_read);
            if (c->ev_write)
                event_free(c->ev_write);
            if (c->ev_timer)
                event_free(c->ev_timer);
            SSL_free(c->ssl);
            free(c);
        }
        close(fd);
        atomic_fetch_sub(&srv->n_conns, 1);
        return;
    }
    format_address(sa, c->peer_addr, sizeof(c->peer_addr));
    c->peer.address = c->peer_addr;
    c->peer.tls = l->tls;
    if (c->ssl)
        SSL_set_accept_state(c->ssl);
    c->state = l->tls ? CONN_HANDSHAKE : CONN_SNIFF;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    hmetrics_count_conn(w->metrics, METRIC_CONN_ACCEPTED);
    event_add(c->ev_read, NULL);
    c->read_enabled = true;
    arm_timer(c, TIMER_READ, srv->cfg.read_timeout_ms);
}

void hconn_ref(struct http_conn *c)
{
    c->refs++;
}

void hconn_unref(struct http_conn *c)
{
    if (--c->refs > 0)
        return;
    X509_free(c->peer.cert);
    free(c);
}

void hconn_kill(struct http_conn *c)
{
    if (c->state != CONN_CLOSED)
        c->state = CONN_DEAD;
}

void hconn_destroy(struct http_conn *c)
{
    struct worker *w = c->w;
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    if (c->proto)
        c->proto->destroy(c);
    while (c->requests) {
        struct http_request *req = c->requests;
        if (req->deferred)
            hreq_detach(req);
        else
            hreq_free(req);
    }
    event_free(c->ev_read);
    event_free(c->ev_write);
    event_free(c->ev_timer);
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    hbuf_free(&c->out);
    hbuf_free(&c->sniff);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->n_conns--;
    atomic_fetch_sub(&w->srv->n_conns, 1);
    hconn_unref(c);
    hworker_conn_closed(w);
}

void hconn_mark_dirty(struct http_conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->dirty_next = c->w->dirty;
        c->w->dirty = c;
    }
}

/* ---- raw I/O: returns bytes, 0 at EOF, IO_AGAIN or IO_ERROR ---- */

static long io_read(struct http_conn *c, void *buf, size_t cap)
{
    if (!c->ssl) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n >= 0)
            return (long)n;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IO_AGAIN : IO_ERROR;
    }
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, (int)cap);
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return IO_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->read_wants_write = true;
        return IO_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        return IO_ERROR;
    }
}

static long io_write(struct http_conn *c, const void *buf, size_t len)
{
    if (len > INT32_MAX)
        len = INT32_MAX;
    if (!c->ssl) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? IO_AGAIN : IO_ERROR;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, buf, (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return IO_AGAIN; /* WANT_READ: our read event retries the flush */
    ERR_clear_error();
    return IO_ERROR;
}

static int flush(struct http_conn *c)
{
    c->want_write_event = false;
    while (hbuf_size(&c->out)) {
        long n = io_write(c, hbuf_begin(&c->out), hbuf_size(&c->out));
        if (n > 0) {
            hbuf_consume(&c->out, (size_t)n);
        } else if (n == IO_AGAIN) {
            c->want_write_event = true;
            return IOTSEC_OK;
        } else {
            return IOTSEC_ERR_IO;
        }
    }
    return IOTSEC_OK;
}

/* ---- choosing the protocol ---- */

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

/* Cleartext, or TLS without ALPN: an HTTP/2 client starts with the preface. */
static int sniff(struct http_conn *c, const uint8_t *data, size_t len)
{
    if (hbuf_append(&c->sniff, data, len) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    size_t have = hbuf_size(&c->sniff);
    bool h2 = memcmp(hbuf_begin(&c->sniff), h2_preface,
                     have < H2_PREFACE_LEN ? have : H2_PREFACE_LEN) == 0;
    if (h2 && have < H2_PREFACE_LEN)
        return IOTSEC_OK;
    int rc = h2 ? hconn_h2_start(c) : hconn_h1_start(c);
    if (rc != IOTSEC_OK)
        return rc;
    struct http_buf seen = c->sniff;
    memset(&c->sniff, 0, sizeof(c->sniff));
    rc = c->proto->feed(c, (const uint8_t *)hbuf_begin(&seen), hbuf_size(&seen));
    hbuf_free(&seen);
    return rc;
}

static void handshake(struct http_conn *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->want_write_event = false;
        htls_peer_identity(c);
        int alpn = htls_alpn_protocol(c->ssl);
        int rc = alpn == 2 ? hconn_h2_start(c) : alpn == 1 ? hconn_h1_start(c) : IOTSEC_OK;
        if (rc != IOTSEC_OK)
            hconn_kill(c);
        else if (alpn == 0)
            c->state = CONN_SNIFF;
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write_event = e == SSL_ERROR_WANT_WRITE;
        return;
    }
    char reason[160];
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
    ERR_clear_error();
    hmetrics_count_conn(c->w->metrics, METRIC_CONN_TLS_FAILED);
    hlog(c->w->srv, HTTP_LOG_INFO, NULL, "tls handshake with %s on port %u failed: %s",
         c->peer_addr, (unsigned)atomic_load(&c->l->port), reason);
    hconn_kill(c);
}

/* ---- input ---- */

static void on_eof(struct http_conn *c)
{
    c->eof = true;
    /* An HTTP/1.1 client may half-close after its request and still read the answer. */
    if (!c->proto || c->proto->id == HTTP_PROTO_2 || c->proto->receiving(c))
        hconn_kill(c);
}

static void read_input(struct http_conn *c)
{
    uint8_t *buf = c->w->rbuf;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        if (c->in_paused || c->out_paused || c->eof ||
            (c->state != CONN_SNIFF && c->state != CONN_OPEN))
            return;
        long n = io_read(c, buf, HTTP_READ_CHUNK);
        if (n == IO_AGAIN)
            return;
        if (n == 0) {
            on_eof(c);
            return;
        }
        if (n < 0) {
            hconn_kill(c);
            return;
        }
        /* A long upload (a bulk import of millions of rows) moving at a useful rate keeps
         * its read deadline moving; a trickle (slowloris) does not. */
        c->rx_since_arm += (size_t)n;
        if (c->rx_since_arm >= HTTP_PROGRESS_BYTES)
            c->progress = true;
        int rc =
            c->state == CONN_SNIFF ? sniff(c, buf, (size_t)n) : c->proto->feed(c, buf, (size_t)n);
        if (rc != IOTSEC_OK) {
            hconn_kill(c);
            return;
        }
        /* Drained: skip the read that would only say EAGAIN. If the socket holds more, the
         * loop's level-triggered readiness brings us back; TLS must not hold any. */
        if (c->ssl ? !SSL_has_pending(c->ssl) : (size_t)n < HTTP_READ_CHUNK)
            return;
    }
    event_active(c->ev_read, EV_READ, 0); /* more may be buffered: come back after others */
}

/* After our last byte: half-close and read until the client closes too, so that its
 * unread data cannot make our kernel reset the connection over the final answer. */
static void begin_linger(struct http_conn *c)
{
    if (c->eof) { /* the client has closed already */
        hconn_kill(c);
        return;
    }
    if (c->ssl) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    c->in_paused = c->out_paused = false;
    arm_timer(c, TIMER_LINGER, HTTP_LINGER_MS);
}

static void linger_read(struct http_conn *c)
{
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = recv(c->fd, c->w->rbuf, HTTP_READ_CHUNK, 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        hconn_kill(c);
        return;
    }
}

/* ---- the service routine ---- */

static void update_events(struct http_conn *c)
{
    bool want_write = c->want_write_event || c->read_wants_write;
    if (want_write != c->write_enabled) {
        if (want_write)
            event_add(c->ev_write, NULL);
        else
            event_del(c->ev_write);
        c->write_enabled = want_write;
    }
    bool want_read = !c->in_paused && !c->out_paused && !c->eof;
    if (want_read != c->read_enabled) {
        if (want_read) {
            event_add(c->ev_read, NULL);
            /* TLS may hold decrypted bytes the socket will never signal again. */
            event_active(c->ev_read, EV_READ, 0);
        } else {
            event_del(c->ev_read);
        }
        c->read_enabled = want_read;
    }
}

static void update_timer(struct http_conn *c)
{
    const struct http_server_config *cfg = &c->w->srv->cfg;
    if (c->state != CONN_OPEN)
        return; /* handshake, sniff and linger keep the deadline set when they began */
    if (c->proto->receiving(c) && !c->out_paused) {
        /* Armed when a request starts; only completing one restarts it (slowloris). While
         * our output is full we do not read, so the time is not the client's: the idle
         * timer below watches the answer move instead, and reading resumes on a fresh
         * read deadline. */
        if (c->timer_kind != TIMER_READ || c->progress) {
            arm_timer(c, TIMER_READ, cfg->read_timeout_ms);
            c->rx_since_arm = 0;
        }
    } else if (c->n_handling && hbuf_size(&c->out) == 0) {
        /* Handlers or the application are working: their deadline is theirs. A peer that
         * stops reading answers (or granting HTTP/2 window) meets the idle timer. */
        if (c->timer_kind != TIMER_NONE) {
            event_del(c->ev_timer);
            c->timer_kind = TIMER_NONE;
        }
    } else {
        arm_timer(c, TIMER_IDLE, cfg->idle_timeout_ms);
    }
    c->progress = false;
}

void hconn_service(struct http_conn *c)
{
    /* Whether the protocol may hold more output than the rounds let out: the socket took
     * everything, so no write event will come, and a client with a wide HTTP/2 window (curl
     * grants 32 MB) has nothing to say either. */
    bool more = false;
    for (int round = 0; c->state == CONN_OPEN; round++) {
        if (round == SERVICE_ROUNDS) {
            more = true;
            break;
        }
        size_t before = hbuf_size(&c->out);
        if (c->proto->pull(c) != IOTSEC_OK) {
            hconn_kill(c);
            break;
        }
        bool produced = hbuf_size(&c->out) > before;
        if (flush(c) != IOTSEC_OK) {
            hconn_kill(c);
            break;
        }
        /* Output stopped at the high-water mark may have more behind it. */
        if (!produced || c->want_write_event)
            break;
    }
    if (c->state == CONN_OPEN) {
        c->out_paused = hbuf_size(&c->out) >= HTTP_OUT_HIGH_WATER;
        if (hbuf_size(&c->out) == 0 && c->proto->finished(c))
            begin_linger(c);
    }
    if (c->state == CONN_DEAD) {
        hconn_destroy(c);
        return;
    }
    if (c->state == CONN_CLOSED)
        return;
    update_events(c);
    update_timer(c);
    /* Come back after the other connections had their turn (after update_events, whose
     * event_del would cancel the activation). A write event is what on_write expects: it
     * services the connection again. */
    if (more && c->state == CONN_OPEN && !c->want_write_event)
        event_active(c->ev_write, EV_WRITE, 0);
}

void hconn_shutdown(struct http_conn *c)
{
    c->graceful = true;
    if (c->state == CONN_HANDSHAKE || c->state == CONN_SNIFF)
        hconn_kill(c);
    else if (c->state == CONN_OPEN)
        c->proto->shutdown(c);
    hconn_service(c);
}

/* ---- events ---- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CONN_LINGER)
        linger_read(c);
    if (c->state == CONN_HANDSHAKE)
        handshake(c);
    read_input(c);
    hconn_service(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CONN_HANDSHAKE) {
        handshake(c);
        read_input(c); /* the request may have come with the client's Finished */
    } else if (c->read_wants_write) {
        c->read_wants_write = false;
        read_input(c);
    }
    hconn_service(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    enum timer_kind kind = c->timer_kind;
    c->timer_kind = TIMER_NONE;
    if (kind == TIMER_IDLE && c->state == CONN_OPEN && !c->graceful) {
        hconn_shutdown(c); /* HTTP/2 says goodbye with GOAWAY; a stuck peer meets the next */
        return;
    }
    if (kind != TIMER_LINGER)
        hlog(c->w->srv, HTTP_LOG_DEBUG, NULL, "%s timeout on %s",
             kind == TIMER_READ ? "read" : "idle", c->peer_addr);
    hconn_kill(c);
    hconn_service(c);
}
