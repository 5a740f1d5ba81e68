/* iotsec-sim: a fleet of simulated devices against a running iotsecd (issue 4).
 * The pieces, each in its own file, are a library (iotsec_sim) so that iotsec-bench reuses
 * them for its provisioning figures:
 *   sim_instance.c  where the daemon listens, its PKI and PLMN (iotsec.yaml or a ready line)
 *   sim_admin.c     the admin API: provisioning key, manufacturer, enrollment, gateway
 *   sim_factory.c   manufacturing: a test CA, P-256 factory certificates, derived keys
 *   sim_fleet.c     concurrent onboarding (direct and through gateways), latencies
 *   sim_aka.c       5G AKA over the SBI as an AMF would, the UE side with sdk/usim
 *   sim_memstore.c  a credential store in RAM (the sdk interface; a "secure element") */
#ifndef IOTSEC_SIM_H
#define IOTSEC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred_store.h"
#include "crypto/provision_crypto.h"

/* ---- the instance ---- */
struct sim_instance {
    char dir[512];
    char sbi[128], admin[128], device[128], north[128]; /* base URLs, "https://host:port" */
    char ca[600], admin_crt[600], admin_key[600], nf_crt[600], nf_key[600];
    char mcc[4], mnc[4];
    char snn[64]; /* 5G:mncXXX.mccYYY.3gppnetwork.org */
};

/* Reads DIR/iotsec.yaml (listen addresses, PLMN); ready_file (may be NULL) overrides the
 * URLs with those of the daemon's ready line. 0, or -1 with a message on stderr. */
int sim_instance_load(struct sim_instance *in, const char *dir, const char *ready_file);

/* ---- liveness (sim_watch.c): a daemon that stops answering ends the run ---- */
/* Seconds a request may wait for the daemon, and the longest silence tolerated (30). */
extern unsigned sim_timeout_s;
/* The daemon answered something (any HTTP status): called by every client of the sim. */
void sim_heard(void);
/* Starts a thread that ends the process (exit 2, a message naming what) once the daemon has
 * not answered for sim_timeout_s. 0, or -1 if the thread cannot start. */
int sim_watchdog_start(const char *what);

/* ---- HTTP answers (libcurl) ---- */
/* An answer body as it arrives, NUL-terminated; data is malloc'd (the caller frees it). */
struct sim_body {
    char *data;
    size_t len;
};
/* A CURLOPT_WRITEFUNCTION appending to the struct sim_body given as CURLOPT_WRITEDATA. */
size_t sim_body_collect(char *ptr, size_t size, size_t n, void *body);

/* ---- the admin API ---- */
/* One admin request; *out (malloc'd) gets the answer body. Returns the HTTP status, -1 when
 * no answer came. */
long sim_admin(const struct sim_instance *in, const char *method, const char *path,
               const char *body, size_t len, char **out);
int sim_admin_provisioning_key(const struct sim_instance *in, uint8_t pub[PROV_ED25519_PUB_LEN]);

/* ---- manufacturing ---- */
struct sim_device {
    char reg_id[PROV_REG_ID_MAX + 1];
    bool derived; /* derived-key device (else a factory certificate) */
    bool via_gateway;
    uint8_t device_key[32];   /* derived */
    char *cert_pem, *key_pem; /* certificate devices: PEM (malloc'd) */
    size_t cert_pem_len, key_pem_len;
    uint8_t *cert_der;
    size_t cert_der_len;
    void *pkey; /* EVP_PKEY *: the factory key (TLS, or the x509 proof through a relay) */
    void *x509; /* X509 *: the factory certificate, parsed once at manufacturing */
    /* results */
    struct cred_store *store;
    int onboard_rc;
    long last_status;
    char cause[48];
    double onboard_ms;
    bool authenticated;
};

struct sim_ca; /* a test manufacturer CA (OpenSSL objects) */
int sim_ca_new(const char *cn, struct sim_ca **out);
void sim_ca_free(struct sim_ca *ca);
char *sim_ca_pem(const struct sim_ca *ca); /* malloc'd */
/* A fresh P-256 key and a certificate for cn signed by ca (PEM and DER). */
int sim_make_cert(const struct sim_ca *ca, const char *cn, struct sim_device *d);
void sim_device_free(struct sim_device *d);
/* onboard_sign_fn over d->pkey (ECDSA P-256, SHA-256, DER). */
int sim_device_sign(void *user, const uint8_t *msg, size_t len, uint8_t *sig, size_t sig_max,
                    size_t *sig_len);

/* ---- a test enrollment set up through the admin API ---- */
struct sim_setup {
    char name[64]; /* unique per run: manufacturer, enrollment and gateway names */
    struct sim_ca *ca;
    char enrollment_id[64];
    uint8_t group_key[PROV_GROUP_KEY_MAX]; /* derived-key enrollments */
    size_t group_key_len;
    struct sim_device gateway; /* its certificate and key */
    bool have_gateway;
    uint8_t pinned[PROV_ED25519_PUB_LEN];
    uint8_t root_seed[PROV_ED25519_SEED_LEN]; /* the manufacturer's voucher root (a secret) */
};
/* What kind of fleet to set up. */
struct sim_fleet_opts {
    bool derived;             /* derived-key devices (else factory certificates) */
    bool gateway;             /* register a gateway allowed for the enrollment */
    bool requires_activation; /* devices wait for a bulk activation to become active */
    const char *name;         /* names the fleet (registration ids NAME-dev-000000...); NULL:
                               * a random one */
    const char *reprovision;  /* the enrollment's policy; NULL: "keep" */
};
/* Registers the manufacturer (certificate mode) and a group enrollment for n devices, and
 * a gateway allowed for it. 0, or -1 with a message on stderr. */
