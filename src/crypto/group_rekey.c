/* The signed rekey message (type 2, docs/group.md). */
#include <string.h>

#include "base/err.h"
#include "crypto/group_wire.h"

void group_rekey_put_hdr(const struct group_rekey_hdr *h, uint8_t *out)
{
    struct prov_writer w = {.buf = out, .cap = GROUP_REKEY_HDR_LEN};
    prov_put_u8(&w, GROUP_WIRE_VERSION);
    prov_put_u8(&w, GROUP_T_REKEY);
    prov_put_u64(&w, h->ref);
    prov_put_u32(&w, h->from_epoch);
    prov_put_u32(&w, h->to_epoch);
    prov_put_u8(&w, h->arity);
    prov_put_u8(&w, h->depth);
    prov_put_u32(&w, h->count);
}

void group_rekey_put_entry(uint8_t *out, uint32_t i, const struct group_rekey_entry *e)
{
    struct prov_writer w = {.buf = out + GROUP_REKEY_HDR_LEN + (size_t)i * GROUP_REKEY_ENTRY_LEN,
                            .cap = GROUP_REKEY_ENTRY_LEN};
    prov_put_u32(&w, e->node);
    prov_put_u8(&w, e->child);
    prov_put(&w, e->wrapped, GROUP_WRAP_LEN);
}

int group_rekey_sign(const struct prov_sign_key *sk, uint8_t *out, uint32_t count)
{
    size_t signed_len = group_rekey_len(count) - GROUP_SIG_LEN;
    return prov_ed25519_sign(sk, out, signed_len, out + signed_len);
}

int group_rekey_parse(const uint8_t *in, size_t len, struct group_rekey_view *v)
{
    memset(v, 0, sizeof(*v));
    struct prov_reader r = {.p = in, .left = len};
    uint8_t version = prov_get_u8(&r), type = prov_get_u8(&r);
    v->h.ref = prov_get_u64(&r);
    v->h.from_epoch = prov_get_u32(&r);
    v->h.to_epoch = prov_get_u32(&r);
    v->h.arity = prov_get_u8(&r);
    v->h.depth = prov_get_u8(&r);
    v->h.count = prov_get_u32(&r);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    if (version != GROUP_WIRE_VERSION || type != GROUP_T_REKEY)
        return GROUP_ERR_MALFORMED;
    if (v->h.arity < GROUP_MIN_ARITY || v->h.arity > GROUP_MAX_ARITY || v->h.depth == 0 ||
        v->h.depth > GROUP_MAX_DEPTH || v->h.to_epoch != v->h.from_epoch + 1)
        return GROUP_ERR_MALFORMED;
    size_t body = len - GROUP_REKEY_HDR_LEN;
    if (v->h.count > body / GROUP_REKEY_ENTRY_LEN)
        return GROUP_ERR_TRUNCATED;
    v->entries = prov_get(&r, (size_t)v->h.count * GROUP_REKEY_ENTRY_LEN);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    v->start = in;
    v->signed_len = group_rekey_len(v->h.count) - GROUP_SIG_LEN;
    if (r.left == 0)
        return IOTSEC_OK; /* unsigned: the caller says so */
    v->sig = prov_get(&r, GROUP_SIG_LEN);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    return r.left == 0 ? IOTSEC_OK : GROUP_ERR_MALFORMED;
}

void group_rekey_get_entry(const struct group_rekey_view *v, uint32_t i,
                           struct group_rekey_entry *e)
{
    struct prov_reader r = {.p = v->entries + (size_t)i * GROUP_REKEY_ENTRY_LEN,
                            .left = GROUP_REKEY_ENTRY_LEN};
    e->node = prov_get_u32(&r);
    e->child = prov_get_u8(&r);
    memcpy(e->wrapped, prov_get(&r, GROUP_WRAP_LEN), GROUP_WRAP_LEN);
}

int group_rekey_verify_sig(const struct group_rekey_view *v, const uint8_t pub[GROUP_PUB_LEN])
{
    uint8_t acc = 0;
    for (size_t i = 0; v->sig != NULL && i < GROUP_SIG_LEN; i++)
        acc |= v->sig[i];
    if (v->sig == NULL || acc == 0)
        return GROUP_ERR_UNSIGNED;
    return prov_ed25519_verify(pub, v->start, v->signed_len, v->sig) == IOTSEC_OK
               ? IOTSEC_OK
               : GROUP_ERR_FORGED;
}
