/* A small in-process network and its members for the group tests. */
#ifndef GROUP_TEST_H
#define GROUP_TEST_H

#include "group/group.h"
#include "group_member.h"

#define GT_MAX 64

struct gt_net {
    struct group g;
    struct prov_sign_key *sk;
    uint8_t pub[GROUP_PUB_LEN];
    uint8_t kgm[GT_MAX][GROUP_MKEY_LEN]; /* per device (from a fake KAUSF) */
    uint32_t leaf[GT_MAX];
    struct group_member dev[GT_MAX];
    int n;
};

/* A network with a group (arity, depth) and n joined, rekeyed, path-delivered members. */
void gt_setup(struct gt_net *net, uint8_t arity, uint8_t depth, int n);
void gt_teardown(struct gt_net *net);
/* Joins device i (not yet a member) on the network side only. */
void gt_join(struct gt_net *net, int i);
/* Delivers device i its current path keys (join or catch-up); returns the SDK's verdict. */
int gt_deliver_path(struct gt_net *net, int i);
/* Rekeys; the message is returned (free it). */
uint8_t *gt_rekey(struct gt_net *net, size_t *len, uint32_t *entries);
/* Protects a payload for sender 7. */
uint8_t *gt_protect(struct gt_net *net, const char *text, size_t *len);

#endif
