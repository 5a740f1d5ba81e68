/* Pseudonyms: the only name analytics state has for a device. A keyed hash (HMAC-SHA-256)
 * of its identity: stable while the key is, unlinkable to the identity without the key, and
 * unlinkable across keys, so rotating the key cuts old findings off from new ones. The
 * domain label keeps these MACs apart from any other use of the same key. */
#include <string.h>

#include "analytics/an_int.h"
#include "crypto/ct.h"
#include "crypto/hmac_sha256.h"

#define DOMAIN "iotsec-analytics-v1:"

void an_pseudonym_with(const struct hmac_sha256 *key, const char *identity, uint8_t out[16])
{
    struct hmac_sha256_run run;
    uint8_t mac[SHA256_LEN];
    hmac_sha256_start(key, &run);
    hmac_sha256_update(&run, DOMAIN, strlen(DOMAIN));
    hmac_sha256_update(&run, identity, strlen(identity));
    hmac_sha256_finish(key, &run, mac);
    memcpy(out, mac, 16);
    secure_wipe(mac, sizeof(mac));
}

void an_pseudonym(const void *key, size_t key_len, const char *identity, uint8_t out[16])
{
    struct hmac_sha256 h;
    hmac_sha256_init(&h, key, key_len);
    an_pseudonym_with(&h, identity, out);
    hmac_sha256_wipe(&h);
}
