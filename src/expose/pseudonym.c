/* Per-AF external identifiers. An AF names a device by a keyed pseudonym of its SUPI made for
 * that AF alone, so two AFs cannot join their views, and neither can recover the SUPI without
 * the operator's key. The MAC input is label 0x00 af_id 0x00 supi: af_id never contains a NUL,
 * so the encoding is injective, and the label keeps these MACs apart from any other use of a
 * key. 160 bits of MAC make a collision between two devices of one AF negligible (birthday
 * bound 2^80). Base32 (lower case) fits the local part of an External Identifier and survives
 * case-folding systems. */
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/supi.h"
#include "expose/expose.h"

#define LABEL "iotsec-extid-v1"

static bool af_id_valid(const char *af)
{
    size_t n = af ? strnlen(af, EXTID_AF_ID_MAX + 1) : 0;
    if (n == 0 || n > EXTID_AF_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = af[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* A DNS name: labels of 1..63 letters, digits and inner hyphens, joined by dots. */
static bool domain_valid(const char *d)
{
    size_t n = d ? strnlen(d, EXTID_DOMAIN_MAX + 1) : 0, label = 0;
    if (n == 0 || n > EXTID_DOMAIN_MAX)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = d[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || d[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

/* RFC 4648 base32, lower case; 20 bytes make exactly 32 characters, no padding. */
static void base32(const uint8_t in[EXTID_MAC_LEN], char out[EXTID_LOCAL_LEN])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    for (size_t g = 0; g < EXTID_MAC_LEN / 5; g++) {
        const uint8_t *b = in + 5 * g;
        uint64_t v = (uint64_t)b[0] << 32 | (uint64_t)b[1] << 24 | (uint64_t)b[2] << 16 |
                     (uint64_t)b[3] << 8 | b[4];
        for (int i = 0; i < 8; i++)
            out[8 * g + (size_t)i] = alphabet[(v >> (35 - 5 * i)) & 31];
    }
}

int expose_external_id(const struct hmac_sha256 *key, const char *af_id, const char *supi,
                       const char *domain, char out[EXTID_MAX])
{
    struct supi parsed;
    if (key == NULL || out == NULL || !af_id_valid(af_id) || !domain_valid(domain) ||
        supi == NULL || supi_parse(supi, &parsed) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    struct hmac_sha256_run run;
    uint8_t mac[SHA256_LEN];
    hmac_sha256_start(key, &run);
    hmac_sha256_update(&run, LABEL, sizeof(LABEL)); /* with its NUL */
    hmac_sha256_update(&run, af_id, strlen(af_id) + 1);
    hmac_sha256_update(&run, supi, strlen(supi));
    hmac_sha256_finish(key, &run, mac);
    base32(mac, out);
    secure_wipe(mac, sizeof(mac));
    secure_wipe(&parsed, sizeof(parsed));
    out[EXTID_LOCAL_LEN] = '@';
    memcpy(out + EXTID_LOCAL_LEN + 1, domain, strlen(domain) + 1);
    return IOTSEC_OK;
}

/* <32 base32 characters>@<domain>, with our domain (compared case-insensitively as DNS is). */
static bool external_id_well_formed(const char *ext, const char *domain)
{
    size_t n = strnlen(ext, EXTID_MAX);
    if (n <= EXTID_LOCAL_LEN + 1 || n >= EXTID_MAX || ext[EXTID_LOCAL_LEN] != '@')
        return false;
    for (size_t i = 0; i < EXTID_LOCAL_LEN; i++)
        if (!((ext[i] >= 'a' && ext[i] <= 'z') || (ext[i] >= '2' && ext[i] <= '7')))
            return false;
    return strcasecmp(ext + EXTID_LOCAL_LEN + 1, domain) == 0;
}

int expose_external_id_resolve(const struct hmac_sha256 *key, const char *af_id,
                               const char *external_id, const char *domain,
                               expose_extid_lookup_fn lookup, void *ctx, char *supi, size_t cap)
{
    if (supi == NULL || cap == 0)
        return IOTSEC_ERR_INVALID;
    memset(supi, 0, cap);
    if (key == NULL || lookup == NULL || external_id == NULL || !af_id_valid(af_id) ||
        !domain_valid(domain) || !external_id_well_formed(external_id, domain))
        return IOTSEC_ERR_INVALID;
    int rc = lookup(ctx, af_id, external_id, supi, cap);
    char again[EXTID_MAX];
    /* The table is trusted for speed, not for the scope rule: recompute and compare. */
    if (rc == IOTSEC_OK && (strnlen(supi, cap) == cap ||
                            expose_external_id(key, af_id, supi, domain, again) != IOTSEC_OK ||
                            !ct_equal(again, external_id, EXTID_LOCAL_LEN)))
        rc = IOTSEC_ERR_NOTFOUND;
    if (rc != IOTSEC_OK)
        memset(supi, 0, cap); /* the lookup's own error (NOTFOUND, IO, BUSY) passes through */
    return rc;
}
