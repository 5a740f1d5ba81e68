/* The IPFIX collector's sockets: one libevent loop in its own thread. UDP: each datagram is
 * one message (read 32 at a time with recvmmsg). TCP: a stream of messages framed by their
 * header's length; a stream that cannot be framed (version not 10, length < 16) is closed,
 * since nothing after it can be trusted. Flows are handed to the sink in batches (one per
 * read event, or when the buffer could not take another message). The parser is touched by
 * this thread only; its counters are copied out under a lock after each event. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "analytics/ipfix_collector.h"
#include "base/err.h"
#include "base/log.h"
#include "http/http.h"

#define BATCH      32 /* datagrams per recvmmsg */
#define BUF_FLOWS  (2 * AN_IPFIX_MAX_FLOWS)
#define MAX_STREAM (256 * 1024) /* bytes a TCP connection may have waiting */

struct conn {
    struct an_ipfix_collector *c;
    struct bufferevent *bev;
    struct an_ipfix_exporter from;
    struct conn *next;
};

struct an_ipfix_collector {
    struct an_ipfix_collector_options o;
    struct an_ipfix *x;
    struct event_base *base;
    struct event *udp_ev, *stop_ev;
    struct evconnlistener *lis;
    int udp_fd, stop_fd[2];
    uint16_t port[2];
    pthread_t thread;
    bool running;
    struct an_flow *flows;
    size_t nflows;
    struct conn *conns;
    uint32_t nconns;
    uint64_t next_conn;
    uint8_t (*dgram)[65536];
    pthread_mutex_t mu;
    struct an_ipfix_collector_stats snap, live; /* live: this thread's; snap: for readers */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void flush(struct an_ipfix_collector *c)
{
    if (c->nflows > 0)
        c->o.sink(c->o.arg, c->flows, c->nflows);
    c->nflows = 0;
}

static void publish(struct an_ipfix_collector *c)
{
    an_ipfix_get_stats(c->x, &c->live.parser);
    pthread_mutex_lock(&c->mu);
    c->snap = c->live;
    pthread_mutex_unlock(&c->mu);
}

static void message(struct an_ipfix_collector *c, const struct an_ipfix_exporter *from,
                    const uint8_t *msg, size_t len, double now)
{
    if (BUF_FLOWS - c->nflows < AN_IPFIX_MAX_FLOWS)
        flush(c);
    an_ipfix_message(c->x, from, msg, len, now, c->flows, BUF_FLOWS, &c->nflows);
}

static void sockaddr_exporter(const struct sockaddr_storage *ss, struct an_ipfix_exporter *e)
{
    memset(e, 0, sizeof(*e));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        e->addr.b[10] = e->addr.b[11] = 0xff;
        memcpy(e->addr.b + 12, &in->sin_addr, 4);
        e->port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        memcpy(e->addr.b, &in6->sin6_addr, 16);
        e->port = ntohs(in6->sin6_port);
    }
}

/* ---- UDP ---- */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct an_ipfix_collector *c = arg;
    struct mmsghdr mh[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage src[BATCH];
    for (int round = 0; round < 8; round++) { /* at most 256 datagrams, then others' turn */
        memset(mh, 0, sizeof(mh));
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = c->dgram[i];
            iov[i].iov_len = sizeof(c->dgram[i]);
            mh[i].msg_hdr.msg_iov = &iov[i];
            mh[i].msg_hdr.msg_iovlen = 1;
            mh[i].msg_hdr.msg_name = &src[i];
            mh[i].msg_hdr.msg_namelen = sizeof(src[i]);
        }
        int n = recvmmsg(fd, mh, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        double now = wall_now();
        for (int i = 0; i < n; i++) {
            struct an_ipfix_exporter from;
            sockaddr_exporter(&src[i], &from);
            from.transport = AN_IPFIX_UDP;
            c->live.datagrams++;
            /* A truncated datagram (MSG_TRUNC) has a length field larger than what we
             * hold: the parser refuses it. */
            message(c, &from, c->dgram[i], mh[i].msg_len, now);
        }
        if (n < BATCH)
            break;
    }
    flush(c);
    publish(c);
}

