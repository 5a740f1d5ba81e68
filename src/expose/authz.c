/* The one authorisation decision of the exposure face. Deny by default: a request is allowed
 * only by one of three rules (an operator admin's oversight, an AF acting within its
 * registered services, its token's scope and a live consent, or an AF withdrawing its own
 * subscription), and every other path names why it was denied. The reason goes to the audit
 * log, not to the AF: the face answers a generic 403/404 so an AF learns nothing about
 * devices it may not see. */
#include <string.h>

#include "expose/expose.h"

static struct authz_result deny(enum authz_reason why)
{
    return (struct authz_result){.allow = false, .reason = why};
}

static struct authz_result allow(enum authz_reason why, const char *consent_id)
{
    return (struct authz_result){.allow = true, .reason = why, .consent_id = consent_id};
}

static bool is_monitoring(enum action a)
{
    return a >= ACTION_MONITORING_SUBSCRIBE && a <= ACTION_MONITORING_DELETE;
}

static bool is_group_message(enum action a)
{
    return a == ACTION_GROUP_MESSAGE_SEND || a == ACTION_GROUP_MESSAGE_READ;
}

static bool is_admin_action(enum action a)
{
    return a >= ACTION_CONSENT_GRANT && a <= ACTION_AUDIT_READ;
}

/* Operator staff administer AFs, consents and the audit log, and may inspect or remove a
 * monitoring subscription; they never monitor a device themselves: that is only ever done on
 * behalf of an AF, under its consent. */
static struct authz_result decide_admin(enum action a)
{
    if (is_admin_action(a) || a == ACTION_MONITORING_READ || a == ACTION_MONITORING_DELETE)
        return allow(AUTHZ_ALLOW_ADMIN, NULL);
    return deny(AUTHZ_DENY_ADMIN_NOT_AF);
}

/* Does consent c cover resource r: the same device or group, or a group the device is in? */
static bool covers(const struct consent *c, const struct resource *r)
{
    if (c->target_id == NULL)
        return false;
    if (c->target_kind == r->kind && strcmp(c->target_id, r->id) == 0)
        return true;
    if (r->kind == RESOURCE_DEVICE && c->target_kind == RESOURCE_GROUP)
        for (size_t i = 0; i < r->n_groups; i++)
            if (r->groups[i] != NULL && strcmp(r->groups[i], c->target_id) == 0)
                return true;
    return false;
}

/* The most specific reason wins when no consent allows: a consent that exists but lapsed
 * says more to an auditor than "none". */
static int rank(enum authz_reason why)
{
    switch (why) {
    case AUTHZ_DENY_OTHER_AF_CONSENT:
        return 1;
    case AUTHZ_DENY_CONSENT_SERVICE:
        return 2;
    case AUTHZ_DENY_CONSENT_EXPIRED:
        return 3;
    case AUTHZ_DENY_CONSENT_REVOKED:
        return 4;
    default:
        return 0;
    }
}

static struct authz_result decide_consent(const struct principal *p, const struct resource *r,
                                          int64_t now)
{
    enum authz_reason why = AUTHZ_DENY_NO_CONSENT;
    for (size_t i = 0; i < r->n_consents; i++) {
        const struct consent *c = &r->consents[i];
        enum authz_reason this;
        if (!covers(c, r))
            continue;
        if (c->af_id == NULL || strcmp(c->af_id, p->id) != 0)
            this = AUTHZ_DENY_OTHER_AF_CONSENT;
        else if (!(c->services & r->service))
            this = AUTHZ_DENY_CONSENT_SERVICE;
        else if (c->revoked)
            this = AUTHZ_DENY_CONSENT_REVOKED;
        else if (c->expires != 0 && now >= c->expires)
            this = AUTHZ_DENY_CONSENT_EXPIRED;
        else
            return allow(AUTHZ_ALLOW_CONSENT, c->consent_id);
        if (rank(this) > rank(why))
            why = this;
    }
    return deny(why);
}

static bool one_service(uint32_t s)
{
    return s != 0 && (s & (s - 1)) == 0;
}

static struct authz_result decide_af(const struct principal *p, enum action a,
                                     const struct resource *r, int64_t now)
{
    if (!is_monitoring(a) && !is_group_message(a))
        return deny(is_admin_action(a) ? AUTHZ_DENY_ADMIN_ONLY : AUTHZ_DENY_BAD_REQUEST);
    bool creates = a == ACTION_MONITORING_SUBSCRIBE || a == ACTION_GROUP_MESSAGE_SEND;
    if (!one_service(r->service) || creates != (r->owner_af == NULL) ||
        (is_group_message(a) && r->kind != RESOURCE_GROUP))
        return deny(AUTHZ_DENY_BAD_REQUEST);
    /* Operator policy now, then what the token was issued for: both must name the service,
     * so narrowing an AF's registration takes effect before its tokens expire. */
    if (!(p->services & r->service))
        return deny(AUTHZ_DENY_SERVICE_NOT_REGISTERED);
    if (!(p->token_scopes & r->service))
        return deny(AUTHZ_DENY_SCOPE);
    if (r->owner_af != NULL && strcmp(r->owner_af, p->id) != 0)
        return deny(AUTHZ_DENY_OTHER_AF_SUBSCRIPTION);
    if (a == ACTION_MONITORING_DELETE)
        return allow(AUTHZ_ALLOW_OWN_DELETE, NULL); /* withdrawing never needs consent */
    if (r->kind == RESOURCE_AREA)
        return allow(AUTHZ_ALLOW_SERVICE, NULL);
    if ((r->kind != RESOURCE_DEVICE && r->kind != RESOURCE_GROUP) || r->id == NULL ||
        (r->n_consents > 0 && r->consents == NULL) || (r->n_groups > 0 && r->groups == NULL))
        return deny(AUTHZ_DENY_BAD_REQUEST);
    if (r->monitoring_opt_out)
        return deny(AUTHZ_DENY_OPTED_OUT);
    return decide_consent(p, r, now);
}

struct authz_result authz_decide(const struct principal *p, enum action a, const struct resource *r,
                                 int64_t now)
{
    if (p == NULL || r == NULL || !(is_monitoring(a) || is_admin_action(a) || is_group_message(a)))
        return deny(AUTHZ_DENY_BAD_REQUEST);
    if (p->kind == PRINCIPAL_NONE || p->id == NULL || p->id[0] == '\0')
        return deny(AUTHZ_DENY_UNAUTHENTICATED);
    switch (p->kind) {
    case PRINCIPAL_ADMIN:
        return decide_admin(a);
    case PRINCIPAL_AF:
        return decide_af(p, a, r, now);
    default: /* devices, gateways and NFs have their own faces; none acts here */
        return deny(AUTHZ_DENY_PRINCIPAL_KIND);
    }
}
