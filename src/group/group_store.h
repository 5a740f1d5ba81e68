/* The SQL of groups (backend-neutral: crypto/seal envelopes in BLOBs, `?` placeholders,
 * ON CONFLICT, RETURNING). Every function runs on the connection it is given: writes inside a
 * store job, reads on a reader. Node keys are sealed under the KEK with (ref, node, epoch) as
 * AAD, so an envelope cannot be moved to another node, group or epoch. */
#ifndef IOTSEC_GROUP_STORE_H
#define IOTSEC_GROUP_STORE_H

#include <stdint.h>

#include "crypto/seal.h"
#include "group/group.h"
#include "store/store.h"

extern const char GROUP_MIGRATION_1[];

#define GROUP_EXT_ID_MAX 128
#define GROUP_OWNER_MAX  64

struct group_row {
    uint64_t ref; /* the local group id: never on the northbound face */
    char external_id[GROUP_EXT_ID_MAX + 1];
    char owner[GROUP_OWNER_MAX + 1];
    uint8_t arity;
    uint8_t depth;
    bool confidential;
    uint32_t epoch;
    int64_t created_at;
    int64_t members; /* filled by find/list */
};

/* True for `<id>@<domain>`: visible ASCII without spaces, one '@', both sides non-empty. */
bool group_external_id_valid(const char *s);

/* IOTSEC_ERR_CONFLICT when the external id (or, improbably, the random ref) exists. */
int group_store_create(struct store_conn *c, const struct group_row *g);
int group_store_find(struct store_conn *c, const char *external_id, struct group_row *out);
int group_store_find_ref(struct store_conn *c, uint64_t ref, struct group_row *out);
typedef void (*group_row_fn)(const struct group_row *g, void *ctx);
int group_store_list(struct store_conn *c, group_row_fn fn, void *ctx);

/* Members: IOTSEC_ERR_CONFLICT when already a member; remove: IOTSEC_ERR_NOTFOUND when not. */
int group_store_member_add(struct store_conn *c, uint64_t ref, const char *supi, uint32_t leaf,
                           int64_t now);
int group_store_member_remove(struct store_conn *c, uint64_t ref, const char *supi, uint32_t *leaf);
/* IOTSEC_OK with the member's leaf, or IOTSEC_ERR_NOTFOUND: the core's membership question,
 * answered for this SUPI alone. */
int group_store_member_leaf(struct store_conn *c, uint64_t ref, const char *supi, uint32_t *leaf);
typedef void (*group_member_fn)(const char *supi, uint32_t leaf, void *ctx);
int group_store_members(struct store_conn *c, uint64_t ref, group_member_fn fn, void *ctx);

/* After group_tree_rekey: seals and writes the renewed node keys (drops emptied ones), the new
 * epoch, and the signed rekey message (kept for delivery). */
int group_store_save_rekey(struct store_conn *c, const struct seal_kek *kek, uint64_t ref,
                           const struct group_tree *t, const uint8_t *msg, size_t msg_len,
                           int64_t now);

/* Rebuilds a tree from its members and sealed node keys (t is initialised here). A key that
 * does not open is IOTSEC_ERR_AUTH (a moved or altered envelope). */
int group_store_load_tree(struct store_conn *c, const struct seal_kek *kek,
                          const struct group_row *g, struct group_tree *t);

/* Reserves `block` sequence numbers for sender: *first is the first of them. A restart
 * continues after the reserved block, so a sequence is never issued twice. */
int group_store_reserve_seq(struct store_conn *c, uint64_t ref, uint32_t sender, uint32_t block,
                            uint64_t *first);

/* The groups supi is a member of. */
int group_store_groups_of(struct store_conn *c, const char *supi, group_row_fn fn, void *ctx);

/* The instance's group signing seed: opened, or created and sealed on first use (in a job). */
int group_store_signing_key(struct store_conn *c, const struct seal_kek *kek,
                            uint8_t seed[PROV_ED25519_SEED_LEN]);

/* /metrics: iotsec_message_groups, iotsec_message_group_members (group_metrics_store.c). */
struct strbuf;
int group_store_metrics(struct store *s, struct strbuf *out);

/* The AAD of group_signing.sealed (id 1), for KEK rotation. */
size_t group_signing_aad(const char *unused, int64_t id, char *buf, size_t cap);

#endif
