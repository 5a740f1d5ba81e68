/* The pure logic of PINs: policies, what an approval may grant, the decision's text. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/ct.h"
#include "crypto/rand.h"
#include "pin/pin.h"

void pin_random_id(const char *prefix, size_t nbytes, char *out, size_t cap)
{
    uint8_t r[16];
    char hex[33];
    if (nbytes > sizeof(r))
        nbytes = sizeof(r);
    crypto_random(r, nbytes);
    hex_encode(r, nbytes, hex);
    snprintf(out, cap, "%s%s", prefix, hex);
}

/* A JSON array of 1..max distinct ids into dst. */
static int parse_dnns(const json_t *a, char (*dst)[PIN_ID_MAX + 1], size_t max, size_t *n)
{
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return IOTSEC_ERR_INVALID;
    *n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!pin_id_ok(s) || strlen(s) > PIN_ID_MAX)
            return IOTSEC_ERR_INVALID;
        for (size_t j = 0; j < *n; j++)
            if (strcmp(dst[j], s) == 0)
                return IOTSEC_ERR_INVALID;
        snprintf(dst[(*n)++], PIN_ID_MAX + 1, "%s", s);
    }
    return IOTSEC_OK;
}

static bool int_in(const json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

int pin_policy_parse(const json_t *o, struct pin_policy *p, const char **bad)
{
    memset(p, 0, sizeof(*p));
    *bad = "policy";
    if (!json_is_object(o))
        return IOTSEC_ERR_INVALID;
    *bad = "policy/dnns";
    if (parse_dnns(json_object_get(o, "dnns"), p->dnns, PIN_DNN_MAX, &p->n_dnns) != IOTSEC_OK)
        return IOTSEC_ERR_INVALID;
    *bad = "policy/qos_classes";
    const json_t *q = json_object_get(o, "qos_classes");
    if (!json_is_array(q) || json_array_size(q) == 0 || json_array_size(q) > PIN_QOS_MAX)
        return IOTSEC_ERR_INVALID;
    for (size_t i = 0; i < json_array_size(q); i++) {
        if (!int_in(json_array_get(q, i), 1, 255))
            return IOTSEC_ERR_INVALID;
        int v = (int)json_integer_value(json_array_get(q, i));
        if (pin_policy_has_qos(p, v))
            return IOTSEC_ERR_INVALID;
        p->qos[p->n_qos++] = v;
    }
    *bad = "policy/max_lifetime_s";
    const json_t *l = json_object_get(o, "max_lifetime_s");
    p->max_lifetime_s = 3600;
    if (l != NULL) {
        if (!int_in(l, PIN_LIFETIME_MIN, PIN_LIFETIME_MAX))
            return IOTSEC_ERR_INVALID;
        p->max_lifetime_s = json_integer_value(l);
    }
    *bad = NULL;
    return IOTSEC_OK;
}

json_t *pin_policy_json(const struct pin_policy *p)
{
    json_t *d = json_array(), *q = json_array();
    for (size_t i = 0; i < p->n_dnns; i++)
        json_array_append_new(d, json_string(p->dnns[i]));
    for (size_t i = 0; i < p->n_qos; i++)
        json_array_append_new(q, json_integer(p->qos[i]));
    return json_pack("{s:o, s:o, s:I}", "dnns", d, "qos_classes", q, "max_lifetime_s",
                     (json_int_t)p->max_lifetime_s);
}

bool pin_policy_has_dnn(const struct pin_policy *p, const char *dnn)
{
    for (size_t i = 0; i < p->n_dnns; i++)
        if (strcmp(p->dnns[i], dnn) == 0)
            return true;
    return false;
}

bool pin_policy_has_qos(const struct pin_policy *p, int qos)
{
    for (size_t i = 0; i < p->n_qos; i++)
        if (p->qos[i] == qos)
            return true;
    return false;
}

int pin_grant_parse(const json_t *o, const struct pin_policy *p, struct pin_grant *g,
                    const char **bad)
{
    memset(g, 0, sizeof(*g));
    *bad = NULL;
    const json_t *d = json_object_get(o, "dnns");
    if (d == NULL) {
        memcpy(g->dnns, p->dnns, sizeof(g->dnns));
        g->n_dnns = p->n_dnns;
    } else {
        *bad = "dnns";
        if (parse_dnns(d, g->dnns, PIN_DNN_MAX, &g->n_dnns) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        for (size_t i = 0; i < g->n_dnns; i++)
            if (!pin_policy_has_dnn(p, g->dnns[i]))
                return IOTSEC_ERR_STATE;
    }
    const json_t *q = json_object_get(o, "qos_class");
    g->qos_class = p->qos[0];
    if (q != NULL) {
        *bad = "qos_class";
        if (!int_in(q, 1, 255))
            return IOTSEC_ERR_INVALID;
        g->qos_class = (int)json_integer_value(q);
        if (!pin_policy_has_qos(p, g->qos_class))
            return IOTSEC_ERR_STATE;
    }
    const json_t *l = json_object_get(o, "lifetime_s");
    g->lifetime_s = p->max_lifetime_s;
    if (l != NULL) {
        *bad = "lifetime_s";
        if (!int_in(l, PIN_LIFETIME_MIN, PIN_LIFETIME_MAX))
            return IOTSEC_ERR_INVALID;
        g->lifetime_s = json_integer_value(l);
        if (g->lifetime_s > p->max_lifetime_s)
            return IOTSEC_ERR_STATE;
    }
    *bad = NULL;
    return IOTSEC_OK;
}

uint32_t pin_af_service_from_name(const char *name)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, "elements") == 0)
        return PIN_AF_ELEMENTS;
    if (strcmp(name, "qos") == 0)
        return PIN_AF_QOS;
    if (strcmp(name, "routing") == 0)
        return PIN_AF_ROUTING;
    return 0;
}

