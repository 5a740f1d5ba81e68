/* The subscriber capability's pure logic: states, SQN arithmetic, validation. No I/O. */
#include "subscriber/subscriber.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

static const char *const state_names[SUB_STATE_COUNT] = {
    "pending_activation", "active", "suspended", "quarantined", "revoked", "expired",
};

static const char *const event_names[SUB_EVENT_COUNT] = {
    "activate", "suspend", "resume", "quarantine", "release", "expire", "revoke",
};

const char *sub_state_name(enum sub_state s)
{
    return (unsigned)s < SUB_STATE_COUNT ? state_names[s] : "unknown";
}

const char *sub_event_name(enum sub_event e)
{
    return (unsigned)e < SUB_EVENT_COUNT ? event_names[e] : "unknown";
}

int sub_state_parse(const char *name, enum sub_state *out)
{
    for (int i = 0; i < SUB_STATE_COUNT; i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *out = (enum sub_state)i;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_INVALID;
}

/* The transition table: to[from][event], or -1 where the event is not allowed. */
#define NO -1
static const int transitions[SUB_STATE_COUNT][SUB_EVENT_COUNT] = {
    /*                  activate    suspend        resume      quarantine       release     expire
       revoke */
    [SUB_PENDING_ACTIVATION] = {SUB_ACTIVE, NO, NO, NO, NO, SUB_EXPIRED, SUB_REVOKED},
    [SUB_ACTIVE] = {NO, SUB_SUSPENDED, NO, SUB_QUARANTINED, NO, SUB_EXPIRED, SUB_REVOKED},
    [SUB_SUSPENDED] = {NO, NO, SUB_ACTIVE, SUB_QUARANTINED, NO, SUB_EXPIRED, SUB_REVOKED},
    [SUB_QUARANTINED] = {NO, NO, NO, NO, SUB_ACTIVE, SUB_EXPIRED, SUB_REVOKED},
    [SUB_REVOKED] = {NO, NO, NO, NO, NO, NO, NO},
    [SUB_EXPIRED] = {NO, NO, NO, NO, NO, NO, SUB_REVOKED},
};

int sub_transition(enum sub_state from, enum sub_event ev, enum sub_state *to)
{
    if ((unsigned)from >= SUB_STATE_COUNT || (unsigned)ev >= SUB_EVENT_COUNT)
        return IOTSEC_ERR_INVALID;
    int next = transitions[from][ev];
    if (next == NO)
        return IOTSEC_ERR_STATE;
    *to = (enum sub_state)next;
    return IOTSEC_OK;
}

unsigned sqn_ind_for(const char *serving_network, size_t len)
{
    /* FNV-1a: stable across runs and builds, which the USIM's slots rely on. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)serving_network[i];
        h *= 16777619u;
    }
    return h % SQN_IND_SLOTS;
}

unsigned sqn_ind_in_slot(int slot, const char *serving_network, size_t len)
{
    return (unsigned)slot * SQN_IND_PER_SLOT + sqn_ind_for(serving_network, len) % SQN_IND_PER_SLOT;
}

bool sqn_lease_usable(int64_t until_ms, int64_t now_ms, int64_t margin_ms)
{
    return until_ms - margin_ms > now_ms;
}

int sqn_take(struct sqn_gen *g, unsigned ind, uint64_t *sqn)
{
    if (ind >= SQN_IND_SLOTS)
        return IOTSEC_ERR_INVALID;
    if (g->next >= g->reserved)
        return IOTSEC_ERR_BUSY;
    *sqn = (g->next << SQN_IND_BITS) | ind;
    g->next++;
    return IOTSEC_OK;
}

int sqn_reserve_floor(const struct sqn_gen *g, uint64_t block, uint64_t *floor)
{
    if (block == 0 || g->next > SQN_SEQ_MAX || block > SQN_SEQ_MAX - g->next + 1)
        return IOTSEC_ERR_INVALID;
    *floor = g->next;
    return IOTSEC_OK;
}

int sqn_block_granted(struct sqn_gen *g, uint64_t hi, uint64_t block)
{
    if (block == 0 || hi < block || hi - 1 > SQN_SEQ_MAX)
        return IOTSEC_ERR_INVALID;
    if (hi <= g->reserved || hi <= g->next)
        return IOTSEC_OK; /* a newer block is held, or a resynchronisation passed this one */
    uint64_t lo = hi - block;
    /* The database started the block at or above the floor asked for; a resynchronisation
     * since may have moved next into it: skip that part. */
    g->next = lo > g->next ? lo : g->next;
    g->reserved = hi;
    return IOTSEC_OK;
}

void sqn_resync(struct sqn_gen *g, uint64_t sqn_ms)
{
    uint64_t seq_ms = (sqn_ms >> SQN_IND_BITS) & SQN_SEQ_MAX;
    if (g->next <= seq_ms)
        g->next = seq_ms + 1;
}

const char *sub_auth_method_name(enum sub_auth_method m)
{
    return m == SUB_AUTH_EAP_AKA_PRIME ? "EAP_AKA_PRIME" : "5G_AKA";
}

int sub_auth_method_parse(const char *name, enum sub_auth_method *out)
{
    if (name != NULL && strcmp(name, "5G_AKA") == 0)
        *out = SUB_AUTH_5G_AKA;
    else if (name != NULL && strcmp(name, "EAP_AKA_PRIME") == 0)
        *out = SUB_AUTH_EAP_AKA_PRIME;
    else
        return IOTSEC_ERR_INVALID;
    return IOTSEC_OK;
}

int sub_may_authenticate(const struct subscription *s, int64_t now)
{
    if (s->state != SUB_ACTIVE)
        return IOTSEC_ERR_STATE;
    if ((s->not_before && now < s->not_before) || (s->not_after && now >= s->not_after))
        return IOTSEC_ERR_STATE;
    return IOTSEC_OK;
}

static int digits_only(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int sub_gpsi_valid(const char *gpsi)
{
    if (gpsi == NULL || strlen(gpsi) >= SUB_GPSI_MAX)
        return 0;
    if (strncmp(gpsi, "msisdn-", 7) == 0)
        return digits_only(gpsi + 7, 5, 15);
    if (strncmp(gpsi, "extid-", 6) == 0) {
        const char *at = strchr(gpsi + 6, '@');
        if (at == NULL || at == gpsi + 6 || at[1] == '\0' || strchr(at + 1, '@'))
            return 0;
        for (const char *p = gpsi + 6; *p; p++) {
            if (!isgraph((unsigned char)*p))
                return 0;
        }
        return 1;
    }
    return 0;
}

/* Appends n bytes of s at *at in buf (cap bytes, one kept for the NUL): truncates as snprintf. */
static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + 1 >= cap)
        return;
    if (n > cap - 1 - *at)
        n = cap - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
}

size_t sub_aad(const struct supi *supi, const char *what, uint32_t version, char *buf, size_t len)
{
    /* what a bulk import computes twice per row: built without printf's format parsing */
    static const char head[] = "iotsec/subscription/";
    char digits[10];
    size_t at = 0, nd = 0;
    if (len == 0)
        return 0;
    do
        digits[sizeof(digits) - ++nd] = (char)('0' + version % 10);
    while ((version /= 10) != 0);
    put(buf, len, &at, head, sizeof(head) - 1);
    put(buf, len, &at, supi->type == SUPI_IMSI ? "imsi-" : "nai-", supi->type == SUPI_IMSI ? 5 : 4);
    put(buf, len, &at, supi->value, strnlen(supi->value, sizeof(supi->value)));
    put(buf, len, &at, "/", 1);
    put(buf, len, &at, what, strlen(what));
    put(buf, len, &at, "/v", 2);
    put(buf, len, &at, digits + sizeof(digits) - nd, nd);
    buf[at] = '\0';
    return at;
}

size_t sub_keys_aad(const struct supi *supi, uint32_t version, char *buf, size_t len)
{
    return sub_aad(supi, "k_opc", version, buf, len);
}
