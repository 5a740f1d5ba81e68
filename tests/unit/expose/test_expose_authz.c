/* The authorisation decision as a table: each row a principal, an action and a resource, the
 * expected decision and its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expose/expose.h"

#define NOW   INT64_C(1750000000)
#define MON   EXPOSE_SVC_MONITORING_EVENT
#define DEV   "imsi-001010000000001"
#define OTHER "imsi-001010000000002"

static const struct principal af_a = {PRINCIPAL_AF, "af-a", MON, MON};
static const struct principal af_b = {PRINCIPAL_AF, "af-b", MON, MON};
static const struct principal af_unregistered = {PRINCIPAL_AF, "af-a", 0, MON};
static const struct principal af_no_scope = {PRINCIPAL_AF, "af-a", MON, 0};
static const struct principal admin = {PRINCIPAL_ADMIN, "ops", 0, 0};
static const struct principal device = {PRINCIPAL_DEVICE, DEV, MON, MON};
static const struct principal gateway = {PRINCIPAL_GATEWAY, "gw-1", MON, MON};
static const struct principal nf = {PRINCIPAL_NF, "amf-1", MON, MON};
static const struct principal nobody = {PRINCIPAL_NONE, "x", MON, MON};
static const struct principal af_anon = {PRINCIPAL_AF, "", MON, MON};

/* Consents for DEV and for the group "meters". */
static const struct consent live = {"c-live", "af-a", MON, RESOURCE_DEVICE, DEV, NOW + 60, false};
static const struct consent expired = {"c-exp", "af-a", MON, RESOURCE_DEVICE, DEV, NOW, false};
static const struct consent revoked = {"c-rev", "af-a", MON, RESOURCE_DEVICE, DEV, 0, true};
static const struct consent for_b = {"c-b", "af-b", MON, RESOURCE_DEVICE, DEV, 0, false};
static const struct consent no_service = {"c-ns", "af-a", 0, RESOURCE_DEVICE, DEV, 0, false};
static const struct consent group = {"c-grp", "af-a", MON, RESOURCE_GROUP, "meters", 0, false};
static const struct consent other_dev = {"c-oth", "af-a", MON, RESOURCE_DEVICE, OTHER, 0, false};

static const char *const in_meters[] = {"meters"};

struct row {
    const char *name;
    const struct principal *p;
    enum action a;
    enum resource_kind kind;
    const char *id;
    const char *owner_af;
    const struct consent *c[3];
    unsigned flags; /* MEMBER: the device is in "meters"; OPTOUT: owner opted out */
    bool allow;
    enum authz_reason reason;
    const char *consent_id;
};

#define MEMBER 1u
#define OPTOUT 2u
#define SUB    ACTION_MONITORING_SUBSCRIBE
#define RD     ACTION_MONITORING_READ
#define MOD    ACTION_MONITORING_MODIFY
#define DEL    ACTION_MONITORING_DELETE
#define GRANT  ACTION_CONSENT_GRANT
#define D      RESOURCE_DEVICE
#define G      RESOURCE_GROUP
#define AREA   RESOURCE_AREA
#define NONE   RESOURCE_NONE

