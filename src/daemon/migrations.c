/* The one ordered list of schema migrations. A capability exports its SQL; the order lives
 * here so that versions are global and a migration is never inserted before one already
 * applied somewhere. Append only. Numbers taken by work in progress: 3 provision, 4 expose,
 * 5 location, 6 policy, 7 provision lifecycle (a capability needing a second migration takes
 * the next free one). */
#include "account/account.h"
#include "aka/aka.h"
#include "analytics/analytics.h"
#include "console/console.h"
#include "daemon/daemon.h"
#include "expose/northbound.h"
#include "group/group_deliver.h"
#include "group/group_store.h"
#include "keys/kek.h"
#include "location/location.h"
#include "pin/pin.h"
#include "policy/policy.h"
#include "provision/provision.h"
#include "subscriber/sub_cache.h"
#include "subscriber/subscriber.h"

static const struct store_migration migrations[] = {
    {1, "subscriber: subscriptions and their events", SUBSCRIBER_MIGRATION_1, NULL},
    {2, "aka: home network SUCI keys", AKA_MIGRATION_1, NULL},
    {3, "provision: manufacturers, enrollments, registrations, gateways, activations",
     PROVISION_MIGRATION_1, NULL},
    {4, "expose: AFs, signing keys, consents, external ids, audit", EXPOSE_MIGRATION_1, NULL},
    {5, "location: authorised areas, cell positions, monitoring subscriptions",
     LOCATION_MIGRATION_1, NULL},
    {6, "policy: actions on findings, their audit, the policy", POLICY_MIGRATION_1, NULL},
    {7, "provision: maximum credential age, credential age", PROVISION_MIGRATION_2, NULL},
    {8, "subscriber: SQN slots leased by instances", SUBSCRIBER_MIGRATION_SQN_SLOTS, NULL},
    {9, "analytics: findings kept as evidence, UE address mappings", ANALYTICS_MIGRATION_1, NULL},
    {10, "policy: who acted and why, the finding behind an action", POLICY_MIGRATION_2, NULL},
    {11, "expose: each AF's allow-list of notification destinations", EXPOSE_MIGRATION_2, NULL},
    {12, "expose: AF token generation (a disable kills its tokens for good)",
     EXPOSE_MIGRATION_TOKEN_GEN, NULL},
    {13, "group: groups, members, sealed key trees, rekeys, sender sequences", GROUP_MIGRATION_1,
     NULL},
    {14, "pin: roles, personal IoT networks, their gateways, elements, AF grants, routing",
     PIN_MIGRATION_1, NULL},
    {15, "aka: authentication events (Nudm_UEAU AuthEvent)", AKA_MIGRATION_2, NULL},
    {16, "expose: T8 reports counted in the store", EXPOSE_MIGRATION_T8_REPORTS, NULL},
    {17, "pin: one-time enrolment codes (hashed) for PINE joins", PIN_MIGRATION_2, NULL},
    {18, "provision: enrollment names; devices listed by enrollment", PROVISION_MIGRATION_NAMES,
     NULL},
    {19, "account: operator accounts (roles, scrypt, TOTP, client certificates)",
     ACCOUNT_MIGRATION_1, NULL},
    {20, "policy: observe mode's counts of what it would have done", POLICY_MIGRATION_OBSERVE,
     NULL},
    {21, "analytics: MUD files (RFC 8520) per device group", ANALYTICS_MIGRATION_MUD, NULL},
    {22, "group: member endpoints, multicast addresses, AF message deliveries", GROUP_MIGRATION_2,
     NULL},
    {23, "pin: symmetric PINE credentials (sealed MAC keys)", PIN_MIGRATION_3, NULL},
    {24, "subscriber: a data key per credential version (crypto-erase)", SUBSCRIBER_MIGRATION_DEKS,
     SUBSCRIBER_MIGRATION_DEKS_PG},
    {25, "subscriber: fleet counts by state and by day of creation", SUBSCRIBER_MIGRATION_COUNTS,
     SUBSCRIBER_MIGRATION_COUNTS_PG},
    {26, "subscriber: fleet pages sorted by SUPI within a state", SUBSCRIBER_MIGRATION_SORT, NULL},
    {27, "subscriber: change log read by the instances' subscription caches",
     SUBSCRIBER_MIGRATION_CHANGES, SUBSCRIBER_MIGRATION_CHANGES_PG},
    {28, "console: operator sessions shared by every instance", CONSOLE_MIGRATION_SESSIONS, NULL},
    {29, "subscriber: fleet counts of a bulk import per chunk", SUBSCRIBER_MIGRATION_COUNTS_BULK,
     SUBSCRIBER_MIGRATION_COUNTS_BULK_PG},
    {30, "analytics: fleet conditions, open and closed", ANALYTICS_MIGRATION_CONDITIONS, NULL},
    {31, "keys: the current KEK, the KEKs each instance holds", KEK_MIGRATION_1, NULL},
    {32, "location: a bounded history of fixes per device", LOCATION_MIGRATION_HISTORY, NULL},
};

const struct store_migration *daemon_migrations(size_t *count)
{
    *count = sizeof(migrations) / sizeof(migrations[0]);
    return migrations;
}