/* ---- TCP ---- */

static void conn_close(struct conn *k)
{
    struct an_ipfix_collector *c = k->c;
    an_ipfix_forget(c->x, &k->from); /* its templates die with it (RFC 7011 8) */
    for (struct conn **p = &c->conns; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    bufferevent_free(k->bev);
    free(k);
    c->nconns--;
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
    struct conn *k = arg;
    struct an_ipfix_collector *c = k->c;
    struct evbuffer *in = bufferevent_get_input(bev);
    double now = wall_now();
    bool broken = false;
    for (;;) {
        size_t have = evbuffer_get_length(in);
        if (have < 4)
            break;
        long len = an_ipfix_frame(evbuffer_pullup(in, 4), 4);
        if (len < 0) {
            broken = true;
            break;
        }
        if (have < (size_t)len)
            break;
        message(c, &k->from, evbuffer_pullup(in, len), (size_t)len, now);
        evbuffer_drain(in, (size_t)len);
    }
    flush(c);
    if (broken) {
        c->live.conns_broken++;
        conn_close(k);
    }
    publish(c);
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        struct an_ipfix_collector *c = ((struct conn *)arg)->c;
        conn_close(arg);
        publish(c);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    struct an_ipfix_collector *c = arg;
    struct conn *k = c->nconns < c->o.max_conns ? calloc(1, sizeof(*k)) : NULL;
    if (k == NULL) {
        c->live.conns_refused++;
        close(fd);
        publish(c);
        return;
    }
    k->c = c;
    sockaddr_exporter((const struct sockaddr_storage *)sa, &k->from);
    k->from.transport = AN_IPFIX_TCP;
    k->from.conn = ++c->next_conn;
    k->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (k->bev == NULL) {
        close(fd);
        free(k);
        return;
    }
    bufferevent_setcb(k->bev, on_tcp_read, NULL, on_tcp_event, k);
    bufferevent_setwatermark(k->bev, EV_READ, 0, MAX_STREAM);
    bufferevent_enable(k->bev, EV_READ);
    k->next = c->conns;
    c->conns = k;
    c->nconns++;
    c->live.conns++;
    publish(c);
}

/* ---- the thread ---- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *run(void *arg)
{
    struct an_ipfix_collector *c = arg;
    event_base_dispatch(c->base);
    return NULL;
}

/* Binds (and for TCP listens on) bind_to; the socket into *out. */
static int open_socket(const char *bind_to, int type, uint16_t *port, int *out, char *err,
                       size_t err_len)
{
    struct sockaddr_storage ss;
    unsigned len;
    uint16_t p;
    if (http_parse_bind(bind_to, &ss, &len, &p) != IOTSEC_OK) {
        snprintf(err, err_len, "analytics.ipfix: bad address %.80s (ADDR:PORT or [ADDR]:PORT)",
                 bind_to);
        return IOTSEC_ERR_INVALID;
    }
    ((struct sockaddr_in *)&ss)->sin_port = htons(p); /* same place in sockaddr_in6 */
    int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 64) != 0)) {
        int e = errno;
        snprintf(err, err_len, "analytics.ipfix: cannot listen on %s (%s): %s", bind_to,
                 type == SOCK_STREAM ? "tcp" : "udp", strerror(e));
        if (fd >= 0)
            close(fd);
        return e == EADDRINUSE ? IOTSEC_ERR_ADDRINUSE : IOTSEC_ERR_IO;
    }
    if (type == SOCK_DGRAM) { /* bursts from many exporters: a deep receive queue */
        int rcv = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    }
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = fd;
    return IOTSEC_OK;
}

