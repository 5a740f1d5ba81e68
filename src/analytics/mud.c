/* RFC 8520 MUD files: strict parsing into permitted remote ends (mud.h).
 *
 * Strict because a MUD file is a permission: a match condition we did not understand and
 * skipped would make its ACE wider than the manufacturer meant. So an unknown member
 * inside the MUD container, an ACL or a match is refused with its JSON path, as are
 * references to ACLs that do not exist and actions other than "accept". Informational
 * members the RFC defines (systeminfo, mfg-name, documentation...) are read or skipped. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analytics/mud.h"
#include "base/err.h"

#define MUD  "ietf-mud:mud"
#define ACLS "ietf-access-control-list:acls"

struct mctx {
    struct an_mud *m;
    char *err;
    size_t err_len;
    char path[512];
};

static int fail(struct mctx *c, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (c->err == NULL || c->err_len == 0)
        return IOTSEC_ERR_INVALID;
    /* The reason always fits: a path too long for err (long keys are the file's) keeps its
     * end, which names the offending member, behind "/...". */
    const char *p = c->path[0] ? c->path : "/";
    size_t plen = strlen(p), wlen = strlen(why);
    if (plen + wlen + 3 > c->err_len && c->err_len > wlen + 8)
        snprintf(c->err, c->err_len, "/...%s: %s", p + plen - (c->err_len - wlen - 7), why);
    else
        snprintf(c->err, c->err_len, "%s: %s", p, why);
    return IOTSEC_ERR_INVALID;
}

/* Appends a segment to the path; returns the previous length to restore. */
static size_t push(struct mctx *c, const char *seg)
{
    size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof(c->path) - n, "/%s", seg);
    return n;
}

static size_t push_i(struct mctx *c, size_t i)
{
    char s[24];
    snprintf(s, sizeof(s), "%zu", i);
    return push(c, s);
}

static void pop(struct mctx *c, size_t n)
{
    c->path[n] = '\0';
}

static bool one_of(const char *k, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(k, *names) == 0)
            return true;
    return false;
}

/* Every member of o must be in names. */
static int only(struct mctx *c, json_t *o, const char *const *names)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!one_of(k, names)) {
            size_t n = push(c, k);
            int rc = fail(c, "unknown member");
            pop(c, n);
            return rc;
        }
    }
    return IOTSEC_OK;
}

bool an_dns_name_normalise(const char *name, size_t len, char out[AN_MUD_NAME_MAX])
{
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (!ok || ++label > 63) {
            return false;
        }
        out[i] = ch;
    }
    if (label == 0)
        return false;
    out[len] = '\0';
    return true;
}

static int get_name(struct mctx *c, json_t *o, const char *key, char out[AN_MUD_NAME_MAX])
{
    json_t *v = json_object_get(o, key);
    size_t n = push(c, key);
    int rc = IOTSEC_OK;
    if (!json_is_string(v) ||
        !an_dns_name_normalise(json_string_value(v), json_string_length(v), out))
        rc = fail(c, "not a DNS name");
    pop(c, n);
    return rc;
}

/* "https://host[:port]/path" -> host. */
static bool url_authority(const char *url, char out[AN_MUD_NAME_MAX])
{
    if (strncmp(url, "https://", 8) != 0)
        return false;
    const char *h = url + 8, *e = h;
    while (*e && *e != '/' && *e != ':' && *e != '?' && *e != '#')
        e++;
    if (*e != '/' && *e != ':')
        return false;
    return an_dns_name_normalise(h, (size_t)(e - h), out);
}

static int get_port(struct mctx *c, json_t *v, const char *key, uint16_t *out)
{
    json_t *p = json_object_get(v, key);
    size_t n = push(c, key);
    int rc = IOTSEC_OK;
    if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
        rc = fail(c, "not a port");
    else
        *out = (uint16_t)json_integer_value(p);
    pop(c, n);
    return rc;
}

/* RFC 8519 port-range-or-operator: {"operator":"eq","port":N} (eq only: lt/gt/neq are not
 * in MUD files' vocabulary, and a port we cannot express must not widen the rule) or
 * {"lower-port":A,"upper-port":B}. */
