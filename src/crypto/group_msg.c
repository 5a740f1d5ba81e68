/* The protected group message (type 1, docs/group.md). */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/group_aead.h"
#include "crypto/group_batch.h"
#include "crypto/group_wire.h"
#include "crypto/hmac_sha256.h"

const char *group_strerror(int err)
{
    switch (err) {
    case GROUP_ERR_TRUNCATED:
        return "truncated group message";
    case GROUP_ERR_MALFORMED:
        return "malformed group message";
    case GROUP_ERR_UNSUPPORTED:
        return "unsupported group algorithm or flag";
    case GROUP_ERR_WRONG_GROUP:
        return "message for another group";
    case GROUP_ERR_UNSIGNED:
        return "unsigned group message";
    case GROUP_ERR_FORGED:
        return "forged group message (signature, key id or tag)";
    case GROUP_ERR_REPLAYED:
        return "replayed group message";
    case GROUP_ERR_STALE_EPOCH:
        return "stale group epoch";
    case GROUP_ERR_FUTURE_EPOCH:
        return "future group epoch: fetch the current path keys";
    case GROUP_ERR_NOT_JOINED:
        return "not a member of the group";
    case GROUP_ERR_TOO_LARGE:
        return "group payload too large";
    case GROUP_ERR_BAD_PATH:
        return "batch path does not lead to the root of the group message";
    case GROUP_ERR_BAD_ROOT_SIG:
        return "batch root of the group message not signed by the network";
    default:
        return iotsec_strerror(err);
    }
}

