/* Ownership on the admin face: owners (tenants with Ed25519 keys), transfer requests carrying
 * the device's voucher chain (each entry signed by the previous owner, verifiable from the
 * manufacturer's root), and the new owner's acceptance, which revokes and crypto-erases the
 * old subscription; under reprovision policy "reset" the device then onboards again and gets
 * a new subscription for its new owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "http/http.h"
#include "provision/prov_admin.h"
#include "provision/prov_admin_store.h"
#include "subscriber/subscriber.h"

#define CHAIN_MAX (PROV_VOUCHER_MAX_ENTRIES * (PROV_VOUCHER_ENTRY_OVERHEAD + PROV_REG_ID_MAX))

/* ---- owners ---- */

static int run_owner_add(struct store_conn *c, struct adm_job *a)
{
    int64_t id;
    int rc = prov_owner_insert(c, a->text, a->secret, a->now, &id);
    if (rc != IOTSEC_OK)
        return rc;
    a->out = json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", a->text);
    return IOTSEC_OK;
}

void prov_h_owner_add(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *pub = json_string_value(json_object_get(o, "public_key"));
    uint8_t key[PROV_ED25519_PUB_LEN];
    size_t len = 0;
    if (name == NULL || !prov_id_valid(name, strlen(name)) || strlen(name) > PROV_OWNER_MAX)
        adm_bad(req, "name", "1..64 visible ASCII characters");
    else if (pub == NULL || b64url_decode(pub, strlen(pub), key, sizeof(key), &len) ||
             len != sizeof(key))
        adm_bad(req, "public_key", "an Ed25519 public key: 32 bytes in base64url");
    else {
        struct adm_job *a = adm_job_new(req, p, run_owner_add, 201);
        if (a) {
            snprintf(a->text, sizeof(a->text), "%s", name);
            memcpy(a->secret, key, sizeof(key));
            adm_submit(a);
        }
    }
    json_decref(o);
}

/* ---- transfer: checked on the writer, so two transfers cannot race past each other ---- */

struct transfer_in {
    uint8_t *chain;
    size_t len;
};

static void transfer_free(struct adm_job *a)
{
    struct transfer_in *t = a->extra;
    if (t) {
        free(t->chain);
        free(t);
    }
}

static int refuse(struct adm_job *a, int status, const char *cause, const char *detail)
{
    adm_fail(a, status, cause, NULL, detail);
    return IOTSEC_ERR_STATE;
}

static int run_transfer(struct store_conn *c, struct adm_job *a)
{
    struct transfer_in *t = a->extra;
    const char *to = json_string_value(json_object_get(a->in, "to"));
    uint8_t root[32], to_pub[32], cur[32], prev[32];
    uint8_t *stored = NULL;
    size_t stored_len = 0, entries = 0;
    char owner[PROV_OWNER_MAX + 1] = "";
    int rc = prov_device_root(c, a->text, root, &stored, &stored_len, owner, sizeof(owner));
    if (rc == IOTSEC_ERR_NOTFOUND)
        return refuse(a, 404, "REGISTRATION_NOT_FOUND", "no such device");
    if (rc == IOTSEC_ERR_STATE)
        return refuse(a, 409, "NO_VOUCHER_ROOT",
                      "the device's manufacturer has no voucher root key");
    if (rc != IOTSEC_OK)
        return rc;
    size_t id_len = strlen(a->text), entry = prov_voucher_entry_len(id_len);
    if (prov_owner_pub(c, to, to_pub) != IOTSEC_OK)
        rc = refuse(a, 404, "OWNER_NOT_FOUND", "no such owner (to)");
    else if (prov_voucher_verify(root, a->text, id_len, t->chain, t->len, cur, &entries) !=
                 IOTSEC_OK ||
             !ct_equal(cur, to_pub, 32))
        rc = refuse(a, 403, "VOUCHER_INVALID",
                    "the voucher does not verify from the manufacturer root to the new owner");
    else if (stored_len && (t->len <= stored_len || memcmp(t->chain, stored, stored_len) != 0))
        rc = refuse(a, 403, "VOUCHER_INVALID", "the voucher does not extend the stored chain");
    else if (entries >= 2 && prov_voucher_verify(root, a->text, id_len, t->chain,
                                                 t->len - entry, prev, NULL) != IOTSEC_OK)
        rc = refuse(a, 403, "VOUCHER_INVALID", "the voucher's previous owner does not verify");
    else if (entries < 2)
        memcpy(prev, root, 32);
    free(stored);
    if (rc != IOTSEC_OK)
        return rc;
    /* The previous owner signed the last entry: it must be the device's current owner when
     * that owner is known here. */
    if (owner[0] && prov_owner_pub(c, owner, cur) == IOTSEC_OK && !ct_equal(cur, prev, 32))
        return refuse(a, 403, "VOUCHER_INVALID",
                      "the transfer is not signed by the device's current owner");
    if ((rc = prov_transfer_request(c, a->text, t->chain, t->len, to, a->now)) != IOTSEC_OK ||
        (rc = prov_history_add(c, a->text, "transfer_requested", to, a->now)) != IOTSEC_OK)
        return rc;
    a->out = json_pack("{s:s, s:s, s:I}", "registration_id", a->text, "transfer_to", to,
                       "voucher_entries", (json_int_t)entries);
    return IOTSEC_OK;
}

