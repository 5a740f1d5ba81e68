#include "daemon/config.h"

#include <cyaml/cyaml.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "daemon/config_error.h"
#include "http/outbound.h"
#include "location/location.h"

/* The YAML layout, as libcyaml schemas over a parse-time struct of string pointers. */
struct yaml_plmn {
    char *mcc, *mnc;
};
struct yaml_storage {
    char *database, *kek_file;
    unsigned cache_kib;
};
struct yaml_store {
    char *backend, *url;
};
struct yaml_listen {
    char *sbi, *sbi_h2c, *admin, *northbound, *device;
};
struct yaml_tls {
    char *ca, *cert, *key, *admin_cert, *sbi_client_role;
};
struct yaml_aka {
    unsigned sqn_block, auth_context_ttl_s, max_synch_failures, sqn_lease_s;
    unsigned *subscription_cache_rows; /* NULL: absent (the default); 0: off */
};
struct yaml_ipfix {
    char *udp, *tcp;
    unsigned template_lifetime_s;
};
struct yaml_kafka {
    char *brokers, *topic, *group;
};
struct yaml_analytics {
    unsigned window_s, pseudonym_rotation_s;
    unsigned *findings_retention_days; /* NULL: the default; 0: kept forever */
    char *thresholds, *key_file;
    struct yaml_ipfix *ipfix;
    struct yaml_kafka *kafka;
};
struct yaml_policy {
    bool nftables, webhook_http_loopback;
    char **webhook_allow;
    unsigned webhook_allow_count;
    char *webhook_ca;
};
struct yaml_subscriber {
    unsigned expiry_sweep_s;
};
struct yaml_console {
    char *listen;
    unsigned session_idle_s, session_absolute_s;
};
struct yaml_location {
    char *granularity, *notify_ca;
    unsigned k_anonymity, counts_per_minute;
    unsigned *history_max_fixes, *history_days; /* NULL: the default; 0: off / no age limit */
    bool notify_http_loopback;
};
struct yaml_nrf {
    char *url, *ca_file, *client_cert, *client_key, *advertise, *nf_set_id, *instance_id;
    unsigned heartbeat_s, capacity, priority;
    char **supi_ranges, **routing_indicators, **token_keys;
    unsigned supi_ranges_count, routing_indicators_count, token_keys_count;
};
struct yaml_oauth2 {
    bool sbi, cert_identity;
    unsigned leeway_s;
    char *northbound_issuer;
};
struct yaml_config {
    struct yaml_nrf *nrf;
    struct yaml_oauth2 *oauth2;
    struct yaml_location *location;
    struct yaml_plmn *plmn;
    struct yaml_storage *storage;
    struct yaml_store *store;
    struct yaml_listen *listen;
    struct yaml_tls *tls;
    struct yaml_aka *aka;
    struct yaml_analytics *analytics;
    struct yaml_policy *policy;
    struct yaml_subscriber *subscriber;
    struct yaml_console *console;
    unsigned workers;
    char *log_level;
};

#define OPT CYAML_FLAG_OPTIONAL
static const cyaml_schema_field_t plmn_fields[] = {
    CYAML_FIELD_STRING_PTR("mcc", CYAML_FLAG_DEFAULT, struct yaml_plmn, mcc, 3, 3),
    CYAML_FIELD_STRING_PTR("mnc", CYAML_FLAG_DEFAULT, struct yaml_plmn, mnc, 2, 3),
    CYAML_FIELD_END};
static const cyaml_schema_field_t storage_fields[] = {
    CYAML_FIELD_STRING_PTR("database", OPT, struct yaml_storage, database, 1, 500),
    CYAML_FIELD_STRING_PTR("kek_file", OPT, struct yaml_storage, kek_file, 1, 500),
    CYAML_FIELD_UINT("cache_kib", OPT, struct yaml_storage, cache_kib), CYAML_FIELD_END};
static const cyaml_schema_field_t store_fields[] = {
    CYAML_FIELD_STRING_PTR("backend", OPT, struct yaml_store, backend, 1, 20),
    CYAML_FIELD_STRING_PTR("url", OPT, struct yaml_store, url, 1, 1000), CYAML_FIELD_END};