int pin_decision_text(const char *pin_id, const char *pine_id, const char *gw_id,
                      const struct pin_grant *g, int64_t expires_at,
                      const uint8_t nonce[PIN_NONCE_LEN], char **out, size_t *len)
{
    char nhex[2 * PIN_NONCE_LEN + 1];
    hex_encode(nonce, PIN_NONCE_LEN, nhex);
    json_t *d = json_array();
    for (size_t i = 0; i < g->n_dnns; i++)
        json_array_append_new(d, json_string(g->dnns[i]));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:i, s:I, s:s}", "pin_id", pin_id, "pine_id",
                          pine_id, "gw_id", gw_id, "dnns", d, "qos_class", g->qos_class,
                          "expires_at", (json_int_t)expires_at, "nonce", nhex);
    if (o == NULL)
        return IOTSEC_ERR_NOMEM;
    *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (*out == NULL)
        return IOTSEC_ERR_NOMEM;
    *len = strlen(*out);
    return IOTSEC_OK;
}

enum pin_enrol_verdict pin_enrol_judge(const struct pin_enrol *e, const char *pin_id,
                                       const uint8_t pub[PIN_PUB_LEN],
                                       const uint8_t proof[PIN_MAC_LEN], int64_t now)
{
    if (now >= e->expires_at)
        return PIN_ENROL_EXPIRED;
    if (e->attempts >= PIN_CODE_ATTEMPTS)
        return PIN_ENROL_LOCKED;
    uint8_t want[PIN_MAC_LEN];
    int rc = pub != NULL ? pin_code_proof(e->code_hash, pin_id, e->name, pub, want)
                         : pin_sym_join_proof(e->code_hash, pin_id, e->name, want);
    if (rc != IOTSEC_OK)
        return PIN_ENROL_WRONG;
    bool ok = ct_equal(want, proof, PIN_MAC_LEN);
    secure_wipe(want, sizeof(want));
    return ok ? PIN_ENROL_OK : PIN_ENROL_WRONG;
}
