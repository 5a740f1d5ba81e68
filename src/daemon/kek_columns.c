/* Every column sealed directly under the KEK, for KEK rotation (keys/kek.h): how to count its
 * rows per KEK id, how to walk the rows not under the current KEK (a cursor on a unique key,
 * so a pass is linear), and the AAD each capability sealed them with. Not here: credentials
 * (subscriptions.cred, prev_cred), sealed under their data keys (only credentials from before
 * data keys were under the KEK, and the start-up conversion seals those anew), and the
 * analytics pseudonym key, a file of each instance's, sealed anew before a KEK retires. */
#include "daemon/kek_columns.h"
#include "account/account.h"
#include "aka/aka.h"
#include "expose/northbound.h"
#include "group/group_store.h"
#include "pin/pin.h"
#include "provision/provision.h"
#include "subscriber/subscriber.h"

/* Scans: $1 the current KEK id (1-byte blob), $2/$3 the cursor (text, integer), $4 a limit.
 * Both parts of the cursor are named in each statement (PostgreSQL types parameters from it). */
#define BY_TEXT(key, col, table, extra)                                                            \
    "SELECT " key ", CAST($3 AS BIGINT), " col " FROM " table " WHERE " col                        \
    " IS NOT NULL AND " key " > $2 AND substr(" col ", 2, 1) <> $1" extra " ORDER BY " key         \
    " LIMIT $4"
#define SET_BY_TEXT(key, col, table)                                                               \
    "UPDATE " table " SET " col " = $1 WHERE " key " = $3 AND " col                                \
    " = $2 AND CAST($4 AS BIGINT) IS NOT NULL"
#define SET_BY_INT(key, col, table)                                                                \
    "UPDATE " table " SET " col " = $1 WHERE " key " = $4 AND " col                                \
    " = $2 AND CAST($3 AS TEXT) IS NOT NULL"
#define BY_INT(key, col, table)                                                                    \
    "SELECT CAST($2 AS TEXT), " key ", " col " FROM " table " WHERE " col " IS NOT NULL AND " key  \
    " > $3 AND substr(" col ", 2, 1) <> $1 ORDER BY " key " LIMIT $4"

static const struct kek_column columns[] = {
    {"subscription_deks.dek", "subscription_deks", "dek",
     "SELECT dek_supi, dek_version, dek FROM subscription_deks WHERE (dek_supi, dek_version) >"
     " ($2, $3) AND substr(dek, 2, 1) <> $1 ORDER BY dek_supi, dek_version LIMIT $4",
     "UPDATE subscription_deks SET dek = $1 WHERE dek_supi = $3 AND dek_version = $4"
     " AND dek = $2",
     subscriber_dek_aad},
    {"hn_keys.private_key", "hn_keys", "private_key",
     BY_INT("scheme * 256 + key_id", "private_key", "hn_keys"),
     SET_BY_INT("scheme * 256 + key_id", "private_key", "hn_keys"), aka_hn_key_aad},
    {"prov_keys.seed", "prov_keys", "seed", BY_INT("id", "seed", "prov_keys"),
     SET_BY_INT("id", "seed", "prov_keys"), prov_key_aad},
    {"prov_enrollments.group_key", "prov_enrollments", "group_key",
     BY_INT("id", "group_key", "prov_enrollments"),
     SET_BY_INT("id", "group_key", "prov_enrollments"), prov_enrollment_key_aad},
    {"prov_registrations.pend_cred", "prov_registrations", "pend_cred",
     "SELECT reg_id, pend_version, pend_cred FROM prov_registrations WHERE pend_cred IS NOT NULL"
     " AND (reg_id, pend_version) > ($2, $3) AND substr(pend_cred, 2, 1) <> $1"
     " ORDER BY reg_id, pend_version LIMIT $4",
     "UPDATE prov_registrations SET pend_cred = $1 WHERE reg_id = $3 AND pend_version = $4"
     " AND pend_cred = $2",
     prov_pend_cred_aad},
    {"expose_signing_keys.sealed_d", "expose_signing_keys", "sealed_d",
     BY_TEXT("kid", "sealed_d", "expose_signing_keys", ""),
     SET_BY_TEXT("kid", "sealed_d", "expose_signing_keys"), nb_signing_key_aad},
    {"expose_secrets.sealed", "expose_secrets", "sealed",
     BY_TEXT("name", "sealed", "expose_secrets", ""),
     SET_BY_TEXT("name", "sealed", "expose_secrets"), nb_secret_aad},
    {"group_signing.sealed", "group_signing", "sealed", BY_INT("id", "sealed", "group_signing"),
     SET_BY_INT("id", "sealed", "group_signing"), group_signing_aad},
    /* Counted only: a group's node keys are bound to (ref, node, epoch) in binary; this
     * version does not re-wrap them, so a KEK under which some remain is not retired. */
    {"group_node_keys.sealed", "group_node_keys", "sealed", NULL, NULL, NULL},
    {"accounts.totp", "accounts", "totp", BY_TEXT("name", "totp", "accounts", ""),
     SET_BY_TEXT("name", "totp", "accounts"), account_totp_aad},
    {"pin_networks.ca_sealed", "pin_networks", "ca_sealed",
     BY_TEXT("pin_id", "ca_sealed", "pin_networks", ""),
     SET_BY_TEXT("pin_id", "ca_sealed", "pin_networks"), pin_sealed_aad},
    {"pin_elements.sym_sealed", "pin_elements", "sym_sealed",
     BY_TEXT("pin_id || '/' || pine_id", "sym_sealed", "pin_elements", ""),
     SET_BY_TEXT("pin_id || '/' || pine_id", "sym_sealed", "pin_elements"), pin_sealed_aad},
};

const struct kek_column *daemon_kek_columns(size_t *count)
{
    *count = sizeof(columns) / sizeof(columns[0]);
    return columns;
}
