/* Shared by the device face's handlers (prov_device_http.c: helpers, nonce, routes;
 * prov_onboard_http.c: onboarding; prov_cred_http.c: confirmation and rotation). */
#ifndef IOTSEC_PROVISION_DEVICE_H
#define IOTSEC_PROVISION_DEVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/suci.h"
#include "provision/prov_int.h"

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
void dev_add_hn_key(enum suci_scheme scheme, uint8_t key_id, const uint8_t *pub,
                    size_t pub_len, void *ctx);

void prov_dev_onboard(struct provision *p, struct http_request *req, bool relayed);
void prov_dev_confirm(struct provision *p, struct http_request *req, bool relayed);
void prov_dev_rotate(struct provision *p, struct http_request *req, bool relayed);

#endif
