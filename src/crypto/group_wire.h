/* Group messaging on the wire (docs/group.md): the protected group message, the signed rekey
 * message, the path-key delivery, and the keys behind them. Shared by the network (src/group)
 * and the device SDK (sdk/group_member.c) so both read and write the same bytes.
 *
 * Parsers only check structure (lengths, version, type, known algorithm): the cryptographic
 * checks (signature, tag, key wrap) are separate calls so that the SDK can report each
 * failure with its own error. Every key here is a secret: wipe it after use. */
#ifndef IOTSEC_CRYPTO_GROUP_WIRE_H
#define IOTSEC_CRYPTO_GROUP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/provision_crypto.h"

#define GROUP_WIRE_VERSION 1
#define GROUP_KEY_LEN      16 /* a tree node key, the traffic key (AES-128) */
#define GROUP_MKEY_LEN     32 /* a member key K_GM (AES-256-GCM) */
#define GROUP_WRAP_LEN     24 /* RFC 3394 wrap of a 16-byte key */
#define GROUP_NONCE_LEN    12
#define GROUP_TAG_LEN      16
#define GROUP_SIG_LEN      PROV_ED25519_SIG_LEN
#define GROUP_PUB_LEN      PROV_ED25519_PUB_LEN
#define GROUP_MAX_PAYLOAD  4096
#define GROUP_MAX_DEPTH    24 /* 4^10 = 1M members at depth 10; 2^20 at 20 */
#define GROUP_MIN_ARITY    2
#define GROUP_MAX_ARITY    16

/* Message types (second byte). */
enum group_wire_type {
    GROUP_T_MSG = 1,
    GROUP_T_REKEY = 2,
    GROUP_T_PATH = 3,
};

#define GROUP_ALG_AES128GCM_ED25519 1 /* one Ed25519 signature per message */
/* One Ed25519 signature per batch over the root of a Merkle tree of message digests; each
 * message carries its leaf index, the root and its authentication path (docs/group.md). */
#define GROUP_ALG_AES128GCM_ED25519_BATCH 2
#define GROUP_FLAG_CONFIDENTIAL           0x01

/* The receiver's distinct verdicts (negative, apart from enum iotsec_err). */
enum group_err {
    GROUP_ERR_TRUNCATED = -101,    /* shorter than its own lengths say */
    GROUP_ERR_MALFORMED = -102,    /* wrong version/type, trailing bytes, bad field */
    GROUP_ERR_UNSUPPORTED = -103,  /* unknown algorithm or flag */
    GROUP_ERR_WRONG_GROUP = -104,  /* for another group */
    GROUP_ERR_UNSIGNED = -105,     /* no signature (missing or all zero) */
    GROUP_ERR_FORGED = -106,       /* signature, key id or tag did not verify */
    GROUP_ERR_REPLAYED = -107,     /* sequence seen, or older than the window */
    GROUP_ERR_STALE_EPOCH = -108,  /* older epoch than the member's */
    GROUP_ERR_FUTURE_EPOCH = -109, /* newer than the member's: fetch the current path keys */
    GROUP_ERR_NOT_JOINED = -110,
    GROUP_ERR_TOO_LARGE = -111, /* payload over GROUP_MAX_PAYLOAD */
    GROUP_ERR_BAD_PATH = -112,  /* batch: the leaf and its path do not lead to the root carried */
    GROUP_ERR_BAD_ROOT_SIG = -113, /* batch: the root's signature is not the pinned key's */
};

/* Fixed phrase for an enum group_err or an enum iotsec_err. */
const char *group_strerror(int err);

/* ---- Protected group message (type 1) ------------------------------------------------ */

#define GROUP_MSG_HDR_LEN  (4 + 8 + 4 + 4 + 4 + 8 + GROUP_NONCE_LEN + 4) /* 48: the GCM AAD */
#define GROUP_MSG_OVERHEAD (GROUP_MSG_HDR_LEN + GROUP_TAG_LEN + GROUP_SIG_LEN)

struct group_msg_hdr {
    uint8_t alg;
    uint8_t flags;
    uint64_t ref; /* the local group id */
    uint32_t epoch;
    uint32_t key_id;
    uint32_t sender;
    uint64_t seq;
};

/* Batches (alg 2): at most GROUP_BATCH_MAX messages under one signature. */
#define GROUP_HASH_LEN       32
#define GROUP_BATCH_MAX      64
#define GROUP_BATCH_PATH_MAX 6 /* ceil(log2(GROUP_BATCH_MAX)) */
#define GROUP_BATCH_TRAILER_LEN(path_len)                                                          \
    (2 + 2 + GROUP_HASH_LEN + 1 + (size_t)(path_len)*GROUP_HASH_LEN + GROUP_SIG_LEN)
#define GROUP_MSG_BATCH_OVERHEAD_MAX                                                               \
    (GROUP_MSG_HDR_LEN + GROUP_TAG_LEN + GROUP_BATCH_TRAILER_LEN(GROUP_BATCH_PATH_MAX))

