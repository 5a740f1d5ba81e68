/* What a PEGC does for its PINEs: relay a join, relay an authentication, ask whether a PINE
 * may still send. Every step reads the store (no cache), so a removal, a gateway suspension or
 * a PIN deletion committed by any instance is effective on the next request. */
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/err.h"
#include "base/log.h"
#include "crypto/ct.h"
#include "crypto/provision_crypto.h"
#include "pin/pin_int.h"

/* The PIN of the request if the caller is one of its gateways and active; else answers. */
static bool load_served(struct pin_ctx *x, struct pin_net *n, struct pin_gw *g)
{
    const char *id = pin_in_id(x, "pin_id");
    if (id == NULL)
        return false;
    int rc = pin_gw_of(x->p->store, id, x->supi, g);
    if (rc == IOTSEC_OK)
        rc = pin_net_get(x->p->store, id, n);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        pin_problem(x->req, 403, "NOT_A_GATEWAY_OF_PIN",
                    "this subscription does not serve that PIN", NULL);
        return false;
    }
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return false;
    }
    if (g->state != GW_ACTIVE) {
        pin_problem(x->req, 403, "GATEWAY_SUSPENDED", "this gateway is suspended in that PIN",
                    NULL);
        return false;
    }
    return true;
}

static bool b64_exact(json_t *o, const char *name, uint8_t *out, size_t want)
{
    const char *s = json_string_value(json_object_get(o, name));
    uint8_t buf[128];
    size_t n = 0;
    if (s == NULL || b64url_decode(s, strlen(s), buf, sizeof(buf), &n) != IOTSEC_OK || n != want)
        return false;
    memcpy(out, buf, want);
    return true;
}

void pin_op_join(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_gw g;
    if (!load_served(x, &n, &g))
        return;
    const char *name = pin_in_id(x, "name");
    if (name == NULL)
        return;
    struct pin_write w = {.kind = PIN_W_JOIN};
    uint8_t sig[PIN_SIG_LEN], msg[PIN_MSG_MAX];
    size_t mlen;
    const json_t *cred = json_object_get(x->in, "credential");
    if (cred != NULL && !json_is_string(cred)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "\"ed25519\" or \"symmetric\"", "credential");
        return;
    }
    if (cred != NULL && strcmp(json_string_value(cred), "symmetric") == 0) {
        snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
        snprintf(w.pine.name, sizeof(w.pine.name), "%s", name);
        pin_random_id("pine-", 8, w.pine.pine_id, sizeof(w.pine.pine_id));
        pin_join_sym(x, &n, &w); /* a PINE without public-key crypto: its code only */
        return;
    }
    if (cred != NULL && strcmp(json_string_value(cred), "ed25519") != 0) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "\"ed25519\" or \"symmetric\"", "credential");
        return;
    }
    if (!b64_exact(x->in, "public_key", w.pine.pub, PIN_PUB_LEN)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "32 bytes, base64url", "public_key");
        return;
    }
    if (!b64_exact(x->in, "signature", sig, PIN_SIG_LEN)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "64 bytes, base64url", "signature");
        return;
    }
    /* the join is signed by the PINE's key: proof of possession, and the PEGC cannot change
     * the key, name or PIN it relays */
    if (pin_msg_join(n.pin_id, name, w.pine.pub, msg, &mlen) != IOTSEC_OK ||
        prov_ed25519_verify(w.pine.pub, msg, mlen, sig) != IOTSEC_OK) {
        pin_problem(x->req, 401, "PINE_SIGNATURE_INVALID", "the PINE's join signature", NULL);
        return;
    }
    snprintf(w.net.pin_id, sizeof(w.net.pin_id), "%s", n.pin_id);
    snprintf(w.pine.name, sizeof(w.pine.name), "%s", name);
    pin_random_id("pine-", 8, w.pine.pine_id, sizeof(w.pine.pine_id));
    if (json_object_get(x->in, "code_proof") != NULL) {
        pin_join_code(x, &n, &w); /* approved at once if the owner's code is proved */
        return;
    }
    pin_submit(x, &w, 202,
               json_pack("{s:s, s:s, s:s}", "pin_id", n.pin_id, "pine_id", w.pine.pine_id, "state",
                         "pending"));
}

