/* HTTP/2 on a connection, with nghttp2's server session. nghttp2 enforces the protocol (and
 * its defaults against CONTINUATION and SETTINGS/PING floods stay on); this file turns
 * streams into requests and answers into HEADERS and DATA frames.
 *
 * A stream's request is the stream's user data. It is freed when nghttp2 closes the stream,
 * unless the application owns it (deferred): then it is detached, and freed when its late
 * answer comes back to the worker.
 *
 * Rapid Reset (a stream opened and reset at once, its costly work left running): requests
 * completed while a read is parsed are dispatched only once the whole read is parsed, so a
 * reset that came with them skips the handler; a deferred request sees the reset through
 * http_request_cancelled(); and a client resetting faster than the bucket allows
 * (HTTP_H2_RESET_BURST/RATE) gets GOAWAY(ENHANCE_YOUR_CALM). */
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/http_int.h"

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static struct http_request *stream_request(nghttp2_session *s, int32_t stream_id)
{
    return nghttp2_session_get_stream_user_data(s, stream_id);
}

/* The request stops receiving: complete, answered early, or gone. */
static void stop_receiving(struct http_request *req)
{
    if (req->phase == REQ_RECEIVING) {
        req->conn->h2_receiving--;
        req->conn->progress = true;
    }
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct http_conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct http_request *req = hreq_new(c);
    if (!req)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM for this one */
    req->stream_id = frame->hd.stream_id;
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, req);
    c->h2_receiving++;
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are ignored */
    struct http_request *req = stream_request(s, frame->hd.stream_id);
    if (!req)
        return 0;
    const char *n = (const char *)name, *v = (const char *)value;
    int rc = IOTSEC_OK;
    /* nghttp2 has checked the pseudo-headers: each once, before the regular fields. */
    if (namelen == 7 && memcmp(n, ":method", 7) == 0) {
        req->method = harena_strndup(&req->arena, v, valuelen);
        req->is_head = valuelen == 4 && memcmp(v, "HEAD", 4) == 0;
        rc = req->method ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    } else if (namelen == 5 && memcmp(n, ":path", 5) == 0) {
        req->target = harena_strndup(&req->arena, v, valuelen);
        rc = req->target ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    } else if (namelen == 10 && memcmp(n, ":authority", 10) == 0) {
        rc = hreq_add_header(req, "host", 4, v, valuelen, true);
    } else if (namelen && n[0] != ':') {
        rc = hreq_add_header(req, n, namelen, v, valuelen, true);
    }
    return rc == IOTSEC_OK ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

/* The head is complete: answer what can be answered before the body. */
static void headers_done(struct http_conn *c, struct http_request *req)
{
    const struct http_server *srv = c->w->srv;
    if (hreq_set_target(req, req->target) != IOTSEC_OK) {
        stop_receiving(req);
        hreq_fail(req, 400, "malformed :path");
        return;
    }
    size_t max_body = req->max_body =
        hrouter_body_limit(&srv->router, req->method, req->path, srv->cfg.max_body_bytes);
    if (req->head_too_large) {
        stop_receiving(req);
        hreq_fail(req, 431, "too many or too large header fields");
        return;
    }
    const char *cl = http_request_header(req, "content-length");
    if (cl) {
        /* nghttp2 has checked it is a number that the DATA frames will honour. */
        unsigned long long n = strtoull(cl, NULL, 10);
        if (n > max_body) {
            stop_receiving(req);
            hreq_fail(req, 413, "the request body is too large");
            return;
        }
        /* An announced length is a claim, not bytes: reserve a bounded part of it. */
        size_t prealloc = n < HTTP_BODY_PREALLOC ? (size_t)n : HTTP_BODY_PREALLOC;
        if (hbuf_reserve(&req->body, prealloc) != IOTSEC_OK) {
            stop_receiving(req);
            hreq_fail(req, 503, "out of memory");
        }
    }
}

/* Complete: queued for dispatch at the end of the read (see dispatch_ready). */
static void request_complete(struct http_request *req)
{
    if (req->phase != REQ_RECEIVING)
        return; /* answered early */
    stop_receiving(req);
    hreq_set_phase(req, REQ_HANDLING);
    struct http_conn *c = req->conn;
    req->ready = true;
    req->qnext = NULL;
    if (c->h2_ready_tail)
        c->h2_ready_tail->qnext = req;
    else
        c->h2_ready = req;
    c->h2_ready_tail = req;
}

