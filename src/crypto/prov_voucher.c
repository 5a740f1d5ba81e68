/* Ownership vouchers: an append-only, hash-linked chain of transfers, each signed by the
 * owner it takes the device from, the first by the manufacturer root (layout in
 * provision_crypto.h). Three links make every mutation visible: seq (reordering, dropping),
 * from_pub = the previous to_pub (a non-owner extending or re-signing), prev_hash (splicing
 * an entry from another chain of the same device and owners). */
#include <string.h>

#include "base/err.h"
#include "crypto/hmac_sha256.h"
#include "crypto/provision_crypto.h"

#define LABEL_LEN (sizeof(PROV_LABEL_VOUCHER) - 1)
#define ENTRY_MAX (PROV_VOUCHER_ENTRY_OVERHEAD + PROV_REG_ID_MAX)

size_t prov_voucher_entry_len(size_t device_id_len)
{
    if (device_id_len == 0 || device_id_len > PROV_REG_ID_MAX)
        return 0;
    return PROV_VOUCHER_ENTRY_OVERHEAD + device_id_len;
}

int prov_voucher_entry_encode(const struct prov_voucher_entry *e,
                              const struct prov_sign_key *signer, uint8_t *out, size_t out_max,
                              size_t *out_len)
{
    *out_len = 0;
    size_t total = prov_voucher_entry_len(e->device_id_len);
    if (!prov_id_valid(e->device_id, e->device_id_len) || out_max < total)
        return IOTSEC_ERR_INVALID;
    struct prov_writer w = {.buf = out, .cap = total};
    prov_put_u16(&w, (uint16_t)(total - 2));
    prov_put_lp(&w, PROV_LABEL_VOUCHER, LABEL_LEN);
    prov_put_lp(&w, e->device_id, e->device_id_len);
    prov_put_u32(&w, e->seq);
    prov_put_u64(&w, e->timestamp);
    prov_put(&w, e->from_pub, PROV_ED25519_PUB_LEN);
    prov_put(&w, e->to_pub, PROV_ED25519_PUB_LEN);
    prov_put(&w, e->prev_hash, sizeof(e->prev_hash));
    /* The signature covers the entry from its label on: the u16 prefix is framing only. */
    int rc = prov_ed25519_sign(signer, out + 2, w.len - 2, out + w.len);
    if (rc != IOTSEC_OK)
        return rc;
    *out_len = total;
    return IOTSEC_OK;
}

/* One entry as parsed (pointers into the chain). */
struct entry_view {
    const uint8_t *bytes; /* the entry without its u16 prefix */
    size_t len;
    struct prov_voucher_entry e;
    const uint8_t *sig;
};

/* Parses the next entry from r: structure only, no signature check. */
static bool next_entry(struct prov_reader *r, struct entry_view *v)
{
    size_t label_len;
    v->bytes = prov_get_lp(r, &v->len);
    struct prov_reader er = {.p = v->bytes, .left = v->len};
    const uint8_t *label = prov_get_lp(&er, &label_len);
    v->e.device_id = (const char *)prov_get_lp(&er, &v->e.device_id_len);
    v->e.seq = prov_get_u32(&er);
    v->e.timestamp = prov_get_u64(&er);
    const uint8_t *from = prov_get(&er, PROV_ED25519_PUB_LEN);
    const uint8_t *to = prov_get(&er, PROV_ED25519_PUB_LEN);
    const uint8_t *prev = prov_get(&er, 32);
    v->sig = prov_get(&er, PROV_ED25519_SIG_LEN);
    if (r->bad || er.bad || er.left != 0 || label_len != LABEL_LEN ||
        memcmp(label, PROV_LABEL_VOUCHER, LABEL_LEN) != 0 ||
        !prov_id_valid(v->e.device_id, v->e.device_id_len))
        return false;
    memcpy(v->e.from_pub, from, PROV_ED25519_PUB_LEN);
    memcpy(v->e.to_pub, to, PROV_ED25519_PUB_LEN);
    memcpy(v->e.prev_hash, prev, 32);
    return true;
}

/* What a chain's structure says about its end: enough to append or to finish verifying. */
struct chain_tail {
    size_t count;
    struct entry_view last;
    uint8_t last_hash[32];
};

