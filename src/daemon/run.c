/* iotsecd run: wires the faces to the capabilities and serves until SIGTERM/SIGINT. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aka/aka.h"
#include "analytics/analytics.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "crypto/seal.h"
#include "daemon/bridges.h"
#include "daemon/console_wire.h"
#include "daemon/daemon.h"
#include "daemon/device_view.h"
#include "daemon/flow_inputs.h"
#include "daemon/kek_columns.h"
#include "daemon/nrf_wire.h"
#include "daemon/openapi.h"
#include "daemon/pki.h"
#include "expose/northbound.h"
#include "expose/t8.h"
#include "group/group_deliver.h"
#include "group/group_service.h"
#include "group/group_store.h"
#include "http/http.h"
#include "http/query.h"
#include "keys/kek.h"
#include "location/location.h"
#include "pin/pin.h"
#include "policy/policy.h"
#include "provision/provision.h"
#include "subscriber/sub_cache.h"
#include "subscriber/subscriber.h"

#define ADMIN_MAX_BODY    (4u << 20)   /* docs/api.md: every admin body but imports */
#define ADMIN_IMPORT_BODY (256u << 20) /* bulk imports of a million rows */

struct daemon {
    struct config cfg;
    struct seal_kek kek;       /* a handle on ring: seals under the current KEK (keys/kek.h) */
    struct seal_ring *ring;    /* every KEK this instance holds */
    struct kek_rotation *kekr; /* follows the store's current KEK, drives a rotation */
    char kek_path[CONFIG_PATH_MAX + 64];
    char instance[SQN_HOLDER_MAX];
    struct store *store;
    struct suci_keyring *keyring;
    struct aka *aka;
    struct sub_admin admin;
    struct analytics *analytics;
    struct flow_inputs *flows; /* analytics.ipfix, analytics.kafka: flows from sockets */
    struct policy_service *policy;
    struct policy_nft *nft;       /* policy.nftables: on */
    struct group_service *groups; /* group messaging: groups, key trees (docs/group.md) */
    struct group_delivery *gdel;  /* its AF API, unicast fan-out and multicast */
    struct provision *prov;       /* zero-touch provisioning (device face, its admin API) */
    struct pin *pin;              /* Personal IoT Networks (device face, its admin API) */
    struct http_server *sbi, *adm;
    struct http_server *north; /* application servers: OAuth2 + mTLS (any CA, pinned) */
    struct http_server *dev;   /* devices and gateways: onboarding, rotation */
    struct expose_nb *nb;      /* the northbound face's security: tokens, AFs, consents, audit */
    struct location *loc;      /* UE events, authorised areas (MONTE) */
    struct location_http loc_http;
    struct t8 *t8;             /* T8 MonitoringEvent: subscriptions, notifications */
    struct nrf_auth *nrf_auth; /* oauth2.sbi: the SBI's gate for NRF-issued tokens */
    struct nrf_client *nrf;    /* nrf.url: registration of the AUSF and UDM */
    enum nrf_state nrf_state;  /* after the first round, for the ready line */
    int sbi_tls, sbi_h2c, adm_tls, north_tls, dev_tls; /* listener indexes */
    struct pki_sbi_role sbi_role; /* which certificates of the CA the SBI face takes */
    struct console_wire con;      /* accounts on the admin face; the console face (optional) */
};

/* The faces' names, the log callback's user pointer: "address in use" then says which face. */
static char face_sbi[] = "sbi", face_admin[] = "admin", face_north[] = "northbound",
            face_device[] = "device";

static void http_log(void *user, enum http_log_level level, const char *request_id, const char *msg)
{
    static const enum log_level map[] = {LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG};
    log_msg(map[level], request_id, "http (%s face): %s", (const char *)user, msg);
}

