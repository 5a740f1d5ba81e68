/* 5G AKA computations (TS 33.501 §6.1.3.2) on both sides: the home environment's
 * authentication vector (UDM/ARPF) and the UE's response (USIM + ME). These are the hot
 * paths: one Milenage key schedule, five AES blocks and one CK||IK HMAC state per vector. */
#ifndef IOTSEC_CRYPTO_FIVEG_AKA_H
#define IOTSEC_CRYPTO_FIVEG_AKA_H

#include <stddef.h>
#include <stdint.h>

/* The 5G HE AV of TS 33.501 §6.1.3.2 step 2: RAND, AUTN, XRES*, KAUSF. KAUSF and XRES* are
 * secrets: wipe after use. */
struct fiveg_he_av {
    uint8_t rand[16];
    uint8_t autn[16];
    uint8_t xres_star[16];
    uint8_t kausf[32];
};

/* Is the AMF separation bit (bit 0 of AMF, TS 33.102 Annex H) set, as 5G requires? */
int fiveg_amf_separation_bit(const uint8_t amf[2]);

/* Network side: the HE AV for subscriber (k, opc) with the given RAND (drawn by the caller
 * with crypto_random(), or fixed for test vectors), SQN and AMF, bound to the serving
 * network name. Returns IOTSEC_ERR_INVALID when the AMF separation bit is 0 or the SNN is
 * empty/over 65535 bytes. */
int fiveg_he_av_generate(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                         const uint8_t sqn[6], const uint8_t amf[2], const char *snn,
                         size_t snn_len, struct fiveg_he_av *av);

/* What the UE computes from a challenge. Secrets: wipe after use. */
struct fiveg_ue_response {
    uint8_t sqn[6];        /* the network's SQN, for the USIM's freshness check */
    uint8_t res_star[16];
    uint8_t kausf[32];
    uint8_t ck[16], ik[16];
};

/* UE side: verifies AUTN (MAC-A in constant time) and the AMF separation bit, then derives
 * RES* and KAUSF. Returns IOTSEC_ERR_AUTH on a MAC failure, IOTSEC_ERR_UNSUPPORTED when the
 * separation bit is 0 ("non-5G authentication unacceptable"). The SQN freshness check is the
 * caller's (the USIM's SQN_MS policy); on a stale SQN the caller answers with AUTS. */
int fiveg_ue_authenticate(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                          const uint8_t autn[16], const char *snn, size_t snn_len,
                          struct fiveg_ue_response *out);

#endif
