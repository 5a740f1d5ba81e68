/* P-256 point decompression (see p256_sqrt.c). Private to src/crypto. */
#ifndef IOTSEC_CRYPTO_P256_SQRT_H
#define IOTSEC_CRYPTO_P256_SQRT_H

#include <stdbool.h>
#include <stdint.h>

#define P256_FIELD_LEN 32
#define P256_COMPRESSED_LEN 33
#define P256_UNCOMPRESSED_LEN 65

/* Builds without 128-bit integers (or with IOTSEC_NO_INT128, to test that path) leave the
 * square root to OpenSSL: HAVE_P256_DECOMPRESS is then undefined. IOTSEC_NO_ASM selects the
 * portable C squaring instead of the x86-64 one. */
#if defined(__SIZEOF_INT128__) && !defined(IOTSEC_NO_INT128)
#define HAVE_P256_DECOMPRESS 1

/* Writes the uncompressed form (0x04 || x || y) of a compressed point (0x02/0x03 || x).
 * Returns false when x is not below p or x^3 - 3x + b has no square root (not a point). */
bool p256_decompress(const uint8_t in[P256_COMPRESSED_LEN], uint8_t out[P256_UNCOMPRESSED_LEN]);
#endif

#endif