static void handle_healthz(struct http_request *req, void *user)
{
    (void)user;
    http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* The certificate paths of d->cfg: replaced by SIGHUP on the main thread, read by /metrics
 * (their expiry) on the admin worker. */
static pthread_mutex_t cfg_files_lock = PTHREAD_MUTEX_INITIALIZER;

static void handle_metrics(struct http_request *req, void *user)
{
    struct daemon *d = user;
    struct strbuf out = {0};
    size_t http_len = 0;
    struct http_server *const faces[] = {d->sbi, d->adm, d->north, d->dev, d->con.srv};
    const char *const names[] = {face_sbi, face_admin, face_north, face_device, "console"};
    char *http = http_servers_metrics(faces, names, d->con.srv ? 5 : 4, &http_len);
    struct store_metrics sm;
    store_metrics_get(d->store, &sm);
    uint64_t counts[SUB_STATE_COUNT] = {0};
    subscriber_count(d->store, counts);
    int rc = http ? strbuf_append(&out, http, http_len) : IOTSEC_ERR_NOMEM;
    free(http);
    if (rc == IOTSEC_OK)
        rc = aka_metrics(d->aka, &out);
    if (rc == IOTSEC_OK && d->t8)
        rc = t8_metrics(d->t8, &out);
    if (rc == IOTSEC_OK && d->loc) {
        struct location_metrics lm;
        location_metrics_get(d->loc, &lm);
        rc = strbuf_appendf(
            &out,
            "# HELP iotsec_location_events_total UE event reports by outcome.\n"
            "# TYPE iotsec_location_events_total counter\n"
            "iotsec_location_events_total{outcome=\"accepted\"} %llu\n"
            "iotsec_location_events_total{outcome=\"stale\"} %llu\n"
            "# HELP iotsec_location_findings_total UNEXPECTED_UE_LOCATION findings.\n"
            "# TYPE iotsec_location_findings_total counter\niotsec_location_findings_total %llu\n"
            "# HELP iotsec_location_devices Devices whose state is held (bounded).\n"
            "# TYPE iotsec_location_devices gauge\niotsec_location_devices %llu\n"
            "# HELP iotsec_location_evicted_total Device states forgotten at the bound.\n"
            "# TYPE iotsec_location_evicted_total counter\niotsec_location_evicted_total %llu\n",
            (unsigned long long)lm.events, (unsigned long long)lm.stale,
            (unsigned long long)lm.findings, (unsigned long long)lm.devices,
            (unsigned long long)lm.evicted);
        struct location_history_metrics hm;
        location_history_metrics_get(d->loc_http.history, &hm);
        if (rc == IOTSEC_OK)
            rc = strbuf_appendf(
                &out,
                "# HELP iotsec_location_history_fixes_total Location history fixes by outcome.\n"
                "# TYPE iotsec_location_history_fixes_total counter\n"
                "iotsec_location_history_fixes_total{outcome=\"written\"} %llu\n"
                "iotsec_location_history_fixes_total{outcome=\"dropped\"} %llu\n"
                "iotsec_location_history_fixes_total{outcome=\"swept\"} %llu\n",
                (unsigned long long)hm.written, (unsigned long long)hm.dropped,
                (unsigned long long)hm.swept);
    }
    if (rc == IOTSEC_OK)
        rc = provision_metrics(d->prov, &out);
    if (rc == IOTSEC_OK && d->nrf)
        rc = nrf_client_metrics(d->nrf, &out);
    if (rc == IOTSEC_OK && d->nrf_auth)
        rc = nrf_auth_metrics(d->nrf_auth, &out);
    if (rc == IOTSEC_OK) {
        pthread_mutex_lock(&cfg_files_lock); /* the files SIGHUP may change */
        rc = daemon_ops_metrics(&d->cfg, &out);
        pthread_mutex_unlock(&cfg_files_lock);
    }
    /* Counted in the database: every instance's findings, actions, groups and PINs. */
    if (rc == IOTSEC_OK)
        rc = analytics_store_metrics(d->store, &out);
    if (rc == IOTSEC_OK)
        rc = policy_store_metrics(d->store, &out);
    if (rc == IOTSEC_OK)
        rc = group_store_metrics(d->store, &out);
    if (rc == IOTSEC_OK)
        rc = pin_store_metrics(d->store, &out);
    if (rc == IOTSEC_OK)
        rc = flow_inputs_metrics(d->flows, &out);
    if (rc == IOTSEC_OK)
        rc = strbuf_appendf(
            &out,
            "# HELP iotsec_store_queue_depth Jobs waiting for the database writer.\n"
            "# TYPE iotsec_store_queue_depth gauge\niotsec_store_queue_depth %llu\n"
            "# HELP iotsec_store_batches_total Transactions committed by the writer.\n"
            "# TYPE iotsec_store_batches_total counter\niotsec_store_batches_total %llu\n"
            "# HELP iotsec_store_jobs_total Writer jobs by outcome.\n"
            "# TYPE iotsec_store_jobs_total counter\n"
            "iotsec_store_jobs_total{outcome=\"committed\"} %llu\n"
            "iotsec_store_jobs_total{outcome=\"failed\"} %llu\n"
            "iotsec_store_jobs_total{outcome=\"rejected\"} %llu\n"
            "# HELP iotsec_subscriptions Subscriptions by state.\n"
            "# TYPE iotsec_subscriptions gauge\n",
            (unsigned long long)sm.queue_depth, (unsigned long long)sm.batches,
            (unsigned long long)sm.jobs_committed, (unsigned long long)sm.jobs_failed,
            (unsigned long long)sm.jobs_rejected);
    for (int s = 0; rc == IOTSEC_OK && s < SUB_STATE_COUNT; s++)
        rc = strbuf_appendf(&out, "iotsec_subscriptions{state=\"%s\"} %llu\n",
                            sub_state_name((enum sub_state)s), (unsigned long long)counts[s]);
    if (rc != IOTSEC_OK)
        http_respond_problem(req, 500, NULL, "metrics unavailable", NULL, NULL, 0);
    else
        http_respond(req, 200, "text/plain; version=0.0.4", out.data, out.len);
    strbuf_free(&out);
}

static void list_key(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub, size_t len,
                     void *ctx)
{
    char hex[2 * SUCI_PUBLIC_KEY_MAX + 1];
    hex_encode(pub, len < SUCI_PUBLIC_KEY_MAX ? len : SUCI_PUBLIC_KEY_MAX, hex);
    json_array_append_new(ctx, json_pack("{s:s, s:i, s:s}", "profile",
                                         scheme == SUCI_SCHEME_PROFILE_A ? "A" : "B", "key_id",
                                         key_id, "public_key", hex));
}

static void handle_hn_keys(struct http_request *req, void *user)
{
    struct daemon *d = user;
    const struct http_peer *peer = http_request_peer(req);
    if (http_request_principal(req) == NULL &&
        (!peer->has_cert || strcmp(peer->cert_sha256_hex, d->admin.admin_cert_sha256) != 0)) {
        http_respond_problem(req, 403, NULL, "the admin client certificate is required", NULL, NULL,
                             0);
        return;
    }
    json_t *keys = json_array();
    aka_hn_keys_list(d->store, list_key, keys);
    http_respond_json(req, 200, http_list_json("hn_keys", keys));
}

/* The policy's enforcer: a quarantined device's UE addresses join the nftables set (and
 * leave it at release). */
static void enforce_nft(void *arg, const char *supi, bool quarantined)
{
    struct daemon *d = arg;
    struct an_addr addrs[4];
    size_t n = analytics_addresses_of(d->analytics, supi, addrs, 4), done = 0;
    for (size_t i = 0; i < n; i++)
        done += policy_nft_set(d->nft, &addrs[i], quarantined) == IOTSEC_OK;
    if (done < n)
        log_msg(LOG_WARN, NULL, "nftables: %zu of %zu addresses not updated", n - done, n);
}

/* The policy's enforcer: a quarantined device leaves its message groups (a rekey each), and,
 * with nftables on, its UE addresses join the quarantine set. */
static void enforce(void *arg, const char *supi, bool quarantined)
{
    struct daemon *d = arg;
    if (quarantined && group_service_evict(d->groups, supi) != IOTSEC_OK)
        log_msg(LOG_ERROR, NULL, "groups: the quarantined member's removal was not queued");
    if (d->nft != NULL)
        enforce_nft(d, supi, quarantined);
}

struct nft_restore {
    struct daemon *d;
    size_t devices;
};

static void restore_one(const struct subscription *s, void *ctx)
{
    struct nft_restore *r = ctx;
    char supi[SUPI_STRING_MAX];
    supi_format(&s->supi, supi, sizeof(supi));
    enforce_nft(r->d, supi, true);
    r->devices++;
}

/* The set is created empty at each start: refill it from the persisted quarantines (their
 * UE addresses come from the persisted mappings, restored by analytics_new). */
static void restore_nft(struct daemon *d)
{
    struct nft_restore r = {d, 0};
    int64_t after = 0, last = 0;
    for (;;) {
        size_t before = r.devices;
        if (subscriber_list(d->store, SUB_QUARANTINED, after, 1000, restore_one, &r, &last) !=
                IOTSEC_OK ||
            r.devices - before < 1000)
            break;
        after = last;
    }
    log_info("nftables: the quarantine set refilled for %zu quarantined devices", r.devices);
}

static void operator_action(void *ctx, struct http_request *req, const char *supi, bool quarantine)
{
    policy_operator_request(ctx, req, supi, quarantine);
}

static int open_analytics(struct daemon *d)
{
    char key_path[CONFIG_PATH_MAX + 64], thresholds[CONFIG_PATH_MAX + 64], err[512];
    struct analytics_options ao = {.window_s = d->cfg.an_window_s,
                                   .rotate_s = d->cfg.an_rotate_s,
                                   .key_path = key_path,
                                   .kek = &d->kek,
                                   .store = d->store,
                                   .findings_retention_days = d->cfg.an_findings_retention_days};
    config_path(&d->cfg, d->cfg.an_key_file, key_path, sizeof(key_path));
    if (d->cfg.an_thresholds[0]) {
        config_path(&d->cfg, d->cfg.an_thresholds, thresholds, sizeof(thresholds));
        ao.thresholds = thresholds;
    }
    memcpy(ao.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(ao.admin_cert_sha256));
    d->analytics = analytics_new(&ao, err, sizeof(err));
    if (d->analytics == NULL) {
        log_error("%s", err);
        return IOTSEC_ERR_INVALID;
    }
    struct policy_service_options po = {.store = d->store, .kek = &d->kek};
    char ca[CONFIG_PATH_MAX + 64] = "";
    if (d->cfg.webhook_ca[0])
        config_path(&d->cfg, d->cfg.webhook_ca, ca, sizeof(ca));
    const char *why;
    po.webhook_ca_file = ca[0] ? ca : NULL;
    po.webhook_rules.http_loopback = d->cfg.webhook_http_loopback != 0;
    if (outbound_allow_parse(d->cfg.webhook_allow, &po.webhook_rules, &why) != IOTSEC_OK) {
        log_error("policy.webhook_allow: %s", why);
        return IOTSEC_ERR_INVALID;
    }
    memcpy(po.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(po.admin_cert_sha256));
    if ((d->policy = policy_service_new(&po)) == NULL)
        return IOTSEC_ERR_NOMEM;
    struct group_service_options go = {.store = d->store, .kek = &d->kek};
    memcpy(go.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(go.admin_cert_sha256));
    int grc = group_service_new(&go, &d->groups);
    if (grc != IOTSEC_OK) {
        log_error("groups: the signing key could not be opened: %s", iotsec_strerror(grc));
        return grc;
    }
    /* Findings go to the policy: the one place where analytics meets the subscriptions. */
    analytics_set_finding_hook(d->analytics, policy_on_finding, d->policy);
    if (d->cfg.policy_nftables) {
        if ((d->nft = policy_nft_open(err, sizeof(err))) == NULL) {
            log_error("policy.nftables is on but %s", err);
            return IOTSEC_ERR_STATE;
        }
        restore_nft(d);
    }
    policy_set_enforcer(d->policy, enforce, d);
    return IOTSEC_OK;
}

/* Before an old KEK is retired: nothing this process keeps may still be sealed under it. */
static void before_kek_retire(void *arg)
{
    struct daemon *d = arg;
    sub_cache_flush_every(); /* cached rows hold data keys as they were read */
    if (d->analytics && analytics_key_reseal(d->analytics) != IOTSEC_OK)
        log_error("cannot seal the analytics pseudonym key anew under the current KEK");
}

/* Every KEK file of this instance into the ring; the store says which is current. */
static int open_keks(struct daemon *d)
{
    struct kek_rotation_config kc = {.store = d->store,
                                     .ring = d->ring,
                                     .kek_path = d->kek_path,
                                     .instance = d->instance,
                                     .before_retire = before_kek_retire,
                                     .before_retire_arg = d};
    kc.columns = daemon_kek_columns(&kc.ncolumns);
    int rc = kek_rotation_open(&kc, &d->kekr);
    if (rc == IOTSEC_ERR_STATE)
        log_error("refusing to start: a KEK file (%s or %s.<id>) is accessible to group or "
                  "others (chmod 600 it)",
                  d->kek_path, d->kek_path);
    else if (rc != IOTSEC_OK)
        log_error("cannot read the KEK file %s: %s", d->kek_path, iotsec_strerror(rc));
    d->kek = seal_ring_handle(d->ring);
    return rc;
}

static int open_state(struct daemon *d)
{
    char path[CONFIG_PATH_MAX + 64];
    int rc;
    config_path(&d->cfg, d->cfg.kek_file, d->kek_path, sizeof(d->kek_path));
    if ((d->ring = seal_ring_new()) == NULL)
        return IOTSEC_ERR_NOMEM;
    struct store_options so;
    store_options_init(&so);
    so.migrations = daemon_migrations(&so.migration_count);
    if (d->cfg.store_cache_kib != 0)
        so.cache_size_kib = (int)d->cfg.store_cache_kib;
    char target[sizeof(d->cfg.store_url) + CONFIG_PATH_MAX];
    config_store_target(&d->cfg, target, sizeof(target));
    if ((rc = store_open(target, &so, &d->store)) != IOTSEC_OK) {
        /* The PostgreSQL URI may hold a password: name the backend, not the target. */
        log_error("cannot open the %s database%s%s: %s (%s)", d->cfg.store_backend,
                  strcmp(d->cfg.store_backend, "sqlite") == 0 ? " " : "",
                  strcmp(d->cfg.store_backend, "sqlite") == 0 ? target : "", iotsec_strerror(rc),
                  store_errmsg());
        return rc;
    }
    sqn_holder_name(d->cfg.dir, d->instance, sizeof(d->instance));
    store_set_instance(d->store, d->instance); /* names this instance in leases */
    if ((rc = open_keks(d)) != IOTSEC_OK)
        return rc;
    size_t converted = 0, unreadable = 0; /* credentials sealed before per-row DEKs */
    if ((rc = subscriber_dek_convert(d->store, &d->kek, &converted, &unreadable)) != IOTSEC_OK) {
        log_error("cannot seal credentials under data keys: %s (%s)", iotsec_strerror(rc),
                  store_errmsg());
        return rc;
    }
    if (converted > 0 || unreadable > 0)
        log_msg(LOG_INFO, NULL, "sealed %zu credentials under data keys (%zu do not open)",
                converted, unreadable);
    size_t nkeys = 0;
    d->keyring = suci_keyring_new();
    if (d->keyring == NULL)
        return IOTSEC_ERR_NOMEM;
    if ((rc = aka_hn_keys_load(d->store, &d->kek, d->keyring, &nkeys)) != IOTSEC_OK) {
        log_error("cannot load the home network keys: %s", iotsec_strerror(rc));
        return rc;
    }
    config_path(&d->cfg, d->cfg.admin_cert, path, sizeof(path));
    if ((rc = pki_cert_fingerprint(path, d->admin.admin_cert_sha256)) != IOTSEC_OK) {
        log_error("cannot read the admin certificate %s: %s", path, iotsec_strerror(rc));
        return rc;
    }
    d->admin.store = d->store;
    d->admin.kek = &d->kek;
    log_info("database open (%s), %zu home network keys loaded", d->cfg.store_backend, nkeys);
    return open_analytics(d);
}

/* The location history's 404: a SUPI with no subscription is no device of ours. */
static bool loc_device_known(void *ctx, const char *supi)
{
    struct subscription sub;
    return subscriber_get(ctx, supi, &sub) == IOTSEC_OK;
}

/* Location management: its in-memory state, the stored areas, its routes (SBI: events from
 * the core network; admin: areas and cell positions, the history). */
static int open_location(struct daemon *d)
{
    size_t areas = 0, cells = 0;
    int rc = location_new(NULL, &d->loc);
    if (rc == IOTSEC_OK)
        rc = location_store_load(d->store, d->loc, &areas, &cells);
    if (rc != IOTSEC_OK) {
        log_error("cannot load the authorised areas: %s", iotsec_strerror(rc));
        return rc;
    }
    d->loc_http.loc = d->loc;
    d->loc_http.store = d->store;
    d->loc_http.device_known = loc_device_known;
    d->loc_http.device_known_ctx = d->store;
    struct location_history_config hc = {d->cfg.loc_history_max_fixes, d->cfg.loc_history_days};
    if (hc.max_fixes && location_history_new(d->store, &hc, &d->loc_http.history) != IOTSEC_OK)
        return IOTSEC_ERR_NOMEM;
    memcpy(d->loc_http.admin_cert_sha256, d->admin.admin_cert_sha256,
           sizeof(d->loc_http.admin_cert_sha256));
    log_info("location: %zu authorised areas, %zu cell positions", areas, cells);
    rc = daemon_bridge_location(d->loc, d->analytics, d->policy, d->cfg.an_window_s);
    if (rc == IOTSEC_OK)
        rc = location_sbi_routes(d->sbi, &d->loc_http);
    if (rc == IOTSEC_OK)
        rc = location_admin_routes(d->adm, &d->loc_http);
    return rc;
}

/* The SBI and admin faces verify client certificates against the instance CA; the
 * northbound and device faces take any certificate (client_cert_any) and judge it themselves:
 * an AF's registered certificate, a manufacturer's factory certificate. */
enum client_certs { CERTS_INSTANCE_CA, CERTS_ANY_REQUIRED, CERTS_ANY_OPTIONAL };

/* A TLS listener of srv on bind with the instance's certificates; with reload >= 0, listener
 * reload of srv takes the certificates the configuration names now (SIGHUP). */
static int listen_tls(struct daemon *d, struct http_server *srv, const char *bind,
                      enum client_certs mode, int reload)
{
    char cert[CONFIG_PATH_MAX + 64], key[CONFIG_PATH_MAX + 64], ca[CONFIG_PATH_MAX + 64];
    config_path(&d->cfg, d->cfg.tls_cert, cert, sizeof(cert));
    config_path(&d->cfg, d->cfg.tls_key, key, sizeof(key));
    config_path(&d->cfg, d->cfg.tls_ca, ca, sizeof(ca));
    struct http_listener_config lc = {.bind = bind,
                                      .tls = true,
                                      .cert_file = cert,
                                      .key_file = key,
                                      .ca_file = ca,
                                      .client_cert_required = mode != CERTS_ANY_OPTIONAL,
                                      .client_cert_any = mode != CERTS_INSTANCE_CA};
    if (lc.client_cert_any)
        lc.ca_file = NULL;
    /* A device connects once per onboarding and never resumes: tickets would be pure cost. */
    lc.no_resumption = srv == d->dev;
    /* The CA vouches for the admin certificate too: the SBI face also wants the NF role. */
    if (srv == d->sbi) {
        if (reload < 0) { /* once: the SBI's workers read it */
            memcpy(d->sbi_role.admin_cert_sha256, d->admin.admin_cert_sha256,
                   sizeof(d->sbi_role.admin_cert_sha256));
            d->sbi_role.any_but_admin = strcmp(d->cfg.sbi_client_role, "not_admin") == 0;
        }
        lc.client_cert_role = pki_peer_is_nf;
        lc.client_cert_role_user = &d->sbi_role;
    }
    return reload >= 0 ? http_server_reload_tls(srv, reload, &lc) : http_server_listen(srv, &lc);
}

/* The northbound service: the token issuer is oauth2.northbound_issuer, else the face's own
 * URL. */
static int build_expose(struct daemon *d)
{
    /* the configured address names the issuer (with port 0 in tests: a name, not a URL) */
    char issuer[sizeof(d->cfg.nrf.northbound_issuer)];
    if (d->cfg.nrf.northbound_issuer[0]) /* a cluster's instances share one */
        snprintf(issuer, sizeof(issuer), "%s", d->cfg.nrf.northbound_issuer);
    else
        snprintf(issuer, sizeof(issuer), "https://%s", d->cfg.northbound_listen);
    struct expose_nb_config ec = {.store = d->store, .kek = &d->kek, .issuer = issuer};
    int rc = expose_nb_new(&ec, &d->nb);
    if (rc != IOTSEC_OK) {
        log_error("cannot start the northbound service: %s", iotsec_strerror(rc));
        return rc;
    }
    rc = expose_nb_routes(d->nb, d->north);
    if (rc == IOTSEC_OK)
        rc = expose_admin_routes(d->nb, d->adm, d->admin.admin_cert_sha256);
    return rc;
}

/* T8 MonitoringEvent on the northbound face, over the location capability. */
static int build_t8(struct daemon *d)
{
    char ca[CONFIG_PATH_MAX + 64] = "";
    if (d->cfg.notify_ca[0])
        config_path(&d->cfg, d->cfg.notify_ca, ca, sizeof(ca));
    char root[160];
    snprintf(root, sizeof(root), "https://%s", d->cfg.northbound_listen);
    struct t8_config tc = {
        .nb = d->nb,
        .loc = d->loc,
        .store = d->store,
        .api_root = root,
        .granularity_cap = strcmp(d->cfg.loc_granularity, "ta") == 0 ? T8_GRAN_TA : T8_GRAN_CELL,
        .k_anonymity = d->cfg.loc_k_anonymity,
        .count_per_minute = d->cfg.loc_counts_per_minute,
        .allow_http_loopback = d->cfg.notify_http_loopback != 0,
        .notify_ca_file = ca[0] ? ca : NULL};
    int rc = t8_new(&tc, &d->t8);
    if (rc == IOTSEC_OK)
        rc = t8_routes(d->t8);
    if (rc == IOTSEC_OK) /* the operator's list: the store's rows, whichever instance */
        rc = t8_admin_routes(d->adm, d->store);
    if (rc != IOTSEC_OK)
        log_error("cannot start T8 monitoring: %s", iotsec_strerror(rc));
    return rc;
}

/* Group messages: the AF's API (through the exposure service), the members' endpoints and
 * the groups' multicast addresses; the lab switch and CA of T8 notifications apply. */
static int build_group_delivery(struct daemon *d)
{
    char ca[CONFIG_PATH_MAX + 64] = "", root[160];
    if (d->cfg.notify_ca[0])
        config_path(&d->cfg, d->cfg.notify_ca, ca, sizeof(ca));
    snprintf(root, sizeof(root), "https://%s", d->cfg.northbound_listen);
    struct group_delivery_config gc = {
        .nb = d->nb, .ca_file = ca[0] ? ca : NULL, .api_root = root, .dev = d->dev};
    gc.rules.http_loopback = d->cfg.notify_http_loopback != 0;
    int rc = group_delivery_new(d->groups, &gc, d->adm, &d->gdel);
    if (rc != IOTSEC_OK)
        log_error("cannot start group message delivery: %s", iotsec_strerror(rc));
    return rc;
}

/* Personal IoT Networks: PEMC/PEGC operations on the device face, roles and PINs on the
 * admin face. */
static int build_pin(struct daemon *d)
{
    struct pin_config pc = {.store = d->store, .kek = &d->kek, .nb = d->nb};
    memcpy(pc.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(pc.admin_cert_sha256));
    int rc = pin_new(&pc, &d->pin);
    if (rc == IOTSEC_OK)
        rc = pin_device_routes(d->pin, d->dev);
    if (rc == IOTSEC_OK)
        rc = pin_admin_routes(d->pin, d->adm);
    if (rc == IOTSEC_OK)
        rc = pin_nb_routes(d->pin); /* the AF's side, through the exposure service */
    return rc;
}

static int build_servers(struct daemon *d)
{
    struct aka_config ac = {.sqn_block = d->cfg.sqn_block,
                            .ctx_ttl_s = d->cfg.auth_ctx_ttl_s,
                            .max_synch_failures = d->cfg.max_synch_failures,
                            .lease_s = d->cfg.sqn_lease_s,
                            .sub_cache_max = d->cfg.sub_cache_rows,
                            .sub_cache_off = d->cfg.sub_cache_rows == 0};
    snprintf(ac.api_root, sizeof(ac.api_root), "https://%s", d->cfg.sbi_listen);
    memcpy(ac.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(ac.admin_cert_sha256));
    d->aka = aka_new(&ac, d->store, &d->kek, d->keyring);
    if (d->aka == NULL)
        return IOTSEC_ERR_NOMEM;
    char holder[SQN_HOLDER_MAX];
    sqn_holder_name(d->cfg.dir, holder, sizeof(holder));
    int rc = aka_lease_claim(d->aka, holder);
    if (rc != IOTSEC_OK) {
        log_error("cannot lease an SQN slot: %s%s", iotsec_strerror(rc),
                  rc == IOTSEC_ERR_BUSY ? " (every slot is held by another live instance: at most "
                                          "8 instances share one database)"
                                        : "");
        return rc;
    }
    log_info("SQN slot %d leased (IND %d..%d)", aka_lease_slot(d->aka),
             aka_lease_slot(d->aka) * SQN_IND_PER_SLOT,
             aka_lease_slot(d->aka) * SQN_IND_PER_SLOT + SQN_IND_PER_SLOT - 1);
    struct provision_config pc = {.store = d->store, .kek = &d->kek, .aka = d->aka};
    memcpy(pc.admin_cert_sha256, d->admin.admin_cert_sha256, sizeof(pc.admin_cert_sha256));
    int prc = provision_new(&pc, &d->prov); /* loads, or makes at first start, its key */
    if (prc != IOTSEC_OK) {
        log_error("cannot load the provisioning key: %s", iotsec_strerror(prc));
        return prc;
    }
    d->admin.ota_rotate = provision_ota_rotate; /* `subscriber rotate`: over the air */
    d->admin.ota_ctx = d->prov;
    /* `subscriber release|quarantine`: the policy's one operation, as `device ...`. */
    d->admin.operator_action = operator_action;
    d->admin.operator_ctx = d->policy;
    /* The policy's rotate action (on suspicion): over the air too, never a lock-out. */
    policy_set_rotator(d->policy, provision_stage_rotation, d->prov);
    struct http_server_config sc = {
        .workers = d->cfg.workers, .log = http_log, .log_user = face_sbi};
    struct http_server_config ac_srv = {
        .workers = 1,
        .max_body_bytes = ADMIN_MAX_BODY,
        .log = http_log,
        .log_user = face_admin,
        .log_changes = true}; /* who changed what, with what result: one line each */
    d->sbi = http_server_new(&sc);
    d->adm = http_server_new(&ac_srv);
    struct http_server_config nc = sc;
    nc.log_user = face_north;
    d->north = http_server_new(&nc);
    struct http_server_config dc = sc;
    dc.max_body_bytes = 64u << 10; /* device messages are small (docs/provisioning.md) */
    dc.log_user = face_device;
    d->dev = http_server_new(&dc);
    if (d->aka == NULL || d->sbi == NULL || d->adm == NULL || d->north == NULL || d->dev == NULL)
        return IOTSEC_ERR_NOMEM;
    d->sbi_tls = listen_tls(d, d->sbi, d->cfg.sbi_listen, CERTS_INSTANCE_CA, -1);
    d->sbi_h2c = -1;
    if (d->sbi_tls >= 0 && d->cfg.sbi_h2c_listen[0]) {
        struct http_listener_config lc = {.bind = d->cfg.sbi_h2c_listen, .tls = false};
        d->sbi_h2c = http_server_listen(d->sbi, &lc);
        if (d->sbi_h2c < 0)
            return d->sbi_h2c;
    }
    d->adm_tls = listen_tls(d, d->adm, d->cfg.admin_listen, CERTS_INSTANCE_CA, -1);
    d->north_tls = listen_tls(d, d->north, d->cfg.northbound_listen, CERTS_ANY_REQUIRED, -1);
    d->dev_tls = listen_tls(d, d->dev, d->cfg.device_listen, CERTS_ANY_OPTIONAL, -1);
    if (d->sbi_tls < 0 || d->adm_tls < 0 || d->north_tls < 0 || d->dev_tls < 0) {
        log_error("cannot configure the listeners (certificates or addresses)");
        return IOTSEC_ERR_INVALID;
    }
    rc = open_location(d);
    if (rc == IOTSEC_OK)
        rc = aka_routes(d->aka, d->sbi);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->sbi, "GET", "/healthz", handle_healthz, d);
    if (rc == IOTSEC_OK)
        rc = subscriber_admin_routes(d->adm, &d->admin);
    if (rc == IOTSEC_OK)
        rc = http_server_route_body_limit(d->adm, "POST", "/admin/v1/subscribers/import",
                                          ADMIN_IMPORT_BODY);
    if (rc == IOTSEC_OK)
        rc = aka_admin_routes(d->aka, d->adm);
    if (rc == IOTSEC_OK)
        rc = analytics_sbi_routes(d->sbi, d->analytics);
    if (rc == IOTSEC_OK)
        rc = analytics_admin_routes(d->adm, d->analytics);
    if (rc == IOTSEC_OK)
        rc = policy_admin_routes(d->adm, d->policy);
    if (rc == IOTSEC_OK)
        rc = group_admin_routes(d->adm, d->groups);
    if (rc == IOTSEC_OK) /* a device's groups and PINs, read from both (the console) */
        rc = device_view_routes(d->adm, d->store);
    if (rc == IOTSEC_OK)
        rc = group_sbi_routes(d->sbi, d->groups);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->adm, "GET", "/healthz", handle_healthz, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->adm, "GET", "/metrics", handle_metrics, d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->adm, "GET", "/admin/v1/hn-keys", handle_hn_keys, d);
    if (rc == IOTSEC_OK)
        rc = kek_admin_routes(d->adm, d->kekr, d->admin.admin_cert_sha256);
    if (rc == IOTSEC_OK) /* the analytics are open: the keeper may retire a KEK (reseal) */
        rc = kek_rotation_run(d->kekr);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->north, "GET", "/healthz", handle_healthz, d);
    if (rc == IOTSEC_OK)
        rc = build_expose(d);
    if (rc == IOTSEC_OK)
        rc = build_t8(d);
    if (rc == IOTSEC_OK)
        rc = build_group_delivery(d);
    if (rc == IOTSEC_OK)
        rc = http_server_route(d->dev, "GET", "/healthz", handle_healthz, d);
    if (rc == IOTSEC_OK)
        rc = provision_device_routes(d->prov, d->dev);
    if (rc == IOTSEC_OK)
        rc = provision_admin_routes(d->prov, d->adm);
    if (rc == IOTSEC_OK)
        rc = build_pin(d);
    if (rc == IOTSEC_OK)
        rc = nrf_wire_gate(&d->cfg, d->sbi, &d->nrf_auth);
    /* GET /openapi.json: each face's own document (docs/openapi). */
    const struct {
        struct http_server *srv;
        const char *face;
    } described[] = {
        {d->sbi, face_sbi}, {d->adm, face_admin}, {d->north, face_north}, {d->dev, face_device}};
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(described) / sizeof(described[0]); i++)
        rc = daemon_openapi_route(described[i].srv, described[i].face);
    if (rc == IOTSEC_OK) { /* last: the console copies every admin route registered above */
        d->con.accounts = (struct account_service){.store = d->store, .kek = &d->kek};
        memcpy(d->con.accounts.admin_cert_sha256, d->admin.admin_cert_sha256,
               sizeof(d->con.accounts.admin_cert_sha256));
        rc = console_wire_build(&d->cfg, d->adm, &d->con);
    }
    return rc;
}