/* clang-format off */
static const struct row rows[] = {
    {"allowed", &af_a, SUB, D, DEV, NULL, {&live}, 0, true, AUTHZ_ALLOW_CONSENT, "c-live"},
    {"read own", &af_a, RD, D, DEV, "af-a", {&live}, 0, true, AUTHZ_ALLOW_CONSENT, "c-live"},
    {"modify own", &af_a, MOD, D, DEV, "af-a", {&live}, 0, true, AUTHZ_ALLOW_CONSENT, "c-live"},
    {"no consent", &af_a, SUB, D, DEV, NULL, {NULL}, 0, false, AUTHZ_DENY_NO_CONSENT, NULL},
    {"consent for another device", &af_a, SUB, D, DEV, NULL, {&other_dev}, 0,
     false, AUTHZ_DENY_NO_CONSENT, NULL},
    {"consent expired", &af_a, SUB, D, DEV, NULL, {&expired}, 0,
     false, AUTHZ_DENY_CONSENT_EXPIRED, NULL},
    {"consent revoked", &af_a, RD, D, DEV, "af-a", {&revoked}, 0,
     false, AUTHZ_DENY_CONSENT_REVOKED, NULL},
    {"revoked wins over expired", &af_a, SUB, D, DEV, NULL, {&expired, &revoked}, 0,
     false, AUTHZ_DENY_CONSENT_REVOKED, NULL},
    {"one live consent among lapsed", &af_a, SUB, D, DEV, NULL, {&revoked, &expired, &live}, 0,
     true, AUTHZ_ALLOW_CONSENT, "c-live"},
    {"consent without the service", &af_a, SUB, D, DEV, NULL, {&no_service}, 0,
     false, AUTHZ_DENY_CONSENT_SERVICE, NULL},
    {"service not registered", &af_unregistered, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_SERVICE_NOT_REGISTERED, NULL},
    {"token scope lacks service", &af_no_scope, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_SCOPE, NULL},
    {"other AF's device", &af_b, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_OTHER_AF_CONSENT, NULL},
    {"other AF's consent", &af_a, SUB, D, DEV, NULL, {&for_b}, 0,
     false, AUTHZ_DENY_OTHER_AF_CONSENT, NULL},
    {"other AF's subscription", &af_b, RD, D, DEV, "af-a", {&live, &for_b}, 0,
     false, AUTHZ_DENY_OTHER_AF_SUBSCRIPTION, NULL},
    {"delete other AF's subscription", &af_b, DEL, D, DEV, "af-a", {&for_b}, 0,
     false, AUTHZ_DENY_OTHER_AF_SUBSCRIPTION, NULL},
    {"delete own after revocation", &af_a, DEL, D, DEV, "af-a", {&revoked}, 0,
     true, AUTHZ_ALLOW_OWN_DELETE, NULL},
    {"group consent covers member", &af_a, SUB, D, DEV, NULL, {&group}, MEMBER,
     true, AUTHZ_ALLOW_CONSENT, "c-grp"},
    {"group consent, not a member", &af_a, SUB, D, DEV, NULL, {&group}, 0,
     false, AUTHZ_DENY_NO_CONSENT, NULL},
    {"group subscription", &af_a, SUB, G, "meters", NULL, {&group}, 0,
     true, AUTHZ_ALLOW_CONSENT, "c-grp"},
    {"device consent does not cover group", &af_a, SUB, G, "meters", NULL, {&live}, 0,
     false, AUTHZ_DENY_NO_CONSENT, NULL},
    {"opted out", &af_a, SUB, D, DEV, NULL, {&live}, OPTOUT, false, AUTHZ_DENY_OPTED_OUT, NULL},
    {"area count", &af_a, SUB, AREA, "tac-1", NULL, {NULL}, 0, true, AUTHZ_ALLOW_SERVICE, NULL},
    {"area count, unregistered", &af_unregistered, SUB, AREA, "tac-1", NULL, {NULL}, 0,
     false, AUTHZ_DENY_SERVICE_NOT_REGISTERED, NULL},
    {"admin allowed: read", &admin, RD, D, DEV, "af-a", {NULL}, 0, true, AUTHZ_ALLOW_ADMIN, NULL},
    {"admin allowed: consent grant", &admin, GRANT, NONE, NULL, NULL, {NULL}, 0,
     true, AUTHZ_ALLOW_ADMIN, NULL},
    {"admin allowed: audit", &admin, ACTION_AUDIT_READ, NONE, NULL, NULL, {NULL}, 0,
     true, AUTHZ_ALLOW_ADMIN, NULL},
    {"admin does not monitor", &admin, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_ADMIN_NOT_AF, NULL},
    {"AF cannot grant consent", &af_a, GRANT, NONE, NULL, NULL, {NULL}, 0,
     false, AUTHZ_DENY_ADMIN_ONLY, NULL},
    {"AF cannot register AFs", &af_a, ACTION_AF_REGISTER, NONE, NULL, NULL, {NULL}, 0,
     false, AUTHZ_DENY_ADMIN_ONLY, NULL},
    {"device denied", &device, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_PRINCIPAL_KIND, NULL},
    {"device denied read", &device, RD, D, DEV, DEV, {&live}, 0,
     false, AUTHZ_DENY_PRINCIPAL_KIND, NULL},
    {"gateway denied", &gateway, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_PRINCIPAL_KIND, NULL},
    {"NF denied", &nf, GRANT, NONE, NULL, NULL, {NULL}, 0, false, AUTHZ_DENY_PRINCIPAL_KIND, NULL},
    {"unauthenticated", &nobody, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_UNAUTHENTICATED, NULL},
    {"AF without id", &af_anon, SUB, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_UNAUTHENTICATED, NULL},
    {"subscribe naming an owner", &af_a, SUB, D, DEV, "af-a", {&live}, 0,
     false, AUTHZ_DENY_BAD_REQUEST, NULL},
    {"read without an owner", &af_a, RD, D, DEV, NULL, {&live}, 0,
     false, AUTHZ_DENY_BAD_REQUEST, NULL},
    {"device without id", &af_a, SUB, D, NULL, NULL, {&live}, 0,
     false, AUTHZ_DENY_BAD_REQUEST, NULL},
    {"monitoring on nothing", &af_a, SUB, NONE, NULL, NULL, {&live}, 0,
     false, AUTHZ_DENY_BAD_REQUEST, NULL},
};
/* clang-format on */

