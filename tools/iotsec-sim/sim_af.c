/* A simulated application function on the northbound face: registered by the operator with an
 * in-memory client certificate, an OAuth2 client-credentials token, and HTTPS calls with both
 * (mTLS + Bearer). Shared by the pin and group simulations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/err.h"
#include "sim.h"

long sim_af_call(const struct sim_instance *in, const struct sim_af *a, const char *method,
                 const char *path, const char *ctype, const char *body, char **out)
{
    char url[512], auth[2048], ct[96];
    struct sim_body b = {0};
    long status = -1;
    snprintf(url, sizeof(url), "%s%s", in->north, path);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    struct curl_slist *h = NULL;
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    if (a->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
        h = curl_slist_append(h, auth);
    }
    struct curl_blob cert = {a->id.cert_pem, a->id.cert_pem_len, CURL_BLOB_COPY};
    struct curl_blob key = {a->id.key_pem, a->id.key_pem_len, CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_CAINFO, in->ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_body_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (out)
        *out = b.data;
    else
        free(b.data);
    return status;
}

int sim_af_register(const struct sim_instance *in, struct sim_ca *ca, const char *name,
                    const char *service, struct sim_af *a)
{
    memset(a, 0, sizeof(*a));
    if (sim_make_cert(ca, name, &a->id) != IOTSEC_OK)
        return -1;
    json_t *body = json_pack("{s:s, s:s, s:[s]}", "name", name, "cert_pem", a->id.cert_pem,
                             "services", service);
    char *text = json_dumps(body, JSON_COMPACT), *out = NULL;
    json_decref(body);
    long st = sim_admin(in, "POST", "/admin/v1/afs", text, strlen(text), &out);
    free(text);
    json_t *o = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    const char *id = json_string_value(json_object_get(o, "af_id"));
    if (st == 201 && id)
        snprintf(a->af_id, sizeof(a->af_id), "%s", id);
    json_decref(o);
    return a->af_id[0] ? 0 : -1;
}

int sim_af_token(const struct sim_instance *in, struct sim_af *a, const char *scope)
{
    char form[160], *out = NULL;
    free(a->token);
    a->token = NULL;
    snprintf(form, sizeof(form), "grant_type=client_credentials&scope=%s", scope);
    long st = sim_af_call(in, a, "POST", "/oauth2/token", "application/x-www-form-urlencoded", form,
                          &out);
    json_t *o = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    const char *t = json_string_value(json_object_get(o, "access_token"));
    a->token = st == 200 && t ? strdup(t) : NULL;
    json_decref(o);
    return a->token ? 0 : -1;
}

void sim_af_free(struct sim_af *a)
{
    free(a->token);
    a->token = NULL;
    sim_device_free(&a->id);
}
