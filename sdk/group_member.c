/* The device side of group messaging: path keys, rekeys, replay windows, verification. */
#include "group_member.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "onboard.h"

void group_member_init(struct group_member *m, uint64_t ref, const uint8_t kgm[GROUP_MKEY_LEN])
{
    memset(m, 0, sizeof(*m));
    m->ref = ref;
    memcpy(m->kgm, kgm, GROUP_MKEY_LEN);
}

void group_member_wipe(struct group_member *m)
{
    secure_wipe(m, sizeof(*m));
}

int group_member_join(struct group_member *m, const uint8_t *in, size_t len)
{
    struct group_path p;
    int rc = group_path_open(m->kgm, in, len, &p);
    if (rc != IOTSEC_OK)
        return rc;
    if (p.ref != m->ref)
        rc = GROUP_ERR_WRONG_GROUP;
    else if (m->joined && p.epoch < m->epoch)
        rc = GROUP_ERR_STALE_EPOCH;
    else if (m->joined && !ct_equal(p.sign_pub, m->sign_pub, GROUP_PUB_LEN))
        rc = GROUP_ERR_FORGED;
    if (rc != IOTSEC_OK) {
        secure_wipe(&p, sizeof(p));
        return rc;
    }
    m->leaf = p.leaf;
    m->epoch = p.epoch;
    m->arity = p.arity;
    m->depth = p.depth;
    memcpy(m->sign_pub, p.sign_pub, GROUP_PUB_LEN);
    uint32_t n = p.leaf;
    for (uint8_t i = 0; i <= p.depth; i++) {
        m->path[i] = n;
        memcpy(m->keys[i], p.keys[i], GROUP_KEY_LEN);
        n = n > 0 ? group_node_parent(n, p.arity) : 0;
    }
    m->key_id = group_key_id(m->keys[p.depth]);
    m->joined = true;
    secure_wipe(&p, sizeof(p));
    return IOTSEC_OK;
}

/* Checks the header of a rekey against the member; structure first, then signature. */
static int rekey_check(const struct group_member *m, const struct group_rekey_view *v)
{
    if (v->h.ref != m->ref)
        return GROUP_ERR_WRONG_GROUP;
    int rc = group_rekey_verify_sig(v, m->sign_pub);
    if (rc != IOTSEC_OK)
        return rc;
    if (v->h.arity != m->arity || v->h.depth != m->depth)
        return GROUP_ERR_MALFORMED; /* the tree was rebuilt: fetch the path keys */
    if (v->h.from_epoch < m->epoch)
        return GROUP_ERR_STALE_EPOCH;
    if (v->h.from_epoch > m->epoch)
        return GROUP_ERR_FUTURE_EPOCH;
    return IOTSEC_OK;
}

int group_member_rekey(struct group_member *m, const uint8_t *in, size_t len)
{
    if (!m->joined)
        return GROUP_ERR_NOT_JOINED;
    struct group_rekey_view v;
    int rc = group_rekey_parse(in, len, &v);
    if (rc == IOTSEC_OK)
        rc = rekey_check(m, &v);
    if (rc != IOTSEC_OK)
        return rc;
    /* all or nothing: work on a copy of the path keys */
    uint8_t keys[GROUP_MAX_DEPTH + 1][GROUP_KEY_LEN];
    memcpy(keys, m->keys, sizeof(keys));
    for (uint32_t i = 0; rc == IOTSEC_OK && i < v.h.count; i++) {
        struct group_rekey_entry e;
        group_rekey_get_entry(&v, i, &e);
        for (uint8_t j = 1; j <= m->depth; j++) {
            if (e.node != m->path[j])
                continue;
            if (e.child < m->arity && (uint64_t)m->arity * e.node + 1 + e.child == m->path[j - 1])
                rc = group_key_unwrap(keys[j - 1], e.wrapped, keys[j]) == IOTSEC_OK
                         ? IOTSEC_OK
                         : GROUP_ERR_FORGED;
            break;
        }
        secure_wipe(&e, sizeof(e));
    }
    if (rc == IOTSEC_OK) {
        memcpy(m->keys, keys, sizeof(keys));
        m->epoch = v.h.to_epoch;
        m->key_id = group_key_id(m->keys[m->depth]);
    }
    secure_wipe(keys, sizeof(keys));
    return rc;
}

/* The replay slot of sender, or -1 (a new sender when there is room: *fresh). */
static int replay_slot(const struct group_member *m, uint32_t sender, bool *fresh)
{
    *fresh = false;
    for (uint32_t i = 0; i < m->nsenders; i++)
        if (m->replay[i].sender == sender)
            return (int)i;
    if (m->nsenders == GROUP_MEMBER_SENDERS)
        return -1;
    *fresh = true;
    return (int)m->nsenders;
}

