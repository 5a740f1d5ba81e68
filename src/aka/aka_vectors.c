/* Building the vector once an SQN is taken, and answering: the UDM returns the HE AV; the
 * AUSF keeps XRES* and KAUSF in a context and returns the SE AV (HXRES*, no keys). */
#include <stdio.h>
#include <string.h>

#include "aka/aka_eap.h"
#include "aka/aka_int.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "crypto/autn.h"
#include "crypto/ct.h"
#include "crypto/eap_aka_prime.h"
#include "crypto/fiveg_aka.h"
#include "crypto/kdf.h"
#include "crypto/milenage.h"
#include "crypto/rand.h"

static void put_hex(json_t *o, const char *key, const uint8_t *b, size_t len)
{
    char hex[129];
    hex_encode(b, len, hex);
    json_object_set_new(o, key, json_string(hex));
    secure_wipe(hex, sizeof(hex));
}

static void sqn_bytes(uint64_t sqn, uint8_t out[6])
{
    for (int i = 5; i >= 0; i--, sqn >>= 8)
        out[i] = (uint8_t)sqn;
}

/* The EAP-AKA' vector (TS 33.501 6.1.3.1): RAND, AUTN, XRES, CK', IK'. */
struct eap_av {
    uint8_t rand[16], autn[16], xres[8], ck_prime[16], ik_prime[16];
};

static int eap_av_generate(const struct av_job *job, const uint8_t sqn[6], struct eap_av *av)
{
    struct milenage_out m;
    int rc = crypto_random(av->rand, 16);
    if (rc == IOTSEC_OK)
        rc = milenage_compute(job->keys.k, job->keys.opc, av->rand, sqn, job->sub.amf,
                              MILENAGE_F1 | MILENAGE_F2_F5 | MILENAGE_F3 | MILENAGE_F4, &m);
    if (rc == IOTSEC_OK) {
        autn_build(sqn, m.ak, job->sub.amf, m.mac_a, av->autn);
        memcpy(av->xres, m.res, 8);
        rc = eap_aka_prime_ck_ik_prime(m.ck, m.ik, job->snn, strlen(job->snn), av->autn,
                                       av->ck_prime, av->ik_prime);
    }
    secure_wipe(&m, sizeof(m));
    return rc;
}

static void answer_udm(struct av_job *job, const uint8_t sqn[6])
{
    json_t *o = json_object(), *v = json_object();
    int rc;
    if (job->sub.auth_method == SUB_AUTH_5G_AKA) {
        struct fiveg_he_av av;
        uint8_t rand[16];
        rc = crypto_random(rand, 16);
        if (rc == IOTSEC_OK)
            rc = fiveg_he_av_generate(job->keys.k, job->keys.opc, rand, sqn, job->sub.amf,
                                      job->snn, strlen(job->snn), &av);
        if (rc == IOTSEC_OK) {
            json_object_set_new(v, "avType", json_string("5G_HE_AKA"));
            put_hex(v, "rand", av.rand, 16);
            put_hex(v, "xresStar", av.xres_star, 16);
            put_hex(v, "autn", av.autn, 16);
            put_hex(v, "kausf", av.kausf, 32);
        }
        secure_wipe(&av, sizeof(av));
    } else {
        struct eap_av av;
        rc = eap_av_generate(job, sqn, &av);
        if (rc == IOTSEC_OK) {
            json_object_set_new(v, "avType", json_string("EAP_AKA_PRIME"));
            put_hex(v, "rand", av.rand, 16);
            put_hex(v, "xres", av.xres, 8);
            put_hex(v, "autn", av.autn, 16);
            put_hex(v, "ckPrime", av.ck_prime, 16);
            put_hex(v, "ikPrime", av.ik_prime, 16);
        }
        secure_wipe(&av, sizeof(av));
    }
    if (rc != IOTSEC_OK) {
        json_decref(o);
        json_decref(v);
        http_respond_problem(job->req, 500, NULL, "vector generation failed", NULL, NULL, 0);
        return;
    }
    json_object_set_new(o, "authType", json_string(sub_auth_method_name(job->sub.auth_method)));
    json_object_set_new(o, "authenticationVector", v);
    json_object_set_new(o, "supi", json_string(job->supi));
    aka_count(job->aka, AKA_UDM_VECTORS);
    http_respond_json(job->req, 200, o);
}

