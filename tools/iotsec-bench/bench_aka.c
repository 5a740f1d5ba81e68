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
#include "crypto/seal.h"
#include "subscriber/sub_dek.h"

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

static int oneshot_out(const uint8_t k[16], const uint8_t opc[16], const uint8_t temp[16], int rot,
                       uint8_t c, uint8_t out[16])
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

/* --- opening a sealed credential: what each authentication pays before Milenage ---------- */

#define SEALED 256

struct cred_fixture {
    struct seal_kek kek;
    struct supi supi[SEALED];
    uint8_t cred[SEALED][SUB_CRED_SEALED_LEN]; /* under a DEK each */
    uint8_t dek[SEALED][SUB_DEK_SEALED_LEN];
    uint8_t legacy[SEALED][SUB_CRED_SEALED_LEN]; /* under the KEK (before DEKs) */
    uint8_t sink;
};

static int cred_open_dek_op(void *arg, uint64_t i)
{
    struct cred_fixture *f = arg;
    size_t s = i % SEALED;
    struct sub_keys keys;
    if (sub_cred_open(&f->kek, &f->supi[s], 1, f->cred[s], SUB_CRED_SEALED_LEN, f->dek[s],
                      SUB_DEK_SEALED_LEN, &keys) != 0)
        return 1;
    f->sink ^= keys.k[0];
    return 0;
}

/* The baseline: the one open under the KEK that an authentication paid before DEKs, as
 * crypto/seal.c did it then: a context kept per thread and the cipher fetched once, but a full
 * key setup per call and the context reset (its provider state freed) after it. */
static int open_before(const struct cred_fixture *f, size_t s, uint8_t plain[32])
{
    static EVP_CIPHER *gcm;
    static EVP_CIPHER_CTX *ctx;
    if (gcm == NULL && (gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
        return 1;
    if (ctx == NULL && (ctx = EVP_CIPHER_CTX_new()) == NULL)
        return 1;
    /* today's envelope (version 2): its header (version, KEK id) is authenticated first */
    const uint8_t *env = f->legacy[s];
    char aad[SUPI_STRING_MAX + 64];
    memcpy(aad, env, 2);
    size_t aad_len = 2 + sub_keys_aad(&f->supi[s], 1, aad + 2, sizeof(aad) - 2);
    uint8_t tag[16];
    memcpy(tag, env + SUB_CRED_SEALED_LEN - 16, 16);
    int len, ok = EVP_DecryptInit_ex2(ctx, gcm, f->kek.key, env + 2, NULL) &&
                  EVP_DecryptUpdate(ctx, NULL, &len, (const uint8_t *)aad, (int)aad_len) &&
                  EVP_DecryptUpdate(ctx, plain, &len, env + 14, 32) &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) &&
                  EVP_DecryptFinal_ex(ctx, plain + 32, &len) == 1;
    EVP_CIPHER_CTX_reset(ctx);
    return ok ? 0 : 1;
}

static int cred_open_kek_op(void *arg, uint64_t i)
{
    struct cred_fixture *f = arg;
    uint8_t plain[32];
    if (open_before(f, i % SEALED, plain) != 0)
        return 1;
    f->sink ^= plain[0];
    return 0;
}

/* A credential sealed before DEKs, opened by today's code (the resident KEK). */
static int cred_open_legacy_op(void *arg, uint64_t i)
{
    struct cred_fixture *f = arg;
    size_t s = i % SEALED;
    struct sub_keys keys;
    if (sub_cred_open(&f->kek, &f->supi[s], 1, f->legacy[s], SUB_CRED_SEALED_LEN, NULL, 0, &keys) !=
        0)
        return 1;
    f->sink ^= keys.k[0];
    return 0;
}

/* The per-credential DEK (crypto-erase) adds one AES-GCM open per authentication: measured
 * against the single open under the KEK that the code did before (before_baseline), in the
 * same run; legacy_row is a row not yet converted, opened by today's code. */
static int bench_cred_open(double seconds)
{
    struct cred_fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || crypto_random(f->kek.key, sizeof(f->kek.key)))
        return 1;
    f->kek.id = 1;
    f->kek.resident = true; /* as the daemon loads it */
    for (size_t s = 0; s < SEALED; s++) {
        char text[32];
        snprintf(text, sizeof(text), "imsi-00101%010zu", s);
        struct sub_keys keys;
        char aad[SUPI_STRING_MAX + 64];
        if (supi_parse(text, &f->supi[s]) || crypto_random(&keys, sizeof(keys)) ||
            sub_cred_seal(&f->kek, &f->supi[s], 1, &keys, f->cred[s], f->dek[s]) ||
            seal(&f->kek, aad, sub_keys_aad(&f->supi[s], 1, aad, sizeof(aad)),
                 (const uint8_t *)&keys, sizeof(keys), f->legacy[s])) {
            free(f);
            return 1;
        }
    }
    double dek = bench_rate("aka.cred_open.dek", cred_open_dek_op, f, seconds);
    double before = bench_rate("aka.cred_open.before_baseline", cred_open_kek_op, f, seconds);
    double legacy = bench_rate("aka.cred_open.legacy_row", cred_open_legacy_op, f, seconds);
    bench_report("aka.cred_open.dek", 1e9 / dek, "ns", 1);
    bench_report("aka.cred_open.before_baseline", 1e9 / before, "ns", 1);
    bench_report("aka.cred_open.legacy_row", 1e9 / legacy, "ns", 1);
    free(f);
    return 0;
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
    return bench_cred_open(seconds);
}
