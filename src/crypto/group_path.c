/* The path-key delivery (type 3) and the keys bound to one member (docs/group.md). */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/group_aead.h"
#include "crypto/group_wire.h"
#include "crypto/hmac_sha256.h"
#include "crypto/rand.h"

#define PATH_MAX_PT (GROUP_PUB_LEN + (GROUP_MAX_DEPTH + 1) * GROUP_KEY_LEN)

static void put_hdr(const struct group_path *p, const uint8_t nonce[GROUP_NONCE_LEN], uint8_t *out)
{
    struct prov_writer w = {.buf = out, .cap = GROUP_PATH_HDR_LEN};
    prov_put_u8(&w, GROUP_WIRE_VERSION);
    prov_put_u8(&w, GROUP_T_PATH);
    prov_put_u64(&w, p->ref);
    prov_put_u32(&w, p->leaf);
    prov_put_u32(&w, p->epoch);
    prov_put_u8(&w, p->arity);
    prov_put_u8(&w, p->depth);
    prov_put(&w, nonce, GROUP_NONCE_LEN);
}

int group_path_seal(const uint8_t kgm[GROUP_MKEY_LEN], const struct group_path *p, uint8_t *out,
                    size_t out_max, size_t *out_len)
{
    if (p->depth == 0 || p->depth > GROUP_MAX_DEPTH || p->arity < GROUP_MIN_ARITY ||
        p->arity > GROUP_MAX_ARITY)
        return IOTSEC_ERR_INVALID;
    size_t total = group_path_len(p->depth);
    if (out_max < total)
        return IOTSEC_ERR_INVALID;
    uint8_t nonce[GROUP_NONCE_LEN], pt[PATH_MAX_PT];
    if (crypto_random(nonce, sizeof(nonce)) != IOTSEC_OK)
        return IOTSEC_ERR_CRYPTO;
    put_hdr(p, nonce, out);
    size_t pt_len = GROUP_PUB_LEN + ((size_t)p->depth + 1) * GROUP_KEY_LEN;
    memcpy(pt, p->sign_pub, GROUP_PUB_LEN);
    memcpy(pt + GROUP_PUB_LEN, p->keys, pt_len - GROUP_PUB_LEN);
    int rc = group_gcm_seal(GROUP_AEAD_AES256_GCM, kgm, nonce, out, GROUP_PATH_HDR_LEN, pt, pt_len,
                            out + GROUP_PATH_HDR_LEN, out + GROUP_PATH_HDR_LEN + pt_len);
    secure_wipe(pt, sizeof(pt));
    if (rc == IOTSEC_OK)
        *out_len = total;
    return rc;
}

int group_path_open(const uint8_t kgm[GROUP_MKEY_LEN], const uint8_t *in, size_t len,
                    struct group_path *p)
{
    memset(p, 0, sizeof(*p));
    struct prov_reader r = {.p = in, .left = len};
    uint8_t version = prov_get_u8(&r), type = prov_get_u8(&r);
    p->ref = prov_get_u64(&r);
    p->leaf = prov_get_u32(&r);
    p->epoch = prov_get_u32(&r);
    p->arity = prov_get_u8(&r);
    p->depth = prov_get_u8(&r);
    const uint8_t *nonce = prov_get(&r, GROUP_NONCE_LEN);
    if (r.bad)
        return GROUP_ERR_TRUNCATED;
    if (version != GROUP_WIRE_VERSION || type != GROUP_T_PATH)
        return GROUP_ERR_MALFORMED;
    if (p->depth == 0 || p->depth > GROUP_MAX_DEPTH || p->arity < GROUP_MIN_ARITY ||
        p->arity > GROUP_MAX_ARITY)
        return GROUP_ERR_MALFORMED;
    if (len < group_path_len(p->depth))
        return GROUP_ERR_TRUNCATED;
    if (len > group_path_len(p->depth))
        return GROUP_ERR_MALFORMED;
    size_t pt_len = GROUP_PUB_LEN + ((size_t)p->depth + 1) * GROUP_KEY_LEN;
    uint8_t pt[PATH_MAX_PT];
    const uint8_t *ct = in + GROUP_PATH_HDR_LEN;
    int rc = group_gcm_open(GROUP_AEAD_AES256_GCM, kgm, nonce, in, GROUP_PATH_HDR_LEN, ct, pt_len,
                            ct + pt_len, pt);
    if (rc == IOTSEC_OK) {
        memcpy(p->sign_pub, pt, GROUP_PUB_LEN);
        memcpy(p->keys, pt + GROUP_PUB_LEN, pt_len - GROUP_PUB_LEN);
    } else {
        secure_wipe(p, sizeof(*p));
    }
    secure_wipe(pt, sizeof(pt));
    return rc == IOTSEC_ERR_AUTH ? GROUP_ERR_FORGED : rc;
}

static void put_be64(uint8_t *o, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        o[i] = (uint8_t)(v >> (56 - 8 * i));
}

int group_member_key(const uint8_t *anchor, size_t anchor_len, uint64_t ref,
                     uint8_t kgm[GROUP_MKEY_LEN])
{
    static const char salt[] = "iotsec-group-v1";
    uint8_t info[6 + 8] = {'m', 'e', 'm', 'b', 'e', 'r'};
    put_be64(info + 6, ref);
    return prov_hkdf_sha256((const uint8_t *)salt, sizeof(salt) - 1, anchor, anchor_len, info,
                            sizeof(info), kgm, GROUP_MKEY_LEN);
}

int group_member_proof(const uint8_t kgm[GROUP_MKEY_LEN], uint64_t ref, uint32_t epoch,
                       const uint8_t traffic_key[GROUP_KEY_LEN], const uint8_t *challenge,
                       size_t challenge_len, uint8_t mac[32])
{
    static const char label[] = "iotsec group member";
    uint8_t fields[12 + GROUP_KEY_LEN];
    put_be64(fields, ref);
    for (int i = 0; i < 4; i++)
        fields[8 + i] = (uint8_t)(epoch >> (24 - 8 * i));
    memcpy(fields + 12, traffic_key, GROUP_KEY_LEN);
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, kgm, GROUP_MKEY_LEN);
    hmac_sha256_start(&h, &run);
    hmac_sha256_update(&run, label, sizeof(label) - 1);
    hmac_sha256_update(&run, fields, sizeof(fields));
    hmac_sha256_update(&run, challenge, challenge_len);
    hmac_sha256_finish(&h, &run, mac);
    hmac_sha256_wipe(&h);
    secure_wipe(fields, sizeof(fields));
    return IOTSEC_OK;
}

int group_fetch_mac(const uint8_t kgm[GROUP_MKEY_LEN], uint64_t ref, int64_t when, uint8_t mac[32])
{
    static const char label[] = "iotsec group fetch";
    uint8_t fields[16];
    put_be64(fields, ref);
    put_be64(fields + 8, (uint64_t)when);
    struct hmac_sha256 h;
    struct hmac_sha256_run run;
    hmac_sha256_init(&h, kgm, GROUP_MKEY_LEN);
    hmac_sha256_start(&h, &run);
    hmac_sha256_update(&run, label, sizeof(label) - 1);
    hmac_sha256_update(&run, fields, sizeof(fields));
    hmac_sha256_finish(&h, &run, mac);
    hmac_sha256_wipe(&h);
    return IOTSEC_OK;
}
