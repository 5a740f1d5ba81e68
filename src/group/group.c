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