static struct authz_result run(const struct row *r, uint32_t service)
{
    struct consent cs[3];
    size_t n = 0;
    for (; n < 3 && r->c[n] != NULL; n++)
        cs[n] = *r->c[n];
    struct resource res = {.kind = r->kind,
                           .id = r->id,
                           .groups = (r->flags & MEMBER) ? in_meters : NULL,
                           .n_groups = (r->flags & MEMBER) ? 1 : 0,
                           .owner_af = r->owner_af,
                           .service = service,
                           .monitoring_opt_out = (r->flags & OPTOUT) != 0,
                           .consents = cs,
                           .n_consents = n};
    return authz_decide(r->p, r->a, &res, NOW);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct authz_result got = run(r, MON);
        if (got.allow != r->allow || got.reason != r->reason)
            fail_msg("%s: %s (%s), expected %s (%s)", r->name, got.allow ? "allow" : "deny",
                     authz_reason_str(got.reason), r->allow ? "allow" : "deny",
                     authz_reason_str(r->reason));
        if (r->consent_id != NULL)
            assert_string_equal(got.consent_id, r->consent_id);
        else
            assert_null(got.consent_id);
        assert_string_not_equal(authz_reason_str(got.reason), "unknown reason");
    }
}

/* Deny by default: no service, two services at once, an unknown action, NULL inputs. */
static void test_default_deny(void **state)
{
    (void)state;
    const struct row *allowed = &rows[0];
    assert_true(run(allowed, MON).allow);
    assert_int_equal(run(allowed, 0).reason, AUTHZ_DENY_BAD_REQUEST);
    assert_int_equal(run(allowed, MON | 2).reason, AUTHZ_DENY_BAD_REQUEST);
    struct resource res = {.kind = RESOURCE_DEVICE, .id = DEV, .service = MON};
    struct authz_result r = authz_decide(&af_a, (enum action)99, &res, NOW);
    assert_false(r.allow);
    assert_int_equal(r.reason, AUTHZ_DENY_BAD_REQUEST);
    assert_false(authz_decide(NULL, SUB, &res, NOW).allow);
    assert_false(authz_decide(&af_a, SUB, NULL, NOW).allow);
    assert_false(authz_decide(&admin, (enum action)0, &res, NOW).allow);
    res.n_consents = 2; /* a count without an array */
    assert_int_equal(authz_decide(&af_a, SUB, &res, NOW).reason, AUTHZ_DENY_BAD_REQUEST);
    /* Expiry is exclusive: valid until the second before. */
    struct consent c = live;
    c.expires = NOW + 1;
    res.consents = &c;
    res.n_consents = 1;
    assert_true(authz_decide(&af_a, SUB, &res, NOW).allow);
    assert_false(authz_decide(&af_a, SUB, &res, NOW + 1).allow);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(expose_service_from_name("monitoring-event"), MON);
    assert_int_equal(expose_service_from_name("Monitoring-event"), 0);
    assert_int_equal(expose_service_from_name(NULL), 0);
    assert_int_equal(expose_services_from_scope("openid monitoring-event"), MON);
    assert_int_equal(expose_services_from_scope("  monitoring-event  "), MON);
    assert_int_equal(expose_services_from_scope("monitoring-events"), 0);
    assert_int_equal(expose_services_from_scope("monitoring"), 0);
    assert_int_equal(expose_services_from_scope(""), 0);
    assert_int_equal(expose_services_from_scope(NULL), 0);
    for (int a = ACTION_MONITORING_SUBSCRIBE; a <= ACTION_AUDIT_READ; a++)
        assert_string_not_equal(authz_action_str((enum action)a), "unknown");
}