static const cyaml_schema_field_t listen_fields[] = {
    CYAML_FIELD_STRING_PTR("sbi", OPT, struct yaml_listen, sbi, 1, 120),
    CYAML_FIELD_STRING_PTR("sbi_h2c", OPT, struct yaml_listen, sbi_h2c, 0, 120),
    CYAML_FIELD_STRING_PTR("admin", OPT, struct yaml_listen, admin, 1, 120),
    CYAML_FIELD_STRING_PTR("northbound", OPT, struct yaml_listen, northbound, 1, 120),
    CYAML_FIELD_STRING_PTR("device", OPT, struct yaml_listen, device, 1, 120),
    CYAML_FIELD_END};
static const cyaml_schema_field_t tls_fields[] = {
    CYAML_FIELD_STRING_PTR("ca", OPT, struct yaml_tls, ca, 1, 500),
    CYAML_FIELD_STRING_PTR("cert", OPT, struct yaml_tls, cert, 1, 500),
    CYAML_FIELD_STRING_PTR("key", OPT, struct yaml_tls, key, 1, 500),
    CYAML_FIELD_STRING_PTR("admin_cert", OPT, struct yaml_tls, admin_cert, 1, 500),
    CYAML_FIELD_STRING_PTR("sbi_client_role", OPT, struct yaml_tls, sbi_client_role, 1, 15),
    CYAML_FIELD_END};
static const cyaml_schema_field_t aka_fields[] = {
    CYAML_FIELD_UINT("sqn_block", OPT, struct yaml_aka, sqn_block),
    CYAML_FIELD_UINT("auth_context_ttl_s", OPT, struct yaml_aka, auth_context_ttl_s),
    CYAML_FIELD_UINT("max_synch_failures", OPT, struct yaml_aka, max_synch_failures),
    CYAML_FIELD_UINT("sqn_lease_s", OPT, struct yaml_aka, sqn_lease_s),
    CYAML_FIELD_UINT_PTR("subscription_cache_rows", OPT, struct yaml_aka, subscription_cache_rows),
    CYAML_FIELD_END};
static const cyaml_schema_field_t ipfix_fields[] = {
    CYAML_FIELD_STRING_PTR("udp", OPT, struct yaml_ipfix, udp, 0, 120),
    CYAML_FIELD_STRING_PTR("tcp", OPT, struct yaml_ipfix, tcp, 0, 120),
    CYAML_FIELD_UINT("template_lifetime_s", OPT, struct yaml_ipfix, template_lifetime_s),
    CYAML_FIELD_END};
static const cyaml_schema_field_t kafka_fields[] = {
    CYAML_FIELD_STRING_PTR("brokers", CYAML_FLAG_DEFAULT, struct yaml_kafka, brokers, 1, 500),
    CYAML_FIELD_STRING_PTR("topic", CYAML_FLAG_DEFAULT, struct yaml_kafka, topic, 1, 249),
    CYAML_FIELD_STRING_PTR("group", CYAML_FLAG_DEFAULT, struct yaml_kafka, group, 1, 249),
    CYAML_FIELD_END};
static const cyaml_schema_field_t analytics_fields[] = {
    CYAML_FIELD_UINT("window_s", OPT, struct yaml_analytics, window_s),
    CYAML_FIELD_UINT("pseudonym_rotation_s", OPT, struct yaml_analytics, pseudonym_rotation_s),
    CYAML_FIELD_STRING_PTR("thresholds", OPT, struct yaml_analytics, thresholds, 0, 500),
    CYAML_FIELD_STRING_PTR("key_file", OPT, struct yaml_analytics, key_file, 1, 500),
    CYAML_FIELD_UINT_PTR("findings_retention_days", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         struct yaml_analytics, findings_retention_days),
    CYAML_FIELD_MAPPING_PTR("ipfix", OPT, struct yaml_analytics, ipfix, ipfix_fields),
    CYAML_FIELD_MAPPING_PTR("kafka", OPT, struct yaml_analytics, kafka, kafka_fields),
    CYAML_FIELD_END};
static const cyaml_schema_value_t allow_entry_schema = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, 128)};
static const cyaml_schema_field_t policy_fields[] = {
    CYAML_FIELD_BOOL("nftables", OPT, struct yaml_policy, nftables),
    CYAML_FIELD_BOOL("webhook_http_loopback", OPT, struct yaml_policy, webhook_http_loopback),
    CYAML_FIELD_SEQUENCE("webhook_allow", CYAML_FLAG_POINTER | OPT, struct yaml_policy,
                         webhook_allow, &allow_entry_schema, 0, OUTBOUND_ALLOW_MAX),
    CYAML_FIELD_STRING_PTR("webhook_ca", OPT, struct yaml_policy, webhook_ca, 1, 500),
    CYAML_FIELD_END};