/* A parsed message: pointers into the caller's buffer. */
struct group_msg_view {
    struct group_msg_hdr h;
    const uint8_t *nonce;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *tag;
    const uint8_t *sig; /* NULL when the message carries no signature */
    const uint8_t *start;
    size_t signed_len; /* bytes covered by the signature (alg 1) or the leaf digest (alg 2) */
    /* alg 2 only */
    uint16_t batch_count;
    uint16_t batch_index;
    const uint8_t *root;
    const uint8_t *path; /* path_len sibling digests, bottom-up */
    uint8_t path_len;
};

static inline size_t group_msg_len(size_t payload_len)
{
    return GROUP_MSG_OVERHEAD + payload_len;
}

/* The length of a batched message: its path length depends on its index and the batch size. */
uint8_t group_batch_path_len(uint16_t index, uint16_t count);
static inline size_t group_msg_batch_len(size_t payload_len, uint16_t index, uint16_t count)
{
    return GROUP_MSG_HDR_LEN + payload_len + GROUP_TAG_LEN +
           GROUP_BATCH_TRAILER_LEN(group_batch_path_len(index, count));
}

/* Seals and signs pt into out (group_msg_len(pt_len) bytes). h->flags decides confidential
 * or integrity-only. GROUP_ERR_TOO_LARGE over GROUP_MAX_PAYLOAD. */
int group_msg_protect(const struct group_msg_hdr *h, const uint8_t traffic_key[GROUP_KEY_LEN],
                      const struct prov_sign_key *sk, const uint8_t *pt, size_t pt_len,
                      uint8_t *out, size_t out_max, size_t *out_len);

/* Structure only: GROUP_ERR_TRUNCATED, _MALFORMED, _UNSUPPORTED, _TOO_LARGE; a message ending
 * right after its tag parses with v->sig NULL (the caller reports it unsigned). */
int group_msg_parse(const uint8_t *in, size_t len, struct group_msg_view *v);

/* group_msg_verify without a cache. */
int group_msg_verify_sig(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN]);

/* Checks the tag and writes the plaintext (v->body_len bytes) to pt: GROUP_ERR_FORGED on a
 * bad tag (pt is then zeroed). */
int group_msg_open(const struct group_msg_view *v, const uint8_t traffic_key[GROUP_KEY_LEN],
                   uint8_t *pt);

/* ---- Batches (alg 2) ----------------------------------------------------------------------
 * leaf = SHA-256(0x00 || header || body || tag), node = SHA-256(0x01 || left || right); at a
 * level of odd size the last node goes up unchanged. The network signs
 * "iotsec group batch v1" || count (2) || root with Ed25519, once per batch. */

/* Seals pt without signing: header, body and tag into out (group_msg_batch_len bytes for its
 * place in the batch are needed later). h->alg must be GROUP_ALG_AES128GCM_ED25519_BATCH. */
int group_msg_seal(const struct group_msg_hdr *h, const uint8_t traffic_key[GROUP_KEY_LEN],
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max,
                   size_t *sealed_len);

/* One sealed message of a batch: msg holds sealed_len bytes and has room for cap. */
struct group_batch_item {
    uint8_t *msg;
    size_t sealed_len;
    size_t cap;
    size_t len; /* set by group_batch_sign: the whole message */
};

/* Signs the batch's root once and appends to each message its trailer (count, index, root,
 * path, signature). n in 1..GROUP_BATCH_MAX; IOTSEC_ERR_INVALID when an item lacks room. */
int group_batch_sign(const struct prov_sign_key *sk, struct group_batch_item *items, uint16_t n);

/* Roots a device verified recently: a later message of the same batch costs its path's
 * hashes and no signature verification. Wipe with the member's state; zero it to empty. */
#define GROUP_ROOT_CACHE 4
struct group_root_cache {
    uint8_t root[GROUP_ROOT_CACHE][GROUP_HASH_LEN];
    uint8_t sig[GROUP_ROOT_CACHE][GROUP_SIG_LEN];
    uint16_t count[GROUP_ROOT_CACHE];
    uint8_t n, next;
};

/* Verifies a message of either algorithm: GROUP_ERR_UNSIGNED, _FORGED (alg 1), _BAD_PATH and
 * _BAD_ROOT_SIG (alg 2) or IOTSEC_OK. cache may be NULL; a verified root is added to it. */
int group_msg_verify(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN],
                     struct group_root_cache *cache);

/* key id = first 4 bytes of HMAC-SHA-256(root, "iotsec group key id"). */
uint32_t group_key_id(const uint8_t root[GROUP_KEY_LEN]);

/* ---- Rekey (type 2) ---------------------------------------------------------------------- */

#define GROUP_REKEY_HDR_LEN   (2 + 8 + 4 + 4 + 1 + 1 + 4)
#define GROUP_REKEY_ENTRY_LEN (4 + 1 + GROUP_WRAP_LEN)

