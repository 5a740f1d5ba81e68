/* Shared by the admin handlers of provisioning (prov_admin_http.c, prov_enrollment_http.c,
 * prov_activate.c): a generic write job answered from the writer's completion. */
#ifndef IOTSEC_PROVISION_ADMIN_H
#define IOTSEC_PROVISION_ADMIN_H

#include <jansson.h>

#include "provision/prov_int.h"

struct http_request;
struct adm_job;
typedef int (*adm_run_fn)(struct store_conn *c, struct adm_job *a);

struct adm_job {
    struct provision *p;
    struct http_request *req;
    adm_run_fn run;
    int64_t now;
    json_t *in;  /* the decoded body (owned) */
    json_t *out; /* the answer on success (owned until sent) */
    int status;  /* of the success answer */
    char text[PROV_REG_ID_MAX + 32]; /* a registration id, a name, a fingerprint */
    int64_t id;
    uint8_t secret[PROV_GROUP_KEY_MAX]; /* wiped with the job */
    size_t secret_len;
    void *extra;
    void (*free_extra)(struct adm_job *a);
    /* a refusal decided inside the job (nothing written: the job returns an error) */
    int err_status;
    const char *err_cause;
    char err_param[48];
    char err_detail[200];
};

struct adm_job *adm_job_new(struct http_request *req, struct provision *p, adm_run_fn run,
                            int status);
void adm_submit(struct adm_job *a);
void adm_fail(struct adm_job *a, int status, const char *cause, const char *param,
              const char *detail);
void adm_bad(struct http_request *req, const char *param, const char *reason);
json_t *adm_body(struct http_request *req); /* NULL after answering 400 */
/* The pinned admin certificate, or false after answering 403. */
bool adm_admin_ok(struct http_request *req, const struct provision *p);

void prov_h_enr_add(struct http_request *req, void *user);
void prov_h_enr_list(struct http_request *req, void *user);
void prov_h_enr_show(struct http_request *req, void *user);
void prov_h_enr_update(struct http_request *req, void *user);
void prov_h_enr_delete(struct http_request *req, void *user);
void prov_h_enr_action(struct http_request *req, void *user);
void prov_h_activations(struct http_request *req, void *user);
void prov_h_owner_add(struct http_request *req, void *user);
void prov_h_dev_list(struct http_request *req, void *user);
void prov_h_dev_show(struct http_request *req, void *user);
void prov_h_dev_rotate(struct http_request *req, void *user);
void prov_h_transfer(struct http_request *req, void *user);
void prov_h_accept(struct http_request *req, void *user);
struct http_server;
int prov_audit_routes(struct provision *p, struct http_server *adm);
/* GET lists and shows of manufacturers, gateways, owners, activations (prov_list_http.c). */
int prov_list_routes(struct provision *p, struct http_server *adm);

#endif
