/* The onboarding and rotation flows over a transport, with retries and backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "onboard.h"

static void default_sleep(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void note_cause(struct onboard_result *res, const char *answer, size_t len)
{
    const char *v;
    size_t vlen;
    bool str;
    res->cause[0] = '\0';
    if (answer && json_member(answer, len, "cause", &v, &vlen, &str) == IOTSEC_OK && str &&
        vlen < sizeof(res->cause)) {
        memcpy(res->cause, v, vlen);
        res->cause[vlen] = '\0';
    }
}

/* One exchange, retried on transport errors, 429 and 503 (and 5xx, which a restarting
 * daemon may give). IOTSEC_OK with a 2xx answer; otherwise *answer is NULL and the status is
 * in res: IOTSEC_ERR_AUTH for 401/403, IOTSEC_ERR_NOTFOUND for 404, IOTSEC_ERR_CONFLICT for
 * 409, IOTSEC_ERR_INVALID for another 4xx, IOTSEC_ERR_BUSY or IOTSEC_ERR_IO when retries ran
 * out. */
static int exchange(struct onboard_transport *t, enum onboard_op op, const char *body, size_t len,
                    const struct onboard_backoff *b, void (*sleep_fn)(uint32_t),
                    struct onboard_result *res, char **answer, size_t *answer_len)
{
    uint32_t max_retries = b && b->max_retries ? b->max_retries : 8;
    int rc = IOTSEC_ERR_IO;
    for (uint32_t attempt = 0;; attempt++) {
        long status = 0;
        uint32_t retry_after = 0;
        *answer = NULL;
        *answer_len = 0;
        rc = t->send(t, op, body, len, &status, &retry_after, answer, answer_len);
        if (rc == IOTSEC_OK) {
            res->last_status = status;
            if (status >= 200 && status < 300)
                return IOTSEC_OK;
            note_cause(res, *answer, *answer_len);
            free(*answer);
            *answer = NULL;
            if (status == 429 || status >= 500)
                rc = IOTSEC_ERR_BUSY;
            else if (status == 401 || status == 403)
                return IOTSEC_ERR_AUTH;
            else if (status == 404)
                return IOTSEC_ERR_NOTFOUND;
            else if (status == 409)
                return IOTSEC_ERR_CONFLICT;
            else
                return IOTSEC_ERR_INVALID;
        } else {
            rc = IOTSEC_ERR_IO;
        }
        if (attempt >= max_retries)
            return rc;
        uint32_t rnd = 0;
        crypto_random(&rnd, sizeof(rnd));
        res->retries++;
        sleep_fn(onboard_backoff_ms(b, attempt, retry_after, rnd));
    }
}

static int get_nonce(struct onboard_transport *t, const struct onboard_backoff *b,
                     void (*sleep_fn)(uint32_t), struct onboard_result *res,
                     uint8_t nonce[PROV_NONCE_LEN])
{
    char *ans;
    size_t ans_len;
    int rc = exchange(t, ONBOARD_OP_NONCE, "{}", 2, b, sleep_fn, res, &ans, &ans_len);
    if (rc != IOTSEC_OK)
        return rc;
    rc = onboard_parse_nonce(ans, ans_len, nonce);
    free(ans);
    return rc;
}

/* Sends the attempt's request (re-sent verbatim on retries) and opens the envelope. */
static int fetch_bundle(const struct onboard_device *d, struct onboard_transport *t,
                        enum onboard_op op, struct onboard_attempt *a,
                        const struct onboard_backoff *b, void (*sleep_fn)(uint32_t),
                        struct onboard_result *res)
{
    char *ans;
    size_t ans_len;
    int rc = exchange(t, op, a->request, a->request_len, b, sleep_fn, res, &ans, &ans_len);
    if (rc != IOTSEC_OK)
        return rc;
    rc = onboard_open_answer(d, a, ans, ans_len);
    free(ans);
    return rc;
}

