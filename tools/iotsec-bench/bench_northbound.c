/* The northbound group, against a real iotsecd it starts itself: an AF is registered (its
 * client certificate minted here), gets an access token (client credentials over mTLS), then
 * token-checked GETs run over HTTP/2 and over HTTP/1.1 keep-alive, each after a baseline of
 * GET /healthz on the same face, same client, same run (what TLS + HTTP alone cost).
 *
 * The resources: GET /3gpp-monitoring-event/v1/{scsAsId}/subscriptions/{id} (T8: the token
 * check, the subscription, the decision (consents from the cache of decisions) and its audit
 * record), the figure; and GET /iotsec-exposure/v1/{scsAsId}/whoami, the token check
 * alone (the bearer token found in the verified-token cache, its binding to this connection's
 * certificate, the AF's registration and scope: expose_nb_authenticate(), no store read).
 * Targets (issue 5): >= 30,000 requests/s on 2 cores with p99 < 5 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"
#include "bench_northbound.h"
#include "h2client.h"

#define WARMUP_S 1.0

struct h2run {
    struct nb_result *r;
    struct sbi_hist hist;
    const char *path;
    int measuring, stop;
    double until;
};

struct h2req {
    struct h2run *run;
    struct h2c *c;
    double t0;
};

static void h2_done(void *user, int status, const char *body, size_t len);

static int h2_send(struct h2req *q)
{
    q->t0 = bench_now();
    return h2c_submit(q->c, "GET", q->run->path, NULL, NULL, 0, h2_done, q);
}

static void h2_done(void *user, int status, const char *body, size_t len)
{
    (void)body, (void)len;
    struct h2req *q = user;
    double t = bench_now();
    if (q->run->stop) /* aborted at the deadline: not a failure */
        return;
    if (status != 200)
        q->run->r->failed++;
    else if (q->run->measuring && t < q->run->until) {
        q->run->r->ok++;
        sbi_hist_add(&q->run->hist, t - q->t0);
    }
    if (!q->run->stop)
        h2_send(q);
}

int nb_load_h2(const struct sbi_daemon *d, const struct nb_load *l, struct nb_result *r)
{
    memset(r, 0, sizeof(*r));
    char auth[9000] = "";
    if (l->authorization)
        snprintf(auth, sizeof(auth), "%s", l->authorization);
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = l->port,
                             .ca_file = l->ca,
                             .cert_file = l->cert,
                             .key_file = l->key,
                             .max_streams = l->depth,
                             .max_response = 1024,
                             .max_request = 64,
                             .authorization = l->authorization ? auth : NULL};
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c **cs = calloc(l->connections, sizeof(*cs));
    struct h2req *qs = calloc((size_t)l->connections * l->depth, sizeof(*qs));
    struct h2run run = {.r = r, .path = l->path};
    if (loop == NULL || cs == NULL || qs == NULL || sbi_hist_init(&run.hist) != 0)
        return -1;
    char err[256];
    int rc = 0;
    for (unsigned i = 0; i < l->connections && rc == 0; i++) {
        cs[i] = h2c_connect(loop, &cfg, err, sizeof(err));
        if (cs[i] == NULL) {
            fprintf(stderr, "northbound: h2 connect: %s\n", err);
            rc = -1;
            break;
        }
        for (unsigned s = 0; s < l->depth; s++) {
            struct h2req *q = &qs[i * l->depth + s];
            q->run = &run;
            q->c = cs[i];
            h2_send(q);
        }
    }
    double from = bench_now() + l->warmup_s;
    run.until = from + l->seconds;
    while (rc == 0) {
        double now = bench_now();
        if (!run.measuring && now >= from) {
            run.measuring = 1;
            sbi_cpu_begin(&r->cpu, d->pid);
        }
        if (now >= run.until)
            break;
        if (h2c_loop_run(loop, 10) <= 0) {
            fprintf(stderr, "northbound: every h2 connection broke\n");
            rc = -1;
        }
    }
    sbi_cpu_end(&r->cpu, d->pid);
    run.stop = 1;
    r->elapsed_s = l->seconds;
    r->p50_ms = sbi_hist_ms(&run.hist, 0.5);
    r->p99_ms = sbi_hist_ms(&run.hist, 0.99);
    for (unsigned i = 0; i < l->connections; i++)
        if (cs[i]) {
            h2c_abort(cs[i]);
            h2c_close(cs[i]);
        }
    h2c_loop_free(loop);
    sbi_hist_free(&run.hist);
    free(cs);
    free(qs);
    return rc;
}

