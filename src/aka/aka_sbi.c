/* The SBI handlers: decode the request, call the shared vector flow or the confirmation
 * logic, encode the answer (TS 29.503 Nudm_UEAU, TS 29.509 Nausf_UEAuthentication). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/aka_eap.h"
#include "aka/aka_int.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/kdf.h"

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

bool aka_is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* The common part of both vector requests: SNN, identity, optional resynchronisation. */
static void start_vector(struct aka *a, struct http_request *req, enum av_for purpose,
                         json_t *body, const char *supi_or_suci, const char *id_param)
{
    struct av_job *job = aka_job_new(a, req, purpose);
    if (job == NULL)
        return;
    json_t *resync = json_object_get(body, "resynchronizationInfo");
    if (aka_take_snn(job, str(body, "servingNetworkName"), "servingNetworkName") != IOTSEC_OK)
        goto fail;
    if (purpose == AV_FOR_UDM && json_object_get(body, "ausfInstanceId") == NULL) {
        http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", "/ausfInstanceId",
                             "ausfInstanceId is required");
        goto fail;
    }
    if (purpose == AV_FOR_UDM && !aka_is_uuid(str(body, "ausfInstanceId"))) {
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/ausfInstanceId",
                             "ausfInstanceId must be a UUID (NfInstanceId)");
        goto fail;
    }
    if (aka_load_subscriber(job, supi_or_suci, id_param) != IOTSEC_OK)
        goto fail;
    if (resync != NULL &&
        (!json_is_object(resync) ||
         aka_take_resync(job, str(resync, "rand"), str(resync, "auts"),
                         "resynchronizationInfo") != IOTSEC_OK)) {
        if (!json_is_object(resync))
            http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/resynchronizationInfo", "must be an object");
        goto fail;
    }
    aka_av_start(job);
    return;
fail:
    aka_job_free(job);
}

void aka_udm_generate_auth_data(struct http_request *req, void *user)
{
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    /* a path parameter is named as itself; a body attribute by its JSON Pointer */
    start_vector(user, req, AV_FOR_UDM, body, http_request_param(req, "supiOrSuci"),
                 "supiOrSuci");
    json_decref(body);
}

void aka_ausf_authenticate(struct http_request *req, void *user)
{
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    start_vector(user, req, AV_FOR_AUSF, body, str(body, "supiOrSuci"), "/supiOrSuci");
    json_decref(body);
}

/* A successful authentication: KSEAF for the SEAF, the SUPI for the AMF. */
static void answer_success(struct aka *a, struct http_request *req, struct auth_ctx *ctx,
                           json_t *o, const char *kseaf_key)
{
    uint8_t kseaf[32];
    char hex[65];
    if (kdf_kseaf(ctx->kausf, ctx->snn, strlen(ctx->snn), kseaf) != IOTSEC_OK) {
        json_decref(o);
        http_respond_problem(req, 500, NULL, "key derivation failed", NULL, NULL, 0);
        return;
    }
    hex_encode(kseaf, 32, hex);
    json_object_set_new(o, "authResult", json_string("AUTHENTICATION_SUCCESS"));
    json_object_set_new(o, "supi", json_string(ctx->supi));
    json_object_set_new(o, kseaf_key, json_string(hex));
    secure_wipe(kseaf, sizeof(kseaf));
    secure_wipe(hex, sizeof(hex));
    /* kept (keyless) for a while: the AMF may still cancel the result (DELETE) */
    auth_ctx_keep_result(a->ctxs, ctx, aka_now_ms() + (int64_t)a->cfg.ctx_ttl_s * 1000);
    sqn_cache_auth_success(a->sqn, ctx->subscription_id);
    aka_count(a, AKA_AUSF_SUCCESS);
    http_respond_json(req, 200, o);
}

static void answer_failure(struct aka *a, struct http_request *req, json_t *o)
{
    json_object_set_new(o, "authResult", json_string("AUTHENTICATION_FAILURE"));
    aka_count(a, AKA_AUSF_FAILURE);
    http_respond_json(req, 200, o);
}