/* "127.0.0.1:0" with the bound port 7777 -> "https://127.0.0.1:7777". */
static void url(char *out, size_t len, const char *scheme, const char *bind, uint16_t port)
{
    const char *colon = strrchr(bind, ':');
    int host_len = colon ? (int)(colon - bind) : (int)strlen(bind);
    snprintf(out, len, "%s://%.*s:%u", scheme, host_len, bind, port);
}

static void print_ready(struct daemon *d)
{
    char sbi[160], adm[160], north[160], dev[160], h2c[160] = "";
    url(sbi, sizeof(sbi), "https", d->cfg.sbi_listen, http_server_port(d->sbi, d->sbi_tls));
    url(adm, sizeof(adm), "https", d->cfg.admin_listen, http_server_port(d->adm, d->adm_tls));
    url(north, sizeof(north), "https", d->cfg.northbound_listen,
        http_server_port(d->north, d->north_tls));
    url(dev, sizeof(dev), "https", d->cfg.device_listen, http_server_port(d->dev, d->dev_tls));
    if (d->sbi_h2c >= 0)
        url(h2c, sizeof(h2c), "http", d->cfg.sbi_h2c_listen, http_server_port(d->sbi, d->sbi_h2c));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "event", "ready", "sbi", sbi, "admin",
                          adm, "northbound", north, "device", dev, "pid", (int)getpid());
    if (h2c[0])
        json_object_set_new(o, "sbi_h2c", json_string(h2c));
    char console[160];
    console_wire_url(&d->cfg, &d->con, console, sizeof(console));
    if (console[0])
        json_object_set_new(o, "console", json_string(console));
    if (d->nrf_state != NRF_STATE_OFF) /* "registering": still trying, in the background */
        json_object_set_new(o, "nrf", json_string(nrf_state_name(d->nrf_state)));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

