/* One-time enrolment codes (docs/pin.md): the PINE shows a code; its owner types it into the
 * PEMC, which registers it for that PINE's name (`enrol-code`); the PINE joins through its
 * PEGC with a proof of the code over its public key and is approved at once, with the grant
 * the PEMC chose. The code never crosses the PEGC, and the network keeps only its hash. One
 * use; it expires; PIN_CODE_ATTEMPTS wrong proofs lock it (the PEMC must issue a new one), so
 * an online guesser gets 5 tries at 50+ bits. */
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "crypto/seal.h"
#include "pin/pin_int.h"

/* The PEMC's `enrol-code {pin_id, name, code, code_ttl_s?, dnns?, qos_class?, lifetime_s?}`. */
void pin_op_enrol_code(struct pin_ctx *x)
{
    struct pin_net n;
    if (!pin_load_owned(x, &n))
        return;
    const char *name = pin_in_id(x, "name");
    if (name == NULL)
        return;
    const char *code = json_string_value(json_object_get(x->in, "code"));
    if (!pin_code_ok(code)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "10..32 characters of A-Z and 2-7", "code");
        return;
    }
    const json_t *ttl = json_object_get(x->in, "code_ttl_s");
    if (ttl != NULL && (!json_is_integer(ttl) || json_integer_value(ttl) < PIN_CODE_TTL_MIN ||
                        json_integer_value(ttl) > PIN_CODE_TTL_MAX)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "1..86400 seconds", "code_ttl_s");
        return;
    }
    struct pin_grant g;
    char *gt = NULL;
    int rc = pin_grant_from_request(x, &n, &g, &gt);
    if (rc != IOTSEC_OK)
        return;
    struct pin_write w = {.kind = PIN_W_ENROL_SET};
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.enrol.name, sizeof(w.enrol.name), "%s", name);
    snprintf(w.enrol.grant_json, sizeof(w.enrol.grant_json), "%s", gt);
    free(gt);
    w.enrol.expires_at = pin_now() + (ttl ? json_integer_value(ttl) : PIN_CODE_TTL_DEF);
    if (pin_code_hash(code, n.pin_id, name, w.enrol.code_hash) != IOTSEC_OK) {
        pin_failed(x->req, IOTSEC_ERR_INVALID);
        return;
    }
    pin_submit(x, &w, 201,
               json_pack("{s:s, s:s, s:I}", "pin_id", n.pin_id, "name", name, "expires_at",
                         (json_int_t)w.enrol.expires_at));
    secure_wipe(w.enrol.code_hash, sizeof(w.enrol.code_hash));
}

struct code_job {
    struct pin_write w;
    struct http_request *req;
    json_t *answer; /* ENROL_USE: the 201 answer */
};

static void code_done(void *arg, int rc)
{
    struct code_job *j = arg;
    if (j->w.kind == PIN_W_ENROL_USE && rc == IOTSEC_OK)
        http_respond_json(j->req, 201, j->answer);
    else {
        json_decref(j->answer);
        if (rc == IOTSEC_OK || rc == IOTSEC_ERR_CONFLICT)
            /* a wrong proof counted, or the code was used, replaced, locked or expired
             * between the check and the write */
            pin_problem(j->req, 403,
                        j->w.kind == PIN_W_ENROL_USE ? "ENROLMENT_INVALID" : "ENROLMENT_CODE_WRONG",
                        j->w.kind == PIN_W_ENROL_USE ? "no usable enrolment code"
                                                     : "the enrolment code proof is wrong",
                        "code_proof");
        else
            pin_failed(j->req, rc);
    }
    secure_wipe(&j->w.enrol, sizeof(j->w.enrol));
    free(j);
}

static void submit_code_job(struct pin_ctx *x, struct pin_write *w, json_t *answer)
{
    struct code_job *j = calloc(1, sizeof(*j));
    if (j == NULL || http_request_defer(x->req) != IOTSEC_OK) {
        free(j);
        json_decref(answer);
        pin_failed(x->req, IOTSEC_ERR_NOMEM);
        return;
    }
    j->w = *w;
    j->w.now = pin_now();
    j->req = x->req;
    j->answer = answer;
    struct store_job job = {pin_write_run, code_done, j};
    int rc = store_submit(x->p->store, &job);
    if (rc != IOTSEC_OK)
        code_done(j, rc);
}

/* Loads the name's enrolment into w->enrol and judges the join's code_proof (over pub; NULL: a
 * symmetric join). True when it verifies; otherwise answers (a wrong proof is counted). */
