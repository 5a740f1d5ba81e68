/* 5G HE AV generation on one core: Milenage + AUTN + KAUSF + XRES*, a different subscriber
 * (K, OPc) each time and a fresh RAND from the random source, as the UDM computes it.
 * The baseline in the same run computes the very same vector with one-shot OpenSSL 3 calls
 * (a new cipher context per block, HMAC() per key), the way straightforward C cores do, so
 * the ratio holds on a noisy machine. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/fiveg_aka.h"
#include "crypto/milenage.h"
#include "crypto/rand.h"

#define SUBSCRIBERS 4096 /* 128 KiB of K/OPc: past L1, like a real credential cache */

struct aka_fixture {
    uint8_t k[SUBSCRIBERS][16];
    uint8_t opc[SUBSCRIBERS][16];
    uint8_t amf[2];
    const char *snn;
    size_t snn_len;
    uint8_t sink; /* keeps results observable so the compiler cannot drop the work */
};

static void sqn_of(uint64_t i, uint8_t sqn[6])
{
    for (int b = 5; b >= 0; b--, i >>= 8)
        sqn[b] = (uint8_t)i;
}

static int he_av_op(void *arg, uint64_t i)
{
    struct aka_fixture *f = arg;
    size_t s = i % SUBSCRIBERS;
    uint8_t rand[16], sqn[6];
    struct fiveg_he_av av;
    sqn_of(i << 5, sqn);
    if (crypto_random(rand, sizeof(rand)) != 0)
        return 1;
    if (fiveg_he_av_generate(f->k[s], f->opc[s], rand, sqn, f->amf, f->snn, f->snn_len, &av))
        return 1;
    f->sink ^= av.kausf[0] ^ av.xres_star[0];
    return 0;
}

static int milenage_op(void *arg, uint64_t i)
{
    struct aka_fixture *f = arg;
    size_t s = i % SUBSCRIBERS;
    uint8_t rand[16] = {(uint8_t)i}, sqn[6];
    struct milenage_out m;
    sqn_of(i, sqn);
    if (milenage_compute(f->k[s], f->opc[s], rand, sqn, f->amf,
                         MILENAGE_F1 | MILENAGE_F2_F5 | MILENAGE_F3 | MILENAGE_F4, &m))
        return 1;
    f->sink ^= m.ck[0];
    return 0;
}

/* --- the one-shot baseline ------------------------------------------------------------ */

static int oneshot_aes(const uint8_t k[16], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len, ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) &&
                  EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_EncryptUpdate(ctx, out, &len, in, 16);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : 1;
}

static int oneshot_out(const uint8_t k[16], const uint8_t opc[16], const uint8_t temp[16],
                       int rot, uint8_t c, uint8_t out[16])
{
    uint8_t x[16], in[16];
    for (int j = 0; j < 16; j++)
        x[j] = temp[j] ^ opc[j];
    for (int j = 0; j < 16; j++)
        in[j] = x[(j + rot) % 16];
    in[15] ^= c;
    if (oneshot_aes(k, in, out))
        return 1;
    for (int j = 0; j < 16; j++)
        out[j] ^= opc[j];
    return 0;
}

