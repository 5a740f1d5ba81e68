/* The load of the SQN crash tests: a burst of generate-auth-data requests (HTTP/2 + TLS as
 * the AMF's NF client, many in flight on one curl multi) spread round-robin over one or more
 * running instances, each vector's SQN recorded in its subscriber's ledger (a repeat fails
 * the test), until a deadline; then the test's own disruption (a SIGKILL, a database
 * restart) while the requests in flight finish or fail. */
#ifndef IOTSEC_TEST_AV_BURST_H
#define IOTSEC_TEST_AV_BURST_H

#include <stddef.h>

#include "fixture.h"
#include "sqn_ledger.h"

struct av_burst {
    struct daemon_fixture *fx; /* the instances fx[0..instances); TLS material is fx[0]'s */
    int instances;
    int avoid; /* an instance no request is relaunched at (the one to be killed), or -1 */
    const char *supi_prefix;   /* subscriber s is "<supi_prefix><s>" */
    struct sqn_ledger *ledger; /* ledger[s] for subscriber s */
    int subscribers;
    int in_flight;
    /* An answer other than 200 (status, body or ""); NULL: ignored. */
    void (*refused)(void *ctx, int instance, long status, const char *answer);
    /* At the deadline, once: the disruption. */
    void (*at_deadline)(void *ctx);
    void *ctx;
};

/* Runs the burst for deadline_ms, then at_deadline, then until every request has finished.
 * Returns the vectors received (200 answers). */
size_t av_burst_run(const struct av_burst *b, long deadline_ms);

#endif
