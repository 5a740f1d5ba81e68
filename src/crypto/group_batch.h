/* The batch signature of group messages (alg 2): the device's check. Internal to src/crypto
 * (group_msg_verify is the public entry). */
#ifndef IOTSEC_CRYPTO_GROUP_BATCH_H
#define IOTSEC_CRYPTO_GROUP_BATCH_H

#include "crypto/group_wire.h"

/* The leaf and its path against the root carried (GROUP_ERR_BAD_PATH), then the root's
 * signature, unless cache holds that root with that signature (GROUP_ERR_BAD_ROOT_SIG). */
int group_batch_verify(const struct group_msg_view *v, const uint8_t pub[GROUP_PUB_LEN],
                       struct group_root_cache *cache);

#endif