static const cyaml_schema_field_t console_fields[] = {
    CYAML_FIELD_STRING_PTR("listen", OPT, struct yaml_console, listen, 0, 120),
    CYAML_FIELD_UINT("session_idle_s", OPT, struct yaml_console, session_idle_s),
    CYAML_FIELD_UINT("session_absolute_s", OPT, struct yaml_console, session_absolute_s),
    CYAML_FIELD_END};
static const cyaml_schema_field_t subscriber_fields[] = {
    CYAML_FIELD_UINT("expiry_sweep_s", OPT, struct yaml_subscriber, expiry_sweep_s),
    CYAML_FIELD_END};
static const cyaml_schema_field_t location_fields[] = {
    CYAML_FIELD_STRING_PTR("granularity", OPT, struct yaml_location, granularity, 2, 4),
    CYAML_FIELD_UINT("k_anonymity", OPT, struct yaml_location, k_anonymity),
    CYAML_FIELD_UINT("counts_per_minute", OPT, struct yaml_location, counts_per_minute),
    CYAML_FIELD_BOOL("notify_http_loopback", OPT, struct yaml_location, notify_http_loopback),
    CYAML_FIELD_STRING_PTR("notify_ca", OPT, struct yaml_location, notify_ca, 1, 500),
    CYAML_FIELD_UINT_PTR("history_max_fixes", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         struct yaml_location, history_max_fixes),
    CYAML_FIELD_UINT_PTR("history_days", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         struct yaml_location, history_days),
    CYAML_FIELD_END};
static const cyaml_schema_value_t path_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, CONFIG_PATH_MAX - 1)};
static const cyaml_schema_value_t range_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, 63)};
static const cyaml_schema_value_t ri_entry = {CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, 4)};
static const cyaml_schema_field_t nrf_fields[] = {
    CYAML_FIELD_STRING_PTR("url", OPT, struct yaml_nrf, url, 0, CONFIG_PATH_MAX - 1),
    CYAML_FIELD_STRING_PTR("ca_file", OPT, struct yaml_nrf, ca_file, 0, CONFIG_PATH_MAX - 1),
    CYAML_FIELD_STRING_PTR("client_cert", OPT, struct yaml_nrf, client_cert, 0,
                           CONFIG_PATH_MAX - 1),
    CYAML_FIELD_STRING_PTR("client_key", OPT, struct yaml_nrf, client_key, 0, CONFIG_PATH_MAX - 1),
    CYAML_FIELD_STRING_PTR("advertise", OPT, struct yaml_nrf, advertise, 0, 127),
    CYAML_FIELD_STRING_PTR("nf_set_id", OPT, struct yaml_nrf, nf_set_id, 0, 63),
    CYAML_FIELD_STRING_PTR("instance_id", OPT, struct yaml_nrf, instance_id, 0, 36),
    CYAML_FIELD_UINT("heartbeat_s", OPT, struct yaml_nrf, heartbeat_s),
    CYAML_FIELD_UINT("capacity", OPT, struct yaml_nrf, capacity),
    CYAML_FIELD_UINT("priority", OPT, struct yaml_nrf, priority),
    CYAML_FIELD_SEQUENCE("supi_ranges", CYAML_FLAG_POINTER | OPT, struct yaml_nrf, supi_ranges,
                         &range_entry, 0, CONFIG_LIST_MAX),
    CYAML_FIELD_SEQUENCE("routing_indicators", CYAML_FLAG_POINTER | OPT, struct yaml_nrf,
                         routing_indicators, &ri_entry, 0, CONFIG_LIST_MAX),
    CYAML_FIELD_SEQUENCE("token_keys", CYAML_FLAG_POINTER | OPT, struct yaml_nrf, token_keys,
                         &path_entry, 0, 4),
    CYAML_FIELD_END};
static const cyaml_schema_field_t oauth2_fields[] = {
    CYAML_FIELD_BOOL("sbi", OPT, struct yaml_oauth2, sbi),
    CYAML_FIELD_BOOL("cert_identity", OPT, struct yaml_oauth2, cert_identity),
    CYAML_FIELD_UINT("leeway_s", OPT, struct yaml_oauth2, leeway_s),
    CYAML_FIELD_STRING_PTR("northbound_issuer", OPT, struct yaml_oauth2, northbound_issuer, 0,
                           CONFIG_PATH_MAX - 1),
    CYAML_FIELD_END};