/* The same HE AV as fiveg_he_av_generate(), written with one-shot OpenSSL calls. */
static int he_av_oneshot(const struct aka_fixture *f, const uint8_t *k, const uint8_t *opc,
                         const uint8_t rand[16], const uint8_t sqn[6], struct fiveg_he_av *av)
{
    uint8_t temp[16], in1[16], x[16], out1[16], out2[16], ck_ik[32];
    for (int j = 0; j < 16; j++)
        temp[j] = rand[j] ^ opc[j];
    if (oneshot_aes(k, temp, temp))
        return 1;
    memcpy(in1, sqn, 6), memcpy(in1 + 6, f->amf, 2), memcpy(in1 + 8, in1, 8);
    for (int j = 0; j < 16; j++) /* TEMP XOR rot(IN1 XOR OPc, 64) */
        x[j] = temp[j] ^ opc[(j + 8) % 16] ^ in1[(j + 8) % 16];
    if (oneshot_aes(k, x, out1) || oneshot_out(k, opc, temp, 0, 1, out2) ||
        oneshot_out(k, opc, temp, 4, 2, ck_ik) || oneshot_out(k, opc, temp, 8, 4, ck_ik + 16))
        return 1;
    memcpy(av->rand, rand, 16);
    for (int j = 0; j < 6; j++)
        av->autn[j] = sqn[j] ^ out2[j]; /* AK is OUT2[0..5] */
    memcpy(av->autn + 6, f->amf, 2);
    for (int j = 0; j < 8; j++)
        av->autn[8 + j] = out1[j] ^ opc[j];

    uint8_t s[96], res_star[32];
    size_t n = 0;
    s[n++] = 0x6a;
    memcpy(s + n, f->snn, f->snn_len), n += f->snn_len;
    s[n++] = 0, s[n++] = (uint8_t)f->snn_len;
    memcpy(s + n, av->autn, 6), n += 6;
    s[n++] = 0, s[n++] = 6;
    unsigned int len;
    if (!HMAC(EVP_sha256(), ck_ik, 32, s, n, av->kausf, &len))
        return 1;
    n = 0;
    s[n++] = 0x6b;
    memcpy(s + n, f->snn, f->snn_len), n += f->snn_len;
    s[n++] = 0, s[n++] = (uint8_t)f->snn_len;
    memcpy(s + n, rand, 16), n += 16;
    s[n++] = 0, s[n++] = 16;
    memcpy(s + n, out2 + 8, 8), n += 8; /* RES is OUT2[8..15] */
    s[n++] = 0, s[n++] = 8;
    if (!HMAC(EVP_sha256(), ck_ik, 32, s, n, res_star, &len))
        return 1;
    memcpy(av->xres_star, res_star + 16, 16);
    return 0;
}

static int he_av_oneshot_op(void *arg, uint64_t i)
{
    struct aka_fixture *f = arg;
    size_t s = i % SUBSCRIBERS;
    uint8_t rand[16], sqn[6];
    struct fiveg_he_av av;
    sqn_of(i << 5, sqn);
    if (RAND_bytes_ex(NULL, rand, 16, 0) != 1 ||
        he_av_oneshot(f, f->k[s], f->opc[s], rand, sqn, &av))
        return 1;
    f->sink ^= av.kausf[0] ^ av.xres_star[0];
    return 0;
}

/* A baseline that computed something else would make the comparison meaningless. */
static int baseline_agrees(struct aka_fixture *f)
{
    uint8_t rand[16] = {1, 2, 3}, sqn[6] = {0, 0, 0, 0, 1, 0x20};
    struct fiveg_he_av fast, slow;
    if (fiveg_he_av_generate(f->k[7], f->opc[7], rand, sqn, f->amf, f->snn, f->snn_len, &fast) ||
        he_av_oneshot(f, f->k[7], f->opc[7], rand, sqn, &slow))
        return 0;
    return memcmp(&fast, &slow, sizeof(fast)) == 0;
}

int bench_aka(double seconds)
{
    struct aka_fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || crypto_random(f->k, sizeof(f->k)) || crypto_random(f->opc, sizeof(f->opc)))
        return 1;
    f->amf[0] = 0x80;
    f->snn = "5G:mnc001.mcc001.3gppnetwork.org";
    f->snn_len = strlen(f->snn);
    fprintf(stderr, "aka: 5G HE AV generation, one core, %d subscribers, fresh RAND each\n",
            SUBSCRIBERS);
    if (!baseline_agrees(f)) {
        fprintf(stderr, "aka: the one-shot baseline disagrees with fiveg_he_av_generate\n");
        free(f);
        return 1;
    }
    double he_av = bench_rate("aka.he_av", he_av_op, f, seconds);
    double baseline = bench_rate("aka.he_av.oneshot_baseline", he_av_oneshot_op, f, seconds);
    double milenage = bench_rate("aka.milenage", milenage_op, f, seconds);
    bench_report("aka.he_av", he_av, "per_s", 1);
    bench_report("aka.he_av.oneshot_baseline", baseline, "per_s", 1);
    bench_report("aka.he_av.speedup_vs_oneshot", 100.0 * he_av / baseline, "percent", 1);
    bench_report("aka.he_av.latency", 1e9 / he_av, "ns", 1);
    bench_report("aka.milenage", milenage, "per_s", 1);
    free(f);
    return 0;
}
