/* sbi-oauth: what NRF-issued access tokens on the SBI cost (issue 12, TS 33.501 §13.4.1).
 * Two real iotsecd with the same 100k subscribers, one with mTLS alone, one that also
 * requires an NRF token (oauth2.sbi, cert_identity on); the bench plays the NRF: it makes the
 * NRF's ES256 key, configures its public half, and signs a token (aud AUSF, scope
 * nausf-auth, sub the NF certificate's instance id) that every request carries. The two are
 * measured alternately, four times each, so drift on the shared machine falls on both. Target:
 * less than 10% fewer complete 5G AKA/s than mTLS alone (verified tokens are cached). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"
#include "bench_sbi.h"
#include "jose/jws.h"

#define SUBSCRIBERS 100000u
#define NRF_ID      "8f7c2a14-5b3e-4d6a-9c1f-0a2b3c4d5e6f"
#define AMF_ID      "5e4f0f36-0d8e-4a65-9b1f-2f1c6a2d0a01" /* pki/nf.crt's urn:uuid SAN */
#define ROUNDS      4 /* alternations of the two, each --seconds / ROUNDS long */

/* Between init and run: the NRF's public key and the oauth2 section. */
static int prepare(const char *inst, void *ctx)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/nrf-token.pem", inst);
    FILE *f = fopen(path, "w");
    if (f == NULL || PEM_write_PUBKEY(f, ctx) != 1) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    snprintf(path, sizeof(path), "%s/iotsec.yaml", inst);
    if ((f = fopen(path, "a")) == NULL)
        return -1;
    fputs("nrf:\n  instance_id: " NRF_ID "\n  token_keys: [nrf-token.pem]\n"
          "oauth2:\n  sbi: true\n  cert_identity: true\n",
          f);
    return fclose(f) == 0 ? 0 : -1;
}

static char *token(EVP_PKEY *key)
{
    char claims[256], *tok = NULL;
    static const char hdr[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
    long long now = (long long)time(NULL);
    int n = snprintf(claims, sizeof(claims),
                     "{\"iss\":\"" NRF_ID "\",\"sub\":\"" AMF_ID "\",\"aud\":\"AUSF\","
                     "\"scope\":\"nausf-auth\",\"exp\":%lld,\"iat\":%lld}",
                     now + 3600, now);
    if (jws_sign(key, hdr, sizeof(hdr) - 1, claims, (size_t)n, &tok) != 0)
        return NULL;
    char *bearer = malloc(strlen(tok) + 8);
    if (bearer)
        sprintf(bearer, "Bearer %s", tok);
    free(tok);
    return bearer;
}

struct side {
    const char *name;
    struct sbi_daemon d;
    const char *authorization;
    uint64_t ok;
    double seconds, daemon_cpu_s, p99_ms;
};

static int measure(struct side *s, const struct bench_sbi_opts *o, double seconds)
{
    struct sbi_load_opts lo = {.kind = SBI_LOAD_AUTH,
                               .connections = o->connections,
                               .streams = o->streams,
                               .warmup_s = 1.0,
                               .seconds = seconds,
                               .subscribers = SUBSCRIBERS,
                               .authorization = s->authorization};
    struct sbi_load_result r;
    if (sbi_load_run(&s->d, &lo, &r) != 0)
        return -1;
    double all = (double)(r.ok_total + r.failed);
    if (all == 0 || (double)r.failed / all > 0.001) {
        fprintf(stderr, "sbi-oauth: %s: %llu of %.0f failed: the figures are void\n", s->name,
                (unsigned long long)r.failed, all);
        return -1;
    }
    sbi_cpu_print(s->name, &r.cpu, r.elapsed_s);
    s->ok += r.ok;
    s->seconds += r.elapsed_s;
    s->daemon_cpu_s += r.cpu.daemon_s;
    if (r.p99_ms > s->p99_ms)
        s->p99_ms = r.p99_ms;
    return 0;
}

static int stop(struct side *s, int keep)
{
    int status = sbi_daemon_stop(&s->d), rc = 0;
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "sbi-oauth: %s: iotsecd did not exit 0 after SIGTERM\n", s->name);
        rc = -1;
    }
    if (s->d.dir[0])
        sbi_daemon_log_tail(&s->d, rc ? 20 : 2);
    sbi_daemon_cleanup(&s->d, keep);
    return rc;
}

int bench_sbi_oauth(const struct bench_sbi_opts *o)
{
    fprintf(stderr,
            "sbi-oauth: complete 5G AKA over HTTP/2 + TLS 1.3 (mTLS), without and with "
            "an NRF access token on every request (%d cores shared)\n",
            sbi_cores());
    EVP_PKEY *key = EVP_EC_gen("P-256");
    struct side off = {.name = "mTLS alone"}, on = {.name = "mTLS + NRF token"};
    char *bearer = key ? token(key) : NULL;
    on.authorization = bearer;
    double s = 0;
    int rc = bearer ? 0 : -1;
    if (rc == 0)
        rc = sbi_daemon_start(&off.d);
    if (rc == 0)
        rc = sbi_import(&off.d, SUBSCRIBERS, &s);
    if (rc == 0)
        rc = sbi_daemon_start_prepared(&on.d, prepare, key);
    if (rc == 0)
        rc = sbi_import(&on.d, SUBSCRIBERS, &s);
    double window = o->seconds / ROUNDS < 2 ? 2 : o->seconds / ROUNDS;
    for (int round = 0; rc == 0 && round < ROUNDS; round++) {
        rc = measure(&off, o, window);
        if (rc == 0)
            rc = measure(&on, o, window);
    }
    if (rc == 0) {
        double r_off = (double)off.ok / off.seconds, r_on = (double)on.ok / on.seconds;
        double us_off = 1e6 * off.daemon_cpu_s / (double)off.ok;
        double us_on = 1e6 * on.daemon_cpu_s / (double)on.ok;
        sbi_report("sbi.auth_5g_aka.mtls_baseline", r_off, "per_s", 0);
        sbi_report("sbi.auth_5g_aka.oauth2", r_on, "per_s", 0);
        sbi_report("sbi.auth_5g_aka.oauth2_vs_mtls", 100.0 * r_on / r_off, "percent", 1);
        sbi_report("sbi.auth_5g_aka.oauth2.p99", on.p99_ms, "ms", 2);
        sbi_report("sbi.auth_5g_aka.mtls_baseline.daemon_cpu", us_off, "us_per_auth", 1);
        sbi_report("sbi.auth_5g_aka.oauth2.daemon_cpu", us_on, "us_per_auth", 1);
        fprintf(stderr, "  target %-40s %s\n", ">= 90% of the mTLS-alone rate",
                r_on >= 0.9 * r_off ? "met" : "NOT MET");
    }
    rc |= stop(&off, o->keep);
    rc |= stop(&on, o->keep);
    free(bearer);
    EVP_PKEY_free(key);
    return rc ? 1 : 0;
}
