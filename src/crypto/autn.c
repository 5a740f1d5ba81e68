#include "crypto/autn.h"

#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"

static const uint8_t resync_amf[2] = {0, 0};

void autn_build(const uint8_t sqn[6], const uint8_t ak[6], const uint8_t amf[2],
                const uint8_t mac_a[8], uint8_t autn[AUTN_LEN])
{
    for (int i = 0; i < 6; i++)
        autn[i] = sqn[i] ^ ak[i];
    memcpy(autn + 6, amf, 2);
    memcpy(autn + 8, mac_a, 8);
}

int autn_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                const uint8_t autn[AUTN_LEN], uint8_t sqn[6], struct milenage_out *out)
{
    /* AK first: SQN is needed as an input of f1. */
    int rc = milenage_compute(k, opc, rand, NULL, NULL,
                              MILENAGE_F2_F5 | MILENAGE_F3 | MILENAGE_F4, out);
    if (rc != IOTSEC_OK)
        return rc;
    for (int i = 0; i < 6; i++)
        sqn[i] = autn[i] ^ out->ak[i];
    rc = milenage_compute(k, opc, rand, sqn, autn + 6, MILENAGE_F1, out);
    if (rc == IOTSEC_OK && !ct_equal(out->mac_a, autn + 8, MILENAGE_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    if (rc != IOTSEC_OK) {
        secure_wipe(out, sizeof(*out));
        memset(sqn, 0, 6);
    }
    return rc;
}

int auts_build(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
               const uint8_t sqn_ms[6], uint8_t auts[AUTS_LEN])
{
    struct milenage_out m;
    int rc = milenage_compute(k, opc, rand, sqn_ms, resync_amf, MILENAGE_F1 | MILENAGE_F5_STAR,
                              &m);
    if (rc == IOTSEC_OK) {
        for (int i = 0; i < 6; i++)
            auts[i] = sqn_ms[i] ^ m.ak_star[i];
        memcpy(auts + 6, m.mac_s, 8);
    }
    secure_wipe(&m, sizeof(m));
    return rc;
}

int auts_recover_sqn_ms(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                        const uint8_t auts[AUTS_LEN], uint8_t sqn_ms[6])
{
    struct milenage_out m;
    int rc = milenage_compute(k, opc, rand, NULL, NULL, MILENAGE_F5_STAR, &m);
    if (rc == IOTSEC_OK) {
        for (int i = 0; i < 6; i++)
            sqn_ms[i] = auts[i] ^ m.ak_star[i];
        rc = milenage_compute(k, opc, rand, sqn_ms, resync_amf, MILENAGE_F1, &m);
    }
    if (rc == IOTSEC_OK && !ct_equal(m.mac_s, auts + 6, MILENAGE_MAC_LEN))
        rc = IOTSEC_ERR_AUTH;
    if (rc != IOTSEC_OK)
        memset(sqn_ms, 0, 6);
    secure_wipe(&m, sizeof(m));
    return rc;
}
