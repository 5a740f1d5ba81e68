#include "daemon/config.h"

#include <cyaml/cyaml.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* The YAML layout, as libcyaml schemas over a parse-time struct of string pointers. */
struct yaml_plmn {
    char *mcc, *mnc;
};
struct yaml_storage {
    char *database, *kek_file;
};
struct yaml_store {
    char *backend, *url;
};
struct yaml_listen {
    char *sbi, *sbi_h2c, *admin, *northbound, *device;
};
struct yaml_tls {
    char *ca, *cert, *key, *admin_cert;
};
struct yaml_aka {
    unsigned sqn_block, auth_context_ttl_s, max_synch_failures, sqn_lease_s;
};
struct yaml_analytics {
    unsigned window_s, pseudonym_rotation_s;
    unsigned *findings_retention_days; /* NULL: the default; 0: kept forever */
    char *thresholds, *key_file;
};
struct yaml_policy {
    bool nftables;
};
struct yaml_subscriber {
    unsigned expiry_sweep_s;
};
struct yaml_location {
    char *granularity, *notify_ca;
    unsigned k_anonymity, counts_per_minute;
    bool notify_http_loopback;
};
struct yaml_config {
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
    CYAML_FIELD_END};
static const cyaml_schema_field_t store_fields[] = {
    CYAML_FIELD_STRING_PTR("backend", OPT, struct yaml_store, backend, 1, 20),
    CYAML_FIELD_STRING_PTR("url", OPT, struct yaml_store, url, 1, 1000),
    CYAML_FIELD_END};
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
    CYAML_FIELD_END};
static const cyaml_schema_field_t aka_fields[] = {
    CYAML_FIELD_UINT("sqn_block", OPT, struct yaml_aka, sqn_block),
    CYAML_FIELD_UINT("auth_context_ttl_s", OPT, struct yaml_aka, auth_context_ttl_s),
    CYAML_FIELD_UINT("max_synch_failures", OPT, struct yaml_aka, max_synch_failures),
    CYAML_FIELD_UINT("sqn_lease_s", OPT, struct yaml_aka, sqn_lease_s),
    CYAML_FIELD_END};
static const cyaml_schema_field_t analytics_fields[] = {
    CYAML_FIELD_UINT("window_s", OPT, struct yaml_analytics, window_s),
    CYAML_FIELD_UINT("pseudonym_rotation_s", OPT, struct yaml_analytics, pseudonym_rotation_s),
    CYAML_FIELD_STRING_PTR("thresholds", OPT, struct yaml_analytics, thresholds, 0, 500),
    CYAML_FIELD_STRING_PTR("key_file", OPT, struct yaml_analytics, key_file, 1, 500),
    CYAML_FIELD_UINT_PTR("findings_retention_days", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                         struct yaml_analytics, findings_retention_days),
    CYAML_FIELD_END};
static const cyaml_schema_field_t policy_fields[] = {
    CYAML_FIELD_BOOL("nftables", OPT, struct yaml_policy, nftables),
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
    CYAML_FIELD_END};
