#include "usim.h"

#include <string.h>

#include "base/err.h"
#include "crypto/autn.h"
#include "crypto/ct.h"
#include "crypto/fiveg_aka.h"

uint64_t sqn_from_bytes(const uint8_t b[6])
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = (v << 8) | b[i];
    return v;
}

void sqn_to_bytes(uint64_t sqn, uint8_t b[6])
{
    for (int i = 5; i >= 0; i--, sqn >>= 8)
        b[i] = (uint8_t)sqn;
}

void usim_init(struct usim *u, const uint8_t k[16], const uint8_t opc[16])
{
    memset(u, 0, sizeof(*u));
    memcpy(u->k, k, 16);
    memcpy(u->opc, opc, 16);
    u->delta = USIM_DEFAULT_DELTA;
}

static uint64_t highest_seq(const struct usim *u, unsigned *ind)
{
    uint64_t best = 0;
    *ind = 0;
    for (unsigned i = 0; i < USIM_IND_SLOTS; i++) {
        if (u->seq_ms[i] > best) {
            best = u->seq_ms[i];
            *ind = i;
        }
    }
    return best;
}

uint64_t usim_sqn_ms(const struct usim *u)
{
    unsigned ind;
    uint64_t seq = highest_seq(u, &ind);
    return (seq << USIM_IND_BITS) | ind;
}

static int fresh(const struct usim *u, uint64_t sqn)
{
    uint64_t seq = sqn >> USIM_IND_BITS;
    unsigned ind = (unsigned)(sqn & (USIM_IND_SLOTS - 1)), max_ind;
    uint64_t delta = u->delta ? u->delta : USIM_DEFAULT_DELTA;
    uint64_t max_seq = highest_seq(u, &max_ind);
    /* A vector older than the newest accepted one is fine in its own slot (vectors held by
     * different serving networks are used out of order); only a jump ahead is bounded. */
    return seq > u->seq_ms[ind] && (seq <= max_seq || seq - max_seq <= delta);
}

enum usim_result usim_authenticate(struct usim *u, const uint8_t rand[16],
                                   const uint8_t autn[16], const char *snn, size_t snn_len,
                                   struct usim_response *out)
{
    struct fiveg_ue_response ue;
    memset(out, 0, sizeof(*out));
    int rc = fiveg_ue_authenticate(u->k, u->opc, rand, autn, snn, snn_len, &ue);
    if (rc == IOTSEC_ERR_AUTH)
        return USIM_MAC_FAILURE;
    if (rc == IOTSEC_ERR_UNSUPPORTED)
        return USIM_NON_5G;
    if (rc != IOTSEC_OK)
        return USIM_INVALID;
    enum usim_result result = USIM_OK;
    uint64_t sqn = sqn_from_bytes(ue.sqn);
    if (fresh(u, sqn)) {
        u->seq_ms[sqn & (USIM_IND_SLOTS - 1)] = sqn >> USIM_IND_BITS;
        memcpy(out->res_star, ue.res_star, 16);
        memcpy(out->kausf, ue.kausf, 32);
    } else {
        uint8_t sqn_ms[6];
        sqn_to_bytes(usim_sqn_ms(u), sqn_ms);
        result = auts_build(u->k, u->opc, rand, sqn_ms, out->auts) == IOTSEC_OK ? USIM_SYNC_FAILURE
                                                                            : USIM_INVALID;
    }
    secure_wipe(&ue, sizeof(ue));
    return result;
}

void usim_wipe(struct usim *u)
{
    secure_wipe(u, sizeof(*u));
}