static int get_ports(struct mctx *c, json_t *o, const char *key, uint16_t *lo, uint16_t *hi)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return IOTSEC_OK;
    size_t n = push(c, key);
    int rc = IOTSEC_OK;
    static const char *const names[] = {"operator", "port", "lower-port", "upper-port", NULL};
    if (!json_is_object(v)) {
        rc = fail(c, "not an object");
    } else if ((rc = only(c, v, names)) != IOTSEC_OK) {
    } else if (json_object_get(v, "port")) {
        json_t *op = json_object_get(v, "operator");
        if (op && (!json_is_string(op) || strcmp(json_string_value(op), "eq") != 0)) {
            size_t k = push(c, "operator");
            rc = fail(c, "only \"eq\" is supported");
            pop(c, k);
        } else if ((rc = get_port(c, v, "port", lo)) == IOTSEC_OK) {
            *hi = *lo;
        }
    } else if ((rc = get_port(c, v, "lower-port", lo)) == IOTSEC_OK &&
               (rc = get_port(c, v, "upper-port", hi)) == IOTSEC_OK && *hi < *lo) {
        rc = fail(c, "upper-port below lower-port");
    }
    pop(c, n);
    return rc;
}

static int get_network(struct mctx *c, json_t *o, const char *key, struct an_mud_rule *r)
{
    json_t *v = json_object_get(o, key);
    size_t n = push(c, key);
    struct an_prefixes p;
    int rc = IOTSEC_OK;
    if (!json_is_string(v) || strchr(json_string_value(v), ',') ||
        an_prefixes_parse(json_string_value(v), &p) != IOTSEC_OK || p.n != 1) {
        rc = fail(c, "not an address prefix");
    } else {
        r->kind = AN_MUD_NETWORK;
        r->net = p.net[0];
        r->bits = p.bits[0];
    }
    pop(c, n);
    return rc;
}

/* matches/ipv4 or ipv6: the remote end (by name or network) and the protocol. In a
 * from-device ACL the remote end is the destination, in a to-device ACL the source. */