uint32_t group_key_id(const uint8_t root[GROUP_KEY_LEN])
{
    static const char label[] = "iotsec group key id";
    struct hmac_sha256 h;
    uint8_t mac[32];
    hmac_sha256_init(&h, root, GROUP_KEY_LEN);
    hmac_sha256(&h, label, sizeof(label) - 1, mac);
    hmac_sha256_wipe(&h);
    return (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
}

/* nonce = sender || seq: unique per traffic key while a sender's sequence never repeats. */
static void make_nonce(const struct group_msg_hdr *h, uint8_t nonce[GROUP_NONCE_LEN])
{
    for (int i = 0; i < 4; i++)
        nonce[i] = (uint8_t)(h->sender >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(h->seq >> (56 - 8 * i));
}

static bool alg_known(uint8_t alg)
{
    return alg == GROUP_ALG_AES128GCM_ED25519 || alg == GROUP_ALG_AES128GCM_ED25519_BATCH;
}

int group_msg_seal(const struct group_msg_hdr *h, const uint8_t traffic_key[GROUP_KEY_LEN],
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max,
                   size_t *sealed_len)
{
    if (pt_len > GROUP_MAX_PAYLOAD)
        return GROUP_ERR_TOO_LARGE;
    if (!alg_known(h->alg) || (h->flags & ~GROUP_FLAG_CONFIDENTIAL) != 0)
        return GROUP_ERR_UNSUPPORTED;
    size_t total = GROUP_MSG_HDR_LEN + pt_len + GROUP_TAG_LEN;
    if (out_max < total)
        return IOTSEC_ERR_INVALID;
    uint8_t nonce[GROUP_NONCE_LEN];
    make_nonce(h, nonce);
    struct prov_writer w = {.buf = out, .cap = out_max};
    prov_put_u8(&w, GROUP_WIRE_VERSION);
    prov_put_u8(&w, GROUP_T_MSG);
    prov_put_u8(&w, h->alg);
    prov_put_u8(&w, h->flags);
    prov_put_u64(&w, h->ref);
    prov_put_u32(&w, h->epoch);
    prov_put_u32(&w, h->key_id);
    prov_put_u32(&w, h->sender);
    prov_put_u64(&w, h->seq);
    prov_put(&w, nonce, sizeof(nonce));
    prov_put_u32(&w, (uint32_t)pt_len);
    uint8_t *body = out + GROUP_MSG_HDR_LEN, *tag = body + pt_len;
    int rc;
    if (h->flags & GROUP_FLAG_CONFIDENTIAL) {
        rc = group_gcm_seal(GROUP_AEAD_AES128_GCM, traffic_key, nonce, out, GROUP_MSG_HDR_LEN, pt,
                            pt_len, body, tag);
    } else {
        /* integrity only: the payload is in clear and authenticated as AAD (GMAC) */
        if (pt_len > 0)
            memmove(body, pt, pt_len);
        uint8_t none[1];
        rc = group_gcm_seal(GROUP_AEAD_AES128_GCM, traffic_key, nonce, out,
                            GROUP_MSG_HDR_LEN + pt_len, NULL, 0, none, tag);
    }
    if (rc == IOTSEC_OK)
        *sealed_len = total;
    return rc;
}

int group_msg_protect(const struct group_msg_hdr *h, const uint8_t traffic_key[GROUP_KEY_LEN],
                      const struct prov_sign_key *sk, const uint8_t *pt, size_t pt_len,
                      uint8_t *out, size_t out_max, size_t *out_len)
{
    if (pt_len > GROUP_MAX_PAYLOAD)
        return GROUP_ERR_TOO_LARGE;
    if (h->alg != GROUP_ALG_AES128GCM_ED25519)
        return GROUP_ERR_UNSUPPORTED; /* a batch is signed by group_batch_sign */
    if (out_max < group_msg_len(pt_len))
        return IOTSEC_ERR_INVALID;
    size_t signed_len;
    int rc = group_msg_seal(h, traffic_key, pt, pt_len, out, out_max, &signed_len);
    if (rc == IOTSEC_OK)
        rc = prov_ed25519_sign(sk, out, signed_len, out + signed_len);
    if (rc == IOTSEC_OK)
        *out_len = signed_len + GROUP_SIG_LEN;
    return rc;
}

/* The batch trailer after the tag: count, index, root, path, signature. */
static int parse_batch(struct prov_reader *r, struct group_msg_view *v)
{
    v->batch_count = prov_get_u16(r);
    v->batch_index = prov_get_u16(r);
    v->root = prov_get(r, GROUP_HASH_LEN);
    v->path_len = prov_get_u8(r);
    if (r->bad)
        return GROUP_ERR_TRUNCATED;
    if (v->batch_count == 0 || v->batch_count > GROUP_BATCH_MAX ||
        v->batch_index >= v->batch_count || v->path_len > GROUP_BATCH_PATH_MAX)
        return GROUP_ERR_MALFORMED;
    v->path = prov_get(r, (size_t)v->path_len * GROUP_HASH_LEN);
    v->sig = prov_get(r, GROUP_SIG_LEN);
    if (r->bad)
        return GROUP_ERR_TRUNCATED;
    return r->left == 0 ? IOTSEC_OK : GROUP_ERR_MALFORMED;
}

int group_msg_parse(const uint8_t *in, size_t len, struct group_msg_view *v)
{
    memset(v, 0, sizeof(*v));
    struct prov_reader r = {.p = in, .left = len};
    uint8_t version = prov_get_u8(&r), type = prov_get_u8(&r);
    v->h.alg = prov_get_u8(&r);
    v->h.flags = prov_get_u8(&r);
    v->h.ref = prov_get_u64(&r);
    v->h.epoch = prov_get_u32(&r);
    v->h.key_id = prov_get_u32(&r);
    v->h.sender = prov_get_u32(&r);
    v->h.seq = prov_get_u64(&r);
    v->nonce = prov_get(&r, GROUP_NONCE_LEN);
    uint32_t body_len = prov_get_u32(&r);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    if (version != GROUP_WIRE_VERSION || type != GROUP_T_MSG)
        return GROUP_ERR_MALFORMED;
    if (!alg_known(v->h.alg) || (v->h.flags & ~GROUP_FLAG_CONFIDENTIAL) != 0)
        return GROUP_ERR_UNSUPPORTED;
    if (body_len > GROUP_MAX_PAYLOAD)
        return GROUP_ERR_TOO_LARGE;
    uint8_t nonce[GROUP_NONCE_LEN];
    make_nonce(&v->h, nonce);
    if (memcmp(nonce, v->nonce, GROUP_NONCE_LEN) != 0)
        return GROUP_ERR_MALFORMED;
    v->body = prov_get(&r, body_len);
    v->tag = prov_get(&r, GROUP_TAG_LEN);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    v->body_len = body_len;
    v->start = in;
    v->signed_len = GROUP_MSG_HDR_LEN + body_len + GROUP_TAG_LEN;
    if (r.left == 0)
        return IOTSEC_OK; /* no signature: the caller says "unsigned" */
    if (v->h.alg == GROUP_ALG_AES128GCM_ED25519_BATCH)
        return parse_batch(&r, v);
    v->sig = prov_get(&r, GROUP_SIG_LEN);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    return r.left == 0 ? IOTSEC_OK : GROUP_ERR_MALFORMED;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int group_msg_verify_sig(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN])
{
    return group_msg_verify(v, pub, NULL);
}

int group_msg_verify(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN],
                     struct group_root_cache *cache)
{
    if (v->sig == NULL || all_zero(v->sig, GROUP_SIG_LEN))
        return GROUP_ERR_UNSIGNED;
    if (v->h.alg == GROUP_ALG_AES128GCM_ED25519_BATCH)
        return group_batch_verify(v, pub, cache);
    return prov_ed25519_verify(pub, v->start, v->signed_len, v->sig) == IOTSEC_OK
               ? IOTSEC_OK
               : GROUP_ERR_FORGED;
}

int group_msg_open(const struct group_msg_view *v, const uint8_t traffic_key[GROUP_KEY_LEN],
                   uint8_t *pt)
{
    int rc;
    if (v->h.flags & GROUP_FLAG_CONFIDENTIAL) {
        rc = group_gcm_open(GROUP_AEAD_AES128_GCM, traffic_key, v->nonce, v->start,
                            GROUP_MSG_HDR_LEN, v->body, v->body_len, v->tag, pt);
    } else {
        uint8_t none[1];
        rc = group_gcm_open(GROUP_AEAD_AES128_GCM, traffic_key, v->nonce, v->start,
                            GROUP_MSG_HDR_LEN + v->body_len, NULL, 0, v->tag, none);
        if (rc == IOTSEC_OK && v->body_len > 0)
            memcpy(pt, v->body, v->body_len);
    }
    return rc == IOTSEC_ERR_AUTH ? GROUP_ERR_FORGED : rc;
}