static bool replay_ok(const struct group_member *m, int slot, bool fresh, uint64_t seq)
{
    if (fresh)
        return seq > 0;
    uint64_t max = m->replay[slot].max_seq;
    if (seq > max)
        return true;
    uint64_t age = max - seq;
    return age < GROUP_REPLAY_WINDOW && !(m->replay[slot].window >> age & 1);
}

static void replay_mark(struct group_member *m, int slot, bool fresh, uint32_t sender, uint64_t seq)
{
    if (fresh) {
        m->nsenders++;
        m->replay[slot].sender = sender;
        m->replay[slot].max_seq = seq;
        m->replay[slot].window = 1;
        return;
    }
    uint64_t max = m->replay[slot].max_seq;
    if (seq > max) {
        uint64_t shift = seq - max;
        m->replay[slot].window = shift >= 64 ? 1 : (m->replay[slot].window << shift) | 1;
        m->replay[slot].max_seq = seq;
    } else {
        m->replay[slot].window |= 1ull << (max - seq);
    }
}

int group_member_receive(struct group_member *m, const uint8_t *in, size_t len, uint8_t *pt,
                         size_t pt_max, size_t *pt_len, uint32_t *sender)
{
    if (!m->joined)
        return GROUP_ERR_NOT_JOINED;
    struct group_msg_view v;
    int rc = group_msg_parse(in, len, &v);
    if (rc != IOTSEC_OK)
        return rc;
    if (v.h.ref != m->ref)
        return GROUP_ERR_WRONG_GROUP;
    if ((rc = group_msg_verify(&v, m->sign_pub, &m->roots)) != IOTSEC_OK)
        return rc;
    if (v.h.epoch < m->epoch)
        return GROUP_ERR_STALE_EPOCH;
    if (v.h.epoch > m->epoch)
        return GROUP_ERR_FUTURE_EPOCH;
    if (v.h.key_id != m->key_id)
        return GROUP_ERR_FORGED;
    bool fresh;
    int slot = replay_slot(m, v.h.sender, &fresh);
    if (slot < 0)
        return IOTSEC_ERR_BUSY;
    if (!replay_ok(m, slot, fresh, v.h.seq))
        return GROUP_ERR_REPLAYED;
    if (v.body_len > pt_max)
        return IOTSEC_ERR_INVALID;
    if ((rc = group_msg_open(&v, m->keys[m->depth], pt)) != IOTSEC_OK)
        return rc;
    replay_mark(m, slot, fresh, v.h.sender, v.h.seq);
    *pt_len = v.body_len;
    *sender = v.h.sender;
    return IOTSEC_OK;
}

int group_member_prove(const struct group_member *m, const uint8_t *challenge, size_t challenge_len,
                       uint8_t mac[32])
{
    if (!m->joined)
        return GROUP_ERR_NOT_JOINED;
    return group_member_proof(m->kgm, m->ref, m->epoch, m->keys[m->depth], challenge, challenge_len,
                              mac);
}

int group_member_fetch_request(const struct group_member *m, const char *supi, int64_t now,
                               char *out, size_t cap)
{
    uint8_t mac[32];
    char mac64[64];
    int rc = group_fetch_mac(m->kgm, m->ref, now, mac);
    if (rc != IOTSEC_OK)
        return rc;
    b64url_encode(mac, sizeof(mac), mac64);
    int n = snprintf(out, cap,
                     "{\"supi\":\"%s\",\"group\":\"%016" PRIx64 "\",\"time\":%" PRId64
                     ",\"mac\":\"%s\"}",
                     supi, m->ref, now, mac64);
    return n > 0 && (size_t)n < cap && strpbrk(supi, "\"\\") == NULL ? IOTSEC_OK
                                                                     : IOTSEC_ERR_INVALID;
}

int group_member_fetch_apply(struct group_member *m, const char *body, size_t len)
{
    const char *v;
    size_t vlen, n;
    bool str;
    uint8_t buf[GROUP_PATH_HDR_LEN + GROUP_PUB_LEN + (GROUP_MAX_DEPTH + 1) * GROUP_KEY_LEN +
                GROUP_TAG_LEN];
    if (json_member(body, len, "data", &v, &vlen, &str) != IOTSEC_OK || !str ||
        b64url_decode(v, vlen, buf, sizeof(buf), &n) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    int rc = group_member_join(m, buf, n);
    secure_wipe(buf, sizeof(buf));
    return rc;
}
