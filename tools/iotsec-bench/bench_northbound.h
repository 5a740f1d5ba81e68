/* The northbound benchmark's parts (bench_northbound*.c). */
#ifndef IOTSEC_BENCH_NORTHBOUND_H
#define IOTSEC_BENCH_NORTHBOUND_H

#include <stdint.h>

#include "bench_sbi.h"

/* One load phase: `connections` connections, each with `depth` requests in flight (HTTP/2
 * streams; HTTP/1.1 keep-alive carries one at a time, so depth is 1 there), GET path with
 * authorization (NULL: none) for warmup_s then seconds. */
struct nb_load {
    const char *path, *authorization;
    unsigned connections, depth;
    double warmup_s, seconds;
    const char *ca, *cert, *key; /* files */
    uint16_t port;
};

struct nb_result {
    double elapsed_s;
    uint64_t ok, failed;
    double p50_ms, p99_ms;
    struct sbi_cpu cpu;
};

/* bench_northbound.c: HTTP/2 over TLS, `depth` streams per connection (also used by the PIN
 * benchmark's token-checked reads). */
int nb_load_h2(const struct sbi_daemon *d, const struct nb_load *l, struct nb_result *r);

/* bench_northbound.c: an AF (certificate files cert, key of 256 bytes each) with a T8
 * monitoring subscription: *path of its GET and *bearer the Authorization value. 0 or -1. */
int nb_t8_setup(struct sbi_daemon *d, char *path, size_t path_cap, char *bearer, size_t bearer_cap,
                char *cert, char *key);

/* bench_northbound_open.c: the same GETs at a fixed offered rate (requests/s, open loop), at
 * most connections x depth in flight; each latency runs from the request's due time. */
int nb_load_h2_open(const struct sbi_daemon *d, const struct nb_load *l, double rate,
                    struct nb_result *r);

/* bench_northbound_h1.c: HTTP/1.1 keep-alive over TLS (own minimal client: epoll, OpenSSL). */
int nb_load_h1(const struct sbi_daemon *d, const struct nb_load *l, struct nb_result *r);

#endif