static const cyaml_schema_field_t config_fields[] = {
    CYAML_FIELD_MAPPING_PTR("nrf", OPT, struct yaml_config, nrf, nrf_fields),
    CYAML_FIELD_MAPPING_PTR("oauth2", OPT, struct yaml_config, oauth2, oauth2_fields),
    CYAML_FIELD_MAPPING_PTR("location", OPT, struct yaml_config, location, location_fields),
    CYAML_FIELD_MAPPING_PTR("plmn", OPT, struct yaml_config, plmn, plmn_fields),
    CYAML_FIELD_MAPPING_PTR("storage", OPT, struct yaml_config, storage, storage_fields),
    CYAML_FIELD_MAPPING_PTR("store", OPT, struct yaml_config, store, store_fields),
    CYAML_FIELD_MAPPING_PTR("listen", OPT, struct yaml_config, listen, listen_fields),
    CYAML_FIELD_MAPPING_PTR("tls", OPT, struct yaml_config, tls, tls_fields),
    CYAML_FIELD_MAPPING_PTR("aka", OPT, struct yaml_config, aka, aka_fields),
    CYAML_FIELD_MAPPING_PTR("analytics", OPT, struct yaml_config, analytics, analytics_fields),
    CYAML_FIELD_MAPPING_PTR("policy", OPT, struct yaml_config, policy, policy_fields),
    CYAML_FIELD_MAPPING_PTR("subscriber", OPT, struct yaml_config, subscriber, subscriber_fields),
    CYAML_FIELD_MAPPING_PTR("console", OPT, struct yaml_config, console, console_fields),
    CYAML_FIELD_UINT("workers", OPT, struct yaml_config, workers),
    CYAML_FIELD_STRING_PTR("log_level", OPT, struct yaml_config, log_level, 4, 5),
    CYAML_FIELD_END};
static const cyaml_schema_value_t config_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct yaml_config, config_fields)};

void config_defaults(struct config *c, const char *dir)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
    strcpy(c->mcc, "001");
    strcpy(c->mnc, "01");
    strcpy(c->database, "iotsec.db");
    strcpy(c->store_backend, "sqlite");
    strcpy(c->kek_file, "kek.key");
    strcpy(c->sbi_listen, "127.0.0.1:7777");
    strcpy(c->admin_listen, "127.0.0.1:7443");
    strcpy(c->northbound_listen, "127.0.0.1:8443");
    strcpy(c->device_listen, "127.0.0.1:8444");
    strcpy(c->tls_ca, "pki/ca.crt");
    strcpy(c->tls_cert, "pki/server.crt");
    strcpy(c->tls_key, "pki/server.key");
    strcpy(c->admin_cert, "pki/admin.crt");
    strcpy(c->sbi_client_role, "nf");
    c->sqn_block = 1000;
    c->auth_ctx_ttl_s = 30;
    c->max_synch_failures = 2;
    c->sqn_lease_s = 30;
    c->sub_cache_rows = 1u << 18;
    strcpy(c->log_level, "info");
    c->an_window_s = 60;
    strcpy(c->an_key_file, "analytics.key");
    c->an_rotate_s = 30 * 86400;
    c->an_findings_retention_days = 90;
    strcpy(c->loc_granularity, "cell");
    c->loc_k_anonymity = 10;
    c->loc_history_max_fixes = LOC_HISTORY_MAX_FIXES_DEFAULT;
    c->loc_history_days = LOC_HISTORY_DAYS_DEFAULT;
    c->loc_counts_per_minute = 6;
    c->expiry_sweep_s = 60;
    c->console_idle_s = 900;
    c->console_absolute_s = 28800;
    c->nrf.capacity = 100;
    c->nrf.priority = 1;
    c->nrf.oauth2_leeway_s = 30;
}

static void set(char *dst, size_t cap, const char *src)
{
    if (src != NULL)
        snprintf(dst, cap, "%s", src);
}

