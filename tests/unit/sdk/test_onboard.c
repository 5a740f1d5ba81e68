/* The onboarding and rotation clients against an in-process device face built from the same
 * crypto as iotsecd's (crypto/provision_crypto.h): the whole flow, lost answers (idempotent
 * retries: the same bytes, one subscription), 429 with Retry-After, the backoff schedule's
 * bounds with jitter, a wrong pinned key and a tampered envelope refused with nothing stored,
 * malformed answers that never crash, and a rotation that never loses the old credential. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/err.h"
#include "cred_store.h"
#include "crypto/hmac_sha256.h"
#include "crypto/rand.h"
#include "onboard.h"

#define REG_ID "meter-0001"

/* ---- A device face in process --------------------------------------------------------- */

struct fake_server {
    struct onboard_transport base;
    struct prov_sign_key *key;
    uint8_t group_key[32];
    uint8_t nonce[PROV_NONCE_LEN]; /* the last issued */
    /* the registration */
    int subscriptions; /* how many were created: must stay 1 */
    uint8_t k[16], opc[16];
    uint32_t version;
    uint8_t wait_k[16], wait_opc[16]; /* a rotation's waiting version */
    bool waiting;
    char envelope[1024]; /* the stored answer, replayed to a retry */
    uint8_t env_nonce[PROV_NONCE_LEN], env_pub[32];
    /* fault injection */
    int drop_answers;    /* process the request, then lose the answer */
    int busy_answers;    /* answer 429 with Retry-After: 2 */
    bool refuse_confirm; /* answer 401 to confirmations */
    bool flip_envelope;  /* a malicious relay flips one bit of the envelope */
    int drop_confirms;   /* process confirmations, then lose their answers */
    int requests[4];
    char last_request[4][2048];
    int confirmed;
};

static uint8_t b64_field(json_t *o, const char *name, uint8_t *out, size_t want)
{
    const char *s = json_string_value(json_object_get(o, name));
    size_t n = 0;
    if (!s || b64url_decode(s, strlen(s), out, want, &n) != IOTSEC_OK || n != want)
        return 0;
    return 1;
}

static char *seal_bundle(struct fake_server *s, const uint8_t nonce[32], const uint8_t pub[32],
                         const uint8_t *k, const uint8_t *opc, uint32_t version)
{
    struct prov_bundle b = {.k_len = 16, .cred_version = version, .not_after = 4102444800ull};
    strcpy(b.supi, "imsi-001010000000001");
    memcpy(b.k, k, 16);
    memcpy(b.opc, opc, 16);
    b.amf[0] = 0x80;
    strcpy(b.routing_ind, "0000");
    strcpy(b.cred_id, "reg-1");
    b.service = (const uint8_t *)"{}";
    b.service_len = 2;
    uint8_t pt[512], env[1024];
    size_t pt_len, env_len;
    struct prov_onboard_ctx ctx = {.reg_id = REG_ID, .reg_id_len = strlen(REG_ID)};
    memcpy(ctx.server_nonce, nonce, 32);
    memcpy(ctx.device_pub, pub, 32);
    assert_int_equal(prov_bundle_encode(&b, pt, sizeof(pt), &pt_len), IOTSEC_OK);
    assert_int_equal(prov_envelope_seal(s->key, &ctx, pt, pt_len, env, sizeof(env), &env_len),
                     IOTSEC_OK);
    if (s->flip_envelope)
        env[env_len / 2] ^= 0x04;
    char *out = malloc(b64url_len(env_len) + 32);
    strcpy(out, "{\"envelope\":\"");
    b64url_encode(env, env_len, out + strlen(out));
    strcat(out, "\"}");
    return out;
}