/* SIGHUP (docs/operations.md "Reloading"): the log level, and the certificate, key and CA
 * bundle of every TLS face, from the configuration file as it is now. A file that does not
 * load leaves everything as it was, and the log says why; open connections are undisturbed. */
static void reload(struct daemon *d)
{
    static struct config fresh; /* static: the main thread's alone; large */
    char err[512];
    enum log_level level;
    config_defaults(&fresh, d->cfg.dir);
    if (config_load(d->cfg.source, &fresh, err, sizeof(err)) != IOTSEC_OK) {
        log_error("SIGHUP: reload refused, the running configuration stays: %s", err);
        return;
    }
    if (log_level_parse(fresh.log_level, &level) != IOTSEC_OK) {
        log_error("SIGHUP: reload refused, the running configuration stays: log_level %s",
                  fresh.log_level);
        return;
    }
    char old[3][CONFIG_PATH_MAX];
    memcpy(old[0], d->cfg.tls_cert, CONFIG_PATH_MAX);
    memcpy(old[1], d->cfg.tls_key, CONFIG_PATH_MAX);
    memcpy(old[2], d->cfg.tls_ca, CONFIG_PATH_MAX);
    pthread_mutex_lock(&cfg_files_lock);
    memcpy(d->cfg.tls_cert, fresh.tls_cert, CONFIG_PATH_MAX);
    memcpy(d->cfg.tls_key, fresh.tls_key, CONFIG_PATH_MAX);
    memcpy(d->cfg.tls_ca, fresh.tls_ca, CONFIG_PATH_MAX);
    pthread_mutex_unlock(&cfg_files_lock);
    /* The faces share the files: the first one to fail fails them all, before any changed. */
    int rc = listen_tls(d, d->sbi, d->cfg.sbi_listen, CERTS_INSTANCE_CA, d->sbi_tls);
    if (rc != IOTSEC_OK) {
        pthread_mutex_lock(&cfg_files_lock);
        memcpy(d->cfg.tls_cert, old[0], CONFIG_PATH_MAX);
        memcpy(d->cfg.tls_key, old[1], CONFIG_PATH_MAX);
        memcpy(d->cfg.tls_ca, old[2], CONFIG_PATH_MAX);
        pthread_mutex_unlock(&cfg_files_lock);
        log_error("SIGHUP: reload refused, the running certificates stay: the certificate, key "
                  "or CA files do not load (%s; see the line above)",
                  iotsec_strerror(rc));
        return;
    }
    rc = listen_tls(d, d->adm, d->cfg.admin_listen, CERTS_INSTANCE_CA, d->adm_tls);
    if (rc == IOTSEC_OK)
        rc = listen_tls(d, d->north, d->cfg.northbound_listen, CERTS_ANY_REQUIRED, d->north_tls);
    if (rc == IOTSEC_OK)
        rc = listen_tls(d, d->dev, d->cfg.device_listen, CERTS_ANY_OPTIONAL, d->dev_tls);
    if (rc == IOTSEC_OK && d->con.srv) { /* the console face: server certificate only */
        char cert[CONFIG_PATH_MAX + 64], key[CONFIG_PATH_MAX + 64];
        config_path(&d->cfg, d->cfg.tls_cert, cert, sizeof(cert));
        config_path(&d->cfg, d->cfg.tls_key, key, sizeof(key));
        struct http_listener_config lc = {
            .bind = d->cfg.console_listen, .tls = true, .cert_file = cert, .key_file = key};
        rc = http_server_reload_tls(d->con.srv, d->con.listener, &lc);
    }
    if (rc != IOTSEC_OK)
        log_error("SIGHUP: a face kept its old certificates: %s", iotsec_strerror(rc));
    log_set_level(level);
    log_msg(LOG_DEBUG, NULL, "SIGHUP: log level %s", fresh.log_level); /* shown at debug only */
    snprintf(d->cfg.log_level, sizeof(d->cfg.log_level), "%s", fresh.log_level);
    log_info("SIGHUP: reloaded (log level %s; certificates %s, CA %s)", d->cfg.log_level,
             d->cfg.tls_cert, d->cfg.tls_ca);
}

