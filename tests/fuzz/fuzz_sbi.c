/* The AUSF/UDM bodies an NF sends on the SBI (TS 29.509, TS 29.503): AuthenticationInfo /
 * AuthenticationInfoRequest (servingNetworkName, resynchronizationInfo), the 5G AKA
 * confirmation (ConfirmationData: resStar) and the EAP session (EapSession: eapPayload, an
 * EAP-AKA' response). The first input byte picks what the rest is:
 *   0: an AuthenticationInfo body: http_request_json, then the SNN and resynchronisation decoders
 *      in the order the handler calls them (the subscriber lookup needs the database);
 *   1: a ConfirmationData body for a live 5G AKA context: the real handler;
 *   2: an EapSession body for a live EAP-AKA' context: the real handler;
 *   3: an EAP packet, base64-encoded into an EapSession body for the same handler.
 * Invariants: every request is answered exactly once, with one of the documented statuses;
 * success is answered only to the expected RES* (5G AKA). */
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "aka/aka_eap.h"
#include "aka/aka_int.h"
#include "base/err.h"
#include "base/hex.h"
#include "fuzz.h"
#include "fuzz_req.h"

#define SNN "5G:mnc001.mcc001.3gppnetwork.org"

static struct aka aka;
static const uint8_t xres_star[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                      5,    6,    7,    8,    9, 10, 11, 12};

static void init(void)
{
    if (aka.ctxs != NULL)
        return;
    aka.ctxs = auth_ctx_table_new(16);
    aka.sqn = sqn_cache_new();
    FUZZ_CHECK(aka.ctxs != NULL && aka.sqn != NULL);
}

static bool status_in(int status, const int *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (status == ok[i])
            return true;
    return false;
}

static void auth_info(const uint8_t *data, size_t size)
{
    struct http_request *req = fuzz_req_new(data, size, "application/json");
    json_t *body = http_request_json(req);
    bool ok = false;
    if (body != NULL) {
        struct av_job job;
        memset(&job, 0, sizeof(job));
        job.aka = &aka;
        job.req = req;
        memset(job.keys.k, 0x46, sizeof(job.keys.k));
        memset(job.keys.opc, 0xcd, sizeof(job.keys.opc));
        json_t *resync = json_object_get(body, "resynchronizationInfo");
        ok = aka_take_snn(&job, json_string_value(json_object_get(body, "servingNetworkName")),
                          "servingNetworkName") == IOTSEC_OK;
        if (ok && resync != NULL)
            ok = json_is_object(resync) &&
                 aka_take_resync(&job, json_string_value(json_object_get(resync, "rand")),
                                 json_string_value(json_object_get(resync, "auts")),
                                 "resynchronizationInfo") == IOTSEC_OK;
        if (ok)
            FUZZ_CHECK(strncmp(job.snn, "5G:", 3) == 0); /* a name snn_parse accepted */
        json_decref(body);
    }
    int status = fuzz_req_status(req);
    static const int errors[] = {400, 403, 415};
    /* a non-object resynchronizationInfo is answered by the handler itself */
    FUZZ_CHECK(ok ? status == 0 : status == 0 || status_in(status, errors, 3));
    fuzz_req_free(req);
}

/* Runs handler on body for a context of kind; returns the answer (malloc'd) and its status. */
static char *run(void (*handler)(struct http_request *, void *), struct auth_ctx *ctx,
                 const void *body, size_t len, int *status)
{
    ctx->expires_at_ms = aka_now_ms() + 60000;
    FUZZ_CHECK(auth_ctx_put(aka.ctxs, ctx) == IOTSEC_OK);
    struct http_request *req = fuzz_req_new(body, len, "application/json");
    fuzz_req_param(req, "authCtxId", ctx->id);
    handler(req, &aka);
    *status = fuzz_req_status(req);
    char *answer = fuzz_req_answer(req);
    fuzz_req_free(req);
    struct auth_ctx left;
    auth_ctx_take(aka.ctxs, ctx->id, aka_now_ms(), true, &left); /* refused early, or kept */
    static const int statuses[] = {200, 400, 415};
    FUZZ_CHECK(status_in(*status, statuses, 3));
    return answer;
}

static void confirm(const uint8_t *data, size_t size)
{
    struct auth_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.kind = AUTH_CTX_5G_AKA;
    snprintf(ctx.supi, sizeof(ctx.supi), "imsi-001010000000001");
    snprintf(ctx.snn, sizeof(ctx.snn), SNN);
    memcpy(ctx.xres_star, xres_star, 16);
    int status;
    char *answer = run(aka_ausf_confirm_5g_aka, &ctx, data, size, &status);
    if (status == 200 && strstr(answer, "AUTHENTICATION_SUCCESS") != NULL) {
        json_t *o = json_loadb((const char *)data, size, 0, NULL);
        char want[33];
        hex_encode(xres_star, 16, want);
        FUZZ_CHECK(strcasecmp(json_string_value(json_object_get(o, "resStar")), want) == 0);
        json_decref(o);
    }
    free(answer);
}

static void eap(const void *body, size_t len)
{
    struct auth_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    static const uint8_t rand[16] = {1}, autn[16] = {2}, xres[8] = {3}, ck[16] = {4}, ik[16] = {5};
    char *challenge = NULL;
    FUZZ_CHECK(aka_eap_challenge(&ctx, "imsi-001010000000001", rand, autn, xres, ck, ik,
                                 &challenge) == IOTSEC_OK);
    free(challenge);
    snprintf(ctx.snn, sizeof(ctx.snn), SNN);
    int status;
    char *answer = run(aka_ausf_eap_session, &ctx, body, len, &status);
    if (status == 200)
        FUZZ_CHECK(strstr(answer, "eapPayload") != NULL);
    free(answer);
}

static void eap_packet(const uint8_t *data, size_t size)
{
    char *b64 = aka_base64_encode(data, size);
    FUZZ_CHECK(b64 != NULL);
    json_t *o = json_pack("{s:s}", "eapPayload", b64);
    char *body = json_dumps(o, JSON_COMPACT);
    FUZZ_CHECK(body != NULL);
    eap(body, strlen(body));
    free(body);
    json_decref(o);
    free(b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init();
    switch (data[0] % 4) {
    case 0:
        auth_info(data + 1, size - 1);
        break;
    case 1:
        confirm(data + 1, size - 1);
        break;
    case 2:
        eap(data + 1, size - 1);
        break;
    default:
        eap_packet(data + 1, size - 1);
    }
    return 0;
}
