/* The credential bundle's canonical TLV form (layout in provision_crypto.h). Canonical means
 * one bundle has exactly one encoding: fixed tag order, no optional padding, no unknown
 * tags. The parser runs on bytes the operator signed, but checks everything anyway: a device
 * must never store a credential it cannot use. */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "crypto/suci.h"

static bool text_valid(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    return len <= max && prov_id_valid(s, len);
}

static bool digits_valid(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool hn_key_valid(const struct prov_hn_key *h)
{
    if (h->scheme == SUCI_SCHEME_PROFILE_A)
        return h->pub_len == SUCI_PUBLIC_KEY_A_LEN;
    if (h->scheme != SUCI_SCHEME_PROFILE_B)
        return false;
    return (h->pub_len == SUCI_PUBLIC_KEY_B_LEN && (h->pub[0] == 2 || h->pub[0] == 3)) ||
           (h->pub_len == SUCI_PUBLIC_KEY_MAX && h->pub[0] == 4);
}

static bool bundle_valid(const struct prov_bundle *b)
{
    if (!text_valid(b->supi, PROV_SUPI_MAX) || (b->k_len != 16 && b->k_len != 32) ||
        b->n_hn_keys > PROV_HN_KEYS_MAX || !digits_valid(b->routing_ind, 4) ||
        !text_valid(b->cred_id, PROV_CRED_ID_MAX) || b->service_len > PROV_SERVICE_MAX ||
        (b->service == NULL && b->service_len))
        return false;
    for (size_t i = 0; i < b->n_hn_keys; i++) {
        if (!hn_key_valid(&b->hn_keys[i]) || (i && b->hn_keys[i].id <= b->hn_keys[i - 1].id))
            return false;
    }
    return true;
}

static void put_item(struct prov_writer *w, uint8_t tag, const void *data, size_t len)
{
    prov_put_u8(w, tag);
    prov_put_lp(w, data, len);
}

int prov_bundle_encode(const struct prov_bundle *b, uint8_t *out, size_t out_max, size_t *out_len)
{
    *out_len = 0;
    if (!bundle_valid(b))
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {.buf = out, .cap = out_max};
    uint8_t num[8];
    prov_put_u8(&w, PROV_BUNDLE_VERSION);
    put_item(&w, PROV_TAG_SUPI, b->supi, strlen(b->supi));
    put_item(&w, PROV_TAG_K, b->k, b->k_len);
    put_item(&w, PROV_TAG_OPC, b->opc, b->k_len);
    put_item(&w, PROV_TAG_AMF, b->amf, 2);
    for (size_t i = 0; i < b->n_hn_keys; i++) {
        const struct prov_hn_key *h = &b->hn_keys[i];
        prov_put_u8(&w, PROV_TAG_HN_KEY);
        prov_put_u16(&w, (uint16_t)(2 + h->pub_len));
        prov_put_u8(&w, h->id);
        prov_put_u8(&w, h->scheme);
        prov_put(&w, h->pub, h->pub_len);
    }
    put_item(&w, PROV_TAG_ROUTING_IND, b->routing_ind, strlen(b->routing_ind));
    put_item(&w, PROV_TAG_CRED_ID, b->cred_id, strlen(b->cred_id));
    struct prov_writer nw = {.buf = num, .cap = sizeof(num)};
    prov_put_u32(&nw, b->cred_version);
    put_item(&w, PROV_TAG_CRED_VERSION, num, 4);
    nw.len = 0;
    prov_put_u64(&nw, b->not_after);
    put_item(&w, PROV_TAG_NOT_AFTER, num, 8);
    put_item(&w, PROV_TAG_SERVICE, b->service, b->service_len);
    if (w.overflow) {
        secure_wipe(out, out_max);
        return IOTSEC_ERR_INVALID;
    }
    *out_len = w.len;
    return IOTSEC_OK;
}

/* Copies a text item into a NUL-terminated field of max characters. */
static bool get_text(const uint8_t *v, size_t len, char *dst, size_t max)
{
    if (len == 0 || len > max)
        return false;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return strlen(dst) == len; /* no NUL inside; the rest is bundle_valid()'s */
}

static bool get_u(const uint8_t *v, size_t len, size_t want, uint64_t *out)
{
    if (len != want)
        return false;
    *out = 0;
    for (size_t i = 0; i < len; i++)
        *out = *out << 8 | v[i];
    return true;
}

static bool get_hn_key(const uint8_t *v, size_t len, struct prov_bundle *b)
{
    if (b->n_hn_keys == PROV_HN_KEYS_MAX || len < 2 || len - 2 > PROV_HN_PUB_MAX)
        return false;
    struct prov_hn_key *h = &b->hn_keys[b->n_hn_keys++];
    h->id = v[0];
    h->scheme = v[1];
    h->pub_len = (uint8_t)(len - 2);
    memcpy(h->pub, v + 2, len - 2);
    return true;
}

/* Stores one item into b; false when its value is malformed for its tag. */
static bool get_item(uint8_t tag, const uint8_t *v, size_t len, struct prov_bundle *b)
{
    uint64_t n;
    switch (tag) {
    case PROV_TAG_SUPI:
        return get_text(v, len, b->supi, PROV_SUPI_MAX);
    case PROV_TAG_K:
        if (len != 16 && len != 32)
            return false;
        b->k_len = (uint8_t)len;
        memcpy(b->k, v, len);
        return true;
    case PROV_TAG_OPC:
        if (len != b->k_len)
            return false;
        memcpy(b->opc, v, len);
        return true;
    case PROV_TAG_AMF:
        if (len != 2)
            return false;
        memcpy(b->amf, v, 2);
        return true;
    case PROV_TAG_HN_KEY:
        return get_hn_key(v, len, b);
    case PROV_TAG_ROUTING_IND:
        return get_text(v, len, b->routing_ind, 4);
    case PROV_TAG_CRED_ID:
        return get_text(v, len, b->cred_id, PROV_CRED_ID_MAX);
    case PROV_TAG_CRED_VERSION:
        if (!get_u(v, len, 4, &n))
            return false;
        b->cred_version = (uint32_t)n;
        return true;
    case PROV_TAG_NOT_AFTER:
        return get_u(v, len, 8, &b->not_after);
    case PROV_TAG_SERVICE:
        b->service = v;
        b->service_len = len;
        return true;
    default:
        return false;
    }
}

int prov_bundle_parse(const uint8_t *in, size_t in_len, struct prov_bundle *b)
{
    memset(b, 0, sizeof(*b));
    struct prov_reader r = {.p = in, .left = in_len};
    bool ok = in != NULL && prov_get_u8(&r) == PROV_BUNDLE_VERSION;
    unsigned last = 0, seen = 0;
    while (ok && r.left > 0) {
        uint8_t tag = prov_get_u8(&r);
        size_t len;
        const uint8_t *v = prov_get_lp(&r, &len);
        bool repeat_ok = tag == PROV_TAG_HN_KEY && last == PROV_TAG_HN_KEY;
        ok = v != NULL && (tag > last || repeat_ok) && get_item(tag, v, len, b);
        last = tag;
        seen |= 1u << (tag & 31);
    }
    /* Every tag but HN_KEY is mandatory. */
    unsigned want = ((1u << (PROV_TAG_SERVICE + 1)) - 2) & ~(1u << PROV_TAG_HN_KEY);
    if (!ok || (seen & want) != want || !bundle_valid(b)) {
        prov_bundle_wipe(b);
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

void prov_bundle_wipe(struct prov_bundle *b)
{
    secure_wipe(b, sizeof(*b));
}
