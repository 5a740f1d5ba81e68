/* The cryptographic core of zero-touch onboarding (issue 4), shared by the daemon and the
 * device SDK. Pure functions: no I/O, no clock, no global state beyond fetched algorithms
 * and per-thread scratch contexts.
 *
 * The protocol these pieces serve (the daemon and the SDK own the messages around them):
 *   1. The server hands the device a fresh 32-byte nonce (crypto_random). The device makes
 *      an ephemeral X25519 key pair and proves its identity with
 *      prov_proof_compute(device_key, {reg_id, nonce, device_pub}); the server checks it
 *      with prov_proof_verify (or authenticates the device by its factory certificate).
 *   2. The server serialises the credentials (prov_bundle_encode) and answers with
 *      prov_envelope_seal: encrypted to device_pub, signed by the operator's Ed25519
 *      provisioning key. The envelope is a self-contained byte string: store it with the
 *      registration and replay the same bytes to a retried request (idempotency).
 *   3. The device opens it with prov_envelope_open (signature first, against the pinned
 *      public key; then decryption), parses it (prov_bundle_parse), stores it, and confirms
 *      with prov_confirm_compute under its new K; the server checks prov_confirm_verify.
 * Ownership is tracked by vouchers (prov_voucher_*), independent of the steps above.
 *
 * Encoding conventions, used by every structure here (all integers big-endian):
 *   lp(x)   = u16(len(x)) || x              (a "length-prefixed" field)
 *   labels  = lp("iotsec-onboard-v1 ...") or lp("iotsec-voucher-v1"): every MAC input and
 *             every signed message starts with its own label, so no MAC or signature made
 *             for one purpose verifies for another.
 * Fixed-size fields (nonces, keys, tags, signatures) are written raw.
 *
 * Errors (base/err.h): IOTSEC_ERR_INVALID for malformed input or a caller's wrong length,
 * IOTSEC_ERR_AUTH when a MAC, tag, signature or chain link does not verify,
 * IOTSEC_ERR_CRYPTO when OpenSSL fails, IOTSEC_ERR_NOMEM when an allocation fails.
 * No function asserts on input. Pointers are borrowed for the duration of the call unless
 * said otherwise; output buffers are owned by the caller. */
#ifndef IOTSEC_CRYPTO_PROVISION_CRYPTO_H
#define IOTSEC_CRYPTO_PROVISION_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROV_LABEL_ONBOARD "iotsec-onboard-v1"
#define PROV_LABEL_VOUCHER "iotsec-voucher-v1"

#define PROV_NONCE_LEN        32 /* server nonce */
#define PROV_KEY_LEN          32 /* derived device key, confirmation key */
#define PROV_MAC_LEN          32 /* proof and confirmation MACs (HMAC-SHA-256, untruncated) */
#define PROV_X25519_LEN       32 /* X25519 private and public keys */
#define PROV_ED25519_SEED_LEN 32 /* Ed25519 private key (RFC 8032 secret) */
#define PROV_ED25519_PUB_LEN  32
#define PROV_ED25519_SIG_LEN  64
#define PROV_GCM_TAG_LEN      16
#define PROV_REG_ID_MAX       128 /* registration ids and voucher device ids */
#define PROV_GROUP_KEY_MIN    16
#define PROV_GROUP_KEY_MAX    128

/* ---- Encoding building blocks ---------------------------------------------------------
 * A bounded writer and reader for the conventions above. The daemon and the SDK may use
 * them for their own messages. Neither allocates; both record overflow instead of failing
 * at each call, so a sequence of puts/gets is checked once at the end. */

struct prov_writer {
    uint8_t *buf; /* borrowed, cap bytes */
    size_t cap;
    size_t len;    /* bytes written so far */
    bool overflow; /* a put did not fit (or an lp field exceeded 65535 bytes) */
};

struct prov_reader {
    const uint8_t *p; /* borrowed: the next unread byte */
    size_t left;
    bool bad; /* a get ran past the end */
};

void prov_put(struct prov_writer *w, const void *data, size_t len);
void prov_put_u8(struct prov_writer *w, uint8_t v);
void prov_put_u16(struct prov_writer *w, uint16_t v);
void prov_put_u32(struct prov_writer *w, uint32_t v);
void prov_put_u64(struct prov_writer *w, uint64_t v);
void prov_put_lp(struct prov_writer *w, const void *data, size_t len);