static void sweep_done(void *arg, int rc)
{
    struct sub_op *op = arg;
    if (rc == IOTSEC_OK && op->affected > 0)
        log_msg(LOG_INFO, NULL, "expiry sweep: %zu subscriptions expired", op->affected);
    else if (rc != IOTSEC_OK)
        log_msg(LOG_WARN, NULL, "expiry sweep failed: %s", iotsec_strerror(rc));
    free(op);
}

static void sweep(struct daemon *d)
{
    struct sub_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return;
    op->kind = SUB_OP_EXPIRE_SWEEP;
    op->now = (int64_t)time(NULL);
    op->lease_s = 3 * d->cfg.expiry_sweep_s; /* one instance sweeps; another after it stops */
    op->actor = "sweep";
    struct store_job job = {sub_op_run, sweep_done, op};
    if (store_submit(d->store, &job) != IOTSEC_OK)
        free(op);
}

static void teardown(struct daemon *d)
{
    /* First: consumers stop choosing us (NFDeregister) while we still answer the in-flight. */
    nrf_client_stop(d->nrf);
    d->nrf = NULL;
    if (d->sbi)
        http_server_stop(d->sbi);
    if (d->adm)
        http_server_stop(d->adm);
    if (d->north)
        http_server_stop(d->north);
    if (d->dev)
        http_server_stop(d->dev);
    if (d->con.srv)
        http_server_stop(d->con.srv);
    subscriber_admin_drain();    /* a bulk import answers from its own thread */
    kek_rotation_close(d->kekr); /* a chunk in progress completes; the rest resumes at start */
    d->kekr = NULL;
    http_server_free(d->sbi);
    http_server_free(d->adm);
    http_server_free(d->north);
    http_server_free(d->dev);
    console_wire_free(&d->con);
    /* After the servers (no handler uses them any more). T8 first: its notification gate
     * decides through the northbound service, which commits its queued audit records; the
     * policy before the analytics: its last jobs' done callbacks may still read the analytics
     * mapping (the nftables enforcer). */
    t8_free(d->t8);
    group_delivery_free(d->gdel); /* its gate decides through the northbound service */
    expose_nb_free(d->nb);
    flow_inputs_stop(d->flows); /* no more flows into the analytics */
    d->flows = NULL;
    if (d->analytics) /* the last findings to the store and to the policy, still running */
        analytics_flush(d->analytics);
    policy_service_free(d->policy); /* its jobs done, its webhook thread joined */
    group_service_free(d->groups);
    policy_nft_close(d->nft);
    analytics_free(d->analytics);
    if (d->aka != NULL)
        aka_lease_release(d->aka); /* another instance may take the slot at once */
    store_close(d->store);         /* completes every queued job first */
    provision_free(d->prov);       /* after the store: queued provisioning jobs use its key */
    pin_free(d->pin);              /* after the store: queued PIN jobs answer their requests */
    location_free(d->loc);
    location_history_free(d->loc_http.history); /* after the store: its jobs are done */
    aka_free(d->aka);
    suci_keyring_free(d->keyring);
    nrf_auth_free(d->nrf_auth); /* after the servers: their gate */
    seal_kek_wipe(&d->kek);
    seal_ring_free(d->ring); /* zeroises every KEK */
}

