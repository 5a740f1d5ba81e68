/* Confirmation and rotation on the device face (docs/provisioning.md): the device proves
 * its credential (a confirmation MAC under the new K; a rotation MAC under a key derived from
 * the current K), then one write job promotes, activates, or makes the waiting version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/aka.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "http/http.h"
#include "provision/prov_device.h"
#include "subscriber/subscriber.h"

/* ---- confirmation and rotation: the device proves its credential ---- */

bool prov_dev_decode_cred(struct http_request *req, json_t *o, bool rotate, struct cred_req *r,
                          const char **cred_id)
{
    json_t *v = json_object_get(o, "credential_version");
    if (!dev_reg_id_field(req, o, r->reg_id) ||
        !dev_bin_field(req, o, "nonce", r->nonce, PROV_NONCE_LEN) ||
        (rotate && !dev_bin_field(req, o, "device_pub", r->pub, PROV_X25519_LEN)) ||
        (*cred_id = dev_str_field(req, o, "credential_id")) == NULL ||
        !dev_bin_field(req, o, "mac", r->mac, PROV_MAC_LEN))
        return false;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX) {
        dev_bad_field(req, "credential_version", "an integer from 1");
        return false;
    }
    r->version = (uint32_t)json_integer_value(v);
    return true;
}

/* Decodes the common fields, loads the registration and checks the relay and the credential
 * id: false after answering. */
static bool cred_request(struct provision *p, struct http_request *req, struct store_conn *c,
                         json_t *o, bool relayed, bool rotate, struct cred_req *r)
{
    int64_t gw = relayed ? dev_relay_gateway(req, c) : 0;
    if (relayed && gw == 0)
        return false;
    const char *cred_id;
    if (!prov_dev_decode_cred(req, o, rotate, r, &cred_id))
        return false;
    int rc = prov_registration_load(c, r->reg_id, &r->reg);
    if (rc == IOTSEC_ERR_NOTFOUND) {
        dev_problem(req, 404, "REGISTRATION_NOT_FOUND", "the device never onboarded");
        return false;
    }
    if (rc != IOTSEC_OK) {
        dev_store_problem(req, rc);
        return false;
    }
    if (relayed && !dev_gateway_allowed(req, c, gw, r->reg.enrollment_id))
        return false;
    char expect[32];
    prov_cred_id(r->reg.id, expect);
    if (strcmp(cred_id, expect) != 0) {
        dev_problem(req, 401, rotate ? "PROOF_INVALID" : "CONFIRMATION_INVALID",
                "unknown credential_id");
        return false;
    }
    rc = r->reg.supi[0] ? subscriber_get_keys(p->store, p->kek, r->reg.supi, &r->sub, &r->keys)
                        : IOTSEC_ERR_NOTFOUND;
    if (rc == IOTSEC_ERR_NOTFOUND) { /* transferred (erased), or deleted by the operator */
        dev_problem(req, 409, "REPROVISION_REFUSED", "the device has no credential: onboard again");
        return false;
    }
    if (rc == IOTSEC_OK && (r->sub.state == SUB_REVOKED || r->sub.state == SUB_EXPIRED)) {
        dev_problem(req, 409, "REPROVISION_REFUSED", "the credential is revoked or expired");
        return false;
    }
    if (rc != IOTSEC_OK) {
        dev_store_problem(req, rc);
        return false;
    }
    r->reg.rot.current_version = r->sub.cred_version;
    return true;
}

