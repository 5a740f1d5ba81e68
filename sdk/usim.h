/* libiotsec-device: the USIM side of 5G AKA (TS 33.102 §6.3.3 and Annex C; TS 33.501
 * §6.1.3.2). A device keeps one `struct usim` per subscription, persists it after every
 * call that changed it (the SQN state must survive reboots), and answers the network's
 * challenges with RES* or, when the challenge is stale, with AUTS.
 *
 * SQN = SEQ (43 bits) || IND (5 bits). The USIM remembers, per IND slot, the highest SEQ it
 * accepted; a challenge is fresh when its SEQ is above its slot's, and not implausibly far
 * (more than `delta`) above the highest SEQ accepted in any slot (Annex C.2.2). */
#ifndef IOTSEC_SDK_USIM_H
#define IOTSEC_SDK_USIM_H

#include <stddef.h>
#include <stdint.h>

#define USIM_IND_BITS 5
#define USIM_IND_SLOTS (1u << USIM_IND_BITS)
#define USIM_DEFAULT_DELTA (1ull << 28) /* TS 33.102 C.2.2's recommended order */

struct usim {
    uint8_t k[16];
    uint8_t opc[16];
    uint64_t seq_ms[USIM_IND_SLOTS]; /* highest accepted SEQ per IND; 0 = none yet */
    uint64_t delta;                  /* 0 means USIM_DEFAULT_DELTA */
};

enum usim_result {
    USIM_OK = 0,           /* res_star and kausf are set; the state advanced */
    USIM_SYNC_FAILURE = 1, /* stale SQN: auts is set, send it to the network */
    USIM_MAC_FAILURE = 2,  /* the network does not know K (or AUTN was altered) */
    USIM_NON_5G = 3,       /* AMF separation bit 0: "non-5G authentication unacceptable" */
    USIM_INVALID = -1,     /* bad arguments */
};

struct usim_response {
    uint8_t res_star[16];
    uint8_t kausf[32];
    uint8_t auts[14];
};

/* Initialises a USIM with no SQN history. */
void usim_init(struct usim *u, const uint8_t k[16], const uint8_t opc[16]);

/* Answers a challenge. The response holds secrets: wipe it after use. */
enum usim_result usim_authenticate(struct usim *u, const uint8_t rand[16],
                                   const uint8_t autn[16], const char *snn, size_t snn_len,
                                   struct usim_response *out);

/* SQN_MS as sent in AUTS: the highest accepted SEQ with its IND. */
uint64_t usim_sqn_ms(const struct usim *u);

void usim_wipe(struct usim *u);

/* SQN helpers (48-bit values in 6 big-endian bytes). */
uint64_t sqn_from_bytes(const uint8_t b[6]);
void sqn_to_bytes(uint64_t sqn, uint8_t b[6]);

#endif
