/* EAP-AKA' key derivation (RFC 5448 §3.3 and §3.4, as updated by RFC 9048; TS 33.501 6.1.3.1
 * for its use in 5G, where the network name is the serving network name). */
#ifndef IOTSEC_CRYPTO_EAP_AKA_PRIME_H
#define IOTSEC_CRYPTO_EAP_AKA_PRIME_H

#include <stddef.h>
#include <stdint.h>

/* The EAP-AKA' key schedule: MK = PRF'(IK'||CK', "EAP-AKA'"||Identity) cut into these keys.
 * All secrets: wipe after use. In 5G, KAUSF is the first 256 bits of EMSK. */
struct eap_aka_prime_keys {
    uint8_t k_encr[16];
    uint8_t k_aut[32];
    uint8_t k_re[32];
    uint8_t msk[64];
    uint8_t emsk[64];
};

/* CK' || IK' = KDF(CK||IK, FC=0x20, P0 = access network name, P1 = SQN XOR AK). */
int eap_aka_prime_ck_ik_prime(const uint8_t ck[16], const uint8_t ik[16],
                              const char *network_name, size_t name_len,
                              const uint8_t sqn_xor_ak[6], uint8_t ck_prime[16],
                              uint8_t ik_prime[16]);

/* PRF'(K, S) of RFC 5448 §3.4 (T1 = HMAC(K, S || 0x01), Tn = HMAC(K, Tn-1 || S || n)),
 * producing out_len bytes (at most 255 * 32). */
int eap_aka_prime_prf(const uint8_t *key, size_t key_len, const void *s, size_t s_len,
                      uint8_t *out, size_t out_len);

/* The key schedule from CK', IK' and the EAP identity (as sent, without the type prefix of
 * the SUPI for 5G: TS 33.501 uses the SUPI value). */
int eap_aka_prime_keys(const uint8_t ck_prime[16], const uint8_t ik_prime[16],
                       const char *identity, size_t identity_len,
                       struct eap_aka_prime_keys *out);

#endif
