/* The load generator: connections x streams "flows", each running complete 5G AKA
 * authentications back to back (POST ue-authentications, the device's RES*, PUT the
 * confirmation), or GET /healthz for the HTTP/TLS baseline. One thread, one epoll loop: the
 * client shares the machine's two cores with the daemon, so it must stay cheap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "bench.h"
#include "bench_sbi.h"
#include "crypto/fiveg_aka.h"
#include "crypto/kdf.h"
#include "h2client.h"

#define DRAIN_S            10.0 /* after the window, in-flight flows get this long to finish */
#define DISTINCT_TIMEOUT_S 600.0
#define RESP_MAX           2048
#define REQ_MAX            256
#define STRIDE             999983u /* a prime: i * STRIDE mod n visits every subscriber once */
#define SAMPLES            3       /* failure bodies kept for the report */

enum phase { WARMUP, MEASURE, DRAIN };
enum hist_kind { H_ALL, H_FIRST, H_LATER, H_KINDS };
enum fail_kind { F_STATUS, F_TRANSPORT, F_PARSE, F_VERIFY, F_RESULT, F_KINDS };

struct flow {
    struct load *L;
    struct h2c *conn;
    uint32_t sub;
    int first; /* the subscriber's first authentication in this run */
    char supi[32];
    double t0;
};

struct load {
    const struct sbi_load_opts *o;
    struct flow *flows;
    unsigned active, retired; /* flows running; flows stopped early (connection unusable) */
    enum phase phase;
    uint64_t rng, seq, ok, ok_total, failed;
    uint64_t by_status[600], by_kind[F_KINDS];
    char sample[SAMPLES][200];
    unsigned samples;
    struct sbi_hist hist[H_KINDS];
    uint8_t *seen; /* a bit per subscriber: authentication started before */
};

static void fail(struct load *L, enum fail_kind kind, int status, const char *body)
{
    L->failed++;
    L->by_kind[kind]++;
    if (kind == F_STATUS || kind == F_TRANSPORT)
        L->by_status[status >= 0 && status < 600 ? status : 0]++;
    if (L->samples < SAMPLES)
        snprintf(L->sample[L->samples++], sizeof(L->sample[0]), "kind %d status %d: %.150s",
                 (int)kind, status, body ? body : "");
}

static void succeed(struct flow *f)
{
    struct load *L = f->L;
    L->ok_total++;
    if (L->phase != MEASURE)
        return;
    double lat = bench_now() - f->t0;
    sbi_hist_add(&L->hist[H_ALL], lat);
    sbi_hist_add(&L->hist[f->first ? H_FIRST : H_LATER], lat);
    L->ok++;
}

/* The next subscriber, or -1 when a distinct run has handed out all of its subscribers. */
static int64_t pick(struct load *L)
{
    uint32_t n = L->o->subscribers;
    if (L->o->distinct) {
        if (L->seq >= L->o->distinct)
            return -1;
        uint64_t stride = n % STRIDE ? STRIDE : 1;
        return (int64_t)((L->seq++ * stride) % n);
    }
    L->rng ^= L->rng >> 12, L->rng ^= L->rng << 25, L->rng ^= L->rng >> 27; /* xorshift64* */
    return (int64_t)(((L->rng * 0x2545f4914f6cdd1dull) >> 32) % n);
}

static void on_created(void *user, int status, const char *body, size_t len);
static void on_confirmed(void *user, int status, const char *body, size_t len);
static void on_healthz(void *user, int status, const char *body, size_t len);

/* Starts the flow's next operation, or retires the flow. */
static void flow_next(struct flow *f)
{
    struct load *L = f->L;
    int64_t sub = L->phase == DRAIN ? -1 : L->o->kind == SBI_LOAD_HEALTHZ ? 0 : pick(L);
    if (sub < 0) {
        L->active--;
        return;
    }
    f->t0 = bench_now();
    int rc;
    if (L->o->kind == SBI_LOAD_HEALTHZ) {
        rc = h2c_submit(f->conn, "GET", "/healthz", NULL, NULL, 0, on_healthz, f);
    } else {
        char body[160];
        f->sub = (uint32_t)sub;
        f->first = !(L->seen[sub / 8] & (1u << (sub % 8)));
        L->seen[sub / 8] |= (uint8_t)(1u << (sub % 8));
        sbi_sub_supi(f->sub, f->supi);
        int n = snprintf(body, sizeof(body),
                         "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"" SBI_SNN "\"}", f->supi);
        rc = h2c_submit(f->conn, "POST", "/nausf-auth/v1/ue-authentications", "application/json",
                        body, (size_t)n, on_created, f);
    }
    if (rc != 0) { /* the connection is gone (its requests failed already): stop, not spin */
        L->retired++;
        L->active--;
    }
}

static void on_healthz(void *user, int status, const char *body, size_t len)
{
    struct flow *f = user;
    (void)len;
    if (status == 200)
        succeed(f);
    else
        fail(f->L, status ? F_STATUS : F_TRANSPORT, status, body);
    flow_next(f);
}