/* ---- one request on an h2 connection, for setup ---- */

struct once {
    int status, done;
    char body[9000];
};

static void once_done(void *user, int status, const char *body, size_t len)
{
    struct once *o = user;
    o->status = status;
    snprintf(o->body, sizeof(o->body), "%.*s", (int)len, body ? body : "");
    o->done = 1;
}

static int request(uint16_t port, const char *ca, const char *cert, const char *key,
                   const char *method, const char *path, const char *ctype, const char *body,
                   struct once *o)
{
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = port,
                             .ca_file = ca,
                             .cert_file = cert,
                             .key_file = key,
                             .max_streams = 1,
                             .max_response = 8192,
                             .max_request = 16384};
    struct h2c_loop *loop = h2c_loop_new();
    char err[256];
    struct h2c *c = loop ? h2c_connect(loop, &cfg, err, sizeof(err)) : NULL;
    memset(o, 0, sizeof(*o));
    if (c == NULL ||
        h2c_submit(c, method, path, ctype, body, body ? strlen(body) : 0, once_done, o) != 0) {
        fprintf(stderr, "northbound: %s %s: cannot send\n", method, path);
        if (c)
            h2c_close(c);
        h2c_loop_free(loop);
        return -1;
    }
    double until = bench_now() + 30;
    while (!o->done && bench_now() < until && h2c_loop_run(loop, 50) > 0)
        ;
    h2c_close(c);
    h2c_loop_free(loop);
    return o->done ? 0 : -1;
}

/* The JSON string value of key in a flat answer (enough for af_id and access_token). */
static int json_field(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (e == NULL || (size_t)(e - p) >= cap)
        return -1;
    snprintf(out, cap, "%.*s", (int)(e - p), p);
    return 0;
}

/* Mints the AF's certificate, registers it, returns its id and a token. */
static int setup_af(struct sbi_daemon *d, char *af_id, size_t af_cap, char *token, size_t tcap,
                    char *cert, char *key)
{
    char cmd[1024], ca[256], acrt[256], akey[256];
    snprintf(cert, 256, "%s/af.pem", d->dir);
    snprintf(key, 256, "%s/af.key", d->dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-keyout '%s' -out '%s' -subj /CN=bench-af >/dev/null 2>&1",
             key, cert);
    if (system(cmd) != 0) {
        fprintf(stderr, "northbound: cannot mint the AF certificate (openssl)\n");
        return -1;
    }
    FILE *fp = fopen(cert, "r");
    char pem[4096] = "", body[8192], *o = body;
    size_t n = fp ? fread(pem, 1, sizeof(pem) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    pem[n] = 0;
    o += snprintf(o, sizeof(body),
                  "{\"name\":\"bench\",\"services\":[\"monitoring-event\"],"
                  "\"cert_pem\":\"");
    for (const char *p = pem; *p && o < body + sizeof(body) - 8; p++) {
        if (*p == '\n')
            *o++ = '\\', *o++ = 'n';
        else
            *o++ = *p;
    }
    snprintf(o, (size_t)(body + sizeof(body) - o), "\"}");
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca));
    sbi_daemon_pki(d, "admin", "crt", acrt, sizeof(acrt));
    sbi_daemon_pki(d, "admin", "key", akey, sizeof(akey));
    struct once r;
    if (request(d->admin_port, ca, acrt, akey, "POST", "/admin/v1/afs", "application/json", body,
                &r) != 0 ||
        r.status != 201 || json_field(r.body, "af_id", af_id, af_cap) != 0) {
        fprintf(stderr, "northbound: AF registration failed (%d %s)\n", r.status, r.body);
        return -1;
    }
    if (request(d->north_port, ca, cert, key, "POST", "/oauth2/token",
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials&scope=monitoring-event", &r) != 0 ||
        r.status != 200 || json_field(r.body, "access_token", token, tcap) != 0) {
        fprintf(stderr, "northbound: no token (%d %s)\n", r.status, r.body);
        return -1;
    }
    return 0;
}