static int match_ip(struct mctx *c, json_t *ip, struct an_mud_rule *r)
{
    static const char *const names[] = {"ietf-acldns:src-dnsname",
                                        "ietf-acldns:dst-dnsname",
                                        "protocol",
                                        "source-ipv4-network",
                                        "destination-ipv4-network",
                                        "source-ipv6-network",
                                        "destination-ipv6-network",
                                        NULL};
    if (!json_is_object(ip))
        return fail(c, "not an object");
    int rc = only(c, ip, names);
    if (rc != IOTSEC_OK)
        return rc;
    const char *near = r->from_device ? "src" : "dst"; /* the device's own end */
    const char *k;
    json_t *v;
    json_object_foreach(ip, k, v)
    {
        bool name = strncmp(k, "ietf-acldns:", 12) == 0;
        const char *side = name ? k + 12 : k;
        if (strcmp(k, "protocol") == 0) {
            size_t n = push(c, k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
                rc = fail(c, "not a protocol number");
            else
                r->proto = (uint8_t)json_integer_value(v);
            pop(c, n);
        } else if (name && strncmp(side, near, 3) == 0) {
            size_t n = push(c, k);
            rc = fail(c, "the %s end of a %s-device ACL is the device itself", near,
                      r->from_device ? "from" : "to");
            pop(c, n);
        } else if (name) {
            if ((rc = get_name(c, ip, k, r->name)) == IOTSEC_OK) {
                if (r->kind != AN_MUD_ANY)
                    return fail(c, "more than one remote end");
                r->kind = AN_MUD_DNSNAME;
            }
        } else {
            bool src = strncmp(k, "source", 6) == 0;
            if (src == (bool)r->from_device) {
                size_t n = push(c, k);
                rc = fail(c, "the %s end of a %s-device ACL is the device itself",
                          src ? "source" : "destination", r->from_device ? "from" : "to");
                pop(c, n);
            } else if (r->kind != AN_MUD_ANY) {
                rc = fail(c, "more than one remote end");
            } else {
                rc = get_network(c, ip, k, r);
            }
        }
        if (rc != IOTSEC_OK)
            return rc;
    }
    return IOTSEC_OK;
}

static int match_l4(struct mctx *c, json_t *l4, struct an_mud_rule *r, uint8_t proto)
{
    static const char *const names[] = {"source-port", "destination-port",
                                        "ietf-mud:direction-initiated", NULL};
    if (!json_is_object(l4))
        return fail(c, "not an object");
    int rc = only(c, l4, names);
    if (rc != IOTSEC_OK)
        return rc;
    if (r->proto && r->proto != proto)
        return fail(c, "contradicts the protocol of the ip match");
    r->proto = proto;
    /* The remote port is the destination's in a from-device ACL, the source's otherwise. */
    const char *rk = r->from_device ? "destination-port" : "source-port";
    const char *lk = r->from_device ? "source-port" : "destination-port";
    if ((rc = get_ports(c, l4, rk, &r->rport_lo, &r->rport_hi)) != IOTSEC_OK ||
        (rc = get_ports(c, l4, lk, &r->lport_lo, &r->lport_hi)) != IOTSEC_OK)
        return rc;
    json_t *d = json_object_get(l4, "ietf-mud:direction-initiated");
    if (d) {
        size_t n = push(c, "ietf-mud:direction-initiated");
        const char *s = json_is_string(d) ? json_string_value(d) : "";
        if (proto != 6)
            rc = fail(c, "only for tcp");
        else if (strcmp(s, "from-device") == 0)
            r->initiated = 1;
        else if (strcmp(s, "to-device") == 0)
            r->initiated = 2;
        else
            rc = fail(c, "neither \"from-device\" nor \"to-device\"");
        pop(c, n);
    }
    return rc;
}

/* matches/ietf-mud:mud: the abstractions of RFC 8520 section 8. */
static int match_mud(struct mctx *c, json_t *o, struct an_mud_rule *r)
{
    static const char *const names[] = {
        "manufacturer", "same-manufacturer", "model", "local-networks",
        "controller",   "my-controller",     NULL};
    if (!json_is_object(o))
        return fail(c, "not an object");
    int rc = only(c, o, names);
    if (rc != IOTSEC_OK)
        return rc;
    if (json_object_size(o) != 1)
        return fail(c, "exactly one of manufacturer, same-manufacturer, model, local-networks, "
                       "controller, my-controller");
    if (r->kind != AN_MUD_ANY)
        return fail(c, "more than one remote end");
    if (json_object_get(o, "manufacturer")) {
        r->kind = AN_MUD_MANUFACTURER;
        return get_name(c, o, "manufacturer", r->name);
    }
    if (json_object_get(o, "model")) {
        size_t n = push(c, "model");
        rc = fail(c, "model is not supported (a MUD URL per model cannot be checked here)");
        pop(c, n);
        return rc;
    }
    r->kind = json_object_get(o, "same-manufacturer") ? AN_MUD_SAME_MFG
              : json_object_get(o, "local-networks")  ? AN_MUD_LOCAL
                                                      : AN_MUD_CONTROLLER;
    return IOTSEC_OK;
}

static int parse_ace(struct mctx *c, json_t *ace, bool from_device)
{
    static const char *const ace_names[] = {"name", "matches", "actions", NULL};
    static const char *const match_names[] = {"ipv4", "ipv6",         "tcp", "udp",
                                              "icmp", "ietf-mud:mud", NULL};
    if (!json_is_object(ace))
        return fail(c, "not an object");
    int rc = only(c, ace, ace_names);
    if (rc != IOTSEC_OK)
        return rc;
    if (c->m->n >= AN_MUD_MAX_RULES)
        return fail(c, "more than %d ACEs", AN_MUD_MAX_RULES);
    struct an_mud_rule *r = &c->m->rule[c->m->n];
    memset(r, 0, sizeof(*r));
    r->kind = AN_MUD_ANY;
    r->from_device = from_device;
    r->rport_hi = r->lport_hi = 65535;
    json_t *actions = json_object_get(ace, "actions");
    json_t *fw = json_object_get(actions, "forwarding");
    size_t n = push(c, "actions");
    if (!json_is_object(actions) || json_object_size(actions) != 1 || !json_is_string(fw) ||
        strcmp(json_string_value(fw), "accept") != 0)
        rc = fail(c, "must be {\"forwarding\":\"accept\"}");
    pop(c, n);
    if (rc != IOTSEC_OK)
        return rc;
    json_t *m = json_object_get(ace, "matches");
    n = push(c, "matches");
    if (!json_is_object(m))
        rc = fail(c, "required, an object");
    else
        rc = only(c, m, match_names);
    const char *l4[] = {"tcp", "udp", "icmp"};
    const uint8_t l4p[] = {6, 17, 1};
    unsigned nl4 = 0;
    for (int i = 0; rc == IOTSEC_OK && i < 2; i++) {
        json_t *ip = json_object_get(m, i ? "ipv6" : "ipv4");
        if (ip) {
            size_t k = push(c, i ? "ipv6" : "ipv4");
            if (json_object_get(m, i ? "ipv4" : "ipv6"))
                rc = fail(c, "both ipv4 and ipv6");
            else
                rc = match_ip(c, ip, r);
            pop(c, k);
        }
    }
    for (int i = 0; rc == IOTSEC_OK && i < 3; i++) {
        json_t *v = json_object_get(m, l4[i]);
        if (v == NULL)
            continue;
        size_t k = push(c, l4[i]);
        if (++nl4 > 1)
            rc = fail(c, "more than one of tcp, udp, icmp");
        else if (i == 2)
            rc = json_is_object(v) ? (r->proto && r->proto != 1
                                          ? fail(c, "contradicts the protocol of the ip match")
                                          : (r->proto = 1, IOTSEC_OK))
                                   : fail(c, "not an object");
        else
            rc = match_l4(c, v, r, l4p[i]);
        pop(c, k);
    }
    json_t *mm = json_object_get(m, "ietf-mud:mud");
    if (rc == IOTSEC_OK && mm) {
        size_t k = push(c, "ietf-mud:mud");
        rc = match_mud(c, mm, r);
        pop(c, k);
    }
    pop(c, n);
    if (rc == IOTSEC_OK)
        c->m->n++;
    return rc;
}

static int parse_acl(struct mctx *c, json_t *acl, bool from_device)
{
    static const char *const names[] = {"name", "type", "aces", NULL};
    int rc = only(c, acl, names);
    if (rc != IOTSEC_OK)
        return rc;
    json_t *type = json_object_get(acl, "type");
    if (type && (!json_is_string(type) || (strcmp(json_string_value(type), "ipv4-acl-type") &&
                                           strcmp(json_string_value(type), "ipv6-acl-type")))) {
        size_t n = push(c, "type");
        rc = fail(c, "only ipv4-acl-type and ipv6-acl-type are supported");
        pop(c, n);
        return rc;
    }
    json_t *aces = json_object_get(acl, "aces"), *list = json_object_get(aces, "ace");
    size_t n = push(c, "aces");
    size_t k = push(c, "ace");
    if (!json_is_object(aces) || json_object_size(aces) != 1 || !json_is_array(list))
        rc = fail(c, "required, an array");
    for (size_t i = 0; rc == IOTSEC_OK && i < json_array_size(list); i++) {
        size_t j = push_i(c, i);
        rc = parse_ace(c, json_array_get(list, i), from_device);
        if (rc == IOTSEC_OK)
            pop(c, j);
    }
    if (rc == IOTSEC_OK) {
        pop(c, k);
        pop(c, n);
    }
    return rc;
}

/* Finds the ACL named `name` in the acls container; its index into *idx. */
static json_t *acl_named(json_t *acls, const char *name, size_t *idx)
{
    json_t *list = json_object_get(acls, "acl");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *n = json_object_get(json_array_get(list, i), "name");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
            *idx = i;
            return json_array_get(list, i);
        }
    }
    return NULL;
}

