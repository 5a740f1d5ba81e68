/* The server: configuration, listeners, routes, and the start and stop of its workers. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "http/http_int.h"

void hlog(const struct http_server *srv, enum http_log_level lvl, const char *req_id,
          const char *fmt, ...)
{
    if (!srv->cfg.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    srv->cfg.log(srv->cfg.log_user, lvl, req_id, msg);
}

static void apply_defaults(struct http_server_config *c)
{
    if (!c->workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->workers = n > 0 ? (unsigned)n : 1;
    }
    if (c->workers > 256)
        c->workers = 256;
    if (!c->max_connections)
        c->max_connections = 10000;
    if (!c->max_concurrent_streams)
        c->max_concurrent_streams = 128;
    if (!c->max_headers)
        c->max_headers = 64;
    if (!c->max_header_bytes)
        c->max_header_bytes = 16 * 1024;
    if (!c->max_body_bytes)
        c->max_body_bytes = 1024 * 1024;
    if (!c->read_timeout_ms)
        c->read_timeout_ms = 10000;
    if (!c->idle_timeout_ms)
        c->idle_timeout_ms = 60000;
    if (!c->shutdown_timeout_ms)
        c->shutdown_timeout_ms = 10000;
}

struct http_server *http_server_new(const struct http_server_config *cfg)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    if (cfg)
        srv->cfg = *cfg;
    apply_defaults(&srv->cfg);
    return srv;
}

/* "ADDR:PORT" with a literal IPv4 address, or "[ADDR]:PORT" with an IPv6 one. */
static int parse_bind(const char *s, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port)
{
    char host[INET6_ADDRSTRLEN];
    const char *p;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return IOTSEC_ERR_INVALID;
        hlen = (size_t)(close - s - 1);
        s++;
        p = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return IOTSEC_ERR_INVALID;
        hlen = (size_t)(colon - s);
        p = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(host) || !*p || strlen(p) > 5 ||
        strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
        return IOTSEC_ERR_INVALID;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)atol(p);
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        *len = sizeof(*in);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        *len = sizeof(*in6);
    } else {
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

int http_server_listen(struct http_server *srv, const struct http_listener_config *lc)
{
    if (srv->started)
        return IOTSEC_ERR_STATE;
    if (!lc || !lc->bind || srv->n_listeners == HTTP_MAX_LISTENERS)
        return IOTSEC_ERR_INVALID;
    struct listener *l = &srv->listeners[srv->n_listeners];
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    uint16_t port;
    int rc = parse_bind(lc->bind, &l->addr, &l->addrlen, &port);
    if (rc != IOTSEC_OK) {
        hlog(srv, HTTP_LOG_ERROR, NULL, "bad listen address %s", lc->bind);
        return rc;
    }
    atomic_store(&l->port, port);
    l->tls = lc->tls;
    l->any_client_cert = lc->client_cert_any;
    l->role = lc->client_cert_role;
    l->role_user = lc->client_cert_role_user;
    if (lc->tls && (rc = htls_ctx_new(lc, &l->ssl_ctx, srv)) != IOTSEC_OK)
        return rc;
    if (!(l->bind = strdup(lc->bind))) {
        SSL_CTX_free(l->ssl_ctx);
        return IOTSEC_ERR_NOMEM;
    }
    return (int)srv->n_listeners++;
}

int http_server_set_gate(struct http_server *srv, http_gate_fn gate, void *user)
{
    if (srv->started)
        return IOTSEC_ERR_STATE;
    srv->gate = gate;
    srv->gate_user = user;
    return IOTSEC_OK;
}

int http_server_route_copy(struct http_server *dst, const struct http_server *src,
                           const char *prefix)
{
    if (dst->started)
        return IOTSEC_ERR_STATE;
    size_t plen = strlen(prefix);
    for (unsigned i = 0; i < src->router.n; i++) {
        const struct route *rt = src->router.routes[i];
        if (strncmp(rt->pattern, prefix, plen) != 0)
            continue;
        int rc = hrouter_add(&dst->router, rt->method, rt->pattern, rt->handler, rt->user);
        if (rc != IOTSEC_OK)
            return rc;
        if (rt->max_body) {
            dst->router.routes[dst->router.n - 1]->max_body = rt->max_body;
            dst->router.any_limit = true;
        }
    }
    return IOTSEC_OK;
}

int http_server_route(struct http_server *srv, const char *method, const char *pattern,
                      http_handler_fn handler, void *user)
{
    if (srv->started)
        return IOTSEC_ERR_STATE;
    return hrouter_add(&srv->router, method, pattern, handler, user);
}

int http_server_route_body_limit(struct http_server *srv, const char *method, const char *pattern,
                                 size_t max_body)
{
    if (srv->started)
        return IOTSEC_ERR_STATE;
    for (unsigned i = 0; i < srv->router.n; i++) {
        struct route *rt = srv->router.routes[i];
        if (strcmp(rt->method, method) == 0 && strcmp(rt->pattern, pattern) == 0) {
            rt->max_body = max_body;
            srv->router.any_limit = true;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_NOTFOUND;
}

/* One socket per listener, without SO_REUSEPORT: the workers share it, and a port another
 * process listens on is an error instead of a silently shared accept queue. SO_REUSEADDR
 * only lets a restart bind over connections left in TIME_WAIT. */
static int open_listener(struct http_server *srv, struct listener *l)
{
    struct sockaddr_storage ss = l->addr;
    uint16_t port = atomic_load(&l->port); /* 0: any free port */
    if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hlog(srv, HTTP_LOG_ERROR, NULL, "cannot listen on %s: %s", l->bind, strerror(errno));
        return IOTSEC_ERR_IO;
    }
    int one = 1;
    socklen_t len = sizeof(ss);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, l->addrlen) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        int err = errno;
        close(fd);
        if (err == EADDRINUSE) {
            hlog(srv, HTTP_LOG_ERROR, NULL,
                 "cannot listen on %s: address in use (another socket listens there)", l->bind);
            return IOTSEC_ERR_ADDRINUSE;
        }
        hlog(srv, HTTP_LOG_ERROR, NULL, "cannot listen on %s: %s", l->bind, strerror(err));
        return IOTSEC_ERR_IO;
    }
    l->fd = fd;
    /* with port 0, the port the kernel chose */
    atomic_store(&l->port, ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port));
    return IOTSEC_OK;
}