/* A device, a consent for the AF, and a T8 monitoring subscription for it: returns the
 * subscription's path (from the Location header's path part), or -1 (no T8 route, refused). */
static int setup_subscription(struct sbi_daemon *d, const char *af_id, const char *cert,
                              const char *key, const char *bearer, char *path, size_t cap)
{
    char ca[256], acrt[256], akey[256], body[1024], ext[300];
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca));
    sbi_daemon_pki(d, "admin", "crt", acrt, sizeof(acrt));
    sbi_daemon_pki(d, "admin", "key", akey, sizeof(akey));
    struct once r;
    const char *supi = "imsi-001019999999999";
    snprintf(body, sizeof(body),
             "{\"supi\":\"%s\",\"k\":\"000102030405060708090a0b0c0d0e0f\","
             "\"opc\":\"000102030405060708090a0b0c0d0e0f\",\"amf\":\"8000\"}",
             supi);
    if (request(d->admin_port, ca, acrt, akey, "POST", "/admin/v1/subscribers", "application/json",
                body, &r) != 0 ||
        r.status != 201)
        return -1;
    snprintf(body, sizeof(body),
             "{\"af_id\":\"%s\",\"scope\":\"monitoring-event\",\"supi\":\"%s\"}", af_id, supi);
    char pat[64];
    snprintf(pat, sizeof(pat), "%s\":\"", supi);
    const char *at;
    if (request(d->admin_port, ca, acrt, akey, "POST", "/admin/v1/consents", "application/json",
                body, &r) != 0 ||
        r.status != 201 || (at = strstr(r.body, pat)) == NULL)
        return -1;
    snprintf(ext, sizeof(ext), "%.*s", (int)strcspn(at + strlen(pat), "\""), at + strlen(pat));
    /* the notification sink is on loopback: allow-listed for this AF (docs/operations.md) */
    char afpath[160];
    snprintf(afpath, sizeof(afpath), "/admin/v1/afs/%s", af_id);
    if (request(d->admin_port, ca, acrt, akey, "PATCH", afpath, "application/json",
                "{\"allow_destinations\":[\"127.0.0.1/32:9\"]}", &r) != 0 ||
        r.status != 200)
        return -1;
    snprintf(body, sizeof(body),
             "{\"monitoringType\":\"LOCATION_REPORTING\",\"externalId\":\"%s\","
             "\"notificationDestination\":\"https://127.0.0.1:9/bench\","
             "\"maximumNumberOfReports\":1000,\"monitorExpireTime\":\"2099-01-01T00:00:00Z\"}",
             ext);
    char url[160];
    snprintf(url, sizeof(url), "/3gpp-monitoring-event/v1/%s/subscriptions", af_id);
    /* the POST carries the token: a connection configured with it */
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = d->north_port,
                             .ca_file = ca,
                             .cert_file = cert,
                             .key_file = key,
                             .max_streams = 1,
                             .max_response = 8192,
                             .max_request = 4096,
                             .authorization = bearer};
    struct h2c_loop *loop = h2c_loop_new();
    char err[256];
    struct h2c *c = loop ? h2c_connect(loop, &cfg, err, sizeof(err)) : NULL;
    memset(&r, 0, sizeof(r));
    if (c &&
        h2c_submit(c, "POST", url, "application/json", body, strlen(body), once_done, &r) == 0) {
        double until = bench_now() + 30;
        while (!r.done && bench_now() < until && h2c_loop_run(loop, 50) > 0)
            ;
    }
    if (c)
        h2c_close(c);
    h2c_loop_free(loop);
    char self[512];
    if (r.status != 201 || json_field(r.body, "self", self, sizeof(self)) != 0) {
        fprintf(stderr, "northbound: no T8 subscription (%d %.200s)\n", r.status, r.body);
        return -1;
    }
    const char *p = strstr(self, "/3gpp-monitoring-event/");
    if (p == NULL || strlen(p) >= cap)
        return -1;
    snprintf(path, cap, "%s", p);
    return 0;
}