/* from-device-policy or to-device-policy: {"access-lists":{"access-list":[{"name":..}]}}. */
static int parse_policy(struct mctx *c, json_t *mud, json_t *acls, const char *key,
                        bool from_device, unsigned char *used)
{
    json_t *pol = json_object_get(mud, key);
    if (pol == NULL)
        return IOTSEC_OK;
    size_t n = push(c, MUD), k = push(c, key);
    (void)n;
    json_t *al = json_object_get(pol, "access-lists"), *list = json_object_get(al, "access-list");
    if (!json_is_object(pol) || json_object_size(pol) != 1 || !json_is_object(al) ||
        json_object_size(al) != 1 || !json_is_array(list))
        return fail(c, "must be {\"access-lists\":{\"access-list\":[{\"name\":...}]}}");
    push(c, "access-lists");
    push(c, "access-list");
    for (size_t i = 0; i < json_array_size(list); i++) {
        size_t j = push_i(c, i);
        json_t *e = json_array_get(list, i), *name = json_object_get(e, "name");
        size_t idx = 0;
        json_t *acl = NULL;
        if (!json_is_object(e) || json_object_size(e) != 1 || !json_is_string(name))
            return fail(c, "must be {\"name\":...}");
        if ((acl = acl_named(acls, json_string_value(name), &idx)) == NULL)
            return fail(c, "no ACL named \"%s\"", json_string_value(name));
        if (used[idx] & (from_device ? 1 : 2))
            return fail(c, "ACL \"%s\" listed twice", json_string_value(name));
        used[idx] |= (unsigned char)(from_device ? 1 : 2);
        c->path[0] = '\0';
        push(c, ACLS);
        push(c, "acl");
        push_i(c, idx);
        int rc = parse_acl(c, acl, from_device);
        if (rc != IOTSEC_OK)
            return rc;
        c->path[0] = '\0';
        push(c, MUD);
        push(c, key);
        push(c, "access-lists");
        push(c, "access-list");
        (void)j;
    }
    pop(c, k);
    c->path[0] = '\0';
    return IOTSEC_OK;
}