int sim_setup_fleet(const struct sim_instance *in, struct sim_setup *s,
                    const struct sim_fleet_opts *o, uint32_t n);
void sim_setup_free(struct sim_setup *s);
/* Manufactures device i of a fleet (outside any timed part). */
int sim_manufacture(const struct sim_setup *s, uint32_t i, bool derived, bool via_gateway,
                    struct sim_device *d);

/* ---- onboarding and authentication ---- */
struct sim_stats {
    uint32_t devices, onboarded, via_gateway, authenticated, failed;
    double p50_ms, p99_ms, seconds; /* seconds: wall time of the onboarding phase */
};
/* Prints the messages device i exchanges (bodies cut to 120 characters) on stderr, so a demo
 * shows what crosses the wire. UINT32_MAX: none. Set before sim_onboard_all. */
extern uint32_t sim_trace_device;
/* Onboards every device with `threads` workers; fills d[i] results and the stats. */
int sim_onboard_all(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *d,
                    uint32_t n, unsigned threads, struct sim_stats *st);
/* Rotates the credentials of devices 0..m-1 (device-initiated, authenticated with the current
 * credential; direct or through the gateway as they onboarded); returns how many succeeded.
 * Their authenticated flag is cleared, so a second sim_authenticate_all proves the new K. */
uint32_t sim_rotate(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *d,
                    uint32_t m);
/* Onboards one device again (e.g. after a transfer), direct or through a new gateway
 * connection as it first did. */
int sim_onboard_again(const struct sim_instance *in, const struct sim_setup *s,
                      struct sim_device *dev);
/* Transfers dev to a new owner `to` (made here, with a fresh Ed25519 key): the voucher chain
 * from the manufacturer root, the transfer request, the new owner's acceptance (the old
 * subscription is revoked and erased); then checks that the old credential no longer
 * authenticates, onboards the device again (policy "reset": a new subscription) and
 * authenticates it. Says what happens on stderr. 0 when every step went as it should. */
int sim_transfer(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *dev,
                 const char *to);
/* Authenticates every onboarded device over the SBI (5G AKA). */
int sim_authenticate_all(const struct sim_instance *in, struct sim_device *d, uint32_t n,
                         unsigned threads, struct sim_stats *st);

/* A credential store in memory (the sdk's cred_store interface). */
int sim_memstore_new(struct cred_store **out);

/* iotsec-sim pin (sim_pin.c): a household's PIN, its PINEs and two AFs; prints the JSON
 * summary as its last line. 0 when every expectation held, 1 otherwise, 2 for setup errors. */
int sim_pin_run(const struct sim_instance *in, uint32_t n_pines);
/* iotsec-bench pin: `threads` PINEs authenticating through their PEGCs for `seconds`
 * (*rate: authentications/s, *p99_ms), then one removal and the PEGC's next check
 * (*revoke_ms: from the removal's request until the refusal). symmetric: PINEs without
 * public-key crypto (joined with a one-time code, a MAC per authentication), else Ed25519
 * PINEs. 0 or -1. */
int sim_pin_load(const struct sim_instance *in, double seconds, unsigned threads, bool symmetric,
                 double *rate, double *p99_ms, double *revoke_ms);

/* iotsec-bench pin, key issue 2: a household's PIN with one approved PINE and an AF granted
 * `elements` on it; the AF's certificate and key written as dir/pin-af.pem and dir/pin-af.key,
 * its bearer token, and the token-checked path of the PIN's elements. 0 or -1. */
int sim_pin_af_setup(const struct sim_instance *in, const char *dir, char *path, size_t path_cap,
                     char *token, size_t token_cap);
/* iotsec-bench pin, a PIN with n PINEs: each joins through one of two PEGCs, is approved by
 * the PEMC and authenticates, on `threads` connections; the wall time of each phase in
 * seconds (join, approve, authenticate), then the revocation latency of one PINE in that PIN
 * (removal request until the PEGC's next check is refused). 0 or -1. */
struct sim_pin_scale {
    double join_s, approve_s, auth_s, revoke_ms;
    uint32_t joined, approved, authenticated;
};
int sim_pin_scale(const struct sim_instance *in, uint32_t n, unsigned threads,
                  struct sim_pin_scale *out);

double sim_now(void);

/* ---- message groups (sim_group.c) ---- */
/* iotsec-sim group ...: parses its arguments (argv[1] is "group") and runs. Exit status. */
int sim_group_main(int argc, char **argv);
int sim_group_run(const struct sim_instance *in, uint32_t n, uint32_t leave, uint32_t messages,
                  bool broadcast, bool quarantine);

/* ---- a simulated AF on the northbound face (sim_af.c) ---- */
struct sim_af {
    struct sim_device id; /* its client certificate and key (PEM) */
    char af_id[80];
    char *token; /* the OAuth2 access token, or NULL */
};
/* A certificate from ca, registered by the operator as AF name for one service. */
int sim_af_register(const struct sim_instance *in, struct sim_ca *ca, const char *name,
                    const char *service, struct sim_af *a);
/* A fresh client-credentials token for scope (replaces the one held). */
int sim_af_token(const struct sim_instance *in, struct sim_af *a, const char *scope);
/* One HTTPS request to the northbound face with the AF's certificate and token: the status (-1
 * without an answer); *out (may be NULL) the body, malloc'd. */
long sim_af_call(const struct sim_instance *in, const struct sim_af *a, const char *method,
                 const char *path, const char *ctype, const char *body, char **out);
void sim_af_free(struct sim_af *a);

#endif