static long serve(struct fake_server *s, enum onboard_op op, json_t *req, char **answer)
{
    uint8_t nonce[32], pub[32], mac[32];
    *answer = NULL;
    if (op == ONBOARD_OP_NONCE) {
        crypto_random(s->nonce, sizeof(s->nonce));
        char b[64];
        b64url_encode(s->nonce, 32, b);
        *answer = malloc(128);
        snprintf(*answer, 128, "{\"nonce\":\"%s\",\"expires_in\":120}", b);
        return 200;
    }
    if (!req || !b64_field(req, "nonce", nonce, 32))
        return 400;
    if (op == ONBOARD_OP_CONFIRM) {
        if (s->refuse_confirm || !b64_field(req, "mac", mac, 32))
            return 401;
        struct prov_confirm_ctx c = {.reg_id = REG_ID,
                                     .reg_id_len = strlen(REG_ID),
                                     .cred_id = "reg-1",
                                     .cred_id_len = 5,
                                     .cred_version = (uint32_t)json_integer_value(
                                         json_object_get(req, "credential_version"))};
        memcpy(c.server_nonce, nonce, 32);
        const uint8_t *k = s->waiting ? s->wait_k : s->k;
        if (prov_confirm_verify(k, 16, &c, mac) != IOTSEC_OK)
            return 401;
        if (s->waiting) { /* the waiting version becomes current */
            memcpy(s->k, s->wait_k, 16);
            memcpy(s->opc, s->wait_opc, 16);
            s->version++;
            s->waiting = false;
        }
        s->confirmed++;
        *answer = strdup("{\"state\":\"active\",\"credential_version\":1}");
        return 200;
    }
    if (!b64_field(req, "device_pub", pub, 32) || !b64_field(req, "mac", mac, 32))
        return 400;
    /* idempotency: the same (nonce, device_pub) gets the stored bytes */
    if (s->envelope[0] && memcmp(nonce, s->env_nonce, 32) == 0 &&
        memcmp(pub, s->env_pub, 32) == 0) {
        *answer = strdup(s->envelope);
        return 200;
    }
    if (memcmp(nonce, s->nonce, 32) != 0)
        return 401; /* NONCE_INVALID */
    struct prov_onboard_ctx ctx = {.reg_id = REG_ID, .reg_id_len = strlen(REG_ID)};
    memcpy(ctx.server_nonce, nonce, 32);
    memcpy(ctx.device_pub, pub, 32);
    uint8_t key[32];
    char *env;
    if (op == ONBOARD_OP_ONBOARD) {
        prov_device_key(s->group_key, sizeof(s->group_key), REG_ID, strlen(REG_ID), key);
        if (prov_proof_verify(key, &ctx, mac) != IOTSEC_OK)
            return 401;
        s->subscriptions++;
        crypto_random(s->k, 16);
        crypto_random(s->opc, 16);
        s->version = 1;
        env = seal_bundle(s, nonce, pub, s->k, s->opc, 1);
    } else {
        uint8_t in[128];
        struct prov_writer w = {.buf = in, .cap = sizeof(in)};
        prov_put_lp(&w, "iotsec-onboard-v1 rotate-key", 28);
        prov_put_lp(&w, "reg-1", 5);
        prov_put_u32(&w, s->version);
        struct hmac_sha256 h;
        hmac_sha256_init(&h, s->k, 16);
        hmac_sha256(&h, in, w.len, key);
        if (prov_proof_verify(key, &ctx, mac) != IOTSEC_OK)
            return 401;
        if (!s->waiting) {
            crypto_random(s->wait_k, 16);
            crypto_random(s->wait_opc, 16);
            s->waiting = true;
        }
        env = seal_bundle(s, nonce, pub, s->wait_k, s->wait_opc, s->version + 1);
    }
    snprintf(s->envelope, sizeof(s->envelope), "%s", env);
    memcpy(s->env_nonce, nonce, 32);
    memcpy(s->env_pub, pub, 32);
    *answer = env;
    return 200;
}

static int fake_send(struct onboard_transport *t, enum onboard_op op, const char *body, size_t len,
                     long *status, uint32_t *retry_after, char **answer, size_t *answer_len)
{
    struct fake_server *s = (struct fake_server *)t;
    s->requests[op]++;
    snprintf(s->last_request[op], sizeof(s->last_request[op]), "%.*s", (int)len, body);
    *retry_after = 0;
    *answer_len = 0;
    if (s->busy_answers > 0 && op == ONBOARD_OP_ONBOARD) {
        s->busy_answers--;
        *status = 429;
        *retry_after = 2;
        *answer = strdup("{\"status\":429,\"cause\":\"RATE_LIMITED\"}");
        *answer_len = strlen(*answer);
        return IOTSEC_OK;
    }
    json_t *req = json_loadb(body, len, 0, NULL);
    *status = serve(s, op, req, answer);
    json_decref(req);
    if (*answer)
        *answer_len = strlen(*answer);
    if (s->drop_confirms > 0 && op == ONBOARD_OP_CONFIRM && *status == 200) {
        s->drop_confirms--;
        free(*answer);
        *answer = NULL;
        return IOTSEC_ERR_IO;
    }
    if (s->drop_answers > 0 && op != ONBOARD_OP_NONCE && *status == 200) {
        s->drop_answers--; /* processed and committed, but the answer is lost */
        free(*answer);
        *answer = NULL;
        return IOTSEC_ERR_IO;
    }
    return IOTSEC_OK;
}