static const cyaml_schema_field_t config_fields[] = {
    CYAML_FIELD_MAPPING_PTR("location", OPT, struct yaml_config, location, location_fields),
    CYAML_FIELD_MAPPING_PTR("plmn", OPT, struct yaml_config, plmn, plmn_fields),
    CYAML_FIELD_MAPPING_PTR("storage", OPT, struct yaml_config, storage, storage_fields),
    CYAML_FIELD_MAPPING_PTR("store", OPT, struct yaml_config, store, store_fields),
    CYAML_FIELD_MAPPING_PTR("listen", OPT, struct yaml_config, listen, listen_fields),
    CYAML_FIELD_MAPPING_PTR("tls", OPT, struct yaml_config, tls, tls_fields),
    CYAML_FIELD_MAPPING_PTR("aka", OPT, struct yaml_config, aka, aka_fields),
    CYAML_FIELD_MAPPING_PTR("analytics", OPT, struct yaml_config, analytics, analytics_fields),
    CYAML_FIELD_MAPPING_PTR("policy", OPT, struct yaml_config, policy, policy_fields),
    CYAML_FIELD_MAPPING_PTR("subscriber", OPT, struct yaml_config, subscriber,
                            subscriber_fields),
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
    c->sqn_block = 1000;
    c->auth_ctx_ttl_s = 30;
    c->max_synch_failures = 2;
    c->sqn_lease_s = 30;
    strcpy(c->log_level, "info");
    c->an_window_s = 60;
    strcpy(c->an_key_file, "analytics.key");
    c->an_rotate_s = 30 * 86400;
    c->an_findings_retention_days = 90;
    strcpy(c->loc_granularity, "cell");
    c->loc_k_anonymity = 10;
    c->loc_counts_per_minute = 6;
    c->expiry_sweep_s = 60;
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

int config_load(const char *path, struct config *c, char *err, size_t err_len)
{
    static const cyaml_config_t cfg = {
        .log_fn = NULL, .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR,
        .flags = CYAML_CFG_DEFAULT | CYAML_CFG_NO_ALIAS};
    struct yaml_config *y = NULL;
    cyaml_err_t rc = cyaml_load_file(path, &cfg, &config_schema, (cyaml_data_t **)&y, NULL);
    if (rc != CYAML_OK) {
        snprintf(err, err_len, "%s: %s", path, cyaml_strerror(rc));
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
    }
    if (y->analytics) {
        if (y->analytics->window_s)
            c->an_window_s = y->analytics->window_s;
        c->an_rotate_s = y->analytics->pseudonym_rotation_s; /* 0: never */
        set(c->an_thresholds, sizeof(c->an_thresholds), y->analytics->thresholds);
        set(c->an_key_file, sizeof(c->an_key_file), y->analytics->key_file);
        if (y->analytics->findings_retention_days)
            c->an_findings_retention_days = *y->analytics->findings_retention_days;
    }
    if (y->policy)
        c->policy_nftables = y->policy->nftables;
    bool bad_sweep = y->subscriber && (y->subscriber->expiry_sweep_s < 1 ||
                                       y->subscriber->expiry_sweep_s > 86400);
    if (y->subscriber)
        c->expiry_sweep_s = y->subscriber->expiry_sweep_s;
    c->workers = y->workers;
    set(c->log_level, sizeof(c->log_level), y->log_level);
    if (y->location) {
        set(c->loc_granularity, sizeof(c->loc_granularity), y->location->granularity);
        if (y->location->k_anonymity)
            c->loc_k_anonymity = y->location->k_anonymity;
        if (y->location->counts_per_minute)
            c->loc_counts_per_minute = y->location->counts_per_minute;
        c->notify_http_loopback = y->location->notify_http_loopback;
        set(c->notify_ca, sizeof(c->notify_ca), y->location->notify_ca);
    }
    cyaml_free(&cfg, &config_schema, y, 0);

    if (bad_sweep) {
        snprintf(err, err_len, "%s: subscriber.expiry_sweep_s is 1..86400", path);
        return IOTSEC_ERR_INVALID;
    }
    if (!all_digits(c->mcc) || !all_digits(c->mnc)) {
        snprintf(err, err_len, "%s: plmn.mcc and plmn.mnc must be digits", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->an_window_s > 86400 || (c->an_rotate_s != 0 && c->an_rotate_s < 60) ||
        c->an_findings_retention_days > 3650) {
        snprintf(err, err_len,
                 "%s: analytics.window_s <= 86400, analytics.pseudonym_rotation_s "
                 "0 (never) or >= 60, analytics.findings_retention_days 0 (kept "
                 "forever) to 3650",
                 path);
        return IOTSEC_ERR_INVALID;
    }
    if (strcmp(c->loc_granularity, "cell") != 0 && strcmp(c->loc_granularity, "ta") != 0) {
        snprintf(err, err_len, "%s: location.granularity is cell or ta", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->sqn_block > 1000000 || c->auth_ctx_ttl_s > 3600 || c->workers > 256) {
        snprintf(err, err_len, "%s: aka.sqn_block <= 1000000, aka.auth_context_ttl_s <= 3600, "
                               "workers <= 256", path);
        return IOTSEC_ERR_INVALID;
    }
    if (c->sqn_lease_s < 6 || c->sqn_lease_s > 3600) {
        snprintf(err, err_len, "%s: aka.sqn_lease_s is 6..3600", path);
        return IOTSEC_ERR_INVALID;
    }
    return IOTSEC_OK;
}

int config_write(const struct config *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return IOTSEC_ERR_IO;
    fprintf(f,
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
            "aka:\n  sqn_block: %u\n  auth_context_ttl_s: %u\n  max_synch_failures: %u\n"
            "workers: %u          # 0: one per CPU\n"
            "log_level: %s\n"
            "analytics:\n  window_s: %u\n  pseudonym_rotation_s: %u   # 0: never\n"
            "  key_file: %s   # the pseudonym key, sealed under the KEK\n"
            "  findings_retention_days: %u   # findings kept as evidence; 0: forever\n",
            c->dir, c->mcc, c->mnc, c->database, c->kek_file, c->sbi_listen, c->sbi_h2c_listen,
            c->admin_listen, c->northbound_listen, c->device_listen, c->tls_ca, c->tls_cert,
            c->tls_key, c->admin_cert, c->sqn_block, c->auth_ctx_ttl_s, c->max_synch_failures,
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
