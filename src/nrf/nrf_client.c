/* Registration with the NRF (TS 29.510 §5.2.2): one thread, two NF instances (AUSF, UDM).
 *   NFRegister   PUT    {root}/nnrf-nfm/v1/nf-instances/{id}   NFProfile -> 201/200
 *   NFUpdate     PATCH  same, [{"op":"replace","path":"/nfStatus","value":"REGISTERED"}]
 *                       every heartBeatTimer seconds (the NRF's value wins) -> 204/200;
 *                       404: the NRF does not know us any more (restarted): register again
 *   NFDeregister DELETE same, at shutdown -> 204
 * Failures are retried with exponential backoff (1 s .. 60 s) without ever holding the faces. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "nrf/nrf_int.h"

#define BACKOFF_MAX_S  60
#define DEFAULT_HB_S   60
#define HEARTBEAT_BODY "[{\"op\":\"replace\",\"path\":\"/nfStatus\",\"value\":\"REGISTERED\"}]"

enum op { OP_REGISTER, OP_HEARTBEAT, OP_DEREGISTER, OP_COUNT };
enum outcome { OC_OK, OC_NOT_FOUND, OC_FAILED, OC_COUNT };

struct nf_state {
    enum nrf_state state;
    unsigned heartbeat_s; /* as the NRF last said */
    unsigned backoff_s;
    time_t next; /* when the next register/heartbeat is due */
    char url[1200];
    char *profile;
};

struct nrf_client {
    char *root;
    unsigned proposed_hb;
    struct nrf_http *http;
    struct nf_state nf[NRF_NF_COUNT];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, first_done, started;
    _Atomic int state[NRF_NF_COUNT];
    _Atomic uint64_t count[OP_COUNT][OC_COUNT];
};

const char *nrf_state_name(enum nrf_state s)
{
    static const char *const n[] = {"off", "registering", "registered", "deregistered"};
    return (unsigned)s < 4 ? n[s] : "unknown";
}

static void count(struct nrf_client *n, enum op op, enum outcome oc)
{
    atomic_fetch_add_explicit(&n->count[op][oc], 1, memory_order_relaxed);
}

static void set_state(struct nrf_client *n, enum nrf_nf i, enum nrf_state s)
{
    n->nf[i].state = s;
    atomic_store(&n->state[i], (int)s);
}

/* The heartBeatTimer of a 200/201 NFProfile answer; ours (or the default) without one. */
static unsigned answered_heartbeat(const struct nrf_client *n, const char *body)
{
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    json_int_t hb = json_integer_value(json_object_get(j, "heartBeatTimer"));
    json_decref(j);
    if (hb >= 1 && hb <= 86400)
        return (unsigned)hb;
    return n->proposed_hb ? n->proposed_hb : DEFAULT_HB_S;
}

static void retry_later(struct nf_state *s, time_t now)
{
    s->backoff_s = s->backoff_s ? s->backoff_s * 2 : 1;
    if (s->backoff_s > BACKOFF_MAX_S)
        s->backoff_s = BACKOFF_MAX_S;
    s->next = now + s->backoff_s;
}

static void do_register(struct nrf_client *n, enum nrf_nf i, time_t now)
{
    struct nf_state *s = &n->nf[i];
    char *resp = NULL;
    long st = nrf_http_call(n->http, "PUT", s->url, "application/json", s->profile, &resp);
    if (st == 200 || st == 201) {
        s->heartbeat_s = answered_heartbeat(n, resp);
        s->backoff_s = 0;
        s->next = now + s->heartbeat_s;
        set_state(n, i, NRF_STATE_REGISTERED);
        count(n, OP_REGISTER, OC_OK);
        log_info("nrf: %s registered (heartbeat every %u s)", nrf_nf_type(i), s->heartbeat_s);
    } else {
        count(n, OP_REGISTER, OC_FAILED);
        retry_later(s, now);
        set_state(n, i, NRF_STATE_REGISTERING);
        log_warn("nrf: %s registration failed (%s %ld), retrying in %u s", nrf_nf_type(i),
                 st < 0 ? "no answer" : "status", st, s->backoff_s);
    }
    free(resp);
}

static void do_heartbeat(struct nrf_client *n, enum nrf_nf i, time_t now)
{
    struct nf_state *s = &n->nf[i];
    char *resp = NULL;
    long st = nrf_http_call(n->http, "PATCH", s->url, "application/json-patch+json", HEARTBEAT_BODY,
                            &resp);
    if (st == 204 || st == 200) {
        if (st == 200) /* the NRF may change the timer in its answer */
            s->heartbeat_s = answered_heartbeat(n, resp);
        s->next = now + s->heartbeat_s;
        count(n, OP_HEARTBEAT, OC_OK);
    } else if (st == 404) {
        count(n, OP_HEARTBEAT, OC_NOT_FOUND);
        log_warn("nrf: %s unknown to the NRF (restarted?): registering again", nrf_nf_type(i));
        set_state(n, i, NRF_STATE_REGISTERING);
        s->backoff_s = 0;
        s->next = now; /* at once */
    } else {
        count(n, OP_HEARTBEAT, OC_FAILED);
        /* Keep trying at the heartbeat pace: when the NRF is back, it either still knows us
         * (204) or answers 404 and we register again. */
        s->next = now + (s->heartbeat_s < 5 ? s->heartbeat_s : 5);
        log_warn("nrf: %s heartbeat failed (%s %ld)", nrf_nf_type(i),
                 st < 0 ? "no answer" : "status", st);
    }
    free(resp);
}

