/* Concurrent onboarding of a manufactured fleet. Each worker thread takes devices one by one;
 * a direct device opens its own TLS connection (its own factory certificate), a device behind
 * a gateway goes through the worker's gateway relay (one mTLS connection per worker, as a
 * gateway serving many devices would keep). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/rand.h"
#include "gateway.h"
#include "onboard.h"
#include "onboard_http.h"
#include "onboard_tls.h"
#include "sim.h"

struct fleet_run {
    struct onboard_tls_ctx *tls; /* one SSL_CTX for every direct device */
    const struct sim_instance *in;
    const struct sim_setup *s;
    struct sim_device *d;
    uint32_t n;
    atomic_uint next;
};

static void no_sleep_cap(uint32_t ms)
{
    /* the simulator waits as a device would, but never more than 2 s per retry: a fleet run
     * that hits a rate limit should end, not idle for an hour */
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};
    if (ms > 2000)
        ms = 2000;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

uint32_t sim_trace_device = UINT32_MAX;

/* A transport that prints what crosses the wire, around the real one. */
struct trace_transport {
    struct onboard_transport base;
    struct onboard_transport *inner;
    const char *who;
};

static const char *const OP_NAMES[] = {"nonce", "onboard", "confirm", "rotate"};

static int trace_send(struct onboard_transport *t, enum onboard_op op, const char *body, size_t len,
                      long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    struct trace_transport *tt = (struct trace_transport *)t;
    fprintf(stderr, "  %s -> %-8s %.*s%s\n", tt->who, OP_NAMES[op], (int)(len > 120 ? 120 : len),
            body, len > 120 ? "..." : "");
    int rc = tt->inner->send(tt->inner, op, body, len, status, retry_after, answer, answer_len);
    if (rc == IOTSEC_OK)
        fprintf(stderr, "  %s <- %-8ld %.*s%s\n", tt->who, *status,
                (int)(*answer_len > 120 ? 120 : *answer_len), *answer ? *answer : "",
                *answer_len > 120 ? "..." : "");
    else
        fprintf(stderr, "  %s <- (no answer)\n", tt->who);
    return rc;
}

/* The device's view of itself (what its firmware holds) and its way to the device face. */
static int device_client(struct onboard_tls_ctx *tls, const struct sim_setup *s,
                         struct sim_device *dev, struct gateway *gw, struct onboard_device *od,
                         struct onboard_tls **h, struct onboard_transport **t)
{
    memset(od, 0, sizeof(*od));
    snprintf(od->reg_id, sizeof(od->reg_id), "%s", dev->reg_id);
    memcpy(od->pinned_pub, s->pinned, sizeof(od->pinned_pub));
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    if (dev->derived) {
        od->attest = ONBOARD_ATTEST_DERIVED_KEY;
        memcpy(od->device_key, dev->device_key, sizeof(od->device_key));
    } else if (dev->via_gateway) {
        od->attest = ONBOARD_ATTEST_X509_SIG; /* no TLS of its own through a relay */
        od->cert_der = dev->cert_der;
        od->cert_der_len = dev->cert_der_len;
        od->sign = sim_device_sign;
        od->sign_user = dev;
    } else {
        od->attest = ONBOARD_ATTEST_TLS;
        cert = dev->x509;
        key = dev->pkey;
    }
    *h = NULL;
    *t = NULL;
    if (dev->via_gateway)
        *t = gw ? gateway_transport(gw) : NULL;
    else if (tls && onboard_tls_new(tls, cert, key, h) == IOTSEC_OK)
        *t = onboard_tls_transport(*h, false);
    return *t ? IOTSEC_OK : IOTSEC_ERR_IO;
}

static struct gateway *open_gateway(const struct sim_instance *in, const struct sim_setup *s)
{
    struct gateway *gw = NULL;
    if (!s->have_gateway)
        return NULL;
    const struct sim_device *g = &s->gateway;
    struct onboard_http_config cfg = {.base_url = in->device,
                                      .ca_file = in->ca,
                                      .cert_pem = g->cert_pem,
                                      .cert_pem_len = g->cert_pem_len,
                                      .key_pem = g->key_pem,
                                      .key_pem_len = g->key_pem_len};
    return gateway_new(&cfg, &gw) == IOTSEC_OK ? gw : NULL;
}

