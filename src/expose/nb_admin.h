/* Shared by the admin-face files of src/expose (nb_admin.c, nb_consent.c, nb_audit_http.c). */
#ifndef IOTSEC_EXPOSE_NB_ADMIN_H
#define IOTSEC_EXPOSE_NB_ADMIN_H

#include "expose/nb_int.h"

/* True when the request carries the admin certificate; otherwise answers 403. */
bool nb_admin_ok(struct http_request *req, struct expose_nb *nb);
/* prefix + 16 random hex digits. */
void nb_random_id(const char *prefix, char *out, size_t cap);
/* The body as a JSON object, or NULL after answering 400. */
/* Answers a store error with the matching status. */
void nb_store_failed(struct http_request *req, int rc);
/* Audits an operator action (principal "admin", reason ALLOW_ADMIN); resource: no SUPI. */
void nb_admin_audit(struct expose_nb *nb, struct http_request *req, const char *action,
                    const char *resource);
/* 1..EXPOSE_ID_MAX characters of [A-Za-z0-9._-]. */
bool nb_id_valid(const char *s);

int nb_consent_routes(struct expose_nb *nb, struct http_server *adm);
int nb_audit_routes(struct expose_nb *nb, struct http_server *adm);

#endif