/* ---- Fixture ---------------------------------------------------------------------------- */

struct fx {
    struct fake_server srv;
    struct onboard_device dev;
    char dir[64];
    struct cred_store *store;
};

static uint32_t sleeps[64];
static int n_sleeps;

static void record_sleep(uint32_t ms)
{
    if (n_sleeps < 64)
        sleeps[n_sleeps++] = ms;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    uint8_t seed[32] = {7}, kek[32] = {9};
    f->srv.base.send = fake_send;
    if (prov_sign_key_new(seed, &f->srv.key) != IOTSEC_OK)
        return -1;
    memset(f->srv.group_key, 0x42, sizeof(f->srv.group_key));
    strcpy(f->dev.reg_id, REG_ID);
    f->dev.attest = ONBOARD_ATTEST_DERIVED_KEY;
    prov_device_key(f->srv.group_key, 32, REG_ID, strlen(REG_ID), f->dev.device_key);
    prov_sign_key_public(f->srv.key, f->dev.pinned_pub);
    strcpy(f->dir, "/tmp/iotsec-onbXXXXXX");
    if (!mkdtemp(f->dir) || cred_store_file_open(f->dir, kek, &f->store) != IOTSEC_OK)
        return -1;
    n_sleeps = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cred_close(f->store);
    prov_sign_key_free(f->srv.key);
    onboard_device_wipe(&f->dev);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void stored(struct fx *f, const char *slot, struct prov_bundle *b, uint8_t *plain)
{
    size_t n;
    assert_int_equal(onboard_load(f->store, slot, plain, 4096, &n, b), IOTSEC_OK);
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void test_full_flow(void **state)
{
    struct fx *f = *state;
    struct onboard_result res;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_OK);
    assert_string_equal(res.state, "active");
    assert_int_equal(f->srv.subscriptions, 1);
    assert_int_equal(f->srv.confirmed, 1);
    assert_int_equal(res.retries, 0);
    struct prov_bundle b;
    uint8_t plain[4096];
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_memory_equal(b.k, f->srv.k, 16);
    assert_memory_equal(b.opc, f->srv.opc, 16);
    assert_string_equal(b.supi, "imsi-001010000000001");
    /* the request carries what the contract names, and no secret */
    const char *req = f->srv.last_request[ONBOARD_OP_ONBOARD];
    assert_non_null(strstr(req, "\"attestation\":\"derived_key\""));
    assert_non_null(strstr(req, "\"registration_id\":\"" REG_ID "\""));
    char keyb64[64];
    b64url_encode(f->dev.device_key, 32, keyb64);
    assert_null(strstr(req, keyb64));
    prov_bundle_wipe(&b);
}

static void test_lost_answers_are_idempotent(void **state)
{
    struct fx *f = *state;
    f->srv.drop_answers = 2; /* the onboarding answer twice */
    struct onboard_result res;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_OK);
    assert_int_equal(f->srv.requests[ONBOARD_OP_ONBOARD], 3);
    assert_int_equal(f->srv.requests[ONBOARD_OP_NONCE], 1); /* same nonce, same key re-sent */
    assert_int_equal(f->srv.subscriptions, 1);
    assert_int_equal(res.retries, 2);
    assert_int_equal(n_sleeps, 2);
    struct prov_bundle b;
    uint8_t plain[4096];
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_memory_equal(b.k, f->srv.k, 16);
    prov_bundle_wipe(&b);
}

