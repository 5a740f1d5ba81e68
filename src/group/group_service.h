/* The daemon's group service: loaded groups (their trees in memory), the signing key, and the
 * operator's operations as store jobs. Tree changes happen inside the writer's job, so they
 * are serialised with their SQL; a failed job drops the group from memory so that the next
 * use reloads what was committed. */
#ifndef IOTSEC_GROUP_SERVICE_H
#define IOTSEC_GROUP_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "group/group_store.h"

struct http_server;

struct group_service_options {
    struct store *store;        /* borrowed */
    const struct seal_kek *kek; /* borrowed */
    char admin_cert_sha256[65];
};

struct group_service;

/* Opens (or creates) the signing key: IOTSEC_OK or a store/crypto error. */
int group_service_new(const struct group_service_options *o, struct group_service **out);
void group_service_free(struct group_service *gs);
const struct group_service_options *group_service_options(const struct group_service *gs);

/* A batch of membership changes to one group, applied with one rekey (in a job). */
struct group_change {
    struct group_service *gs;
    char external_id[GROUP_EXT_ID_MAX + 1];
    const char **add; /* SUPIs to add */
    size_t nadd;
    const char **remove; /* SUPIs to remove */
    size_t nremove;
    int64_t now;
    /* results */
    uint32_t epoch;
    uint32_t rekey_entries;
    size_t rekey_bytes;
    const char *failed_supi; /* the SUPI that made it fail (CONFLICT/NOTFOUND), or NULL */
    void *push; /* what the delivery module must send once this commits (group_push_hooks) */
    void (*push_finish)(void *ctx, void *push, int rc); /* the hooks that made it */
    void *push_ctx;
};

/* The delivery module (group_deliver.c) sees each membership change: in the job, after the
 * rekey, collect() gathers what must go out (each joiner's path keys under its own member key,
 * the signed rekey to everyone who stays, by unicast and multicast) into *push; after the job,
 * finish() sends it when the change committed (rc IOTSEC_OK), and frees it in every case.
 * Without hooks nothing is sent (the admin API alone, the tests of the tree). */
struct group_push_hooks {
    int (*collect)(void *ctx, struct store_conn *c, const struct group *g,
                   const struct group_change *ch, const uint8_t *rekey, size_t rekey_len,
                   void **push);
    void (*finish)(void *ctx, void *push, int rc);
    void *ctx;
};
void group_service_set_push(struct group_service *gs, const struct group_push_hooks *h);
/* The finish hook of a change is the one its collect came with, even if the hooks were reset
 * since: the module keeps its state until every job queued before its reset has finished. */
/* Calls the finish hook for ch->push (every caller of group_change_run, in its done). */
void group_change_finish(struct group_change *ch, int rc);

/* Drops the group from memory (reloaded from the store on next use): after a job that
 * changed it in memory failed, at any point up to its commit, so that nothing uncommitted
 * (a sequence block, a tree change) outlives it. */
void group_service_forget(struct group_service *gs, uint64_t ref);

/* The signing public key members pin. */
void group_service_sign_pub(const struct group_service *gs, uint8_t pub[GROUP_PUB_LEN]);

/* In a store job: protects pt for sender in the group of row (loaded if needed), reserving
 * sequences ahead in the store, so a restart never reissues one. out: group_msg_len(pt_len).
 * *epoch gets the epoch used. A failure drops the group from memory (reloaded on next use). */
int group_service_protect(struct group_service *gs, struct store_conn *c,
                          const struct group_row *row, uint32_t sender, const uint8_t *pt,
                          size_t pt_len, uint8_t *out, size_t out_max, size_t *out_len,
                          uint32_t *epoch);
/* The same for a batch (alg 2, one signature): n in 1..GROUP_BATCH_MAX messages of any
 * senders in the group of row (group_protect_batch). */
int group_service_protect_batch(struct group_service *gs, struct store_conn *c,
                                const struct group_row *row, struct group_send *m, uint16_t n,
                                uint32_t *epoch);
int group_change_run(struct store_conn *c, void *arg); /* a store_run_fn */

/* In a store job: the current path-key delivery (type 3) of the member at leaf, sealed under
 * its member key kgm (a sleepy device's catch-up: the keys of now, no history). out_max:
 * group_path_len(depth). */
int group_service_path_keys(struct group_service *gs, struct store_conn *c,
                            const struct group_row *row, uint32_t leaf,
                            const uint8_t kgm[GROUP_MKEY_LEN], uint8_t *out, size_t out_max,
                            size_t *out_len);

/* Creating a group (a job): fills row->ref with a fresh random local id. */
struct group_create {
    struct group_row row;
    uint32_t capacity;
};
int group_create_run(struct store_conn *c, void *arg);

/* A quarantined (or revoked) subscription leaves every group it is in, each with its own
 * rekey, in one store job submitted now (forward secrecy: the next message of each group is
 * under keys it never held). Callable from a store done callback. Release does not re-add:
 * the operator does, explicitly. */
int group_service_evict(struct group_service *gs, const char *supi);

/* The admin face: /admin/v1/message-groups... */
int group_admin_routes(struct http_server *srv, struct group_service *gs);
/* The SBI face: GET /iotsec-group/v1/groups/{ext}/members/{supi}: {"member": true|false}. */
int group_sbi_routes(struct http_server *srv, struct group_service *gs);

#endif
