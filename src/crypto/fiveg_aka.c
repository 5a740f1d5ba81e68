#include "crypto/fiveg_aka.h"

#include <string.h>

#include "base/err.h"
#include "crypto/autn.h"
#include "crypto/ct.h"
#include "crypto/kdf.h"
#include "crypto/milenage.h"

int fiveg_amf_separation_bit(const uint8_t amf[2])
{
    return (amf[0] & 0x80) != 0;
}

static int valid_snn(const char *snn, size_t snn_len)
{
    return snn != NULL && snn_len > 0 && snn_len <= KDF_MAX_PARAM;
}

int fiveg_he_av_generate(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                         const uint8_t sqn[6], const uint8_t amf[2], const char *snn,
                         size_t snn_len, struct fiveg_he_av *av)
{
    if (!fiveg_amf_separation_bit(amf) || !valid_snn(snn, snn_len))
        return IOTSEC_ERR_INVALID;
    struct milenage_out m;
    int rc = milenage_compute(k, opc, rand, sqn, amf,
                              MILENAGE_F1 | MILENAGE_F2_F5 | MILENAGE_F3 | MILENAGE_F4, &m);
    if (rc != IOTSEC_OK)
        goto out;
    memcpy(av->rand, rand, 16);
    autn_build(sqn, m.ak, amf, m.mac_a, av->autn);

    struct hmac_sha256 ck_ik;
    kdf_ck_ik_key(m.ck, m.ik, &ck_ik);
    rc = kdf_kausf(&ck_ik, snn, snn_len, av->autn, av->kausf); /* AUTN starts with SQN^AK */
    if (rc == IOTSEC_OK)
        rc = kdf_res_star(&ck_ik, snn, snn_len, rand, m.res, sizeof(m.res), av->xres_star);
    hmac_sha256_wipe(&ck_ik);
out:
    secure_wipe(&m, sizeof(m));
    if (rc != IOTSEC_OK)
        secure_wipe(av, sizeof(*av));
    return rc;
}

int fiveg_ue_authenticate(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                          const uint8_t autn[16], const char *snn, size_t snn_len,
                          struct fiveg_ue_response *out)
{
    if (!valid_snn(snn, snn_len))
        return IOTSEC_ERR_INVALID;
    struct milenage_out m;
    int rc = autn_verify(k, opc, rand, autn, out->sqn, &m);
    if (rc != IOTSEC_OK)
        return rc;
    if (!fiveg_amf_separation_bit(autn + 6)) {
        rc = IOTSEC_ERR_UNSUPPORTED;
        goto out;
    }
    struct hmac_sha256 ck_ik;
    kdf_ck_ik_key(m.ck, m.ik, &ck_ik);
    rc = kdf_kausf(&ck_ik, snn, snn_len, autn, out->kausf);
    if (rc == IOTSEC_OK)
        rc = kdf_res_star(&ck_ik, snn, snn_len, rand, m.res, sizeof(m.res), out->res_star);
    hmac_sha256_wipe(&ck_ik);
    memcpy(out->ck, m.ck, 16);
    memcpy(out->ik, m.ik, 16);
out:
    secure_wipe(&m, sizeof(m));
    if (rc != IOTSEC_OK)
        secure_wipe(out, sizeof(*out));
    return rc;
}
