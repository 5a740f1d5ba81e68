/* Where each credential was last seen: the serving network that asked for a vector, when,
 * and whether the subscription was allowed to authenticate. Feeds `iotsecctl audit`
 * (revoked-but-seen, one credential seen from two places at once). A fixed table indexed by
 * a hash of the SUPI, overwritten on collision: bounded memory, best effort by design. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/aka.h"
#include "aka/aka_int.h"
#include "base/err.h"

#define SEEN_SLOTS   65536
#define SHARED_WINDOW_S 60 /* two serving networks within this: one credential, two places */

struct seen_slot {
    char supi[40]; /* "" when free; IMSI SUPIs only (NAIs are not tracked) */
    uint32_t cred_version;
    char snn[64], other_snn[64];
    int64_t at, shared_at;
    bool refused;
};

struct aka_seen {
    pthread_mutex_t mu;
    struct seen_slot *slots;
};

struct aka_seen *aka_seen_new(void)
{
    struct aka_seen *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->slots = calloc(SEEN_SLOTS, sizeof(*t->slots))) == NULL) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void aka_seen_free(struct aka_seen *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

static size_t slot_of(const char *supi)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *supi; supi++)
        h = (h ^ (uint8_t)*supi) * 1099511628211ull;
    return (size_t)(h % SEEN_SLOTS);
}

void aka_seen_record(struct aka_seen *t, const char *supi, uint32_t cred_version,
                     const char *snn, int64_t now, bool refused)
{
    if (t == NULL || strlen(supi) >= sizeof(t->slots[0].supi))
        return;
    pthread_mutex_lock(&t->mu);
    struct seen_slot *s = &t->slots[slot_of(supi)];
    if (strcmp(s->supi, supi) != 0 || s->cred_version != cred_version) {
        memset(s, 0, sizeof(*s));
        snprintf(s->supi, sizeof(s->supi), "%s", supi);
        s->cred_version = cred_version;
    } else if (strcmp(s->snn, snn) != 0 && now - s->at <= SHARED_WINDOW_S) {
        snprintf(s->other_snn, sizeof(s->other_snn), "%s", s->snn);
        s->shared_at = now;
    }
    snprintf(s->snn, sizeof(s->snn), "%s", snn);
    s->at = now;
    s->refused = s->refused || refused;
    pthread_mutex_unlock(&t->mu);
}

int aka_seen_list(struct aka *a, aka_seen_fn fn, void *ctx)
{
    struct aka_seen *t = a ? a->seen : NULL;
    if (t == NULL)
        return IOTSEC_ERR_STATE;
    struct seen_slot copy;
    for (size_t i = 0; i < SEEN_SLOTS; i++) {
        pthread_mutex_lock(&t->mu);
        copy = t->slots[i];
        pthread_mutex_unlock(&t->mu);
        if (copy.supi[0] && (copy.refused || copy.shared_at)) {
            struct aka_seen_info info = {copy.supi, copy.cred_version, copy.snn, copy.at,
                                         copy.refused, copy.shared_at ? copy.other_snn : NULL,
                                         copy.shared_at};
            fn(&info, ctx);
        }
    }
    return IOTSEC_OK;
}
