/* Pure decisions of provisioning: enrollment matching, SUPI allocation, idempotency,
 * confirmation and rotation targets, the activation rule. No I/O, no clock. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "provision/prov_int.h"

static const char *const reprov_names[] = {"keep", "reset", "never"};

const char *prov_reprovision_name(enum prov_reprovision r)
{
    return (unsigned)r < 3 ? reprov_names[r] : "?";
}

int prov_reprovision_parse(const char *s, enum prov_reprovision *out)
{
    for (unsigned i = 0; s && i < 3; i++)
        if (strcmp(s, reprov_names[i]) == 0) {
            *out = (enum prov_reprovision)i;
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_INVALID;
}

static bool names(const struct prov_enrollment *e, const struct prov_identity *id)
{
    if (e->derived_key != id->derived_key)
        return false;
    if (e->cert_sha256[0] && id->cert_sha256 && strcmp(e->cert_sha256, id->cert_sha256) == 0)
        return true;
    if (e->serial[0] && id->serial && strcmp(e->serial, id->serial) == 0)
        return true;
    return e->reg_id[0] && id->reg_id && strcmp(e->reg_id, id->reg_id) == 0;
}

int prov_enrollment_match(const struct prov_enrollment *cands, size_t n,
                          const struct prov_identity *id, prov_proves_fn proves, void *ctx,
                          size_t *index)
{
    /* Individual first: one device of a group can be disabled or treated apart. */
    for (size_t i = 0; i < n; i++)
        if (cands[i].individual && names(&cands[i], id) && proves(&cands[i], ctx)) {
            *index = i;
            return IOTSEC_OK;
        }
    for (size_t i = 0; i < n; i++)
        if (!cands[i].individual && cands[i].derived_key == id->derived_key &&
            proves(&cands[i], ctx)) {
            *index = i;
            return IOTSEC_OK;
        }
    return IOTSEC_ERR_NOTFOUND;
}

static int imsi_digits(const char *s, uint64_t *v)
{
    if (strncmp(s, "imsi-", 5) != 0)
        return -1;
    s += 5;
    size_t n = strlen(s);
    if (n < 6 || n > 15)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return (int)n;
}

int prov_supi_range_parse(const char *first, const char *last, struct prov_supi_range *r)
{
    if (first == NULL || last == NULL)
        return IOTSEC_ERR_INVALID;
    int d1 = imsi_digits(first, &r->first), d2 = imsi_digits(last, &r->last);
    if (d1 < 0 || d1 != d2 || r->first > r->last)
        return IOTSEC_ERR_INVALID;
    r->digits = d1;
    return IOTSEC_OK;
}

int prov_supi_at(const struct prov_supi_range *r, uint64_t n, char *out, size_t len)
{
    if (n > r->last - r->first)
        return IOTSEC_ERR_NOTFOUND;
    int w = snprintf(out, len, "imsi-%0*llu", r->digits, (unsigned long long)(r->first + n));
    return w > 0 && (size_t)w < len ? IOTSEC_OK : IOTSEC_ERR_INVALID;
}

bool prov_same_request(const uint8_t *stored_nonce, const uint8_t *stored_pub,
                       const uint8_t nonce[PROV_NONCE_LEN], const uint8_t pub[PROV_X25519_LEN])
{
    if (stored_nonce == NULL || stored_pub == NULL)
        return false;
    bool a = ct_equal(stored_nonce, nonce, PROV_NONCE_LEN);
    bool b = ct_equal(stored_pub, pub, PROV_X25519_LEN);
    return a && b;
}

enum prov_rot_action prov_rotate_decide(const struct prov_rot_state *s, uint32_t device_version,
                                        const uint8_t nonce[PROV_NONCE_LEN],
                                        const uint8_t pub[PROV_X25519_LEN], int64_t now)
{
    if (device_version != s->current_version)
        return PROV_ROT_BAD_VERSION;
    bool fresh = s->pending_version == s->current_version + 1 &&
                 now - s->pending_since < PROV_PENDING_MAX_AGE_S;
    if (!fresh)
        return PROV_ROT_NEW;
    if (s->has_pending_request && prov_same_request(s->pend_nonce, s->pend_pub, nonce, pub))
        return PROV_ROT_REPLAY;
    return PROV_ROT_RESEAL;
}

enum prov_confirm_target prov_confirm_decide(uint32_t current_version,
                                             const uint8_t *onboard_nonce,
                                             uint32_t pending_version, const uint8_t *pend_nonce,
                                             uint32_t version, const uint8_t nonce[PROV_NONCE_LEN])
{
    if (pending_version != 0 && version == pending_version && pend_nonce &&
        ct_equal(pend_nonce, nonce, PROV_NONCE_LEN))
        return PROV_CONFIRM_ROTATION;
    if (version == current_version && onboard_nonce &&
        ct_equal(onboard_nonce, nonce, PROV_NONCE_LEN))
        return PROV_CONFIRM_ONBOARD;
    return PROV_CONFIRM_NONE;
}

bool prov_same_device(int64_t reg_enrollment, const char *reg_cert, int64_t enrollment,
                      bool individual, const char *cert)
{
    if (reg_enrollment != enrollment && !individual)
        return false;
    if (reg_cert && reg_cert[0]) /* registered by a certificate: only that certificate */
        return cert && strcmp(reg_cert, cert) == 0;
    return true; /* by a derived key: its enrollment, or the operator's individual override */
}

bool prov_should_activate(bool confirmed, bool requires_activation, bool activated)
{
    return confirmed && (!requires_activation || activated);
}

int prov_rotate_key(const uint8_t *k, size_t k_len, const char *cred_id, uint32_t version,
                    uint8_t rk[PROV_KEY_LEN])
{
    static const char label[] = PROV_LABEL_ONBOARD " rotate-key";
    size_t id_len = cred_id ? strlen(cred_id) : 0;
    if ((k_len != 16 && k_len != 32) || !prov_id_valid(cred_id, id_len))
        return IOTSEC_ERR_INVALID;
    uint8_t msg[2 + sizeof(label) + 2 + PROV_REG_ID_MAX + 4];
    struct prov_writer w = {msg, sizeof(msg), 0, false};
    prov_put_lp(&w, label, sizeof(label) - 1);
    prov_put_lp(&w, cred_id, id_len);
    prov_put_u32(&w, version);
    if (w.overflow)
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256 h;
    hmac_sha256_init(&h, k, k_len);
    hmac_sha256(&h, msg, w.len, rk);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}