static int take_context(struct aka *a, struct http_request *req, enum auth_ctx_kind kind,
                        struct auth_ctx *ctx)
{
    if (auth_ctx_take(a->ctxs, http_request_param(req, "authCtxId"), aka_now_ms(), false, ctx) !=
        IOTSEC_OK) {
        http_respond_invalid(req, 404, "CONTEXT_NOT_FOUND", NULL, "no authentication in progress with this id (unknown, expired or already "
                    "confirmed)");
        return IOTSEC_ERR_NOTFOUND;
    }
    if (ctx->kind != kind) {
        secure_wipe(ctx, sizeof(*ctx));
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", NULL, "this authentication context is of the other method");
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

void aka_ausf_confirm_5g_aka(struct http_request *req, void *user)
{
    struct aka *a = user;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    /* resStar is mandatory but nullable: null means the UE could not answer. */
    json_t *res_json = json_object_get(body, "resStar");
    uint8_t res_star[16];
    if (res_json == NULL || (!json_is_null(res_json) &&
                             (!json_is_string(res_json) ||
                              hex_decode(json_string_value(res_json), res_star, 16) != 0))) {
        json_decref(body);
        http_respond_invalid(req, 400, res_json ? "MANDATORY_IE_INCORRECT" : "MANDATORY_IE_MISSING", "/resStar", "resStar must be 32 hex digits or null");
        return;
    }
    bool ue_answered = !json_is_null(res_json); /* res_json belongs to body */
    json_decref(body);
    struct auth_ctx ctx;
    if (take_context(a, req, AUTH_CTX_5G_AKA, &ctx) != IOTSEC_OK)
        return;
    json_t *o = json_object();
    if (ue_answered && ct_equal(res_star, ctx.xres_star, 16))
        answer_success(a, req, &ctx, o, "kseaf");
    else
        answer_failure(a, req, o);
    secure_wipe(&ctx, sizeof(ctx));
}

void aka_ausf_eap_session(struct http_request *req, void *user)
{
    struct aka *a = user;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    const char *payload = str(body, "eapPayload");
    if (payload == NULL) {
        json_decref(body);
        http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", "/eapPayload", "eapPayload is required");
        return;
    }
    struct auth_ctx ctx;
    if (take_context(a, req, AUTH_CTX_EAP_AKA_PRIME, &ctx) != IOTSEC_OK) {
        json_decref(body);
        return;
    }
    bool success;
    char *reply = NULL;
    int rc = aka_eap_check_response(&ctx, payload, &success, &reply);
    json_decref(body);
    if (rc != IOTSEC_OK) {
        secure_wipe(&ctx, sizeof(ctx));
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/eapPayload", "eapPayload is not an EAP-AKA' response to this challenge");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "eapPayload", json_string(reply));
    free(reply);
    if (success)
        answer_success(a, req, &ctx, o, "kSeaf");
    else
        answer_failure(a, req, o);
    secure_wipe(&ctx, sizeof(ctx));
}

/* DELETE .../5g-aka-confirmation and .../eap-session (TS 29.509 §5.2.2.2.x
 * Delete5gAkaAuthenticationResult, DeleteEapAuthenticationResult): the AMF cancels an
 * authentication. An authentication still in progress is dropped; a confirmed one is
 * reported to the UDM as an auth event with authRemovalInd, then 204. */
void aka_ausf_delete_result(struct http_request *req, void *user)
{
    struct aka *a = user;
    const char *route = http_request_route(req);
    enum auth_ctx_kind kind = strstr(route, "/eap-session") ? AUTH_CTX_EAP_AKA_PRIME
                                                            : AUTH_CTX_5G_AKA;
    struct auth_ctx ctx;
    if (auth_ctx_take(a->ctxs, http_request_param(req, "authCtxId"), aka_now_ms(), true, &ctx) !=
            IOTSEC_OK ||
        ctx.kind != kind) {
        /* a context of the other method stays taken: a client that mixes them up is lost */
        secure_wipe(&ctx, sizeof(ctx));
        http_respond_problem(req, 404, NULL, "no authentication with this id (unknown or expired)",
                             "CONTEXT_NOT_FOUND", NULL, 0);
        return;
    }
    if (ctx.confirmed)
        aka_report_removal(a, req, &ctx);
    else
        http_respond(req, 204, NULL, NULL, 0);
    secure_wipe(&ctx, sizeof(ctx));
}

/* POST /nausf-auth/v1/ue-authentications/deregister (Rel-17, DeregistrationInfo): the UE is
 * gone; the AUSF forgets every context and result it holds for the SUPI. 204 also when it
 * held none: the outcome the AMF asked for is reached. */
void aka_ausf_deregister(struct http_request *req, void *user)
{
    struct aka *a = user;
    json_t *body = http_request_json(req);
    if (body == NULL)
        return;
    json_t *supi_json = json_object_get(body, "supi");
    struct supi supi;
    if (supi_json == NULL)
        http_respond_invalid(req, 400, "MANDATORY_IE_MISSING", "/supi", "supi is required");
    else if (!json_is_string(supi_json) ||
             supi_parse(json_string_value(supi_json), &supi) != IOTSEC_OK)
        http_respond_invalid(req, 400, "MANDATORY_IE_INCORRECT", "/supi",
                             "supi must be imsi-<digits> or nai-<user>@<realm>");
    else {
        char canon[SUPI_STRING_MAX];
        supi_format(&supi, canon, sizeof(canon));
        auth_ctx_drop_supi(a->ctxs, canon);
        http_respond(req, 204, NULL, NULL, 0);
    }
    json_decref(body);
}