/* Group messages (docs/group.md): a consent on the External Group ID for service group-message;
 * a monitoring consent on the same group, or a consent on another group, does not do; a
 * delivery is read by its own AF only; the action applies to groups only. */
static void test_group_message(void **state)
{
    (void)state;
    const uint32_t GM = EXPOSE_SVC_GROUP_MESSAGE;
    const char *ext = "valves@utility.example";
    const struct principal a = {PRINCIPAL_AF, "af-a", GM, GM}, b = {PRINCIPAL_AF, "af-b", GM, GM};
    const struct principal no_scope = {PRINCIPAL_AF, "af-a", GM, MON};
    struct consent c = {"c-gm", "af-a", GM, RESOURCE_GROUP, ext, 0, false};
    struct resource r = {
        .kind = RESOURCE_GROUP, .id = ext, .service = GM, .consents = &c, .n_consents = 1};
    struct authz_result got = authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW);
    assert_true(got.allow);
    assert_int_equal(got.reason, AUTHZ_ALLOW_CONSENT);
    assert_string_equal(got.consent_id, "c-gm");
    assert_int_equal(authz_decide(&b, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_OTHER_AF_CONSENT);
    assert_int_equal(authz_decide(&no_scope, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_SCOPE);
    c.services = MON; /* monitoring the group is not messaging it */
    assert_int_equal(authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_CONSENT_SERVICE);
    c.services = GM;
    c.target_id = "other@utility.example";
    assert_int_equal(authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_NO_CONSENT);
    c.target_id = ext;
    c.revoked = true;
    assert_false(authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW).allow);
    c.revoked = false;
    /* reading: only with the delivery's own AF named, and the consent still live */
    r.owner_af = "af-a";
    assert_true(authz_decide(&a, ACTION_GROUP_MESSAGE_READ, &r, NOW).allow);
    assert_int_equal(authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_BAD_REQUEST);
    r.owner_af = NULL;
    assert_int_equal(authz_decide(&a, ACTION_GROUP_MESSAGE_READ, &r, NOW).reason,
                     AUTHZ_DENY_BAD_REQUEST);
    /* only a group is messaged; the operator does not send for an AF */
    r.kind = RESOURCE_DEVICE;
    assert_int_equal(authz_decide(&a, ACTION_GROUP_MESSAGE_SEND, &r, NOW).reason,
                     AUTHZ_DENY_BAD_REQUEST);
    r.kind = RESOURCE_GROUP;
    assert_false(authz_decide(&admin, ACTION_GROUP_MESSAGE_SEND, &r, NOW).allow);
    assert_int_equal(expose_service_from_name("group-message"), GM);
    assert_string_equal(authz_action_str(ACTION_GROUP_MESSAGE_SEND), "group-message.send");
    assert_string_equal(authz_action_str(ACTION_GROUP_MESSAGE_READ), "group-message.read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_group_message),
        cmocka_unit_test(test_default_deny),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
