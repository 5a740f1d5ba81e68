/* The daemon's configuration: DIR/iotsec.yaml, written by `iotsecd init` and read by
 * `iotsecd run`. Relative paths in it are relative to the instance directory. */
#ifndef IOTSEC_DAEMON_CONFIG_H
#define IOTSEC_DAEMON_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX 512

#define CONFIG_LIST_MAX 16

/* Registration with the operator's NRF and its access tokens on the SBI. */
struct config_nrf {
    char url[CONFIG_PATH_MAX];       /* NRF API root; "" = registration off */
    char ca_file[CONFIG_PATH_MAX];   /* "" = the system store */
    char client_cert[CONFIG_PATH_MAX], client_key[CONFIG_PATH_MAX]; /* "" = tls.cert/key */
    char advertise[128];             /* host in the NF profile; "" = the SBI listen host */
    char nf_set_id[64];              /* the Set ID of TS 23.003 §28.12; "" = no set */
    unsigned heartbeat_s;            /* proposed heartBeatTimer; 0 = the NRF decides */
    unsigned capacity, priority;     /* 100, 1 */
    char supi_ranges[CONFIG_LIST_MAX][64];   /* "start-end" or a pattern "^imsi-..." */
    unsigned n_supi_ranges;
    char routing_indicators[CONFIG_LIST_MAX][8];
    unsigned n_routing_indicators;
    char instance_id[40];            /* the NRF's nfInstanceId: the iss of its tokens */
    char token_keys[4][CONFIG_PATH_MAX]; /* NRF public keys (PEM key or certificate) */
    unsigned n_token_keys;
    int oauth2_sbi;                  /* oauth2.sbi: the SBI requires NRF tokens */
    int oauth2_cert_identity;        /* oauth2.cert_identity: sub = client cert's urn:uuid */
    unsigned oauth2_leeway_s;        /* clock skew tolerated (30) */
    /* oauth2.northbound_issuer: the iss of the tokens the northbound face issues and accepts;
     * every instance of a cluster names the same one (default: https:// + listen.northbound) */
    char northbound_issuer[CONFIG_PATH_MAX];
};

struct config {
    char dir[CONFIG_PATH_MAX]; /* the instance directory */
    char source[CONFIG_PATH_MAX + 16]; /* the file it was read from (SIGHUP reads it again) */
    char mcc[4], mnc[4];
    char database[CONFIG_PATH_MAX]; /* SQLite: the database file */
    char store_backend[16];         /* "sqlite" (default) or "postgresql" (section "store:") */
    char store_url[1024];           /* PostgreSQL: a libpq URI (multi-host allowed) */
    char kek_file[CONFIG_PATH_MAX];
    unsigned store_cache_kib; /* SQLite page cache per connection; 0 = the store's default */
    char sbi_listen[128];     /* TLS + h2, NF client certificates */
    char sbi_h2c_listen[128]; /* cleartext h2c for labs; "" = off */
    char admin_listen[128];   /* HTTPS, admin client certificate */
    char northbound_listen[128]; /* HTTPS, AF client certificates (any CA, pinned) */
    char device_listen[128];  /* HTTPS, devices and gateways (factory certificates optional) */
    /* console: (docs/console.md) the operator console's HTTPS face; "" = off (the default) */
    char console_listen[128];
    unsigned console_idle_s, console_absolute_s; /* session timeouts (900, 28800) */
    char tls_ca[CONFIG_PATH_MAX], tls_cert[CONFIG_PATH_MAX], tls_key[CONFIG_PATH_MAX];
    char admin_cert[CONFIG_PATH_MAX]; /* the admin client certificate (pinned) */
    /* Which certificates of the CA the SBI face takes (tls.sbi_client_role): "nf" (default)
     * only NF certificates, those naming an NF instance (SAN URI urn:uuid:...); "not_admin"
     * any but the admin certificate (NF certificates issued without the instance ID). */
    char sbi_client_role[16];
    unsigned workers;             /* 0 = one per CPU */
    unsigned sqn_block;           /* SEQs reserved durably per database write */
    unsigned auth_ctx_ttl_s;      /* how long an AUSF authentication context lives */
    unsigned max_synch_failures;  /* consecutive resynchronisations before rejecting */
    unsigned sqn_lease_s;         /* the SQN slot's lease (6..3600; renewed every third) */
    unsigned sub_cache_rows;      /* subscriptions cached for authentication; 0: off */
    char log_level[16];
    /* analytics: (docs/analytics.md) */
    unsigned an_window_s;                 /* window length, seconds (60) */
    char an_thresholds[CONFIG_PATH_MAX];  /* JSON thresholds file; "" = the defaults */
    char an_key_file[CONFIG_PATH_MAX];    /* the sealed pseudonym key (analytics.key) */
    unsigned an_rotate_s;                 /* pseudonym key rotation period; 0 = never */
    unsigned an_findings_retention_days;  /* persisted findings kept (90); 0 = forever */
    char an_ipfix_udp[128], an_ipfix_tcp[128]; /* IPFIX collector addresses; "" = off */
    unsigned an_ipfix_lifetime_s;              /* UDP template lifetime; 0 = 1800 */
    char an_kafka_brokers[512];                /* "" = no Kafka consumer */
    char an_kafka_topic[256], an_kafka_group[256];
    /* subscriber: */
    unsigned expiry_sweep_s; /* how often expired credentials are marked (60; 1..86400) */
    /* policy: (docs/policy.md) */
    int policy_nftables; /* quarantined UE addresses in an nftables set (needs CAP_NET_ADMIN) */
    int webhook_http_loopback;        /* lab switch: webhooks over plain http to loopback */
    char webhook_allow[1024];         /* webhook destinations allowed besides public addresses
                                       * (CIDR[:port],...: http/outbound.h) */
    char webhook_ca[CONFIG_PATH_MAX]; /* CA file for webhook servers ("": system store) */
    /* location and T8 monitoring (section "location:") */
    char loc_granularity[8];      /* "cell" or "ta": the finest location reported to AFs */
    unsigned loc_k_anonymity;     /* area counts below are withheld (default 10) */
    unsigned loc_counts_per_minute; /* area counts per AF per minute (default 6) */
    unsigned loc_history_max_fixes; /* fixes kept per device (default 100; 0: no history) */
    unsigned loc_history_days;      /* fixes older are deleted (default 30; 0: no age limit) */
    int notify_http_loopback;     /* 1: http:// notification destinations on loopback (labs) */
    char notify_ca[CONFIG_PATH_MAX]; /* CA file for AF notification servers ("": system store) */
    struct config_nrf nrf; /* section "nrf:", and "oauth2:" for the SBI (docs/operations.md) */
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
