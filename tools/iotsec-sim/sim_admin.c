/* The operator's side of a simulated fleet: the admin API (docs/provisioning.md) to register
 * the test manufacturer, its enrollment and a gateway, and to read the provisioning key the
 * devices pin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/err.h"
#include "onboard.h"
#include "sim.h"

long sim_admin(const struct sim_instance *in, const char *method, const char *path,
               const char *body, size_t len, char **out)
{
    char url[512];
    struct sim_body b = {0};
    long status = -1;
    *out = NULL;
    snprintf(url, sizeof(url), "%s%s", in->admin, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c || !h)
        goto done;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_CAINFO, in->ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, in->admin_crt);
    curl_easy_setopt(c, CURLOPT_SSLKEY, in->admin_key);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_body_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)sim_timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        sim_heard();
    }
done:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    *out = b.data;
    return status;
}

/* POSTs a JSON object (stolen); the answer parsed into *ans. Returns the status. */
static long post_json(const struct sim_instance *in, const char *path, json_t *body, json_t **ans)
{
    char *s = json_dumps(body, JSON_COMPACT), *out = NULL;
    json_decref(body);
    long st = s ? sim_admin(in, "POST", path, s, strlen(s), &out) : -1;
    free(s);
    *ans = out ? json_loads(out, 0, NULL) : NULL;
    if (st < 200 || st >= 300)
        fprintf(stderr, "iotsec-sim: POST %s: %ld %s\n", path, st, out ? out : "(no answer)");
    free(out);
    return st;
}

int sim_admin_provisioning_key(const struct sim_instance *in, uint8_t pub[PROV_ED25519_PUB_LEN])
{
    char *out = NULL;
    long st = sim_admin(in, "GET", "/admin/v1/provisioning-key", NULL, 0, &out);
    json_t *o = out ? json_loads(out, 0, NULL) : NULL;
    const char *k = json_string_value(json_object_get(o, "public_key"));
    size_t n = 0;
    int rc = st == 200 && k && b64url_decode(k, strlen(k), pub, PROV_ED25519_PUB_LEN, &n) == 0 &&
                     n == PROV_ED25519_PUB_LEN
                 ? 0
                 : -1;
    if (st < 0) /* the first request: say what is most likely wrong */
        fprintf(stderr,
                "iotsec-sim: no answer from iotsecd's admin face at %s within %u s: is "
                "the daemon of this instance running?\n",
                in->admin, sim_timeout_s);
    else if (rc != 0)
        fprintf(stderr, "iotsec-sim: GET /admin/v1/provisioning-key: %ld %s\n", st,
                out ? out : "(no answer)");
    json_decref(o);
    free(out);
    return rc;
}

/* A SUPI range of n (with room) unlikely to collide with another run on the same instance. */
static void supi_range(const struct sim_instance *in, uint32_t n, json_t *enr)
{
    size_t msin_len = 15 - strlen(in->mcc) - strlen(in->mnc);
    uint32_t r;
    RAND_bytes((unsigned char *)&r, sizeof(r));
    uint64_t span = (uint64_t)n + 16, top = 1;
    for (size_t i = 0; i < msin_len - 1; i++)
        top *= 10;
    uint64_t first = top / 2 + ((uint64_t)r * span) % (top / 2 - span);
    char a[32], b[32];
    snprintf(a, sizeof(a), "imsi-%s%s%0*llu", in->mcc, in->mnc, (int)msin_len,
             (unsigned long long)first);
    snprintf(b, sizeof(b), "imsi-%s%s%0*llu", in->mcc, in->mnc, (int)msin_len,
             (unsigned long long)(first + span - 1));
    json_object_set_new(enr, "supi_range", json_pack("{s:s, s:s}", "first", a, "last", b));
}

