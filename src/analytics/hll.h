/* HyperLogLog (Flajolet et al. 2007) with 4-bit registers, two per byte. A register holds
 * the longest run of leading zeros seen (plus one), capped at 15: with 2^p registers the
 * estimate is unbiased up to about 2^(p+13) distinct items, which is past what one device
 * does in one window for the per-device sketches (p = 5 or 6), and past 10^7 for p = 12.
 * Standard error 1.04 / sqrt(2^p). */
#ifndef IOTSEC_ANALYTICS_HLL_H
#define IOTSEC_ANALYTICS_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_MIN_P    4
#define HLL_MAX_P    16
#define HLL_BYTES(p) ((size_t)1 << ((p)-1))

/* regs: HLL_BYTES(p) bytes, zeroed for an empty sketch. hash: a well-mixed 64-bit hash. */
static inline void hll_add(uint8_t *regs, unsigned p, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - p));
    uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1)); /* a stop bit bounds the run */
    unsigned rho = (unsigned)__builtin_clzll(rest) + 1;
    if (rho > 15)
        rho = 15;
    uint8_t *r = &regs[idx >> 1];
    unsigned shift = (idx & 1) * 4, cur = (*r >> shift) & 15;
    if (rho > cur)
        *r = (uint8_t)((*r & ~(15u << shift)) | (rho << shift));
}

/* The estimated number of distinct hashes added (with the small-range correction). */
double hll_estimate(const uint8_t *regs, unsigned p);
/* dst |= src (the union of two sketches of the same p). */
void hll_merge(uint8_t *dst, const uint8_t *src, unsigned p);

#endif