/* Walks a chain. With root_pub, also verifies every link and signature (IOTSEC_ERR_AUTH). */
static int walk(const uint8_t *root_pub, const char *device_id, size_t device_id_len,
                const uint8_t *chain, size_t chain_len, struct chain_tail *t)
{
    struct prov_reader r = {.p = chain, .left = chain_len};
    uint8_t prev_hash[32] = {0};
    const uint8_t *prev_owner = root_pub;
    uint64_t prev_time = 0;
    int rc = IOTSEC_OK;
    for (t->count = 0; r.left > 0; t->count++) {
        struct entry_view *v = &t->last;
        if (t->count == PROV_VOUCHER_MAX_ENTRIES || !next_entry(&r, v))
            return IOTSEC_ERR_INVALID;
        if (device_id == NULL) { /* the first entry names the device for the others */
            device_id = v->e.device_id;
            device_id_len = v->e.device_id_len;
        }
        bool linked =
            v->e.seq == t->count && v->e.device_id_len == device_id_len &&
            memcmp(v->e.device_id, device_id, device_id_len) == 0 &&
            memcmp(v->e.prev_hash, prev_hash, 32) == 0 && v->e.timestamp >= prev_time &&
            (prev_owner == NULL || memcmp(v->e.from_pub, prev_owner, PROV_ED25519_PUB_LEN) == 0);
        if (!linked)
            rc = IOTSEC_ERR_AUTH; /* keep parsing: a malformed tail is still INVALID */
        else if (root_pub != NULL && rc == IOTSEC_OK)
            rc =
                prov_ed25519_verify(v->e.from_pub, v->bytes, v->len - PROV_ED25519_SIG_LEN, v->sig);
        sha256_2(v->bytes, v->len, NULL, 0, prev_hash);
        prev_owner = v->bytes + v->len - PROV_ED25519_SIG_LEN - 32 - PROV_ED25519_PUB_LEN;
        prev_time = v->e.timestamp;
    }
    if (t->count == 0)
        return IOTSEC_ERR_INVALID;
    memcpy(t->last_hash, prev_hash, 32);
    return rc;
}

int prov_voucher_verify(const uint8_t root_pub[PROV_ED25519_PUB_LEN], const char *device_id,
                        size_t device_id_len, const uint8_t *chain, size_t chain_len,
                        uint8_t owner_pub[PROV_ED25519_PUB_LEN], size_t *entries)
{
    if (root_pub == NULL || chain == NULL || !prov_id_valid(device_id, device_id_len))
        return IOTSEC_ERR_INVALID;
    struct chain_tail t;
    int rc = walk(root_pub, device_id, device_id_len, chain, chain_len, &t);
    if (rc != IOTSEC_OK)
        return rc;
    memcpy(owner_pub, t.last.e.to_pub, PROV_ED25519_PUB_LEN);
    if (entries != NULL)
        *entries = t.count;
    return IOTSEC_OK;
}

int prov_voucher_start(const struct prov_sign_key *root, const char *device_id,
                       size_t device_id_len, const uint8_t to_pub[PROV_ED25519_PUB_LEN],
                       uint64_t timestamp, uint8_t *out, size_t out_max, size_t *out_len)
{
    struct prov_voucher_entry e = {
        .device_id = device_id, .device_id_len = device_id_len, .timestamp = timestamp};
    prov_sign_key_public(root, e.from_pub);
    memcpy(e.to_pub, to_pub, PROV_ED25519_PUB_LEN);
    return prov_voucher_entry_encode(&e, root, out, out_max, out_len);
}

int prov_voucher_append(const uint8_t *chain, size_t chain_len, const struct prov_sign_key *owner,
                        const uint8_t to_pub[PROV_ED25519_PUB_LEN], uint64_t timestamp,
                        uint8_t *out, size_t out_max, size_t *out_len)
{
    *out_len = 0;
    struct chain_tail t;
    if (chain == NULL || walk(NULL, NULL, 0, chain, chain_len, &t) != IOTSEC_OK ||
        t.count == PROV_VOUCHER_MAX_ENTRIES || timestamp < t.last.e.timestamp)
        return IOTSEC_ERR_INVALID;
    struct prov_voucher_entry e = t.last.e;
    prov_sign_key_public(owner, e.from_pub);
    if (memcmp(e.from_pub, t.last.e.to_pub, PROV_ED25519_PUB_LEN) != 0)
        return IOTSEC_ERR_AUTH; /* only the current owner may hand the device on */
    size_t entry_len = prov_voucher_entry_len(e.device_id_len);
    if (out_max < chain_len || out_max - chain_len < entry_len)
        return IOTSEC_ERR_INVALID;
    e.seq = (uint32_t)t.count;
    e.timestamp = timestamp;
    memcpy(e.to_pub, to_pub, PROV_ED25519_PUB_LEN);
    memcpy(e.prev_hash, t.last_hash, 32);
    uint8_t entry[ENTRY_MAX];
    size_t n;
    int rc = prov_voucher_entry_encode(&e, owner, entry, sizeof(entry), &n);
    if (rc != IOTSEC_OK)
        return rc;
    memmove(out, chain, chain_len); /* out may be chain itself */
    memcpy(out + chain_len, entry, n);
    *out_len = chain_len + n;
    return IOTSEC_OK;
}
