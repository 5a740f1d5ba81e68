/* The policy as data: which actions a finding gets, and its JSON form. Pure. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "policy/policy.h"

static const char *const action_names[POLICY_ACTION_COUNT] = {"quarantine", "rotate", "notify",
                                                              "throttle"};

const char *policy_action_name(enum policy_action a)
{
    return (unsigned)a < POLICY_ACTION_COUNT ? action_names[a] : "?";
}

int policy_action_parse(const char *name, enum policy_action *out)
{
    for (int a = 0; name && a < POLICY_ACTION_COUNT; a++) {
        if (strcmp(name, action_names[a]) == 0) {
            *out = (enum policy_action)a;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_INVALID;
}

void policy_default(struct policy *p)
{
    memset(p, 0, sizeof(*p));
    unsigned isolate = POLICY_BIT(POLICY_QUARANTINE) | POLICY_BIT(POLICY_NOTIFY);
    /* Isolation is for what the evidence makes near certain: a healthy meter whose cloud is
     * down, or an app polling its hub, raises one signal at most and is only notified. */
    p->rules[0] = (struct policy_rule){AN_EXC_SUSPICION_OF_DDOS_ATTACK, 1, isolate, 90};
    p->rules[1] = (struct policy_rule){AN_EXC_WRONG_DESTINATION_ADDRESS, 1, isolate, 90};
    p->rules[2] = (struct policy_rule){AN_EXC_TOO_FREQUENT_SERVICE_ACCESS, 1, isolate, 90};
    p->nrules = 3;
    p->default_actions = POLICY_BIT(POLICY_NOTIFY);
    p->throttle_kbps = 64;
}

unsigned policy_decide(const struct policy *p, enum an_exception exc, unsigned level,
                       unsigned confidence)
{
    for (unsigned i = 0; i < p->nrules; i++) {
        const struct policy_rule *r = &p->rules[i];
        if ((r->exception < 0 || r->exception == (int)exc) && level >= r->min_level &&
            confidence >= r->min_confidence)
            return r->actions;
    }
    return p->default_actions;
}

static int exception_parse(const char *s, int *out)
{
    if (s && strcmp(s, "*") == 0) {
        *out = -1;
        return IOTSEC_OK;
    }
    for (int x = 0; s && x < AN_EXC_COUNT; x++) {
        if (strcmp(s, an_exception_name((enum an_exception)x)) == 0) {
            *out = x;
            return IOTSEC_OK;
        }
    }
    return IOTSEC_ERR_INVALID;
}

static int actions_parse(json_t *arr, unsigned *out)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr))
        return IOTSEC_ERR_INVALID;
    *out = 0;
    json_array_foreach(arr, i, v) {
        enum policy_action a;
        if (policy_action_parse(json_string_value(v), &a) != IOTSEC_OK)
            return IOTSEC_ERR_INVALID;
        *out |= POLICY_BIT(a);
    }
    return IOTSEC_OK;
}

/* Syntax only (pure): http(s), a host, no credentials. Whether the destination is allowed
 * (https, its addresses) is the outbound policy's, at PUT and at each delivery. */
static const char *url_syntax(const char *u)
{
    struct outbound_rules any_scheme = {.http_loopback = true};
    struct outbound_target t;
    const char *why;
    if (u == NULL || strlen(u) >= POLICY_URL_MAX)
        return "an http(s) URL of at most 255 characters";
    return outbound_url_parse(u, &any_scheme, &t, &why) == IOTSEC_OK ? NULL : why;
}

static int fail(char *err, size_t len, const char *where)
{
    snprintf(err, len, "%s", where);
    return IOTSEC_ERR_INVALID;
}