int nb_t8_setup(struct sbi_daemon *d, char *path, size_t path_cap, char *bearer, size_t bearer_cap,
                char *cert, char *key)
{
    char af[80], token[4096];
    if (setup_af(d, af, sizeof(af), token, sizeof(token), cert, key) != 0)
        return -1;
    snprintf(bearer, bearer_cap, "Bearer %s", token);
    return setup_subscription(d, af, cert, key, bearer, path, path_cap);
}

/* CPU microseconds per successful answer, of the daemon and of the load client. */
static double daemon_us(const struct nb_result *r)
{
    return r->ok ? 1e6 * r->cpu.daemon_s / (double)r->ok : 0;
}

static double client_us(const struct nb_result *r)
{
    return r->ok ? 1e6 * r->cpu.client_s / (double)r->ok : 0;
}

static int phase(struct sbi_daemon *d, int h2, struct nb_load *l, const char *name,
                 struct nb_result *r)
{
    fprintf(stderr, "northbound: %s over %s, %u connections x %u in flight\n", name,
            h2 ? "h2" : "HTTP/1.1 keep-alive", l->connections, l->depth);
    int rc = h2 ? nb_load_h2(d, l, r) : nb_load_h1(d, l, r);
    if (rc != 0)
        return -1;
    sbi_cpu_print(name, &r->cpu, r->elapsed_s);
    uint64_t all = r->ok + r->failed;
    if (r->failed > 0)
        fprintf(stderr, "northbound: %s: %llu of %llu failed\n", name,
                (unsigned long long)r->failed, (unsigned long long)all);
    return all == 0 || (double)r->failed / (double)all > 0.001 ? -1 : 0;
}