struct group_rekey_hdr {
    uint64_t ref;
    uint32_t from_epoch;
    uint32_t to_epoch;
    uint8_t arity;
    uint8_t depth;
    uint32_t count;
};

struct group_rekey_entry {
    uint32_t node; /* the node whose new key this is */
    uint8_t child; /* wrapped under the key of child arity*node+1+child */
    uint8_t wrapped[GROUP_WRAP_LEN];
};

struct group_rekey_view {
    struct group_rekey_hdr h;
    const uint8_t *entries;
    const uint8_t *sig;
    const uint8_t *start;
    size_t signed_len;
};

static inline size_t group_rekey_len(uint32_t count)
{
    return GROUP_REKEY_HDR_LEN + (size_t)count * GROUP_REKEY_ENTRY_LEN + GROUP_SIG_LEN;
}

/* Writes the header; entries are then put with group_rekey_put_entry, and the message signed
 * with group_rekey_sign (out must hold group_rekey_len(h->count)). */
void group_rekey_put_hdr(const struct group_rekey_hdr *h, uint8_t *out);
void group_rekey_put_entry(uint8_t *out, uint32_t i, const struct group_rekey_entry *e);
int group_rekey_sign(const struct prov_sign_key *sk, uint8_t *out, uint32_t count);

int group_rekey_parse(const uint8_t *in, size_t len, struct group_rekey_view *v);
void group_rekey_get_entry(const struct group_rekey_view *v, uint32_t i,
                           struct group_rekey_entry *e);
int group_rekey_verify_sig(const struct group_rekey_view *v, const uint8_t pub[GROUP_PUB_LEN]);

/* RFC 3394 AES key wrap of one node key. Unwrap: IOTSEC_ERR_AUTH on an integrity failure. */
int group_key_wrap(const uint8_t kek[GROUP_KEY_LEN], const uint8_t key[GROUP_KEY_LEN],
                   uint8_t out[GROUP_WRAP_LEN]);
int group_key_unwrap(const uint8_t kek[GROUP_KEY_LEN], const uint8_t in[GROUP_WRAP_LEN],
                     uint8_t key[GROUP_KEY_LEN]);

/* ---- Path-key delivery (type 3) ----------------------------------------------------------- */

#define GROUP_PATH_HDR_LEN (2 + 8 + 4 + 4 + 1 + 1 + GROUP_NONCE_LEN)

struct group_path {
    uint64_t ref;
    uint32_t leaf;
    uint32_t epoch;
    uint8_t arity;
    uint8_t depth;
    uint8_t sign_pub[GROUP_PUB_LEN];
    uint8_t keys[GROUP_MAX_DEPTH + 1][GROUP_KEY_LEN]; /* leaf first, root last */
};

static inline size_t group_path_len(uint8_t depth)
{
    return GROUP_PATH_HDR_LEN + GROUP_PUB_LEN + ((size_t)depth + 1) * GROUP_KEY_LEN + GROUP_TAG_LEN;
}

int group_path_seal(const uint8_t kgm[GROUP_MKEY_LEN], const struct group_path *p, uint8_t *out,
                    size_t out_max, size_t *out_len);
/* GROUP_ERR_TRUNCATED/_MALFORMED for structure, GROUP_ERR_FORGED for a tag that does not
 * verify under kgm (p is then wiped). */
int group_path_open(const uint8_t kgm[GROUP_MKEY_LEN], const uint8_t *in, size_t len,
                    struct group_path *p);

/* ---- Keys bound to a member -------------------------------------------------------------- */

/* K_GM = HKDF-SHA-256(salt "iotsec-group-v1", ikm anchor, info "member" || ref): the anchor is
 * the KAUSF of the member's latest 5G AKA, or its provisioning device key. */
int group_member_key(const uint8_t *anchor, size_t anchor_len, uint64_t ref,
                     uint8_t kgm[GROUP_MKEY_LEN]);

/* HMAC-SHA-256(K_GM, "iotsec group member" || ref || epoch || traffic key || challenge):
 * proves both the member's own key and the current group key material. */
int group_member_proof(const uint8_t kgm[GROUP_MKEY_LEN], uint64_t ref, uint32_t epoch,
                       const uint8_t traffic_key[GROUP_KEY_LEN], const uint8_t *challenge,
                       size_t challenge_len, uint8_t mac[32]);

/* A sleepy device's fetch of its current path keys (docs/group.md): HMAC-SHA-256(K_GM,
 * "iotsec group fetch" || ref || when (unix seconds, 8 bytes)). Only the member and the
 * network hold K_GM; the answer is wrapped under it, so a replayed request learns nothing. */
#define GROUP_FETCH_SKEW 300 /* seconds either side of the network's clock */
int group_fetch_mac(const uint8_t kgm[GROUP_MKEY_LEN], uint64_t ref, int64_t when, uint8_t mac[32]);

/* Heap-order tree helpers: parent of a non-root node, first child, first leaf at depth. */
static inline uint32_t group_node_parent(uint32_t n, uint8_t arity)
{
    return (n - 1) / arity;
}

#endif
