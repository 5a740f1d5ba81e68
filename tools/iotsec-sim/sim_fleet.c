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
#include "sim.h"

struct fleet_run {
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

static void onboard_one(struct fleet_run *r, struct sim_device *dev, struct gateway *gw)
{
    struct onboard_device od = {0};
    snprintf(od.reg_id, sizeof(od.reg_id), "%s", dev->reg_id);
    memcpy(od.pinned_pub, r->s->pinned, sizeof(od.pinned_pub));
    struct onboard_http_config cfg = {.base_url = r->in->device, .ca_file = r->in->ca};
    if (dev->derived) {
        od.attest = ONBOARD_ATTEST_DERIVED_KEY;
        memcpy(od.device_key, dev->device_key, sizeof(od.device_key));
    } else if (dev->via_gateway) {
        od.attest = ONBOARD_ATTEST_X509_SIG; /* no TLS of its own through a relay */
        od.cert_der = dev->cert_der;
        od.cert_der_len = dev->cert_der_len;
        od.sign = sim_device_sign;
        od.sign_user = dev;
    } else {
        od.attest = ONBOARD_ATTEST_TLS;
        cfg.cert_pem = dev->cert_pem;
        cfg.cert_pem_len = dev->cert_pem_len;
        cfg.key_pem = dev->key_pem;
        cfg.key_pem_len = dev->key_pem_len;
    }
    struct onboard_http *h = NULL;
    struct onboard_transport *t = NULL;
    double t0 = sim_now();
    if (dev->via_gateway)
        t = gw ? gateway_transport(gw) : NULL;
    else if (onboard_http_new(&cfg, &h) == IOTSEC_OK)
        t = onboard_http_transport(h);
    struct onboard_result res = {0};
    struct onboard_backoff b = {.base_ms = 50, .max_ms = 2000, .max_retries = 6};
    dev->onboard_rc = t ? onboard_run(&od, t, dev->store, &b, no_sleep_cap, &res)
                        : IOTSEC_ERR_IO;
    dev->onboard_ms = (sim_now() - t0) * 1000.0;
    dev->last_status = res.last_status;
    snprintf(dev->cause, sizeof(dev->cause), "%s", res.cause);
    onboard_http_free(h);
    onboard_device_wipe(&od);
}

static void *worker(void *arg)
{
    struct fleet_run *r = arg;
    struct gateway *gw = NULL;
    if (r->s->have_gateway) {
        const struct sim_device *g = &r->s->gateway;
        struct onboard_http_config cfg = {.base_url = r->in->device,
                                          .ca_file = r->in->ca,
                                          .cert_pem = g->cert_pem,
                                          .cert_pem_len = g->cert_pem_len,
                                          .key_pem = g->key_pem,
                                          .key_pem_len = g->key_pem_len};
        if (gateway_new(&cfg, &gw) != IOTSEC_OK)
            gw = NULL;
    }
    for (;;) {
        uint32_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            break;
        onboard_one(r, &r->d[i], gw);
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

int sim_onboard_all(const struct sim_instance *in, const struct sim_setup *s,
                    struct sim_device *d, uint32_t n, unsigned threads, struct sim_stats *st)
{
    struct fleet_run r = {.in = in, .s = s, .d = d, .n = n};
    atomic_init(&r.next, 0);
    if (threads == 0)
        threads = 1;
    if (threads > n)
        threads = n ? n : 1;
    pthread_t *tid = calloc(threads, sizeof(*tid));
    if (!tid)
        return -1;
    double t0 = sim_now();
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &r) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    st->seconds = sim_now() - t0;
    free(tid);
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
