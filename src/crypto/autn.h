/* AUTN and AUTS (TS 33.102 §6.3): the network's authentication token, its verification on
 * the USIM side, and resynchronisation. SQN freshness (is SQN acceptable to the USIM?) is
 * the caller's policy, not decided here. */
#ifndef IOTSEC_CRYPTO_AUTN_H
#define IOTSEC_CRYPTO_AUTN_H

#include <stdint.h>

#include "crypto/milenage.h"

#define AUTN_LEN 16
#define AUTS_LEN 14

/* AUTN = (SQN XOR AK) || AMF || MAC-A. */
void autn_build(const uint8_t sqn[6], const uint8_t ak[6], const uint8_t amf[2],
                const uint8_t mac_a[8], uint8_t autn[AUTN_LEN]);

/* USIM side: recovers SQN from AUTN, recomputes MAC-A and compares it in constant time.
 * On IOTSEC_OK, sqn holds the network's SQN and out all Milenage outputs (RES, CK, IK...):
 * the caller wipes out. Returns IOTSEC_ERR_AUTH when MAC-A does not verify (out is then
 * wiped). */
int autn_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                const uint8_t autn[AUTN_LEN], uint8_t sqn[6], struct milenage_out *out);

/* USIM side: AUTS = (SQN_MS XOR AK*) || MAC-S, where MAC-S = f1*(SQN_MS, RAND, AMF=0000)
 * (TS 33.102 §6.3.3: the resynchronisation AMF is a dummy of all zeros). */
int auts_build(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
               const uint8_t sqn_ms[6], uint8_t auts[AUTS_LEN]);

/* Network side: recovers SQN_MS from AUTS and verifies MAC-S (constant time). Returns
 * IOTSEC_ERR_AUTH when MAC-S does not verify (sqn_ms is then zeroed). */
int auts_recover_sqn_ms(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                        const uint8_t auts[AUTS_LEN], uint8_t sqn_ms[6]);

#endif
