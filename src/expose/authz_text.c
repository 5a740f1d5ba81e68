/* Names for the audit log: actions, reasons and services. Fixed strings, never data. */
#include <string.h>

#include "expose/expose.h"

const char *authz_reason_str(enum authz_reason r)
{
    switch (r) {
    case AUTHZ_ALLOW_ADMIN:
        return "operator administrator";
    case AUTHZ_ALLOW_CONSENT:
        return "registered service, token scope and a live consent";
    case AUTHZ_ALLOW_OWN_DELETE:
        return "an AF may withdraw its own subscription";
    case AUTHZ_ALLOW_SERVICE:
        return "registered service (area counts are filtered by consent)";
    case AUTHZ_DENY_BAD_REQUEST:
        return "malformed authorisation request";
    case AUTHZ_DENY_UNAUTHENTICATED:
        return "no authenticated principal";
    case AUTHZ_DENY_PRINCIPAL_KIND:
        return "this kind of principal has no access to the exposure face";
    case AUTHZ_DENY_ADMIN_NOT_AF:
        return "administrators do not monitor devices; only AFs under consent do";
    case AUTHZ_DENY_ADMIN_ONLY:
        return "operator administrators only";
    case AUTHZ_DENY_SERVICE_NOT_REGISTERED:
        return "service not registered for this AF";
    case AUTHZ_DENY_SCOPE:
        return "access token scope does not include the service";
    case AUTHZ_DENY_OTHER_AF_SUBSCRIPTION:
        return "subscription belongs to another AF";
    case AUTHZ_DENY_OPTED_OUT:
        return "owner opted the device out of monitoring";
    case AUTHZ_DENY_NO_CONSENT:
        return "no consent for this AF";
    case AUTHZ_DENY_OTHER_AF_CONSENT:
        return "consent exists only for another AF";
    case AUTHZ_DENY_CONSENT_SERVICE:
        return "consent does not cover this service";
    case AUTHZ_DENY_CONSENT_EXPIRED:
        return "consent expired";
    case AUTHZ_DENY_CONSENT_REVOKED:
        return "consent revoked";
    }
    return "unknown reason";
}

const char *authz_action_str(enum action a)
{
    switch (a) {
    case ACTION_MONITORING_SUBSCRIBE:
        return "monitoring.subscribe";
    case ACTION_MONITORING_READ:
        return "monitoring.read";
    case ACTION_MONITORING_MODIFY:
        return "monitoring.modify";
    case ACTION_MONITORING_DELETE:
        return "monitoring.delete";
    case ACTION_CONSENT_GRANT:
        return "consent.grant";
    case ACTION_CONSENT_REVOKE:
        return "consent.revoke";
    case ACTION_AF_REGISTER:
        return "af.register";
    case ACTION_AUDIT_READ:
        return "audit.read";
    case ACTION_GROUP_MESSAGE_SEND:
        return "group-message.send";
    case ACTION_GROUP_MESSAGE_READ:
        return "group-message.read";
    }
    return "unknown";
}

uint32_t expose_service_from_name(const char *name)
{
    if (name != NULL && strcmp(name, "monitoring-event") == 0)
        return EXPOSE_SVC_MONITORING_EVENT;
    if (name != NULL && strcmp(name, "as-session-with-qos") == 0)
        return EXPOSE_SVC_AS_SESSION_WITH_QOS;
    if (name != NULL && strcmp(name, "pin") == 0)
        return EXPOSE_SVC_PIN;
    if (name != NULL && strcmp(name, "group-message") == 0)
        return EXPOSE_SVC_GROUP_MESSAGE;
    return 0;
}

uint32_t expose_services_from_scope(const char *scope)
{
    uint32_t set = 0;
    char word[64];
    for (const char *s = scope; s != NULL && *s != '\0';) {
        size_t n = strcspn(s, " ");
        if (n > 0 && n < sizeof(word)) {
            memcpy(word, s, n);
            word[n] = '\0';
            set |= expose_service_from_name(word);
        }
        s += n;
        s += strspn(s, " ");
    }
    return set;
}

const char *authz_reason_code(enum authz_reason r)
{
    static const char *const codes[] = {
        [AUTHZ_ALLOW_ADMIN] = "ALLOW_ADMIN",
        [AUTHZ_ALLOW_CONSENT] = "ALLOW_CONSENT",
        [AUTHZ_ALLOW_OWN_DELETE] = "ALLOW_OWN_DELETE",
        [AUTHZ_ALLOW_SERVICE] = "ALLOW_SERVICE",
        [AUTHZ_DENY_BAD_REQUEST] = "DENY_BAD_REQUEST",
        [AUTHZ_DENY_UNAUTHENTICATED] = "DENY_UNAUTHENTICATED",
        [AUTHZ_DENY_PRINCIPAL_KIND] = "DENY_PRINCIPAL_KIND",
        [AUTHZ_DENY_ADMIN_NOT_AF] = "DENY_ADMIN_NOT_AF",
        [AUTHZ_DENY_ADMIN_ONLY] = "DENY_ADMIN_ONLY",
        [AUTHZ_DENY_SERVICE_NOT_REGISTERED] = "DENY_SERVICE_NOT_REGISTERED",
        [AUTHZ_DENY_SCOPE] = "DENY_SCOPE",
        [AUTHZ_DENY_OTHER_AF_SUBSCRIPTION] = "DENY_OTHER_AF_SUBSCRIPTION",
        [AUTHZ_DENY_OPTED_OUT] = "DENY_OPTED_OUT",
        [AUTHZ_DENY_NO_CONSENT] = "DENY_NO_CONSENT",
        [AUTHZ_DENY_OTHER_AF_CONSENT] = "DENY_OTHER_AF_CONSENT",
        [AUTHZ_DENY_CONSENT_SERVICE] = "DENY_CONSENT_SERVICE",
        [AUTHZ_DENY_CONSENT_EXPIRED] = "DENY_CONSENT_EXPIRED",
        [AUTHZ_DENY_CONSENT_REVOKED] = "DENY_CONSENT_REVOKED",
    };
    if ((size_t)r < sizeof(codes) / sizeof(codes[0]) && codes[r] != NULL)
        return codes[r];
    return "UNKNOWN";
}
