#include "crypto/milenage.h"

#include <string.h>

#include "base/err.h"
#include "crypto/aes128.h"
#include "crypto/ct.h"

/* Rotation amounts r1..r5 in bytes (TS 35.206 defaults: 64, 0, 32, 64, 96 bits) and the last
 * byte of the constants c1..c5 (0, 1, 2, 4, 8; all other bytes are zero). */
enum { OUT1, OUT2, OUT3, OUT4, OUT5, OUT_COUNT };
static const unsigned rot_bytes[OUT_COUNT] = {8, 0, 4, 8, 12};
static const uint8_t const_last[OUT_COUNT] = {0, 1, 2, 4, 8};

static void xor16(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 16; i++)
        dst[i] = a[i] ^ b[i];
}

/* dst = rot(src, r) XOR c: a cyclic left rotation by r bytes, then the constant. */
static void rotate_and_mix(uint8_t *dst, const uint8_t *src, int out_index)
{
    unsigned r = rot_bytes[out_index];
    for (unsigned i = 0; i < 16; i++)
        dst[i] = src[(i + r) % 16];
    dst[15] ^= const_last[out_index];
}

int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
    uint8_t enc[16];
    int rc = aes128_encrypt_blocks(k, op, enc, 1);
    aes128_forget_key();
    if (rc != IOTSEC_OK)
        return rc;
    xor16(opc, enc, op);
    secure_wipe(enc, sizeof(enc));
    return IOTSEC_OK;
}

/* The block inputs for the OUTi asked for, packed contiguously so that one EVP call
 * encrypts them all (AES-NI pipelines independent blocks). */
static size_t build_inputs(const uint8_t temp[16], const uint8_t opc[16], const uint8_t *sqn,
                           const uint8_t *amf, unsigned which, uint8_t in[OUT_COUNT][16],
                           int order[OUT_COUNT])
{
    uint8_t x[16];
    size_t n = 0;
    if (which & MILENAGE_F1) {
        uint8_t in1[16];
        memcpy(in1, sqn, 6);
        memcpy(in1 + 6, amf, 2);
        memcpy(in1 + 8, in1, 8);
        xor16(x, in1, opc);
        rotate_and_mix(in[n], x, OUT1);
        xor16(in[n], in[n], temp);
        order[n++] = OUT1;
    }
    xor16(x, temp, opc);
    static const unsigned wants[OUT_COUNT] = {0, MILENAGE_F2_F5, MILENAGE_F3, MILENAGE_F4,
                                              MILENAGE_F5_STAR};
    for (int i = OUT2; i < OUT_COUNT; i++) {
        if (which & wants[i]) {
            rotate_and_mix(in[n], x, i);
            order[n++] = i;
        }
    }
    secure_wipe(x, sizeof(x));
    return n;
}

static void store_output(int index, const uint8_t out_block[16], struct milenage_out *out)
{
    switch (index) {
    case OUT1:
        memcpy(out->mac_a, out_block, 8);
        memcpy(out->mac_s, out_block + 8, 8);
        break;
    case OUT2:
        memcpy(out->ak, out_block, 6);
        memcpy(out->res, out_block + 8, 8);
        break;
    case OUT3:
        memcpy(out->ck, out_block, 16);
        break;
    case OUT4:
        memcpy(out->ik, out_block, 16);
        break;
    case OUT5:
        memcpy(out->ak_star, out_block, 6);
        break;
    }
}

int milenage_compute(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                     const uint8_t *sqn, const uint8_t *amf, unsigned which,
                     struct milenage_out *out)
{
    if ((which & MILENAGE_F1) && (sqn == NULL || amf == NULL))
        return IOTSEC_ERR_INVALID;
    uint8_t temp[16], blocks[OUT_COUNT][16];
    int order[OUT_COUNT];

    xor16(temp, rand, opc);
    int rc = aes128_encrypt_blocks(k, temp, temp, 1);
    size_t n = 0;
    if (rc == IOTSEC_OK) {
        n = build_inputs(temp, opc, sqn, amf, which & MILENAGE_ALL, blocks, order);
        rc = aes128_encrypt_blocks_same_key(blocks[0], blocks[0], n);
    }
    aes128_forget_key();
    if (rc == IOTSEC_OK) {
        for (size_t i = 0; i < n; i++) {
            xor16(blocks[i], blocks[i], opc);
            store_output(order[i], blocks[i], out);
        }
    }
    secure_wipe(temp, sizeof(temp));
    secure_wipe(blocks, sizeof(blocks));
    return rc;
}
