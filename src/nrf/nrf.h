/* The NRF (TS 29.510): iotsecd as a discoverable NF, and NRF-issued access tokens on the SBI.
 *
 * Registration (nrf_client): the AUSF and the UDM are two NF instances, each with its own
 * stable nfInstanceId (nrf_ids_load_or_create), registered with NFRegister (PUT), kept alive
 * with NFUpdate heartbeats (PATCH nfStatus) at the heartBeatTimer the NRF returns,
 * re-registered when a heartbeat answers 404 (the NRF lost us, e.g. it restarted), and
 * deregistered (DELETE) at shutdown. It runs on its own thread and never blocks the faces.
 *
 * Tokens (nrf_auth): a gate on the SBI face that lets a request through only with an
 * `Authorization: Bearer` JWT (TS 29.510 AccessTokenClaims) signed by a configured NRF key:
 * iss the NRF, aud our NF type or instance, scope the service of the route, sub the consumer
 * (matching its client certificate when configured). Refusals follow RFC 6750 §3.1. */
#ifndef IOTSEC_NRF_NRF_H
#define IOTSEC_NRF_NRF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct http_request;

#define NRF_UUID_LEN    36 /* 8-4-4-4-12 lower-case hex */
#define NRF_LIST_MAX    16
#define NRF_WORKERS_MAX 256 /* the SBI server's worker threads at most (config: workers) */

/* ---- instance ids ---- */

struct nrf_ids {
    char ausf[NRF_UUID_LEN + 1];
    char udm[NRF_UUID_LEN + 1];
};

/* Reads DIR/nf-instance-ids.json, or creates it (0644) with two random UUIDs (v4). */
int nrf_ids_load_or_create(const char *path, struct nrf_ids *out);

/* True for a UUID in its canonical textual form (either case). */
bool nrf_uuid_valid(const char *s);

/* ---- NF profiles (nrf_profile.c, pure) ---- */

enum nrf_nf { NRF_NF_AUSF, NRF_NF_UDM, NRF_NF_COUNT };

struct nrf_profile_config {
    struct nrf_ids ids;
    char mcc[4], mnc[4];
    char scheme[6]; /* "https" or "http" (the SBI listener that is advertised) */
    char host[128]; /* IPv4 or IPv6 address of the SBI face, or an FQDN */
    uint16_t port;
    unsigned capacity;                     /* 0..65535 */
    unsigned priority;                     /* 0..65535 */
    char nf_set_id[128];                   /* "" = none */
    const char *supi_ranges[NRF_LIST_MAX]; /* "start-end" (digits) or a pattern "^imsi-..." */
    size_t n_supi_ranges;
    const char *routing_indicators[NRF_LIST_MAX]; /* 1-4 digits */
    size_t n_routing_indicators;
    unsigned heartbeat_s; /* proposed heartBeatTimer; 0: omitted */
};

/* The NFProfile (TS 29.510 §6.1.6.2.2) of one NF as compact JSON (malloc'd). */
char *nrf_profile_json(const struct nrf_profile_config *c, enum nrf_nf nf);
const char *nrf_nf_type(enum nrf_nf nf);    /* "AUSF", "UDM" */
const char *nrf_nf_service(enum nrf_nf nf); /* "nausf-auth", "nudm-ueau" */

/* ---- registration (nrf_client.c) ---- */

struct nrf_client_config {
    const char *url;                  /* NRF API root, "https://nrf.example:8443" */
    const char *ca_file;              /* NULL: system store */
    const char *cert_file, *key_file; /* client certificate (mTLS); NULL: none */
    unsigned heartbeat_s;             /* 0: the NRF's heartBeatTimer; else ours overrides it */
    unsigned timeout_ms;              /* per request; 0: 5000 */
    struct nrf_profile_config profile;
};

enum nrf_state {
    NRF_STATE_OFF,
    NRF_STATE_REGISTERING,
    NRF_STATE_REGISTERED,
    NRF_STATE_DEREGISTERED
};
const char *nrf_state_name(enum nrf_state s);

struct nrf_client;

/* Starts the registration thread (copies c). */
int nrf_client_start(const struct nrf_client_config *c, struct nrf_client **out);

/* Waits up to timeout_ms for the first registration round to finish (success or not);
 * returns the state then. Never waits longer: startup is not held hostage by the NRF. */
enum nrf_state nrf_client_wait_first(struct nrf_client *n, unsigned timeout_ms);

/* Deregisters every registered profile (bounded by the request timeout), stops the thread
 * and frees. NULL is fine. */
void nrf_client_stop(struct nrf_client *n);

/* Prometheus text: registration state per NF, registrations, heartbeats, failures. */
int nrf_client_metrics(struct nrf_client *n, struct strbuf *out);

/* ---- access tokens on the SBI (nrf_auth.c) ---- */

struct nrf_auth_config {
    const char *key_files[NRF_LIST_MAX]; /* NRF public keys or certificates, PEM */
    size_t n_keys;
    const char *nrf_instance_id;      /* the expected iss */
    struct nrf_ids ids;               /* our instances: aud may name them instead of a type */
    bool cert_identity;               /* sub must be the client certificate's urn:uuid: SAN */
    unsigned leeway_s;                /* clock skew, 0..300 */
    unsigned cache_entries;           /* verified tokens kept per worker thread; 0: 1024 */
    const char *exempt[NRF_LIST_MAX]; /* route patterns served without a token (/healthz) */
    size_t n_exempt;
};

struct nrf_auth;

int nrf_auth_new(const struct nrf_auth_config *c, struct nrf_auth **out);
void nrf_auth_free(struct nrf_auth *a);

/* The http_gate_fn of the SBI face (user = the nrf_auth). */
bool nrf_auth_gate(struct http_request *req, void *user);

int nrf_auth_metrics(struct nrf_auth *a, struct strbuf *out);

#endif