/* The approved PINE's grant under the PIN's current policy (a policy narrowed since the
 * approval narrows every decision). */
static int current_grant(const struct pin_net *n, const struct pin_pine *pe, struct pin_grant *g)
{
    struct pin_policy pol;
    const char *bad;
    json_t *pj = json_loads(n->policy_json, 0, NULL), *gj = json_loads(pe->grant_json, 0, NULL);
    int rc = pin_policy_parse(pj, &pol, &bad);
    if (rc == IOTSEC_OK)
        rc = json_is_object(gj) ? pin_grant_parse(gj, &pol, g, &bad) : IOTSEC_ERR_STATE;
    json_decref(pj);
    json_decref(gj);
    return rc;
}

static void refuse(struct pin_ctx *x, int status, const char *cause, const char *detail)
{
    atomic_fetch_add(&x->p->auth_refused, 1);
    pin_problem(x->req, status, cause, detail, NULL);
}

/* The PINE proved this very request's server nonce, bound to PIN, PINE and gateway: an Ed25519
 * signature, or a symmetric PINE's MAC under its PIN-scoped key (opened from its sealed copy,
 * compared in constant time). A replay, a proof moved elsewhere or a flipped bit fail here.
 * *key gets the symmetric key (for the decision's MAC), wiped by the caller. */
static bool pine_proved(struct pin_ctx *x, const struct pin_net *n, const struct pin_gw *g,
                        const struct pin_pine *pe, uint8_t key[PIN_KEY_LEN])
{
    uint8_t proof[PIN_SIG_LEN], want[PIN_MAC_LEN], msg[PIN_MSG_MAX];
    size_t mlen;
    if (!pe->symmetric)
        return b64_exact(x->in, "signature", proof, PIN_SIG_LEN) &&
               pin_msg_auth(n->pin_id, pe->pine_id, g->gw_id, x->nonce, msg, &mlen) == IOTSEC_OK &&
               prov_ed25519_verify(pe->pub, msg, mlen, proof) == IOTSEC_OK;
    char aad[2 * PIN_ID_MAX + 2];
    int alen = snprintf(aad, sizeof(aad), "%s/%s", n->pin_id, pe->pine_id);
    bool ok =
        b64_exact(x->in, "mac", proof, PIN_MAC_LEN) &&
        unseal(x->p->kek, aad, (size_t)alen, pe->sym_sealed, sizeof(pe->sym_sealed), key) ==
            IOTSEC_OK &&
        pin_sym_auth_mac(key, n->pin_id, pe->pine_id, g->gw_id, x->nonce, want) == IOTSEC_OK &&
        ct_equal(want, proof, PIN_MAC_LEN);
    secure_wipe(want, sizeof(want));
    return ok;
}