int bench_northbound(const struct bench_sbi_opts *o)
{
    struct sbi_daemon d;
    if (sbi_daemon_start(&d) != 0 || d.north_port == 0) {
        sbi_daemon_cleanup(&d, o->keep);
        return 1;
    }
    char af[80], token[4096], cert[256], key[256], ca[256], path[160], bearer[4200];
    int rc = setup_af(&d, af, sizeof(af), token, sizeof(token), cert, key);
    sbi_daemon_pki(&d, "ca", "crt", ca, sizeof(ca));
    snprintf(path, sizeof(path), "/iotsec-exposure/v1/%s/whoami", af);
    snprintf(bearer, sizeof(bearer), "Bearer %s", token);
    struct nb_load base = {.path = "/healthz",
                           .warmup_s = WARMUP_S,
                           .seconds = o->seconds,
                           .ca = ca,
                           .cert = cert,
                           .key = key,
                           .port = d.north_port};
    struct nb_load tok = base;
    tok.path = path;
    tok.authorization = bearer;
    struct nb_result hb, ht, b1, t1, hs = {0}, s1 = {0};
    char sub_path[256];
    int have_sub =
        rc == 0 && setup_subscription(&d, af, cert, key, bearer, sub_path, sizeof(sub_path)) == 0;
    struct nb_load sub = tok;
    sub.path = sub_path;
    if (!have_sub)
        fprintf(stderr, "northbound: no T8 subscription GET: measuring the token check only\n");
    /* h2: the SBI options' connections x streams; HTTP/1.1: one request in flight per
     * connection, so as many connections as h2 has requests in flight (at most 256) */
    base.connections = tok.connections = o->connections;
    base.depth = tok.depth = o->streams;
    if (rc == 0)
        rc = phase(&d, 1, &base, "GET /healthz", &hb);
    if (rc == 0)
        rc = phase(&d, 1, &tok, "token-checked GET", &ht);
    sub.connections = o->connections;
    sub.depth = o->streams;
    if (rc == 0 && have_sub)
        rc = phase(&d, 1, &sub, "GET monitoring subscription", &hs);
    unsigned h1c = o->connections * o->streams > 256 ? 256 : o->connections * o->streams;
    base.connections = tok.connections = h1c;
    base.depth = tok.depth = 1;
    if (rc == 0)
        rc = phase(&d, 0, &base, "GET /healthz", &b1);
    if (rc == 0)
        rc = phase(&d, 0, &tok, "token-checked GET", &t1);
    sub.connections = h1c;
    sub.depth = 1;
    if (rc == 0 && have_sub)
        rc = phase(&d, 0, &sub, "GET monitoring subscription", &s1);
    if (rc == 0) {
        sbi_report("northbound.h2.token_get", (double)ht.ok / ht.elapsed_s, "per_s", 0);
        sbi_report("northbound.h2.token_get.p99", ht.p99_ms, "ms", 2);
        sbi_report("northbound.h2.healthz_baseline", (double)hb.ok / hb.elapsed_s, "per_s", 0);
        sbi_report("northbound.h1.token_get", (double)t1.ok / t1.elapsed_s, "per_s", 0);
        sbi_report("northbound.h1.token_get.p99", t1.p99_ms, "ms", 2);
        sbi_report("northbound.h1.healthz_baseline", (double)b1.ok / b1.elapsed_s, "per_s", 0);
        sbi_report("northbound.h2.healthz_baseline.daemon_cpu", daemon_us(&hb), "us", 1);
        sbi_report("northbound.h1.healthz_baseline.daemon_cpu", daemon_us(&b1), "us", 1);
        sbi_report("northbound.h1.healthz_baseline.client_cpu", client_us(&b1), "us", 1);
        if (have_sub) {
            sbi_report("northbound.h2.subscription_get", (double)hs.ok / hs.elapsed_s, "per_s", 0);
            sbi_report("northbound.h2.subscription_get.p99", hs.p99_ms, "ms", 2);
            sbi_report("northbound.h1.subscription_get", (double)s1.ok / s1.elapsed_s, "per_s", 0);
            sbi_report("northbound.h1.subscription_get.p99", s1.p99_ms, "ms", 2);
            /* the daemon's CPU per answer: what a noisy shared machine does not distort */
            sbi_report("northbound.h2.subscription_get.daemon_cpu", daemon_us(&hs), "us", 1);
            sbi_report("northbound.h1.subscription_get.daemon_cpu", daemon_us(&s1), "us", 1);
        }
        /* the figure is the subscription GET; without T8, the token check alone */
        const struct nb_result *f2 = have_sub ? &hs : &ht, *f1 = have_sub ? &s1 : &t1;
        double r2 = (double)f2->ok / f2->elapsed_s, r1 = (double)f1->ok / f1->elapsed_s;
        fprintf(stderr, "northbound: targets on the %s\n",
                have_sub ? "monitoring subscription GET" : "token-checked GET (no T8 route)");
        fprintf(stderr,
                "northbound: p50 h2 %.2f ms, HTTP/1.1 %.2f ms; healthz p99 h2 %.2f ms, "
                "HTTP/1.1 %.2f ms\n",
                f2->p50_ms, f1->p50_ms, hb.p99_ms, b1.p99_ms);
        fprintf(stderr, "  target %-40s %s\n", ">= 30000 GET/s (h2)",
                r2 >= 30000 ? "met" : "NOT MET");
        fprintf(stderr, "  target %-40s %s\n", ">= 30000 GET/s (HTTP/1.1)",
                r1 >= 30000 ? "met" : "NOT MET");
        fprintf(stderr, "  target %-40s %s\n", "p99 < 5 ms (both)",
                f2->p99_ms < 5 && f1->p99_ms < 5 ? "met" : "NOT MET");
    }
    int status = sbi_daemon_stop(&d);
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = -1;
    sbi_daemon_log_tail(&d, rc ? 20 : 3);
    sbi_daemon_cleanup(&d, o->keep);
    return rc ? 1 : 0;
}
