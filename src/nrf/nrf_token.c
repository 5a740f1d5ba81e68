/* The claims of an NRF-issued access token (TS 29.510 §6.3.5.2.4 AccessTokenClaims,
 * TS 33.501 §13.4.1.1.2): iss the NRF's instance, sub the consumer's instance, aud our NF
 * type or our instances, scope the services, exp in the future. iat and nbf are not in
 * AccessTokenClaims but RFC 7519 allows them; when present they must not be in the future. */
#include <string.h>
#include <strings.h>

#include "nrf/nrf_int.h"

static bool get_uuid(const json_t *o, const char *name, char out[NRF_UUID_LEN + 1])
{
    const char *s = json_string_value(json_object_get(o, name));
    if (s == NULL || !nrf_uuid_valid(s))
        return false;
    memcpy(out, s, NRF_UUID_LEN + 1);
    return true;
}

/* A NumericDate: a positive integer (no reals, no strings). absent_ok: may be missing. */
static bool get_time(const json_t *o, const char *name, bool absent_ok, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    *out = 0;
    if (v == NULL)
        return absent_ok;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return false;
    *out = json_integer_value(v);
    return true;
}

static bool scope_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NRF_SCOPE_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':' || c == '-';
        if (!word && !(c == ' ' && s[i + 1] != ' '))
            return false;
    }
    return true;
}

/* aud: an NFType, or an array of NfInstanceIds (AccessTokenClaims.aud). */
static bool audience(const json_t *aud, const struct nrf_ids *ids, unsigned *bits)
{
    *bits = 0;
    if (json_is_string(aud)) {
        const char *t = json_string_value(aud);
        if (strcmp(t, "AUSF") == 0)
            *bits = NRF_AUD_AUSF_TYPE;
        else if (strcmp(t, "UDM") == 0)
            *bits = NRF_AUD_UDM_TYPE;
        return true;
    }
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return false;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        const char *id = json_string_value(json_array_get(aud, i));
        if (id == NULL || !nrf_uuid_valid(id))
            return false;
        if (strcasecmp(id, ids->ausf) == 0)
            *bits |= NRF_AUD_AUSF_ID;
        if (strcasecmp(id, ids->udm) == 0)
            *bits |= NRF_AUD_UDM_ID;
    }
    return true;
}

/* producerPlmnId, when present, must be our PLMN. */
static enum nrf_token_reason check_plmn(const json_t *claims, const struct nrf_token_expect *ex)
{
    const json_t *p = json_object_get(claims, "producerPlmnId");
    if (p == NULL || ex->mcc == NULL)
        return NRF_TOKEN_OK;
    const char *mcc = json_string_value(json_object_get(p, "mcc"));
    const char *mnc = json_string_value(json_object_get(p, "mnc"));
    if (mcc == NULL || mnc == NULL)
        return NRF_TOKEN_CLAIMS;
    return strcmp(mcc, ex->mcc) == 0 && strcmp(mnc, ex->mnc) == 0 ? NRF_TOKEN_OK : NRF_TOKEN_PLMN;
}

enum nrf_token_reason nrf_token_check(const json_t *claims, const struct nrf_token_expect *ex,
                                      struct nrf_token_info *out)
{
    char iss[NRF_UUID_LEN + 1];
    int64_t iat;
    memset(out, 0, sizeof(*out));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    /* Presence and form first, so a malformed token is reported as such; then the values. */
    if (!get_uuid(claims, "iss", iss) || !get_uuid(claims, "sub", out->sub) || scope == NULL ||
        !scope_valid(scope) || !get_time(claims, "exp", false, &out->exp) ||
        !get_time(claims, "nbf", true, &out->nbf) || !get_time(claims, "iat", true, &iat) ||
        !audience(json_object_get(claims, "aud"), ex->ids, &out->aud))
        return NRF_TOKEN_CLAIMS;
    memcpy(out->scope, scope, strlen(scope) + 1);
    if (strcasecmp(iss, ex->iss) != 0)
        return NRF_TOKEN_ISSUER;
    if (out->exp <= ex->now - ex->leeway)
        return NRF_TOKEN_EXPIRED;
    if (out->nbf > ex->now + ex->leeway || iat > ex->now + ex->leeway)
        return NRF_TOKEN_NOT_YET;
    if (out->aud == 0)
        return NRF_TOKEN_AUDIENCE;
    return check_plmn(claims, ex);
}

bool nrf_scope_has(const char *scope, const char *service)
{
    size_t n = strlen(service);
    for (const char *p = scope; n > 0 && *p;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, service, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

unsigned nrf_aud_needed(const char *service)
{
    if (strncmp(service, "nausf-", 6) == 0)
        return NRF_AUD_AUSF_TYPE | NRF_AUD_AUSF_ID;
    if (strncmp(service, "nudm-", 5) == 0)
        return NRF_AUD_UDM_TYPE | NRF_AUD_UDM_ID;
    /* iotsec's own SBI services (UE events, flow records) are offered by both instances. */
    return NRF_AUD_AUSF_TYPE | NRF_AUD_AUSF_ID | NRF_AUD_UDM_TYPE | NRF_AUD_UDM_ID;
}

const char *nrf_token_reason_str(enum nrf_token_reason r)
{
    switch (r) {
    case NRF_TOKEN_OK:
        return "ok";
    case NRF_TOKEN_CLAIMS:
        return "required claim missing or malformed";
    case NRF_TOKEN_ISSUER:
        return "not issued by the configured NRF";
    case NRF_TOKEN_EXPIRED:
        return "token expired";
    case NRF_TOKEN_NOT_YET:
        return "token not yet valid";
    case NRF_TOKEN_AUDIENCE:
        return "token not issued for this NF";
    case NRF_TOKEN_PLMN:
        return "token issued for another PLMN";
    }
    return "unknown reason";
}