static void answer_ausf_created(struct av_job *job, struct auth_ctx *ctx, json_t *auth_data,
                                const char *link_name, const char *link_suffix)
{
    struct aka *a = job->aka;
    int rc = auth_ctx_put(a->ctxs, ctx);
    char id[AUTH_CTX_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", ctx->id);
    secure_wipe(ctx, sizeof(*ctx));
    if (rc != IOTSEC_OK) {
        json_decref(auth_data);
        http_response_header(job->req, "Retry-After", "1");
        http_respond_problem(job->req, 503, NULL, "too many authentications in progress",
                             "NF_CONGESTION", NULL, 0);
        return;
    }
    char href[320], location[256];
    snprintf(location, sizeof(location), "%s/nausf-auth/v1/ue-authentications/%s",
             a->cfg.api_root, id);
    snprintf(href, sizeof(href), "%s/%s", location, link_suffix);
    json_t *o = json_object(), *links = json_object(), *link = json_object();
    json_object_set_new(link, "href", json_string(href));
    json_object_set_new(links, link_name, link);
    json_object_set_new(o, "authType", json_string(sub_auth_method_name(job->sub.auth_method)));
    json_object_set_new(o, "5gAuthData", auth_data);
    json_object_set_new(o, "_links", links);
    json_object_set_new(o, "servingNetworkName", json_string(job->snn));
    http_response_header(job->req, "Location", location);
    aka_count(a, AKA_AUSF_STARTED);
    http_respond_json_as(job->req, 201, "application/3gppHal+json", o); /* TS 29.509 */
}

static void answer_ausf(struct av_job *job, const uint8_t sqn[6])
{
    struct auth_ctx ctx = {0};
    ctx.subscription_id = job->sub.id;
    snprintf(ctx.supi, sizeof(ctx.supi), "%s", job->supi);
    snprintf(ctx.snn, sizeof(ctx.snn), "%s", job->snn);
    ctx.expires_at_ms = aka_now_ms() + (int64_t)job->aka->cfg.ctx_ttl_s * 1000;
    int rc;
    if (job->sub.auth_method == SUB_AUTH_5G_AKA) {
        struct fiveg_he_av av;
        uint8_t rand[16], hxres[16];
        rc = crypto_random(rand, 16);
        if (rc == IOTSEC_OK)
            rc = fiveg_he_av_generate(job->keys.k, job->keys.opc, rand, sqn, job->sub.amf,
                                      job->snn, strlen(job->snn), &av);
        if (rc == IOTSEC_OK) {
            ctx.kind = AUTH_CTX_5G_AKA;
            memcpy(ctx.rand, av.rand, 16);
            memcpy(ctx.xres_star, av.xres_star, 16);
            memcpy(ctx.kausf, av.kausf, 32);
            kdf_hres_star(av.rand, av.xres_star, hxres);
            json_t *data = json_object();
            put_hex(data, "rand", av.rand, 16);
            put_hex(data, "hxresStar", hxres, 16);
            put_hex(data, "autn", av.autn, 16);
            secure_wipe(&av, sizeof(av));
            answer_ausf_created(job, &ctx, data, "5g-aka", "5g-aka-confirmation");
            return;
        }
    } else {
        struct eap_av av;
        rc = eap_av_generate(job, sqn, &av);
        char *payload = NULL;
        if (rc == IOTSEC_OK)
            rc = aka_eap_challenge(&ctx, job->supi, av.rand, av.autn, av.xres, av.ck_prime,
                                   av.ik_prime, &payload);
        secure_wipe(&av, sizeof(av));
        if (rc == IOTSEC_OK) {
            ctx.kind = AUTH_CTX_EAP_AKA_PRIME;
            answer_ausf_created(job, &ctx, json_string(payload), "eap-session", "eap-session");
            free(payload);
            return;
        }
        free(payload);
    }
    secure_wipe(&ctx, sizeof(ctx));
    http_respond_problem(job->req, 500, NULL, "vector generation failed", NULL, NULL, 0);
}

void aka_av_ready(struct av_job *job, uint64_t sqn)
{
    uint8_t sqn6[6];
    sqn_bytes(sqn, sqn6);
    if (job->purpose == AV_FOR_UDM)
        answer_udm(job, sqn6);
    else
        answer_ausf(job, sqn6);
    aka_job_free(job);
}
