/* The length-prefixed big-endian encoding every onboarding structure uses. Writers and
 * readers remember an overflow instead of failing at each call, so encoders and parsers
 * read as straight lines and check once. */
#include <string.h>

#include "crypto/provision_crypto.h"

void prov_put(struct prov_writer *w, const void *data, size_t len)
{
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (len)
        memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void prov_put_u8(struct prov_writer *w, uint8_t v)
{
    prov_put(w, &v, 1);
}

void prov_put_u16(struct prov_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    prov_put(w, b, sizeof(b));
}

void prov_put_u32(struct prov_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    prov_put(w, b, sizeof(b));
}

void prov_put_u64(struct prov_writer *w, uint64_t v)
{
    prov_put_u32(w, (uint32_t)(v >> 32));
    prov_put_u32(w, (uint32_t)v);
}

void prov_put_lp(struct prov_writer *w, const void *data, size_t len)
{
    if (len > UINT16_MAX) {
        w->overflow = true;
        return;
    }
    prov_put_u16(w, (uint16_t)len);
    prov_put(w, data, len);
}

const uint8_t *prov_get(struct prov_reader *r, size_t len)
{
    if (r->bad || len > r->left) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    r->left -= len;
    return p;
}

uint8_t prov_get_u8(struct prov_reader *r)
{
    const uint8_t *p = prov_get(r, 1);
    return p ? p[0] : 0;
}

uint16_t prov_get_u16(struct prov_reader *r)
{
    const uint8_t *p = prov_get(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t prov_get_u32(struct prov_reader *r)
{
    const uint8_t *p = prov_get(r, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

uint64_t prov_get_u64(struct prov_reader *r)
{
    uint64_t hi = prov_get_u32(r);
    return hi << 32 | prov_get_u32(r);
}

const uint8_t *prov_get_lp(struct prov_reader *r, size_t *len)
{
    *len = prov_get_u16(r);
    const uint8_t *p = prov_get(r, *len);
    if (p == NULL)
        *len = 0;
    return p;
}

bool prov_id_valid(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len > PROV_REG_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x21 || c > 0x7e)
            return false;
    }
    return true;
}