void prov_dev_confirm(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    struct dev_body b = {0};
    struct cred_req r;
    memset(&r, 0, sizeof(r));
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        dev_store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    if (!dev_parse_body(req, &b) || !cred_request(p, req, c, b.o, relayed, false, &r))
        goto out;
    enum prov_confirm_target t = prov_confirm_decide(
        r.sub.cred_version, r.reg.has_request ? r.reg.nonce : NULL, r.reg.rot.pending_version,
        r.reg.rot.has_pending_request ? r.reg.rot.pend_nonce : NULL, r.version, r.nonce);
    uint8_t k[16], opc[16];
    memcpy(k, r.keys.k, 16);
    memcpy(opc, r.keys.opc, 16);
    if (t == PROV_CONFIRM_ROTATION &&
        prov_pending_keys(c, p->kek, r.reg_id, r.version, k, opc) != IOTSEC_OK)
        t = PROV_CONFIRM_NONE;
    char cred_id[32];
    prov_cred_id(r.reg.id, cred_id);
    struct prov_confirm_ctx cc = {r.reg_id, strlen(r.reg_id), cred_id, strlen(cred_id),
                                  r.version, {0}};
    memcpy(cc.server_nonce, r.nonce, PROV_NONCE_LEN);
    if (t == PROV_CONFIRM_NONE || prov_confirm_verify(k, 16, &cc, r.mac) != IOTSEC_OK) {
        dev_problem(req, 401, "CONFIRMATION_INVALID", "the confirmation does not verify");
    } else {
        struct prov_job *j = dev_job_new(req, PROV_JOB_CONFIRM);
        if (j) {
            snprintf(j->reg_id, sizeof(j->reg_id), "%s", r.reg_id);
            j->version = r.version;
            j->confirm_rotation = t == PROV_CONFIRM_ROTATION;
            memcpy(j->k, k, 16);
            memcpy(j->opc, opc, 16);
            dev_submit(p, req, j);
        }
    }
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
out:
    json_decref(b.o);
    secure_wipe(&r, sizeof(r));
}

void prov_dev_rotate(struct provision *p, struct http_request *req, bool relayed)
{
    struct store_conn *c;
    struct dev_body b = {0};
    struct cred_req r;
    memset(&r, 0, sizeof(r));
    if (store_reader_get(p->store, &c) != IOTSEC_OK) {
        dev_store_problem(req, IOTSEC_ERR_BUSY);
        return;
    }
    if (!dev_parse_body(req, &b) || !cred_request(p, req, c, b.o, relayed, true, &r))
        goto out;
    char cred_id[32];
    prov_cred_id(r.reg.id, cred_id);
    uint8_t rk[PROV_KEY_LEN];
    struct prov_onboard_ctx octx = {r.reg_id, strlen(r.reg_id), {0}, {0}};
    memcpy(octx.server_nonce, r.nonce, PROV_NONCE_LEN);
    memcpy(octx.device_pub, r.pub, PROV_X25519_LEN);
    bool ok = r.version == r.sub.cred_version &&
              prov_rotate_key(r.keys.k, 16, cred_id, r.version, rk) == IOTSEC_OK &&
              prov_proof_verify(rk, &octx, r.mac) == IOTSEC_OK;
    secure_wipe(rk, sizeof(rk));
    if (!ok) {
        dev_problem(req, 401, "PROOF_INVALID", "the rotation request does not verify under the "
                                           "current credential");
        goto out;
    }
    int64_t now = dev_now_s();
    enum prov_rot_action a = prov_rotate_decide(&r.reg.rot, r.version, r.nonce, r.pub, now);
    if (a == PROV_ROT_REPLAY) {
        uint8_t *env = NULL;
        size_t len = 0;
        int rc = prov_registration_envelope(c, r.reg.id, true, &env, &len);
        if (rc == IOTSEC_OK) {
            dev_respond_envelope(req, env, len);
            prov_count(PROV_C_REPLAYS);
        } else
            dev_store_problem(req, rc);
        free(env);
        goto out;
    }
    if (!prov_nonce_take(p->nonces, r.nonce, now)) {
        dev_problem(req, 401, "NONCE_INVALID", "the nonce is unknown, expired or used");
        goto out;
    }
    struct prov_job *j = dev_job_new(req, PROV_JOB_ROTATE);
    if (j) {
        snprintf(j->reg_id, sizeof(j->reg_id), "%s", r.reg_id);
        snprintf(j->serial, sizeof(j->serial), "%s", r.reg.serial);
        memcpy(j->nonce, r.nonce, PROV_NONCE_LEN);
        memcpy(j->device_pub, r.pub, PROV_X25519_LEN);
        j->version = r.version;
        aka_hn_keys_list(p->store, dev_add_hn_key, &j->hn);
        dev_submit(p, req, j);
    }
out:
    json_decref(b.o);
    secure_wipe(&r, sizeof(r));
}

