/* After onboarding, each device attaches: the AMF's side of 5G AKA over the SBI (POST
 * ue-authentications, then the 5g-aka confirmation PUT, HTTP/2 over TLS with the NF
 * certificate) and the UE's side with sdk/usim from the bundle's K and OPc. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/rand.h"
#include "onboard.h"
#include "sim.h"
#include "usim.h"

struct aka_run {
    const struct sim_instance *in;
    struct sim_device *d;
    uint32_t n;
    atomic_uint next;
};

static json_t *sbi_call(CURL *c, const char *method, const char *url, const char *body,
                        long *status)
{
    struct sim_body b = {0};
    *status = -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        sim_heard();
    }
    json_t *o = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    return o;
}

static bool hex_member(json_t *o, const char *k1, const char *k2, uint8_t *out, size_t len)
{
    json_t *v = json_object_get(o, k1);
    if (k2)
        v = json_object_get(v, k2);
    const char *s = json_string_value(v);
    return s && hex_decode(s, out, len) == IOTSEC_OK;
}

/* One full 5G AKA for supi; true when AUTHENTICATION_SUCCESS names supi. */
static bool authenticate(CURL *c, const struct sim_instance *in, const char *supi, struct usim *u)
{
    char url[256], body[512];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", in->sbi);
    char resync[160] = "";
    for (int round = 0; round < 2; round++) {
        snprintf(body, sizeof(body), "{\"supiOrSuci\":\"%s\",\"servingNetworkName\":\"%s\"%s}",
                 supi, in->snn, resync);
        long st;
        json_t *ctx = sbi_call(c, "POST", url, body, &st);
        uint8_t rnd[16], autn[16];
        const char *href = json_string_value(
            json_object_get(json_object_get(json_object_get(ctx, "_links"), "5g-aka"), "href"));
        if (st != 201 || !href || !hex_member(ctx, "5gAuthData", "rand", rnd, 16) ||
            !hex_member(ctx, "5gAuthData", "autn", autn, 16)) {
            json_decref(ctx);
            return false;
        }
        struct usim_response r;
        enum usim_result ur = usim_authenticate(u, rnd, autn, in->snn, strlen(in->snn), &r);
        if (ur == USIM_SYNC_FAILURE && round == 0) {
            char rh[33], ah[29];
            hex_encode(rnd, 16, rh);
            hex_encode(r.auts, 14, ah);
            snprintf(resync, sizeof(resync),
                     ",\"resynchronizationInfo\":{\"rand\":\"%s\",\"auts\":\"%s\"}", rh, ah);
            OPENSSL_cleanse(&r, sizeof(r));
            json_decref(ctx);
            continue;
        }
        bool ok = false;
        if (ur == USIM_OK) {
            char res_hex[33], put[64], href_copy[256];
            hex_encode(r.res_star, 16, res_hex);
            snprintf(put, sizeof(put), "{\"resStar\":\"%s\"}", res_hex);
            snprintf(href_copy, sizeof(href_copy), "%s", href);
            json_t *conf = sbi_call(c, "PUT", href_copy, put, &st);
            const char *result = json_string_value(json_object_get(conf, "authResult"));
            const char *who = json_string_value(json_object_get(conf, "supi"));
            ok = st == 200 && result && strcmp(result, "AUTHENTICATION_SUCCESS") == 0 && who &&
                 strcmp(who, supi) == 0;
            json_decref(conf);
        }
        OPENSSL_cleanse(&r, sizeof(r));
        json_decref(ctx);
        return ok;
    }
    return false;
}

static void *worker(void *arg)
{
    struct aka_run *a = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (c && h) {
        curl_easy_setopt(c, CURLOPT_CAINFO, a->in->ca);
        curl_easy_setopt(c, CURLOPT_SSLCERT, a->in->nf_crt);
        curl_easy_setopt(c, CURLOPT_SSLKEY, a->in->nf_key);
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_body_collect);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(sim_timeout_s < 20 ? sim_timeout_s : 20));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    }
    uint8_t *plain = malloc(PROV_PLAINTEXT_MAX);
    for (;;) {
        uint32_t i = atomic_fetch_add(&a->next, 1);
        if (i >= a->n)
            break;
        struct sim_device *d = &a->d[i];
        if (d->onboard_rc != IOTSEC_OK || !c || !h || !plain)
            continue;
        struct prov_bundle b;
        size_t len;
        if (onboard_load(d->store, CRED_SLOT_CURRENT, plain, PROV_PLAINTEXT_MAX, &len, &b) !=
                IOTSEC_OK ||
            b.k_len != 16)
            continue;
        struct usim u;
        usim_init(&u, b.k, b.opc);
        d->authenticated = authenticate(c, a->in, b.supi, &u);
        usim_wipe(&u);
        prov_bundle_wipe(&b);
        OPENSSL_cleanse(plain, len);
    }
    free(plain);
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    crypto_random_thread_cleanup();
    return NULL;
}

int sim_authenticate_all(const struct sim_instance *in, struct sim_device *d, uint32_t n,
                         unsigned threads, struct sim_stats *st)
{
    struct aka_run a = {.in = in, .d = d, .n = n};
    atomic_init(&a.next, 0);
    if (threads == 0)
        threads = 1;
    if (threads > n)
        threads = n ? n : 1;
    pthread_t *tid = calloc(threads, sizeof(*tid));
    if (!tid)
        return -1;
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &a) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    st->authenticated = 0;
    for (uint32_t i = 0; i < n; i++)
        st->authenticated += d[i].authenticated;
    return started ? 0 : -1;
}
