/* The UE-side check of the SQN crash tests: every vector's SQN recovered independently
 * (AUTN xor AK, AK from Milenage f5 with the subscriber's K and OPc) and kept per subscriber,
 * so that a repeat fails the test. */
#ifndef IOTSEC_TEST_SQN_LEDGER_H
#define IOTSEC_TEST_SQN_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define SQN_LEDGER_MAX 200000 /* SQNs kept per subscriber */

struct sqn_ledger {
    uint8_t k[16], opc[16];
    uint64_t *seen; /* SQN_LEDGER_MAX entries */
    size_t n;
};

/* Allocates the ledger's table (fails the test when it cannot). */
void sqn_ledger_init(struct sqn_ledger *l);
void sqn_ledger_free(struct sqn_ledger *l);

/* Recovers the SQN of one authenticationVector answer (JSON text) and records it; fails the
 * test, naming who, when it was issued before. Returns the SQN. */
uint64_t sqn_ledger_record(struct sqn_ledger *l, const char *answer, const char *who);

#endif
