/* Shared plumbing of iotsec-bench: timing, and the one-JSON-object-per-figure output on
 * stdout (human text goes to stderr). */
#ifndef IOTSEC_BENCH_H
#define IOTSEC_BENCH_H

#include <stdint.h>

/* Monotonic seconds. */
double bench_now(void);

/* Prints {"bench":name,"value":value,"unit":unit,"cores":cores} on stdout, and a readable
 * line on stderr. */
void bench_report(const char *name, double value, const char *unit, int cores);

/* Runs fn(arg, i) for i = 0.. repeatedly for about `seconds` (after a short warm-up) and
 * returns operations per second. fn returns 0 on success; a failure aborts the benchmark
 * with a message (a benchmark of a failing operation measures nothing). */
typedef int (*bench_op)(void *arg, uint64_t i);
double bench_rate(const char *what, bench_op fn, void *arg, double seconds);

/* Benchmark groups, each printing its figures. Return 0 on success. */
int bench_aka(double seconds);
int bench_suci(double seconds);

/* The SBI groups run a real iotsecd (bench_sbi.c): sbi-auth (complete 5G AKA over HTTP/2 +
 * TLS, 100k subscribers) and import (1M subscribers through the admin face). */
struct bench_sbi_opts {
    double seconds;       /* the measured window of each load phase */
    unsigned connections; /* HTTP/2 connections to the SBI face */
    unsigned streams;     /* concurrent authentications per connection */
    int keep;             /* keep the daemon's temporary directory (and its log) */
    int import_only;      /* import: skip the authentications after it (A/B rounds) */
    unsigned subscribers; /* sbi-auth: subscribers imported and drawn from (0: 100k) */
};
int bench_sbi_auth(const struct bench_sbi_opts *o);
int bench_import(const struct bench_sbi_opts *o);
int bench_sbi_import_auth(const struct bench_sbi_opts *o);
int bench_kek_rotate(const struct bench_sbi_opts *o); /* bench_kek.c */
int bench_console(const struct bench_sbi_opts *o); /* bench_console.c: the Fleet page at 1M */
/* sbi-auth with one, then two iotsecd instances on one PostgreSQL database (--postgresql):
 * complete 5G AKA/s, p99 and SQN reservations/s across instances (bench_sbi_cluster.c). */
int bench_sbi_cluster(const struct bench_sbi_opts *o);
/* 5G AKA with NRF access tokens on the SBI against mTLS alone, same run (bench_sbi_oauth.c). */
int bench_sbi_oauth(const struct bench_sbi_opts *o);
/* The northbound face (bench_northbound.c): token-checked GETs over h2 and HTTP/1.1
 * keep-alive against a real iotsecd, with /healthz on the same face as the baseline. */
int bench_northbound(const struct bench_sbi_opts *o);

/* The cost of persisting findings and mappings against memory only (bench_evidence.c). */
int bench_evidence(void);

/* Security analytics on a synthetic fleet (bench_analytics.c). */
struct bench_analytics_opts {
    unsigned devices; /* fleet size (100000; the figure: 1000000) */
    unsigned records; /* flow records (2000000; the figure: 20000000) */
    int engine_only;  /* skip the naive implementation and the benign suite (profiling) */
};
int bench_analytics(const struct bench_analytics_opts *o);
/* The benign suite with the default policy (bench_benign.c): quarantines, flagged windows. */
int bench_analytics_benign(void);

/* Zero-touch provisioning against a real iotsecd (bench_provision.c, with tools/iotsec-sim):
 * onboardings/s direct and relayed, bulk activation, each with a same-run baseline. */
struct bench_provision_opts {
    unsigned devices;     /* devices per onboarding phase (4000) */
    unsigned activations; /* lines of the bulk activation (100000) */
    int keep;
};
int bench_provision(const struct bench_provision_opts *o);
/* Location events in-process: baseline and area check + notification fan-out. */
int bench_location(double seconds);
/* Group messaging in process (bench_group.c): LKH rekeys at 1M members vs the O(N) re-push. */
int bench_group(double seconds);
/* Thread-CPU operations per second of fn over about `seconds` of CPU (bench_group.c). */
double bench_group_cpu_rate(bench_op fn, void *arg, double seconds);
/* Batch-signed protection (alg 2) of a loaded group, with the ECDSA P-256 comparison and the
 * device's amortised verify (bench_group_batch.c); run by bench_group. */
struct group;
struct prov_sign_key;
int bench_group_batch(struct group *g, const struct prov_sign_key *sk, const uint8_t pub[32],
                      double seconds);
/* Unicast fan-out of one message to n members through the outbound engine
 * (bench_group_fanout.c); run by bench_group. */
int bench_group_fanout(uint32_t n);
/* Personal IoT Networks (bench_pin.c): PINE authentications through a PEGC vs the crypto
 * ceiling, revocation latency, PEGC state per PINE (AUTH); token-checked decisions on the
 * northbound face vs /healthz (NB); a 10,000-PINE PIN and the memory per PINE (MEM). */
#define PIN_BENCH_AUTH 1u
#define PIN_BENCH_NB   2u
#define PIN_BENCH_MEM  4u
#define PIN_BENCH_ALL  7u
int bench_pin(double seconds, unsigned parts);
/* Flows from IPFIX and Kafka (bench_flows.c): IPFIX parse rate vs JSON lines, parse + detect,
 * Kafka consumption from librdkafka's mock cluster vs parsing alone. */
int bench_flows(double seconds);

#endif
