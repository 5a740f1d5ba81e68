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
/* Audits an operator action (principal: the request's, "admin" for the instance's admin
 * certificate; reason ALLOW_ADMIN); resource: no SUPI. */
void nb_admin_audit(struct expose_nb *nb, struct http_request *req, const char *action,
                    const char *resource);
/* 1..EXPOSE_ID_MAX characters of [A-Za-z0-9._-]. */
bool nb_id_valid(const char *s);

/* ---- the audit log's reads (nb_audit_store.c) ---- */

/* One record; the strings and hash are valid during the callback only (hash NULL when the
 * stored one is not AUDIT_HASH_LEN bytes). */
struct nb_audit_row {
    int64_t seq, time_ms;
    const char *principal, *action, *resource, *reason, *request_id;
    bool allow;
    const uint8_t *hash;
};
typedef void (*nb_audit_row_fn)(const struct nb_audit_row *r, void *ctx);
/* Records with seq > after, in order, at most limit; only principal af when af is not NULL. */
int nb_audit_list(struct store *s, const char *af, int64_t after, int64_t limit,
                  nb_audit_row_fn fn, void *ctx);
/* The first record at or after seq; IOTSEC_ERR_NOTFOUND when none. */
int nb_audit_record_from(struct store *s, int64_t seq, nb_audit_row_fn fn, void *ctx);
/* expose_audit_verify_db on the calling thread's reader. */
int nb_audit_verify_store(struct store *s, uint64_t *count, int64_t *bad_seq,
                          struct audit_anchor *head);

/* ---- consents, groups, external IDs, opt-outs (nb_consent_store.c; inside jobs) ---- */

int nb_extid_insert(struct store_conn *c, const char *af_id, const char *external_id,
                    const char *supi, int64_t now);
int nb_group_member_add(struct store_conn *c, const char *group_id, const char *supi);
/* The AFs with a live (unrevoked) consent on the group, at most max. */
int nb_group_consent_afs(struct store_conn *c, const char *group_id,
                         char afs[][EXPOSE_ID_MAX + 1], size_t max, size_t *n);
struct nb_consent_row {
    const char *consent_id, *owner, *af_id, *purpose, *kind, *target; /* kind: device, group */
    uint32_t services;
    int64_t expires;
};
int nb_consent_insert(struct store_conn *c, const struct nb_consent_row *r, int64_t now);
/* A group's members by SUPI; fn returns false to stop. */
typedef bool (*nb_supi_fn)(const char *supi, void *ctx);
int nb_group_members_each(struct store_conn *c, const char *group_id, nb_supi_fn fn, void *ctx);
/* Marks a live consent revoked; IOTSEC_ERR_NOTFOUND when none is live (nb_store_stamp). */
int nb_consent_revoke_row(struct store_conn *c, const char *consent_id, int64_t now);
/* Sets (out true) or clears the device's monitoring opt-out. */
int nb_opt_out_set(struct store_conn *c, const char *supi, bool out, int64_t now);

/* ---- reading them back (nb_consent_store.c; on the calling thread's reader) ---- */

enum nb_consent_state { NB_CONSENT_ANY, NB_CONSENT_ACTIVE, NB_CONSENT_REVOKED, NB_CONSENT_EXPIRED };
struct nb_consent_filter {
    const char *af_id, *owner, *supi, *group; /* NULL: any; supi/group: the consent's target */
    enum nb_consent_state state;
};
struct nb_consent_info {
    struct nb_consent_row row;
    int64_t created_at, revoked_at; /* revoked_at 0: live */
};
typedef void (*nb_consent_info_fn)(const struct nb_consent_info *c, void *ctx);
/* Consents with consent_id > after (NULL: from the first) matching f, by id, at most limit. */
int nb_consents_list(struct store *s, const struct nb_consent_filter *f, int64_t now,
                     const char *after, int64_t limit, nb_consent_info_fn fn, void *ctx);
/* One consent; IOTSEC_ERR_NOTFOUND when absent. */
int nb_consent_get(struct store *s, const char *consent_id, nb_consent_info_fn fn, void *ctx);
/* The external IDs the consent's AF was given for the consent's devices (a group's current
 * members), by SUPI, at most max. */
typedef void (*nb_extid_fn)(const char *supi, const char *external_id, void *ctx);
int nb_consent_external_ids(struct store *s, const struct nb_consent_row *r, size_t max,
                            nb_extid_fn fn, void *ctx);
/* Groups (id and member count) with group_id > after, by id; a group's members by SUPI. */
typedef void (*nb_group_fn)(const char *group_id, int64_t members, void *ctx);
int nb_groups_list(struct store *s, const char *after, int64_t limit, nb_group_fn fn, void *ctx);
int nb_group_members_page(struct store *s, const char *group_id, const char *after,
                          int64_t limit, nb_supi_fn fn, void *ctx);

int nb_consent_routes(struct expose_nb *nb, struct http_server *adm);
/* GET consents and groups (nb_consent_list.c). */
int nb_consent_list_routes(struct expose_nb *nb, struct http_server *adm);
int nb_audit_routes(struct expose_nb *nb, struct http_server *adm);

#endif