static void test_rate_limited_honours_retry_after(void **state)
{
    struct fx *f = *state;
    f->srv.busy_answers = 3;
    struct onboard_result res;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_OK);
    assert_int_equal(n_sleeps, 3);
    for (int i = 0; i < n_sleeps; i++)
        assert_true(sleeps[i] >= 2000); /* Retry-After: 2 */
    assert_int_equal(f->srv.subscriptions, 1);

    /* past the retry budget the client gives up with the cause it saw */
    struct onboard_backoff b = {.max_retries = 2};
    f->srv.busy_answers = 10;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, &b, record_sleep, &res),
                     IOTSEC_ERR_BUSY);
    assert_int_equal(res.last_status, 429);
    assert_string_equal(res.cause, "RATE_LIMITED");
}

static void test_wrong_pinned_key_refused(void **state)
{
    struct fx *f = *state;
    f->dev.pinned_pub[0] ^= 1;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_ERR_AUTH);
    uint8_t out[4096];
    size_t n;
    assert_int_equal(cred_get(f->store, CRED_SLOT_CURRENT, out, sizeof(out), &n),
                     IOTSEC_ERR_NOTFOUND);
    assert_int_equal(f->srv.requests[ONBOARD_OP_CONFIRM], 0);
}

static void test_tampered_envelope_refused(void **state)
{
    struct fx *f = *state;
    f->srv.flip_envelope = true;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_ERR_AUTH);
    uint8_t out[4096];
    size_t n;
    assert_int_equal(cred_get(f->store, CRED_SLOT_CURRENT, out, sizeof(out), &n),
                     IOTSEC_ERR_NOTFOUND);
    assert_int_equal(f->srv.requests[ONBOARD_OP_CONFIRM], 0);
}

static void test_client_errors_not_retried(void **state)
{
    struct fx *f = *state;
    f->dev.device_key[0] ^= 1; /* the server answers 401 PROOF_INVALID */
    struct onboard_result res;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_ERR_AUTH);
    assert_int_equal(f->srv.requests[ONBOARD_OP_ONBOARD], 1);
    assert_int_equal(res.last_status, 401);
    assert_int_equal(n_sleeps, 0);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    struct onboard_backoff b = {.base_ms = 100, .max_ms = 10000};
    uint32_t distinct_first = 0, prev = 0;
    for (uint32_t retry = 0; retry < 40; retry++) {
        uint64_t cap = (uint64_t)100 << (retry > 20 ? 20 : retry);
        if (cap > 10000)
            cap = 10000;
        uint32_t lo = onboard_backoff_ms(&b, retry, 0, 0);
        uint32_t hi = onboard_backoff_ms(&b, retry, 0, UINT32_MAX);
        assert_int_equal(lo, cap / 2);
        assert_true(hi <= cap && hi >= cap - 1);
        for (int i = 0; i < 50; i++) {
            uint32_t rnd;
            crypto_random(&rnd, sizeof(rnd));
            uint32_t d = onboard_backoff_ms(&b, retry, 0, rnd);
            assert_true(d >= cap / 2 && d <= cap);
            if (retry == 3 && d != prev)
                distinct_first++;
            prev = d;
        }
        /* Retry-After is a floor, with a bounded jitter above it */
        for (uint32_t ra = 1; ra < 5; ra++) {
            uint32_t d0 = onboard_backoff_ms(&b, retry, ra, 0);
            uint32_t d1 = onboard_backoff_ms(&b, retry, ra, UINT32_MAX);
            assert_true(d0 >= ra * 1000 && d1 >= ra * 1000);
            assert_true(d1 <= (ra * 1000 > cap ? ra * 1000 : cap) + (10000 - 100) / 4 + 1);
        }
    }
    assert_true(distinct_first > 10); /* jitter spreads a fleet's retries */
    /* a hostile Retry-After does not put the device to sleep for days */
    assert_true(onboard_backoff_ms(&b, 0, 4000000000u, 0) <= 3600u * 1000);
    /* defaults */
    assert_true(onboard_backoff_ms(NULL, 0, 0, UINT32_MAX) <= 200);
}

