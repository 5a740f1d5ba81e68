/* Timing loop for the onboarding crypto (not a ctest test: run it by hand, on an idle
 * machine). Prints microseconds per operation, one line each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/provision_crypto.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != IOTSEC_OK) {                                                                    \
            fprintf(stderr, "failed: %s\n", #x);                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define TIME(name, n, per, body)                                                                   \
    do {                                                                                           \
        double t0 = now_us();                                                                      \
        for (int i_ = 0; i_ < (n); i_++) {                                                         \
            body;                                                                                  \
        }                                                                                          \
        printf("%-34s %8.2f us\n", name, (now_us() - t0) / (n) / (per));                           \
    } while (0)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    uint8_t seed[32], pub[32], dev_priv[32], sig[64], z[32], owner[32];
    struct prov_sign_key *op, *keys[6];
    CHECK(prov_ed25519_keygen(seed, pub));
    CHECK(prov_sign_key_new(seed, &op));
    struct prov_onboard_ctx ctx = {.reg_id = "meter-0001", .reg_id_len = 10};
    CHECK(prov_x25519_keygen(dev_priv, ctx.device_pub));
    uint8_t pt[300], env[1024], out[1024], mac[32], dkey[32], gk[32] = {1};
    size_t env_len, out_len;
    memset(pt, 0x42, sizeof(pt)); /* a bundle of typical size with two HN keys */

    TIME("ed25519 sign (64 B)", n, 1, CHECK(prov_ed25519_sign(op, pt, 64, sig)));
    TIME("ed25519 verify (64 B)", n, 1, CHECK(prov_ed25519_verify(pub, pt, 64, sig)));
    TIME("x25519 keygen (device)", n, 1, CHECK(prov_x25519_keygen(dev_priv, ctx.device_pub)));
    TIME("x25519 shared + own pub", n, 1,
         CHECK(prov_x25519_shared(seed, ctx.device_pub, z, owner)));
    TIME("hkdf-sha256 (44 B out)", n, 1,
         CHECK(prov_hkdf_sha256(seed, 32, z, 32, pt, 150, out, 44)));
    TIME("device key + proof verify", n, 1, {
        CHECK(prov_device_key(gk, 32, ctx.reg_id, ctx.reg_id_len, dkey));
        CHECK(prov_proof_compute(dkey, &ctx, mac));
    });
    TIME("seal bundle 300 B (server)", n, 1,
         CHECK(prov_envelope_seal(op, &ctx, pt, sizeof(pt), env, sizeof(env), &env_len)));
    TIME("open bundle 300 B (device)", n, 1,
         CHECK(prov_envelope_open(pub, dev_priv, &ctx, env, env_len, out, sizeof(out), &out_len)));

    uint8_t pubs[6][32], chain[6 * 256];
    size_t chain_len;
    for (int i = 0; i < 6; i++) {
        CHECK(prov_ed25519_keygen(seed, pubs[i]));
        CHECK(prov_sign_key_new(seed, &keys[i]));
    }
    CHECK(prov_voucher_start(keys[0], "meter-0001", 10, pubs[1], 1, chain, sizeof(chain),
                             &chain_len));
    for (int i = 1; i < 5; i++)
        CHECK(prov_voucher_append(chain, chain_len, keys[i], pubs[i + 1], 1 + (uint64_t)i, chain,
                                  sizeof(chain), &chain_len));
    TIME("voucher verify, per entry (5)", n / 5 + 1, 5,
         CHECK(prov_voucher_verify(pubs[0], "meter-0001", 10, chain, chain_len, owner, NULL)));
    for (int i = 0; i < 6; i++)
        prov_sign_key_free(keys[i]);
    prov_sign_key_free(op);
    return 0;
}
