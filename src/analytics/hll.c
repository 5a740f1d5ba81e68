/* HyperLogLog estimate (see hll.h). Kept apart from the add, which is inline on the hot
 * path. The estimate runs once per device per window (a million times a window at fleet
 * scale): a mostly empty sketch (most devices' windows) is answered from its count of empty
 * registers alone, and otherwise the register sum and the logarithm of the small-range
 * correction come from tables. Each shortcut gives exactly what the plain formula computes,
 * to the last bit (tests/unit/analytics/test_an_hotpath.c). */
#include "analytics/hll.h"

#include <math.h>
#include <string.h>

/* Per register byte: 2^-lo + 2^-hi in units of 2^-15 (low 32 bits), and how many of its two
 * registers are 0 (high 32 bits). Every 2^-r with r <= 15 is a whole number of units, and the
 * sum over 2^16 registers stays below 2^32, so the integer sum is the exact sum (as the plain
 * double sum was: its partial sums all fit a double's mantissa). */
static uint64_t byte_sum[256];
/* m * log(m / zeros) for the per-device sketches (m = 2^p <= 64), zeros in 1..m. */
#define LOG_TABLE_MAX_P 6
static double small_range[LOG_TABLE_MAX_P + 1][(1u << LOG_TABLE_MAX_P) + 1];

__attribute__((constructor)) static void hll_tables(void)
{
    for (unsigned b = 0; b < 256; b++)
        byte_sum[b] = (1u << (15 - (b & 15))) + (1u << (15 - (b >> 4))) +
                      ((uint64_t)(((b & 15) == 0) + ((b >> 4) == 0)) << 32);
    for (unsigned p = HLL_MIN_P; p <= LOG_TABLE_MAX_P; p++) {
        unsigned m = 1u << p;
        for (unsigned z = 1; z <= m; z++)
            small_range[p][z] = m * log((double)m / z);
    }
}

/* How many of the registers are 0, eight bytes (16 registers) at a time. */
static unsigned zero_registers(const uint8_t *regs, unsigned p)
{
    unsigned nonzero = 0;
    for (size_t i = 0; i < HLL_BYTES(p); i += 8) {
        uint64_t x;
        memcpy(&x, regs + i, 8);
        x |= x >> 1;
        x |= x >> 2;
        x &= 0x1111111111111111ULL; /* bit 0 of each nibble: it is not 0 */
        x = (x & 0x0f0f0f0f0f0f0f0fULL) + (x >> 4 & 0x0f0f0f0f0f0f0f0fULL); /* per byte */
        nonzero += (unsigned)((x * 0x0101010101010101ULL) >> 56);
    }
    return (1u << p) - nonzero;
}

double hll_estimate(const uint8_t *regs, unsigned p)
{
    if (p < HLL_MIN_P || p > HLL_MAX_P)
        return 0;
    unsigned m = 1u << p;
    double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    /* A sketch of a device's window is mostly empty registers, and then the sum cannot matter:
     * each empty register adds 1 to it, so alpha m^2 / sum <= alpha m^2 / zeros, which is
     * below 2.5 m (by 10%, far beyond any rounding) once zeros >= 1.1 alpha m / 2.5: linear
     * counting is the answer, as the full computation below would find. */
    unsigned zeros = zero_registers(regs, p);
    if (zeros > 0 && 2.5 * zeros >= 1.1 * alpha * m)
        return p <= LOG_TABLE_MAX_P ? small_range[p][zeros] : m * log((double)m / zeros);
    uint64_t a = 0, b = 0; /* two lanes (at least 8 bytes, an even number) */
    for (size_t i = 0; i < HLL_BYTES(p); i += 2) {
        a += byte_sum[regs[i]];
        b += byte_sum[regs[i + 1]];
    }
    a += b;
    zeros = (unsigned)(a >> 32);
    double sum = (double)(uint32_t)a * (1.0 / 32768);
    double e = alpha * m * m / sum;
    /* Few items: most registers still empty, linear counting is the better estimate. */
    if (e <= 2.5 * m && zeros > 0)
        e = p <= LOG_TABLE_MAX_P ? small_range[p][zeros] : m * log((double)m / zeros);
    return e;
}

void hll_merge(uint8_t *dst, const uint8_t *src, unsigned p)
{
    for (size_t i = 0; i < HLL_BYTES(p); i++) {
        uint8_t a = dst[i], b = src[i];
        uint8_t lo = (a & 15) > (b & 15) ? (a & 15) : (b & 15);
        uint8_t hi = (a >> 4) > (b >> 4) ? (a >> 4) : (b >> 4);
        dst[i] = (uint8_t)(lo | hi << 4);
    }
}
