/* A worker: one thread, one libevent loop, watching the server's listening sockets (shared by
 * every worker of the server: whichever loop wakes first accepts, see on_accept).
 * Other threads reach a worker only through its completion queue and its eventfd: answers
 * to deferred requests are queued under a mutex, and the first one of a batch wakes the
 * loop. The stop trigger uses the same eventfd, which is why it is async-signal-safe and
 * why the loop needs no libevent locking at all (EVENT_BASE_FLAG_NOLOCK). */
#include <errno.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "http/http_int.h"

#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MS   100 /* after EMFILE and the like */

static void on_accept(evutil_socket_t fd, short what, void *arg);

/* ---- identifiers ---- */

/* splitmix64's finaliser is a bijection, so distinct counters give distinct ids. */
void hworker_next_id(struct worker *w, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t z = w->id_seed + w->id_next++ * 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    for (int i = 15; i >= 0; i--, z >>= 4)
        out[i] = hex[z & 15];
    out[16] = '\0';
}

/* ---- completions ---- */

void hworker_wake(struct worker *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->wake_fd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is full, the worker is awake anyway */
}

void hworker_post(struct worker *w, struct http_request *req)
{
    req->qnext = NULL;
    pthread_mutex_lock(&w->q_lock);
    bool was_empty = w->q_head == NULL;
    if (w->q_tail)
        w->q_tail->qnext = req;
    else
        w->q_head = req;
    w->q_tail = req;
    pthread_mutex_unlock(&w->q_lock);
    if (was_empty)
        hworker_wake(w);
}

static struct http_request *take_completions(struct worker *w)
{
    pthread_mutex_lock(&w->q_lock);
    struct http_request *list = w->q_head;
    w->q_head = w->q_tail = NULL;
    pthread_mutex_unlock(&w->q_lock);
    return list;
}

/* Sends every queued answer, then flushes each touched connection once. */
static void run_completions(struct worker *w)
{
    struct http_request *req = take_completions(w);
    while (req) {
        struct http_request *next = req->qnext;
        req->deferred = false;
        if (req->detached || req->conn->state == CONN_CLOSED) {
            hmetrics_count_conn(w->metrics, METRIC_RESP_DROPPED);
            hreq_free(req);
        } else {
            hresp_submit(req);
            hconn_mark_dirty(req->conn);
        }
        req = next;
    }
    while (w->dirty) {
        struct http_conn *c = w->dirty;
        w->dirty = c->dirty_next;
        c->dirty = false;
        hconn_service(c);
    }
}

/* ---- shutdown ---- */

static void stop_accepting(struct worker *w)
{
    for (unsigned i = 0; i < HTTP_MAX_LISTENERS; i++) {
        if (w->ev_accept[i]) {
            event_free(w->ev_accept[i]);
            w->ev_accept[i] = NULL;
        }
    }
}