static int all_digits(const char *s)
{
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

static void load_nrf(const struct yaml_config *y, struct config_nrf *n)
{
    const struct yaml_nrf *r = y->nrf;
    if (r != NULL) {
        set(n->url, sizeof(n->url), r->url);
        set(n->ca_file, sizeof(n->ca_file), r->ca_file);
        set(n->client_cert, sizeof(n->client_cert), r->client_cert);
        set(n->client_key, sizeof(n->client_key), r->client_key);
        set(n->advertise, sizeof(n->advertise), r->advertise);
        set(n->nf_set_id, sizeof(n->nf_set_id), r->nf_set_id);
        set(n->instance_id, sizeof(n->instance_id), r->instance_id);
        n->heartbeat_s = r->heartbeat_s;
        if (r->capacity)
            n->capacity = r->capacity;
        if (r->priority)
            n->priority = r->priority;
        for (unsigned i = 0; i < r->supi_ranges_count; i++)
            set(n->supi_ranges[i], sizeof(n->supi_ranges[i]), r->supi_ranges[i]);
        n->n_supi_ranges = r->supi_ranges_count;
        for (unsigned i = 0; i < r->routing_indicators_count; i++)
            set(n->routing_indicators[i], sizeof(n->routing_indicators[i]),
                r->routing_indicators[i]);
        n->n_routing_indicators = r->routing_indicators_count;
        for (unsigned i = 0; i < r->token_keys_count; i++)
            set(n->token_keys[i], sizeof(n->token_keys[i]), r->token_keys[i]);
        n->n_token_keys = r->token_keys_count;
    }
    if (y->oauth2 != NULL) {
        n->oauth2_sbi = y->oauth2->sbi;
        n->oauth2_cert_identity = y->oauth2->cert_identity;
        if (y->oauth2->leeway_s)
            n->oauth2_leeway_s = y->oauth2->leeway_s;
        set(n->northbound_issuer, sizeof(n->northbound_issuer), y->oauth2->northbound_issuer);
    }
}

/* The nrf and oauth2 sections: what cannot work is refused at start, not at first use. */
static int check_nrf(const struct config_nrf *n, const char *path, char *err, size_t err_len)
{
    if (n->url[0] && strncmp(n->url, "https://", 8) != 0 && strncmp(n->url, "http://", 7) != 0) {
        snprintf(err, err_len, "%s: nrf.url is an http:// or https:// URL", path);
        return IOTSEC_ERR_INVALID;
    }
    if (n->northbound_issuer[0] &&
        (strncmp(n->northbound_issuer, "https://", 8) != 0 || strlen(n->northbound_issuer) > 159)) {
        snprintf(err, err_len,
                 "%s: oauth2.northbound_issuer is an https:// URL of at most 159 "
                 "characters",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (n->capacity > 65535 || n->priority > 65535 || (n->heartbeat_s > 86400)) {
        snprintf(err, err_len,
                 "%s: nrf.capacity and nrf.priority are 0..65535, "
                 "nrf.heartbeat_s 0..86400",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    for (unsigned i = 0; i < n->n_routing_indicators; i++) {
        if (!all_digits(n->routing_indicators[i])) {
            snprintf(err, err_len, "%s: nrf.routing_indicators are 1-4 digits", path);
            return IOTSEC_ERR_INVALID;
        }
    }
    for (unsigned i = 0; i < n->n_supi_ranges; i++) {
        const char *r = n->supi_ranges[i], *dash = strchr(r, '-');
        char start[64];
        snprintf(start, sizeof(start), "%.*s", dash ? (int)(dash - r) : 0, r);
        if (r[0] != '^' && (dash == NULL || !start[0] || !dash[1] || !all_digits(start) ||
                            !all_digits(dash + 1))) {
            snprintf(err, err_len,
                     "%s: nrf.supi_ranges are \"START-END\" (digits) or a "
                     "pattern starting with ^",
                     path);
            return IOTSEC_ERR_INVALID;
        }
    }
    if (n->oauth2_sbi && (n->n_token_keys == 0 || strlen(n->instance_id) != 36)) {
        snprintf(err, err_len,
                 "%s: oauth2.sbi needs nrf.instance_id (the NRF's nfInstanceId) "
                 "and nrf.token_keys (its public keys)",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (n->oauth2_leeway_s > 300) {
        snprintf(err, err_len, "%s: oauth2.leeway_s is 0..300", path);
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

int config_load(const char *path, struct config *c, char *err, size_t err_len)
{
    struct config_yaml_log log = {.len = 0};
    const cyaml_config_t cfg = {.log_fn = config_yaml_log,
                                .log_ctx = &log,
                                .mem_fn = cyaml_mem,
                                .log_level = CYAML_LOG_ERROR,
                                .flags = CYAML_CFG_DEFAULT | CYAML_CFG_NO_ALIAS};
    struct yaml_config *y = NULL;
    cyaml_err_t rc = cyaml_load_file(path, &cfg, &config_schema, (cyaml_data_t **)&y, NULL);
    if (rc != CYAML_OK) {
        config_yaml_explain(path, rc, &log, err, err_len); /* names the key and the line */
        return rc == CYAML_ERR_FILE_OPEN ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_INVALID;
    }
    if (y == NULL) { /* an empty document (or only comments) loads as nothing */
        snprintf(err, err_len, "%s: the file holds no configuration", path);
        return IOTSEC_ERR_INVALID;
    }
    if (y->plmn) {
        set(c->mcc, sizeof(c->mcc), y->plmn->mcc);
        set(c->mnc, sizeof(c->mnc), y->plmn->mnc);
    }
    if (y->storage) {
        set(c->database, sizeof(c->database), y->storage->database);
        set(c->kek_file, sizeof(c->kek_file), y->storage->kek_file);
        c->store_cache_kib = y->storage->cache_kib;
    }
    if (y->store) {
        if (y->store->backend != NULL && strcmp(y->store->backend, "sqlite") != 0 &&
            strcmp(y->store->backend, "postgresql") != 0) {
            snprintf(err, err_len, "%s: store.backend is sqlite or postgresql", path);
            cyaml_free(&cfg, &config_schema, y, 0);
            return IOTSEC_ERR_INVALID;
        }
        set(c->store_backend, sizeof(c->store_backend), y->store->backend);
        set(c->store_url, sizeof(c->store_url), y->store->url);
        if (strcmp(c->store_backend, "postgresql") == 0 &&
            strncmp(c->store_url, "postgresql://", 13) != 0 &&
            strncmp(c->store_url, "postgres://", 11) != 0) {
            snprintf(err, err_len, "%s: store.url must be a postgresql:// URI", path);
            cyaml_free(&cfg, &config_schema, y, 0);
            return IOTSEC_ERR_INVALID;
        }
    }
    if (y->listen) {
        set(c->sbi_listen, sizeof(c->sbi_listen), y->listen->sbi);
        set(c->sbi_h2c_listen, sizeof(c->sbi_h2c_listen), y->listen->sbi_h2c);
        set(c->admin_listen, sizeof(c->admin_listen), y->listen->admin);
        set(c->northbound_listen, sizeof(c->northbound_listen), y->listen->northbound);
        set(c->device_listen, sizeof(c->device_listen), y->listen->device);
    }
    if (y->tls) {
        set(c->tls_ca, sizeof(c->tls_ca), y->tls->ca);
        set(c->tls_cert, sizeof(c->tls_cert), y->tls->cert);
        set(c->tls_key, sizeof(c->tls_key), y->tls->key);
        set(c->admin_cert, sizeof(c->admin_cert), y->tls->admin_cert);
        set(c->sbi_client_role, sizeof(c->sbi_client_role), y->tls->sbi_client_role);
    }
    if (y->aka) {
        if (y->aka->sqn_block)
            c->sqn_block = y->aka->sqn_block;
        if (y->aka->auth_context_ttl_s)
            c->auth_ctx_ttl_s = y->aka->auth_context_ttl_s;
        if (y->aka->max_synch_failures)
            c->max_synch_failures = y->aka->max_synch_failures;
        if (y->aka->sqn_lease_s)
            c->sqn_lease_s = y->aka->sqn_lease_s;
        if (y->aka->subscription_cache_rows)
            c->sub_cache_rows = *y->aka->subscription_cache_rows;
    }
    if (y->analytics) {
        if (y->analytics->window_s)
            c->an_window_s = y->analytics->window_s;
        c->an_rotate_s = y->analytics->pseudonym_rotation_s; /* 0: never */
        set(c->an_thresholds, sizeof(c->an_thresholds), y->analytics->thresholds);
        set(c->an_key_file, sizeof(c->an_key_file), y->analytics->key_file);
        if (y->analytics->findings_retention_days)
            c->an_findings_retention_days = *y->analytics->findings_retention_days;
        if (y->analytics->ipfix) {
            set(c->an_ipfix_udp, sizeof(c->an_ipfix_udp), y->analytics->ipfix->udp);
            set(c->an_ipfix_tcp, sizeof(c->an_ipfix_tcp), y->analytics->ipfix->tcp);
            c->an_ipfix_lifetime_s = y->analytics->ipfix->template_lifetime_s;
        }
        if (y->analytics->kafka) {
            set(c->an_kafka_brokers, sizeof(c->an_kafka_brokers), y->analytics->kafka->brokers);
            set(c->an_kafka_topic, sizeof(c->an_kafka_topic), y->analytics->kafka->topic);
            set(c->an_kafka_group, sizeof(c->an_kafka_group), y->analytics->kafka->group);
        }
    }
    bool bad_allow = false;
    if (y->policy) {
        c->policy_nftables = y->policy->nftables;
        c->webhook_http_loopback = y->policy->webhook_http_loopback;
        set(c->webhook_ca, sizeof(c->webhook_ca), y->policy->webhook_ca);
        /* checked and kept in the canonical form outbound_allow_parse reads back */
        struct outbound_rules r = {0};
        const char *why;
        for (unsigned i = 0; i < y->policy->webhook_allow_count && !bad_allow; i++)
            bad_allow = strchr(y->policy->webhook_allow[i], ',') != NULL ||
                        outbound_allow_parse(y->policy->webhook_allow[i], &r, &why) != IOTSEC_OK ||
                        r.n_allow != i + 1;
        outbound_allow_format(&r, c->webhook_allow, sizeof(c->webhook_allow));
    }
    bool bad_sweep = y->subscriber &&
                     (y->subscriber->expiry_sweep_s < 1 || y->subscriber->expiry_sweep_s > 86400);
    if (y->subscriber)
        c->expiry_sweep_s = y->subscriber->expiry_sweep_s;
    if (y->console) {
        set(c->console_listen, sizeof(c->console_listen), y->console->listen);
        if (y->console->session_idle_s)
            c->console_idle_s = y->console->session_idle_s;
        if (y->console->session_absolute_s)
            c->console_absolute_s = y->console->session_absolute_s;
    }
    c->workers = y->workers;
    set(c->log_level, sizeof(c->log_level), y->log_level);
    if (y->location) {
        set(c->loc_granularity, sizeof(c->loc_granularity), y->location->granularity);
        if (y->location->k_anonymity)
            c->loc_k_anonymity = y->location->k_anonymity;
        if (y->location->counts_per_minute)
            c->loc_counts_per_minute = y->location->counts_per_minute;
        c->notify_http_loopback = y->location->notify_http_loopback;
        if (y->location->history_max_fixes)
            c->loc_history_max_fixes = *y->location->history_max_fixes;
        if (y->location->history_days)
            c->loc_history_days = *y->location->history_days;
        set(c->notify_ca, sizeof(c->notify_ca), y->location->notify_ca);
    }
    load_nrf(y, &c->nrf);
    cyaml_free(&cfg, &config_schema, y, 0);

    if (bad_allow) {
        snprintf(err, err_len,
                 "%s: policy.webhook_allow is a list of CIDR[:port] "
                 "(a.b.c.d[/n][:port], [v6addr][/n][:port])",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (strcmp(c->sbi_client_role, "nf") != 0 && strcmp(c->sbi_client_role, "not_admin") != 0) {
        snprintf(err, err_len, "%s: tls.sbi_client_role is nf or not_admin", path);
        return IOTSEC_ERR_INVALID;
    }
    if (bad_sweep) {
        snprintf(err, err_len, "%s: subscriber.expiry_sweep_s is 1..86400", path);
        return IOTSEC_ERR_INVALID;
    }
    if (!all_digits(c->mcc) || !all_digits(c->mnc)) {
        snprintf(err, err_len, "%s: plmn.mcc and plmn.mnc must be digits", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->an_window_s > 86400 || (c->an_rotate_s != 0 && c->an_rotate_s < 60) ||
        c->an_findings_retention_days > 3650 || c->an_ipfix_lifetime_s > 86400) {
        snprintf(err, err_len,
                 "%s: analytics.window_s <= 86400, analytics.pseudonym_rotation_s "
                 "0 (never) or >= 60, analytics.findings_retention_days 0 (kept "
                 "forever) to 3650, analytics.ipfix.template_lifetime_s <= 86400",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (strcmp(c->loc_granularity, "cell") != 0 && strcmp(c->loc_granularity, "ta") != 0) {
        snprintf(err, err_len, "%s: location.granularity is cell or ta", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->loc_history_max_fixes > 100000 || c->loc_history_days > 3650) {
        snprintf(err, err_len,
                 "%s: location.history_max_fixes 0 (no history) to 100000, "
                 "location.history_days 0 (no age limit) to 3650",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->sqn_block > 1000000 || c->auth_ctx_ttl_s > 3600 || c->workers > 256) {
        snprintf(err, err_len,
                 "%s: aka.sqn_block <= 1000000, aka.auth_context_ttl_s <= 3600, "
                 "workers <= 256",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->store_cache_kib != 0 && (c->store_cache_kib < 64 || c->store_cache_kib > 4194304)) {
        snprintf(err, err_len, "%s: storage.cache_kib is 0 (default) or 64..4194304", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->sqn_lease_s < 6 || c->sqn_lease_s > 3600) {
        snprintf(err, err_len, "%s: aka.sqn_lease_s is 6..3600", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->sub_cache_rows > 100000000) { /* ~20 GB: beyond any machine this runs on */
        snprintf(err, err_len, "%s: aka.subscription_cache_rows <= 100000000", path);
        return IOTSEC_ERR_INVALID;
    }
    return check_nrf(&c->nrf, path, err, err_len);
}

int config_write(const struct config *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return IOTSEC_ERR_IO;
    fprintf(
        f,
        "# iotsec instance configuration (iotsecd run --dir %s).\n"
        "# Relative paths are relative to the instance directory.\n"
        "plmn:\n  mcc: \"%s\"\n  mnc: \"%s\"\n"
        "storage:\n  database: %s\n  kek_file: %s   # 0600; iotsecd refuses a readable one\n"
        "listen:\n"
        "  sbi: \"%s\"        # HTTP/2 over TLS, NF client certificates\n"
        "  sbi_h2c: \"%s\"    # cleartext h2c for labs (empty: off)\n"
        "  admin: \"%s\"      # HTTPS, admin client certificate\n"
        "  northbound: \"%s\" # HTTPS, application servers (AF certificates)\n"
        "  device: \"%s\"     # HTTPS, device onboarding and gateways\n"
        "tls:\n  ca: %s\n  cert: %s\n  key: %s\n  admin_cert: %s\n"
        "  sbi_client_role: %s   # nf: SBI clients need an NF certificate (docs/operations.md)\n"
        "aka:\n  sqn_block: %u\n  auth_context_ttl_s: %u\n  max_synch_failures: %u\n"
        "workers: %u          # 0: one per CPU\n"
        "log_level: %s\n"
        "analytics:\n  window_s: %u\n  pseudonym_rotation_s: %u   # 0: never\n"
        "  key_file: %s   # the pseudonym key, sealed under the KEK\n"
        "  findings_retention_days: %u   # findings kept as evidence; 0: forever\n"
        "  # ipfix:     # IPFIX collector (UPFs, routers), off (docs/analytics.md)\n"
        "  #   udp: \"0.0.0.0:4739\"\n"
        "  #   tcp: \"0.0.0.0:4739\"\n"
        "  # kafka:     # pmacct records from Kafka, off\n"
        "  #   brokers: \"kafka1:9092\"\n"
        "  #   topic: pmacct.flows\n"
        "  #   group: iotsecd\n"
        "# nrf:        # registration with the operator's NRF, off (docs/operations.md)\n"
        "#   url: https://nrf.5gc.lab:8443\n"
        "# oauth2:     # NRF-issued access tokens required on the SBI, off\n"
        "#   sbi: true\n",
        c->dir, c->mcc, c->mnc, c->database, c->kek_file, c->sbi_listen, c->sbi_h2c_listen,
        c->admin_listen, c->northbound_listen, c->device_listen, c->tls_ca, c->tls_cert, c->tls_key,
        c->admin_cert, c->sbi_client_role, c->sqn_block, c->auth_ctx_ttl_s, c->max_synch_failures,
        c->workers, c->log_level, c->an_window_s, c->an_rotate_s, c->an_key_file,
        c->an_findings_retention_days);
    if (strcmp(c->store_backend, "postgresql") == 0)
        fprintf(f,
                "store:   # the database of record (storage.database is then unused)\n"
                "  backend: postgresql\n"
                "  url: \"%s\"   # password: PGPASSFILE / ~/.pgpass, not here\n",
                c->store_url);
    return fclose(f) == 0 ? IOTSEC_OK : IOTSEC_ERR_IO;
}

int config_store_target(const struct config *c, char *out, size_t len)
{
    if (strcmp(c->store_backend, "postgresql") == 0) {
        if ((size_t)snprintf(out, len, "%s", c->store_url) >= len)
            return IOTSEC_ERR_INVALID;
        return IOTSEC_OK;
    }
    config_path(c, c->database, out, len);
    return IOTSEC_OK;
}

void config_path(const struct config *c, const char *rel, char *out, size_t len)
{
    if (rel[0] == '/')
        snprintf(out, len, "%s", rel);
    else
        snprintf(out, len, "%s/%s", c->dir, rel);
}
