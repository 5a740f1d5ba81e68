/* Shared by the device face's handlers (prov_device_http.c: helpers, nonce, routes;
 * prov_onboard_http.c: onboarding; prov_cred_http.c: confirmation and rotation). */
#ifndef IOTSEC_PROVISION_DEVICE_H
#define IOTSEC_PROVISION_DEVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/suci.h"
#include "provision/prov_int.h"
#include "subscriber/subscriber.h"

struct http_request;

int64_t dev_now_s(void);
int64_t dev_now_ms(void); /* monotonic */

/* ProblemDetails answers; dev_bad_field is 400 MANDATORY_IE_INCORRECT naming the field as a JSON Pointer. */
void dev_problem(struct http_request *req, int status, const char *cause, const char *detail);
void dev_bad_field(struct http_request *req, const char *field, const char *reason);
void dev_retry_after(struct http_request *req, uint32_t s);
void dev_store_problem(struct http_request *req, int rc); /* 503 BUSY or 500 */

/* Decoding: each answers 400 itself and returns false/NULL on a bad field. */
struct dev_body {
    json_t *o;
};
bool dev_parse_body(struct http_request *req, struct dev_body *b);
const char *dev_str_field(struct http_request *req, json_t *o, const char *name);
bool dev_bin_field(struct http_request *req, json_t *o, const char *name, uint8_t *out,
                   size_t want);
bool dev_reg_id_field(struct http_request *req, json_t *o, char out[PROV_REG_ID_MAX + 1]);

/* The messages' own decoders (each answers 400/401 itself and returns false): onboarding
 * (prov_onboard_http.c: the fields, then, for a certificate attestation, the certificate, its
 * chain and the signature over the request), confirmation and rotation (prov_cred_http.c).
 * Apart from the handlers so that the fuzz harness (tests/fuzz) reaches them without a store. */
struct onboard_req {
    char reg_id[PROV_REG_ID_MAX + 1];
    char cn[PROV_REG_ID_MAX + 1], serial[PROV_SERIAL_MAX + 1], sha256[65];
    struct prov_onboard_ctx octx;
    uint8_t mac[PROV_MAC_LEN];
    bool derived;
    struct x509_st *cert; /* owned when x509_signature */
    struct stack_st_X509 *chain;
    bool own_cert;
};
bool prov_dev_decode_onboard(struct http_request *req, json_t *o, struct onboard_req *r,
                             const char **att);
bool prov_dev_cert_proof(struct http_request *req, json_t *o, const char *att, bool relayed,
                         struct onboard_req *r);

struct cred_req {
    char reg_id[PROV_REG_ID_MAX + 1];
    uint8_t nonce[PROV_NONCE_LEN], pub[PROV_X25519_LEN], mac[PROV_MAC_LEN];
    uint32_t version;
    struct prov_registration reg;
    struct subscription sub;
    struct sub_keys keys;
};
/* *cred_id points into o. */
bool prov_dev_decode_cred(struct http_request *req, json_t *o, bool rotate, struct cred_req *r,
                          const char **cred_id);

/* The relaying gateway's id, or 0 after answering 403 GATEWAY_NOT_REGISTERED. */
int64_t dev_relay_gateway(struct http_request *req, struct store_conn *c);
/* False after answering 403 GATEWAY_NOT_ALLOWED. */
bool dev_gateway_allowed(struct http_request *req, struct store_conn *c, int64_t gw,
                         int64_t enrollment);

void dev_respond_envelope(struct http_request *req, const uint8_t *env, size_t len);
/* A job (NULL after answering 503), and its submission: answered from the completion. */
struct prov_job *dev_job_new(struct http_request *req, enum prov_job_kind kind);
void dev_submit(struct provision *p, struct http_request *req, struct prov_job *j);
/* aka_hn_keys_list callback filling a struct prov_hn_list (sorted, one per key id). */
void dev_add_hn_key(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub, size_t pub_len,
                    void *ctx);

void prov_dev_onboard(struct provision *p, struct http_request *req, bool relayed);
void prov_dev_confirm(struct provision *p, struct http_request *req, bool relayed);
void prov_dev_rotate(struct provision *p, struct http_request *req, bool relayed);

#endif