void pin_op_auth(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_gw g;
    struct pin_pine pe;
    struct pin_grant gr;
    if (!load_served(x, &n, &g)) {
        atomic_fetch_add(&x->p->auth_refused, 1);
        return;
    }
    const char *pine = pin_in_id(x, "pine_id");
    uint8_t key[PIN_KEY_LEN] = {0};
    size_t mlen;
    if (pine == NULL)
        return;
    const json_t *sigj = json_object_get(x->in, "signature"), *macj = json_object_get(x->in, "mac");
    uint8_t probe[PIN_SIG_LEN];
    if ((sigj == NULL) == (macj == NULL)) {
        pin_problem(x->req, 400, "MALFORMED_BODY", "a signature or a mac, base64url",
                    sigj ? "mac" : "signature");
        return;
    }
    if (sigj ? !b64_exact(x->in, "signature", probe, PIN_SIG_LEN)
             : !b64_exact(x->in, "mac", probe, PIN_MAC_LEN)) {
        pin_problem(x->req, 400, "MALFORMED_BODY",
                    sigj ? "64 bytes, base64url" : "32 bytes, base64url",
                    sigj ? "signature" : "mac");
        return;
    }
    int rc = pin_pine_get(x->p->store, n.pin_id, pine, &pe);
    if (rc == IOTSEC_ERR_NOTFOUND || (rc == IOTSEC_OK && pe.state != PINE_APPROVED)) {
        refuse(x, 403, "PINE_NOT_AUTHORISED", "no approved PINE of that id in this PIN");
        return;
    }
    if (rc != IOTSEC_OK) {
        pin_failed(x->req, rc);
        return;
    }
    if (!pine_proved(x, &n, &g, &pe, key)) {
        secure_wipe(key, sizeof(key));
        refuse(x, 401, "PINE_AUTH_FAILED", "the PINE's proof did not verify");
        return;
    }
    if (current_grant(&n, &pe, &gr) != IOTSEC_OK) {
        secure_wipe(key, sizeof(key));
        refuse(x, 403, "OUTSIDE_POLICY", "the PINE's grant is outside the PIN's current policy");
        return;
    }
    char *text = NULL;
    size_t tlen = 0;
    uint8_t dsig[PIN_SIG_LEN], pmac[PIN_MAC_LEN], *dmsg = NULL;
    rc = pin_decision_text(n.pin_id, pe.pine_id, g.gw_id, &gr, pin_now() + gr.lifetime_s, x->nonce,
                           &text, &tlen);
    if (rc == IOTSEC_OK && (dmsg = malloc(tlen + 64)) == NULL)
        rc = IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = pin_msg_decision(text, tlen, dmsg, tlen + 64, &mlen);
    if (rc == IOTSEC_OK)
        rc = pin_ca_sign(x->p, &n, dmsg, mlen, dsig);
    if (rc == IOTSEC_OK && pe.symmetric) /* the PINE checks its decision without ECC */
        rc = pin_sym_decision_mac(key, text, tlen, pmac);
    secure_wipe(key, sizeof(key));
    free(dmsg);
    if (rc != IOTSEC_OK) {
        free(text);
        pin_failed(x->req, rc);
        return;
    }
    char sb[128], mb[64];
    b64url_encode(dsig, sizeof(dsig), sb);
    atomic_fetch_add(&x->p->auth_ok, 1);
    json_t *ans = json_pack("{s:s, s:s}", "decision", text, "signature", sb);
    if (pe.symmetric) {
        b64url_encode(pmac, sizeof(pmac), mb);
        json_object_set_new(ans, "pine_mac", json_string(mb));
    }
    http_respond_json(x->req, 200, ans);
    free(text);
}

void pin_op_check(struct pin_ctx *x)
{
    struct pin_net n;
    struct pin_gw g;
    struct pin_pine pe;
    struct pin_grant gr;
    if (!load_served(x, &n, &g)) {
        atomic_fetch_add(&x->p->checks_refused, 1);
        return;
    }
    const char *pine = pin_in_id(x, "pine_id");
    if (pine == NULL)
        return;
    int rc = pin_pine_get(x->p->store, n.pin_id, pine, &pe);
    if (rc == IOTSEC_OK && pe.state == PINE_APPROVED && current_grant(&n, &pe, &gr) == IOTSEC_OK) {
        http_respond_json(x->req, 200,
                          json_pack("{s:s, s:b, s:i}", "pine_id", pe.pine_id, "allowed", 1,
                                    "qos_class", gr.qos_class));
        return;
    }
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND) {
        pin_failed(x->req, rc);
        return;
    }
    atomic_fetch_add(&x->p->checks_refused, 1);
    pin_problem(x->req, 403, "PINE_NOT_AUTHORISED", "no approved PINE of that id in this PIN",
                NULL);
}
