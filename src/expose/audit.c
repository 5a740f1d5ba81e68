/* The audit log's hash chain. Each record commits to the one before it, so altering, dropping
 * or reordering any record breaks every later link; the sequence number in each record makes
 * a log with its head cut off fail at once against the genesis anchor. What a hash chain alone
 * cannot show is a tail cut off (or a whole log rewritten by someone who recomputed every
 * hash): that takes a checkpoint of the head (count, hash) kept apart from the log, which
 * audit_verify() takes as `end`. */
#include <string.h>

#include "base/err.h"
#include "expose/expose.h"

#define ENCODING_MAX (8 + 8 + 1 + 5 * (4 + AUDIT_FIELD_MAX))

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Appends u32 length || bytes; false when the field is absent or too long. */
static bool put_field(uint8_t *buf, size_t *off, const char *s)
{
    size_t n = s ? strnlen(s, AUDIT_FIELD_MAX + 1) : AUDIT_FIELD_MAX + 1;
    if (n > AUDIT_FIELD_MAX)
        return false;
    uint8_t *p = buf + *off;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    memcpy(p + 4, s, n);
    *off += 4 + n;
    return true;
}

/* Length prefixes make the encoding injective: no two records share an encoding, however
 * their texts are chosen (a '|' in a reason cannot forge a field boundary). */
static int encode(const struct audit_record *rec, uint8_t buf[ENCODING_MAX], size_t *len)
{
    size_t off = 17;
    put_u64(buf, rec->seq);
    put_u64(buf + 8, (uint64_t)rec->time_ms);
    buf[16] = rec->allow ? 1 : 0;
    if (!put_field(buf, &off, rec->principal) || !put_field(buf, &off, rec->action) ||
        !put_field(buf, &off, rec->resource) || !put_field(buf, &off, rec->reason) ||
        !put_field(buf, &off, rec->request_id))
        return IOTSEC_ERR_INVALID;
    *len = off;
    return IOTSEC_OK;
}

int audit_record_hash(const uint8_t prev[AUDIT_HASH_LEN], const struct audit_record *rec,
                      uint8_t out[AUDIT_HASH_LEN])
{
    uint8_t buf[ENCODING_MAX];
    size_t len;
    if (prev == NULL || rec == NULL || out == NULL)
        return IOTSEC_ERR_INVALID;
    int rc = encode(rec, buf, &len);
    if (rc == IOTSEC_OK)
        sha256_2(prev, AUDIT_HASH_LEN, buf, len, out);
    return rc;
}

int audit_append(struct audit_anchor *head, struct audit_record *rec)
{
    if (head == NULL || rec == NULL)
        return IOTSEC_ERR_INVALID;
    rec->seq = head->seq;
    int rc = audit_record_hash(head->hash, rec, rec->hash);
    if (rc != IOTSEC_OK)
        return rc;
    head->seq++;
    memcpy(head->hash, rec->hash, AUDIT_HASH_LEN);
    return IOTSEC_OK;
}

/* After the records verified: do they reach the trusted checkpoint? */
static int check_end(const struct audit_record *recs, size_t n, const struct audit_anchor *start,
                     const struct audit_anchor *end, size_t *bad)
{
    if (end->seq < start->seq)
        return IOTSEC_ERR_INVALID;
    uint64_t k = end->seq - start->seq; /* records between the two anchors */
    if (k > n) {
        *bad = n; /* records are missing from here on */
        return IOTSEC_ERR_AUTH;
    }
    const uint8_t *h = k == 0 ? start->hash : recs[k - 1].hash;
    if (memcmp(h, end->hash, AUDIT_HASH_LEN) != 0) {
        *bad = k == 0 ? 0 : (size_t)k - 1; /* a rewritten chain: cannot localise better */
        return IOTSEC_ERR_AUTH;
    }
    return IOTSEC_OK;
}

int audit_verify(const struct audit_record *recs, size_t n, const struct audit_anchor *start,
                 const struct audit_anchor *end, size_t *bad_index)
{
    static const struct audit_anchor genesis;
    size_t scratch;
    size_t *bad = bad_index ? bad_index : &scratch;
    *bad = 0;
    if (recs == NULL && n > 0)
        return IOTSEC_ERR_INVALID;
    if (start == NULL)
        start = &genesis;
    const uint8_t *prev = start->hash;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[AUDIT_HASH_LEN];
        *bad = i;
        if (recs[i].seq != start->seq + i)
            return IOTSEC_ERR_AUTH; /* dropped, reordered, or a head cut off */
        int rc = audit_record_hash(prev, &recs[i], h);
        if (rc != IOTSEC_OK)
            return rc;
        if (memcmp(h, recs[i].hash, AUDIT_HASH_LEN) != 0)
            return IOTSEC_ERR_AUTH;
        prev = recs[i].hash;
    }
    *bad = 0;
    return end ? check_end(recs, n, start, end, bad) : IOTSEC_OK;
}