static int rules_parse(json_t *rules, struct policy *p, char *err, size_t err_len)
{
    size_t i;
    json_t *r;
    if (!json_is_array(rules) || json_array_size(rules) > POLICY_MAX_RULES)
        return fail(err, err_len, "/rules");
    json_array_foreach(rules, i, r) {
        struct policy_rule *pr = &p->rules[i];
        json_t *lvl = json_object_get(r, "min_level"), *conf = json_object_get(r, "min_confidence");
        const char *k;
        json_t *v;
        if (!json_is_object(r))
            return fail(err, err_len, "/rules/i");
        json_object_foreach(r, k, v) {
            if (strcmp(k, "exception") && strcmp(k, "min_level") && strcmp(k, "actions") &&
                strcmp(k, "min_confidence"))
                return fail(err, err_len, "/rules/i: unknown key");
        }
        if (exception_parse(json_string_value(json_object_get(r, "exception")),
                            &pr->exception) != IOTSEC_OK)
            return fail(err, err_len, "/rules/i/exception");
        if (lvl && (!json_is_integer(lvl) || json_integer_value(lvl) < 0 ||
                    json_integer_value(lvl) > 255))
            return fail(err, err_len, "/rules/i/min_level");
        pr->min_level = lvl ? (unsigned)json_integer_value(lvl) : 1;
        if (conf && (!json_is_integer(conf) || json_integer_value(conf) < 0 ||
                     json_integer_value(conf) > 100))
            return fail(err, err_len, "/rules/i/min_confidence");
        pr->min_confidence = conf ? (unsigned)json_integer_value(conf) : 0;
        if (actions_parse(json_object_get(r, "actions"), &pr->actions) != IOTSEC_OK)
            return fail(err, err_len, "/rules/i/actions");
        p->nrules = (unsigned)i + 1;
    }
    return IOTSEC_OK;
}

int policy_from_json(const char *text, size_t len, struct policy *out, char *err, size_t err_len)
{
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    struct policy p;
    policy_default(&p);
    p.nrules = 0;
    int rc = IOTSEC_OK;
    if (!json_is_object(o)) {
        rc = fail(err, err_len, "the body must be a JSON object");
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "rules") == 0) {
            rc = rules_parse(v, &p, err, err_len);
        } else if (strcmp(k, "default") == 0) {
            if (actions_parse(v, &p.default_actions) != IOTSEC_OK)
                rc = fail(err, err_len, "/default");
        } else if (strcmp(k, "webhooks") == 0) {
            size_t i;
            json_t *u;
            if (!json_is_array(v) || json_array_size(v) > POLICY_MAX_WEBHOOKS) {
                rc = fail(err, err_len, "/webhooks");
                break;
            }
            json_array_foreach(v, i, u) {
                const char *why = url_syntax(json_string_value(u));
                if (why) {
                    snprintf(err, err_len, "/webhooks/%zu: %s", i, why);
                    rc = IOTSEC_ERR_INVALID;
                    break;
                }
                snprintf(p.webhooks[i], POLICY_URL_MAX, "%s", json_string_value(u));
                p.nwebhooks = (unsigned)i + 1;
            }
        } else if (strcmp(k, "mode") == 0) {
            const char *m = json_string_value(v);
            if (m && strcmp(m, "observe") == 0)
                p.observe = true;
            else if (m && strcmp(m, "enforce") == 0)
                p.observe = false;
            else
                rc = fail(err, err_len, "/mode: \"enforce\" or \"observe\"");
        } else if (strcmp(k, "throttle_kbps") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > 10000000)
                rc = fail(err, err_len, "/throttle_kbps");
            else
                p.throttle_kbps = (uint32_t)json_integer_value(v);
        } else {
            rc = fail(err, err_len, "unknown key");
        }
        if (rc != IOTSEC_OK)
            break;
    }
done:
    json_decref(o);
    if (rc == IOTSEC_OK)
        *out = p;
    return rc;
}

static json_t *actions_json(unsigned mask)
{
    json_t *a = json_array();
    for (int i = 0; i < POLICY_ACTION_COUNT; i++)
        if (mask & POLICY_BIT(i))
            json_array_append_new(a, json_string(action_names[i]));
    return a;
}

json_t *policy_to_json(const struct policy *p)
{
    json_t *rules = json_array(), *hooks = json_array();
    for (unsigned i = 0; i < p->nrules; i++) {
        const struct policy_rule *r = &p->rules[i];
        json_array_append_new(
            rules,
            json_pack("{s:s, s:i, s:i, s:o}", "exception",
                      r->exception < 0 ? "*" : an_exception_name((enum an_exception)r->exception),
                      "min_level", (int)r->min_level, "min_confidence", (int)r->min_confidence,
                      "actions", actions_json(r->actions)));
    }
    for (unsigned i = 0; i < p->nwebhooks; i++)
        json_array_append_new(hooks, json_string(p->webhooks[i]));
    return json_pack("{s:o, s:o, s:o, s:i, s:s}", "rules", rules, "default",
                     actions_json(p->default_actions), "webhooks", hooks, "throttle_kbps",
                     (int)p->throttle_kbps, "mode", p->observe ? "observe" : "enforce");
}