/* After a read: runs the handlers of the requests it completed, except those whose stream
 * was reset meanwhile or whose connection is being closed (a reset flood, or drop: the read
 * broke the protocol). */
static void dispatch_ready(struct http_conn *c, bool drop)
{
    while (c->h2_ready) {
        struct http_request *req = c->h2_ready;
        c->h2_ready = req->qnext;
        if (!c->h2_ready)
            c->h2_ready_tail = NULL;
        req->qnext = NULL;
        req->ready = false;
        if (req->reset || drop || c->h2_calm || c->state != CONN_OPEN) {
            hmetrics_count_conn(c->w->metrics, METRIC_REQ_CANCELLED);
            if (!req->reset) /* the stream is still open in the session */
                nghttp2_session_set_stream_user_data(c->h2, req->stream_id, NULL);
            hreq_free(req);
            continue;
        }
        hreq_dispatch(req);
    }
}

/* A RST_STREAM from the client: one token of the bucket; none left ends the connection. */
static void count_reset(nghttp2_session *s, struct http_conn *c)
{
    uint64_t now = hnow_us();
    c->h2_reset_tokens += (double)(now - c->h2_reset_at_us) * HTTP_H2_RESET_RATE / 1e6;
    if (c->h2_reset_tokens > HTTP_H2_RESET_BURST)
        c->h2_reset_tokens = HTTP_H2_RESET_BURST;
    c->h2_reset_at_us = now;
    c->h2_reset_tokens -= 1;
    if (c->h2_reset_tokens >= 0 || c->h2_calm)
        return;
    c->h2_calm = true;
    hmetrics_count_conn(c->w->metrics, METRIC_H2_RESET_FLOOD);
    hlog(c->w->srv, HTTP_LOG_WARNING, NULL,
         "http2 from %s: stream resets faster than %d/s (burst %d): GOAWAY ENHANCE_YOUR_CALM",
         c->peer_addr, HTTP_H2_RESET_RATE, HTTP_H2_RESET_BURST);
    /* GOAWAY with the last stream we processed, then the session reads no more and ends
     * once it is sent; new streams in the rest of this read are refused by nghttp2. */
    nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct http_conn *c = user;
    if (frame->hd.type == NGHTTP2_RST_STREAM)
        count_reset(s, c);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct http_request *req = stream_request(s, frame->hd.stream_id);
    if (!req)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        headers_done(c, req);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        request_complete(req);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user)
{
    struct http_conn *c = user;
    (void)flags;
    struct http_request *req = stream_request(s, stream_id);
    if (!req || req->phase != REQ_RECEIVING)
        return 0;
    (void)c;
    if (len > req->max_body - hbuf_size(&req->body)) {
        stop_receiving(req);
        hreq_fail(req, 413, "the request body is too large");
        return 0;
    }
    if (hbuf_append(&req->body, data, len) != IOTSEC_OK) {
        stop_receiving(req);
        hreq_fail(req, 503, "out of memory");
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
    struct http_conn *c = user;
    struct http_request *req = stream_request(s, stream_id);
    if (!req)
        return 0;
    nghttp2_session_set_stream_user_data(s, stream_id, NULL);
    /* A stream answered in full earns back the reset it may one day need. */
    if (error_code == NGHTTP2_NO_ERROR && req->phase == REQ_SENDING &&
        c->h2_reset_tokens < HTTP_H2_RESET_BURST)
        c->h2_reset_tokens += 1;
    stop_receiving(req);
    if (req->ready) {
        req->reset = true; /* dispatch_ready frees it without running the handler */
        return 0;
    }
    if (req->deferred)
        hreq_detach(req);
    else
        hreq_free(req);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user)
{
    (void)s;
    (void)stream_id;
    (void)user;
    struct http_request *req = source->ptr;
    size_t n = req->resp_len - req->resp_sent;
    if (n > length)
        n = length;
    memcpy(buf, req->resp_body + req->resp_sent, n);
    req->resp_sent += n;
    if (req->resp_sent == req->resp_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

#define NV(n, v, vlen)                                                                             \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), strlen(n), (vlen), NGHTTP2_NV_FLAG_NONE})

static void h2_submit(struct http_request *req)
{
    struct http_conn *c = req->conn;
    nghttp2_nv nva[4 + HTTP_MAX_RESPONSE_HEADERS];
    size_t n = 0;
    char status[4], length[24];
    int st = req->status;
    status[0] = (char)('0' + st / 100), status[1] = (char)('0' + st / 10 % 10);
    status[2] = (char)('0' + st % 10), status[3] = '\0';
    nva[n++] = NV(":status", status, 3);
    if (req->content_type)
        nva[n++] = NV("content-type", req->content_type, strlen(req->content_type));
    bool bodyless = st == 204 || st == 304;
    if (!bodyless)
        nva[n++] = NV("content-length", length,
                      (size_t)snprintf(length, sizeof(length), "%zu", req->resp_len));
    nva[n++] = NV("x-request-id", req->id, 16);
    for (unsigned i = 0; i < req->n_resp_headers; i++)
        nva[n++] = NV(req->resp_headers[i].name, req->resp_headers[i].value,
                      strlen(req->resp_headers[i].value));
    nghttp2_data_provider body = {.source.ptr = req, .read_callback = read_body};
    bool with_body = req->resp_len > 0 && !bodyless && !req->is_head;
    int rv = nghttp2_submit_response(c->h2, req->stream_id, nva, n, with_body ? &body : NULL);
    if (rv != 0) {
        hlog(c->w->srv, HTTP_LOG_ERROR, req->id, "nghttp2: %s", nghttp2_strerror(rv));
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, req->stream_id, NGHTTP2_INTERNAL_ERROR);
    }
}

static int on_invalid_frame(nghttp2_session *s, const nghttp2_frame *frame, int error, void *user)
{
    struct http_conn *c = user;
    (void)s;
    hlog(c->w->srv, HTTP_LOG_DEBUG, NULL, "http2 from %s: invalid frame type %u: %s", c->peer_addr,
         frame->hd.type, nghttp2_strerror(error));
    return 0;
}

static void setup(void)
{
    if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&options) != 0)
        return;
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_invalid_frame);
    /* Closed streams are not kept for the RFC 7540 priority tree: less memory per stream. */
    nghttp2_option_set_no_closed_streams(options, 1);
}

