/* The daemon's configuration: DIR/iotsec.yaml, written by `iotsecd init` and read by
 * `iotsecd run`. Relative paths in it are relative to the instance directory. */
#ifndef IOTSEC_DAEMON_CONFIG_H
#define IOTSEC_DAEMON_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX 512

struct config {
    char dir[CONFIG_PATH_MAX]; /* the instance directory */
    char mcc[4], mnc[4];
    char database[CONFIG_PATH_MAX]; /* SQLite: the database file */
    char store_backend[16];         /* "sqlite" (default) or "postgresql" (section "store:") */
    char store_url[1024];           /* PostgreSQL: a libpq URI (multi-host allowed) */
    char kek_file[CONFIG_PATH_MAX];
    char sbi_listen[128];     /* TLS + h2, NF client certificates */
    char sbi_h2c_listen[128]; /* cleartext h2c for labs; "" = off */
    char admin_listen[128];   /* HTTPS, admin client certificate */
    char northbound_listen[128]; /* HTTPS, AF client certificates (any CA, pinned) */
    char device_listen[128];  /* HTTPS, devices and gateways (factory certificates optional) */
    char tls_ca[CONFIG_PATH_MAX], tls_cert[CONFIG_PATH_MAX], tls_key[CONFIG_PATH_MAX];
    char admin_cert[CONFIG_PATH_MAX]; /* the admin client certificate (pinned) */
    unsigned workers;             /* 0 = one per CPU */
    unsigned sqn_block;           /* SEQs reserved durably per database write */
    unsigned auth_ctx_ttl_s;      /* how long an AUSF authentication context lives */
    unsigned max_synch_failures;  /* consecutive resynchronisations before rejecting */
    unsigned sqn_lease_s;         /* the SQN slot's lease (6..3600; renewed every third) */
    char log_level[16];
    /* analytics: (docs/analytics.md) */
    unsigned an_window_s;                 /* window length, seconds (60) */
    char an_thresholds[CONFIG_PATH_MAX];  /* JSON thresholds file; "" = the defaults */
    char an_key_file[CONFIG_PATH_MAX];    /* the sealed pseudonym key (analytics.key) */
    unsigned an_rotate_s;                 /* pseudonym key rotation period; 0 = never */
    unsigned an_findings_retention_days;  /* persisted findings kept (90); 0 = forever */
    /* subscriber: */
    unsigned expiry_sweep_s; /* how often expired credentials are marked (60; 1..86400) */
    /* policy: (docs/policy.md) */
    int policy_nftables; /* quarantined UE addresses in an nftables set (needs CAP_NET_ADMIN) */
    /* location and T8 monitoring (section "location:") */
    char loc_granularity[8];      /* "cell" or "ta": the finest location reported to AFs */
    unsigned loc_k_anonymity;     /* area counts below are withheld (default 10) */
    unsigned loc_counts_per_minute; /* area counts per AF per minute (default 6) */
    int notify_http_loopback;     /* 1: http:// notification destinations on loopback (labs) */
    char notify_ca[CONFIG_PATH_MAX]; /* CA file for AF notification servers ("": system store) */
};

/* Defaults for an instance in dir. */
void config_defaults(struct config *c, const char *dir);

/* Loads path (YAML). Unknown keys are errors (a typo must not silently fall back to a
 * default). Returns IOTSEC_OK or an error with a message in err. */
int config_load(const char *path, struct config *c, char *err, size_t err_len);

/* Writes c as YAML to path (mode 0644; it holds no secret). */
int config_write(const struct config *c, const char *path);

/* The store's target: the SQLite file's path, or the PostgreSQL URI. */
int config_store_target(const struct config *c, char *out, size_t len);

/* Resolves a config path against the instance directory into out. */
void config_path(const struct config *c, const char *rel, char *out, size_t len);

#endif