void prov_h_transfer(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    const char *id = http_request_param(req, "id");
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    const char *to = json_string_value(json_object_get(o, "to"));
    const char *v = json_string_value(json_object_get(o, "voucher"));
    struct adm_job *a = NULL;
    struct transfer_in *t = calloc(1, sizeof(*t));
    if (t)
        t->chain = malloc(CHAIN_MAX);
    if (t == NULL || t->chain == NULL)
        http_respond_error(req, IOTSEC_ERR_NOMEM, "provisioning");
    else if (!prov_id_valid(id, strlen(id)))
        http_respond_problem(req, 404, NULL, "no such device", "REGISTRATION_NOT_FOUND", NULL, 0);
    else if (to == NULL || !prov_id_valid(to, strlen(to)))
        adm_bad(req, "to", "an owner's name");
    else if (v == NULL || b64url_decode(v, strlen(v), t->chain, CHAIN_MAX, &t->len) ||
             t->len == 0)
        adm_bad(req, "voucher", "the voucher chain in base64url");
    else if ((a = adm_job_new(req, p, run_transfer, 202)) != NULL) {
        snprintf(a->text, sizeof(a->text), "%s", id);
        a->in = o;
        a->extra = t;
        a->free_extra = transfer_free;
        adm_submit(a);
        return;
    }
    if (t)
        free(t->chain);
    free(t);
    json_decref(o);
}

/* ---- accept ---- */

static int run_accept(struct store_conn *c, struct adm_job *a)
{
    const char *owner = json_string_value(json_object_get(a->in, "owner"));
    struct prov_registration r;
    int rc = prov_registration_load(c, a->text, &r);
    if (rc == IOTSEC_ERR_NOTFOUND)
        return refuse(a, 404, "REGISTRATION_NOT_FOUND", "no such device");
    if (rc != IOTSEC_OK)
        return rc;
    char to[PROV_OWNER_MAX + 1] = "";
    if ((rc = prov_transfer_to(c, r.id, to, sizeof(to))) != IOTSEC_OK)
        return rc;
    if (to[0] == '\0' || strcmp(to, owner) != 0)
        return refuse(a, 409, "NO_TRANSFER_PENDING", "no transfer to this owner is pending");
    /* The old subscription: revoked (recorded), then deleted, which crypto-erases K/OPc. */
    if (r.supi[0]) {
        struct sub_op ev = {.kind = SUB_OP_EVENT, .event = SUB_EV_REVOKE, .now = a->now,
                            .actor = "transfer"};
        snprintf(ev.supi, sizeof(ev.supi), "%s", r.supi);
        rc = sub_op_run(c, &ev);
        if (rc != IOTSEC_OK && rc != IOTSEC_ERR_STATE && rc != IOTSEC_ERR_NOTFOUND)
            return rc;
        struct sub_op del = {.kind = SUB_OP_DELETE, .now = a->now, .actor = "transfer"};
        snprintf(del.supi, sizeof(del.supi), "%s", r.supi);
        rc = sub_op_run(c, &del);
        if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND)
            return rc;
    }
    if ((rc = prov_transfer_complete(c, r.id, owner, a->now)) != IOTSEC_OK ||
        (rc = prov_history_add(c, a->text, "transferred", owner, a->now)) != IOTSEC_OK)
        return rc;
    a->out = json_pack("{s:s, s:s, s:s}", "registration_id", a->text, "owner", owner,
                       "previous_subscription", r.supi[0] ? "revoked and erased" : "none");
    return IOTSEC_OK;
}

void prov_h_accept(struct http_request *req, void *user)
{
    struct provision *p = user;
    if (!adm_admin_ok(req, p))
        return;
    const char *id = http_request_param(req, "id");
    json_t *o = adm_body(req);
    if (o == NULL)
        return;
    const char *owner = json_string_value(json_object_get(o, "owner"));
    if (owner == NULL || !prov_id_valid(owner, strlen(owner))) {
        adm_bad(req, "owner", "the accepting owner's name");
        json_decref(o);
        return;
    }
    struct adm_job *a = adm_job_new(req, p, run_accept, 200);
    if (a == NULL) {
        json_decref(o);
        return;
    }
    snprintf(a->text, sizeof(a->text), "%s", id);
    a->in = o;
    adm_submit(a);
}
