/* Deterministic subscribers and their bulk import through the admin face: one CSV body
 * (header supi,k,opc,amf) in one POST, as an operator script would send it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "bench.h"
#include "bench_sbi.h"
#include "h2client.h"

#define ROW_MAX          96 /* "imsi-" 15 digits "," 32 hex "," 32 hex ",8000\n" is 92 bytes */
#define IMPORT_TIMEOUT_S 900.0

void sbi_sub_supi(uint32_t i, char out[32])
{
    snprintf(out, 32, "imsi-00101%010u", i);
}

/* splitmix64: a fixed, well-mixed function of the index, so the benchmark's device side can
 * recompute any subscriber's keys without storing a million of them. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void put64(uint8_t *out, uint64_t v)
{
    for (int b = 0; b < 8; b++, v >>= 8)
        out[b] = (uint8_t)v;
}

void sbi_sub_keys(uint32_t i, uint8_t k[16], uint8_t opc[16])
{
    uint64_t base = (uint64_t)i * 4;
    put64(k, mix(base)), put64(k + 8, mix(base + 1));
    put64(opc, mix(base + 2)), put64(opc + 8, mix(base + 3));
}

static char *build_csv(uint32_t first, uint32_t n, size_t *len)
{
    static const char header[] = "supi,k,opc,amf\n";
    char *csv = malloc(sizeof(header) + (size_t)n * ROW_MAX);
    if (csv == NULL)
        return NULL;
    size_t at = sizeof(header) - 1;
    memcpy(csv, header, at);
    for (uint32_t i = first; i < first + n; i++) {
        uint8_t k[16], opc[16];
        char supi[32], kh[33], oh[33];
        sbi_sub_supi(i, supi);
        sbi_sub_keys(i, k, opc);
        hex_encode(k, 16, kh);
        hex_encode(opc, 16, oh);
        at += (size_t)snprintf(csv + at, ROW_MAX, "%s,%s,%s,8000\n", supi, kh, oh);
    }
    *len = at;
    return csv;
}

struct import_wait {
    int done, status;
    char body[512];
};

static void import_done(void *user, int status, const char *body, size_t len)
{
    struct import_wait *w = user;
    w->done = 1, w->status = status;
    snprintf(w->body, sizeof(w->body), "%.*s", (int)len, body);
}

struct h2c *sbi_admin_connect(const struct sbi_daemon *d, struct h2c_loop *loop,
                              size_t max_response)
{
    char ca[160], crt[160], key[160], err[256];
    sbi_daemon_pki(d, "ca", "crt", ca, sizeof(ca));
    sbi_daemon_pki(d, "admin", "crt", crt, sizeof(crt));
    sbi_daemon_pki(d, "admin", "key", key, sizeof(key));
    struct h2c_config cfg = {.host = "127.0.0.1",
                             .port = d->admin_port,
                             .ca_file = ca,
                             .cert_file = crt,
                             .key_file = key,
                             .max_streams = 1,
                             .max_response = max_response};
    struct h2c *c = h2c_connect(loop, &cfg, err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "sbi: admin face: %s\n", err);
    return c;
}

/* Sends the body and waits for the answer (IMPORT_TIMEOUT_S at most). */
static int post_import(struct h2c_loop *loop, struct h2c *c, const char *csv, size_t len,
                       struct import_wait *w)
{
    if (h2c_submit_ref(c, "POST", "/admin/v1/subscribers/import", "text/csv", csv, len, import_done,
                       w) != 0)
        return -1;
    double deadline = bench_now() + IMPORT_TIMEOUT_S;
    while (!w->done && bench_now() < deadline)
        if (h2c_loop_run(loop, 100) < 0)
            break;
    if (!w->done)
        h2c_abort(c); /* completes the request with status 0 */
    return 0;
}

int sbi_import(const struct sbi_daemon *d, uint32_t n, double *seconds)
{
    return sbi_import_range(d, 0, n, seconds);
}

int sbi_import_range(const struct sbi_daemon *d, uint32_t first, uint32_t n, double *seconds)
{
    size_t len = 0;
    char *csv = build_csv(first, n, &len);
    struct h2c_loop *loop = h2c_loop_new();
    struct h2c *c = csv && loop ? sbi_admin_connect(d, loop, 4096) : NULL;
    struct import_wait w = {0};
    int rc = -1;
    if (c != NULL) {
        fprintf(stderr, "sbi: importing %u subscribers (%.1f MiB of CSV) in one POST\n", n,
                (double)len / (1024 * 1024));
        double t0 = bench_now();
        if (post_import(loop, c, csv, len, &w) == 0) {
            *seconds = bench_now() - t0;
            char want[48];
            snprintf(want, sizeof(want), "\"imported\":%u", n);
            rc = w.status == 200 && strstr(w.body, want) ? 0 : -1;
            if (rc != 0)
                fprintf(stderr, "sbi: import failed after %.1f s: status %d%s, body '%s'\n",
                        *seconds, w.status, w.status ? "" : " (no answer, connection lost)",
                        w.body);
        }
    }
    h2c_loop_free(loop);
    free(csv);
    return rc;
}