int daemon_run(const struct config *cfg)
{
    static struct daemon d; /* static: the keyring and KEK outlive every thread */
    memset(&d, 0, sizeof(d));
    d.cfg = *cfg;
    enum log_level level;
    if (log_level_parse(cfg->log_level, &level) == IOTSEC_OK)
        log_set_level(level);
    /* Block the signals before any thread starts: threads inherit the mask, and only this
     * thread takes them, with sigtimedwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGPIPE);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* First of all: a second process on this instance must not open its database. */
    if (daemon_lock_instance(cfg->dir) != IOTSEC_OK)
        return 1;
    int rc = open_state(&d);
    if (rc == IOTSEC_OK)
        rc = build_servers(&d);
    struct http_server *servers[] = {d.sbi, d.adm, d.north, d.dev, d.con.srv};
    for (size_t i = 0; rc == IOTSEC_OK && i < sizeof(servers) / sizeof(servers[0]); i++)
        if (servers[i] != NULL) /* the console: only with console.listen */
            rc = http_server_start(servers[i]);
    if (rc == IOTSEC_OK)
        rc = flow_inputs_start(&d.cfg, d.analytics, &d.flows);
    if (rc == IOTSEC_ERR_ADDRINUSE)
        log_error("not starting: address in use (another process listens on a port of this "
                  "instance, or two faces are configured on one port)");
    else if (rc != IOTSEC_OK)
        log_error("not starting: %s", iotsec_strerror(rc));
    if (rc != IOTSEC_OK) {
        teardown(&d);
        return 1;
    }
    char north_url[160];
    url(north_url, sizeof(north_url), "https", d.cfg.northbound_listen,
        http_server_port(d.north, d.north_tls));
    t8_set_api_root(d.t8, north_url); /* the bound port, for the subscriptions' self links */
    /* Registration waits for the bound port (it is in the profile), then at most 3 s for the
     * NRF: the faces serve already, and the ready line says how registration stands. */
    if (nrf_wire_start(&d.cfg, http_server_port(d.sbi, d.sbi_tls), 3000, &d.nrf, &d.nrf_state) !=
        IOTSEC_OK) {
        teardown(&d);
        return 1;
    }
    daemon_sd_notify("READY=1"); /* first, so that whoever reads the line knows systemd does */
    print_ready(&d);
    log_info("serving");

    struct timespec tick = {1, 0};
    for (unsigned seconds = 0;; seconds++) {
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: draining in-flight requests", sig);
            break;
        }
        if (sig == SIGHUP)
            reload(&d);
        aka_tick(d.aka);
        analytics_tick(d.analytics, (double)time(NULL));
        provision_tick(d.prov, (int64_t)time(NULL));
        expose_nb_tick(d.nb); /* changes made on other instances: AFs first, then what */
        t8_tick(d.t8);        /* the T8 subscriptions of those AFs need */
        location_history_sweep(d.loc_http.history, (int64_t)time(NULL) * 1000);
        if (seconds % d.cfg.expiry_sweep_s == 0) /* subscriber.expiry_sweep_s */
            sweep(&d);
    }
    daemon_sd_notify("STOPPING=1");
    teardown(&d);
    log_info("stopped");
    return 0;
}
