/* Groups and their keys (docs/group.md): the network side of group messaging. A group has a
 * local id (never on the northbound face) and an LKH key tree whose root is the traffic key
 * of the current epoch; joins and leaves are batched into one signed rekey; messages are
 * protected (AES-GCM + Ed25519 + per-sender sequence) only after pending changes are rekeyed,
 * so a leaver never holds the key of a message sent after it left. */
#ifndef IOTSEC_GROUP_GROUP_H
#define IOTSEC_GROUP_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/group_wire.h"

/* The key tree: heap order, node 0 the root, children of n are arity*n+1 .. arity*n+arity,
 * leaves at depth `depth`. Memory: (16 + 4 + 1) bytes per node, about 28 bytes per member
 * slot at arity 4. */
struct group_tree {
    uint8_t arity;
    uint8_t depth;
    uint32_t nodes;
    uint32_t first_leaf;
    uint32_t capacity;
    uint32_t epoch;
    uint32_t members;
    uint8_t (*key)[GROUP_KEY_LEN];
    uint32_t *count;   /* members under each node (a leaf: 0 or 1) */
    uint8_t *dirty;    /* on a changed path, during a rekey */
    uint32_t *pending; /* changed leaves since the last rekey */
    uint32_t npending;
    uint32_t pending_cap;
    uint32_t *renewed; /* nodes whose key the last rekey changed (leaves included): what the
                          store must write */
    uint32_t nrenewed;
    uint32_t renewed_cap;
};

/* capacity = arity^depth must fit in 2^31 nodes. The tree starts empty at epoch 0. */
int group_tree_init(struct group_tree *t, uint8_t arity, uint8_t depth);
void group_tree_free(struct group_tree *t); /* wipes every key */

/* The smallest depth whose capacity holds `members` (at least 1). */
uint8_t group_tree_depth_for(uint8_t arity, uint32_t members);

/* A member joins: a free leaf gets a fresh key (never one a former member held).
 * IOTSEC_ERR_BUSY when the tree is full. */
int group_tree_join(struct group_tree *t, uint32_t *leaf);
/* A member leaves: its leaf key is wiped. IOTSEC_ERR_NOTFOUND for a free or invalid leaf. */
int group_tree_leave(struct group_tree *t, uint32_t leaf);
bool group_tree_valid_leaf(const struct group_tree *t, uint32_t leaf);

static inline bool group_tree_pending(const struct group_tree *t)
{
    return t->npending > 0;
}

/* Renews every key on the changed paths, bottom-up, and writes the signed rekey message
 * (malloc'd into *out; the caller frees it). The epoch advances by one. With nothing pending
 * it still advances the epoch (an operator-forced rekey renews the root alone). */
int group_tree_rekey(struct group_tree *t, uint64_t ref, const struct prov_sign_key *sk,
                     uint8_t **out, size_t *out_len, uint32_t *entries);

/* The member's keys, leaf first, for its path-key delivery (the caller sets sign_pub). */
int group_tree_path(const struct group_tree *t, uint64_t ref, uint32_t leaf, struct group_path *p);

/* The traffic key and its key id (IOTSEC_ERR_STATE while the group is empty or a rekey is
 * pending). */
int group_tree_traffic_key(const struct group_tree *t, uint8_t key[GROUP_KEY_LEN],
                           uint32_t *key_id);

/* ---- A group: its tree, its policy, its senders ------------------------------------------ */

#define GROUP_MAX_SENDERS 16

struct group {
    uint64_t ref;      /* local group id */
    bool confidential; /* false only by explicit operator policy */
    struct group_tree tree;
    uint32_t nsenders;
    struct {
        uint32_t sender;
        uint64_t next_seq;     /* never reused: persisted ahead by the store */
        uint64_t reserved_end; /* sequences below it are reserved in the store (0: none) */
    } senders[GROUP_MAX_SENDERS];
};

/* The sender's slot, created on first use (next_seq 1, nothing reserved): IOTSEC_ERR_BUSY
 * beyond GROUP_MAX_SENDERS. */
int group_sender_slot(struct group *g, uint32_t sender, uint32_t *slot);

/* The sender number of an AF in every group: 1 + a hash of its id (0 is the network), so it
 * needs no table; two AFs that collide share one sequence space, never a nonce. */
uint32_t group_sender_of(const char *af_id);

/* Protects pt for sender; out must hold group_msg_len(pt_len). IOTSEC_ERR_STATE when a rekey
 * is pending (forward secrecy: leavers must be cut off before the next message) or the group
 * is empty; GROUP_ERR_TOO_LARGE over GROUP_MAX_PAYLOAD; IOTSEC_ERR_BUSY for a sender beyond
 * GROUP_MAX_SENDERS. */
int group_protect(struct group *g, const struct prov_sign_key *sk, uint32_t sender,
                  const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len);

/* ---- Batches: one signature for up to GROUP_BATCH_MAX messages (alg 2) ------------------ */

/* One message of a batch: the caller's plaintext and output buffer (out_max >=
 * group_msg_batch_len(pt_len, i, n), GROUP_MSG_BATCH_OVERHEAD_MAX + pt_len always is). */
struct group_send {
    uint32_t sender;
    const uint8_t *pt;
    size_t pt_len;
    uint8_t *out;
    size_t out_max;
    size_t out_len; /* set on success */
};

/* Protects n messages (1..GROUP_BATCH_MAX, any senders) under the current epoch with one
 * signature over their Merkle root. The errors of group_protect; on any error no message is
 * valid (sequences already taken stay spent: they are never reissued). */
int group_protect_batch(struct group *g, const struct prov_sign_key *sk, struct group_send *m,
                        uint16_t n);

/* Network side of a membership proof: IOTSEC_OK when mac is the member key's proof over the
 * challenge at the current epoch, IOTSEC_ERR_AUTH otherwise (constant-time compare). */
int group_proof_check(const struct group *g, const uint8_t kgm[GROUP_MKEY_LEN],
                      const uint8_t *challenge, size_t challenge_len, const uint8_t mac[32]);

#endif