int hconn_h2_start(struct http_conn *c)
{
    const struct http_server_config *cfg = &c->w->srv->cfg;
    pthread_once(&setup_once, setup);
    nghttp2_session *s = NULL;
    if (!callbacks || !options || nghttp2_session_server_new2(&s, callbacks, c, options) != 0)
        return IOTSEC_ERR_NOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->max_header_bytes},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0) {
        nghttp2_session_del(s);
        return IOTSEC_ERR_NOMEM;
    }
    c->h2 = s;
    c->h2_reset_tokens = HTTP_H2_RESET_BURST;
    c->h2_reset_at_us = hnow_us();
    c->proto = &hconn_proto_h2;
    c->state = CONN_OPEN;
    return IOTSEC_OK;
}

static int h2_feed(struct http_conn *c, const uint8_t *data, size_t len)
{
    ssize_t rv = nghttp2_session_mem_recv(c->h2, data, len);
    dispatch_ready(c, rv < 0);
    if (rv < 0) {
        hlog(c->w->srv, HTTP_LOG_DEBUG, NULL, "http2 from %s: %s", c->peer_addr,
             nghttp2_strerror((int)rv));
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

static int h2_pull(struct http_conn *c)
{
    while (hbuf_size(&c->out) < HTTP_OUT_HIGH_WATER) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0)
            return IOTSEC_ERR_IO;
        if (n == 0)
            break;
        if (hbuf_append(&c->out, data, (size_t)n) != IOTSEC_OK)
            return IOTSEC_ERR_NOMEM;
    }
    return IOTSEC_OK;
}

static bool h2_finished(struct http_conn *c)
{
    return !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2);
}

static bool h2_receiving(struct http_conn *c)
{
    return c->h2_receiving > 0;
}

static void h2_shutdown(struct http_conn *c)
{
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

static void h2_destroy(struct http_conn *c)
{
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}

const struct conn_proto hconn_proto_h2 = {
    .feed = h2_feed,
    .pull = h2_pull,
    .submit = h2_submit,
    .finished = h2_finished,
    .receiving = h2_receiving,
    .shutdown = h2_shutdown,
    .destroy = h2_destroy,
    .id = HTTP_PROTO_2,
};
