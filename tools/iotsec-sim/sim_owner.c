/* Ownership transfer of one simulated device (issue 4): a new owner with its Ed25519 key, the
 * device's voucher chain from the manufacturer's root to that owner, the transfer request and
 * the new owner's acceptance on the admin face; then what the device sees: its old
 * credential is gone, it onboards again and gets a new subscription for its new owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base/err.h"
#include "onboard.h"
#include "sim.h"

static long admin_post(const struct sim_instance *in, const char *path, json_t *body, char **out)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    long st = s ? sim_admin(in, "POST", path, s, strlen(s), out) : -1;
    fprintf(stderr, "  admin -> POST %s\n  admin <- %ld %.160s\n", path, st, *out ? *out : "");
    free(s);
    return st;
}

static int current_supi(struct sim_device *dev, char supi[PROV_SUPI_MAX + 1])
{
    uint8_t *plain = malloc(PROV_PLAINTEXT_MAX);
    size_t len;
    struct prov_bundle b;
    int rc = plain
                 ? onboard_load(dev->store, CRED_SLOT_CURRENT, plain, PROV_PLAINTEXT_MAX, &len, &b)
                 : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK) {
        snprintf(supi, PROV_SUPI_MAX + 1, "%s", b.supi);
        prov_bundle_wipe(&b);
        OPENSSL_cleanse(plain, len);
    }
    free(plain);
    return rc;
}

static bool attaches(const struct sim_instance *in, struct sim_device *dev)
{
    struct sim_stats st = {0};
    dev->authenticated = false;
    return sim_authenticate_all(in, dev, 1, 1, &st) == 0 && dev->authenticated;
}

int sim_transfer(const struct sim_instance *in, const struct sim_setup *s, struct sim_device *dev,
                 const char *to)
{
    uint8_t seed[PROV_ED25519_SEED_LEN], to_pub[PROV_ED25519_PUB_LEN], chain[512];
    size_t chain_len = 0;
    char pub_b64[64], chain_b64[700], path[256],
        old_supi[PROV_SUPI_MAX + 1] = "", new_supi[PROV_SUPI_MAX + 1] = "";
    char *out = NULL;
    struct prov_sign_key *root = NULL;
    int rc = -1;
    /* The new owner's key stays with the new owner: the simulator needs only its public half. */
    if (prov_ed25519_keygen(seed, to_pub) != IOTSEC_OK ||
        prov_sign_key_new(s->root_seed, &root) != IOTSEC_OK ||
        prov_voucher_start(root, dev->reg_id, strlen(dev->reg_id), to_pub, (uint64_t)time(NULL),
                           chain, sizeof(chain), &chain_len) != IOTSEC_OK ||
        current_supi(dev, old_supi) != IOTSEC_OK)
        goto done;
    b64url_encode(to_pub, sizeof(to_pub), pub_b64);
    b64url_encode(chain, chain_len, chain_b64);
    long st = admin_post(in, "/admin/v1/owners",
                         json_pack("{s:s, s:s}", "name", to, "public_key", pub_b64), &out);
    free(out);
    out = NULL;
    if (st != 201)
        goto done;
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/transfer", dev->reg_id);
    st = admin_post(in, path, json_pack("{s:s, s:s}", "to", to, "voucher", chain_b64), &out);
    free(out);
    out = NULL;
    if (st != 202)
        goto done;
    snprintf(path, sizeof(path), "/admin/v1/devices/%s/accept", dev->reg_id);
    st = admin_post(in, path, json_pack("{s:s}", "owner", to), &out);
    free(out);
    out = NULL;
    if (st != 200)
        goto done;
    if (attaches(in, dev)) {
        fprintf(stderr, "iotsec-sim: %s: the old credential (%s) still authenticates\n",
                dev->reg_id, old_supi);
        goto done;
    }
    fprintf(stderr, "  amf   -> 5G AKA with the old credential (%s): refused\n", old_supi);
    if (sim_onboard_again(in, s, dev) != IOTSEC_OK || current_supi(dev, new_supi) != IOTSEC_OK) {
        fprintf(stderr, "iotsec-sim: %s: onboarding for the new owner failed (%ld %s)\n",
                dev->reg_id, dev->last_status, dev->cause);
        goto done;
    }
    bool ok = attaches(in, dev);
    fprintf(stderr, "  device onboards again for %s: %s, 5G AKA %s\n", to, new_supi,
            ok ? "AUTHENTICATION_SUCCESS" : "FAILED");
    rc = ok && strcmp(old_supi, new_supi) != 0 ? 0 : -1;
done:
    OPENSSL_cleanse(seed, sizeof(seed));
    prov_sign_key_free(root);
    return rc;
}