static int confirm(const struct onboard_device *d, struct onboard_transport *t,
                   const struct onboard_attempt *a, const struct onboard_backoff *b,
                   void (*sleep_fn)(uint32_t), struct onboard_result *res)
{
    char *body, *ans;
    size_t len, ans_len;
    int rc = onboard_build_confirm(d, a, &body, &len);
    if (rc != IOTSEC_OK)
        return rc;
    rc = exchange(t, ONBOARD_OP_CONFIRM, body, len, b, sleep_fn, res, &ans, &ans_len);
    free(body);
    if (rc != IOTSEC_OK)
        return rc;
    const char *v;
    size_t vlen;
    bool str;
    if (json_member(ans, ans_len, "state", &v, &vlen, &str) == IOTSEC_OK && str &&
        vlen < sizeof(res->state)) {
        memcpy(res->state, v, vlen);
        res->state[vlen] = '\0';
    }
    free(ans);
    return IOTSEC_OK;
}

int onboard_run(const struct onboard_device *d, struct onboard_transport *t,
                struct cred_store *store, const struct onboard_backoff *b,
                void (*sleep_ms)(uint32_t ms), struct onboard_result *res)
{
    struct onboard_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    void (*sleep_fn)(uint32_t) = sleep_ms ? sleep_ms : default_sleep;
    struct onboard_attempt a = {0};
    uint8_t nonce[PROV_NONCE_LEN];
    int rc = get_nonce(t, b, sleep_fn, res, nonce);
    if (rc == IOTSEC_OK)
        rc = onboard_build_request(d, nonce, &a);
    if (rc == IOTSEC_OK)
        rc = fetch_bundle(d, t, ONBOARD_OP_ONBOARD, &a, b, sleep_fn, res);
    /* Stored before confirming: a device that crashes here still holds the credential the
     * server will activate, and a retry of the same request replays the same envelope. */
    if (rc == IOTSEC_OK && store)
        rc = cred_put(store, CRED_SLOT_CURRENT, a.plain, a.plain_len);
    if (rc == IOTSEC_OK)
        rc = confirm(d, t, &a, b, sleep_fn, res);
    onboard_attempt_wipe(&a);
    return rc;
}

int onboard_load(struct cred_store *store, const char *slot, uint8_t *plain, size_t max,
                 size_t *plain_len, struct prov_bundle *b)
{
    int rc = cred_get(store, slot, plain, max, plain_len);
    if (rc == IOTSEC_OK)
        rc = prov_bundle_parse(plain, *plain_len, b);
    return rc;
}

/* "next" holds a fetched, not yet confirmed rotation: u8 version || nonce || bundle bytes, so
 * that a device that restarts after sending its confirmation can send it again (the
 * confirmation is idempotent) instead of being stuck with a credential the server retired. */
#define NEXT_VERSION 1

static int put_next(struct cred_store *store, const struct onboard_attempt *a)
{
    size_t len = 1 + PROV_NONCE_LEN + a->plain_len;
    uint8_t *v = malloc(len);
    if (!v)
        return IOTSEC_ERR_NOMEM;
    v[0] = NEXT_VERSION;
    memcpy(v + 1, a->nonce, PROV_NONCE_LEN);
    memcpy(v + 1 + PROV_NONCE_LEN, a->plain, a->plain_len);
    int rc = cred_put(store, CRED_SLOT_NEXT, v, len);
    secure_wipe(v, len);
    free(v);
    return rc;
}

/* Loads a pending rotation into a (nonce, plain, bundle). IOTSEC_ERR_NOTFOUND: none. */
static int load_next(struct cred_store *store, struct onboard_attempt *a)
{
    uint8_t *v = malloc(1 + PROV_NONCE_LEN + PROV_PLAINTEXT_MAX);
    size_t len = 0;
    if (!v)
        return IOTSEC_ERR_NOMEM;
    int rc = cred_get(store, CRED_SLOT_NEXT, v, 1 + PROV_NONCE_LEN + PROV_PLAINTEXT_MAX, &len);
    if (rc == IOTSEC_OK && (len <= 1 + PROV_NONCE_LEN || v[0] != NEXT_VERSION))
        rc = IOTSEC_ERR_INVALID;
    if (rc == IOTSEC_OK) {
        memcpy(a->nonce, v + 1, PROV_NONCE_LEN);
        a->plain_len = len - 1 - PROV_NONCE_LEN;
        a->plain = malloc(a->plain_len);
        if (!a->plain)
            rc = IOTSEC_ERR_NOMEM;
        else
            memcpy(a->plain, v + 1 + PROV_NONCE_LEN, a->plain_len);
    }
    if (rc == IOTSEC_OK)
        rc = prov_bundle_parse(a->plain, a->plain_len, &a->bundle);
    secure_wipe(v, 1 + PROV_NONCE_LEN + PROV_PLAINTEXT_MAX);
    free(v);
    return rc;
}

