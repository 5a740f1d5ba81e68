/* The device face's writes, each one job on the store's writer, so that the subscription,
 * the registration and the stored answer are committed together before the device hears
 * anything: onboarding (allocate a SUPI, create the subscription pending_activation, seal
 * the envelope, keep it for retries), rotation (a waiting version and its envelope), the
 * admin's staged rotation, and confirmation (promote the version, activate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "provision/prov_int.h"
#include "subscriber/subscriber.h"

#define ROTATE_GRACE_S (24 * 3600)
#define SUPI_TRIES     64 /* SUPIs of the range already taken by hand-made subscriptions */

void prov_job_free(struct prov_job *j)
{
    if (j == NULL)
        return;
    free(j->envelope);
    secure_wipe(j, sizeof(*j));
    free(j);
}

static int step(struct store_conn *c, struct store_stmt *st)
{
    int s = store_step(st);
    return s == STORE_DONE ? IOTSEC_OK : store_error(c, s);
}

/* What goes into a bundle besides the keys. */
struct bundle_src {
    const char *supi;
    const uint8_t *k, *opc, *amf;
    uint32_t version;
    int64_t not_after, reg_row;
    const char *routing_ind, *service;
};

static int seal_bundle(struct prov_job *j, const struct bundle_src *b)
{
    struct prov_bundle pb;
    memset(&pb, 0, sizeof(pb));
    snprintf(pb.supi, sizeof(pb.supi), "%s", b->supi);
    pb.k_len = 16;
    memcpy(pb.k, b->k, 16);
    memcpy(pb.opc, b->opc, 16);
    memcpy(pb.amf, b->amf, 2);
    pb.n_hn_keys = j->hn.n;
    memcpy(pb.hn_keys, j->hn.keys, sizeof(pb.hn_keys));
    snprintf(pb.routing_ind, sizeof(pb.routing_ind), "%s",
             b->routing_ind && b->routing_ind[0] ? b->routing_ind : "0000");
    prov_cred_id(b->reg_row, pb.cred_id);
    pb.cred_version = b->version;
    pb.not_after = b->not_after > 0 ? (uint64_t)b->not_after : 0;
    pb.service = (const uint8_t *)(b->service ? b->service : "{}");
    pb.service_len = strlen((const char *)pb.service);
    size_t cap = 1024 + PROV_HN_KEYS_MAX * 70 + pb.service_len, pt_len = 0;
    uint8_t *pt = malloc(cap);
    int rc = pt ? prov_bundle_encode(&pb, pt, cap, &pt_len) : IOTSEC_ERR_NOMEM;
    prov_bundle_wipe(&pb);
    struct prov_onboard_ctx ctx = {.reg_id = j->reg_id, .reg_id_len = strlen(j->reg_id)};
    memcpy(ctx.server_nonce, j->nonce, PROV_NONCE_LEN);
    memcpy(ctx.device_pub, j->device_pub, PROV_X25519_LEN);
    size_t env_max = prov_envelope_len(ctx.reg_id_len, pt_len);
    if (rc == IOTSEC_OK)
        rc = env_max && (j->envelope = malloc(env_max)) ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = prov_envelope_seal(j->p->sign_key, &ctx, pt, pt_len, j->envelope, env_max,
                                &j->envelope_len);
    if (pt) {
        secure_wipe(pt, cap);
        free(pt);
    }
    return rc;
}

static char *enrollment_service(struct store_conn *c, int64_t id)
{
    struct store_stmt *st;
    char *out = NULL;
    if (store_stmt(c, "SELECT service FROM prov_enrollments WHERE id = ?", &st) != IOTSEC_OK)
        return NULL;
    store_bind_int64(st, 1, id);
    if (store_step(st) == STORE_ROW)
        out = strdup(store_col_text(st, 0));
    store_reset(st);
    return out;
}