static bool code_proved(struct pin_ctx *x, const struct pin_net *n, struct pin_write *w,
                        const uint8_t *pub)
{
    uint8_t proof[PIN_MAC_LEN];
    const char *s = json_string_value(json_object_get(x->in, "code_proof"));
    size_t len = 0;
    if (s == NULL || b64url_decode(s, strlen(s), proof, sizeof(proof), &len) != IOTSEC_OK ||
        len != PIN_MAC_LEN) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "32 bytes, base64url", "code_proof");
        return false;
    }
    int rc = pin_enrol_get(x->p->store, n->pin_id, w->pine.name, &w->enrol);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        pin_problem(x->req, 403, "ENROLMENT_INVALID", "no enrolment code for that name",
                    "code_proof");
        return false;
    }
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return false;
    }
    enum pin_enrol_verdict v = pin_enrol_judge(&w->enrol, n->pin_id, pub, proof, pin_now());
    secure_wipe(proof, sizeof(proof));
    switch (v) {
    case PIN_ENROL_EXPIRED:
        pin_problem(x->req, 403, "ENROLMENT_EXPIRED", "the enrolment code expired", "code_proof");
        break;
    case PIN_ENROL_LOCKED:
        pin_problem(x->req, 403, "ENROLMENT_LOCKED",
                    "too many wrong proofs: the manager must issue a new code", "code_proof");
        break;
    case PIN_ENROL_WRONG:
        w->kind = PIN_W_ENROL_FAIL;
        submit_code_job(x, w, NULL);
        break;
    case PIN_ENROL_OK:
        return true;
    }
    secure_wipe(&w->enrol, sizeof(w->enrol));
    return false;
}

void pin_join_code(struct pin_ctx *x, const struct pin_net *n, struct pin_write *w)
{
    if (!code_proved(x, n, w, w->pine.pub))
        return;
    uint8_t msg[PIN_MSG_MAX], sig[PIN_SIG_LEN];
    size_t mlen;
    int rc = pin_msg_cert(n->pin_id, w->pine.pine_id, w->pine.pub, msg, &mlen);
    if (rc == IOTSEC_OK)
        rc = pin_ca_sign(x->p, n, msg, mlen, sig);
    if (rc != IOTSEC_OK) {
        secure_wipe(&w->enrol, sizeof(w->enrol));
        pin_failed(x->req, rc);
        return;
    }
    char cert[128];
    b64url_encode(sig, sizeof(sig), cert);
    w->kind = PIN_W_ENROL_USE;
    json_t *grant = json_loads(w->enrol.grant_json, 0, NULL);
    submit_code_job(x, w,
                    json_pack("{s:s, s:s, s:s, s:s, s:o}", "pin_id", n->pin_id, "pine_id",
                              w->pine.pine_id, "state", "approved", "certificate", cert, "grant",
                              grant ? grant : json_object()));
    secure_wipe(&w->enrol, sizeof(w->enrol));
}

/* The PINE's key is derived from the code's hash (which the PEGC never sees) and a fresh salt,
 * so the PEGC relaying the answer learns the salt and nothing it can use; the network keeps the
 * key sealed under the KEK, bound to the PIN and PINE ids. */
void pin_join_sym(struct pin_ctx *x, const struct pin_net *n, struct pin_write *w)
{
    if (!code_proved(x, n, w, NULL))
        return;
    uint8_t key[PIN_KEY_LEN], confirm[PIN_MAC_LEN];
    char aad[2 * PIN_ID_MAX + 2];
    int alen = snprintf(aad, sizeof(aad), "%s/%s", n->pin_id, w->pine.pine_id);
    int rc = crypto_random(w->pine.pub, PIN_SALT_LEN);
    if (rc == IOTSEC_OK)
        rc = pin_sym_key(w->enrol.code_hash, n->pin_id, w->pine.pine_id, w->pine.pub, key);
    if (rc == IOTSEC_OK)
        rc = pin_sym_confirm(key, n->pin_id, w->pine.pine_id, confirm);
    if (rc == IOTSEC_OK)
        rc = seal(x->p->kek, aad, (size_t)alen, key, sizeof(key), w->pine.sym_sealed);
    secure_wipe(key, sizeof(key));
    if (rc != IOTSEC_OK) {
        secure_wipe(&w->enrol, sizeof(w->enrol));
        pin_failed(x->req, rc);
        return;
    }
    w->pine.symmetric = true;
    char salt[64], conf[64];
    b64url_encode(w->pine.pub, PIN_SALT_LEN, salt);
    b64url_encode(confirm, sizeof(confirm), conf);
    w->kind = PIN_W_ENROL_USE;
    json_t *grant = json_loads(w->enrol.grant_json, 0, NULL);
    submit_code_job(x, w,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "pin_id", n->pin_id, "pine_id",
                              w->pine.pine_id, "state", "approved", "credential", "symmetric",
                              "salt", salt, "confirm", conf, "grant",
                              grant ? grant : json_object()));
    secure_wipe(&w->enrol, sizeof(w->enrol));
}
