/* Shared inside src/pin: the capability's state and the request context of an operation. */
#ifndef IOTSEC_PIN_INT_H
#define IOTSEC_PIN_INT_H

#include <jansson.h>
#include <stdatomic.h>

#include "http/http.h"
#include "pin/pin.h"
#include "subscriber/subscriber.h"

struct pin {
    struct store *store;
    struct expose_nb *nb;
    const struct seal_kek *kek;
    char admin_fp[65];
    struct pin_nonces *nonces;
    struct pin_cakeys *cakeys; /* opened CA keys (pin_cakey.c) */
    struct pin_views *views;   /* AFs' views of PINs (pin_nb_view.c) */
    atomic_ullong auth_ok, auth_refused, checks_refused;
};

/* One verified device request: who proved it (its subscription), its roles, its inner JSON. */
struct pin_ctx {
    struct pin *p;
    struct http_request *req;
    char supi[PIN_SUPI_MAX + 1];
    struct subscription sub;
    bool gateway, manager;
    json_t *in; /* the inner request object (borrowed) */
    uint8_t nonce[PIN_NONCE_LEN];
};

int64_t pin_now(void);
int64_t pin_now_ms(void);

/* Answers a ProblemDetails with cause and, when param is not NULL, one invalidParam. */
void pin_problem(struct http_request *req, int status, const char *cause, const char *detail,
                 const char *param);
/* Maps a store/logic error to its status. */
void pin_failed(struct http_request *req, int rc);

/* Submits w (heap; freed here) as a job; after the commit answers status with answer (stolen),
 * or the error. The request is deferred. */
void pin_submit(struct pin_ctx *x, struct pin_write *w, int status, json_t *answer);

/* A member of the inner request: a string that passes pin_id_ok (else answers 400, NULL). */
const char *pin_in_id(struct pin_ctx *x, const char *name);

/* Signs msg with the PIN's CA key, opened from its sealed seed (AAD pin_id) on first use and
 * kept per instance (pin_cakey.c); the key must match n->ca_pub. */
struct pin_cakeys;
int pin_cakeys_new(size_t max, struct pin_cakeys **out);
void pin_cakeys_free(struct pin_cakeys *c);
int pin_ca_sign(struct pin *p, const struct pin_net *n, const uint8_t *msg, size_t len,
                uint8_t sig[PIN_SIG_LEN]);
uint64_t pin_cakeys_opened(const struct pin *p); /* how many times a CA key was opened */

/* The PIN named by the request's pin_id if the caller manages it; else answers (false). */
bool pin_load_owned(struct pin_ctx *x, struct pin_net *n);
/* The grant the request asks for ({dnns?, qos_class?, lifetime_s?}) within n's policy, and its
 * JSON text (*text malloc'd); else answers and returns the error. */
int pin_grant_from_request(struct pin_ctx *x, const struct pin_net *n, struct pin_grant *g,
                           char **text);
/* A join carrying code_proof (pin_enrol.c): w has the PIN id and the PINE (id, name, key,
 * signature verified); judges the code and answers 201 approved, or 403. */
void pin_join_code(struct pin_ctx *x, const struct pin_net *n, struct pin_write *w);
/* A symmetric join (`credential: "symmetric"`, code_proof, no public key; pin_enrol.c): w has
 * the PIN id and the PINE's new id and name; on a right proof the PINE gets its PIN-scoped MAC
 * key's salt and confirmation (201), else 403. */
void pin_join_sym(struct pin_ctx *x, const struct pin_net *n, struct pin_write *w);

/* The op handlers (pin_ops.c, pin_auth.c, pin_enrol.c). */
void pin_op_enrol_code(struct pin_ctx *x);
void pin_op_create(struct pin_ctx *x);
void pin_op_list(struct pin_ctx *x);
void pin_op_get(struct pin_ctx *x);
void pin_op_update(struct pin_ctx *x);
void pin_op_delete(struct pin_ctx *x);
void pin_op_gw_suspend(struct pin_ctx *x);
void pin_op_gw_resume(struct pin_ctx *x);
void pin_op_gw_add(struct pin_ctx *x);
void pin_op_gw_remove(struct pin_ctx *x);
void pin_op_join(struct pin_ctx *x);
void pin_op_approve(struct pin_ctx *x);
void pin_op_refuse(struct pin_ctx *x);
void pin_op_remove(struct pin_ctx *x);
void pin_op_auth(struct pin_ctx *x);
void pin_op_check(struct pin_ctx *x);
void pin_op_grant_af(struct pin_ctx *x);
void pin_op_revoke_af(struct pin_ctx *x);

/* The AFs' views of PINs (pin_nb_view.c): the answer to af_id's GET of pin_id's elements as
 * the store holds it now, *body malloc'd (*len bytes, NUL-terminated); IOTSEC_ERR_NOTFOUND when
 * af_id holds no grant with the elements service on it. Served from this instance's copy while
 * the PIN topic has not moved since the copy was read (one point read per call): a change
 * committed by any instance is in the next call's answer. */
struct pin_views;
int pin_views_new(struct pin_views **out);
void pin_views_free(struct pin_views *v);
int pin_view_get(struct pin *p, const char *pin_id, const char *af_id, char **body, size_t *len);
/* Calls answered from the copy, and calls that read the store. */
void pin_views_counts(const struct pin *p, uint64_t *hits, uint64_t *reads);

/* The PIN as its manager sees it (gateways with SUPIs, elements) or as a gateway does. */
json_t *pin_view_json(struct pin *p, const struct pin_net *n, const char *gateway_supi);

#endif