/* The string value after `pattern` ("key":" in the daemon's compact JSON) into out. */
static int scan(const char *body, const char *pattern, char *out, size_t out_len)
{
    const char *p = strstr(body, pattern);
    if (p == NULL)
        return -1;
    p += strlen(pattern);
    const char *e = strchr(p, '"');
    if (e == NULL || (size_t)(e - p) >= out_len)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

/* The device's side of the challenge: AUTN checks out under the subscriber's K/OPc, RES*
 * matches the HXRES* the AUSF sent (what the SEAF verifies), then the confirmation. */
static int answer_challenge(struct flow *f, const char *body)
{
    char rand_h[40], autn_h[40], hx_h[40], href[320], put[64], res_h[33];
    uint8_t rand[16], autn[16], hx[16], k[16], opc[16], hres[16];
    if (scan(body, "\"rand\":\"", rand_h, sizeof(rand_h)) ||
        scan(body, "\"autn\":\"", autn_h, sizeof(autn_h)) ||
        scan(body, "\"hxresStar\":\"", hx_h, sizeof(hx_h)) ||
        scan(body, "\"href\":\"", href, sizeof(href)) || hex_decode(rand_h, rand, 16) ||
        hex_decode(autn_h, autn, 16) || hex_decode(hx_h, hx, 16))
        return F_PARSE;
    const char *path = strncmp(href, "https://", 8) == 0 ? strchr(href + 8, '/') : NULL;
    if (path == NULL)
        return F_PARSE;
    struct fiveg_ue_response r;
    sbi_sub_keys(f->sub, k, opc);
    if (fiveg_ue_authenticate(k, opc, rand, autn, SBI_SNN, sizeof(SBI_SNN) - 1, &r) != 0)
        return F_VERIFY;
    kdf_hres_star(rand, r.res_star, hres);
    if (memcmp(hres, hx, 16) != 0)
        return F_VERIFY;
    hex_encode(r.res_star, 16, res_h);
    int n = snprintf(put, sizeof(put), "{\"resStar\":\"%s\"}", res_h);
    if (h2c_submit(f->conn, "PUT", path, "application/json", put, (size_t)n, on_confirmed, f))
        return F_TRANSPORT;
    return -1;
}

static void on_created(void *user, int status, const char *body, size_t len)
{
    struct flow *f = user;
    (void)len;
    if (status != 201) {
        fail(f->L, status ? F_STATUS : F_TRANSPORT, status, body);
        flow_next(f);
        return;
    }
    int kind = answer_challenge(f, body);
    if (kind >= 0) {
        fail(f->L, (enum fail_kind)kind, status, body);
        flow_next(f);
    }
}

static void on_confirmed(void *user, int status, const char *body, size_t len)
{
    struct flow *f = user;
    (void)len;
    char supi[40];
    if (status != 200) {
        fail(f->L, status ? F_STATUS : F_TRANSPORT, status, body);
    } else if (!strstr(body, "\"authResult\":\"AUTHENTICATION_SUCCESS\"") ||
               scan(body, "\"supi\":\"", supi, sizeof(supi)) || strcmp(supi, f->supi) != 0) {
        fail(f->L, F_RESULT, status, body);
    } else {
        succeed(f);
    }
    flow_next(f);
}

static void print_failures(const struct load *L)
{
    static const char *kinds[] = {"HTTP status", "no answer (reset, connection lost, timeout)",
                                  "unparsable answer", "challenge did not verify (AUTN/HXRES*)",
                                  "confirmation not AUTHENTICATION_SUCCESS for the SUPI"};
    if (L->retired)
        fprintf(stderr, "sbi: %u flows stopped early: their connection became unusable\n",
                L->retired);
    if (L->failed == 0)
        return;
    fprintf(stderr, "sbi: %llu FAILURES:\n", (unsigned long long)L->failed);
    for (int k = 0; k < F_KINDS; k++)
        if (L->by_kind[k])
            fprintf(stderr, "  %-56s %llu\n", kinds[k], (unsigned long long)L->by_kind[k]);
    for (int s = 1; s < 600; s++)
        if (L->by_status[s])
            fprintf(stderr, "  status %d: %llu\n", s, (unsigned long long)L->by_status[s]);
    for (unsigned i = 0; i < L->samples; i++)
        fprintf(stderr, "  e.g. %s\n", L->sample[i]);
}

/* Connection i goes to d, or with a peer, to d and the peer in turn (a flow's POST and PUT
 * use one connection, so the instance that holds its AUSF context). */
static int connect_all(const struct sbi_daemon *d, const struct sbi_daemon *peer,
                       struct h2c_loop *loop, struct h2c **conns, unsigned n, unsigned streams,
                       const char *authorization)
{
    char ca[160], crt[160], key[160], err[256];
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca)); /* a peer is a copy: the same PKI */
    sbi_daemon_pki(d, "nf", "crt", crt, sizeof(crt));
    sbi_daemon_pki(d, "nf", "key", key, sizeof(key));
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = d->sbi_port,
                             .ca_file = ca,
                             .cert_file = crt,
                             .key_file = key,
                             .max_streams = streams,
                             .max_response = RESP_MAX,
                             .max_request = REQ_MAX,
                             .authorization = authorization};
    for (unsigned i = 0; i < n; i++) {
        cfg.port = peer != NULL && i % 2 ? peer->sbi_port : d->sbi_port;
        if ((conns[i] = h2c_connect(loop, &cfg, err, sizeof(err))) == NULL) {
            fprintf(stderr, "sbi: SBI face: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* Drives the loop through warm-up, the measured window and the drain. */
static void drive(struct load *L, struct h2c_loop *loop, struct h2c **conns, pid_t daemon,
                  struct sbi_load_result *r)
{
    const struct sbi_load_opts *o = L->o;
    double t = bench_now(), start = t, end = 0;
    double warm_end = o->seconds > 0 ? t + o->warmup_s : t;
    if (o->seconds <= 0) /* a distinct run measures from the start */
        L->phase = MEASURE, sbi_cpu_begin(&r->cpu, daemon);
    while (L->active > 0 && h2c_loop_run(loop, 5) >= 0) {
        t = bench_now();
        if (L->phase == WARMUP && t >= warm_end) {
            L->phase = MEASURE, start = t;
            sbi_cpu_begin(&r->cpu, daemon);
        }
        int over = o->seconds > 0 ? t >= start + o->seconds : t >= start + DISTINCT_TIMEOUT_S;
        if (L->phase == MEASURE && over) {
            L->phase = DRAIN, end = t;
            sbi_cpu_end(&r->cpu, daemon);
        }
        if (L->phase == DRAIN && t >= end + DRAIN_S)
            break;
    }
    if (L->phase == MEASURE) { /* a distinct run that finished, or every connection gone */
        end = bench_now();
        sbi_cpu_end(&r->cpu, daemon);
    }
    L->phase = DRAIN;
    for (unsigned i = 0; i < o->connections; i++) {
        if (!h2c_ok(conns[i]))
            fprintf(stderr, "sbi: connection %u broke during the run: %s\n", i,
                    h2c_error(conns[i]));
        h2c_abort(conns[i]); /* whatever is still in flight has timed out */
    }
    r->elapsed_s = end > start ? end - start : 0;
}

static void summarise(const struct load *L, struct sbi_load_result *r)
{
    const struct sbi_hist *h = L->hist;
    r->ok = L->ok, r->ok_total = L->ok_total, r->failed = L->failed;
    r->p50_ms = sbi_hist_ms(&h[H_ALL], 0.5), r->p99_ms = sbi_hist_ms(&h[H_ALL], 0.99);
    r->max_ms = h[H_ALL].max_s * 1e3;
    r->n_first = h[H_FIRST].n, r->n_later = h[H_LATER].n;
    r->p50_first_ms = sbi_hist_ms(&h[H_FIRST], 0.5);
    r->p99_first_ms = sbi_hist_ms(&h[H_FIRST], 0.99);
    r->p50_later_ms = sbi_hist_ms(&h[H_LATER], 0.5);
    r->p99_later_ms = sbi_hist_ms(&h[H_LATER], 0.99);
}

int sbi_load_run(const struct sbi_daemon *d, const struct sbi_load_opts *o,
                 struct sbi_load_result *r)
{
    struct load *L = calloc(1, sizeof(*L));
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c **conns = calloc(o->connections, sizeof(*conns));
    unsigned nflows = o->connections * o->streams;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (L == NULL || loop == NULL || conns == NULL ||
        (L->seen = calloc(o->subscribers / 8 + 1, 1)) == NULL ||
        (L->flows = calloc(nflows, sizeof(*L->flows))) == NULL)
        goto out;
    for (int h = 0; h < H_KINDS; h++)
        if (sbi_hist_init(&L->hist[h]) != 0)
            goto out;
    L->o = o;
    L->rng = 0x9e3779b97f4a7c15ull;
    L->phase = WARMUP;
    r->cpu.peer = o->peer ? o->peer->pid : 0;
    if (connect_all(d, o->peer, loop, conns, o->connections, o->streams, o->authorization) != 0)
        goto out;
    L->active = nflows;
    for (unsigned i = 0; i < nflows; i++) {
        L->flows[i] = (struct flow){.L = L, .conn = conns[i % o->connections]};
        flow_next(&L->flows[i]);
    }
    drive(L, loop, conns, d->pid, r);
    summarise(L, r);
    print_failures(L);
    rc = 0;
out:
    h2c_loop_free(loop);
    free(conns);
    for (int h = 0; L && h < H_KINDS; h++)
        sbi_hist_free(&L->hist[h]);
    if (L)
        free(L->seen), free(L->flows);
    free(L);
    return rc;
}