static int get_string(struct mctx *c, json_t *o, const char *key, bool required, char *out,
                      size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL && !required)
        return IOTSEC_OK;
    size_t n = push(c, key);
    int rc = IOTSEC_OK;
    if (!json_is_string(v) || json_string_length(v) == 0)
        rc = fail(c, "required, a non-empty string");
    else if (json_string_length(v) >= cap)
        rc = fail(c, "longer than %zu characters", cap - 1);
    else if (out)
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
    pop(c, n);
    return rc;
}

static int parse_mud(struct mctx *c, json_t *mud)
{
    static const char *const names[] = {"mud-version",      "mud-url",
                                        "last-update",      "mud-signature",
                                        "cache-validity",   "is-supported",
                                        "systeminfo",       "mfg-name",
                                        "model-name",       "firmware-rev",
                                        "software-rev",     "documentation",
                                        "extensions",       "from-device-policy",
                                        "to-device-policy", NULL};
    size_t n = push(c, MUD);
    if (!json_is_object(mud))
        return fail(c, "required, an object");
    int rc = only(c, mud, names);
    if (rc != IOTSEC_OK)
        return rc;
    json_t *ver = json_object_get(mud, "mud-version");
    size_t k = push(c, "mud-version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return fail(c, "required, 1");
    pop(c, k);
    if ((rc = get_string(c, mud, "mud-url", true, c->m->url, sizeof(c->m->url))) != IOTSEC_OK)
        return rc;
    if (!url_authority(c->m->url, c->m->authority)) {
        push(c, "mud-url");
        return fail(c, "not an https URL with a host and a path");
    }
    if ((rc = get_string(c, mud, "last-update", true, NULL, 64)) != IOTSEC_OK ||
        (rc = get_string(c, mud, "systeminfo", false, c->m->systeminfo,
                         sizeof(c->m->systeminfo))) != IOTSEC_OK)
        return rc;
    json_t *sup = json_object_get(mud, "is-supported");
    k = push(c, "is-supported");
    if (!json_is_boolean(sup))
        return fail(c, "required, true or false");
    pop(c, k);
    json_t *cv = json_object_get(mud, "cache-validity");
    k = push(c, "cache-validity");
    if (cv && (!json_is_integer(cv) || json_integer_value(cv) < 1 || json_integer_value(cv) > 168))
        return fail(c, "hours, 1 to 168");
    pop(c, k);
    pop(c, n);
    return IOTSEC_OK;
}

int an_mud_parse(const char *json, size_t len, struct an_mud *out, char *err, size_t err_len)
{
    struct mctx c = {.m = out, .err = err, .err_len = err_len};
    memset(out, 0, sizeof(*out));
    if (err && err_len)
        err[0] = '\0';
    if (json == NULL || len == 0 || len > AN_MUD_MAX_BYTES)
        return fail(&c, "empty or larger than %d bytes", AN_MUD_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return fail(&c, "not JSON (line %d: %.80s)", je.line, je.text);
    int rc = IOTSEC_OK;
    static const char *const top[] = {MUD, ACLS, NULL};
    json_t *mud = json_object_get(root, MUD), *acls = json_object_get(root, ACLS);
    unsigned char used[AN_MUD_MAX_RULES] = {0};
    if (!json_is_object(root))
        rc = fail(&c, "not an object");
    else if ((rc = only(&c, root, top)) != IOTSEC_OK || (rc = parse_mud(&c, mud)) != IOTSEC_OK) {
    } else if (acls != NULL && (!json_is_object(acls) || json_object_size(acls) != 1 ||
                                !json_is_array(json_object_get(acls, "acl")))) {
        push(&c, ACLS);
        rc = fail(&c, "must be {\"acl\":[...]}");
    } else if (json_array_size(json_object_get(acls, "acl")) > AN_MUD_MAX_RULES) {
        push(&c, ACLS);
        push(&c, "acl");
        rc = fail(&c, "more than %d ACLs", AN_MUD_MAX_RULES);
    } else if ((rc = parse_policy(&c, mud, acls, "from-device-policy", true, used)) == IOTSEC_OK) {
        rc = parse_policy(&c, mud, acls, "to-device-policy", false, used);
    }
    json_decref(root);
    if (rc != IOTSEC_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
