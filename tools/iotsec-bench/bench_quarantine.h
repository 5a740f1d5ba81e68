/* The policy capability in the analytics benchmark (bench_quarantine.c). */
#ifndef IOTSEC_BENCH_QUARANTINE_H
#define IOTSEC_BENCH_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

struct bench_quarantine;

/* Creates subscriptions for devices bots_from..devices-1 (named by identity()) in a fresh
 * store and a policy instance (the default policy) over it. NULL on failure. */
struct bench_quarantine *bench_quarantine_new(uint32_t bots_from, uint32_t devices,
                                              const void *key, size_t key_len,
                                              const char *(*identity)(uint32_t, char *, size_t));
/* An an_finding_cb's work: a bot's finding goes to the policy. */
void bench_quarantine_finding(struct bench_quarantine *q, const struct an_finding *f);
/* Waits for the policy's jobs and counts quarantined subscriptions. */
uint64_t bench_quarantine_count(struct bench_quarantine *q);
void bench_quarantine_free(struct bench_quarantine *q);

#endif
