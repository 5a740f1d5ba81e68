/* Milenage (TS 35.206): the 3GPP authentication and key generation functions f1, f1*, f2,
 * f3, f4, f5, f5* over AES-128, with the default constants r1..r5 and c1..c5. */
#ifndef IOTSEC_CRYPTO_MILENAGE_H
#define IOTSEC_CRYPTO_MILENAGE_H

#include <stdint.h>

#define MILENAGE_K_LEN   16
#define MILENAGE_OP_LEN  16
#define MILENAGE_RAND_LEN 16
#define MILENAGE_SQN_LEN 6
#define MILENAGE_AMF_LEN 2
#define MILENAGE_MAC_LEN 8
#define MILENAGE_RES_LEN 8
#define MILENAGE_CK_LEN  16
#define MILENAGE_IK_LEN  16
#define MILENAGE_AK_LEN  6

/* Which functions milenage_compute() evaluates; ask only for what you need, each output
 * block costs one AES encryption. */
enum milenage_functions {
    MILENAGE_F1 = 1 << 0,      /* MAC-A and MAC-S (needs sqn and amf) */
    MILENAGE_F2_F5 = 1 << 1,   /* RES and AK */
    MILENAGE_F3 = 1 << 2,      /* CK */
    MILENAGE_F4 = 1 << 3,      /* IK */
    MILENAGE_F5_STAR = 1 << 4, /* AK* (resynchronisation) */
    MILENAGE_ALL = 0x1f,
};

/* Outputs of Milenage. Holds secrets (CK, IK, RES): wipe after use. */
struct milenage_out {
    uint8_t mac_a[MILENAGE_MAC_LEN];   /* f1 */
    uint8_t mac_s[MILENAGE_MAC_LEN];   /* f1* */
    uint8_t res[MILENAGE_RES_LEN];     /* f2 */
    uint8_t ck[MILENAGE_CK_LEN];       /* f3 */
    uint8_t ik[MILENAGE_IK_LEN];       /* f4 */
    uint8_t ak[MILENAGE_AK_LEN];       /* f5 */
    uint8_t ak_star[MILENAGE_AK_LEN];  /* f5* */
};

/* OPc = E_K(OP) XOR OP. Returns IOTSEC_OK or an error from the AES layer. */
int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);

/* Evaluates the functions in `which` (enum milenage_functions) into out; fields not asked
 * for are left untouched. sqn and amf may be NULL unless MILENAGE_F1 is asked for. */
int milenage_compute(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                     const uint8_t *sqn, const uint8_t *amf, unsigned which,
                     struct milenage_out *out);

#endif