/* Each returns a pointer into the input (NULL, and sets bad, when fewer bytes remain). */
const uint8_t *prov_get(struct prov_reader *r, size_t len);
/* An lp field: *len gets its length. */
const uint8_t *prov_get_lp(struct prov_reader *r, size_t *len);
uint8_t prov_get_u8(struct prov_reader *r);
uint16_t prov_get_u16(struct prov_reader *r);
uint32_t prov_get_u32(struct prov_reader *r);
uint64_t prov_get_u64(struct prov_reader *r);

/* True for 1..PROV_REG_ID_MAX bytes of visible ASCII (0x21..0x7e): registration ids,
 * device ids and credential ids are logged and stored as text, so no controls or spaces. */
bool prov_id_valid(const char *id, size_t len);

/* ---- Ed25519: the operator's provisioning key, manufacturer and owner keys ------------ */

/* An Ed25519 private key ready to sign. Opaque; owns OpenSSL objects. Safe to share
 * between threads for signing once created. */
struct prov_sign_key;

/* Generates a random seed (the RFC 8032 secret: store it sealed) and its public key. */
int prov_ed25519_keygen(uint8_t seed[PROV_ED25519_SEED_LEN], uint8_t pub[PROV_ED25519_PUB_LEN]);

/* Makes a signing key from a seed (the caller still owns and wipes seed). *out is NULL on
 * error; free it with prov_sign_key_free. */
int prov_sign_key_new(const uint8_t seed[PROV_ED25519_SEED_LEN], struct prov_sign_key **out);
void prov_sign_key_free(struct prov_sign_key *key); /* NULL is fine */

/* The key's public key, e.g. to pin it in the device SDK. */
void prov_sign_key_public(const struct prov_sign_key *key, uint8_t pub[PROV_ED25519_PUB_LEN]);

/* Pure Ed25519 (RFC 8032, no prehash) of msg (len bytes; msg may be NULL when len is 0). */
int prov_ed25519_sign(const struct prov_sign_key *key, const void *msg, size_t len,
                      uint8_t sig[PROV_ED25519_SIG_LEN]);

/* IOTSEC_OK, or IOTSEC_ERR_AUTH when sig is not pub's signature of msg (including a pub
 * that is not a valid point). */