static void test_malformed_answers_never_crash(void **state)
{
    struct fx *f = *state;
    struct onboard_attempt a = {0};
    uint8_t nonce[32] = {1};
    assert_int_equal(onboard_build_request(&f->dev, nonce, &a), IOTSEC_OK);
    const char *bad[] = {"",
                         "{",
                         "}",
                         "[]",
                         "null",
                         "{\"envelope\":}",
                         "{\"envelope\":1}",
                         "{\"envelope\":\"\"}",
                         "{\"envelope\":\"A\"}",
                         "{\"envelope\":\"!!!!\"}",
                         "{\"envelope\":\"AAAA\"}",
                         "{\"envelope\":\"AAAA\"",
                         "{\"envelope\"",
                         "{\"a\":{\"b\":[1,2,{\"c\":\"}\"}]},\"envelope\":\"AB\"}",
                         "{\"envelope\":\"AAAA\\\"}",
                         "{\"x\":\"\\\"},\"envelope\":\"AAAA\"}",
                         "{\"nonce\":\"AAAA\"}",
                         "{\"envelope\":[\"AAAA\"]}",
                         "{{{{{{{{"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(onboard_open_answer(&f->dev, &a, bad[i], strlen(bad[i])), IOTSEC_OK);
        uint8_t n[32];
        assert_int_not_equal(onboard_parse_nonce(bad[i], strlen(bad[i]), n), IOTSEC_OK);
        assert_null(a.plain);
    }
    /* every truncation of a valid answer, and random garbage */
    char *good;
    long st = serve(&f->srv, ONBOARD_OP_NONCE, NULL, &good);
    assert_int_equal(st, 200);
    free(good);
    onboard_attempt_wipe(&a);
    assert_int_equal(onboard_build_request(&f->dev, f->srv.nonce, &a), IOTSEC_OK);
    json_t *req = json_loadb(a.request, a.request_len, 0, NULL);
    assert_int_equal(serve(&f->srv, ONBOARD_OP_ONBOARD, req, &good), 200);
    json_decref(req);
    size_t glen = strlen(good);
    for (size_t cut = 0; cut < glen; cut++) {
        char *t = malloc(cut + 1); /* exactly cut bytes: ASan catches any over-read */
        memcpy(t, good, cut);
        assert_int_not_equal(onboard_open_answer(&f->dev, &a, t, cut), IOTSEC_OK);
        free(t);
    }
    assert_int_equal(onboard_open_answer(&f->dev, &a, good, glen), IOTSEC_OK);
    for (int i = 0; i < 3000; i++) {
        size_t n = (size_t)(i % 300) + 1;
        char *t = malloc(n);
        crypto_random(t, n);
        if (i % 3 == 0)
            t[0] = '{';
        const char *v;
        size_t vl;
        bool str;
        (void)json_member(t, n, "envelope", &v, &vl, &str);
        struct onboard_attempt a2 = {0};
        memcpy(a2.nonce, a.nonce, 32);
        assert_int_not_equal(onboard_open_answer(&f->dev, &a2, t, n), IOTSEC_OK);
        onboard_attempt_wipe(&a2);
        free(t);
    }
    free(good);
    onboard_attempt_wipe(&a);
}

static void test_b64u(void **state)
{
    (void)state;
    uint8_t in[40], out[40];
    size_t n;
    char enc[64];
    for (size_t len = 0; len < sizeof(in); len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)(i * 37 + len);
        b64url_encode(in, len, enc);
        assert_int_equal(strlen(enc), b64url_len(len));
        assert_null(strchr(enc, '='));
        assert_int_equal(b64url_decode(enc, strlen(enc), out, sizeof(out), &n), IOTSEC_OK);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
    }
    assert_int_equal(b64url_decode("AB==", 4, out, 40, &n), IOTSEC_ERR_INVALID);
    assert_int_equal(b64url_decode("A+/A", 4, out, 40, &n), IOTSEC_ERR_INVALID);
    assert_int_equal(b64url_decode("AB", 2, out, 40, &n), IOTSEC_ERR_INVALID); /* non-canonical */
    assert_int_equal(b64url_decode("AAAAAAAA", 8, out, 5, &n), IOTSEC_ERR_INVALID);
}