void hworker_conn_closed(struct worker *w)
{
    if (w->draining && w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    hlog(w->srv, HTTP_LOG_WARNING, NULL, "shutdown deadline: closing %u connections", w->n_conns);
    while (w->conns)
        hconn_destroy(w->conns);
    event_base_loopexit(w->base, NULL);
}

static void begin_drain(struct worker *w)
{
    w->draining = true;
    stop_accepting(w);
    /* The sockets are shared: the last worker to stop watching them closes them, so that new
     * connections are refused while the others finish (no loop still polls a closed fd). */
    if (atomic_fetch_add(&w->srv->n_drained, 1) + 1 == w->srv->n_workers)
        hserver_close_listeners(w->srv);
    for (struct http_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        hconn_shutdown(c); /* may destroy c, never next */
    }
    if (w->n_conns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    unsigned ms = w->srv->cfg.shutdown_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(w->ev_deadline, &tv);
}

/* ---- balancing ----
 * Whichever worker wakes first takes a new connection off the shared listening socket: with
 * the few long-lived connections a 5G core opens, all may land on one worker while the other
 * idles. So the worker that accepts a connection gives it to the worker holding the fewest,
 * through that worker's queue. */

static unsigned load_of(struct worker *w)
{
    return atomic_load(&w->n_conns) + atomic_load(&w->n_handoffs);
}

static struct worker *least_loaded(struct worker *self)
{
    struct http_server *srv = self->srv;
    struct worker *best = self;
    unsigned best_load = load_of(self);
    if (atomic_load(&srv->stopping))
        return self; /* no handing over while stopping: the connection is refused here */
    for (unsigned i = 0; i < srv->n_workers; i++) {
        struct worker *o = &srv->workers[i];
        if (o != self && load_of(o) < best_load) {
            best = o;
            best_load = load_of(o);
        }
    }
    return best;
}

static void hand_off(struct worker *to, int fd, unsigned listener,
                     const struct sockaddr_storage *ss, socklen_t len)
{
    struct handoff *h = malloc(sizeof(*h));
    if (h == NULL) {
        close(fd);
        return;
    }
    *h = (struct handoff){NULL, fd, listener, *ss, len};
    atomic_fetch_add(&to->n_handoffs, 1);
    pthread_mutex_lock(&to->q_lock);
    h->next = to->handoffs;
    to->handoffs = h;
    pthread_mutex_unlock(&to->q_lock);
    hworker_wake(to);
}

static struct handoff *take_handoffs(struct worker *w)
{
    pthread_mutex_lock(&w->q_lock);
    struct handoff *h = w->handoffs;
    w->handoffs = NULL;
    pthread_mutex_unlock(&w->q_lock);
    return h;
}

static void run_handoffs(struct worker *w)
{
    for (struct handoff *h = take_handoffs(w), *next; h; h = next) {
        next = h->next;
        hconn_accept(w, &w->srv->listeners[h->listener], h->fd, (struct sockaddr *)&h->addr,
                     h->addrlen);
        atomic_fetch_sub(&w->n_handoffs, 1);
        free(h);
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t v;
    (void)what;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    run_handoffs(w);
    run_completions(w);
    if (atomic_load(&w->srv->stopping) && !w->draining)
        begin_drain(w);
}

/* ---- accepting ---- */

static void set_accepting(struct worker *w, bool on)
{
    for (unsigned i = 0; i < HTTP_MAX_LISTENERS; i++)
        if (w->ev_accept[i]) {
            if (on)
                event_add(w->ev_accept[i], NULL);
            else
                event_del(w->ev_accept[i]);
        }
}

static void on_accept_pause_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    if (!w->draining)
        set_accepting(w, true);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct accept_arg *a = arg;
    struct worker *w = a->w;
    (void)what;
    for (int i = 0; i < ACCEPTS_PER_EVENT && !w->draining; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            struct worker *to = least_loaded(w);
            if (to == w)
                hconn_accept(w, &w->srv->listeners[a->listener], fd, (struct sockaddr *)&ss, len);
            else
                hand_off(to, fd, a->listener, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            hlog(w->srv, HTTP_LOG_WARNING, NULL, "accept: %s; pausing", strerror(errno));
            set_accepting(w, false);
            struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
            evtimer_add(w->ev_accept_pause, &tv);
        }
        return;
    }
}

/* Every worker polls every listening socket: a wake-up that finds the queue already taken by
 * another worker costs one accept4 returning EAGAIN. */
int hworker_watch_listeners(struct worker *w)
{
    for (unsigned i = 0; i < w->srv->n_listeners; i++) {
        w->accept_args[i].w = w;
        w->accept_args[i].listener = i;
        w->ev_accept[i] = event_new(w->base, w->srv->listeners[i].fd, EV_READ | EV_PERSIST,
                                    on_accept, &w->accept_args[i]);
        if (!w->ev_accept[i] || event_add(w->ev_accept[i], NULL) != 0)
            return IOTSEC_ERR_NOMEM;
    }
    return IOTSEC_OK;
}

/* ---- life ---- */

int hworker_init(struct worker *w, struct http_server *srv, unsigned index)
{
    w->srv = srv;
    w->index = index;
    w->wake_fd = -1;
    pthread_mutex_init(&w->q_lock, NULL);
    w->metrics = hmetrics_new(srv->router.n);
    if (!w->metrics)
        return IOTSEC_ERR_NOMEM;
    if (RAND_bytes((unsigned char *)&w->id_seed, sizeof(w->id_seed)) != 1)
        return IOTSEC_ERR_CRYPTO;
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return IOTSEC_ERR_NOMEM;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!w->base || w->wake_fd < 0)
        return IOTSEC_ERR_IO;
    w->ev_wake = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
    w->ev_deadline = evtimer_new(w->base, on_deadline, w);
    w->ev_accept_pause = evtimer_new(w->base, on_accept_pause_end, w);
    if (!w->ev_wake || !w->ev_deadline || !w->ev_accept_pause || event_add(w->ev_wake, NULL) != 0)
        return IOTSEC_ERR_NOMEM;
    return IOTSEC_OK;
}

void *hworker_main(void *arg)
{
    struct worker *w = arg;
    /* A stop triggered before the loop ran is seen on the first wake-up. */
    if (atomic_load(&w->srv->stopping))
        hworker_wake(w);
    event_base_dispatch(w->base);
    return NULL;
}

/* After the thread has ended: answers that came in after the loop stopped are dropped. */
void hworker_free(struct worker *w)
{
    if (!w->srv)
        return;
    for (struct http_request *req = take_completions(w), *next; req; req = next) {
        next = req->qnext;
        req->deferred = false;
        hreq_free(req);
    }
    while (w->conns) /* only if the loop never ran to its end */
        hconn_destroy(w->conns);
    for (struct handoff *h = take_handoffs(w), *next; h; h = next) {
        next = h->next; /* handed over after the loop stopped: never served */
        close(h->fd);
        free(h);
    }
    stop_accepting(w); /* the server closes the sockets */
    if (w->ev_wake)
        event_free(w->ev_wake);
    if (w->ev_deadline)
        event_free(w->ev_deadline);
    if (w->ev_accept_pause)
        event_free(w->ev_accept_pause);
    if (w->base)
        event_base_free(w->base);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    while (w->free_reqs) {
        struct http_request *r = w->free_reqs;
        w->free_reqs = r->qnext;
        free(r);
    }
    hmetrics_free(w->metrics);
    pthread_mutex_destroy(&w->q_lock);
}