int prov_ed25519_verify(const uint8_t pub[PROV_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[PROV_ED25519_SIG_LEN]);

/* ---- X25519: ephemeral keys ---------------------------------------------------------- */

/* A fresh ephemeral key pair (the device's, per onboarding attempt). priv is a secret: wipe
 * it once the envelope is opened. */
int prov_x25519_keygen(uint8_t priv[PROV_X25519_LEN], uint8_t pub[PROV_X25519_LEN]);

/* The shared secret z = X25519(priv, peer_pub) (a secret: wipe it), and, when my_pub is not
 * NULL, priv's own public key (computed from the same key object, no extra cost to fetch).
 * IOTSEC_ERR_INVALID for a small-order peer key (the all-zero secret is refused). */
int prov_x25519_shared(const uint8_t priv[PROV_X25519_LEN], const uint8_t peer_pub[PROV_X25519_LEN],
                       uint8_t z[PROV_X25519_LEN], uint8_t my_pub[PROV_X25519_LEN]);

/* ---- HKDF-SHA-256 (RFC 5869), over OpenSSL's EVP_KDF "HKDF" ---------------------------- */

/* out_len in 1..255*32. salt may be NULL when salt_len is 0 (then the RFC's zero salt). */
int prov_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* ---- 1. Derived device keys and the onboarding proof --------------------------------- */

/* device_key = HMAC-SHA-256(group_key, reg_id) (the raw id bytes, no prefix: the Azure DPS
 * convention, so existing factory tooling can derive keys). group_key_len in
 * PROV_GROUP_KEY_MIN..PROV_GROUP_KEY_MAX. The key is a secret: wipe it. */
int prov_device_key(const uint8_t *group_key, size_t group_key_len, const char *reg_id,
                    size_t reg_id_len, uint8_t key[PROV_KEY_LEN]);

/* What an onboarding request is bound to: the proof, the envelope's key derivation, its
 * AAD and its signature all cover these. */
struct prov_onboard_ctx {
    const char *reg_id; /* borrowed; reg_id_len bytes, prov_id_valid(), no NUL needed */
    size_t reg_id_len;
    uint8_t server_nonce[PROV_NONCE_LEN];
    uint8_t device_pub[PROV_X25519_LEN]; /* the device's ephemeral X25519 public key */
};

/* proof = HMAC-SHA-256(device_key,
 *           lp("iotsec-onboard-v1 proof") || lp(server_nonce) || lp(reg_id) || lp(device_pub))
 * IOTSEC_ERR_INVALID for an invalid reg id. */
int prov_proof_compute(const uint8_t device_key[PROV_KEY_LEN], const struct prov_onboard_ctx *ctx,
                       uint8_t mac[PROV_MAC_LEN]);

/* Recomputes and compares in constant time: IOTSEC_OK or IOTSEC_ERR_AUTH. */
int prov_proof_verify(const uint8_t device_key[PROV_KEY_LEN], const struct prov_onboard_ctx *ctx,
                      const uint8_t mac[PROV_MAC_LEN]);

/* ---- 2. The credential envelope --------------------------------------------------------
 * Layout (the signature covers every byte before it; "header" is the part up to server_pub):
 *   lp("iotsec-onboard-v1")                     19 bytes
 *   lp(reg_id)                                  2 + n
 *   server_nonce                                32
 *   device_pub   (X25519, the device's)         32
 *   server_pub   (X25519, fresh per envelope)   32
 *   lp(ciphertext)                              2 + pt_len
 *   gcm_tag                                     16
 *   signature    (Ed25519, provisioning key)    64
 * z = X25519(server_priv, device_pub); key(32) || iv(12) = HKDF-SHA-256(salt = server_nonce,
 * ikm = z, info = header); AES-256-GCM with AAD = header. Signatures are deterministic, so a
 * stored envelope can be replayed byte for byte. */
#define PROV_ENVELOPE_OVERHEAD 199 /* plus reg_id_len and pt_len */
#define PROV_PLAINTEXT_MAX     65535

/* Exact envelope size for a reg id and a plaintext length (0 when either is out of range). */
size_t prov_envelope_len(size_t reg_id_len, size_t pt_len);

/* Seals pt (pt_len bytes, 1..PROV_PLAINTEXT_MAX) for ctx with a fresh server ephemeral key,
 * signs with key, writes the envelope to out (out_max bytes; prov_envelope_len() are used),
 * *out_len gets its length. pt and out must not overlap. */
int prov_envelope_seal(const struct prov_sign_key *key, const struct prov_onboard_ctx *ctx,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_max,
                       size_t *out_len);

/* The same with a given server ephemeral private key: for tests and vectors only. Reusing
 * one ephemeral key for two different plaintexts under the same ctx reuses a GCM nonce. */
int prov_envelope_seal_with(const struct prov_sign_key *key,
                            const uint8_t server_priv[PROV_X25519_LEN],
                            const struct prov_onboard_ctx *ctx, const uint8_t *pt, size_t pt_len,
                            uint8_t *out, size_t out_max, size_t *out_len);

/* Device side. Verifies the signature against pinned_pub FIRST (before parsing anything, so
 * every altered byte gives IOTSEC_ERR_AUTH), then checks the envelope's context equals
 * expect (IOTSEC_ERR_AUTH otherwise: an envelope for another request), then decrypts with
 * device_priv into pt (pt_max bytes), *pt_len gets the plaintext length.
 * IOTSEC_ERR_INVALID: env shorter than any envelope, or pt_max too small.
 * On every failure the pt_max bytes at pt are zeroed and *pt_len is 0. */
int prov_envelope_open(const uint8_t pinned_pub[PROV_ED25519_PUB_LEN],
                       const uint8_t device_priv[PROV_X25519_LEN],
                       const struct prov_onboard_ctx *expect, const uint8_t *env, size_t env_len,
                       uint8_t *pt, size_t pt_max, size_t *pt_len);

/* ---- The credential bundle (the envelope's plaintext) ----------------------------------
 * u8 version (1), then items u8 tag || lp(value), tags strictly increasing except HN_KEY,
 * which may repeat (0..PROV_HN_KEYS_MAX times, ids strictly increasing). All items except
 * HN_KEY are mandatory; unknown tags, trailing bytes, duplicates are refused.
 *   1 SUPI            1..64 visible ASCII ("imsi-001010000000001", "nai-...")
 *   2 K               16 or 32 bytes
 *   3 OPC             same length as K
 *   4 AMF             2 bytes
 *   5 HN_KEY          u8 key id || u8 scheme (1 Profile A, 2 Profile B) || public key
 *                     (A: 32 bytes; B: 33 compressed or 65 uncompressed)
 *   6 ROUTING_IND     1..4 decimal digits
 *   7 CRED_ID         1..64 visible ASCII
 *   8 CRED_VERSION    u32
 *   9 NOT_AFTER       u64, seconds since the Unix epoch
 *  10 SERVICE         0..PROV_SERVICE_MAX opaque bytes (JSON by convention) */
#define PROV_BUNDLE_VERSION 1
#define PROV_SUPI_MAX       64
#define PROV_CRED_ID_MAX    64
#define PROV_HN_KEYS_MAX    8
#define PROV_HN_PUB_MAX     65
#define PROV_SERVICE_MAX    16384

enum prov_bundle_tag {
    PROV_TAG_SUPI = 1,
    PROV_TAG_K = 2,
    PROV_TAG_OPC = 3,
    PROV_TAG_AMF = 4,
    PROV_TAG_HN_KEY = 5,
    PROV_TAG_ROUTING_IND = 6,
    PROV_TAG_CRED_ID = 7,
    PROV_TAG_CRED_VERSION = 8,
    PROV_TAG_NOT_AFTER = 9,
    PROV_TAG_SERVICE = 10,
};

struct prov_hn_key {
    uint8_t id;
    uint8_t scheme; /* enum suci_scheme: 1 or 2 */
    uint8_t pub_len;
    uint8_t pub[PROV_HN_PUB_MAX];
};

/* Holds K and OPc: wipe with prov_bundle_wipe(). Strings are NUL-terminated. */
struct prov_bundle {
    char supi[PROV_SUPI_MAX + 1];
    uint8_t k_len; /* 16 or 32; OPc has the same length */
    uint8_t k[32];
    uint8_t opc[32];
    uint8_t amf[2];
    size_t n_hn_keys;
    struct prov_hn_key hn_keys[PROV_HN_KEYS_MAX];
    char routing_ind[5];
    char cred_id[PROV_CRED_ID_MAX + 1];
    uint32_t cred_version;
    uint64_t not_after;
    const uint8_t *service; /* borrowed: from the caller (encode) or into the input (parse) */
    size_t service_len;
};

/* Serialises b into out (out_max bytes); *out_len gets the length. The output holds K and
 * OPc: wipe it after sealing. IOTSEC_ERR_INVALID for any field out of range (nothing is
 * written) or a too small out (the out_max bytes are zeroed). */
int prov_bundle_encode(const struct prov_bundle *b, uint8_t *out, size_t out_max, size_t *out_len);

/* Parses and validates; b->service points into in, so in must outlive b's use of it.
 * IOTSEC_ERR_INVALID on any deviation from the canonical form (b is then wiped). */
int prov_bundle_parse(const uint8_t *in, size_t in_len, struct prov_bundle *b);

void prov_bundle_wipe(struct prov_bundle *b);

/* ---- 3. Confirmation ------------------------------------------------------------------- */

struct prov_confirm_ctx {
    const char *reg_id; /* borrowed, reg_id_len bytes, prov_id_valid() */
    size_t reg_id_len;
    const char *cred_id; /* borrowed, cred_id_len bytes, prov_id_valid() */
    size_t cred_id_len;
    uint32_t cred_version;
    uint8_t server_nonce[PROV_NONCE_LEN];
};

/* ck  = HMAC-SHA-256(K, lp("iotsec-onboard-v1 confirm-key") || lp(cred_id) ||
 *                       u32(cred_version) || lp(server_nonce))
 * mac = HMAC-SHA-256(ck, lp("iotsec-onboard-v1 confirm") || lp(reg_id) || lp(cred_id) ||
 *                        u32(cred_version) || lp(server_nonce))
 * k_len 16 or 32. ck never leaves the function. */
int prov_confirm_compute(const uint8_t *k, size_t k_len, const struct prov_confirm_ctx *c,
                         uint8_t mac[PROV_MAC_LEN]);

/* Recomputes and compares in constant time: IOTSEC_OK or IOTSEC_ERR_AUTH. */
int prov_confirm_verify(const uint8_t *k, size_t k_len, const struct prov_confirm_ctx *c,
                        const uint8_t mac[PROV_MAC_LEN]);

/* ---- 4. Ownership vouchers --------------------------------------------------------------
 * A chain is the concatenation of entries, each written as u16(entry_len) || entry:
 *   lp("iotsec-voucher-v1")     19 bytes
 *   lp(device_id)               2 + n
 *   u32 seq                     the entry's index, 0 for the first
 *   u64 timestamp               seconds since the epoch; never decreases along the chain
 *   from_pub                    32: entry 0: the manufacturer root; else the previous to_pub
 *   to_pub                      32: the new owner
 *   prev_hash                   32: SHA-256 of the previous entry (without its u16 prefix,
 *                               with its signature); zeros for entry 0
 *   signature                   64: Ed25519 by from_pub's key over the entry's bytes before it
 * A chain verifies when every entry has the right seq, the same device id, a linked from_pub
 * and prev_hash, a non-decreasing timestamp and a valid signature; the current owner is the
 * last to_pub. A chain cut after a whole entry is still a valid, older chain naming an
 * earlier owner: whoever stores a device's chain must only accept a longer one that starts
 * with the chain it holds (entries are appended, never rewritten). */
#define PROV_VOUCHER_ENTRY_OVERHEAD 195 /* with its u16 prefix, plus the device id's length */
#define PROV_VOUCHER_MAX_ENTRIES    64

struct prov_voucher_entry {
    const char *device_id; /* borrowed, device_id_len bytes, prov_id_valid() */
    size_t device_id_len;
    uint32_t seq;
    uint64_t timestamp;
    uint8_t from_pub[PROV_ED25519_PUB_LEN];
    uint8_t to_pub[PROV_ED25519_PUB_LEN];
    uint8_t prev_hash[32];
};

/* Size of one entry on the wire including its u16 prefix (0 for an invalid id length). */
size_t prov_voucher_entry_len(size_t device_id_len);

/* Low level: writes u16 prefix || entry e signed by signer, whatever e says (the signer need
 * not match e->from_pub: tests build forgeries with it). */
int prov_voucher_entry_encode(const struct prov_voucher_entry *e,
                              const struct prov_sign_key *signer, uint8_t *out, size_t out_max,
                              size_t *out_len);

/* The first entry, signed by the manufacturer root: a chain of one. */
int prov_voucher_start(const struct prov_sign_key *root, const char *device_id,
                       size_t device_id_len, const uint8_t to_pub[PROV_ED25519_PUB_LEN],
                       uint64_t timestamp, uint8_t *out, size_t out_max, size_t *out_len);

/* Appends a transfer to to_pub signed by owner: out gets chain || new entry (out may be
 * chain itself when out_max has room). Checks the chain's structure (not its signatures:
 * that is prov_voucher_verify's job) and refuses, with IOTSEC_ERR_AUTH, an owner that is
 * not the chain's current one; IOTSEC_ERR_INVALID for an earlier timestamp than the last
 * entry's, a malformed chain, a full chain or a too small out. */
int prov_voucher_append(const uint8_t *chain, size_t chain_len, const struct prov_sign_key *owner,
                        const uint8_t to_pub[PROV_ED25519_PUB_LEN], uint64_t timestamp,
                        uint8_t *out, size_t out_max, size_t *out_len);

/* Verifies the whole chain for device_id from root_pub. IOTSEC_OK: owner_pub gets the current
 * owner and, when entries is not NULL, *entries the chain's length. IOTSEC_ERR_INVALID: not
 * a chain at all (bad lengths, labels, empty, too long); IOTSEC_ERR_AUTH: a well-formed chain
 * that does not verify (wrong device, broken link, bad signature, reordered entries). */
int prov_voucher_verify(const uint8_t root_pub[PROV_ED25519_PUB_LEN], const char *device_id,
                        size_t device_id_len, const uint8_t *chain, size_t chain_len,
                        uint8_t owner_pub[PROV_ED25519_PUB_LEN], size_t *entries);

#endif
