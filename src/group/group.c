/* Protecting a message for a group on an AF's behalf, and checking membership proofs. */
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"
#include "group/group.h"

int group_sender_slot(struct group *g, uint32_t sender, uint32_t *slot)
{
    for (uint32_t i = 0; i < g->nsenders; i++) {
        if (g->senders[i].sender == sender) {
            *slot = i;
            return IOTSEC_OK;
        }
    }
    if (g->nsenders == GROUP_MAX_SENDERS)
        return IOTSEC_ERR_BUSY;
    g->senders[g->nsenders].sender = sender;
    g->senders[g->nsenders].next_seq = 1;
    g->senders[g->nsenders].reserved_end = 0;
    *slot = g->nsenders++;
    return IOTSEC_OK;
}

int group_protect(struct group *g, const struct prov_sign_key *sk, uint32_t sender,
                  const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len)
{
    if (pt_len > GROUP_MAX_PAYLOAD)
        return GROUP_ERR_TOO_LARGE;
    struct group_msg_hdr h = {.alg = GROUP_ALG_AES128GCM_ED25519,
                              .flags = g->confidential ? GROUP_FLAG_CONFIDENTIAL : 0,
                              .ref = g->ref,
                              .epoch = g->tree.epoch,
                              .sender = sender};
    uint8_t key[GROUP_KEY_LEN];
    int rc = group_tree_traffic_key(&g->tree, key, &h.key_id);
    if (rc != IOTSEC_OK)
        return rc;
    uint32_t slot;
    if ((rc = group_sender_slot(g, sender, &slot)) == IOTSEC_OK) {
        h.seq = g->senders[slot].next_seq;
        rc = group_msg_protect(&h, key, sk, pt, pt_len, out, out_max, out_len);
        if (rc == IOTSEC_OK)
            g->senders[slot].next_seq++; /* a sequence is spent only once it was used */
    }
    secure_wipe(key, sizeof(key));
    return rc;
}

int group_protect_batch(struct group *g, const struct prov_sign_key *sk, struct group_send *m,
                        uint16_t n)
{
    if (n == 0 || n > GROUP_BATCH_MAX)
        return IOTSEC_ERR_INVALID;
    for (uint16_t i = 0; i < n; i++)
        if (m[i].pt_len > GROUP_MAX_PAYLOAD)
            return GROUP_ERR_TOO_LARGE;
    struct group_msg_hdr h = {.alg = GROUP_ALG_AES128GCM_ED25519_BATCH,
                              .flags = g->confidential ? GROUP_FLAG_CONFIDENTIAL : 0,
                              .ref = g->ref,
                              .epoch = g->tree.epoch};
    uint8_t key[GROUP_KEY_LEN];
    int rc = group_tree_traffic_key(&g->tree, key, &h.key_id);
    struct group_batch_item items[GROUP_BATCH_MAX];
    for (uint16_t i = 0; rc == IOTSEC_OK && i < n; i++) {
        uint32_t slot;
        if ((rc = group_sender_slot(g, m[i].sender, &slot)) != IOTSEC_OK)
            break;
        h.sender = m[i].sender;
        h.seq = g->senders[slot].next_seq++; /* spent now: never reissued, even on failure */
        items[i] = (struct group_batch_item){.msg = m[i].out, .cap = m[i].out_max};
        rc = group_msg_seal(&h, key, m[i].pt, m[i].pt_len, m[i].out, m[i].out_max,
                            &items[i].sealed_len);
    }
    secure_wipe(key, sizeof(key));
    if (rc == IOTSEC_OK)
        rc = group_batch_sign(sk, items, n);
    for (uint16_t i = 0; rc == IOTSEC_OK && i < n; i++)
        m[i].out_len = items[i].len;
    return rc;
}

int group_proof_check(const struct group *g, const uint8_t kgm[GROUP_MKEY_LEN],
                      const uint8_t *challenge, size_t challenge_len, const uint8_t mac[32])
{
    uint8_t key[GROUP_KEY_LEN], want[32];
    uint32_t key_id;
    int rc = group_tree_traffic_key(&g->tree, key, &key_id);
    if (rc == IOTSEC_OK)
        rc = group_member_proof(kgm, g->ref, g->tree.epoch, key, challenge, challenge_len, want);
    secure_wipe(key, sizeof(key));
    if (rc != IOTSEC_OK)
        return rc;
    rc = ct_equal(want, mac, sizeof(want)) ? IOTSEC_OK : IOTSEC_ERR_AUTH;
    secure_wipe(want, sizeof(want));
    return rc;
}

uint32_t group_sender_of(const char *af_id)
{
    uint8_t h[SHA256_LEN];
    static const char tag[] = "iotsec group sender";
    sha256_2(tag, sizeof(tag), af_id, strlen(af_id), h);
    uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return 1 + v % 0x7ffffffeu;
}
