/* A device's membership in one group (docs/group.md): join with a path-key delivery, apply
 * signed rekeys, receive protected messages. State is O(log N): the keys of the member's
 * leaf-to-root path, the pinned network signing key, and a replay window per sender.
 *
 * Every refusal has its own error (crypto/group_wire.h enum group_err): unsigned, forged,
 * replayed, stale epoch, future epoch (fetch the current path keys: group_member_join again),
 * wrong group, truncated, malformed; for a batch-signed message (alg 2) a leaf or path that
 * does not lead to its root (BAD_PATH) or a root not signed by the network (BAD_ROOT_SIG).
 * A refused message or rekey changes nothing. A verified batch root is cached, so the other
 * messages of its batch cost a few hashes and no signature verification. */
#ifndef IOTSEC_SDK_GROUP_MEMBER_H
#define IOTSEC_SDK_GROUP_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/group_wire.h"

#define GROUP_REPLAY_WINDOW  64
#define GROUP_MEMBER_SENDERS 8

struct group_member {
    bool joined;
    uint64_t ref;
    uint32_t leaf;
    uint32_t epoch;
    uint32_t key_id;
    uint8_t arity;
    uint8_t depth;
    uint8_t sign_pub[GROUP_PUB_LEN];
    uint8_t kgm[GROUP_MKEY_LEN];
    uint32_t path[GROUP_MAX_DEPTH + 1];               /* node ids, leaf first */
    uint8_t keys[GROUP_MAX_DEPTH + 1][GROUP_KEY_LEN]; /* their keys */
    uint32_t nsenders;
    struct {
        uint32_t sender;
        uint64_t max_seq; /* highest accepted */
        uint64_t window;  /* bit i: max_seq - i accepted */
    } replay[GROUP_MEMBER_SENDERS];
    struct group_root_cache roots; /* batch roots verified lately (alg 2): 392 bytes */
};

/* Sets up the member for group ref with its member key (group_member_key over its KAUSF or
 * provisioning key). Not joined until a path-key delivery is applied. */
void group_member_init(struct group_member *m, uint64_t ref, const uint8_t kgm[GROUP_MKEY_LEN]);

/* Applies a path-key delivery: the first join, or catching up after missed rekeys (sleepy
 * device, FUTURE_EPOCH). Refuses one older than the member's epoch (STALE_EPOCH), another
 * group's (WRONG_GROUP), or one whose signing key differs from the pinned one once joined
 * (FORGED). Replay windows are kept across catch-ups. */
int group_member_join(struct group_member *m, const uint8_t *in, size_t len);

/* Applies a signed rekey from the member's epoch to the next. */
int group_member_rekey(struct group_member *m, const uint8_t *in, size_t len);

/* Verifies and opens a protected message into pt (pt_max >= its payload, at most
 * GROUP_MAX_PAYLOAD). On success *pt_len and *sender are set. */
int group_member_receive(struct group_member *m, const uint8_t *in, size_t len, uint8_t *pt,
                         size_t pt_max, size_t *pt_len, uint32_t *sender);

/* The member's proof over the network's challenge (group_proof_check verifies it). */
int group_member_prove(const struct group_member *m, const uint8_t *challenge, size_t challenge_len,
                       uint8_t mac[32]);

/* A sleepy (PSM/eDRX) device's catch-up after missed rekeys: one fetch of its current path
 * keys on the device face (POST /device/v1/group-keys, docs/group.md). The request body at
 * unix time now, authenticated by the member key (JSON into out, NUL-terminated). */
int group_member_fetch_request(const struct group_member *m, const char *supi, int64_t now,
                               char *out, size_t cap);
/* Applies the 200 answer's body ({"data": base64url path-key delivery}) like
 * group_member_join: IOTSEC_ERR_INVALID for a body without one. */
int group_member_fetch_apply(struct group_member *m, const char *body, size_t len);

void group_member_wipe(struct group_member *m);

#endif