static void test_rotation_keeps_old_until_confirmed(void **state)
{
    struct fx *f = *state;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_OK);
    uint8_t k1[16], plain[4096], plain2[4096];
    memcpy(k1, f->srv.k, 16);
    struct prov_bundle b, b2;

    /* the confirmation is refused: the old credential stays current, the new one waits */
    f->srv.refuse_confirm = true;
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_ERR_AUTH);
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_memory_equal(b.k, k1, 16);
    assert_int_equal(b.cred_version, 1);
    uint8_t next[4096];
    size_t next_len;
    assert_int_equal(cred_get(f->store, CRED_SLOT_NEXT, next, sizeof(next), &next_len), IOTSEC_OK);
    assert_int_equal(prov_bundle_parse(next + 33, next_len - 33, &b2), IOTSEC_OK);
    assert_int_equal(b2.cred_version, 2);
    assert_memory_equal(b2.k, f->srv.wait_k, 16);

    /* next time the stored pending rotation is confirmed again (its answer lost once) */
    f->srv.refuse_confirm = false;
    f->srv.drop_answers = 1;
    struct onboard_result res;
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_OK);
    assert_int_equal(res.retries, 1);
    assert_int_equal(f->srv.requests[ONBOARD_OP_ROTATE], 1); /* completed, not fetched again */
    prov_bundle_wipe(&b);
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_int_equal(b.cred_version, 2);
    assert_memory_equal(b.k, f->srv.k, 16);
    assert_memory_not_equal(b.k, k1, 16);
    assert_string_equal(b.supi, "imsi-001010000000001");
    uint8_t out[4096];
    size_t n;
    assert_int_equal(cred_get(f->store, CRED_SLOT_NEXT, out, sizeof(out), &n), IOTSEC_ERR_NOTFOUND);
    assert_int_equal(f->srv.subscriptions, 1);
    prov_bundle_wipe(&b);
    prov_bundle_wipe(&b2);
    (void)plain2;
}

/* The server commits the confirmation but its answer never arrives, and the device gives up
 * (or reboots): the server's current K is now the new one. The next rotation call confirms the
 * stored pending rotation again instead of fetching another: the device ends with the
 * server's current K, one rotation, never locked out. */
static void test_rotation_resumes_after_lost_confirmation(void **state)
{
    struct fx *f = *state;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_OK);
    struct onboard_backoff once = {.max_retries = 1};
    f->srv.drop_confirms = 10;
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, &once, record_sleep, NULL),
                     IOTSEC_ERR_IO);
    assert_int_equal(f->srv.version, 2); /* the server moved on */
    int fetches = f->srv.requests[ONBOARD_OP_ROTATE];
    f->srv.drop_confirms = 0;
    struct onboard_result res;
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, &res),
                     IOTSEC_OK);
    assert_int_equal(f->srv.requests[ONBOARD_OP_ROTATE], fetches); /* no second fetch */
    assert_int_equal(f->srv.version, 2);
    struct prov_bundle b;
    uint8_t plain[4096];
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_int_equal(b.cred_version, 2);
    assert_memory_equal(b.k, f->srv.k, 16);
    uint8_t out[4096];
    size_t n;
    assert_int_equal(cred_get(f->store, CRED_SLOT_NEXT, out, sizeof(out), &n), IOTSEC_ERR_NOTFOUND);
    prov_bundle_wipe(&b);
}

/* The server discarded the waiting version (never confirmed for 7 days): the stored pending
 * rotation is refused, dropped, and a fresh rotation goes through. */
static void test_rotation_discarded_by_server_starts_afresh(void **state)
{
    struct fx *f = *state;
    assert_int_equal(onboard_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_OK);
    f->srv.refuse_confirm = true;
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_ERR_AUTH);
    f->srv.refuse_confirm = false;
    f->srv.waiting = false; /* discarded */
    assert_int_equal(rotate_run(&f->dev, &f->srv.base, f->store, NULL, record_sleep, NULL),
                     IOTSEC_OK);
    assert_int_equal(f->srv.requests[ONBOARD_OP_ROTATE], 2);
    struct prov_bundle b;
    uint8_t plain[4096];
    stored(f, CRED_SLOT_CURRENT, &b, plain);
    assert_int_equal(b.cred_version, 2);
    assert_memory_equal(b.k, f->srv.k, 16);
    prov_bundle_wipe(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_answers_are_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited_honours_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_pinned_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_envelope_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_errors_not_retried, setup, teardown),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test_setup_teardown(test_malformed_answers_never_crash, setup, teardown),
        cmocka_unit_test(test_b64u),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_old_until_confirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_resumes_after_lost_confirmation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rotation_discarded_by_server_starts_afresh, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