int an_ipfix_collector_start(const struct an_ipfix_collector_options *o,
                             struct an_ipfix_collector **out, char *err, size_t err_len)
{
    *out = NULL;
    struct an_ipfix_collector *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return IOTSEC_ERR_NOMEM;
    c->o = *o;
    c->o.udp = c->o.tcp = NULL; /* not kept: the caller's strings */
    if (c->o.max_conns == 0)
        c->o.max_conns = 64;
    c->udp_fd = c->stop_fd[0] = c->stop_fd[1] = -1;
    pthread_mutex_init(&c->mu, NULL);
    int rc = IOTSEC_ERR_NOMEM;
    c->x = an_ipfix_new(&o->limits);
    c->flows = malloc(BUF_FLOWS * sizeof(*c->flows));
    c->dgram = malloc(BATCH * sizeof(*c->dgram));
    c->base = event_base_new();
    if (c->x == NULL || c->flows == NULL || c->dgram == NULL || c->base == NULL ||
        pipe2(c->stop_fd, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    if (o->udp && o->udp[0]) {
        int fd, orc = open_socket(o->udp, SOCK_DGRAM, &c->port[AN_IPFIX_UDP], &fd, err, err_len);
        if (orc != IOTSEC_OK) {
            rc = orc;
            goto fail;
        }
        c->udp_fd = fd;
        c->udp_ev = event_new(c->base, fd, EV_READ | EV_PERSIST, on_udp, c);
        if (c->udp_ev == NULL || event_add(c->udp_ev, NULL) != 0)
            goto fail;
    }
    if (o->tcp && o->tcp[0]) {
        int fd, orc = open_socket(o->tcp, SOCK_STREAM, &c->port[AN_IPFIX_TCP], &fd, err, err_len);
        if (orc != IOTSEC_OK) {
            rc = orc;
            goto fail;
        }
        c->lis = evconnlistener_new(c->base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
        if (c->lis == NULL) {
            close(fd);
            goto fail;
        }
    }
    c->stop_ev = event_new(c->base, c->stop_fd[0], EV_READ, on_stop, c->base);
    if (c->stop_ev == NULL || event_add(c->stop_ev, NULL) != 0)
        goto fail;
    if (pthread_create(&c->thread, NULL, run, c) != 0)
        goto fail;
    c->running = true;
    *out = c;
    return IOTSEC_OK;
fail:
    if (rc == IOTSEC_ERR_NOMEM && err_len)
        snprintf(err, err_len, "analytics.ipfix: cannot start the collector (no memory)");
    an_ipfix_collector_stop(c);
    return rc;
}

uint16_t an_ipfix_collector_port(const struct an_ipfix_collector *c, enum an_ipfix_transport t)
{
    return c->port[t == AN_IPFIX_TCP];
}

void an_ipfix_collector_get_stats(struct an_ipfix_collector *c,
                                  struct an_ipfix_collector_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->snap;
    pthread_mutex_unlock(&c->mu);
}

void an_ipfix_collector_stop(struct an_ipfix_collector *c)
{
    if (c == NULL)
        return;
    if (c->running) {
        char b = 1;
        if (write(c->stop_fd[1], &b, 1) != 1)
            event_base_loopbreak(c->base); /* cannot happen: an empty pipe */
        pthread_join(c->thread, NULL);
    }
    while (c->conns)
        conn_close(c->conns);
    if (c->lis)
        evconnlistener_free(c->lis);
    if (c->udp_ev)
        event_free(c->udp_ev);
    if (c->stop_ev)
        event_free(c->stop_ev);
    if (c->udp_fd >= 0)
        close(c->udp_fd);
    for (int i = 0; i < 2; i++)
        if (c->stop_fd[i] >= 0)
            close(c->stop_fd[i]);
    if (c->base)
        event_base_free(c->base);
    an_ipfix_free(c->x);
    free(c->flows);
    free(c->dgram);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