static void *client_main(void *arg)
{
    struct nrf_client *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        time_t now = time(NULL), wake = now + 3600;
        pthread_mutex_unlock(&n->mu); /* no lock held across network calls */
        for (int i = 0; i < NRF_NF_COUNT; i++) {
            struct nf_state *s = &n->nf[i];
            if (now >= s->next)
                (s->state == NRF_STATE_REGISTERED ? do_heartbeat : do_register)(n, i, now);
            if (s->next < wake)
                wake = s->next;
        }
        pthread_mutex_lock(&n->mu);
        if (!n->first_done) {
            n->first_done = true;
            pthread_cond_broadcast(&n->cv);
        }
        struct timespec ts = {.tv_sec = wake, .tv_nsec = 0};
        while (!n->stop && time(NULL) < wake) {
            if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static void client_free(struct nrf_client *n)
{
    for (int i = 0; i < NRF_NF_COUNT; i++)
        free(n->nf[i].profile);
    nrf_http_free(n->http);
    free(n->root);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

int nrf_client_start(const struct nrf_client_config *c, struct nrf_client **out)
{
    if (c->url == NULL ||
        (strncmp(c->url, "https://", 8) != 0 && strncmp(c->url, "http://", 7) != 0) ||
        strlen(c->url) > 1000)
        return IOTSEC_ERR_INVALID;
    struct nrf_client *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return IOTSEC_ERR_NOMEM;
    pthread_mutex_init(&n->mu, NULL);
    /* CLOCK_REALTIME waits: the deadlines are time() values */
    pthread_cond_init(&n->cv, NULL);
    size_t len = strlen(c->url);
    n->root = strndup(c->url, c->url[len - 1] == '/' ? len - 1 : len);
    n->proposed_hb = c->heartbeat_s;
    struct nrf_http_config hc = {.ca_file = c->ca_file,
                                 .cert_file = c->cert_file,
                                 .key_file = c->key_file,
                                 .timeout_ms = c->timeout_ms};
    n->http = nrf_http_new(&hc);
    int rc = n->root && n->http ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    for (int i = 0; rc == IOTSEC_OK && i < NRF_NF_COUNT; i++) {
        struct nf_state *s = &n->nf[i];
        snprintf(s->url, sizeof(s->url), "%s/nnrf-nfm/v1/nf-instances/%s", n->root,
                 i == NRF_NF_AUSF ? c->profile.ids.ausf : c->profile.ids.udm);
        if ((s->profile = nrf_profile_json(&c->profile, (enum nrf_nf)i)) == NULL)
            rc = IOTSEC_ERR_NOMEM;
        set_state(n, (enum nrf_nf)i, NRF_STATE_REGISTERING);
    }
    if (rc == IOTSEC_OK && pthread_create(&n->thread, NULL, client_main, n) != 0)
        rc = IOTSEC_ERR_NOMEM;
    if (rc != IOTSEC_OK) {
        client_free(n);
        return rc;
    }
    n->started = true;
    *out = n;
    return IOTSEC_OK;
}

enum nrf_state nrf_client_wait_first(struct nrf_client *n, unsigned timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&n->mu);
    while (!n->first_done) {
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&n->mu);
    /* registered only when both are */
    for (int i = 0; i < NRF_NF_COUNT; i++) {
        if (atomic_load(&n->state[i]) != NRF_STATE_REGISTERED)
            return NRF_STATE_REGISTERING;
    }
    return NRF_STATE_REGISTERED;
}

void nrf_client_stop(struct nrf_client *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    for (int i = 0; i < NRF_NF_COUNT; i++) {
        if (n->nf[i].state != NRF_STATE_REGISTERED)
            continue;
        long st = nrf_http_call(n->http, "DELETE", n->nf[i].url, NULL, NULL, NULL);
        count(n, OP_DEREGISTER,
              st == 204 || st == 200 ? OC_OK
              : st == 404            ? OC_NOT_FOUND
                                     : OC_FAILED);
        set_state(n, (enum nrf_nf)i, NRF_STATE_DEREGISTERED);
        log_info("nrf: %s deregistered (status %ld)", nrf_nf_type(i), st);
    }
    client_free(n);
}

int nrf_client_metrics(struct nrf_client *n, struct strbuf *out)
{
    static const char *const op[] = {"register", "heartbeat", "deregister"};
    static const char *const oc[] = {"ok", "not_found", "failed"};
    int rc = strbuf_appendf(out, "# HELP iotsec_nrf_registered 1 while the NF instance is "
                                 "registered with the NRF.\n"
                                 "# TYPE iotsec_nrf_registered gauge\n");
    for (int i = 0; rc == IOTSEC_OK && i < NRF_NF_COUNT; i++)
        rc = strbuf_appendf(out, "iotsec_nrf_registered{nf_type=\"%s\"} %d\n",
                            nrf_nf_type((enum nrf_nf)i),
                            atomic_load(&n->state[i]) == NRF_STATE_REGISTERED);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(out, "# HELP iotsec_nrf_requests_total Requests to the NRF by "
                                 "operation and outcome.\n"
                                 "# TYPE iotsec_nrf_requests_total counter\n");
    for (int i = 0; rc == IOTSEC_OK && i < OP_COUNT; i++) {
        for (int j = 0; rc == IOTSEC_OK && j < OC_COUNT; j++)
            rc = strbuf_appendf(out, "iotsec_nrf_requests_total{op=\"%s\",outcome=\"%s\"} %llu\n",
                                op[i], oc[j], (unsigned long long)atomic_load(&n->count[i][j]));
    }
    return rc;
}