/* Makes the confirmed bundle current, then forgets the pending rotation. */
static int promote(struct cred_store *store, const struct onboard_attempt *a)
{
    int rc = cred_put(store, CRED_SLOT_CURRENT, a->plain, a->plain_len);
    return rc == IOTSEC_OK ? cred_erase(store, CRED_SLOT_NEXT) : rc;
}

/* A rotation fetched before a restart: confirm it again. IOTSEC_OK when it is now current,
 * IOTSEC_ERR_NOTFOUND when there was none or the server no longer knows it (it was discarded:
 * the old credential is still the current one), another error to try again later. */
static int resume_rotation(const struct onboard_device *d, struct onboard_transport *t,
                           struct cred_store *store, const struct onboard_backoff *b,
                           void (*sleep_fn)(uint32_t), struct onboard_result *res)
{
    struct onboard_attempt a = {0};
    int rc = load_next(store, &a);
    if (rc == IOTSEC_OK) {
        rc = confirm(d, t, &a, b, sleep_fn, res);
        if (rc == IOTSEC_OK)
            rc = promote(store, &a);
        else if (rc == IOTSEC_ERR_AUTH || rc == IOTSEC_ERR_NOTFOUND)
            rc = cred_erase(store, CRED_SLOT_NEXT) == IOTSEC_OK ? IOTSEC_ERR_NOTFOUND
                                                                : IOTSEC_ERR_IO;
    } else if (rc == IOTSEC_ERR_INVALID || rc == IOTSEC_ERR_AUTH) {
        /* unreadable: never the current credential, so nothing is lost by dropping it */
        rc = cred_erase(store, CRED_SLOT_NEXT) == IOTSEC_OK ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_IO;
    }
    onboard_attempt_wipe(&a);
    return rc;
}

int rotate_run(const struct onboard_device *d, struct onboard_transport *t,
               struct cred_store *store, const struct onboard_backoff *b,
               void (*sleep_ms)(uint32_t ms), struct onboard_result *res)
{
    struct onboard_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    if (!store)
        return IOTSEC_ERR_INVALID;
    void (*sleep_fn)(uint32_t) = sleep_ms ? sleep_ms : default_sleep;
    int rc = resume_rotation(d, t, store, b, sleep_fn, res);
    if (rc != IOTSEC_ERR_NOTFOUND)
        return rc; /* a pending rotation completed (OK), or must be retried later */
    memset(res, 0, sizeof(*res));
    size_t cur_len = 0;
    uint8_t *cur_plain = malloc(PROV_PLAINTEXT_MAX);
    if (!cur_plain)
        return IOTSEC_ERR_NOMEM;
    struct prov_bundle cur;
    struct onboard_attempt a = {0};
    uint8_t nonce[PROV_NONCE_LEN];
    rc = onboard_load(store, CRED_SLOT_CURRENT, cur_plain, PROV_PLAINTEXT_MAX, &cur_len, &cur);
    if (rc == IOTSEC_OK)
        rc = get_nonce(t, b, sleep_fn, res, nonce);
    if (rc == IOTSEC_OK)
        rc = onboard_build_rotate(d, &cur, nonce, &a);
    if (rc == IOTSEC_OK)
        rc = fetch_bundle(d, t, ONBOARD_OP_ROTATE, &a, b, sleep_fn, res);
    if (rc == IOTSEC_OK && strcmp(a.bundle.supi, cur.supi) != 0)
        rc = IOTSEC_ERR_AUTH; /* a rotation keeps the SUPI */
    if (rc == IOTSEC_OK)
        rc = put_next(store, &a);
    if (rc == IOTSEC_OK)
        rc = confirm(d, t, &a, b, sleep_fn, res);
    /* Only a confirmed new credential replaces the old one; if the confirmation's answer is
     * lost, "next" keeps what is needed to confirm again at the next call. */
    if (rc == IOTSEC_OK)
        rc = promote(store, &a);
    prov_bundle_wipe(&cur);
    secure_wipe(cur_plain, PROV_PLAINTEXT_MAX);
    free(cur_plain);
    onboard_attempt_wipe(&a);
    return rc;
}