static void onboard_one(struct fleet_run *r, uint32_t i, struct gateway *gw)
{
    struct sim_device *dev = &r->d[i];
    struct onboard_device od;
    struct onboard_tls *h;
    struct onboard_transport *t;
    struct onboard_result res = {0};
    struct onboard_backoff b = {.base_ms = 50, .max_ms = 2000, .max_retries = 6};
    double t0 = sim_now();
    dev->onboard_rc = device_client(r->tls, r->s, dev, gw, &od, &h, &t);
    struct trace_transport tt = {.base.send = trace_send,
                                 .inner = t,
                                 .who = dev->via_gateway ? "device(via gateway)" : "device"};
    if (dev->onboard_rc == IOTSEC_OK)
        dev->onboard_rc = onboard_run(&od, i == sim_trace_device ? &tt.base : t, dev->store, &b,
                                      no_sleep_cap, &res);
    dev->onboard_ms = (sim_now() - t0) * 1000.0;
    dev->last_status = res.last_status;
    if (res.last_status > 0)
        sim_heard();
    snprintf(dev->cause, sizeof(dev->cause), "%s", res.cause);
    onboard_tls_free(h);
    onboard_device_wipe(&od);
}

int sim_onboard_again(const struct sim_instance *in, const struct sim_setup *s,
                      struct sim_device *dev)
{
    struct fleet_run r = {.in = in, .s = s, .d = dev, .n = 1};
    struct gateway *gw = open_gateway(in, s);
    if (onboard_tls_ctx_new(in->device, in->ca, &r.tls) == IOTSEC_OK)
        onboard_one(&r, 0, gw);
    else
        dev->onboard_rc = IOTSEC_ERR_IO;
    onboard_tls_ctx_free(r.tls);
    gateway_free(gw);
    return dev->onboard_rc;
}

uint32_t sim_rotate(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *d,
                    uint32_t m)
{
    struct gateway *gw = open_gateway(in, s);
    struct onboard_tls_ctx *tls = NULL;
    onboard_tls_ctx_new(in->device, in->ca, &tls);
    uint32_t ok = 0;
    for (uint32_t i = 0; i < m; i++) {
        struct sim_device *dev = &d[i];
        if (dev->onboard_rc != IOTSEC_OK)
            continue;
        struct onboard_device od;
        struct onboard_tls *h;
        struct onboard_transport *t;
        struct onboard_result res = {0};
        int rc = device_client(tls, s, dev, gw, &od, &h, &t);
        struct trace_transport tt = {.base.send = trace_send,
                                     .inner = t,
                                     .who = dev->via_gateway ? "device(via gateway)" : "device"};
        if (rc == IOTSEC_OK)
            rc = rotate_run(&od, i == sim_trace_device ? &tt.base : t, dev->store, NULL,
                            no_sleep_cap, &res);
        if (rc == IOTSEC_OK) {
            ok++;
            dev->authenticated = false;
        } else {
            fprintf(stderr, "iotsec-sim: %s: rotation failed (%s, last HTTP status %ld %s)\n",
                    dev->reg_id, iotsec_strerror(rc), res.last_status, res.cause);
        }
        onboard_tls_free(h);
        onboard_device_wipe(&od);
    }
    gateway_free(gw);
    onboard_tls_ctx_free(tls);
    return ok;
}

static void *worker(void *arg)
{
    struct fleet_run *r = arg;
    struct gateway *gw = open_gateway(r->in, r->s);
    for (;;) {
        uint32_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            break;
        onboard_one(r, i, gw);
    }
    gateway_free(gw);
    crypto_random_thread_cleanup();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, uint32_t n, double q)
{
    if (n == 0)
        return 0;
    uint32_t i = (uint32_t)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

int sim_onboard_all(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *d,
                    uint32_t n, unsigned threads, struct sim_stats *st)
{
    struct fleet_run r = {.in = in, .s = s, .d = d, .n = n};
    atomic_init(&r.next, 0);
    if (onboard_tls_ctx_new(in->device, in->ca, &r.tls) != IOTSEC_OK) {
        fprintf(stderr, "iotsec-sim: cannot set up TLS for %s (CA %s)\n", in->device, in->ca);
        return -1;
    }
    if (threads == 0)
        threads = 1;
    if (threads > n)
        threads = n ? n : 1;
    pthread_t *tid = calloc(threads, sizeof(*tid));
    if (!tid) {
        onboard_tls_ctx_free(r.tls);
        return -1;
    }
    double t0 = sim_now();
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &r) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    st->seconds = sim_now() - t0;
    free(tid);
    onboard_tls_ctx_free(r.tls);
    if (started == 0)
        return -1;

    double *lat = calloc(n ? n : 1, sizeof(double));
    uint32_t k = 0;
    st->devices = n;
    for (uint32_t i = 0; i < n; i++) {
        if (d[i].onboard_rc == IOTSEC_OK) {
            st->onboarded++;
            st->via_gateway += d[i].via_gateway;
            if (lat)
                lat[k++] = d[i].onboard_ms;
        }
    }
    if (lat) {
        qsort(lat, k, sizeof(double), cmp_double);
        st->p50_ms = quantile(lat, k, 0.50);
        st->p99_ms = quantile(lat, k, 0.99);
        free(lat);
    }
    return 0;
}