/* The service parameters of a bundle: the bulk activation's, else the enrollment's. */
static char *service_for(struct store_conn *c, const struct prov_job *j, int64_t enrollment_id,
                         char *account, size_t account_len, bool *activated, char *supi)
{
    char *svc = NULL;
    if (prov_activation_find(c, j->reg_id, j->serial, activated, account, account_len, &svc,
                             supi) != IOTSEC_OK)
        *activated = false;
    return svc ? svc : enrollment_service(c, enrollment_id);
}

/* Allocates the next free SUPI of the enrollment's range and creates the subscription. */
static int create_subscription(struct store_conn *c, struct prov_job *j,
                               const struct prov_enrollment *e, const char *owner,
                               const char *prebound, struct sub_op *op, struct sub_input *in)
{
    struct prov_supi_range r;
    if (prov_supi_range_parse(e->supi_first, e->supi_last, &r) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    struct store_stmt *st;
    int rc = store_stmt(c, "SELECT supi_next FROM prov_enrollments WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, e->id);
    uint64_t next = store_step(st) == STORE_ROW ? (uint64_t)store_col_int64(st, 0) : 0;
    store_reset(st);
    memset(in, 0, sizeof(*in));
    if ((rc = crypto_random(&in->keys, sizeof(in->keys))) != IOTSEC_OK)
        return rc;
    in->amf[0] = 0x80;
    in->auth_method = SUB_AUTH_5G_AKA;
    snprintf(in->owner, sizeof(in->owner), "%s", owner);
    in->not_after = e->lifetime_s > 0 ? j->now + e->lifetime_s : 0;
    in->state = SUB_PENDING_ACTIVATION;
    rc = IOTSEC_ERR_CONFLICT;
    bool bound = prebound && prebound[0];
    for (int t = 0; t < (bound ? 1 : SUPI_TRIES) && rc == IOTSEC_ERR_CONFLICT; t++, next++) {
        char supi[40];
        if (bound)
            snprintf(supi, sizeof(supi), "%s", prebound);
        else if (prov_supi_at(&r, next, supi, sizeof(supi)) != IOTSEC_OK) {
            j->fail = PROV_FAIL_EXHAUSTED;
            return IOTSEC_ERR_BUSY;
        }
        if (supi_parse(supi, &in->supi) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        memset(op, 0, sizeof(*op));
        op->kind = SUB_OP_CREATE;
        op->kek = j->p->kek;
        op->input = in;
        op->now = j->now;
        op->actor = "provision";
        rc = sub_op_run(c, op);
    }
    if (bound && rc == IOTSEC_ERR_CONFLICT)
        j->fail = PROV_FAIL_SUPI_TAKEN;
    if (rc != IOTSEC_OK || bound)
        return rc;
    if ((rc = store_stmt(c, "UPDATE prov_enrollments SET supi_next = ? WHERE id = ?", &st)) !=
        IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, (int64_t)next);
    store_bind_int64(st, 2, e->id);
    return step(c, st);
}

static int insert_registration(struct store_conn *c, const struct prov_job *j, int64_t *row)
{
    struct store_stmt *st;
    int rc = store_stmt(c, "INSERT INTO prov_registrations(reg_id, enrollment_id, cert_sha256,"
                           " serial, state, created_at, updated_at)"
                           " VALUES (?, ?, ?, ?, 'onboarded', ?, ?) RETURNING id", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, j->reg_id, -1);
    store_bind_int64(st, 2, j->enrollment_id);
    if (j->cert_sha256[0])
        store_bind_text(st, 3, j->cert_sha256, -1);
    if (j->serial[0])
        store_bind_text(st, 4, j->serial, -1);
    store_bind_int64(st, 5, j->now);
    store_bind_int64(st, 6, j->now);
    if ((rc = store_step_id(c, st, row)) != IOTSEC_OK)
        return rc;
    if ((rc = store_stmt(c, "UPDATE prov_enrollments SET devices = devices + 1 WHERE id = ?",
                         &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, j->enrollment_id);
    return step(c, st);
}

static int delete_subscription(struct store_conn *c, const struct prov_job *j, const char *supi)
{
    struct sub_op op = {.kind = SUB_OP_DELETE, .kek = j->p->kek, .now = j->now,
                        .actor = "provision"};
    snprintf(op.supi, sizeof(op.supi), "%s", supi);
    int rc = sub_op_run(c, &op);
    return rc == IOTSEC_ERR_NOTFOUND ? IOTSEC_OK : rc;
}

static int run_onboard(struct store_conn *c, struct prov_job *j)
{
    struct prov_enrollment e;
    int rc = prov_enrollment_load(c, j->enrollment_id, &e);
    if (rc != IOTSEC_OK)
        return rc;
    if (!e.enabled) {
        j->fail = PROV_FAIL_DISABLED;
        return IOTSEC_ERR_STATE;
    }
    struct prov_registration r;
    rc = prov_registration_load(c, j->reg_id, &r);
    bool exists = rc == IOTSEC_OK;
    if (rc != IOTSEC_OK && rc != IOTSEC_ERR_NOTFOUND)
        return rc;
    if (exists && r.has_request && prov_same_request(r.nonce, r.device_pub, j->nonce,
                                                     j->device_pub))
        return prov_registration_envelope(c, r.id, false, &j->envelope, &j->envelope_len);
    if (exists && !prov_same_device(r.enrollment_id, r.cert_sha256, e.id, e.individual,
                                    j->cert_sha256)) {
        j->fail = PROV_FAIL_OTHER_DEVICE;
        return IOTSEC_ERR_STATE;
    }
    if (exists && (e.reprovision == PROV_REPROV_NEVER ||
                   (strcmp(r.state, "revoked") == 0 && e.reprovision != PROV_REPROV_RESET))) {
        j->fail = PROV_FAIL_REPROVISION;
        return IOTSEC_ERR_STATE;
    }
    if (!exists && e.quota > 0 && e.devices >= e.quota) {
        j->fail = PROV_FAIL_QUOTA;
        return IOTSEC_ERR_BUSY;
    }
    int64_t row = exists ? r.id : 0;
    if (!exists && (rc = insert_registration(c, j, &row)) != IOTSEC_OK)
        return rc;
    char supi[SUPI_STRING_MAX], account[PROV_OWNER_MAX + 1] = "", prebound[40] = "";
    bool activated = false;
    char *svc = service_for(c, j, e.id, account, sizeof(account), &activated, prebound);
    struct subscription sub;
    struct sub_keys keys;
    struct sub_op op;
    struct sub_input in;
    bool keep = exists && e.reprovision == PROV_REPROV_KEEP && r.supi[0] &&
                strcmp(r.state, "revoked") != 0;
    if (keep) {
        rc = subscriber_get_keys_on(c, j->p->kek, r.supi, &sub, &keys);
        if (rc == IOTSEC_OK && (sub.state == SUB_REVOKED || sub.state == SUB_EXPIRED))
            rc = IOTSEC_ERR_STATE, j->fail = PROV_FAIL_REPROVISION;
        keep = rc != IOTSEC_ERR_NOTFOUND; /* deleted by the operator: a new one, as reset */
    }
    if (!keep) {
        if (exists && r.supi[0] && (rc = delete_subscription(c, j, r.supi)) != IOTSEC_OK) {
            free(svc);
            return rc;
        }
        /* After an accepted transfer the registration names its new owner. */
        rc = create_subscription(c, j, &e, exists && r.owner[0] ? r.owner : e.owner, prebound,
                                 &op, &in);
        if (rc == IOTSEC_OK) {
            sub = op.result;
            keys = in.keys;
        }
        secure_wipe(&in, sizeof(in));
    }
    if (rc != IOTSEC_OK) {
        free(svc);
        return rc;
    }
    supi_format(&sub.supi, supi, sizeof(supi));
    struct bundle_src b = {supi, keys.k, keys.opc, sub.amf, sub.cred_version, sub.not_after, row,
                           e.routing_ind, svc};
    rc = seal_bundle(j, &b);
    free(svc);
    secure_wipe(&keys, sizeof(keys));
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    rc = store_stmt(c, "UPDATE prov_registrations SET enrollment_id = ?, supi = ?, owner = ?,"
                       " account = ?, state = 'onboarded', gateway_id = ?, nonce = ?,"
                       " device_pub = ?, envelope = ?, cred_version = ?, confirmed = ?,"
                       " pend_version = NULL, pend_cred = NULL, pend_since = NULL,"
                       " pend_nonce = NULL, pend_pub = NULL, pend_envelope = NULL,"
                       " updated_at = ?, cred_since = CASE WHEN ? THEN COALESCE(cred_since, ?)"
                       " ELSE ? END WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, e.id);
    store_bind_text(st, 2, supi, -1);
    store_bind_text(st, 3, exists && r.owner[0] ? r.owner : e.owner, -1);
    if (account[0])
        store_bind_text(st, 4, account, -1);
    if (j->gateway_id)
        store_bind_int64(st, 5, j->gateway_id);
    store_bind_blob(st, 6, j->nonce, PROV_NONCE_LEN);
    store_bind_blob(st, 7, j->device_pub, PROV_X25519_LEN);
    store_bind_blob(st, 8, j->envelope, (int)j->envelope_len);
    store_bind_int64(st, 9, sub.cred_version);
    store_bind_int(st, 10, keep && r.confirmed);
    store_bind_int64(st, 11, j->now);
    store_bind_int(st, 12, keep); /* kept keys keep their age (the schedule's clock) */
    store_bind_int64(st, 13, j->now);
    store_bind_int64(st, 14, j->now);
    store_bind_int64(st, 15, row);
    if ((rc = step(c, st)) != IOTSEC_OK)
        return rc;
    j->out_version = sub.cred_version;
    return prov_history_add(c, j->reg_id, exists ? (keep ? "reonboarded" : "reset") : "onboarded",
                            j->gateway_id ? "via gateway" : NULL, j->now);
}

static int seal_pending(const struct prov_job *j, uint32_t version, const uint8_t *k,
                        const uint8_t *opc, uint8_t out[32 + SEAL_OVERHEAD])
{
    uint8_t plain[32];
    memcpy(plain, k, 16);
    memcpy(plain + 16, opc, 16);
    char aad[PROV_REG_ID_MAX + 32];
    size_t aad_len = prov_pend_aad(j->reg_id, version, aad, sizeof(aad));
    int rc = seal(j->p->kek, aad, aad_len, plain, sizeof(plain), out);
    secure_wipe(plain, sizeof(plain));
    return rc;
}

/* Rotation fetch (device) and staging (admin): the waiting version's keys are made once and
 * re-sent in a new envelope to every new request until the device confirms. */
static int run_rotate(struct store_conn *c, struct prov_job *j)
{
    struct prov_registration r;
    int rc = prov_registration_load(c, j->reg_id, &r);
    if (rc == IOTSEC_ERR_NOTFOUND)
        j->fail = PROV_FAIL_NOTFOUND;
    if (rc != IOTSEC_OK)
        return rc;
    struct subscription sub;
    if ((rc = subscriber_get_on(c, r.supi, &sub)) != IOTSEC_OK)
        return rc;
    if (sub.state == SUB_REVOKED || sub.state == SUB_EXPIRED) {
        j->fail = PROV_FAIL_REPROVISION;
        return IOTSEC_ERR_STATE;
    }
    r.rot.current_version = sub.cred_version;
    uint32_t device_version = j->kind == PROV_JOB_STAGE ? sub.cred_version : j->version;
    enum prov_rot_action a = prov_rotate_decide(&r.rot, device_version, j->nonce, j->device_pub,
                                                j->now);
    if (a == PROV_ROT_BAD_VERSION) {
        j->fail = PROV_FAIL_VERSION;
        return IOTSEC_ERR_STATE;
    }
    if (a == PROV_ROT_REPLAY && j->kind == PROV_JOB_ROTATE)
        return prov_registration_envelope(c, r.id, true, &j->envelope, &j->envelope_len);
    uint32_t version = sub.cred_version + 1;
    uint8_t k[16], opc[16], sealed[32 + SEAL_OVERHEAD];
    bool fresh = a == PROV_ROT_NEW;
    rc = fresh ? crypto_random(k, 16) : prov_pending_keys(c, j->p->kek, j->reg_id, version, k, opc);
    if (rc == IOTSEC_OK && fresh)
        rc = crypto_random(opc, 16);
    if (rc == IOTSEC_OK)
        rc = seal_pending(j, version, k, opc, sealed);
    struct prov_enrollment e;
    if (rc == IOTSEC_OK)
        rc = prov_enrollment_load(c, r.enrollment_id, &e);
    if (rc == IOTSEC_OK && j->kind == PROV_JOB_ROTATE) {
        bool activated;
        char *svc = service_for(c, j, e.id, NULL, 0, &activated, NULL);
        struct bundle_src b = {r.supi, k, opc, sub.amf, version, sub.not_after, r.id,
                               e.routing_ind, svc};
        rc = seal_bundle(j, &b);
        free(svc);
    }
    secure_wipe(k, sizeof(k));
    secure_wipe(opc, sizeof(opc));
    if (rc != IOTSEC_OK)
        return rc;
    struct store_stmt *st;
    rc = store_stmt(c, "UPDATE prov_registrations SET pend_version = ?, pend_cred = ?,"
                       " pend_since = CASE WHEN ? THEN ? ELSE pend_since END, pend_nonce = ?,"
                       " pend_pub = ?, pend_envelope = ?, updated_at = ? WHERE id = ?", &st);
    if (rc != IOTSEC_OK)
        return rc;
    bool dev = j->kind == PROV_JOB_ROTATE;
    store_bind_int64(st, 1, version);
    store_bind_blob(st, 2, sealed, sizeof(sealed));
    store_bind_int(st, 3, fresh);
    store_bind_int64(st, 4, j->now);
    if (dev) {
        store_bind_blob(st, 5, j->nonce, PROV_NONCE_LEN);
        store_bind_blob(st, 6, j->device_pub, PROV_X25519_LEN);
        store_bind_blob(st, 7, j->envelope, (int)j->envelope_len);
    }
    store_bind_int64(st, 8, j->now);
    store_bind_int64(st, 9, r.id);
    if ((rc = step(c, st)) != IOTSEC_OK)
        return rc;
    j->out_version = version;
    return fresh ? prov_history_add(c, j->reg_id, "rotation_waiting",
                                    dev ? "device" : j->actor ? j->actor : "admin",
                                    j->now)
                 : IOTSEC_OK;
}

static int run_confirm(struct store_conn *c, struct prov_job *j)
{
    struct prov_registration r;
    int rc = prov_registration_load(c, j->reg_id, &r);
    if (rc == IOTSEC_ERR_NOTFOUND)
        j->fail = PROV_FAIL_NOTFOUND;
    if (rc != IOTSEC_OK)
        return rc;
    struct sub_op op = {.kek = j->p->kek, .now = j->now, .actor = "provision"};
    struct sub_input in;
    memset(&in, 0, sizeof(in));
    snprintf(op.supi, sizeof(op.supi), "%s", r.supi);
    struct store_stmt *st;
    if (j->confirm_rotation) {
        if (r.rot.pending_version != j->version) { /* confirmed already, or replaced */
            j->fail = PROV_FAIL_VERSION;
            return IOTSEC_ERR_STATE;
        }
        memcpy(in.keys.k, j->k, 16);
        memcpy(in.keys.opc, j->opc, 16);
        op.kind = SUB_OP_ROTATE;
        op.input = &in;
        op.grace_s = ROTATE_GRACE_S;
        rc = sub_op_run(c, &op);
        secure_wipe(&in, sizeof(in));
        if (rc == IOTSEC_OK && op.result.cred_version != j->version)
            rc = IOTSEC_ERR_STATE, j->fail = PROV_FAIL_VERSION;
        if (rc != IOTSEC_OK)
            return rc;
        /* The confirmed rotation's request becomes the registration's current one, so a
         * repeated confirmation is recognised; the waiting version is gone. */
        rc = store_stmt(c, "UPDATE prov_registrations SET nonce = pend_nonce,"
                           " device_pub = pend_pub, envelope = pend_envelope, cred_version = ?,"
                           " pend_version = NULL, pend_cred = NULL, pend_since = NULL,"
                           " pend_nonce = NULL, pend_pub = NULL, pend_envelope = NULL,"
                           " cred_since = ? WHERE id = ?", &st);
        if (rc != IOTSEC_OK)
            return rc;
        store_bind_int64(st, 1, j->version);
        store_bind_int64(st, 2, j->now);
        store_bind_int64(st, 3, r.id);
        if ((rc = step(c, st)) != IOTSEC_OK ||
            (rc = prov_history_add(c, j->reg_id, "rotated", NULL, j->now)) != IOTSEC_OK)
            return rc;
    }
    if ((rc = store_stmt(c, "UPDATE prov_registrations SET confirmed = 1, updated_at = ?"
                            " WHERE id = ?", &st)) != IOTSEC_OK)
        return rc;
    store_bind_int64(st, 1, j->now);
    store_bind_int64(st, 2, r.id);
    if ((rc = step(c, st)) != IOTSEC_OK)
        return rc;
    if (!r.confirmed && (rc = prov_history_add(c, j->reg_id, "confirmed", NULL, j->now)) !=
                            IOTSEC_OK)
        return rc;
    struct prov_enrollment e;
    bool activated = false;
    if ((rc = prov_enrollment_load(c, r.enrollment_id, &e)) != IOTSEC_OK ||
        (rc = prov_activation_find(c, r.reg_id, r.serial, &activated, NULL, 0, NULL, NULL)) !=
            IOTSEC_OK)
        return rc;
    struct subscription sub;
    if ((rc = subscriber_get_on(c, r.supi, &sub)) != IOTSEC_OK)
        return rc;
    if (j->confirm_rotation)
        sub.state = op.result.state;
    if (sub.state == SUB_PENDING_ACTIVATION &&
        prov_should_activate(true, e.requires_activation, activated)) {
        struct sub_op ev = {.kind = SUB_OP_EVENT, .event = SUB_EV_ACTIVATE, .now = j->now,
                            .actor = "provision"};
        snprintf(ev.supi, sizeof(ev.supi), "%s", r.supi);
        if ((rc = sub_op_run(c, &ev)) != IOTSEC_OK)
            return rc;
        sub.state = ev.result.state;
    }
    snprintf(j->sub_state, sizeof(j->sub_state), "%s", sub_state_name(sub.state));
    j->out_version = j->confirm_rotation ? j->version : sub.cred_version;
    return IOTSEC_OK;
}

int prov_job_run(struct store_conn *c, void *arg)
{
    struct prov_job *j = arg;
    switch (j->kind) {
    case PROV_JOB_ONBOARD:
        return run_onboard(c, j);
    case PROV_JOB_ROTATE:
    case PROV_JOB_STAGE:
        return run_rotate(c, j);
    case PROV_JOB_CONFIRM:
        return run_confirm(c, j);
    }
    return IOTSEC_ERR_INVALID;
}