int hserver_open_listeners(struct http_server *srv)
{
    int rc = IOTSEC_OK;
    for (unsigned i = 0; i < srv->n_listeners && rc == IOTSEC_OK; i++)
        rc = open_listener(srv, &srv->listeners[i]);
    return rc;
}

void hserver_close_listeners(struct http_server *srv)
{
    for (unsigned i = 0; i < srv->n_listeners; i++)
        if (srv->listeners[i].fd >= 0) {
            close(srv->listeners[i].fd);
            srv->listeners[i].fd = -1;
        }
}

static int start_threads(struct http_server *srv)
{
    /* Workers block every signal: signals go to the daemon's own threads, and a SIGPIPE
     * raised by a write to a dead peer stays pending on the worker, harmlessly. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = IOTSEC_OK;
    for (unsigned i = 0; i < srv->n_workers && rc == IOTSEC_OK; i++) {
        struct worker *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, hworker_main, w) != 0)
            rc = IOTSEC_ERR_NOMEM;
        else
            w->thread_started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int http_server_start(struct http_server *srv)
{
    if (srv->started)
        return IOTSEC_ERR_STATE;
    srv->started = true;
    srv->workers = calloc(srv->cfg.workers, sizeof(*srv->workers));
    if (!srv->workers)
        return IOTSEC_ERR_NOMEM;
    int rc = IOTSEC_OK;
    /* Every worker's counters exist before the first one is visible to the renderer. */
    for (unsigned i = 0; i < srv->cfg.workers && rc == IOTSEC_OK; i++, srv->n_workers++)
        rc = hworker_init(&srv->workers[i], srv, i);
    if (rc == IOTSEC_OK)
        rc = hserver_open_listeners(srv);
    for (unsigned i = 0; i < srv->n_workers && rc == IOTSEC_OK; i++)
        rc = hworker_watch_listeners(&srv->workers[i]);
    if (rc == IOTSEC_OK)
        rc = start_threads(srv);
    if (rc != IOTSEC_OK)
        http_server_stop(srv);
    return rc;
}

uint16_t http_server_port(const struct http_server *srv, int listener)
{
    if (!srv->started || listener < 0 || (unsigned)listener >= srv->n_listeners)
        return 0;
    return atomic_load(&srv->listeners[listener].port);
}

void http_server_trigger_stop(struct http_server *srv)
{
    atomic_store(&srv->stopping, true);
    for (unsigned i = 0; i < srv->n_workers; i++)
        if (srv->workers[i].wake_fd >= 0)
            hworker_wake(&srv->workers[i]);
}

void http_server_stop(struct http_server *srv)
{
    if (!srv->started || srv->joined)
        return;
    http_server_trigger_stop(srv);
    for (unsigned i = 0; i < srv->n_workers; i++)
        if (srv->workers[i].thread_started)
            pthread_join(srv->workers[i].thread, NULL);
    srv->joined = true;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    for (unsigned i = 0; i < srv->n_workers; i++)
        hworker_free(&srv->workers[i]);
    free(srv->workers);
    hserver_close_listeners(srv); /* unless the last worker to drain did */
    for (unsigned i = 0; i < srv->n_listeners; i++) {
        SSL_CTX_free(srv->listeners[i].ssl_ctx);
        free(srv->listeners[i].bind);
    }
    hrouter_free(&srv->router);
    free(srv);
}