int sim_setup_fleet(const struct sim_instance *in, struct sim_setup *s,
                    const struct sim_fleet_opts *o, uint32_t n)
{
    memset(s, 0, sizeof(*s));
    bool derived = o->derived;
    uint32_t tag;
    RAND_bytes((unsigned char *)&tag, sizeof(tag));
    if (o->name && prov_id_valid(o->name, strlen(o->name)) && strlen(o->name) < 40)
        snprintf(s->name, sizeof(s->name), "%s", o->name);
    else
        snprintf(s->name, sizeof(s->name), "sim%08x", tag);
    if (sim_admin_provisioning_key(in, s->pinned) != 0)
        return -1;
    json_t *ans = NULL;
    if (sim_ca_new(s->name, &s->ca) != IOTSEC_OK) {
        fprintf(stderr, "iotsec-sim: cannot make the test CA\n");
        return -1;
    }
    if (!derived) {
        /* the manufacturer's voucher root: ownership chains of its devices start there */
        uint8_t root_pub[PROV_ED25519_PUB_LEN];
        char root_b64[64];
        if (prov_ed25519_keygen(s->root_seed, root_pub) != IOTSEC_OK)
            return -1;
        b64url_encode(root_pub, sizeof(root_pub), root_b64);
        char *pem = sim_ca_pem(s->ca);
        long st = post_json(in, "/admin/v1/manufacturers",
                            json_pack("{s:s, s:s, s:s}", "name", s->name, "ca_pem", pem ? pem : "",
                                      "root_public_key", root_b64),
                            &ans);
        free(pem);
        json_decref(ans);
        if (st != 201)
            return -1;
    }
    json_t *enr =
        json_pack("{s:s, s:s, s:b, s:s, s:s, s:{s:s}}", "kind", "group", "attestation",
                  derived ? "derived_key" : "x509", "enabled", 1, "owner", "sim", "reprovision",
                  o->reprovision ? o->reprovision : "keep", "service", "fleet", s->name);
    if (!derived)
        json_object_set_new(enr, "manufacturer", json_string(s->name));
    json_object_set_new(enr, "requires_activation", json_boolean(o->requires_activation));
    supi_range(in, n, enr);
    long st = post_json(in, "/admin/v1/enrollments", enr, &ans);
    json_t *id = json_object_get(ans, "id");
    if (json_is_string(id))
        snprintf(s->enrollment_id, sizeof(s->enrollment_id), "%s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(s->enrollment_id, sizeof(s->enrollment_id), "%lld",
                 (long long)json_integer_value(id));
    const char *gk = json_string_value(json_object_get(ans, "group_key"));
    if (derived && gk &&
        b64url_decode(gk, strlen(gk), s->group_key, sizeof(s->group_key), &s->group_key_len) !=
            IOTSEC_OK)
        s->group_key_len = 0;
    json_decref(ans);
    if (st != 201 || !s->enrollment_id[0] || (derived && s->group_key_len < PROV_GROUP_KEY_MIN)) {
        fprintf(stderr, "iotsec-sim: the enrollment answer lacks an id%s\n",
                derived ? " or a group_key" : "");
        return -1;
    }
    if (!o->gateway)
        return 0;
    char gw_name[80];
    snprintf(gw_name, sizeof(gw_name), "%s-gw", s->name);
    if (sim_make_cert(s->ca, gw_name, &s->gateway) != IOTSEC_OK)
        return -1;
    s->have_gateway = true;
    json_t *ids = json_array();
    char *end;
    long long num = strtoll(s->enrollment_id, &end, 10);
    json_array_append_new(ids, *end == '\0' ? json_integer(num) : json_string(s->enrollment_id));
    st = post_json(in, "/admin/v1/gateways",
                   json_pack("{s:s, s:s, s:o}", "name", gw_name, "cert_pem", s->gateway.cert_pem,
                             "enrollments", ids),
                   &ans);
    json_decref(ans);
    return st == 201 ? 0 : -1;
}

void sim_setup_free(struct sim_setup *s)
{
    sim_ca_free(s->ca);
    sim_device_free(&s->gateway);
    OPENSSL_cleanse(s->group_key, sizeof(s->group_key));
    OPENSSL_cleanse(s->root_seed, sizeof(s->root_seed));
}
